"""The import's result file and errors-only file: row by row, in the input's layout, safe in Excel."""

from __future__ import annotations

from pathlib import Path

from openpyxl import Workbook, load_workbook

from bulkdir.validation import validate_file
from import_support import MEMBER_HEADER, client_for, read_results, run_json, write_sheet


def test_result_file_has_every_row_with_result_errcode_and_message(emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001"})
    client.user_create({"userid": "keep", "name": "不变", "mobile": "13800000003"})
    client.user_create({"userid": "holder", "name": "占用", "mobile": "13800000005"})
    client.close()
    sheet = write_sheet(tmp_path / "staff.xlsx", MEMBER_HEADER + ["别名"], [
        ["new1", "新一", "13900000001", "研发中心", "=HYPERLINK(\"x\")", "-dash"],  # created; formula-looking text
        ["zhangsan", "张三", "13800000001", "", "经理", ""],                          # updated
        ["keep", "不变", "13800000003", "", "", ""],                                  # unchanged
        ["dup", "重复", "13800000005", "研发中心", "", ""],                          # failed: 60104
        ["bad id", "坏", "13900000002", "研发中心", "", ""],                         # invalid
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 1
    results = Path(summary["report"])
    assert results.parent == tmp_path and results.name.startswith("staff.result-") and results.suffix == ".xlsx"
    rows = read_results(results)
    assert list(rows[0]) == MEMBER_HEADER + ["别名", "result", "errcode", "message"]
    assert [(r["帐号"], r["result"], r["errcode"]) for r in rows] == [
        ("new1", "created", ""), ("zhangsan", "updated", ""), ("keep", "unchanged", ""),
        ("dup", "failed", "60104"), ("bad id", "invalid", "")]
    assert "holder" in rows[3]["message"]  # the hint names who holds that mobile
    assert "手机号已被" in rows[3]["message"]  # and says so in Chinese too
    assert "userid" in rows[4]["message"]
    # every cell is text: the formula-looking position stays text, phone numbers are not numbers
    book = load_workbook(results)
    sheet_cells = {c.value: c for row in book.worksheets[0].iter_rows() for c in row if c.value}
    assert sheet_cells['=HYPERLINK("x")'].data_type == "s"
    assert sheet_cells["13900000001"].data_type == "s"

    errors = Path(summary["errors_report"])
    fix = validate_file(errors)
    assert fix.tables["members"].headers == MEMBER_HEADER + ["别名"]  # the input's layout, nothing added
    assert [cells[0] for cells in fix.tables["members"].rows] == ["dup", "bad id"]


def test_csv_input_gets_csv_results_and_a_report_path_can_be_chosen(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [["a1", "甲", "+86 139 0000 0001", "", "+1"]])
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--report", str(tmp_path / "out.csv"))
    assert code == 0
    assert summary["report"] == str(tmp_path / "out.csv") and summary["errors_report"] is None
    text = (tmp_path / "out.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[1].startswith("a1,甲,'+86 139 0000 0001,,'+1,created")


def test_admin_console_template_keeps_its_notes_in_the_errors_file(emulator, tmp_path: Path) -> None:
    path = tmp_path / "template.xlsx"
    book = Workbook()
    sheet = book.active
    sheet.title = "成员列表"
    for n in range(8):
        sheet.append([f"填写须知 {n + 1}"])
    sheet.append(["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址", "企业简称"])
    sheet.append(["甲", "t1", "", "", "示例企业/研发", "男", "13900000001", "", "", "", ""])
    sheet.append(["乙", "t2", "", "", "示例企业/研发", "女", "13900000001", "", "", "", ""])  # same mobile: invalid
    book.save(path)
    code, summary = run_json(emulator, "import", str(path), "--yes")
    assert code == 1
    rows = read_results(summary["report"])
    assert [(r["帐号"], r["result"]) for r in rows] == [("t1", "created"), ("t2", "invalid")]
    fix = validate_file(summary["errors_report"])
    assert fix.tables["members"].header_row == 9
    assert [m.values["userid"] for m in fix.members] == ["t2"]


def test_the_templates_example_row_is_shown_skipped_but_is_no_failure(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["zhangsan", "张三（示例）", "13900000001", "研发中心", "工程师"],
        ["real", "真人", "13900000002", "研发中心", "工程师"],
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0 and summary["created"] == 1 and summary["skipped"] == 0
    rows = read_results(summary["report"])
    assert [(r["帐号"], r["result"]) for r in rows] == [("zhangsan", "skipped"), ("real", "created")]
    assert "example" in rows[0]["message"]
    assert summary["errors_report"] is None
