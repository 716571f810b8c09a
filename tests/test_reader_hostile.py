"""bulkdir.sheets against hostile or broken inputs: each is refused with one clear SheetError (English and
Chinese), or read within the caps; never a hang, never memory without bound.

The caps are patched down where a test would otherwise need a file of tens of megabytes; a few
tests keep the real caps to show that the real numbers hold."""

from __future__ import annotations

import io
import os
import socket
import stat
import subprocess
import sys
import textwrap
import zipfile

import openpyxl
import pytest

from bulkdir import sheets
from bulkdir.errors import SheetError
from bulkdir.sheets import MAX_CELLS, MAX_SHEET_BYTES, check_sheet_file, read_capped, read_sheet, write_csv

posix = pytest.mark.skipif(os.name != "posix", reason="pipes, devices and sockets are POSIX")


def refusal(path, *args) -> SheetError:
    """The SheetError reading `path` raises, checked to be one line in English and in Chinese that names the file."""
    with pytest.raises(SheetError) as caught:
        read_sheet(path, *args)
    error = caught.value
    assert "\n" not in str(error) and error.message.zh and "\n" not in error.message.zh
    assert os.path.basename(str(path)) in str(error) and os.path.basename(str(path)) in error.message.zh
    return error


def refusal_in_child(path: str) -> str:
    """read_sheet(path) in a child process held to 1.5 GB and 60 s, so that a reader that would hang or
    read without end fails this test instead of taking the machine with it."""
    code = textwrap.dedent(f"""
        import resource, sys
        resource.setrlimit(resource.RLIMIT_AS, (1536 << 20, 1536 << 20))
        from bulkdir.errors import SheetError
        from bulkdir.sheets import read_sheet
        try:
            read_sheet({path!r})
        except SheetError as error:
            print("refused:", error, "|", error.message.zh)
        else:
            print("read")
        """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout.strip()


# ---- not a regular file ------------------------------------------------------------------------

@posix
def test_a_pipe_with_no_writer_is_refused_not_waited_on(tmp_path):
    fifo = tmp_path / "staff.csv"
    os.mkfifo(fifo)
    out = refusal_in_child(str(fifo))
    assert out.startswith("refused:") and "is not a regular file (a pipe, device or folder)" in out
    assert "不是普通文件" in out
    error = refusal(fifo)  # and in this process too, now that it is known not to hang
    assert "save the sheet as a file" in str(error)


@posix
def test_a_link_to_a_pipe_is_refused(tmp_path):
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "staff.xlsx").symlink_to(tmp_path / "pipe")
    assert "not a regular file" in str(refusal(tmp_path / "staff.xlsx"))


@posix
@pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
def test_a_device_that_never_ends_is_refused():
    out = refusal_in_child("/dev/zero")
    assert out.startswith("refused:") and "not a regular file" in out


@posix
def test_a_socket_is_refused(tmp_path):
    path = tmp_path / "s.csv"
    server = socket.socket(socket.AF_UNIX)
    try:
        server.bind(str(path))
        assert stat.S_ISSOCK(os.stat(path).st_mode)
        assert "not a regular file" in str(refusal(path))
    finally:
        server.close()


def test_a_folder_is_refused(tmp_path):
    (tmp_path / "staff.csv").mkdir()
    error = refusal(tmp_path / "staff.csv")
    assert "is a folder" in str(error) and "文件夹" in error.message.zh


def test_check_sheet_file_and_read_capped(tmp_path):
    path = tmp_path / "staff.csv"
    path.write_bytes(b"a,b\n1,2\n")
    assert check_sheet_file(path) == 8 and read_capped(path) == b"a,b\n1,2\n"
    with pytest.raises(SheetError, match="does not exist") as caught:
        check_sheet_file(tmp_path / "gone.csv")
    assert "不存在" in caught.value.message.zh
    with pytest.raises(SheetError, match="does not exist"):
        read_capped(tmp_path / "gone.csv")
    assert {"check_sheet_file", "read_capped", "atomic_file"} <= set(sheets.__all__)


# ---- size caps ---------------------------------------------------------------------------------

def test_a_file_over_the_size_cap_is_refused_before_it_is_read(tmp_path):
    path = tmp_path / "huge.csv"
    with open(path, "wb") as handle:
        handle.truncate(MAX_SHEET_BYTES + 1)  # sparse: no 50 MB written
    for check in (check_sheet_file, read_capped, read_sheet):
        with pytest.raises(SheetError, match=r"huge.csv is too large: more than 50 MB.*split it into smaller files"):
            check(path)
    assert "请拆分" in refusal(path).message.zh


def test_a_file_at_the_cap_is_read_and_one_byte_more_is_not(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_SHEET_BYTES", 1000)
    path = tmp_path / "a.csv"
    path.write_bytes(b"a\n" + b"x" * 997 + b"\n")
    assert len(read_sheet(path).rows) == 2
    path.write_bytes(b"a\n" + b"x" * 998 + b"\n")
    assert "too large" in str(refusal(path))


def test_a_file_that_grows_after_the_check_is_read_no_further_than_the_cap(tmp_path, monkeypatch):
    # as if another program appended to it between the stat and the read: the read itself stops at the cap
    monkeypatch.setattr(sheets, "MAX_SHEET_BYTES", 1000)
    path = tmp_path / "growing.csv"
    path.write_bytes(b"x" * 5000)
    small = os.stat_result((stat.S_IFREG | 0o644, 0, 0, 1, 0, 0, 10, 0, 0, 0))

    class GrownSinceStat:  # os as the reader sees it: the file still looks 10 bytes long
        def __getattr__(self, name):
            return getattr(os, name)

        def stat(self, *args, **kwargs):
            return small

        fstat = stat

    monkeypatch.setattr(sheets, "os", GrownSinceStat())
    reads = []

    class Spy(io.FileIO):
        def read(self, size=-1):
            reads.append(size)
            return super().read(size)

    # the reader's own open() only, unbuffered so that each read it asks for is seen
    monkeypatch.setattr(sheets, "open", lambda descriptor, mode: Spy(descriptor, "r"), raising=False)
    with pytest.raises(SheetError, match="too large"):
        read_capped(path)
    assert reads == [1001]  # the cap and one byte more, never "to the end"


def test_a_csv_of_nothing_but_commas_is_refused_without_parsing(tmp_path, monkeypatch):
    path = tmp_path / "commas.csv"
    path.write_bytes(b"a,b\n" + b"," * (2 * MAX_CELLS + 1))
    monkeypatch.setattr(sheets.csv, "reader", None)  # not parsed: the count refuses it first
    error = refusal(path)
    assert f"more than {MAX_CELLS:,} cells" in str(error) and "个单元格" in error.message.zh


def test_the_csv_count_is_generous_about_quoted_commas(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_CELLS", 100)
    path = tmp_path / "addresses.csv"
    # 60 cells, but 150 commas and line ends counted before parsing: still read
    write_csv(path, ["地址", "备注"], [["北京,海淀,中关村", "a,b"]] * 29)
    assert len(read_sheet(path).rows) == 30
    write_csv(path, ["地址", "备注"], [["x", "y"]] * 60)  # 122 cells
    assert "more than the 100 bulkdir reads" in str(refusal(path))


def test_csv_rows_over_the_cap(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 10)
    path = tmp_path / "rows.csv"
    path.write_text("a\n" * 10, encoding="utf-8")
    assert len(read_sheet(path).rows) == 10
    path.write_text("a\n" * 11, encoding="utf-8")
    error = refusal(path)
    assert "it has 11 rows, more than the 10 bulkdir reads" in str(error) and "行" in error.message.zh


def test_a_csv_of_line_breaks_alone_is_refused_without_parsing(tmp_path, monkeypatch):
    path = tmp_path / "blank.csv"
    path.write_bytes(b"a\r" + b"\r" * (2 * sheets.MAX_ROWS + 1))  # CR alone ends a line for csv too
    error = refusal(path)
    assert "more than 1,000,000 rows" in str(error) and "行" in error.message.zh
    monkeypatch.setattr(sheets.csv, "reader", None)  # not parsed: the count refuses it first
    assert "more than 1,000,000 rows" in str(refusal(path))


# ---- xlsx: zip bombs and far cells -------------------------------------------------------------

def xlsx_with_sheet_data(path, sheet_data: bytes, *, declared_size: int | None = None, number_format=None):
    """An xlsx made by openpyxl whose first sheet's <sheetData> holds `sheet_data`. `declared_size` makes the
    zip lie about the sheet's unpacked size; `number_format` gives cell A1's style that format."""
    book = openpyxl.Workbook()
    book.active.title = "成员列表"
    book.active["A1"] = 1
    if number_format:
        book.active["A1"].number_format = number_format
    buffer = io.BytesIO()
    book.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                start, end = data.index(b"<sheetData>") + len(b"<sheetData>"), data.index(b"</sheetData>")
                data = data[:start] + sheet_data + data[end:]
            target.writestr(item.filename, data)
    content = bytearray(out.getvalue())
    if declared_size is not None:  # the sheet's unpacked size, in its local header and in the central directory
        name = b"xl/worksheets/sheet1.xml"
        local = content.index(name) - 30
        entry = content.index(name, content.index(b"PK\x01\x02")) - 46
        content[local + 22:local + 26] = content[entry + 24:entry + 28] = declared_size.to_bytes(4, "little")
    path.write_bytes(content)
    return path


def cells(*references: str) -> bytes:
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
    return b"".join(b'<row r="%s"><c r="%s"><v>1</v></c></row>' % (ref.lstrip(letters).encode(), ref.encode())
                    for ref in references)


@pytest.fixture
def no_calamine_sheets(monkeypatch):
    """Fail the test if calamine is asked to lay out a sheet: the checks must refuse it first."""
    def reached(*args):
        raise AssertionError("calamine was asked to read the sheet")
    monkeypatch.setattr(sheets, "_read_excel_sheet", reached)


def test_a_sheet_reaching_to_the_last_excel_cell_is_refused_before_calamine(tmp_path, no_calamine_sheets):
    path = xlsx_with_sheet_data(tmp_path / "far.xlsx", cells("A1", "XFD1048576"))
    assert path.stat().st_size < 10_000
    error = refusal(path)
    assert "sheet '成员列表' has 1,048,576 rows, more than the 1,000,000 bulkdir reads" in str(error)
    assert "split it into smaller files" in str(error) and "请拆分" in error.message.zh
    path = xlsx_with_sheet_data(tmp_path / "wide.xlsx", cells("A1", "XFD2000"))
    error = refusal(path)
    assert "reaches cell XFD2000, 32,768,000 cells, more than the 5,000,000 bulkdir reads" in str(error)
    assert "XFD2000" in error.message.zh


@pytest.mark.parametrize("cell", [
    b'<row r="1"><c r="xfd2000"><v>1</v></c></row>',  # calamine reads lower-case references too
    b"<row r=\"1\"><c r='XFD2000'><v>1</v></c></row>",  # single quotes
    b'<row r="1"><c t="n" r="XFD2000"><v>1</v></c></row>',  # the reference not first
    b'<row r="1"><c  r="XFD2000"><v>1</v></c></row>',  # two spaces
    b'<x:row r="1"><x:c r="XFD2000"><x:v>1</x:v></x:c></x:row>',  # a namespace prefix
    b'<row r="2000"><c r="A1"><v>1</v></c>' + b"<c><v>1</v></c>" * 20_000 + b"</row>",  # placed by counting
    b'<row r="2000"/>' * 1 + b"<row>" + b"<c/>" * 20_000 + b"<c><v>1</v></c></row>",  # empty cells count too
])
def test_far_cells_written_in_any_form_are_refused(tmp_path, cell, no_calamine_sheets):
    path = xlsx_with_sheet_data(tmp_path / "far.xlsx", b'<row r="1"><c r="A1"><v>1</v></c></row>' + cell)
    assert "more than the 5,000,000 bulkdir reads" in str(refusal(path))


def test_rows_over_the_cap_in_an_xlsx(tmp_path, monkeypatch):
    monkeypatch.setattr(sheets, "MAX_ROWS", 10)
    assert len(read_sheet(xlsx_with_sheet_data(tmp_path / "a.xlsx", cells("A1", "A10"))).rows) == 10
    assert "has 11 rows" in str(refusal(xlsx_with_sheet_data(tmp_path / "b.xlsx", cells("A1", "A11"))))


def test_wide_and_long_sheets_within_the_caps_are_read(tmp_path):
    # references past A1:Z99999 make the first pass unsure; the exact second pass reads them
    wide = b'<row r="1">' + b"".join(b'<c r="%s1"><v>%d</v></c>' % (sheets._column_letters(i).encode(), i)
                                     for i in range(1, 301)) + b"</row>" + cells("A16000")
    path = xlsx_with_sheet_data(tmp_path / "wide.xlsx", wide)  # 300 columns x 16,000 rows: 4.8 million cells
    rows = read_sheet(path).rows
    assert len(rows) == 16000 and rows[0][299] == "300" and rows[15999][0] == "1"
    path = xlsx_with_sheet_data(tmp_path / "long.xlsx", cells("A1", "B999999"))  # 2 x 999,999
    assert len(read_sheet(path).rows) == 999_999


def test_cells_placed_by_counting_are_read_where_calamine_puts_them(tmp_path):
    data = (b'<row><c t="inlineStr"><is><t>h1</t></is></c><c t="inlineStr"><is><t>h2</t></is></c></row>'
            b'<row r="3"><c><v>1</v></c><c/><c><v>3</v></c></row>'
            b'<x:row><x:c r="B4"><x:v>4</x:v></x:c><x:c><x:v>5</x:v></x:c></x:row>')
    rows = read_sheet(xlsx_with_sheet_data(tmp_path / "a.xlsx", data)).rows
    assert rows == [["h1", "h2", ""], ["", "", ""], ["1", "", "3"], ["", "4", "5"]]


def test_a_zip_bomb_is_refused_while_unpacking(tmp_path, no_calamine_sheets):
    # 300 MB of sheet XML in a file of a few hundred kilobytes, against the real cap
    base = xlsx_with_sheet_data(tmp_path / "base.xlsx", b"")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(base) as source, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                target.writestr(item, source.read(item.filename))
        with target.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as part:
            part.write(b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>')
            for _ in range(300):
                part.write(b" " * (1 << 20))
            part.write(b"</sheetData></worksheet>")
    assert bomb.stat().st_size < 1_000_000
    error = refusal(bomb)
    assert "unpacks to more than 256 MB" in str(error) and "解压后超过" in error.message.zh


def test_a_zip_that_lies_about_its_sizes_is_still_measured(tmp_path, monkeypatch, no_calamine_sheets):
    monkeypatch.setattr(sheets, "MAX_UNPACKED_BYTES", 2 << 20)
    filler = b"<row/>" * 500_000  # 3 MB unpacked
    path = xlsx_with_sheet_data(tmp_path / "liar.xlsx", filler, declared_size=1000)
    with zipfile.ZipFile(path) as archive:
        assert archive.getinfo("xl/worksheets/sheet1.xml").file_size == 1000
    assert "unpacks to more than 2 MB" in str(refusal(path))


@pytest.mark.parametrize("stretch", [400_000, 4_000_000])
def test_long_stretches_without_a_closing_bracket_are_scanned_in_linear_time(tmp_path, stretch):
    # A comment (valid XML, calamine skips it) full of `<row ... hidden="1"` and `<c ... s=` starts that never
    # close: the hidden-row and scientific-cell scans once rescanned to the end from each of them. And a
    # stretch of plain text without any `<` or `>`.
    junk = b'<row r="7" hidden="1" <c r="A9" s="1" '
    data = (b'<row r="1"><c r="A1" s="1"><v>13912300000</v></c></row>'
            b"<!-- " + junk * (stretch // len(junk)) + b" -->"
            b'<row r="2" hidden="1"><c r="A2" t="inlineStr"><is><t>' + b"x" * stretch + b"</t></is></c></row>"
            b'<row r="3"><c r="A3"><v>3</v></c></row>')
    path = xlsx_with_sheet_data(tmp_path / "a.xlsx", data, number_format="0.00000E+00")
    sheet = read_sheet(path)
    assert sheet.hidden_rows == {2}  # not 7: that one is in the comment
    assert sheet.rows[0] == ["1.39123E+10"] and sheet.rows[1] == ["x" * stretch] and sheet.rows[2] == ["3"]


def test_a_broken_zip_and_an_unsupported_part_are_refused_cleanly(tmp_path):
    path = xlsx_with_sheet_data(tmp_path / "a.xlsx", cells("A1"))
    data = bytearray(path.read_bytes())
    start = data.index(b"<sheetData>") if b"<sheetData>" in data else None
    assert start is None  # compressed: flip bytes in the middle of the sheet's stream instead
    middle = data.index(b"xl/worksheets/sheet1.xml") + 60
    data[middle:middle + 40] = b"\xff" * 40
    (tmp_path / "b.xlsx").write_bytes(bytes(data))
    assert "not a spreadsheet Excel can open" in str(refusal(tmp_path / "b.xlsx"))
