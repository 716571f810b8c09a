"""bulkdir.xlsxfile, our xlsx writer: what it writes reads back exactly, in openpyxl, in calamine (what
pandas and our own reader use) and as XML, whatever the texts hold."""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
import zipfile

import openpyxl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from python_calamine import CalamineWorkbook

from bulkdir.sheets import OutSheet, read_sheet, write_xlsx
from bulkdir.xlsxfile import XlsxBook, column_letters

AWKWARD = ["a & b", "<script>", "x > y", "two\nlines", "cr\rhere", "tab\there", " edge", "edge ", "\u3000全角空格",
           "{0}", "{1} {}", "'quoted'", "=SUM(A1)", "+86 139", "-1", "@me", "😀 表情", "_x0041_", '"double"']


def calamine_rows(path, sheet=0):
    book = CalamineWorkbook.from_path(str(path))
    return book.get_sheet_by_index(sheet).to_python()


def calamine_value(values, row, column):
    """calamine leaves out empty cells at the end of a row, and empty rows at the end of a sheet."""
    return values[row][column] if row < len(values) and column < len(values[row]) else ""


def test_every_awkward_text_reads_back_as_written_in_each_reader(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = [[text, "plain"] for text in AWKWARD] + [["plain", text] for text in AWKWARD]
    write_xlsx(path, OutSheet("成员", ["值", "另一列"], rows))
    assert [row[:2] for row in calamine_rows(path)[1:]] == rows
    assert read_sheet(path).rows[1:] == rows
    # openpyxl does not undo Excel's escape of an underscore in an inline string (Excel, LibreOffice and
    # calamine do); everything else it reads as written, the carriage return too
    sheet = openpyxl.load_workbook(path).active
    seen = [[cell.value.replace("_x005F_", "_") for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert seen == rows
    assert {cell.data_type for row in sheet.iter_rows() for cell in row if cell.value is not None} == {"s"}


def test_the_file_is_a_valid_zip_of_well_formed_parts_with_the_promised_layout(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, [OutSheet("成员", ["帐号", "手机"], [["zhangsan", "13912345678"], ["", "139"]],
                               highlight={1: {0}}),
                      OutSheet("部门", ["部门名称"], [["研发"]]), OutSheet("空", [], [])])
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None
        names = archive.namelist()
        assert {"[Content_Types].xml", "_rels/.rels", "xl/workbook.xml", "xl/styles.xml",
                "xl/worksheets/sheet1.xml", "xl/worksheets/sheet3.xml"} <= set(names)
        for name in names:
            ElementTree.fromstring(archive.read(name))  # raises on anything not well-formed
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["成员", "部门", "空"]
    members = book["成员"]
    assert members.freeze_panes == "A2" and members.auto_filter.ref == "A1:B1"
    assert members["A1"].font.b and members["A1"].number_format == "@"
    assert members["A2"].number_format == "@" and members["B2"].number_format == "@"
    assert members["A3"].value is None and members["A3"].fill.fgColor.rgb.endswith("FFC7CE")  # marked, empty
    assert members["B3"].value == "139" and members["B3"].fill.fill_type is None
    assert members.column_dimensions["A"].number_format == "@"
    assert book["空"].freeze_panes is None and book["空"].max_row == 1
    with zipfile.ZipFile(path) as archive:  # the autofilter's hidden name, which Excel keeps beside the filter
        assert ('<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">\'成员\'!$A$1:$B$1'
                in archive.read("xl/workbook.xml").decode())


def test_line_breaks_wrap_and_the_rest_of_the_row_keeps_its_format(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, OutSheet("s", ["a", "b"], [["two\nlines", "one"]], highlight={0: {0}}))
    sheet = openpyxl.load_workbook(path).active
    assert sheet["A2"].alignment.wrap_text and sheet["A2"].fill.fgColor.rgb.endswith("FFC7CE")
    assert not sheet["B2"].alignment.wrap_text and sheet["B2"].number_format == "@"


def test_sheet_names_are_made_valid_and_unique(tmp_path):
    path = tmp_path / "out.xlsx"
    write_xlsx(path, [OutSheet("问题: [1]", ["a"], [["1"]]), OutSheet("Problems", ["a"], [["2"]]),
                      OutSheet("problems", ["a"], [["3"]]), OutSheet("'x'" + "长" * 40, ["a"], [["4"]])])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["问题_ _1_", "Problems", "problems (2)", "x'" + "长" * 28]
    assert [book[name]["A2"].value for name in book.sheetnames] == ["1", "2", "3", "4"]


def test_rows_stream_in_chunks_and_rows_of_every_length_keep_their_columns(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = [[f"r{n}c{c}" if (n + c) % 3 else "" for c in range(n % 7)] for n in range(5000)]  # several chunks
    with XlsxBook(path) as book:
        assert book.write_sheet("s", ["h"], iter(rows), widths=[10]) == 5000
    read = calamine_rows(path)[1:]
    assert [[value for value in row if value != ""] for row in read] == [[v for v in row if v] for row in rows]
    for n, row in enumerate(rows):  # each value in its own column, not shifted over the empty ones
        for c, value in enumerate(row):
            if value:
                assert read[n][c] == value


def test_the_many_columns_get_their_letters(tmp_path):
    assert [column_letters(n) for n in (0, 25, 26, 51, 52, 701, 702)] == ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA"]
    path = tmp_path / "out.xlsx"
    headers = [f"h{n}" for n in range(60)]
    write_xlsx(path, OutSheet("s", headers, [[f"v{n}" for n in range(60)]]))
    sheet = openpyxl.load_workbook(path).active
    assert sheet["BH2"].value == "v59" and sheet.auto_filter.ref == "A1:BH1"


def test_a_failing_row_source_closes_the_file_and_raises(tmp_path):
    def rows():
        yield ["1"]
        raise KeyboardInterrupt

    path = tmp_path / "out.xlsx"
    with pytest.raises(KeyboardInterrupt), XlsxBook(path) as book:
        book.write_sheet("s", ["a"], rows())
    assert path.exists()  # left for the caller (atomic_file) to throw away; no handle still open on it


def test_a_failed_write_stops_the_sheet_at_the_next_chunk():
    # chunks are compressed and written in another thread, a few queued: a full disk must still stop the
    # building of rows as soon as the write that met it is done, with nothing more written after it
    import time
    from concurrent.futures import ThreadPoolExecutor

    from bulkdir.xlsxfile import _Sender

    class FullDisk:
        writes = 0

        def write(self, data: bytes) -> int:
            self.writes += 1
            if self.writes == 2:
                raise OSError(28, "No space left on device")
            return len(data)

    disk = FullDisk()
    with ThreadPoolExecutor(1) as compressing:
        send = _Sender(disk, compressing)  # type: ignore[arg-type]
        with pytest.raises(OSError, match="No space"):
            for _ in range(10):
                send("<row/>")
                time.sleep(0.05)  # time for the other thread to be done with each chunk
    assert disk.writes == 2


TEXTS = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")) | st.sampled_from(
    ["&", "<", ">", " ", "\n", "\r", "\t", "{", "}", "0", "张"]), max_size=12)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=st.lists(st.lists(TEXTS, max_size=6), min_size=1, max_size=30),
       marked=st.sets(st.integers(0, 29), max_size=5))
def test_any_texts_read_back_exactly(tmp_path, rows, marked):
    path = tmp_path / "any.xlsx"
    write_xlsx(path, OutSheet("s", ["h"], rows, highlight={n: {0, 2} for n in marked}))
    values = calamine_rows(path)
    sheet = openpyxl.load_workbook(path).active
    for n, row in enumerate(rows, 2):
        for c, text in enumerate(row, 1):
            assert calamine_value(values, n - 1, c - 1) == text
            cell = sheet.cell(row=n, column=c)
            assert (cell.value is None) == (text == "")  # an empty text is no cell, as in Excel
            if text:
                assert cell.data_type == "s" and cell.number_format == "@"
            if n - 2 in marked and c - 1 in (0, 2):
                assert cell.fill.fgColor.rgb.endswith("FFC7CE")


def test_what_xml_cannot_carry_is_left_out_of_cells_and_sheet_names(tmp_path):
    path = tmp_path / "out.xlsx"
    rows = [["a\x00b\x1fc"], ["lone \ud800 surrogate"], ["not\ufffea character"], ["tab\tand\nlines stay"]]
    write_xlsx(path, OutSheet("成员\x01", ["帐号"], rows))
    assert read_sheet(path).rows[1:] == [["abc"], ["lone  surrogate"], ["nota character"], ["tab\tand\nlines stay"]]
    assert openpyxl.load_workbook(path).sheetnames == ["成员"]
    # a NUL alone: the chunk's cells are joined by NUL to be looked at whole, so one inside a cell is
    # found by counting them
    write_xlsx(path, OutSheet("成员", ["帐号", "姓名"], [["a\x00b", "张三"], ["c", "\x00"]]))
    assert read_sheet(path).rows[1:] == [["ab", "张三"], ["c", ""]]


PLAIN = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="&<>_ "), max_size=8)


@settings(max_examples=200, deadline=None)
@given(row=st.lists(PLAIN, max_size=40), number=st.integers(2, 1_048_576))
def test_a_plain_row_is_written_by_its_template_as_cell_by_cell(row, number):
    # the generated row writers are the fast path of nearly every row: they must write what the slow one does
    from bulkdir.xlsxfile import _row_cell_by_cell, _row_writer

    assert _row_writer({}, len(row))(str(number), *row) == _row_cell_by_cell(number, row, ())


def test_values_that_are_not_texts_yet_are_written_as_text(tmp_path):
    path = tmp_path / "out.xlsx"
    with XlsxBook(path) as book:
        book.write_sheet("s", ["a", "b", "c"], [["x", 13912345678, None], (1.5, "y", "z")],
                         text_of=lambda value: "" if value is None else str(value))
    assert calamine_rows(path)[1:] == [["x", "13912345678", ""], ["1.5", "y", "z"]]
