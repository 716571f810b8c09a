"""Fuzz `bulkdir validate`: random bytes and random sheets end in a clean exit (0, 1 or 2), never a
traceback or an "internal error"."""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path

import openpyxl
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bulkdir.cli import cli

HEADERS = ["姓名", "帐号", "手机", "邮箱", "部门", "所在部门", "主部门", "性别", "启用", "禁用", "排序",
           "是否部门内领导", "直属上级", "职务", "座机", "别名", "部门名称", "上级部门", "部门ID", "父部门ID",
           "部门路径", "userid", "name", "mobile", "department", "unknown", ""]
SHEET_NAMES = ["成员列表", "members", "部门", "departments", "Sheet1", "其他"]

# openpyxl refuses control characters in cells; everything else is fair game
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=30)
VALUES = st.one_of(
    TEXT,
    st.sampled_from(["13912345678", "+86 139 1234 5678", "1.39123E+10", "（清空）", "<clear>", "张三（示例）",
                     "示例企业/研发中心/广州;销售部", "1;2", "是;否", "男", "女", "x@y.cn", "=1+1", "a" * 70]),
    st.integers(min_value=-10**16, max_value=10**16),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.dates(min_value=dt.date(1900, 3, 1)),
)
ROWS = st.lists(st.lists(VALUES, max_size=8), max_size=12)


def check(path: Path, *extra: str) -> None:
    result = CliRunner().invoke(cli, ["validate", str(path), *extra])
    output = result.output + (result.stderr if result.stderr_bytes is not None else "")
    assert result.exit_code in (0, 1, 2), (result.exit_code, output, result.exception)
    assert "Traceback" not in output and "internal error" not in output, output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


# BULKDIR_FUZZ_EXAMPLES=1000 for a long hunt; the default keeps the suite fast.
FUZZ = settings(max_examples=int(os.environ.get("BULKDIR_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FUZZ
@given(data=st.binary(max_size=2000), suffix=st.sampled_from([".xlsx", ".xlsm", ".xls", ".csv", ".tsv", ".txt"]),
       prefix=st.sampled_from([b"", b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", b"\xef\xbb\xbf",
                               "姓名,帐号,手机\n".encode("gbk")]))
def test_random_bytes(data: bytes, suffix: str, prefix: bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fuzz{suffix}"
        path.write_bytes(prefix + data)
        check(path, "--json")


@FUZZ
@given(headers=st.lists(st.one_of(st.sampled_from(HEADERS), TEXT), max_size=10), rows=ROWS,
       title=st.sampled_from(SHEET_NAMES), skip=st.integers(0, 12),
       second=st.one_of(st.none(), st.tuples(st.sampled_from(SHEET_NAMES), st.lists(st.sampled_from(HEADERS),
                                                                                    max_size=5), ROWS)),
       merge=st.booleans())
def test_random_xlsx_sheets(headers, rows, title, skip, second, merge) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for r, row in enumerate([headers, *rows], start=1 + skip):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    if merge and rows:
        sheet.merge_cells(start_row=2 + skip, start_column=1, end_row=2 + skip + len(rows), end_column=2)
        sheet.row_dimensions[2 + skip].hidden = True
    if second is not None and second[0] != title:
        other = book.create_sheet(second[0])
        for row in [second[1], *second[2]]:
            other.append(row)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.xlsx"
        book.save(path)
        check(path, "--report", str(Path(folder) / "report.xlsx"))


@FUZZ
@given(headers=st.lists(st.sampled_from(HEADERS), max_size=10), rows=ROWS,
       encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_random_csv_sheets(headers, rows, encoding) -> None:
    lines = [",".join(headers)] + [",".join("" if v is None else str(v).replace(",", "，") for v in row)
                                   for row in rows]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "fuzz.csv"
        path.write_bytes("\n".join(lines).encode(encoding, "replace"))
        check(path, "--report", str(Path(folder) / "report.csv"), "--lang", "zh")
