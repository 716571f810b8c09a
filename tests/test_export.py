"""`bulkdir export` against the emulator over real HTTP: the files it writes, and that `bulkdir import`
takes them back unchanged (no write call), or with exactly the one edit a person made."""

from __future__ import annotations

import csv
import datetime as _dt
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bulkdir.cli import cli
from bulkdir.config import Settings
from bulkdir.exporting import export_directory
from bulkdir.sheets import open_json_workbook, read_sheet
from bulkdir.wecom.client import WeComClient

WRITE_APIS = ("user/create", "user/update", "user/delete", "user/batchdelete",
              "department/create", "department/update", "department/delete")


# ---------------------------------------------------------------------------------------------
# helpers


def client_for(emulator: Any, **settings: Any) -> WeComClient:
    values = {"corp_id": emulator.corp_id, "secret": emulator.secret, "base_url": emulator.url,
              "rate": 600000, "workers": 4, **settings}
    return WeComClient(Settings(**values), backoff=0.05)


def run(emulator: Any, *args: str, app_secret: bool = False) -> Any:
    env = {"BULKDIR_CORP_ID": emulator.corp_id, "BULKDIR_SECRET": emulator.secret,
           "BULKDIR_BASE_URL": emulator.url, "BULKDIR_RATE": "600000", "BULKDIR_WORKERS": "4",
           "BULKDIR_APP_SECRET": emulator.app_secret if app_secret else ""}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def writes(emulator: Any) -> dict[str, int]:
    return {api: n for api, n in emulator.stats()["calls"].items() if api in WRITE_APIS and n}


def import_file(emulator: Any, path: Path, *extra: str, app_secret: bool = False) -> dict[str, Any]:
    result = run(emulator, "import", str(path), "--yes", "--json", *extra, app_secret=app_secret)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def seed(emulator: Any) -> dict[str, int]:
    """A small corp with every kind of value: three levels, several departments per member with the
    main one not first, leaders, a disabled member, foreign mobiles, formula-like text."""
    ids = {"research": 2, "guangzhou": 3, "beijing": 4, "sales": 5}
    with client_for(emulator) as client:
        client.department_create({"name": "研发中心", "parentid": 1, "id": 2, "order": 10})
        client.department_create({"name": "广州", "parentid": 2, "id": 3})
        client.department_create({"name": "北京", "parentid": 2, "id": 4, "order": 5})
        client.department_create({"name": "销售部", "parentid": 1, "id": 5})
        client.user_create({"userid": "boss", "name": "老板", "mobile": "13800000000", "department": [1],
                            "position": "总经理", "gender": "1", "email": "boss@example.com"})
        client.user_create({"userid": "ZhangSan", "name": "张三", "mobile": "13800000001", "department": [2, 3],
                            "main_department": 3, "is_leader_in_dept": [1, 0], "order": [10, 0],
                            "position": "=SUM(A1:A2)", "gender": "2", "alias": "@sam", "telephone": "020-8888",
                            "direct_leader": ["boss"], "address": "广州市海珠区 1 号", "external_position": "架构师"})
        client.user_create({"userid": "lisi", "name": "李四", "email": "lisi@example.com", "department": [4],
                            "position": "-工程师", "enable": 0, "direct_leader": ["ZhangSan", "boss"]})
        client.user_create({"userid": "wangwu", "name": "王五", "mobile": "+852 91234567", "department": [5, 4],
                            "position": "+销售", "biz_mail": "wangwu@corp.example.com"})
        client.user_create({"userid": "zhaoliu", "name": "赵六", "mobile": "13800000004", "department": [3],
                            "gender": "1"})
    return ids


def sheet_rows(path: Path, sheet: str | None = None) -> list[dict[str, str]]:
    rows = read_sheet(path, sheet).rows
    return [dict(zip(rows[0], row)) for row in rows[1:]]


# ---------------------------------------------------------------------------------------------
# round trips


@pytest.mark.parametrize("name", ["directory.xlsx", "directory.csv"])
def test_export_then_import_unchanged_makes_no_write_call(emulator, tmp_path: Path, name: str) -> None:
    seed(emulator)
    path = tmp_path / name
    result = run(emulator, "export", str(path))
    assert result.exit_code == 0, result.output
    assert "Exported 5 members and 4 departments" in result.stdout
    before = writes(emulator)
    summary = import_file(emulator, path)
    assert (summary["unchanged"], summary["created"], summary["updated"], summary["invalid"]) == (5, 0, 0, 0)
    assert writes(emulator) == before


def test_every_field_is_written_as_the_importer_reads_it(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.xlsx"
    assert run(emulator, "export", str(path)).exit_code == 0
    members = {row["userid"]: row for row in sheet_rows(path, "members")}
    zhang = members["ZhangSan"]
    # the main department first, the per-department lists in the same order
    assert zhang["department"] == "示例企业/研发中心/广州;示例企业/研发中心"
    assert (zhang["is_leader_in_dept"], zhang["order"]) == ("否;是", "0;10")
    assert (zhang["gender"], zhang["direct_leader"], zhang["enable"]) == ("女", "boss", "是")
    assert (zhang["alias"], zhang["position"], zhang["external_position"]) == ("@sam", "=SUM(A1:A2)", "架构师")
    assert members["lisi"]["enable"] == "否" and members["lisi"]["direct_leader"] == "ZhangSan;boss"
    assert members["lisi"]["gender"] == "" and members["lisi"]["order"] == ""  # not set / all default
    assert members["boss"]["department"] == "示例企业"  # the root by the corp's name
    assert members["wangwu"]["mobile"] == "+852 91234567"
    assert members["wangwu"]["biz_mail"] == "wangwu@corp.example.com"
    assert "main_department" not in zhang  # only with --fields: the first department is the main one
    departments = sheet_rows(path, "departments")
    assert [list(d.values()) for d in departments] == [
        ["2", "研发中心", "1", "10"], ["4", "北京", "2", "5"], ["3", "广州", "2", "0"], ["5", "销售部", "1", "0"]]
    assert list(departments[0]) == ["id", "name", "parentid", "order"]


def test_xlsx_cells_are_text_and_the_header_is_frozen_and_filtered(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.xlsx"
    assert run(emulator, "export", str(path)).exit_code == 0
    book = load_workbook(path)
    assert book.sheetnames == ["members", "departments"]
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
        assert sheet["A1"].font.bold
        cells = [c for row in sheet.iter_rows() for c in row if c.value is not None]
        assert cells and all(c.data_type == "s" and isinstance(c.value, str) for c in cells)
    risky = {c.value for c in book["members"]["E"] if c.value}  # position
    assert {"=SUM(A1:A2)", "-工程师", "+销售"} <= risky
    assert book["members"]["C"][1].parent.column_dimensions["D"].width > 10  # sized to the paths


def test_csv_is_utf8_with_bom_with_a_departments_sibling_and_formula_guard(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.csv"
    result = run(emulator, "export", str(path))
    assert result.exit_code == 0
    assert "d-departments.csv" in result.stdout
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    assert (tmp_path / "d-departments.csv").read_bytes().startswith(b"\xef\xbb\xbf")
    with open(path, encoding="utf-8-sig", newline="") as handle:
        raw = {row["userid"]: row for row in csv.DictReader(handle)}
    assert raw["ZhangSan"]["position"] == "'=SUM(A1:A2)" and raw["wangwu"]["mobile"] == "'+852 91234567"
    assert {r["userid"]: r for r in sheet_rows(path)}["ZhangSan"]["position"] == "=SUM(A1:A2)"  # read back
    departments = sheet_rows(tmp_path / "d-departments.csv")
    assert [d["name"] for d in departments] == ["研发中心", "北京", "广州", "销售部"]


def test_json_has_corp_departments_and_members(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.json"
    assert run(emulator, "export", str(path)).exit_code == 0
    document = json.loads(path.read_text(encoding="utf-8"))
    assert document["corp"] == {"id": emulator.corp_id, "name": "示例企业"}
    assert document["notes"] == [] and document["mode"] == "detail"
    assert [d["id"] for d in document["departments"]] == [2, 4, 3, 5]
    zhang = next(m for m in document["members"] if m["userid"] == "ZhangSan")
    assert zhang["department"] == ["示例企业/研发中心/广州", "示例企业/研发中心"]
    assert (zhang["is_leader_in_dept"], zhang["order"], zhang["enable"], zhang["gender"]) == ([0, 1], [0, 10], 1, "2")
    book = open_json_workbook(path)
    assert book.sheet_names == ["members", "departments"]
    assert book.read("members").rows[0][:2] == ["userid", "name"]


def test_json_round_trip_through_the_importer(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.json"
    assert run(emulator, "export", str(path)).exit_code == 0
    before = writes(emulator)
    summary = import_file(emulator, path)
    assert (summary["unchanged"], summary["invalid"]) == (5, 0)
    assert writes(emulator) == before


def test_one_edited_cell_makes_exactly_that_update(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.xlsx"
    assert run(emulator, "export", str(path)).exit_code == 0
    book = load_workbook(path)
    sheet = book["members"]
    headers = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "zhaoliu")
    row[headers.index("position")].value = "测试工程师"
    book.save(path)
    plan_path = tmp_path / "plan.json"
    result = run(emulator, "import", str(path), "--dry-run", "--plan-out", str(plan_path))
    assert result.exit_code == 0, result.output
    operations = json.loads(plan_path.read_text(encoding="utf-8"))["plan"]["operations"]
    assert [(op["kind"], op["body"]) for op in operations] == [
        ("member_update", {"userid": "zhaoliu", "position": "测试工程师"})]
    before = writes(emulator)
    summary = import_file(emulator, path)
    assert (summary["updated"], summary["unchanged"]) == (1, 4)
    assert writes(emulator) == {**before, "user/update": before.get("user/update", 0) + 1}
    zhaoliu = next(m for m in emulator.state()["members"] if m["userid"] == "zhaoliu")
    assert zhaoliu["position"] == "测试工程师"


def test_one_edited_department_cell_renames_or_moves_it(emulator, tmp_path: Path) -> None:
    seed(emulator)
    with client_for(emulator) as client:
        client.department_create({"name": "筹备组", "parentid": 5, "id": 6})
        client.department_create({"name": "一组", "parentid": 6, "id": 7})
    path = tmp_path / "d.xlsx"
    assert run(emulator, "export", str(path)).exit_code == 0
    edits = (("name", "筹备处", {"id": 6, "name": "筹备处"}), ("parentid", "2", {"id": 6, "parentid": 2}))
    for column, value, body in edits:
        book = load_workbook(path)
        sheet = book["departments"]
        headers = [c.value for c in sheet[1]]
        row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "6")
        row[headers.index(column)].value = value
        edited = tmp_path / f"edited-{column}.xlsx"
        book.save(edited)
        plan_path = tmp_path / f"plan-{column}.json"
        result = run(emulator, "import", str(edited), "--dry-run", "--plan-out", str(plan_path))
        assert result.exit_code == 0, result.output
        operations = json.loads(plan_path.read_text(encoding="utf-8"))["plan"]["operations"]
        assert [(op["kind"], op["body"]) for op in operations] == [("department_update", body)]


# ---------------------------------------------------------------------------------------------
# options


def test_department_filter_exports_one_subtree(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "research.xlsx"
    result = run(emulator, "export", str(path), "--department", "研发中心")
    assert result.exit_code == 0, result.output
    assert sorted(r["userid"] for r in sheet_rows(path, "members")) == ["ZhangSan", "lisi", "wangwu", "zhaoliu"]
    assert [r["id"] for r in sheet_rows(path, "departments")] == ["2", "4", "3"]
    wangwu = {r["userid"]: r for r in sheet_rows(path, "members")}["wangwu"]
    assert wangwu["department"] == "示例企业/销售部;示例企业/研发中心/北京"  # all of them, main first
    before = writes(emulator)
    assert import_file(emulator, path)["unchanged"] == 4
    assert writes(emulator) == before
    # the same subtree by a path with the corp's name, and by id
    for given in ("示例企业/研发中心/北京", "4"):
        assert run(emulator, "export", str(path), "--department", given, "--force").exit_code == 0
        assert sorted(r["userid"] for r in sheet_rows(path, "members")) == ["lisi", "wangwu"]
    missing = run(emulator, "export", str(path), "--department", "研发中心/上海", "--force")
    assert missing.exit_code == 2 and "研发中心/上海" in missing.stderr


@pytest.mark.parametrize("name", ["zh.xlsx", "zh.csv"])
def test_chinese_headers_are_the_labels_the_reader_takes_back(emulator, tmp_path: Path, name: str) -> None:
    seed(emulator)
    path = tmp_path / name
    assert run(emulator, "export", str(path), "--headers", "zh").exit_code == 0
    if name.endswith(".xlsx"):
        book = load_workbook(path)
        assert book.sheetnames == ["成员列表", "部门"]
        members, departments = book["成员列表"][1], book["部门"][1]
        assert [c.value for c in members][:6] == ["帐号", "姓名", "别名", "部门", "职务", "性别"]
        assert [c.value for c in departments] == ["部门ID", "部门名称", "父部门ID", "排序"]
    else:
        assert list(sheet_rows(path)[0])[:6] == ["帐号", "姓名", "别名", "部门", "职务", "性别"]
        assert list(sheet_rows(tmp_path / "zh-departments.csv")[0]) == ["部门ID", "部门名称", "父部门ID", "排序"]
    before = writes(emulator)
    assert import_file(emulator, path)["unchanged"] == 5
    assert writes(emulator) == before


def test_fields_choose_the_member_columns(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "some.csv"
    assert run(emulator, "export", str(path), "--fields", "mobile,部门,main_department").exit_code == 0
    rows = sheet_rows(path)
    assert list(rows[0]) == ["userid", "name", "mobile", "department", "main_department"]
    assert {r["userid"]: r["main_department"] for r in rows}["ZhangSan"] == "示例企业/研发中心/广州"
    before = writes(emulator)
    assert import_file(emulator, path)["unchanged"] == 5
    assert writes(emulator) == before
    bad = run(emulator, "export", str(path), "--fields", "mobile,salary", "--force")
    assert bad.exit_code == 2 and "salary" in bad.stderr


def test_default_name_and_format_from_the_extension(emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(emulator)
    monkeypatch.chdir(tmp_path)
    assert run(emulator, "export").exit_code == 0
    today = _dt.date.today().isoformat()
    assert (tmp_path / f"directory-{emulator.corp_id}-{today}.xlsx").exists()
    assert run(emulator, "export", "--format", "json").exit_code == 0
    assert json.loads((tmp_path / f"directory-{emulator.corp_id}-{today}.json").read_text())["members"]
    calls = sum(emulator.stats()["calls"].values())
    clash = run(emulator, "export", "out.csv", "--format", "xlsx")
    assert clash.exit_code == 2 and "--format" in clash.stderr
    unknown = run(emulator, "export", "out.txt")
    assert unknown.exit_code == 2
    assert sum(emulator.stats()["calls"].values()) == calls  # refused before any call
    assert not list(tmp_path.glob(".*partial"))


# ---------------------------------------------------------------------------------------------
# credentials that read less


def test_48009_exports_everything_with_the_app_secret(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(restrict_details=True)
    seed(emulator)
    path = tmp_path / "d.xlsx"
    result = run(emulator, "export", str(path), app_secret=True)
    assert result.exit_code == 0, result.output
    assert "48009" in result.stderr and "app secret" in result.stderr
    zhang = {r["userid"]: r for r in sheet_rows(path, "members")}["ZhangSan"]
    assert (zhang["mobile"], zhang["department"]) == ("13800000001", "示例企业/研发中心/广州;示例企业/研发中心")
    calls = emulator.stats()["calls"]
    assert calls.get("user/get", 0) == 0 and calls["user/list"] <= 2  # no per-member reads
    before = writes(emulator)
    assert import_file(emulator, path, app_secret=True)["unchanged"] == 5
    assert writes(emulator) == before


def test_ids_only_says_plainly_what_is_missing(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(restrict_details=True)
    seed(emulator)
    path = tmp_path / "d.xlsx"
    result = run(emulator, "export", str(path))
    assert result.exit_code == 0, result.output
    assert "Only userids, names and departments could be read" in result.stderr
    assert "mobile" in result.stderr.lower() and "--app-secret" in result.stderr and "只读到了" in result.stderr
    book = load_workbook(path)
    assert book.sheetnames == ["members", "department ids", "notes"]
    rows = {r["userid"]: r for r in sheet_rows(path, "members")}
    assert list(rows["ZhangSan"]) == ["userid", "name", "department_id"]
    assert sorted(rows["ZhangSan"]["department_id"].split(";")) == ["2", "3"]  # which is main is unknown
    assert rows["ZhangSan"]["name"] == "张三"
    assert any("Only userids" in (c.value or "") for c in book["notes"]["A"])


def test_hidden_private_fields_are_left_out_and_noted(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(restrict_details=True, hide_private_fields=True)
    seed(emulator)
    path = tmp_path / "d.xlsx"
    result = run(emulator, "export", str(path), app_secret=True)
    assert result.exit_code == 0, result.output
    assert "Private fields" in result.stderr and "2022" in result.stderr and "私密字段" in result.stderr
    book = load_workbook(path)
    assert book.sheetnames == ["members", "departments", "notes"]
    headers = [c.value for c in book["members"][1]]
    assert not {"mobile", "email", "gender", "address", "biz_mail"} & set(headers)
    assert "position" in headers
    assert any("Private fields" in (c.value or "") for c in book["notes"]["A"])
    before = writes(emulator)
    assert import_file(emulator, path, app_secret=True)["unchanged"] == 5
    assert writes(emulator) == before
    json_path = tmp_path / "d.json"
    assert run(emulator, "export", str(json_path), app_secret=True).exit_code == 0
    document = json.loads(json_path.read_text(encoding="utf-8"))
    assert any("Private fields" in note["en"] for note in document["notes"])
    assert "mobile" not in document["members"][0]
    asked = tmp_path / "asked.csv"  # asked for explicitly: the column is there, blank, and said to be hidden
    result = run(emulator, "export", str(asked), "--fields", "mobile", app_secret=True)
    assert "are blank because they are hidden" in result.stderr
    assert list(sheet_rows(asked)[0]) == ["userid", "name", "mobile"]


def test_library_call_with_a_snapshot_and_progress(emulator, tmp_path: Path) -> None:
    from bulkdir.wecom.directory import fetch_directory

    seed(emulator)
    seen: list[tuple[str, int, int]] = []
    with client_for(emulator) as client:
        directory = fetch_directory(client)
    summary = export_directory(directory, tmp_path / "d.json", corp_id="ww1", department="研发中心/广州",
                               progress=lambda *event: seen.append(event))
    assert (summary.members, summary.departments, summary.format) == (2, 1, "json")
    assert seen[-1] == ("write", 2, 2)
    assert json.loads((tmp_path / "d.json").read_text())["corp"]["id"] == "ww1"


def test_members_come_out_in_the_platform_order_whatever_the_creation_order(emulator, tmp_path: Path) -> None:
    """Within a department: larger order first, then userid; so the same directory built in two
    creation orders exports to the same bytes."""
    members = [("carol", 0), ("Bob", 0), ("alice", 5), ("dave", 0)]
    exported = []
    for attempt, creation in enumerate((members, members[::-1])):
        emulator.reset()
        with client_for(emulator) as client:
            client.department_create({"name": "研发中心", "parentid": 1, "id": 2})
            for userid, order in creation:
                client.user_create({"userid": userid, "name": userid, "email": f"{userid}@example.com",
                                    "department": [2], "order": [order]})
        path = tmp_path / f"d{attempt}.csv"
        assert run(emulator, "export", str(path)).exit_code == 0
        assert [r["userid"] for r in sheet_rows(path)] == ["alice", "Bob", "carol", "dave"]
        exported.append(path.read_bytes())
    assert exported[0] == exported[1]


def test_names_that_cannot_be_paths_are_written_by_id(emulator, tmp_path: Path) -> None:
    with client_for(emulator) as client:
        client.department_create({"name": "研发/测试", "parentid": 1, "id": 2})
        client.department_create({"name": "广州", "parentid": 2, "id": 3})
        client.user_create({"userid": "a", "name": "甲", "mobile": "13800000011", "department": [2, 3],
                            "main_department": 3})
    path = tmp_path / "d.xlsx"
    result = run(emulator, "export", str(path))
    assert result.exit_code == 0 and "written by id" in result.stderr
    assert [(r["userid"], r["department_id"]) for r in sheet_rows(path, "members")] == [("a", "3;2")]
    assert [(d["id"], d["name"], d["parentid"]) for d in sheet_rows(path, "departments")] == [
        ("2", "研发/测试", "1"), ("3", "广州", "2")]
    before = writes(emulator)
    assert import_file(emulator, path)["unchanged"] == 1
    assert writes(emulator) == before


def test_no_secret_or_token_in_output_or_files(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(secret="S3cret-sync-7f1a", app_secret="S3cret-app-9c2e", restrict_details=True)
    seed(emulator)
    outputs = []
    for name in ("d.xlsx", "d.csv", "d.json"):
        result = run(emulator, "--debug", "export", str(tmp_path / name), app_secret=True)
        assert result.exit_code == 0
        outputs.append(result.stdout + result.stderr)
    tokens = [emulator.token(), emulator.token(app=True)]  # the ones the export used (still valid)
    files = [p.read_bytes() for p in tmp_path.iterdir() if p.is_file()]
    assert len(files) == 4
    for secret in ("S3cret-sync-7f1a", "S3cret-app-9c2e", *tokens):
        assert all(secret not in text for text in outputs)
        assert all(secret.encode() not in data for data in files)


def test_json_reader_refuses_what_is_not_an_export(tmp_path: Path) -> None:
    from bulkdir.errors import SheetError

    cases = {"broken.json": "{not json", "list.json": "[1, 2]", "empty.json": '{"members": []}',
             "items.json": '{"members": [1]}'}
    for name, text in cases.items():
        (tmp_path / name).write_text(text, encoding="utf-8")
        with pytest.raises(SheetError, match=name):
            open_json_workbook(tmp_path / name)
    (tmp_path / "ok.json").write_text('{"members": [{"userid": "a", "name": "甲", '
                                      '"department": ["示例企业/x", "示例企业"], "enable": 0, '
                                      '"is_leader_in_dept": [1, 0]}]}', encoding="utf-8")
    assert open_json_workbook(tmp_path / "ok.json").read("members").rows == [
        ["userid", "name", "department", "enable", "is_leader_in_dept"], ["a", "甲", "示例企业/x;示例企业", "0", "1;0"]]


def test_every_header_written_reads_back_as_its_own_column() -> None:
    from bulkdir.exporting import _DEPARTMENT_COLUMN, _MEMBER_COLUMN, DEFAULT_FIELDS
    from bulkdir.schema import DEPARTMENT_HEADERS, MEMBER_HEADERS
    from bulkdir.sheets import normalise_header

    for key in (*DEFAULT_FIELDS, "department_id", "main_department"):
        column = _MEMBER_COLUMN[key]
        assert {MEMBER_HEADERS[normalise_header(h)].key for h in (column.key, column.label)} == {key}
    for key in ("id", "name", "path", "parentid", "order", "name_en"):
        column = _DEPARTMENT_COLUMN[key]
        assert {DEPARTMENT_HEADERS[normalise_header(h)].key for h in (column.key, column.label)} == {key}


def test_the_departments_csv_imports_on_its_own_unchanged(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.csv"
    assert run(emulator, "export", str(path), "--headers", "zh").exit_code == 0
    before = writes(emulator)
    result = run(emulator, "import", str(tmp_path / "d-departments.csv"), "--yes", "--json")
    assert result.exit_code == 0, result.output
    assert "Departments: 0 to create, 0 to update, 4 unchanged" in result.stderr
    assert writes(emulator) == before
