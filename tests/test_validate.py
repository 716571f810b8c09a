"""`validate_file` and `bulkdir validate` on whole files: the admin console template, GBK CSVs, the
batch-import CSVs, workbooks with members and departments, reports, exit codes and wording."""

from __future__ import annotations

import json

import openpyxl
import pandas
import pytest
from click.testing import CliRunner

from bulkdir.cli import cli
from bulkdir.errors import SheetError, Text
from bulkdir.problems import flatten, make_problem
from bulkdir.validation import validate_file, write_report

ADMIN_HEADERS = ["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址", "企业简称"]


def admin_template(path, rows):
    """The admin console's member template: notes merged over rows 1-8, headers on row 9."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "成员列表"
    sheet["A1"] = "填写须知：\n1. 姓名、帐号、部门为必填；手机和个人邮箱至少填写一项\n2. 部门填写完整路径"
    sheet.merge_cells("A1:K8")
    for c, header in enumerate(ADMIN_HEADERS, start=1):
        sheet.cell(row=9, column=c, value=header)
    for r, row in enumerate(rows, start=10):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    book.save(path)
    return path


GOOD = [
    ["张三（示例）", "zhangsan", "", "工程师", "示例企业/研发中心/广州", "男", "13800000000", "", "", "", ""],
    ["李四", "lisi", "", "工程师", "示例企业/研发中心/广州", "女", 13912345678, "020-12345678", "", "", ""],
    ["王五", "wangwu", "", "经理", "示例企业/研发中心；示例企业/销售部", "男", "+86 139-1234-5679", "", "w@example.com",
     "", ""],
]


def run(*args):
    return CliRunner().invoke(cli, ["validate", *map(str, args)])


def test_admin_template_is_read_as_it_is(tmp_path):
    result = validate_file(admin_template(tmp_path / "t.xlsx", GOOD))
    assert result.valid
    assert flatten(result.problems) == [(10, "name", "example-row")]
    assert result.table.header_row == 9 and result.table.headers == ADMIN_HEADERS
    assert result.rows == 3 and result.table.row_numbers == [10, 11, 12]
    assert [(m.row, m.values["userid"], m.values["mobile"]) for m in result.members] == [
        (11, "lisi", "13912345678"), (12, "wangwu", "13912345679")]
    assert result.members[1].departments == [("研发中心",), ("销售部",)]
    assert result.table.preamble[0][0].startswith("填写须知")
    assert result.table.raw.rows[10][1] == "lisi"  # raw.rows[n - 1] is spreadsheet row n


def test_every_problem_in_one_pass_by_spreadsheet_row(tmp_path):
    rows = [
        ["李四", "lisi", "", "", "研发中心", "女", "13912345678", "", "", "", ""],
        ["王五", "LiSi", "", "", "研发中心", "不详", "1.39123E+10", "", "", "", ""],
        ["", "zhao liu", "", "", "研:发", "男", "13912345678", "", "bad@", "", ""],
        [None] * 11,
        ["钱七", "qianqi", "", "", "", "", "", "", "", "", ""],
    ]
    result = validate_file(admin_template(tmp_path / "t.xlsx", rows))
    assert not result.valid
    assert flatten(result.problems) == [
        (11, "gender", "invalid-gender"), (11, "mobile", "lost-digits"), (11, "userid", "duplicate-value"),
        (12, "userid", "invalid-userid"), (12, "department", "invalid-department-name"),
        (12, "email", "invalid-email"), (12, "name", "missing-required"), (12, "mobile", "duplicate-value"),
        (14, None, "no-mobile-or-email"),
    ]
    assert result.error_rows() == {11, 12, 14}


def test_gbk_csv_from_chinese_excel(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes("姓名,帐号,手机,部门\r\n张三,zhangsan,13912345678,研发中心/广州\r\n李四,lisi,139,研发中心\r\n"
                     .encode("gbk"))
    result = validate_file(path)
    assert flatten(result.problems) == [(3, "mobile", "invalid-mobile")]
    assert result.members[0].departments == [("研发中心", "广州")]


def test_batch_import_member_csv(tmp_path):
    path = tmp_path / "batch.csv"
    path.write_text("姓名,帐号,手机号,邮箱,所在部门,职位,性别,是否部门内领导,排序,别名,地址,座机,禁用,"
                    "禁用项说明：(0-启用;1-禁用)\n"
                    "张三,zhangsan,13912345678,,2;3,工程师,男,1;0,0;0,,,,1,\n"
                    "李四,lisi,13912345679,,2,,女,1;0,,,,,0,\n", encoding="utf-8")
    result = validate_file(path)
    assert flatten(result.problems) == [(3, "is_leader_in_dept", "length-mismatch")]
    assert result.members[0].departments == [2, 3] and result.members[0].values["enable"] == 0


def test_batch_import_department_csv(tmp_path):
    path = tmp_path / "departments.csv"
    path.write_text("部门名称,部门ID,父部门ID,排序\n示例企业,1,0,\n研发中心,2,1,10\n广州,3,2,\n研发中心,4,1,\n",
                    encoding="utf-8")
    result = validate_file(path)
    assert list(result.tables) == ["departments"] and result.members == []
    assert [(d.row, d.path, d.id) for d in result.departments] == [
        (3, ("研发中心",), 2), (4, ("研发中心", "广州"), 3), (5, ("研发中心",), 4)]
    assert flatten(result.problems) == [(5, "name", "duplicate-value")]
    assert result.problems[0].message == "name (部门名称) '研发中心' is also on row 3."


def test_workbook_with_members_and_departments_sheets(tmp_path):
    book = openpyxl.Workbook()
    members = book.active
    members.title = "members"
    for row in [["userid", "name", "mobile", "department"],
                ["zhangsan", "张三", "13912345678", "研发中心/广州"],
                ["lisi", "李四", "13912345679", "销售部/广州"],
                ["wangwu", "王五", "13912345670", "市场部"]]:
        members.append(row)
    departments = book.create_sheet("departments")
    for row in [["name", "parent", "id"], ["研发中心", "", "2"], ["广州", "研发中心", "3"], ["坏|名", "", ""]]:
        departments.append(row)
    book.save(tmp_path / "both.xlsx")
    result = validate_file(tmp_path / "both.xlsx")
    assert set(result.tables) == {"members", "departments"}
    assert [(p.sheet, p.row, p.field, p.type) for p in result.problems] == [
        ("members", 3, "department", "department-conflict"),
        ("members", 4, "department", "unknown-department"),
        ("departments", 4, "name", "invalid-department-name"),
    ]
    assert [d.path for d in result.departments] == [("研发中心",), ("研发中心", "广州")]


def test_sheet_option_and_header_problems(tmp_path):
    book = openpyxl.Workbook()
    book.active.title = "说明"
    book.active.append(["这是一份说明"])
    sheet = book.create_sheet("2024入职")
    sheet.append(["帐号", "姓名", "工号", "手机"])
    sheet.append(["a1", "甲", "007", "13900000001"])
    book.save(tmp_path / "x.xlsx")
    result = validate_file(tmp_path / "x.xlsx")  # the notes sheet has no header row: the next one is read
    assert result.table.sheet == "2024入职"
    assert result.valid and flatten(result.problems) == [(1, None, "unknown-column")]
    assert validate_file(tmp_path / "x.xlsx", sheet="2024入职").table.sheet == "2024入职"
    with pytest.raises(SheetError, match="no header row found in the first 20 rows of sheet '说明'"):
        validate_file(tmp_path / "x.xlsx", sheet="说明")
    del book["2024入职"]
    book.create_sheet("空白")
    book.save(tmp_path / "y.xlsx")
    with pytest.raises(SheetError, match="of any sheet of y.xlsx.*use --sheet"):
        validate_file(tmp_path / "y.xlsx")


def test_merged_and_hidden_rows(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for row in [["帐号", "姓名", "手机", "部门"], ["a", "甲", "13900000001", "研发"], ["b", "乙", "13900000002", None],
                ["c", "丙", "13900000003", "销售"]]:
        sheet.append(row)
    sheet.merge_cells("D2:D3")
    sheet.row_dimensions[4].hidden = True
    book.save(tmp_path / "m.xlsx")
    result = validate_file(tmp_path / "m.xlsx")
    assert flatten(result.problems) == [(2, None, "merged-cells"), (4, None, "hidden-row")]
    assert result.members[1].departments == [("研发",)]  # the merged value counts for each row


def test_merged_cells_are_named_by_the_spreadsheet_letters_when_column_a_is_empty(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    for r, row in enumerate([["帐号", "姓名", "手机", "部门"], ["a", "甲", "13900000001", "研发"],
                             ["b", "乙", "13900000002", None]], start=3):
        for c, value in enumerate(row, start=3):
            sheet.cell(row=r, column=c, value=value)
    sheet.merge_cells("F4:F5")
    book.save(tmp_path / "m.xlsx")
    result = validate_file(tmp_path / "m.xlsx")
    assert flatten(result.problems) == [(4, None, "merged-cells")]
    assert "F4:F5" in result.problems[0].message
    assert result.table.headers == ["", "", "帐号", "姓名", "手机", "部门"]
    assert result.members[1].departments == [("研发",)]


def test_xlsx_ids_that_lost_digits_are_problems(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["帐号", "姓名", "手机"])
    sheet.append([1234567890123456789, "甲", 13912345678])  # Excel keeps 15 digits of a number
    sheet.append([20240001, "乙", 13912345679.5])
    book.save(tmp_path / "n.xlsx")
    result = validate_file(tmp_path / "n.xlsx")
    assert flatten(result.problems) == [(2, "userid", "lost-digits"), (3, "mobile", "lost-digits")]
    assert result.members[1].values["userid"] == "20240001"


def test_root_name_is_stripped(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("帐号,姓名,手机,部门\na,甲,13900000001,腾讯/研发\n", encoding="utf-8")
    assert validate_file(path).members[0].departments == [("腾讯", "研发")]
    assert validate_file(path, root_name="腾讯").members[0].departments == [("研发",)]


def test_known_userids(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("帐号,姓名,职务,直属上级\nzhangsan,,经理,boss\n", encoding="utf-8")
    assert flatten(validate_file(path).problems) == [
        (1, None, "no-mobile-or-email-column"), (2, "name", "missing-required"),
        (2, "direct_leader", "leader-not-in-sheet")]
    assert validate_file(path, known_userids={"zhangsan", "boss"}).problems == []
    assert flatten(validate_file(path, known_userids={"zhangsan"}).problems) == [
        (2, "direct_leader", "unknown-leader")]


def test_header_only_is_a_warning(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("帐号,姓名,手机\n", encoding="utf-8")
    result = validate_file(path)
    assert result.valid and flatten(result.problems) == [(1, None, "no-rows")] and result.rows == 0


# ---- the command -------------------------------------------------------------------------------

def test_cli_json_exactly_as_documented(tmp_path):
    path = tmp_path / "a.csv"
    path.write_text("帐号,姓名,手机\nzhangsan,张三,13912345678\nlisi,李四,13912345678\n", encoding="utf-8")
    result = run(path, "--json")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == {"valid": False, "rows": 2, "problems": [{
        "row": 3, "field": "mobile", "column": "手机", "value": "13912345678", "type": "duplicate-value",
        "message": "mobile (手机) '13912345678' is also on row 2.", "severity": "error", "sheet": "a"}]}
    zh = json.loads(run(path, "--json", "--lang", "zh").stdout)
    assert zh["problems"][0]["message"] == "“手机”的值“13912345678”与第 2 行重复。"


def test_cli_encoding_option(tmp_path):
    path = tmp_path / "big5.csv"
    path.write_bytes("姓名,userid,mobile\n張三,zhangsan,13912345678\n".encode("big5"))
    guessed = run(path, "--json")  # read as GB18030, 姓名 is garbage: the name column is missing
    assert guessed.exit_code == 1
    assert "missing-required-column" in [p["type"] for p in json.loads(guessed.stdout)["problems"]]
    assert run(path, "--encoding", "big5").exit_code == 0
    assert validate_file(path, encoding="big5").members[0].values["name"] == "張三"
    path.write_bytes("帐号,姓名,手机\nzhangsan,张三,13912345678\n".encode("utf-8-sig"))
    assert run(path, "--encoding", "utf-8").exit_code == 0  # a BOM is not part of the first header


def test_cli_exit_codes_and_table(tmp_path):
    good = tmp_path / "good.csv"
    good.write_text("帐号,姓名,手机\nzhangsan,张三,13912345678\n", encoding="utf-8")
    result = run(good)
    assert result.exit_code == 0 and "1 rows read: 0 error(s), 0 warning(s)" in result.stdout
    bad = tmp_path / "bad.csv"
    bad.write_text("帐号,姓名,手机\nzhangsan,张三,139\n", encoding="utf-8")
    result = run(bad)
    assert result.exit_code == 1
    assert result.stdout.splitlines()[1].split() [:3] == ["2", "手机", "139"]
    assert "共读取 1 行：1 个错误" in run(bad, "--lang", "zh").stdout
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(b"\x00garbage" * 10)
    result = run(junk)
    assert result.exit_code == 2 and "not a spreadsheet" in result.stderr and "Traceback" not in result.output


def test_cli_unreadable_file_reason_in_chinese(tmp_path):
    junk = tmp_path / "junk.xlsx"
    junk.write_bytes(bytes(range(256)) * 8)
    result = run(junk, "--lang", "zh")
    assert result.exit_code == 2
    assert result.stderr.strip() == "错误: junk.xlsx 不是电子表格：它不是 Excel 文件"
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    assert "empty.csv 是空文件" in run(empty, "--lang", "zh").stderr
    notes = tmp_path / "notes.csv"
    notes.write_text("说明\n" * 30, encoding="utf-8")
    assert "没有找到表头" in run(notes, "--lang", "zh").stderr
    english = run(junk)
    assert english.exit_code == 2
    assert english.stderr.strip() == "Error: junk.xlsx is not a spreadsheet: it is not an Excel file"


def test_report_keeps_formula_like_values_as_text(tmp_path):
    source = tmp_path / "a.csv"
    source.write_text("帐号,姓名,手机,职务\nzhangsan,张三,139,'=HYPERLINK(\"x\")\n", encoding="utf-8")
    report = tmp_path / "problems.xlsx"
    assert run(source, "--report", report).exit_code == 1
    cell = openpyxl.load_workbook(report).active.cell(row=2, column=5)
    assert (cell.value, cell.data_type) == ('=HYPERLINK("x")', "s")


def test_cli_report_layout(tmp_path):
    source = admin_template(tmp_path / "t.xlsx", [
        ["张三（示例）", "zhangsan", "", "", "研发中心", "男", "13800000000", "", "", "", ""],
        ["李四", "lisi", "", "", "研发中心", "女", "139", "", "", "", ""],
        ["王五", "wangwu", "", "", "研发中心", "男", "13912345670", "", "", "", ""]])
    report = tmp_path / "problems.xlsx"
    assert run(source, "--report", report).exit_code == 1
    book = openpyxl.load_workbook(report)
    assert book.sheetnames == ["成员列表", "问题列表 Problems"]
    sheet = book["成员列表"]
    values = [[c.value for c in row] for row in sheet.iter_rows(values_only=False)]
    assert values[0] == ["原行号 Row", *ADMIN_HEADERS, "问题 Problems"]
    assert [v[0] for v in values[1:]] == ["10", "11"]  # only rows with problems; row 12 is fine
    assert values[2][7] == "139" and values[2][-1].startswith("mobile (手机) '139' is not a mobile number")
    mobile_cell = sheet.cell(row=3, column=8)
    assert mobile_cell.fill.fgColor.rgb.endswith("FFC7CE")
    assert sheet.cell(row=3, column=2).fill.fill_type is None
    listing = list(book["问题列表 Problems"].iter_rows(values_only=True))
    assert listing[0] == ("Sheet", "Row", "Field", "Column", "Value", "Type", "Severity", "Message")
    assert [r[1] for r in listing[1:]] == ["10", "11"] and listing[2][5] == "invalid-mobile"
    # the report reads back as a members sheet: the extra columns are ignored, not unknown
    again = validate_file(report)
    assert flatten(again.problems) == [(2, "name", "example-row"), (3, "mobile", "invalid-mobile")]


def test_cli_report_csv_is_guarded(tmp_path):
    source = tmp_path / "a.csv"
    source.write_text("帐号,姓名,手机,职务\nzhangsan,张三,139,=1+2\n", encoding="utf-8")
    report = tmp_path / "problems.csv"
    assert run(source, "--report", report, "--lang", "zh").exit_code == 1
    frame = pandas.read_csv(report, dtype=str, encoding="utf-8-sig", keep_default_na=False)
    assert frame.columns.tolist() == ["原行号 Row", "帐号", "姓名", "手机", "职务", "问题 Problems"]
    assert frame.iloc[0].tolist()[:5] == ["2", "zhangsan", "张三", "139", "'=1+2"]
    assert "不是有效的手机号" in frame.iloc[0, 5]
    with pytest.raises(SheetError, match="as .xlsx or .csv"):
        write_report(validate_file(source), tmp_path / "r.txt")
    result = run(source, "--report", source)
    assert result.exit_code == 2 and "would overwrite a.csv" in result.stderr
    assert "zhangsan" in source.read_text(encoding="utf-8")
    for name in ("r.xlsx", "r.csv"):
        result = run(source, "--report", tmp_path / "no such folder" / name)
        assert result.exit_code == 2 and "the folder" in result.stderr and "does not exist" in result.stderr
        assert "Traceback" not in result.output + result.stderr


# ---- wording (pinned) --------------------------------------------------------------------------

def test_wording_missing_column_and_lost_digits():
    problem = make_problem("missing-required-column", row=9, field="userid")
    assert problem.message == "The sheet has no userid (帐号) column; it is required."
    assert problem.message.zh == "表格缺少必填列“帐号”。"
    problem = make_problem("lost-digits", row=12, field="mobile", column="手机", value="1.39123E+10")
    assert problem.message == ("mobile (手机) '1.39123E+10' has lost digits (Excel turned it into a number); "
                               "type it again as text.")
    assert problem.to_dict("zh") == {
        "row": 12, "field": "mobile", "column": "手机", "value": "1.39123E+10", "type": "lost-digits",
        "message": "“手机”的值“1.39123E+10”已丢失数字（被 Excel 转成了数值），请以文本格式重新填写。",
        "severity": "error", "sheet": None}

    problem = make_problem("clear-not-allowed", row=5, field="name", column="姓名", value="（清空）")
    assert problem.message == "name (姓名) cannot be cleared; leave the cell blank to keep the current value."
    problem = make_problem("unknown-leader", row=5, field="direct_leader", column="直属上级", value="boss")
    assert problem.message.zh == "“直属上级”中的“boss”既不在表格中，也不在通讯录中；请把该成员加入表格，或改正帐号。"


def test_every_problem_type_renders_in_both_languages():
    from bulkdir.problems import PROBLEM_TYPES

    params = {"limit": 64, "count": 6, "expected": 2, "other_row": 3, "reason": Text("is bad", "无效"),
              "cells": "A2:A3", "other_column": "部门名称", "other": "y", "suggestion": Text("--map 工号=userid"),
              "known": "工号", "kind": "members", "kind_zh": "成员表"}
    for slug in PROBLEM_TYPES:
        problem = make_problem(slug, row=2, field="mobile", column="手机", value="x", **params)
        assert problem.type == slug and problem.message and problem.message.zh
        assert "{" not in problem.message and "{" not in problem.message.zh


def test_hard_inputs_end_cleanly(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    (tmp_path / "header.csv").write_text("帐号,姓名,手机\n", encoding="utf-8")
    (tmp_path / "huge.csv").write_text("帐号,姓名,手机,地址\na,甲,13900000001," + "长" * 1_000_000 + "\n",
                                       encoding="utf-8")
    (tmp_path / "notes.csv").write_text("\n".join(["说明"] * 30) + "\n帐号,姓名\n", encoding="utf-8")
    book = openpyxl.Workbook()
    book.active.append(["帐号", "姓名", "手机"] + [f"列{i}" for i in range(10_000)])
    book.active.append(["a", "甲", "13900000001"] + ["x"] * 10_000)
    book.save(tmp_path / "wide.xlsx")
    book = openpyxl.Workbook()
    book.active.append(["帐号", "姓名", "手机", "地址"])
    book.active.append(["a", "甲", "13900000001", "长" * 1_000_000])  # past Excel's own limit, still read
    book.save(tmp_path / "huge.xlsx")
    expected = {"huge.xlsx": (1, "address (地址) is longer than 128 characters"), "empty.csv": (2, "is empty"),
                "header.csv": (0, "0 rows read"),
                "huge.csv": (1, "address (地址) is longer than 128 characters"),
                "notes.csv": (2, "no header row found"), "wide.xlsx": (0, "列9 … (+9990)' is not a known field")}
    for name, (code, text) in expected.items():
        result = run(tmp_path / name)
        assert result.exit_code == code, (name, result.output)
        assert text in result.output, (name, result.output)


@pytest.mark.parametrize("module", ["bulkdir.problems", "bulkdir.schema", "bulkdir.checks", "bulkdir.sheets"])
def test_docstring_examples_hold(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert failures == 0 and tried > 0
