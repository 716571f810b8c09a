"""`bulkdir serve` end to end, in a real headless Chromium driven by Selenium, over real HTTP on 127.0.0.1.

Each test starts the real `bulkdir serve --sandbox` process (its sandbox in the test's own BULKDIR_HOME),
logs in with the printed token URL, and drives the page through its stable `data-testid` hooks (issue 13).
What the page shows is compared with what the library says of the same sheet and the same sandbox
(`bulkdir.validate`, `bulkdir.plan_import`), and what a run did is read back from the sandbox once the
server has stopped. One browser serves the whole module. The tests photograph every page, in Chinese
(the page's default), into docs/images/ for the README.

Skipped, with one line saying how to install one, on a machine without Debian's chromium and chromedriver.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

from web_browser_support import (
    Served,
    browser_missing,
    by_testid,
    go_to_next_page,
    no_horizontal_overflow,
    number,
    set_downloads,
    start_browser,
    text_of,
    upload,
    wait_download,
    wait_for,
    wait_until,
)

if browser_missing():
    pytest.skip(browser_missing() or "", allow_module_level=True)

from openpyxl import load_workbook  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

import bulkdir  # noqa: E402
from bulkdir.validation import write_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "samples"
STAFF = SAMPLES / "staff.xlsx"
WITH_ERRORS = SAMPLES / "staff_with_errors.xlsx"
IMAGES = ROOT / "docs" / "images"
RUN_WAIT = 60.0  # seconds for a run of the 40 sample members on the sandbox


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    driver = start_browser(tmp_path_factory.mktemp("downloads"))
    yield driver
    driver.quit()


@pytest.fixture
def downloads(browser: Any, tmp_path: Path) -> Path:
    """This test's download folder."""
    folder = tmp_path / "downloads"
    set_downloads(browser, folder)
    return folder


@pytest.fixture
def serve(bulkdir_home: Path) -> Iterator[Any]:
    """A factory: `serve()` starts `bulkdir serve --sandbox` on this test's BULKDIR_HOME; stopped at teardown."""
    started: list[Served] = []

    def start(*args: str) -> Served:
        started.append(Served.start(dict(os.environ, BULKDIR_HOME=str(bulkdir_home)), "--sandbox", *args))
        return started[-1]

    yield start
    for served in started:
        served.stop()


# ---------------------------------------------------------------------------------------------
# helpers

def sandbox_members() -> dict[str, dict]:
    """The sandbox's members by userid, read with the library (the server must have stopped: one process
    uses the sandbox at a time)."""
    with bulkdir.connect(sandbox=True) as client:
        directory = bulkdir.fetch_directory(client)
    return {str(member["userid"]): member for member in directory.members.values()}


def library_plan(sheet: Path, **options: Any) -> dict[str, int]:
    with bulkdir.connect(sandbox=True) as client:
        return bulkdir.plan_import(sheet, client, **options).counts()


def seed(tmp_path: Path, rows: list[list[Any]], name: str = "seed.xlsx") -> None:
    """Import `rows` (the sample's columns) into the sandbox with the library, before the server starts."""
    book = load_workbook(STAFF)
    header = [cell.value for cell in book.active[1]]
    path = tmp_path / name
    from openpyxl import Workbook

    out = Workbook()
    sheet = out.active
    sheet.title = "成员列表"
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out.save(path)
    with bulkdir.connect(sandbox=True) as client:
        result = bulkdir.apply(bulkdir.plan_import(path, client))
    assert not result.counts.get("failed"), result.counts


def sample_rows(path: Path = STAFF) -> list[list[Any]]:
    return [list(row) for row in load_workbook(path).active.iter_rows(min_row=2, values_only=True)]


EXTRA = [["tmp_zhao", "赵临时", "实习生", "示例企业/研发中心", "男", "13700000001", None, None, "否", None],
         ["tmp_qian", "钱临时", "实习生", "示例企业/研发中心", "女", "13700000002", None, None, "否", None],
         ["tmp_sun", "孙临时", "实习生", "示例企业/研发中心/测试部", "男", "13700000003", None, None, "否", None]]


def shoot(browser: Any, name: str) -> None:
    """docs/images/serve-NAME.png, the page as it is now at 1280x800; nothing may stick out sideways."""
    assert no_horizontal_overflow(browser) == [], f"the {name} page overflows at 1280x800"
    IMAGES.mkdir(parents=True, exist_ok=True)
    browser.execute_script("window.scrollTo(0, 0)")
    assert browser.save_screenshot(str(IMAGES / f"serve-{name}.png"))


def click(browser: Any, testid: str) -> None:
    """Click the element and wait for the page it leads to."""
    element = wait_for(browser, testid)
    go_to_next_page(browser, element.click)


def to_problems(browser: Any, sheet: Path) -> None:
    upload(browser, sheet)
    wait_for(browser, "problem-count-errors")


def plan_counts_shown(browser: Any) -> dict[str, int]:
    return {"member_create": number(browser, "plan-members-create"),
            "member_update": number(browser, "plan-members-update"),
            "member_unchanged": number(browser, "plan-members-unchanged"),
            "member_delete": number(browser, "plan-members-delete"),
            "department_create": number(browser, "plan-departments-create")}


def expected_counts(counts: dict[str, int]) -> dict[str, int]:
    return {key: counts.get(key, 0) for key in ("member_create", "member_update", "member_unchanged",
                                                "member_delete", "department_create")}


def run_state(browser: Any) -> str:
    return str(wait_for(browser, "run-state").get_attribute("data-state"))


def wait_run_ended(browser: Any) -> str:
    """Wait until the run page shows the run ended (and reloaded with its results); its data-state."""
    wait_until(browser, lambda b: run_state(b) in ("finished", "interrupted", "failed")
               and b.find_elements(*by_testid("result-created")), RUN_WAIT, "the run did not end")
    return run_state(browser)


def wait_bar_full(browser: Any) -> None:
    """The progress bar drawn full (it grows to its width in a short transition)."""
    script = ("const p = document.querySelector('[data-testid=run-progress]');"
              "return p.querySelector('.bar').getBoundingClientRect().width >= p.clientWidth - 1;")
    wait_until(browser, lambda b: b.execute_script(script), message="the progress bar is not full")


def progress(browser: Any) -> tuple[int, int]:
    bar = wait_for(browser, "run-progress")
    return int(bar.get_attribute("aria-valuenow")), int(bar.get_attribute("aria-valuemax"))


# ---------------------------------------------------------------------------------------------
# the tests

def test_problems_are_counted_and_highlighted(browser: Any, serve: Any, downloads: Path, tmp_path: Path) -> None:
    expected = bulkdir.validate(WITH_ERRORS)
    errors = sum(p.severity == "error" for p in expected.problems)
    warnings = sum(p.severity == "warning" for p in expected.problems)
    assert errors and warnings  # the sample has both
    served = serve()
    served.log_in(browser)
    assert text_of(browser, "sandbox-badge") == "本地沙箱"
    to_problems(browser, WITH_ERRORS)
    assert number(browser, "problem-count-errors") == errors
    assert number(browser, "problem-count-warnings") == warnings
    assert len(browser.find_elements(By.CSS_SELECTOR, '[data-testid="problem-table"] tbody tr')) == \
        len(expected.problems)

    # every problem's cell is marked in the sheet below, on its row, under its column
    table = wait_for(browser, "sheet-table")
    headers = [th.text.strip() for th in table.find_elements(By.CSS_SELECTOR, "thead th")][1:]
    rows = {tr.find_element(By.TAG_NAME, "th").text.strip(): tr
            for tr in table.find_elements(By.CSS_SELECTOR, "tbody tr")}
    cells = [(p.row, p.column) for p in expected.problems if p.row is not None and p.column]
    assert cells
    for row, column in cells:
        assert str(row) in rows, f"row {row} is not shown"
        cell = rows[str(row)].find_elements(By.TAG_NAME, "td")[headers.index(column)]
        assert "bad" in (cell.get_attribute("class") or "").split(), (row, column)
        assert cell.get_attribute("data-testid") == "bad-cell"
    assert len(table.find_elements(*by_testid("bad-cell"))) == len(set(cells))

    # the problem report is the file `bulkdir validate --report` writes (the page's language: Chinese)
    wait_for(browser, "download-problems").click()
    report = wait_download(browser, downloads, ".xlsx")
    mine = write_report(expected, tmp_path / "library.problems.xlsx", lang="zh")
    got, want = load_workbook(report), load_workbook(mine)
    assert got.sheetnames == want.sheetnames
    for name in want.sheetnames:
        assert [list(r) for r in got[name].iter_rows(values_only=True)] == \
            [list(r) for r in want[name].iter_rows(values_only=True)], name


def test_import_the_sample_from_the_page(browser: Any, serve: Any, downloads: Path) -> None:
    planned = library_plan(STAFF)  # the sandbox is empty: 40 members and 10 departments to create
    assert planned.get("member_create") == 40
    served = serve("--rate", "1200")  # 20 calls a second per API: the run lasts long enough to be watched
    served.log_in(browser)
    to_problems(browser, STAFF)
    assert number(browser, "problem-count-errors") == 0
    click(browser, "plan-button")
    assert plan_counts_shown(browser) == expected_counts(planned)
    click(browser, "confirm-button")
    assert not browser.find_elements(*by_testid("confirm-count"))  # nothing deleted: nothing to type
    click(browser, "run-button")
    # the progress is pushed to the page while the run goes (server-sent events), and it can be stopped
    live = wait_until(browser, lambda b: run_state(b) == "running" and 0 < progress(b)[0] < progress(b)[1]
                      and progress(b), RUN_WAIT, "no progress was shown while the run went")
    assert live[1] >= 50  # 10 departments and 40 members at least
    assert browser.find_elements(*by_testid("stop-button"))
    assert wait_run_ended(browser) == "finished"
    done, total = progress(browser)
    assert total > 0 and done == total
    wait_bar_full(browser)
    assert number(browser, "result-created") == 40
    assert number(browser, "result-failed") == 0

    wait_for(browser, "download-results").click()
    results = wait_download(browser, downloads, ".xlsx")
    book = load_workbook(results, read_only=True)
    sheet = book.worksheets[0]
    lines = list(sheet.iter_rows(values_only=True))
    header = list(lines[0])
    userid = header.index("*帐号")
    assert [line[userid] for line in lines[1:]] == [row[0] for row in sample_rows()]
    outcome = next(i for i, h in enumerate(header) if h in ("结果", "result"))
    assert {line[outcome] for line in lines[1:]} <= {"created", "新建"}, {line[outcome] for line in lines[1:]}

    code, err = served.stop()
    assert code == 0 and "Stopped" in err, err  # Ctrl-C stops the server cleanly
    members = sandbox_members()
    assert set(members) == {row[0] for row in sample_rows()}
    assert members["huqian"]["name"] == "胡倩"


def test_a_delete_needs_the_count_typed(browser: Any, serve: Any, tmp_path: Path) -> None:
    seed(tmp_path, sample_rows() + EXTRA)
    planned = library_plan(STAFF, delete_missing=True)
    assert planned.get("member_delete") == len(EXTRA)
    served = serve()
    served.log_in(browser)
    to_problems(browser, STAFF)
    click(browser, "plan-button")
    assert number(browser, "plan-members-delete") == 0
    box = browser.find_element(By.CSS_SELECTOR, 'input[name="delete_missing"]')
    go_to_next_page(browser, box.click)  # the plan is made again with the option
    assert plan_counts_shown(browser) == expected_counts(planned)
    assert "danger" in (wait_for(browser, "plan-members-delete").get_attribute("class") or "")
    wait_for(browser, "brake-verdict")
    plan_url = browser.current_url
    click(browser, "confirm-button")
    typed = wait_for(browser, "confirm-count")

    typed.send_keys(str(len(EXTRA) - 1))  # a wrong number: refused, nothing runs
    click(browser, "run-button")
    wait_for(browser, "confirm-mismatch")
    assert browser.current_url.endswith("/run")  # the confirmation again, saying the number is wrong
    assert not browser.find_elements(*by_testid("run-state"))
    browser.get(plan_url)  # a fresh snapshot: the members are all still there
    assert number(browser, "plan-members-delete") == len(EXTRA)
    click(browser, "confirm-button")

    wait_for(browser, "confirm-count").send_keys(str(len(EXTRA)))
    click(browser, "run-button")
    assert wait_run_ended(browser) == "finished"
    assert number(browser, "result-deleted") == len(EXTRA)
    assert number(browser, "result-failed") == 0
    code, err = served.stop()
    assert code == 0 and "Stopped" in err, err  # Ctrl-C stops the server cleanly
    members = sandbox_members()
    assert set(members) == {row[0] for row in sample_rows()}


def test_switching_the_language(browser: Any, serve: Any) -> None:
    served = serve()
    served.log_in(browser)
    html = browser.find_element(By.TAG_NAME, "html")
    assert html.get_attribute("lang") == "zh-CN"
    assert browser.find_element(By.TAG_NAME, "h1").text == "导入表格"
    click(browser, "lang-switch")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert browser.find_element(By.TAG_NAME, "h1").text == "Import a sheet"
    assert "Past runs" in browser.find_element(By.TAG_NAME, "nav").text
    click(browser, "lang-switch")
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "zh-CN"

    # a run's state is the same English token in both languages; only its words change
    to_problems(browser, STAFF)
    click(browser, "plan-button")
    click(browser, "confirm-button")
    click(browser, "run-button")
    assert wait_run_ended(browser) == "finished"
    chinese = text_of(browser, "run-state")
    run_url = browser.current_url
    click(browser, "lang-switch")
    assert browser.current_url == run_url  # the switch comes back to the same page
    assert browser.find_element(By.TAG_NAME, "html").get_attribute("lang") == "en"
    assert run_state(browser) == "finished"
    english = text_of(browser, "run-state")
    assert english != chinese and english.isascii() and not chinese.isascii()
    assert "Download" in text_of(browser, "download-results")


def test_screenshots_of_every_page(browser: Any, serve: Any, tmp_path: Path) -> None:
    # a directory with something to update and something to delete, so that each page has all it shows
    rows = sample_rows()
    seed(tmp_path, [row[:2] + ["高级" + str(row[2])] + row[3:] for row in rows[:6]] + EXTRA[:2])
    served = serve()
    served.log_in(browser)
    shoot(browser, "start")
    to_problems(browser, WITH_ERRORS)
    shoot(browser, "problems")
    browser.get(served.base + "/")
    to_problems(browser, STAFF)
    click(browser, "plan-button")
    go_to_next_page(browser, browser.find_element(By.CSS_SELECTOR, 'input[name="delete_missing"]').click)
    assert number(browser, "plan-members-update") == 6 and number(browser, "plan-members-delete") == 2
    shoot(browser, "plan")
    click(browser, "confirm-button")
    wait_for(browser, "confirm-count").send_keys("2")
    shoot(browser, "confirm")
    click(browser, "run-button")
    assert wait_run_ended(browser) == "finished"
    wait_bar_full(browser)
    shoot(browser, "run")
    browser.get(served.base + "/history")
    wait_for(browser, "history-table")
    assert len(browser.find_elements(By.CSS_SELECTOR, '[data-testid="history-table"] tbody tr')) >= 2
    shoot(browser, "history")
    browser.get(served.base + "/export")
    wait_for(browser, "export-xlsx")
    shoot(browser, "export")
    for name in ("start", "problems", "plan", "confirm", "run", "history", "export"):
        assert (IMAGES / f"serve-{name}.png").stat().st_size > 10_000, name


def test_the_module_skips_with_one_line_without_a_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    import web_browser_support

    monkeypatch.setattr(web_browser_support, "CHROMIUM", "/nonexistent/chromium")
    monkeypatch.setattr(web_browser_support, "CHROMEDRIVER", "/nonexistent/chromedriver")
    monkeypatch.setattr(shutil, "which", lambda name: None)
    reason = web_browser_support.browser_missing()
    assert reason is not None and "\n" not in reason and "apt-get install chromium chromium-driver" in reason
