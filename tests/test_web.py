"""The page of `bulkdir serve`, route by route, with Starlette's test client: every page, every refusal
(no token, a wrong or spent token, a wrong Host, a cross-origin POST, a file too large, an unreadable file,
an empty sheet, a second run while one runs, a wrong typed confirmation, the brake) and what each shows,
against the emulator over real HTTP. The server as a process is tested at the end; the page in a real
browser is tests/test_web_browser.py."""

from __future__ import annotations

import io
import json
import os
import re
import signal
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any, Iterator

import openpyxl
import pytest
import requests
from click.testing import CliRunner
from starlette.testclient import TestClient

import bulkdir
from bulkdir.cli import cli
from bulkdir.web.app import create_app
from bulkdir.web.workspace import Workspace
from import_support import client_for, env_for, member_rows, members_of, seed_corp, wait_for, write_sheet

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
ORIGIN = {"Origin": "http://testserver"}
RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}
MEMBER_HEADER = ["帐号", "姓名", "手机", "部门", "职务"]


class Page:
    """A signed-in browser of the page: the test client with the session cookie, and the workspace behind it."""

    def __init__(self, client: TestClient, workspace: Workspace, token: str, app: Any):
        self.http = client
        self.app = app
        self.workspace = workspace
        self.token = token

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.http.get(path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> Any:
        headers = {**ORIGIN, **kwargs.pop("headers", {})}
        return self.http.post(path, headers=headers, **kwargs)

    def upload(self, path: Path, name: str | None = None, query: str = "") -> Any:
        return self.post(f"/upload{query}", content=path.read_bytes(),
                         headers={"X-Filename": name or path.name, "Content-Type": "application/octet-stream"})

    def sheet(self, path: Path, name: str | None = None) -> str:
        """Upload a sheet; its page's address."""
        answer = self.upload(path, name)
        assert answer.status_code == 200, answer.text
        return str(answer.json()["next"])

    def run(self, sheet_url: str, form: dict[str, str] | None = None, query: str = "") -> str:
        """Plan, confirm and start the run of a sheet; the run's page address once it has ended."""
        plan = self.get(f"{sheet_url}/plan?{query}")
        assert plan.status_code == 200, plan.text
        confirm = self.get(f"{sheet_url}/confirm?{query}")
        data = {"reviewed": reviewed_of(confirm.text), **dict(_query_pairs(query)), **(form or {})}
        started = self.post(f"{sheet_url}/run", data=data, follow_redirects=False)
        assert started.status_code == 303, started.text
        run_url = started.headers["location"]
        run = self.workspace.runs[run_url.rsplit("/", 1)[1]]
        wait_for(lambda: run.state in ("finished", "interrupted", "failed"), timeout=120)
        return run_url


def _query_pairs(query: str) -> list[tuple[str, str]]:
    from urllib.parse import parse_qsl

    return parse_qsl(query)


def reviewed_of(html: str) -> str:
    """The counts a confirm page says were reviewed, as its form sends them back."""
    found = re.search(r'name="reviewed" value="([^"]*)"', html)
    assert found, "no reviewed counts on the page"
    return found.group(1).replace("&#34;", '"')


def figure(html: str, testid: str) -> str:
    """The text of the element marked data-testid=TESTID (the figures hold just their number)."""
    found = re.search(rf'data-testid="{re.escape(testid)}"[^>]*>([^<]*)<', html)
    assert found, f"no {testid} on the page"
    return found.group(1).strip()


def attribute(html: str, testid: str, name: str) -> str:
    tag = re.search(rf'<[^>]*data-testid="{re.escape(testid)}"[^>]*>', html)
    assert tag, f"no {testid} on the page"
    value = re.search(rf'{name}="([^"]*)"', tag.group(0))
    assert value, f"{testid} has no {name}"
    return value.group(1)


def make_page(emulator: Any, tmp_path: Path, *, sandbox: bool = False, max_upload: int = 50 * 2**20,
              **settings: Any) -> Iterator[Page]:
    workspace = Workspace(client_for(emulator, **settings), folder=tmp_path / "uploads", max_upload=max_upload,
                          journal=tmp_path / "journal.sqlite3", sandbox=sandbox, lang="zh")
    app = create_app(workspace, hosts={"testserver"})
    token = app.url_token()
    with TestClient(app, base_url="http://testserver") as client:
        signed_in = client.get(f"/?token={token}", follow_redirects=False)
        assert signed_in.status_code == 303 and "token" not in signed_in.headers["location"]
        yield Page(client, workspace, token, app)
    workspace.close()
    workspace.client.close()


@pytest.fixture
def page(emulator: Any, tmp_path: Path) -> Iterator[Page]:
    yield from make_page(emulator, tmp_path)


@pytest.fixture
def slow_page(start_emulator: Any, tmp_path: Path) -> Iterator[Page]:
    """A page on an emulator that answers each call after 150 ms, with two workers: a run takes seconds."""
    slow = start_emulator(latency_ms=150)
    yield from make_page(slow, tmp_path, workers=2)


# ---------------------------------------------------------------------------------------------
# who gets in

def test_without_the_session_every_request_gets_403_and_nothing_else(emulator: Any, tmp_path: Path) -> None:
    workspace = Workspace(client_for(emulator), folder=tmp_path / "uploads")
    app = create_app(workspace, hosts={"testserver"})
    with TestClient(app, base_url="http://testserver") as client:
        for method, path in (("GET", "/"), ("GET", "/history"), ("GET", "/export/xlsx"), ("GET", "/static/app.js"),
                             ("GET", "/template"), ("POST", "/upload"), ("GET", "/sheets/x/plan")):
            answer = client.request(method, path, headers=ORIGIN, content=b"x" if method == "POST" else None)
            assert (answer.status_code, answer.text) == (403, "Forbidden"), path
            assert answer.headers["x-frame-options"] == "DENY"
            assert "bulkdir_session" not in answer.headers.get("set-cookie", "")
        assert os.listdir(tmp_path / "uploads") == []  # the refused upload was not kept
    workspace.close()


def test_the_token_opens_one_session_once(emulator: Any, tmp_path: Path) -> None:
    workspace = Workspace(client_for(emulator), folder=tmp_path / "uploads")
    app = create_app(workspace, hosts={"testserver"})
    token = app.url_token()
    with TestClient(app, base_url="http://testserver") as stranger:
        assert stranger.get("/?token=" + "x" * len(token)).status_code == 403  # a wrong token
    with TestClient(app, base_url="http://testserver") as person:
        first = person.get(f"/history?token={token}", follow_redirects=False)
        assert first.status_code == 303 and first.headers["location"] == "/history"  # the token leaves the URL
        cookie = first.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        assert person.get("/history").status_code == 200
    with TestClient(app, base_url="http://testserver") as second:
        assert second.get(f"/?token={token}").status_code == 403  # spent: a copied URL opens nothing
    workspace.close()


def test_a_request_naming_another_host_is_refused_even_with_the_session(page: Page) -> None:
    answer = page.get("/", headers={"Host": "attacker.example:8700"})  # a DNS-rebinding page
    assert (answer.status_code, answer.text) == (403, "Forbidden")
    assert page.get("/").status_code == 200


@pytest.mark.parametrize("headers", [{"Origin": "http://evil.example"}, {"Referer": "http://evil.example/x"},
                                     {"Origin": "https://testserver"}, {}])
def test_a_post_from_another_origin_or_none_changes_nothing(page: Page, headers: dict[str, str]) -> None:
    answer = page.http.post("/upload", content=(SAMPLES / "staff.xlsx").read_bytes(),
                            headers={"X-Filename": "staff.xlsx", **headers})
    assert (answer.status_code, answer.text) == (403, "Forbidden")
    assert page.workspace.sheets == {} and os.listdir(page.workspace.folder) == []


def test_every_page_forbids_framing_and_outside_content(page: Page) -> None:
    for path in ("/", "/history", "/export", "/static/app.js", "/nowhere"):
        answer = page.get(path)
        assert answer.headers["x-frame-options"] == "DENY"
        policy = answer.headers["content-security-policy"]
        assert "default-src 'self'" in policy and "frame-ancestors 'none'" in policy
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_nothing_the_page_shows_holds_the_secret_or_the_access_token(page: Page, emulator: Any) -> None:
    url = page.sheet(SAMPLES / "staff.xlsx")
    seen = [page.get(p).text for p in ("/", url, f"{url}/plan", f"{url}/confirm", "/history", "/export")]
    run_url = page.run(url)
    seen += [page.get(run_url).text, page.get(f"{run_url}/events").text]
    token = emulator.token()
    for text in seen:
        assert emulator.secret not in text and token not in text


# ---------------------------------------------------------------------------------------------
# start, upload, problems

def test_the_start_page_names_the_corp_and_marks_the_sandbox(emulator: Any, tmp_path: Path) -> None:
    emulator.call("department/update", {"id": 1, "name": "示例科技"})
    for sandbox in (True, False):
        pages = make_page(emulator, tmp_path / str(sandbox), sandbox=sandbox)
        page = next(pages)
        for path in ("/", "/history", "/export"):
            html = page.get(path).text
            assert figure(html, "corp-name") == "示例科技" and emulator.corp_id in html
            assert ('data-testid="sandbox-badge"' in html) is sandbox
            assert ("本地沙箱" in html) is sandbox
        html = page.get("/").text
        assert 'data-testid="sheet-input"' in html and 'data-testid="download-template"' in html
        pages.close()


def test_the_blank_template_downloads(page: Page) -> None:
    answer = page.get("/template")
    assert answer.status_code == 200 and "members-template.xlsx" in answer.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    headers = [cell.value for cell in next(book.worksheets[0].iter_rows(max_row=1))]
    assert "*帐号" in headers and "*姓名" in headers


def test_a_sheet_larger_than_the_cap_is_refused_before_it_is_kept(emulator: Any, tmp_path: Path) -> None:
    pages = make_page(emulator, tmp_path, max_upload=1000)
    page = next(pages)
    big = write_sheet(tmp_path / "big.csv", MEMBER_HEADER, member_rows(200))
    answer = page.upload(big)
    assert answer.status_code == 413
    assert "超过" in answer.json()["error"] and "--max-upload" in answer.json()["error"]

    def chunks() -> Iterator[bytes]:  # no Content-Length: cut off while it arrives
        data = big.read_bytes()
        for start in range(0, len(data), 256):
            yield data[start:start + 256]

    streamed = page.post("/upload", content=chunks(), headers={"X-Filename": "big.csv"})
    assert streamed.status_code == 413
    assert page.workspace.sheets == {} and os.listdir(page.workspace.folder) == []
    pages.close()


def test_a_file_that_is_not_a_sheet_is_refused_by_its_kind(page: Page, tmp_path: Path) -> None:
    script = tmp_path / "evil.exe"
    script.write_bytes(b"MZ")
    answer = page.upload(script)
    assert answer.status_code == 400 and ".xlsx" in answer.json()["error"]
    page.http.cookies.set("bulkdir_lang", "en")
    assert "choose an .xlsx" in page.upload(script).json()["error"]


def test_uploads_are_private_and_never_opened_by_the_name_they_came_with(page: Page) -> None:
    url = page.sheet(SAMPLES / "staff.xlsx", name="../../etc/passwd.xlsx")
    sheet = page.workspace.sheets[url.rsplit("/", 1)[1]]
    assert sheet.path.parent == page.workspace.folder and "passwd" not in sheet.path.name
    assert sheet.name == "passwd.xlsx"  # only shown
    assert stat.S_IMODE(page.workspace.folder.stat().st_mode) == 0o700
    assert stat.S_IMODE(sheet.path.stat().st_mode) == 0o600


@pytest.mark.parametrize("name, content", [("broken.xlsx", b"PK\x03\x04 not really a workbook" * 20),
                                           ("empty.csv", b""), ("header_only.csv", "帐号,姓名,手机,部门\n".encode()),
                                           ("binary.csv", bytes(range(256)) * 40)])
def test_an_unreadable_or_empty_sheet_gets_the_message_validate_gives(page: Page, tmp_path: Path, name: str,
                                                                       content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    try:
        expected = [p.message.in_lang("zh") for p in bulkdir.validate(path).problems]
    except bulkdir.BulkdirError as error:  # validate exits 2 with this message
        expected = [error.message.in_lang("zh")]
    assert expected
    answer = page.get(page.sheet(path))
    assert answer.status_code in (200, 400) and "Traceback" not in answer.text
    for message in expected:
        assert _escaped(message) in answer.text
    if answer.status_code == 200:
        counted = int(figure(answer.text, "problem-count-errors")) + int(figure(answer.text, "problem-count-warnings"))
        assert counted == len(expected)


def _escaped(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


def test_the_problems_page_counts_lists_and_marks_what_validate_finds(page: Page) -> None:
    source = SAMPLES / "staff_with_errors.xlsx"
    expected = bulkdir.validate(source)
    errors = sum(p.severity == "error" for p in expected.problems)
    html = page.get(page.sheet(source)).text
    assert int(figure(html, "problem-count-errors")) == errors > 0
    assert int(figure(html, "problem-count-warnings")) == len(expected.problems) - errors
    table = html.split('data-testid="problem-table"')[1].split("</table>")[0]
    assert table.count("<tr class=") == len(expected.problems)
    for problem in expected.problems:
        assert _escaped(problem.message.in_lang("zh")) in table
    marked_rows = {int(m) for m in re.findall(r'<tr[^>]*data-row="(\d+)"[^>]*>(?:(?!</tr>).)*data-testid="bad-cell"',
                                              html, re.S)}
    assert marked_rows == {p.row for p in expected.problems if p.row is not None and p.column}
    page.http.cookies.set("bulkdir_lang", "en")
    english = page.get(page.sheet(source)).text
    assert _escaped(expected.problems[0].message.in_lang("en")) in english


def test_the_problem_report_is_the_one_validate_writes(page: Page, tmp_path: Path) -> None:
    source = SAMPLES / "staff_with_errors.xlsx"
    answer = page.get(f"{page.sheet(source)}/report")
    assert answer.status_code == 200 and "staff_with_errors.problems.xlsx" in answer.headers["content-disposition"]
    from_page = openpyxl.load_workbook(io.BytesIO(answer.content))
    done = CliRunner().invoke(cli, ["validate", str(source), "--lang", "zh", "--report", str(tmp_path / "cli.xlsx")])
    assert done.exit_code == 1, done.output
    from_cli = openpyxl.load_workbook(tmp_path / "cli.xlsx")
    assert from_page.sheetnames == from_cli.sheetnames
    for name in from_cli.sheetnames:
        assert [[c.value for c in row] for row in from_page[name].iter_rows()] == \
               [[c.value for c in row] for row in from_cli[name].iter_rows()]


def test_a_large_sheet_is_shown_a_page_at_a_time(page: Page, tmp_path: Path) -> None:
    rows = member_rows(1200)
    rows[1100][2] = "12345"  # a bad mobile on sheet row 1102
    url = page.sheet(write_sheet(tmp_path / "big.xlsx", MEMBER_HEADER, rows))
    html = page.get(f"{url}?view=all&page=3").text
    shown = [int(n) for n in re.findall(r'data-row="(\d+)"', html)]
    assert shown == list(range(102, 152))  # 50 rows a page, from sheet row 2
    assert len(html) < 200_000
    problems_only = page.get(url).text
    assert re.findall(r'data-row="(\d+)"', problems_only) == ["1102"]


def test_a_mapping_of_the_config_is_offered_and_used(page: Page, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bulkdir.toml").write_text((SAMPLES / "hr_mapping.toml").read_text(encoding="utf-8"),
                                           encoding="utf-8")
    names = re.findall(r'\[mappings\.([^\]]+)\]', (tmp_path / "bulkdir.toml").read_text(encoding="utf-8"))
    assert names
    start = page.get("/").text
    assert f'value="{names[0]}"' in start
    source = SAMPLES / "hr_onboarding.xlsx"

    def shown(html: str) -> tuple[int, int]:
        return int(figure(html, "problem-count-errors")), int(figure(html, "problem-count-warnings"))

    def counted(result: Any) -> tuple[int, int]:
        errors = sum(p.severity == "error" for p in result.problems)
        return errors, len(result.problems) - errors

    without = page.get(page.sheet(source)).text
    assert shown(without) == counted(bulkdir.validate(source))
    answer = page.upload(source, query=f"?mapping={names[0]}")
    mapped = page.get(answer.json()["next"]).text
    assert shown(mapped) == counted(bulkdir.validate(source, mapping=names[0])) != shown(without)
    assert "无法识别列" not in mapped and "无法识别列" in without  # the unknown-header warnings are gone


# ---------------------------------------------------------------------------------------------
# the plan

def test_the_plan_shows_the_librarys_counts_changes_filters_and_search(page: Page, emulator: Any) -> None:
    source = SAMPLES / "staff.xlsx"
    first = bulkdir.read_members(source)[0]
    seed_corp(emulator, members=[{"userid": first.values["userid"], "name": first.values["name"],
                                  "mobile": first.values["mobile"], "department": [1], "position": "旧职位"}])
    expected = bulkdir.plan_import(source, page.workspace.client).counts()
    url = page.sheet(source)
    html = page.get(f"{url}/plan").text
    assert int(figure(html, "plan-members-create")) == expected["member_create"] > 0
    assert int(figure(html, "plan-members-update")) == expected["member_update"] == 1
    assert int(figure(html, "plan-members-unchanged")) == expected.get("member_unchanged", 0)
    assert int(figure(html, "plan-members-delete")) == 0
    assert int(figure(html, "plan-departments-create")) == expected["department_create"]
    assert re.search(r'<span class="old">旧职位</span> → <span class="new">', html)
    updates = page.get(f"{url}/plan?show=update").text
    shown_kinds = set(re.findall(r'<tr class="([a-z_]+)">', updates.split('data-testid="plan-table"')[1]))
    assert first.values["userid"] in updates and updates.count('<tr class="member_update">') == 1
    assert shown_kinds <= {"member_update", "member_leaders", "department_update"}
    found = page.get(f"{url}/plan?q={first.values['name']}").text.split('data-testid="plan-table"')[1]
    assert first.values["userid"] in found and found.count("<tr class=") == 1
    assert page.get(f"{url}/plan?q=nobody-at-all").text.split('data-testid="plan-table"')[1].count("<tr class=") == 0


def test_the_plans_options_re_plan_and_the_brake_refuses_until_overridden(page: Page, emulator: Any,
                                                                           tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [{"userid": f"old{i}", "name": "旧员工", "mobile": f"1390000{i:04d}",
                                      "department": [2]} for i in range(10)])
    url = page.sheet(write_sheet(tmp_path / "one.csv", MEMBER_HEADER, [["old0", "旧员工", "13900000000", "研发中心"]]))
    plain = page.get(f"{url}/plan").text
    assert int(figure(plain, "plan-members-delete")) == 0 and int(figure(plain, "plan-members-unchanged")) == 1
    refused = page.get(f"{url}/plan?delete_missing=1").text
    assert 'data-testid="plan-refused"' in refused and 'data-testid="confirm-button"' not in refused
    assert 'data-testid="allow-mass-delete"' in refused
    assert page.get(f"{url}/confirm?delete_missing=1", follow_redirects=False).status_code == 303
    overridden = page.get(f"{url}/plan?delete_missing=1&allow_mass_delete=1").text
    assert int(figure(overridden, "plan-members-delete")) == 9 and 'data-testid="brake-verdict"' in overridden
    disabled = page.get(f"{url}/plan?delete_missing=1&allow_mass_delete=1&disable_instead=1").text
    assert int(figure(disabled, "plan-members-disable")) == 9 and int(figure(disabled, "plan-members-delete")) == 0
    assert sorted(members_of(emulator.state())) == sorted(f"old{i}" for i in range(10))  # planning wrote nothing


# ---------------------------------------------------------------------------------------------
# confirm and run

def test_staff_is_imported_from_the_page_and_its_results_download(page: Page, emulator: Any, tmp_path: Path) -> None:
    source = SAMPLES / "staff.xlsx"
    sheet_members = bulkdir.read_members(source)
    url = page.sheet(source)
    confirm = page.get(f"{url}/confirm").text
    assert 'data-testid="confirm-count"' not in confirm  # nothing deleted: nothing to type
    run_url = page.run(url)
    html = page.get(run_url).text
    assert attribute(html, "run-state", "data-state") == "finished"
    assert attribute(html, "run-progress", "aria-valuenow") == attribute(html, "run-progress", "aria-valuemax")
    assert int(figure(html, "result-created")) == len(sheet_members)
    assert int(figure(html, "result-failed")) == 0
    assert set(members_of(emulator.state())) == {m.values["userid"] for m in sheet_members}
    answer = page.get(f"{run_url}/download/results")
    assert answer.status_code == 200 and answer.headers["content-disposition"].endswith(".xlsx")
    book = openpyxl.load_workbook(io.BytesIO(answer.content))
    text = json.dumps([[c.value for c in row] for row in book.worksheets[0].iter_rows()], ensure_ascii=False)
    for member in sheet_members:
        assert member.values["userid"] in text
    assert page.get(f"{run_url}/download/errors").status_code == 404  # no failures: no errors file
    events = page.get(f"{run_url}/events").text
    last = json.loads(events.strip().split("data: ")[-1])
    assert last["state"] == "finished" and last["done"] == last["total"] > 0
    again = page.get(f"{page.sheet(source)}/plan").text  # the rerun: nothing to do
    assert int(figure(again, "plan-members-unchanged")) == len(sheet_members)
    assert 'data-testid="confirm-button"' not in again


def test_a_run_with_failures_lists_them_and_offers_the_rows_to_fix(page: Page, emulator: Any, tmp_path: Path) -> None:
    seed_corp(emulator, members=[{"userid": "taken", "name": "已有", "mobile": "13900000001", "department": [1]}])
    rows = [["new1", "新一", "13900000001", ""], ["new2", "新二", "13900000002", ""]]  # new1: the mobile is taken
    run_url = page.run(page.sheet(write_sheet(tmp_path / "dup.csv", MEMBER_HEADER, rows)))
    html = page.get(run_url).text
    assert int(figure(html, "result-failed")) == 1 and int(figure(html, "result-created")) == 1
    assert "new1" in html.split('id="run-failed"')[1].split("</ul>")[0]
    errors = page.get(f"{run_url}/download/errors")
    assert errors.status_code == 200 and b"new1" in errors.content and b"new2" not in errors.content


def test_a_delete_needs_the_number_typed(page: Page, emulator: Any, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [dict(zip(("userid", "name", "mobile"), row), department=[2])
                                     for row in member_rows(12)])
    keep = member_rows(10)  # m0000..m0009 in 研发中心: two members are missing from the sheet
    url = page.sheet(write_sheet(tmp_path / "keep.csv", MEMBER_HEADER, keep))
    query = "delete_missing=1"
    html = page.get(f"{url}/plan?{query}").text
    assert int(figure(html, "plan-members-delete")) == 2
    confirm = page.get(f"{url}/confirm?{query}").text
    assert 'data-testid="confirm-count"' in confirm and "2" in confirm
    reviewed = reviewed_of(confirm)
    for typed in ("", "3", "two"):
        wrong = page.post(f"{url}/run", data={"delete_missing": "1", "reviewed": reviewed, "typed": typed})
        assert wrong.status_code == 400 and 'data-testid="confirm-mismatch"' in wrong.text
    assert len(members_of(emulator.state())) == 12 and page.workspace.runs == {}
    run_url = page.run(url, {"typed": "2"}, query)
    assert int(figure(page.get(run_url).text, "result-deleted")) == 2
    assert sorted(members_of(emulator.state())) == [f"m{i:04d}" for i in range(10)]


def test_a_directory_changed_after_the_review_sends_nothing(page: Page, emulator: Any, tmp_path: Path) -> None:
    url = page.sheet(write_sheet(tmp_path / "two.csv", MEMBER_HEADER, member_rows(2, department="")))
    page.get(f"{url}/plan")
    confirm = page.get(f"{url}/confirm").text
    reviewed = reviewed_of(confirm)
    someone_else = {"userid": "m0000", "name": "别人", "mobile": "13700000000", "department": [1]}
    seed_corp(emulator, members=[someone_else])  # a change made elsewhere after the review
    before = emulator.stats()
    started = page.post(f"{url}/run", data={"reviewed": reviewed}, follow_redirects=False)
    run = page.workspace.runs[started.headers["location"].rsplit("/", 1)[1]]
    wait_for(lambda: run.state == "failed")
    html = page.get(started.headers["location"]).text
    assert attribute(html, "run-state", "data-state") == "failed" and "重新审阅" in html
    after = emulator.stats()
    assert {k: v for k, v in after["calls"].items() if "create" in k or "update" in k} == \
           {k: v for k, v in before["calls"].items() if "create" in k or "update" in k}


def test_a_second_run_is_refused_naming_the_run_in_progress(slow_page: Page, tmp_path: Path) -> None:
    page = slow_page
    first = page.sheet(write_sheet(tmp_path / "a.csv", MEMBER_HEADER, member_rows(40, department="")))
    second = page.sheet(write_sheet(tmp_path / "b.csv", MEMBER_HEADER, member_rows(5, department="", prefix="b")))
    page.get(f"{first}/plan")
    page.get(f"{second}/plan")
    reviewed = {u: reviewed_of(page.get(f"{u}/confirm").text) for u in (first, second)}
    started = page.post(f"{first}/run", data={"reviewed": reviewed[first]}, follow_redirects=False)
    run = page.workspace.runs[started.headers["location"].rsplit("/", 1)[1]]
    wait_for(lambda: run.state == "running" and run.run_id is not None)
    refused = page.post(f"{second}/run", data={"reviewed": reviewed[second]}, follow_redirects=False)
    assert refused.status_code == 409 and run.run_id in refused.text
    assert "Traceback" not in refused.text and len(page.workspace.runs) == 1
    assert 'data-testid="stop-button"' in page.get(f"/runs/{run.id}").text  # coming back shows the same run
    run.stop.set()
    wait_for(lambda: run.state != "running", timeout=60)


def test_stop_interrupts_the_run_and_history_resumes_it(slow_page: Page, tmp_path: Path) -> None:
    page = slow_page
    source = write_sheet(tmp_path / "many.csv", MEMBER_HEADER, member_rows(60, department=""))
    url = page.sheet(source)
    page.get(f"{url}/plan")
    confirm = page.get(f"{url}/confirm").text
    reviewed = reviewed_of(confirm)
    started = page.post(f"{url}/run", data={"reviewed": reviewed}, follow_redirects=False)
    run_url = started.headers["location"]
    run = page.workspace.runs[run_url.rsplit("/", 1)[1]]
    wait_for(lambda: run.done >= 4)
    assert page.post(f"{run_url}/stop", follow_redirects=False).status_code == 303
    wait_for(lambda: run.state in ("interrupted", "finished", "failed"), timeout=60)
    assert run.state == "interrupted" and 0 < run.result.counts["created"] < 60  # type: ignore[union-attr]
    assert attribute(page.get(run_url).text, "run-state", "data-state") == "interrupted"
    history = page.get("/history").text
    assert run.run_id in history and f'data-testid="resume-{run.run_id}"' in history  # type: ignore[operator]
    resumed = page.post(f"/history/{run.run_id}/resume", follow_redirects=False)
    assert resumed.status_code == 303 and resumed.headers["location"].startswith("/sheets/")
    sheet_url = resumed.headers["location"].split("?")[0].removesuffix("/plan")
    plan = page.get(f"{sheet_url}/plan").text
    assert int(figure(plan, "plan-members-create")) == 60 - run.result.counts["created"]  # type: ignore[union-attr]
    finished = page.run(sheet_url)
    assert attribute(page.get(finished).text, "run-state", "data-state") == "finished"
    assert len(bulkdir.fetch_directory(page.workspace.client).members) == 60


# ---------------------------------------------------------------------------------------------
# export, language, errors

@pytest.mark.parametrize("kind", ["xlsx", "csv"])
def test_the_directory_exports_as_xlsx_and_csv(page: Page, emulator: Any, kind: str) -> None:
    seed_corp(emulator, [RESEARCH], [{"userid": "zhangsan", "name": "张三", "mobile": "13800000001",
                                      "department": [2]}])
    assert 'data-testid="export-xlsx"' in page.get("/export").text
    answer = page.get(f"/export/{kind}")
    assert answer.status_code == 200 and answer.headers["content-disposition"].endswith(f".{kind}")
    if kind == "xlsx":
        book = openpyxl.load_workbook(io.BytesIO(answer.content))
        values = [[c.value for c in row] for row in book.worksheets[0].iter_rows()]
        assert any("zhangsan" in row and "13800000001" in row for row in values)
    else:
        text = answer.content.decode("utf-8-sig")
        assert "zhangsan" in text and "13800000001" in text
    assert page.get("/export/pdf").status_code == 404


def test_the_language_switch_changes_the_words_and_keeps_to_this_site(page: Page) -> None:
    assert '<html lang="zh' in page.get("/").text
    switched = page.get("/lang/en?next=/history", follow_redirects=False)
    assert switched.status_code == 303 and switched.headers["location"] == "/history"
    english = page.get("/history").text
    assert '<html lang="en' in english and "Past runs" in english and "历史" not in english.split("<main>")[1]
    for outside in ("//evil.example/", "http://evil.example/"):
        assert page.get(f"/lang/zh?next={outside}", follow_redirects=False).headers["location"] == "/"
    assert '<html lang="zh' in page.get("/").text


def test_an_unknown_page_or_a_bug_is_one_line_never_a_traceback(page: Page, monkeypatch: Any) -> None:
    missing = page.get("/sheets/0123456789abcdef/plan")
    assert missing.status_code == 404 and 'data-testid="error-message"' in missing.text
    url = page.sheet(SAMPLES / "staff.xlsx")

    def broken(*args: Any) -> Any:
        raise ZeroDivisionError("a planted bug")

    monkeypatch.setattr(page.workspace, "plan", broken)
    with TestClient(page.app, base_url="http://testserver", raise_server_exceptions=False) as browser:
        browser.cookies = page.http.cookies
        answer = browser.get(f"{url}/plan")
    assert answer.status_code == 500 and "ZeroDivisionError: a planted bug" in answer.text
    assert "Traceback" not in answer.text and 'File "' not in answer.text


# ---------------------------------------------------------------------------------------------
# the server as a process

def test_serve_refuses_a_reachable_host_without_allow_remote(emulator: Any) -> None:
    done = subprocess.run([sys.executable, "-m", "bulkdir", "serve", "--host", "0.0.0.0", "--no-browser"],
                          env=dict(os.environ, **env_for(emulator)), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "--allow-remote" in done.stderr and done.stdout == ""


def test_serve_prints_one_address_with_a_token_and_stops_cleanly_on_ctrl_c(emulator: Any, bulkdir_home: Path) -> None:
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", "serve", "--no-browser", "--port", "0"],
                               env=dict(os.environ, **env_for(emulator)), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        line = process.stdout.readline()  # type: ignore[union-attr]
        found = re.match(r"bulkdir serve: (http://127\.0\.0\.1:(\d+))/\?token=(\S+)", line)
        assert found, line
        base, token = found.group(1), found.group(3)
        session = requests.Session()
        assert session.get(base + "/").status_code == 403
        home = session.get(f"{base}/?token={token}")
        assert home.status_code == 200 and 'data-testid="sheet-input"' in home.text
        uploads = [p for p in (bulkdir_home).rglob("serve-*") if p.is_dir()]
        assert len(uploads) == 1
        posted = session.post(f"{base}/upload", data=(SAMPLES / "staff.xlsx").read_bytes(),
                              headers={"X-Filename": "staff.xlsx", "Origin": base})
        assert posted.status_code == 200 and any(uploads[0].iterdir())
        assert requests.get(f"{base}/?token={token}").status_code == 403  # spent
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    assert not uploads[0].exists()  # the uploads are removed when the server stops
    assert token not in out + err and emulator.secret not in line + out + err


def test_ctrl_c_during_a_run_stops_it_as_the_command_line_does(start_emulator: Any, tmp_path: Path) -> None:
    from bulkdir.journal import Journal, default_journal_path

    slow = start_emulator(latency_ms=150)
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", "serve", "--no-browser", "--port", "0"],
                               env=dict(os.environ, **env_for(slow, BULKDIR_WORKERS="2")), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        found = re.match(r"bulkdir serve: (http://[^/]+)/\?token=(\S+)", process.stdout.readline())  # type: ignore
        assert found
        base = found.group(1)
        session = requests.Session()
        session.get(f"{base}/?token={found.group(2)}")
        source = write_sheet(tmp_path / "many.csv", MEMBER_HEADER, member_rows(60, department=""))
        url = session.post(f"{base}/upload", data=source.read_bytes(),
                           headers={"X-Filename": "many.csv", "Origin": base}).json()["next"]
        session.get(f"{base}{url}/plan")
        confirm = session.get(f"{base}{url}/confirm").text
        reviewed = reviewed_of(confirm)
        started = session.post(f"{base}{url}/run", data={"reviewed": reviewed}, headers={"Origin": base},
                               allow_redirects=False)
        run_url = base + started.headers["location"]
        wait_for(lambda: int(attribute(session.get(run_url).text, "run-progress", "aria-valuenow")) >= 4)
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=90)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    journal = Journal(default_journal_path())
    [run] = journal.runs(5)
    journal.close()
    assert run.status == "interrupted" and 0 < run.counts["created"] < 60, run
    assert len(members_of(slow.state())) == run.counts["created"]  # every write journalled, none lost

    # the uploads are gone, but the interrupted run's sheet is kept (owner only) so a new page can resume it
    kept = Path(run.source or "")
    assert kept.is_file() and kept.parent.name == "serve-resume" and stat.S_IMODE(kept.stat().st_mode) == 0o600
    slow.faults(latency_ms=0)
    workspace = Workspace(client_for(slow), folder=tmp_path / "uploads-2")
    app = create_app(workspace, hosts={"testserver"})
    with TestClient(app, base_url="http://testserver") as browser:
        browser.get(f"/?token={app.url_token()}")
        history = browser.get("/history").text
        assert "many.csv" in history and f'data-testid="resume-{run.id}"' in history
        resumed = browser.post(f"/history/{run.id}/resume", headers=ORIGIN, follow_redirects=False)
        sheet_url = resumed.headers["location"].split("?")[0].removesuffix("/plan")
        page = Page(browser, workspace, "", app)
        finished = page.run(sheet_url)
        html = browser.get(finished).text
        assert attribute(html, "run-state", "data-state") == "finished" and "many.csv" in html
    workspace.close()
    assert sorted(members_of(slow.state())) == [f"m{i:04d}" for i in range(60)]
    assert not kept.exists()  # finished: the kept sheet is removed


def test_a_run_is_refused_while_another_process_changes_the_corp(page: Page, tmp_path: Path) -> None:
    from bulkdir.runlock import CorpLock

    url = page.sheet(write_sheet(tmp_path / "two.csv", MEMBER_HEADER, member_rows(2, department="")))
    page.get(f"{url}/plan")
    confirm = page.get(f"{url}/confirm").text
    reviewed = reviewed_of(confirm)
    with CorpLock(page.workspace.corp_id, "import").acquire(0) as held:  # as `bulkdir import` holds it
        held.note_run("20261202-010203-abcd")
        refused = page.post(f"{url}/run", data={"reviewed": reviewed}, follow_redirects=False)
    assert refused.status_code == 409 and "20261202-010203-abcd" in refused.text and "bulkdir import" in refused.text
    assert "--wait" not in refused.text  # a command-line option: the page has none to offer
    assert page.workspace.runs == {}
    run_url = page.run(url)  # once it has finished, the page's run goes
    assert attribute(page.get(run_url).text, "run-state", "data-state") == "finished"


def test_the_readme_documents_every_option_of_serve() -> None:
    from bulkdir.cli.serve import serve_command

    readme = (SAMPLES.parent / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("<!-- section:serve -->"):readme.index("<!-- /section:serve -->")]
    connection = {"--sandbox", "--profile", "--corp-id", "--secret", "--base-url", "--rate", "--workers", "--debug",
                  "--agent-id", "--timeout", "--config", "--secret-file", "--app-secret", "--rate-per-hour",
                  "--max-wait"}
    own = [opt for param in serve_command.params for opt in param.opts if opt.startswith("--")]
    missing = [opt for opt in own if opt not in connection and f"`{opt}" not in section]
    assert own and missing == []
    for image in re.findall(r"\]\((docs/images/[^)]+)\)", section):
        assert (SAMPLES.parent / image).is_file(), image
