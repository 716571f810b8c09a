"""`bulkdir export` with a column mapping and with the corp's custom fields, against the emulator over real
HTTP: the HR system's headers and words come out, the file imports back through the same mapping without a
write call, an edit in it makes exactly that update, and custom fields (text and web) round trip."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook

from bulkdir.exporting import export_directory
from bulkdir.mapping import Mapping, load_mapping
from test_export import client_for, run, sheet_rows, writes

CUSTOM_FIELDS = ["工号", "主页:web", "职级"]
BEISEN = '''
[mappings.beisen]
"员工编号" = "userid"
"员工姓名" = "name"
"移动电话" = "mobile"
"部门名称" = "department"
"在职状态" = { field = "enable", values = { "在职" = 1, "离职" = 0 } }
"性别" = { field = "gender", values = { "男性" = "男", "女性" = "女" } }
"员工工号" = "extattr:工号"
"备注" = "-"
'''
# what the members sheet of an export through BEISEN is headed with (--headers en): the mapped columns under
# the HR system's names, the others under ours, the custom fields after them, the ignored column last
BEISEN_HEADER = ["员工编号", "员工姓名", "alias", "部门名称", "position", "性别", "移动电话", "telephone", "email",
                 "address", "is_leader_in_dept", "direct_leader", "order", "在职状态", "external_position",
                 "员工工号", "主页", "职级", "备注"]


def text(name: str, value: str) -> dict[str, Any]:
    return {"type": 0, "name": name, "text": {"value": value}}


def web(name: str, title: str, url: str) -> dict[str, Any]:
    return {"type": 1, "name": name, "web": {"url": url, "title": title}}


def seed(emulator: Any, custom_fields: list[str] = CUSTOM_FIELDS) -> None:
    """研发中心 > 广州; three members: custom fields set on two, a disabled one, genders, a foreign mobile."""
    emulator.faults(custom_fields=custom_fields)
    with client_for(emulator) as client:
        client.department_create({"name": "研发中心", "parentid": 1, "id": 2, "order": 10})
        client.department_create({"name": "广州", "parentid": 2, "id": 3})
        client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [2, 3],
                            "main_department": 3, "gender": "1", "position": "=SUM(A1:A2)",
                            "extattr": {"attrs": [text("工号", "E1001"), web("主页", "个人主页", "https://e.com/zs"),
                                                  text("职级", "P6")]}})
        client.user_create({"userid": "lisi", "name": "李四", "email": "lisi@example.com", "department": [3],
                            "gender": "2", "enable": 0, "extattr": {"attrs": [text("工号", "=1+1")]}})
        client.user_create({"userid": "wangwu", "name": "王五", "mobile": "+852 91234567", "department": [1]})


def mapping_file(tmp_path: Path, text: str = BEISEN) -> str:
    path = tmp_path / "beisen.toml"
    path.write_text(text, encoding="utf-8")
    return str(path)


def members_sheet(path: Path) -> list[dict[str, str]]:
    if path.suffix == ".csv":
        return sheet_rows(path)
    return sheet_rows(path, load_workbook(path, read_only=True).sheetnames[0])


def header_of(path: Path) -> list[str]:
    return list(members_sheet(path)[0])


def plan_operations(emulator: Any, path: Path, tmp_path: Path, *args: str) -> list[tuple[str, dict]]:
    """What `bulkdir import --dry-run` plans for the file: (kind, body) of each operation."""
    plan = tmp_path / "plan.json"
    result = run(emulator, "import", str(path), "--dry-run", "--plan-out", str(plan), "--force", *args)
    assert result.exit_code == 0, result.output + result.stderr
    return [(op["kind"], op["body"]) for op in json.loads(plan.read_text(encoding="utf-8"))["plan"]["operations"]]


def import_json(emulator: Any, path: Path, *args: str) -> dict[str, Any]:
    result = run(emulator, "import", str(path), "--yes", "--json", *args)
    assert result.exit_code == 0, result.output + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def emulator_attrs(emulator: Any, userid: str) -> dict[str, str]:
    """The member's custom fields as user/get shows them (every defined one), name -> cell text."""
    member = emulator.call("user/get", userid=userid)
    assert member["errcode"] == 0, member
    out = {}
    for attr in member["extattr"]["attrs"]:
        out[attr["name"]] = (f"{attr['web']['title']}；{attr['web']['url']}" if attr["web"]["url"] else "") \
            if "web" in attr else attr["text"]["value"]
    return out


# ---------------------------------------------------------------------------------------------
# a mapping: the HR system's headers and words


@pytest.mark.parametrize("name", ["hr.xlsx", "hr.csv"])
def test_a_mapping_heads_its_columns_with_the_hr_names_and_writes_its_words(emulator, tmp_path: Path,
                                                                            name: str) -> None:
    seed(emulator)
    path = tmp_path / name
    result = run(emulator, "export", str(path), "--mapping", mapping_file(tmp_path))
    assert result.exit_code == 0, result.output + result.stderr
    rows = {row["员工编号"]: row for row in members_sheet(path)}
    assert header_of(path) == BEISEN_HEADER
    zhang, li, wang = rows["zhangsan"], rows["lisi"], rows["wangwu"]
    assert (zhang["在职状态"], zhang["性别"], li["在职状态"], li["性别"]) == ("在职", "男性", "离职", "女性")
    assert wang["性别"] == ""  # not set: blank, never a word the HR system's map does not have
    assert zhang["部门名称"] == "示例企业/研发中心/广州;示例企业/研发中心"
    assert (zhang["员工工号"], zhang["主页"], zhang["职级"]) == ("E1001", "个人主页；https://e.com/zs", "P6")
    assert {row["备注"] for row in rows.values()} == {""}
    assert zhang["position"] == "=SUM(A1:A2)" and li["员工工号"] == "=1+1"  # read back as written


def test_the_departments_sheet_gives_up_a_header_the_mapping_reads_as_another_field(emulator, tmp_path: Path) -> None:
    """The mapping reads 部门名称 as a member's departments: the departments sheet heads the names `name`."""
    seed(emulator)
    path = tmp_path / "hr.xlsx"
    assert run(emulator, "export", str(path), "--headers", "zh", "--mapping", mapping_file(tmp_path)).exit_code == 0
    assert [c.value for c in load_workbook(path)["部门"][1]] == ["部门ID", "name", "父部门ID", "排序"]
    members_header = [c.value for c in load_workbook(path)["成员列表"][1]]
    assert members_header[:5] == ["员工编号", "员工姓名", "别名", "部门名称", "职务"]
    plain = tmp_path / "plain.xlsx"
    assert run(emulator, "export", str(plain), "--headers", "zh").exit_code == 0
    assert [c.value for c in load_workbook(plain)["部门"][1]][1] == "部门名称"  # without the mapping, as before


@pytest.mark.parametrize("name", ["hr.xlsx", "hr.csv"])
@pytest.mark.parametrize("headers", ["en", "zh"])
def test_exported_through_a_mapping_it_imports_back_through_it_without_a_write(emulator, tmp_path: Path,
                                                                                name: str, headers: str) -> None:
    seed(emulator)
    path, mapping = tmp_path / name, mapping_file(tmp_path)
    assert run(emulator, "export", str(path), "--headers", headers, "--mapping", mapping).exit_code == 0
    before = writes(emulator)
    assert plan_operations(emulator, path, tmp_path, "--mapping", mapping) == []
    summary = import_json(emulator, path, "--mapping", mapping)
    assert (summary["unchanged"], summary["updated"], summary["created"], summary["invalid"]) == (3, 0, 0, 0)
    assert writes(emulator) == before


def test_an_edit_in_the_hr_words_makes_exactly_that_update(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path, mapping = tmp_path / "hr.xlsx", mapping_file(tmp_path)
    assert run(emulator, "export", str(path), "--mapping", mapping).exit_code == 0
    book = load_workbook(path)
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    row = next(r for r in sheet.iter_rows(min_row=2) if r[0].value == "zhangsan")
    row[headers.index("在职状态")].value = "离职"
    row[headers.index("员工工号")].value = "E2001"
    book.save(path)
    [(kind, body)] = plan_operations(emulator, path, tmp_path, "--mapping", mapping)
    assert kind == "member_update" and set(body) == {"userid", "enable", "extattr"}
    assert body["enable"] == 0
    assert {a["name"]: a for a in body["extattr"]["attrs"]}["工号"] == text("工号", "E2001")
    assert import_json(emulator, path, "--mapping", mapping)["updated"] == 1
    assert emulator_attrs(emulator, "zhangsan") == {"工号": "E2001", "主页": "个人主页；https://e.com/zs", "职级": "P6"}
    assert next(m for m in emulator.state()["members"] if m["userid"] == "zhangsan")["enable"] == 0


def test_map_options_work_like_a_mapping_file_and_win_over_it(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "hr.csv"
    args = ("--mapping", mapping_file(tmp_path), "--map", "岗位=position", "--map", "备注=extattr:职级")
    result = run(emulator, "export", str(path), *args)
    assert result.exit_code == 0, result.output + result.stderr
    header = header_of(path)
    assert header[4] == "岗位" and "position" not in header
    assert header[-3:] == ["员工工号", "主页", "备注"] and "职级" not in header  # 备注 now holds 职级
    assert {row["员工编号"]: row["备注"] for row in members_sheet(path)}["zhangsan"] == "P6"
    before = writes(emulator)
    assert import_json(emulator, path, *args)["unchanged"] == 3
    assert writes(emulator) == before


@pytest.mark.parametrize(("maps", "column", "values", "instead_of"), [
    (["状态=disabled"], "状态", {"zhangsan": "启用", "lisi": "禁用"}, "enable"),
    (["部门编号=department_id"], "部门编号", {"zhangsan": "3;2", "lisi": "3", "wangwu": "1"}, "department"),
])
def test_a_mapping_onto_disabled_or_department_ids_writes_that_column(emulator, tmp_path: Path, maps: list[str],
                                                                       column: str, values: dict[str, str],
                                                                       instead_of: str) -> None:
    seed(emulator)
    path = tmp_path / "hr.csv"
    args = [arg for item in maps for arg in ("--map", item)]
    assert run(emulator, "export", str(path), *args).exit_code == 0
    rows = {row["userid"]: row for row in members_sheet(path)}
    assert {userid: rows[userid][column] for userid in values} == values
    assert instead_of not in header_of(path)  # one column for the field, not two
    before = writes(emulator)
    assert import_json(emulator, path, *args)["unchanged"] == 3
    assert writes(emulator) == before


def test_columns_the_mapping_names_but_the_export_cannot_fill_are_blank_so_it_imports_back(emulator,
                                                                                          tmp_path: Path) -> None:
    """The reader refuses a mapping that names a column the file lacks: the ignored column, one mapped to a
    field an export has no value for (to_invite), one mapped to a departments-sheet field, are all there."""
    seed(emulator)
    path = tmp_path / "hr.xlsx"
    args = ["--map", "备注=-", "--map", "是否发送邀请=to_invite", "--map", "上级部门编号=parentid"]
    assert run(emulator, "export", str(path), *args).exit_code == 0
    members = members_sheet(path)
    assert header_of(path)[-2:] == ["备注", "是否发送邀请"]
    assert {(row["备注"], row["是否发送邀请"]) for row in members} == {("", "")}
    departments = sheet_rows(path, "departments")
    assert list(departments[0]) == ["id", "name", "上级部门编号", "order"]  # parentid under the mapping's name
    assert [row["上级部门编号"] for row in departments] == ["1", "2"]
    before = writes(emulator)
    assert import_json(emulator, path, *args)["unchanged"] == 3
    assert writes(emulator) == before


def test_a_mapping_onto_a_custom_field_the_corp_lacks_is_said(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "hr.csv"
    result = run(emulator, "export", str(path), "--map", "入职日期=extattr:入职日期")
    assert result.exit_code == 0, result.output
    assert "custom field '入职日期', which the corp does not have" in result.stderr
    assert header_of(path)[-1] == "入职日期" and {row["入职日期"] for row in members_sheet(path)} == {""}


def test_json_keeps_the_api_names_and_says_so(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.json"
    result = run(emulator, "export", str(path), "--mapping", mapping_file(tmp_path))
    assert result.exit_code == 0 and "not applied to JSON" in result.stderr
    document = json.loads(path.read_text(encoding="utf-8"))
    zhang = next(m for m in document["members"] if m["userid"] == "zhangsan")
    assert (zhang["enable"], zhang["gender"], zhang["工号"], zhang["主页"]) == (1, "1", "E1001", "个人主页；https://e.com/zs")
    assert document["custom_fields"] == ["工号", "主页", "职级"]
    assert any("not applied to JSON" in note["en"] for note in document["notes"])
    before = writes(emulator)
    assert import_json(emulator, path)["unchanged"] == 3
    assert writes(emulator) == before


def test_the_library_takes_the_same_mapping(emulator, tmp_path: Path) -> None:
    seed(emulator)
    mapping = load_mapping(mapping_file(tmp_path))
    with client_for(emulator) as client:
        summary = export_directory(client, tmp_path / "hr.csv", mapping=mapping)
    assert summary.headers == BEISEN_HEADER and summary.custom_fields == ["工号", "主页", "职级"]
    assert header_of(tmp_path / "hr.csv") == BEISEN_HEADER
    with client_for(emulator) as client:
        plain = export_directory(client, tmp_path / "plain.csv", mapping=Mapping())
    assert plain.headers[:2] == ["userid", "name"] and plain.headers[-3:] == ["工号", "主页", "职级"]


# ---------------------------------------------------------------------------------------------
# custom fields


@pytest.mark.parametrize("name", ["d.xlsx", "d.csv"])
def test_custom_fields_set_by_an_import_come_out_and_go_back_unchanged(emulator, tmp_path: Path, name: str) -> None:
    emulator.faults(custom_fields=CUSTOM_FIELDS)
    with client_for(emulator) as client:
        client.department_create({"name": "研发中心", "parentid": 1, "id": 2})
        client.user_create({"userid": "boss", "name": "老板", "mobile": "13800000000", "department": [1]})
    sheet = tmp_path / "hires.csv"  # one column mapped onto a custom field, one named after a field
    with open(sheet, "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle).writerows([["帐号", "姓名", "手机", "部门", "员工工号", "主页"],
                                      ["zhangsan", "张三", "13800000001", "研发中心", "E1001", "个人主页；https://e.com/zs"],
                                      ["lisi", "李四", "13800000002", "研发中心", "+E1002", ""]])
    assert import_json(emulator, sheet, "--map", "员工工号=extattr:工号")["created"] == 2
    assert emulator_attrs(emulator, "zhangsan") == {"工号": "E1001", "主页": "个人主页；https://e.com/zs", "职级": ""}
    path = tmp_path / name
    assert run(emulator, "export", str(path)).exit_code == 0
    header = header_of(path)
    assert header[-4:] == ["external_position", "工号", "主页", "职级"]  # after the standard ones, the corp's order
    rows = {row["userid"]: row for row in members_sheet(path)}
    assert (rows["zhangsan"]["工号"], rows["zhangsan"]["主页"], rows["zhangsan"]["职级"]) == (
        "E1001", "个人主页；https://e.com/zs", "")
    assert (rows["lisi"]["工号"], rows["lisi"]["主页"], rows["boss"]["工号"]) == ("+E1002", "", "")
    before = writes(emulator)
    assert plan_operations(emulator, path, tmp_path) == []
    assert import_json(emulator, path)["unchanged"] == 3
    assert writes(emulator) == before


def test_custom_field_cells_are_excel_safe(emulator, tmp_path: Path) -> None:
    seed(emulator)
    assert run(emulator, "export", str(tmp_path / "d.csv")).exit_code == 0
    with open(tmp_path / "d.csv", encoding="utf-8-sig", newline="") as handle:
        raw = {row["userid"]: row for row in csv.DictReader(handle)}
    assert raw["lisi"]["工号"] == "'=1+1"  # guarded in CSV, read back without the quote
    assert raw["zhangsan"]["主页"] == "个人主页；https://e.com/zs"
    assert run(emulator, "export", str(tmp_path / "d.xlsx")).exit_code == 0
    sheet = load_workbook(tmp_path / "d.xlsx")["members"]
    column = [c.value for c in sheet[1]].index("工号")
    cells = {row[0].value: row[column] for row in sheet.iter_rows(min_row=2)}
    assert cells["lisi"].value == "=1+1" and cells["lisi"].data_type == "s"  # text, never a formula


def test_an_edited_web_field_imports_back(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "d.csv"
    assert run(emulator, "export", str(path)).exit_code == 0
    rows = list(csv.reader(open(path, encoding="utf-8-sig", newline="")))
    column = rows[0].index("主页")
    for row in rows[1:]:
        if row[0] == "lisi":
            row[column] = "博客；https://e.com/ls"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows)
    [(kind, body)] = plan_operations(emulator, path, tmp_path)
    assert (kind, body["userid"]) == ("member_update", "lisi")
    assert {a["name"]: a for a in body["extattr"]["attrs"]}["主页"] == web("主页", "博客", "https://e.com/ls")


def test_a_custom_field_named_like_a_standard_header_is_headed_extattr(emulator, tmp_path: Path) -> None:
    """职务 is the label of position: a column 职务 would be read as the position, so the custom field is
    written `extattr:职务`; the file imports back unchanged, and edits of it with --map extattr:职务=extattr:职务."""
    seed(emulator, ["工号", "职务"])
    with client_for(emulator) as client:
        client.user_update({"userid": "wangwu", "extattr": {"attrs": [text("职务", "组长")]}})
    path = tmp_path / "d.csv"
    result = run(emulator, "export", str(path), "--headers", "zh")
    assert result.exit_code == 0
    assert "--map extattr:职务=extattr:职务" in result.stderr
    assert header_of(path)[-2:] == ["工号", "extattr:职务"] and "职务" in header_of(path)  # position keeps 职务
    rows = {row["帐号"]: row for row in members_sheet(path)}
    assert (rows["wangwu"]["extattr:职务"], rows["zhangsan"]["职务"]) == ("组长", "=SUM(A1:A2)")
    before = writes(emulator)
    assert import_json(emulator, path)["unchanged"] == 3
    assert writes(emulator) == before
    rows_raw = list(csv.reader(open(path, encoding="utf-8-sig", newline="")))
    for row in rows_raw[1:]:
        if row[0] == "wangwu":
            row[rows_raw[0].index("extattr:职务")] = "经理"
    with open(path, "w", encoding="utf-8-sig", newline="") as handle:
        csv.writer(handle).writerows(rows_raw)
    assert import_json(emulator, path, "--map", "extattr:职务=extattr:职务")["updated"] == 1
    assert emulator_attrs(emulator, "wangwu")["职务"] == "经理"


def test_fields_pick_custom_fields_by_name(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "some.csv"
    assert run(emulator, "export", str(path), "--fields", "mobile").exit_code == 0
    assert header_of(path) == ["userid", "name", "mobile"]
    assert run(emulator, "export", str(path), "--fields", "职级,mobile,extattr:工号", "--force").exit_code == 0
    assert header_of(path) == ["userid", "name", "mobile", "工号", "职级"]
    bad = run(emulator, "export", str(path), "--fields", "mobile,salary", "--force")
    assert bad.exit_code == 2 and "salary" in bad.stderr and "工号, 主页, 职级" in bad.stderr


def test_a_custom_field_named_like_a_mapped_column_gives_the_column_up(emulator, tmp_path: Path) -> None:
    """The mapping reads 工号 as the userid: the custom field 工号 is written `extattr:工号`, not a second 工号."""
    seed(emulator)
    path = tmp_path / "hr.csv"
    assert run(emulator, "export", str(path), "--map", "工号=userid").exit_code == 0
    header = header_of(path)
    assert header[0] == "工号" and header.count("工号") == 1 and header[-3:] == ["extattr:工号", "主页", "职级"]
    assert {row["工号"]: row["extattr:工号"] for row in members_sheet(path)}["zhangsan"] == "E1001"
    before = writes(emulator)
    assert import_json(emulator, path, "--map", "工号=userid")["unchanged"] == 3
    assert writes(emulator) == before


def test_a_mapping_that_cannot_work_stops_the_export_before_any_call(emulator, tmp_path: Path) -> None:
    seed(emulator)
    emulator.reset()
    for args in (["--map", "工号=salary"], ["--mapping", str(tmp_path / "missing.toml")]):
        result = run(emulator, "export", str(tmp_path / "hr.csv"), *args)
        assert result.exit_code == 2, result.output
    assert sum(emulator.stats()["calls"].values()) == 0
    assert not (tmp_path / "hr.csv").exists()


def test_fields_may_name_the_mapping_columns(emulator, tmp_path: Path) -> None:
    seed(emulator)
    path = tmp_path / "hr.csv"
    result = run(emulator, "export", str(path), "--mapping", mapping_file(tmp_path), "--fields", "部门名称,在职状态")
    assert result.exit_code == 0, result.output + result.stderr
    # the columns asked for, then those the mapping needs to read the file back (blank where nothing is known)
    assert header_of(path) == ["员工编号", "员工姓名", "部门名称", "在职状态", "性别", "移动电话", "员工工号", "备注"]
    before = writes(emulator)
    assert import_json(emulator, path, "--mapping", mapping_file(tmp_path))["unchanged"] == 3
    assert writes(emulator) == before
