"""The sample spreadsheets in samples/: they are what make_samples.py writes, the good ones are valid,
the bad one has exactly its planned mistakes, and they import into the emulator."""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bulkdir.cli import cli
from bulkdir.problems import flatten
from bulkdir.validation import validate_file
from workbook_snapshot import snapshot

SAMPLES = Path(__file__).resolve().parent.parent / "samples"
RESULT_FILE = re.compile(r"\.(result|errors)-\d{8}-\d{6}-[0-9a-f]{4}\.")  # an import's report left beside a sample
GOOD = ["staff.xlsx", "departments.xlsx", "leavers.csv", "admin_console_template.xlsx"]


def _load_maker():
    spec = importlib.util.spec_from_file_location("make_samples", SAMPLES / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_samples", module)
    spec.loader.exec_module(module)
    return module


make_samples = _load_maker()


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


def test_samples_are_what_the_script_writes(tmp_path: Path) -> None:
    written = make_samples.make_samples(tmp_path)
    kept = [p.name for p in SAMPLES.iterdir()
            if p.suffix in (".xlsx", ".csv", ".toml") and not RESULT_FILE.search(p.name)]
    assert sorted(p.name for p in written) == sorted(kept)
    for path in written:
        assert snapshot(path) == snapshot(SAMPLES / path.name), (
            f"samples/{path.name} differs from what samples/make_samples.py writes; run it again")


@pytest.mark.parametrize("name", GOOD)
def test_good_samples_validate(name: str) -> None:
    result = run("validate", str(SAMPLES / name))
    assert result.exit_code == 0, result.output
    assert "The sheet is valid." in result.output


def _error_sample_problems() -> list[tuple[int | None, str | None, str]]:
    result = run("validate", str(SAMPLES / "staff_with_errors.xlsx"), "--json")
    assert result.exit_code == 1, result.output
    document = json.loads(result.output)
    assert document["valid"] is False and document["rows"] == 15
    return [(p["row"], p["field"], p["type"]) for p in document["problems"]]


def test_error_sample_has_exactly_the_planned_problems() -> None:
    assert _error_sample_problems() == make_samples.EXPECTED_ERRORS


def test_mangled_mobile_is_a_number_in_the_file() -> None:
    # as Excel leaves it: the float 13912300000 shown as 1.39123E+10, not the text "1.39123E+10"
    cell = load_workbook(SAMPLES / "staff_with_errors.xlsx").active.cell(
        row=make_samples.ERROR_ROWS["mangled mobile"], column=make_samples.STAFF_FIELDS.index("mobile") + 1)
    assert (cell.data_type, cell.value, cell.number_format) == ("n", 13912300000, "0.00000E+00")


def test_staff_sheet_shape() -> None:
    result = validate_file(SAMPLES / "staff.xlsx")
    members = result.members
    assert len(members) == 40
    userids = {m.values["userid"] for m in members}
    assert len(userids) == 40 and all(u.isascii() and u.islower() for u in userids)
    assert len({m.values["name"] for m in members}) == 40
    assert all(m.values["mobile"][:7] in ("1390000", "1380000") for m in members)
    assert all(m.values["email"].endswith("@example.com") for m in members)
    paths = {path for m in members for path in m.departments}
    assert max(len(p) for p in paths) == 2  # 示例企业/研发中心/广州研发部: three levels with the root
    assert sum(len(m.departments) == 2 for m in members) == 3
    assert sum(1 in m.values["is_leader_in_dept"] for m in members) == 10  # one leader per department
    leaders = {leader for m in members for leader in m.values.get("direct_leader", [])}
    assert leaders and leaders <= userids


def test_departments_sample_is_the_tree_of_the_staff_sheet() -> None:
    departments = validate_file(SAMPLES / "departments.xlsx").departments
    staff_paths = {p for m in validate_file(SAMPLES / "staff.xlsx").members for p in m.departments}
    assert {d.path for d in departments} == staff_paths
    assert sorted(d.id for d in departments) == list(range(2, 12))
    assert all(d.order for d in departments)


def test_leavers_are_members_of_the_staff_sheet() -> None:
    leavers = validate_file(SAMPLES / "leavers.csv").members
    staff = {m.values["userid"]: m.values["name"] for m in validate_file(SAMPLES / "staff.xlsx").members}
    assert leavers and all(staff[m.values["userid"]] == m.values["name"] for m in leavers)


def test_admin_console_template_skips_its_example_row() -> None:
    result = validate_file(SAMPLES / "admin_console_template.xlsx")
    table = result.tables["members"]
    assert (table.sheet, table.header_row) == ("成员列表", 9)
    assert table.headers == ["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址",
                             "企业简称"]
    assert table.raw.merged[0] == (0, 0, 7, 10)  # the notes: A1:K8
    assert flatten(result.problems) == [(10, "name", "example-row")]
    assert len(result.members) == 8 and result.members[0].row == 11
    assert "zhangsan" not in {m.values["userid"] for m in result.members}


def test_samples_import_into_the_emulator(emulator, tmp_path: Path) -> None:
    connection = ["--base-url", emulator.url, "--corp-id", emulator.corp_id, "--secret", emulator.secret,
                  "--yes", "--quiet"]
    for name in ("departments.xlsx", "staff.xlsx", "admin_console_template.xlsx"):
        result = run("import", str(SAMPLES / name), *connection, "--report", str(tmp_path / name))
        assert result.exit_code == 0, result.output
    result = run("delete", str(SAMPLES / "leavers.csv"), *connection, "--report", str(tmp_path / "leavers.csv"))
    assert result.exit_code == 0, result.output
    state = emulator.state()
    members = {m["userid"]: m for m in state["members"]}
    assert len(members) == 40 + 8 - 3
    ids = {d["name"]: d["id"] for d in state["departments"]}
    assert ids["广州研发部"] == 3 and ids["财务部"] == 11  # the departments sheet's ids were kept
    two = [m for m in members.values() if len(m["department"]) == 2]
    assert len(two) == 3
