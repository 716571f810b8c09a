"""bulkdir.sheets: reading every shape of file as text, and writing files that are safe in Excel."""

from __future__ import annotations

import datetime as dt

import openpyxl
import pandas
import pytest

from bulkdir.errors import SheetError
from bulkdir.sheets import (
    OutSheet,
    cell_text,
    csv_guard,
    find_header_row,
    normalise_header,
    open_workbook,
    read_sheet,
    write_csv,
    write_xlsx,
)


def make_xlsx(path, rows, title="成员列表", first_row=1):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = title
    for r, row in enumerate(rows, start=first_row):
        for c, value in enumerate(row, start=1):
            sheet.cell(row=r, column=c, value=value)
    book.save(path)
    return path


# ---- cells and headers -------------------------------------------------------------------------

@pytest.mark.parametrize("value, text", [
    (13912345678.0, "13912345678"),
    (13912345678, "13912345678"),
    (1.5, "1.5"),
    (1.39123e10, "13912300000"),
    (1e20, "1e+20"),  # beyond Excel's 15 digits: not passed off as exact digits
    (True, "TRUE"),
    (None, ""),
    (dt.datetime(2024, 5, 1), "2024-05-01"),
    (dt.datetime(2024, 5, 1, 9, 30), "2024-05-01 09:30:00"),
    (dt.date(2024, 5, 1), "2024-05-01"),
])
def test_cell_text(value, text):
    assert cell_text(value) == text


@pytest.mark.parametrize("header, key", [
    ("姓名", "姓名"), (" *姓名（必填） ", "姓名"), ("手机(选填)", "手机"), ("UserID", "userid"),
    ("Main Department", "main_department"), ("is-leader-in-dept", "is_leader_in_dept"),
    ("帐号\n[必填]", "帐号"), ("ＥＭＡＩＬ", "email"),
])
def test_normalise_header(header, key):
    assert normalise_header(header) == key


def test_find_header_row_skips_notes_and_needs_two_known_headers():
    rows = [["填写须知：姓名必填"], [], ["姓名"], ["姓名", "帐号", "手机"], ["张三", "zhangsan", "139"]]
    assert find_header_row(rows, {"姓名", "帐号", "手机"}) == 3
    assert find_header_row([["a", "b"], ["姓名"]], {"姓名"}) is None


# ---- xlsx --------------------------------------------------------------------------------------

def test_xlsx_numbers_become_exact_digits_and_dates_iso(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["手机", "入职", "分数"],
                                           [13912345678, dt.date(2024, 3, 1), 2.5]])
    assert read_sheet(path).rows == [["手机", "入职", "分数"], ["13912345678", "2024-03-01", "2.5"]]


def test_xlsx_rows_keep_spreadsheet_numbering_when_the_sheet_starts_lower(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["姓名", "帐号"], ["张三", "zhangsan"]], first_row=9)
    rows = read_sheet(path).rows
    assert rows[8] == ["姓名", "帐号"] and rows[9] == ["张三", "zhangsan"]


def test_xlsx_sheet_by_name_and_missing_sheet(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["姓名"]], title="部门")
    book = open_workbook(path)
    assert book.sheet_names == ["部门"]
    with pytest.raises(SheetError, match="no sheet named 'members'.*部门"):
        book.read("members")


def test_xlsx_formulas_read_as_cached_values(tmp_path):
    # openpyxl writes no cached value; a formula cell then reads as blank, never as its formula text
    path = make_xlsx(tmp_path / "a.xlsx", [["姓名", "职务"], ["张三", "=CONCAT(\"a\",\"b\")"]])
    assert read_sheet(path).rows[1] == ["张三", ""]


def with_cached_values(path, cached):
    """Rewrite the first sheet so that its formula cells carry cached values, as Excel saves them
    (openpyxl writes formulas without one). `cached` maps a cell reference to (type, value)."""
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as out, zipfile.ZipFile(path) as book:
        for item in book.infolist():
            data = book.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                for ref, (kind, value) in cached.items():
                    start = text.index(f'<c r="{ref}"')
                    end = text.index("</c>", start)
                    formula = text[text.index("<f>", start):text.index("</f>", start) + 4]
                    kind_attr = f' t="{kind}"' if kind else ""
                    text = text[:start] + f'<c r="{ref}"{kind_attr}>{formula}<v>{value}</v>' + text[end:]
                data = text.encode()
            out.writestr(item, data)
    path.write_bytes(buffer.getvalue())
    return path


def test_xlsx_formulas_with_cached_values_read_as_those_values(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["帐号", "手机", "排序"],
                                           ["a", '="139"&"12345678"', "=1+1"]])
    with_cached_values(path, {"B2": ("str", "13912345678"), "C2": ("", "2")})
    assert read_sheet(path).rows[1] == ["a", "13912345678", "2"]


def test_xlsx_sheet_starting_right_of_column_a_keeps_its_column_letters(tmp_path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet["C3"], sheet["D3"], sheet["C4"], sheet["D4"], sheet["C5"] = "帐号", "部门", "a", "研发", "b"
    sheet.merge_cells("D4:D5")
    sheet["E5"] = 1.39123e10
    sheet["E5"].number_format = "0.00000E+00"
    book.save(tmp_path / "a.xlsx")
    raw = read_sheet(tmp_path / "a.xlsx")
    assert raw.rows[2][:4] == ["", "", "帐号", "部门"] and raw.rows[3][:4] == ["", "", "a", "研发"]
    assert raw.merged == [(3, 3, 4, 3)]  # D4:D5, 0-based
    assert raw.rows[4][4] == "1.39123E+10"


def test_xlsx_merged_ranges_and_hidden_rows_are_reported(tmp_path):
    path = make_xlsx(tmp_path / "a.xlsx", [["姓名", "部门"], ["张三", "研发"], ["李四", None], ["王五", "销售"]])
    book = openpyxl.load_workbook(path)
    book.active.merge_cells("B2:B3")
    book.active.row_dimensions[4].hidden = True
    book.save(path)
    sheet = read_sheet(path)
    assert sheet.merged == [(1, 1, 2, 1)]
    assert sheet.hidden_rows == {4}


def test_random_bytes_named_xlsx(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(bytes(range(256)) * 4)
    with pytest.raises(SheetError, match="not a spreadsheet"):
        open_workbook(path)


def test_broken_zip_named_xlsx(tmp_path):
    path = tmp_path / "a.xlsx"
    path.write_bytes(b"PK\x03\x04" + b"\x00" * 100)
    with pytest.raises(SheetError, match="not a spreadsheet"):
        open_workbook(path)


def test_encrypted_xlsx_says_password_protected(tmp_path):
    # Excel saves a password-protected xlsx as an OLE compound file with an EncryptedPackage stream
    ole = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 504 + "EncryptedPackage".encode("utf-16-le") + b"\x00" * 600
    path = tmp_path / "secret.xlsx"
    path.write_bytes(ole)
    with pytest.raises(SheetError, match="password-protected"):
        open_workbook(path)


def test_empty_and_missing_files(tmp_path):
    (tmp_path / "e.csv").write_bytes(b"")
    with pytest.raises(SheetError, match="empty"):
        open_workbook(tmp_path / "e.csv")
    with pytest.raises(SheetError, match="does not exist"):
        open_workbook(tmp_path / "nope.xlsx")


def test_ten_thousand_columns(tmp_path):
    path = make_xlsx(tmp_path / "wide.xlsx", [[f"c{i}" for i in range(10_000)], ["x"] * 10_000])
    rows = read_sheet(path).rows
    assert len(rows[0]) == 10_000 and rows[1][9_999] == "x"


# ---- csv ---------------------------------------------------------------------------------------

CSV_TEXT = "姓名,帐号,手机\n张三,zhangsan,13912345678\n"


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030", "utf-16"])
def test_csv_encodings_detected(tmp_path, encoding):
    path = tmp_path / "a.csv"
    path.write_bytes(CSV_TEXT.encode(encoding))
    assert read_sheet(path).rows == [["姓名", "帐号", "手机"], ["张三", "zhangsan", "13912345678"]]


def test_csv_encoding_override_and_bad_names(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("姓名,電話\n".encode("big5"))  # Big5 bytes decode as GB18030 garbage unless named
    assert read_sheet(path, encoding="big5").rows == [["姓名", "電話"]]
    with pytest.raises(SheetError, match="unknown encoding"):
        read_sheet(path, encoding="klingon")
    path.write_bytes("姓名\n".encode("gbk"))
    with pytest.raises(SheetError, match="not valid utf-8"):
        read_sheet(path, encoding="utf-8")


def test_csv_encoding_named_on_a_file_with_a_bom(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(CSV_TEXT.encode("utf-8-sig"))
    assert read_sheet(path, encoding="utf-8").rows[0] == ["姓名", "帐号", "手机"]


def test_tsv_and_tab_separated_csv(tmp_path):
    (tmp_path / "a.tsv").write_text("姓名\t帐号\n张三\tzhangsan\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("姓名\t帐号\n张三\tzhangsan\n", encoding="utf-8")
    assert read_sheet(tmp_path / "a.tsv").rows[1] == ["张三", "zhangsan"]
    assert read_sheet(tmp_path / "b.csv").rows[1] == ["张三", "zhangsan"]


def test_csv_with_a_one_megabyte_cell(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("姓名,地址\n张三," + "长" * 1_000_000 + "\n", encoding="utf-8")
    assert len(read_sheet(path).rows[1][1]) == 1_000_000


def test_binary_data_named_csv(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes(b"\x00\x01\x02abc")
    with pytest.raises(SheetError, match="binary"):
        read_sheet(path)


# ---- writing -----------------------------------------------------------------------------------

RISKY = ["=1+1", "+86 13912345678", "-2", "@SUM(A1)", "13912345678", "张三"]


def test_write_xlsx_cells_are_text_never_formulas(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = (row for row in [RISKY, [1, 2.0, None, "a\nb", "x", "y"]])  # a generator: streamed
    write_xlsx(path, OutSheet("成员", ["a", "b", "c", "d", "e", "f"], rows, highlight={1: {0, 3}}))
    sheet = openpyxl.load_workbook(path).active
    data = list(sheet.iter_rows(min_row=2))
    assert [c.value for c in data[0]] == RISKY
    assert {c.data_type for c in data[0]} == {"s"}
    assert [c.value for c in data[1]][:2] == ["1", "2"] and data[1][2].value is None
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref == "A1:F1"
    assert sheet["A1"].font.b
    assert data[1][0].fill.fgColor.rgb.endswith("FFC7CE") and data[1][3].fill.fgColor.rgb.endswith("FFC7CE")
    assert data[1][1].fill.fill_type is None
    frame = pandas.read_excel(path, dtype=str, engine="openpyxl")
    assert frame.iloc[0].tolist() == RISKY


def test_write_xlsx_several_sheets_and_sizes(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, [OutSheet("成员", ["帐号"], [["zhangsan"]], widths=[30]),
                      OutSheet("部门", ["部门名称"], [["研发中心" * 10]])])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["成员", "部门"]
    # 30 characters as Excel shows them; the file stores the width with Excel's padding (30.71)
    assert 30 <= book["成员"].column_dimensions["A"].width < 31
    assert book["部门"].column_dimensions["A"].width > 40  # wide characters counted twice


def test_write_csv_guards_formulas_and_reads_back(tmp_path):
    path = tmp_path / "out.csv"
    assert write_csv(path, ["a", "b", "c", "d", "e", "f"], [RISKY]) == 1
    frame = pandas.read_csv(path, dtype=str, encoding="utf-8-sig")
    assert frame.iloc[0].tolist() == ["'=1+1", "'+86 13912345678", "'-2", "'@SUM(A1)", "13912345678", "张三"]
    assert read_sheet(path).rows[1] == RISKY  # our reader takes the guard off again
    assert csv_guard("\t=cmd") == "'\t=cmd"


def test_write_csv_without_guard(tmp_path):
    path = tmp_path / "out.csv"
    write_csv(path, ["a"], [["=1"]], guard=False, encoding="utf-8")
    assert path.read_bytes() == b"a\r\n=1\r\n"


def test_numbers_shown_in_scientific_notation_read_as_shown(tmp_path):
    # Excel keeps a mobile typed (or re-read from CSV) as 1.39123E+10 as the number 13912300000 in a
    # scientific format: the digits after 123 are gone, and reading 13912300000 would hide that.
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["手机", "排序", "备注"])
    sheet.append([13912300000, 5, "1.0E+00"])
    sheet.append([13912345678, 6, "x"])
    sheet["A2"].number_format = "0.00000E+00"
    sheet["B2"].number_format = "0.00E+00"  # a builtin scientific format
    sheet["C2"].number_format = "0.00E+00"  # text keeps its text whatever the format
    book.save(tmp_path / "a.xlsx")
    assert read_sheet(tmp_path / "a.xlsx").rows[1:] == [["1.39123E+10", "5.00E+00", "1.0E+00"],
                                                       ["13912345678", "6", "x"]]


# ---- the CSV guard is undone exactly -------------------------------------------------------------

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from bulkdir.sheets import RISKY_PREFIXES, _unguard  # noqa: E402

GUARD_CASES = ["=3", "'=3", "''=3", "'''=3", "+1", "'+1", "-", "'-", "@a", "'@a", "\t", "'\t", "\tx", "'\tx",
               "\r", "'\r", "\rx", "''\r", "'", "''", "'''", "'a", "''a", "a'=", "", "=", "'=", "张三", "'张三",
               "13912345678", "'13912345678", " =1", "'" * 10 + "=", "a\nb", "'=a\r\nb"]


@pytest.mark.parametrize("value", GUARD_CASES)
def test_guard_and_unguard_are_inverses(value):
    guarded = csv_guard(value)
    assert _unguard(guarded) == value
    assert not guarded.startswith(RISKY_PREFIXES)


def test_guard_adds_one_quote_before_quotes_that_lead_to_a_risky_character():
    assert csv_guard("'=3") == "''=3" and csv_guard("'+1") == "''+1" and csv_guard("'a") == "'a"
    assert _unguard("'a") == "'a" and _unguard("'=3") == "=3" and _unguard("''=3") == "'=3"


def test_csv_round_trip_of_every_risky_prefix_and_quotes(tmp_path):
    path = tmp_path / "out.csv"
    rows = [[value, "x" + value] for value in GUARD_CASES]
    write_csv(path, ["a", "b"], rows)
    assert read_sheet(path).rows[1:] == rows


# csv can carry any character but NUL (the reader refuses NUL as binary data); surrogates cannot be encoded
GUARD_TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=12)
QUOTED = st.builds(lambda quotes, prefix, rest: "'" * quotes + prefix + rest, st.integers(0, 4),
                   st.sampled_from(list(RISKY_PREFIXES) + ["", "'", "a"]), GUARD_TEXT)


@settings(max_examples=200, deadline=None)
@given(value=st.one_of(GUARD_TEXT, QUOTED))
def test_guard_inverse_property(value):
    guarded = csv_guard(value)
    assert _unguard(guarded) == value and not guarded.startswith(RISKY_PREFIXES)


@settings(max_examples=60, deadline=None)
@given(rows=st.lists(st.lists(st.one_of(GUARD_TEXT, QUOTED), min_size=2, max_size=2), min_size=1, max_size=5))
def test_write_csv_then_read_sheet_gives_the_values_back(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("guard") / "out.csv"
    write_csv(path, ["a", "b"], rows)
    assert read_sheet(path).rows[1:] == rows


# ---- atomic, private files -----------------------------------------------------------------------

import os  # noqa: E402
import stat  # noqa: E402

from bulkdir.sheets import atomic_file  # noqa: E402


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def folder(tmp_path):
    """A folder of its own (tmp_path also holds the test's bulkdir home)."""
    path = tmp_path / "out"
    path.mkdir()
    return path


@pytest.mark.skipif(os.name != "posix", reason="file modes are POSIX")
def test_written_files_are_private(folder):
    write_csv(folder / "a.csv", ["a"], [["1"]])
    write_xlsx(folder / "a.xlsx", OutSheet("s", ["a"], [["1"]]))
    (folder / "old.csv").write_text("old")
    os.chmod(folder / "old.csv", 0o644)
    write_csv(folder / "old.csv", ["a"], [["1"]])  # replacing a readable file makes it private too
    assert {mode(folder / n) for n in ("a.csv", "a.xlsx", "old.csv")} == {0o600}
    assert sorted(p.name for p in folder.iterdir()) == ["a.csv", "a.xlsx", "old.csv"]


def failing_rows():
    yield ["1"]
    yield ["2"]
    raise KeyboardInterrupt  # Ctrl-C in the middle of the rows


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_an_interrupted_write_leaves_nothing_behind(folder, writer):
    path = folder / f"out.{writer}"
    with pytest.raises(KeyboardInterrupt):
        if writer == "csv":
            write_csv(path, ["a"], failing_rows())
        else:
            write_xlsx(path, OutSheet("s", ["a"], failing_rows()))
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
def test_a_failed_write_keeps_the_file_that_was_there(folder, writer):
    path = folder / f"out.{writer}"
    path.write_bytes(b"the previous results")
    with pytest.raises(KeyboardInterrupt):
        if writer == "csv":
            write_csv(path, ["a"], failing_rows())
        else:
            write_xlsx(path, OutSheet("s", ["a"], failing_rows()))
    assert path.read_bytes() == b"the previous results"
    assert list(folder.iterdir()) == [path]


def test_atomic_file_writes_beside_the_target_and_replaces_it_on_success(folder):
    target = folder / "plan.json"
    target.write_text("old")
    with atomic_file(target) as temporary:
        assert temporary.parent == folder and temporary.name.startswith(".plan.json.")
        assert temporary.exists() and target.read_text() == "old"
        temporary.write_text("new")
    assert target.read_text() == "new" and list(folder.iterdir()) == [target]
    with pytest.raises(ValueError), atomic_file(target) as temporary:
        temporary.write_text("half")
        raise ValueError("disk full")
    assert target.read_text() == "new" and list(folder.iterdir()) == [target]


def test_write_xlsx_cleans_what_excel_cannot_hold_and_columns_take_text(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, OutSheet("成员", ["帐号", "备注"], [["a\x01b", "x" * 40000], ["plain", "13912345678"]]))
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A2"].value == "ab" and len(sheet["B2"].value) == 32767
    assert sheet["A3"].value == "plain" and sheet["B3"].value == "13912345678"  # the rest of the file untouched
    assert sheet.column_dimensions["B"].number_format == "@"  # a phone typed in later stays text
    assert sheet["A1"].fill.fgColor.rgb.endswith("DDEBF7")


def test_write_xlsx_refuses_more_rows_than_excel_holds_and_leaves_no_file(folder, monkeypatch):
    monkeypatch.setattr("bulkdir.xlsxfile.EXCEL_DATA_ROWS", 2)  # a million rows are too slow for a test
    path = folder / "out.xlsx"
    with pytest.raises(SheetError, match="more than 2 rows"):
        write_xlsx(path, OutSheet("成员", ["帐号"], ([f"u{n}"] for n in range(3))))
    assert list(folder.iterdir()) == []


@pytest.mark.parametrize("writer", ["csv", "xlsx"])
@pytest.mark.parametrize("stem_characters", [75, 82])  # a long Chinese name: 230 and 251 bytes, both legal
def test_a_long_chinese_file_name_is_written(folder, writer, stem_characters):
    path = folder / ("花" * stem_characters + f".{writer}")
    assert len(os.fsencode(path.name)) <= 255
    if writer == "csv":
        write_csv(path, ["姓名"], [["张三"]])
    else:
        write_xlsx(path, OutSheet("成员", ["姓名"], [["张三"]]))
    assert read_sheet(path).rows == [["姓名"], ["张三"]]
    assert list(folder.iterdir()) == [path]  # no temporary file or folder left behind
