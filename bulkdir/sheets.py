"""Read spreadsheets into rows of text; write XLSX and CSV files that are safe to open in Excel.

Reading: `.xlsx`/`.xlsm` (and old `.xls`) through python-calamine, which is fast; `.csv`/`.tsv`
through the csv module with the encoding detected (UTF-8 with or without BOM, UTF-16 with BOM,
else GB18030, a superset of GBK). Every cell becomes text: a number Excel stored for a mobile or an
id is turned back into its exact digits, dates become ISO text, and a number shown in scientific
notation is read as Excel shows it (`1.39123E+10`), so digits already lost are seen, not hidden.
Anything that cannot be read raises
`SheetError` with a reason a person understands; nothing else escapes. Only a regular file is read
(never a pipe or a device), and only within the caps below: a file too large, or an xlsx that
unpacks or reaches too far, is refused before calamine lays it out.

Writing: every cell is a text cell, so phone numbers and ids stay text and nothing is ever a
formula. In CSV a value starting with `=`, `+`, `-`, `@`, a tab or a carriage return gets a single
quote in front (the usual CSV-injection defence), and so does one that already starts with quotes
before such a character; `read_sheet` takes exactly that quote off again, so a CSV written here
reads back as the values written. Every file is written through `atomic_file`: it appears whole
under its name or not at all, readable by its owner only.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as _dt
import html
import io
import itertools
import json
import os
import re
import stat
import struct
import tempfile
import threading
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from bulkdir.errors import SheetError
from bulkdir.fields import YES_NO_WORDS

__all__ = [
    "RawSheet", "Workbook", "open_workbook", "read_sheet", "cell_text", "normalise_header",
    "find_header_row", "OutSheet", "write_xlsx", "write_csv", "csv_guard", "RISKY_PREFIXES",
    "HEADER_SCAN_ROWS", "frame_workbook", "display_width", "pad", "open_json_workbook", "atomic_file",
    "check_sheet_file", "read_capped", "MAX_SHEET_BYTES",
    "MAX_UNPACKED_BYTES", "MAX_CELLS", "MAX_ROWS",
]

HEADER_SCAN_ROWS = 20  # the admin console template has its headers on row 9
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}

# Caps on one spreadsheet, so that a wrong or hostile file (a zip bomb, a sheet with one cell at A1
# and one at XFD1048576, 50 MB of commas, a file that never ends) is refused in a moment instead of
# read until memory runs out. A real directory is far below them: a 100,000-member CSV is about
# 15 MB; its xlsx about 9 MB, unpacking to 73 MB of sheet XML and 1.3 million cells. Reading a file
# just under them peaks under 800 MB (`python bench/validate.py --caps`: a 50 MB CSV 584 MB, a
# 355,000-member xlsx, 4.6 million cells, 732 MB, a one-cell xlsx repeated to 256 MB 486 MB).
MAX_SHEET_BYTES = 50 << 20  # the file as saved
MAX_UNPACKED_BYTES = 256 << 20  # all the parts of an xlsx, unpacked: bounds a cell repeated at one place too
MAX_CELLS = 5_000_000  # of one sheet; in an xlsx every cell of the rectangle up to its last row and column
MAX_ROWS = 1_000_000


@dataclass
class RawSheet:
    """One sheet as text. `rows[i]` is the row the spreadsheet numbers `i + 1`; rows may differ in
    length. `merged` holds merged ranges as 0-based inclusive (first_row, first_col, last_row,
    last_col) in `rows` coordinates; `hidden_rows` the spreadsheet numbers of hidden rows."""

    name: str
    rows: list[list[str]]
    merged: list[tuple[int, int, int, int]] = field(default_factory=list)
    hidden_rows: set[int] = field(default_factory=set)


# ---------------------------------------------------------------------------------------------
# cells and headers

def cell_text(value: Any) -> str:
    """A cell's value as the text a person typed.

    >>> cell_text(13912345678.0), cell_text(1.5), cell_text(_dt.date(2024, 5, 1))
    ('13912345678', '1.5', '2024-05-01')
    """
    cls = value.__class__
    if cls is str:
        return value
    if cls is float:
        # Excel keeps 15 significant digits: below 1e15 a whole float is exactly what was typed;
        # above, digits may be gone, so keep the float's own text and let the checks flag it.
        if value.is_integer() and -1e15 < value < 1e15:
            return str(int(value))
        return repr(value)
    if value is None:
        return ""
    if cls is bool:
        return "TRUE" if value else "FALSE"
    if cls is int:
        return str(value)
    if isinstance(value, _dt.datetime):
        if value.time() == _dt.time(0):
            return value.date().isoformat()
        return value.isoformat(sep=" ")
    if isinstance(value, (_dt.date, _dt.time)):
        return value.isoformat()
    return str(value)


_HEADER_MARKS = re.compile(r"[\(（\[【][^\)）\]】]*[\)）\]】]|[*＊:：]")
_HEADER_SPACES = re.compile(r"[\s_\-]+")


def normalise_header(text: str) -> str:
    """The comparable form of a header: no marks like `*` or `(必填)`, lower case, spaces as `_`.

    >>> normalise_header(" *姓名（必填） "), normalise_header("Main Department")
    ('姓名', 'main_department')
    """
    text = unicodedata.normalize("NFKC", text)
    text = _HEADER_MARKS.sub("", text)
    return _HEADER_SPACES.sub("_", text.strip()).strip("_").lower()


def find_header_row(rows: Sequence[Sequence[str]], known: Collection[str],
                    scan: int = HEADER_SCAN_ROWS) -> int | None:
    """Index in `rows` of the header row: among the first `scan` rows, the one with the most cells
    whose normalised text is in `known` (at least two; the earliest wins a tie).

    >>> find_header_row([["填写须知"], ["姓名", "帐号"], ["张三", "zhangsan"]], {"姓名", "帐号"})
    1
    """
    best, best_score = None, 1
    for index, row in enumerate(rows[:scan]):
        score = 0
        for cell in row:
            if cell and len(cell) < 100 and normalise_header(cell) in known:
                score += 1
        if score > best_score:
            best, best_score = index, score
    return best


# ---------------------------------------------------------------------------------------------
# reading

class Workbook:
    """An opened spreadsheet file: `sheet_names`, and `read(name)` for one sheet's rows.

    >>> wb = open_workbook("staff.xlsx")                    # doctest: +SKIP
    >>> wb.sheet_names, len(wb.read("成员列表").rows)      # doctest: +SKIP
    (['成员列表'], 1210)
    """

    def __init__(self, path: Path, reader: Callable[[str], RawSheet], sheet_names: list[str]):
        self.path = path
        self.sheet_names = sheet_names
        self._reader = reader

    def read(self, name: str | None = None) -> RawSheet:
        """The sheet called `name` (the first sheet when None)."""
        if name is None:
            name = self.sheet_names[0]
        if name not in self.sheet_names:
            raise SheetError(f"{self.path.name} has no sheet named {name!r}; its sheets are: "
                             + ", ".join(self.sheet_names),
                             f"{self.path.name} 中没有名为 {name!r} 的工作表；现有工作表："
                             + "、".join(self.sheet_names),
                             slug="no-such-sheet")
        return self._reader(name)


def frame_workbook(frames: Any) -> Workbook:
    """A pandas DataFrame (a members or a departments sheet, as its headers say), or a dict of them by
    sheet name, as a Workbook of text rows: the headers first, every value as its text (a number as its
    exact digits, missing values blank), so a frame built in a notebook is read as a sheet would be.

    >>> import pandas
    >>> book = frame_workbook(pandas.DataFrame({"帐号": ["zhangsan"], "手机": [13912345678]}))
    >>> book.sheet_names, book.read().rows
    (['DataFrame'], [['帐号', '手机'], ['zhangsan', '13912345678']])
    """
    import pandas

    named = frames if isinstance(frames, dict) else {"DataFrame": frames}
    sheets: dict[str, RawSheet] = {}
    for name, frame in named.items():
        if not isinstance(frame, pandas.DataFrame):
            raise SheetError(f"{name} is not a pandas DataFrame", f"{name} 不是 pandas DataFrame",
                             slug="not-a-spreadsheet")
        rows = [[cell_text(h) for h in frame.columns]]
        rows += [["" if _missing(v) else cell_text(v.item() if hasattr(v, "item") else v) for v in record]
                 for record in frame.itertuples(index=False, name=None)]
        sheets[str(name)] = RawSheet(str(name), rows)
    if not sheets:
        raise SheetError("no DataFrame was given", "没有提供 DataFrame", slug="no-rows")
    return Workbook(Path("DataFrame"), sheets.__getitem__, list(sheets))


def _missing(value: Any) -> bool:
    try:
        return value is None or value != value  # NaN, NaT and pandas.NA are not equal to themselves
    except (TypeError, ValueError):  # pandas.NA refuses a truth value
        return True


def open_workbook(path: str | Path, encoding: str | None = None) -> Workbook:
    """Open an xlsx/xlsm/xls/csv/tsv file (or a JSON export); raise SheetError when it is not a readable spreadsheet.

    >>> open_workbook("staff.csv").sheet_names             # doctest: +SKIP
    ['staff']
    """
    path = Path(path)
    data = read_capped(path)
    if not data:
        raise SheetError(f"{path.name} is empty", f"{path.name} 是空文件", slug="empty-file")
    suffix = path.suffix.lower()
    if suffix == ".json":
        return open_json_workbook(path, data)
    if data.startswith(_ZIP_MAGIC):
        return _open_excel(path, data)
    if data.startswith(_OLE_MAGIC):
        # An encrypted xlsx is an OLE compound file holding an "EncryptedPackage" stream.
        if _ENCRYPTED_MARK in data[:1 << 20]:
            raise _password_protected(path)
        return _open_excel(path, data)
    if suffix in _EXCEL_SUFFIXES:
        raise SheetError(f"{path.name} is not a spreadsheet: it is not an Excel file",
                         f"{path.name} 不是电子表格：它不是 Excel 文件", slug="not-a-spreadsheet")
    return _open_text(path, data, encoding, "\t" if suffix == ".tsv" else None)


def read_sheet(path: str | Path, sheet: str | None = None, encoding: str | None = None) -> RawSheet:
    """Read one sheet (the first when `sheet` is None) as text rows.

    >>> read_sheet("staff.csv").rows[0]                    # doctest: +SKIP
    ['姓名', '帐号', '手机']
    """
    return open_workbook(path, encoding).read(sheet)


def check_sheet_file(path: str | Path) -> int:
    """The size of the spreadsheet file at `path`, once it is known bulkdir may read it: SheetError
    when it is missing, is not a regular file (reading a pipe waits for ever, a device never ends)
    or is larger than MAX_SHEET_BYTES. Looks at the file without opening it.

    >>> check_sheet_file("staff.xlsx")                      # doctest: +SKIP
    8887706
    """
    path = Path(path)
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise SheetError(f"{path} does not exist", f"{path} 不存在", slug="no-such-file") from None
    except OSError as error:
        raise _cannot_open(path, error) from None
    return _checked_size(path, info)


def read_capped(path: str | Path) -> bytes:
    """The bytes of the spreadsheet file at `path`, after `check_sheet_file`: never more than
    MAX_SHEET_BYTES, even from a file that another program is still writing.

    >>> len(read_capped("staff.xlsx"))                      # doctest: +SKIP
    8887706
    """
    path = Path(path)
    check_sheet_file(path)
    try:
        # Non-blocking, so that a file swapped for a pipe since the check does not wait here for a
        # writer (fstat then refuses it); a regular file reads as usual.
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
        with open(descriptor, "rb") as handle:
            _checked_size(path, os.fstat(handle.fileno()))
            data = handle.read(MAX_SHEET_BYTES + 1)  # one byte more tells "too large" from "just at the cap"
    except OSError as error:
        raise _cannot_open(path, error) from None
    if len(data) > MAX_SHEET_BYTES:
        raise _file_too_large(path)
    return data


def _checked_size(path: Path, info: os.stat_result) -> int:
    if stat.S_ISDIR(info.st_mode):
        raise SheetError(f"{path} is a folder, not a spreadsheet", f"{path} 是文件夹，不是电子表格", slug="not-a-file")
    if not stat.S_ISREG(info.st_mode):
        raise SheetError(f"{path} is not a regular file (a pipe, device or folder); save the sheet as a file "
                         "and try again", f"{path} 不是普通文件（而是管道、设备或文件夹）；请把表格另存为文件后再试",
                         slug="not-a-file")
    if info.st_size > MAX_SHEET_BYTES:
        raise _file_too_large(path)
    return info.st_size


def _cannot_open(path: Path, error: OSError) -> SheetError:
    reason = error.strerror or str(error)
    return SheetError(f"cannot open {path}: {reason}", f"无法打开 {path}：{reason}", slug="cannot-open")


def _too_large(path: Path, what: str, what_zh: str) -> SheetError:
    return SheetError(f"{path.name} is too large: {what}; split it into smaller files and try again",
                      f"{path.name} 太大：{what_zh}；请拆分成几个较小的文件后再试", slug="too-large")


def _file_too_large(path: Path) -> SheetError:
    megabytes = MAX_SHEET_BYTES >> 20
    return _too_large(path, f"more than {megabytes} MB, the most bulkdir reads",
                      f"超过 bulkdir 可读取的 {megabytes} MB")


def _too_many(path: Path, count: int, cap: int, unit: str, unit_zh: str, where: str, where_zh: str) -> SheetError:
    return _too_large(path, f"{where}{count:,} {unit}, more than the {cap:,} bulkdir reads",
                      f"{where_zh}{count:,} {unit_zh}，超过 bulkdir 可读取的 {cap:,} {unit_zh}")


def _password_protected(path: Path) -> SheetError:
    return SheetError(f"{path.name} is password-protected; save a copy without a password and try again",
                      f"{path.name} 设有密码；请另存一份不带密码的副本后再试", slug="encrypted")


def _not_excel(path: Path, detail: str) -> SheetError:
    return SheetError(f"{path.name} is not a spreadsheet Excel can open ({detail})",
                      f"{path.name} 不是 Excel 能打开的电子表格（{detail}）", slug="not-a-spreadsheet")


def _calamine_call(path: Path, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except (KeyboardInterrupt, SystemExit, SheetError):
        raise
    except BaseException as error:  # calamine raises its own errors, and a Rust panic is a BaseException
        if type(error).__name__ == "PasswordError":
            raise _password_protected(path) from None
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise _not_excel(path, detail) from None


_Extras = tuple[set[int], dict[tuple[int, int], int]]  # hidden rows, scientific cells: see _sheet_extras


def _open_excel(path: Path, data: bytes) -> Workbook:
    from python_calamine import CalamineWorkbook

    sheets = _check_zip(path, data) if data.startswith(_ZIP_MAGIC) else {}
    # calamine reads the very bytes just checked: a file changed since cannot slip past the checks
    book = _calamine_call(path, lambda: CalamineWorkbook.from_filelike(io.BytesIO(data)))
    names = _calamine_call(path, lambda: list(book.sheet_names))
    if not names:
        raise SheetError(f"{path.name} has no sheets", f"{path.name} 中没有工作表", slug="no-sheets")

    def read(name: str) -> RawSheet:
        # the side scan reads the sheet's XML from `data`, which is kept for it
        scan = (lambda: _sheet_extras(data, *sheets[name])) if name in sheets else None
        return _calamine_call(path, lambda: _read_excel_sheet(path, book, name, scan))

    return Workbook(path, read, names)


def _read_excel_sheet(path: Path, book: Any, name: str, side_scan: Callable[[], _Extras] | None) -> RawSheet:
    # The XML side-scan (hidden rows, scientific cells) runs beside calamine's parse, which
    # releases the GIL; on 100,000 rows that hides its cost.
    extras: list[_Extras] = []
    scan = None
    if side_scan is not None:
        scan = threading.Thread(target=lambda: extras.append(side_scan()), daemon=True)
        scan.start()
    try:
        sheet = book.get_sheet_by_name(name)
    finally:
        if scan is not None:
            scan.join()
    # The rows below hold every cell from A1 to calamine's last row and column. The xlsx checks
    # kept calamine itself within the caps; this keeps the rows within them for the formats those
    # do not read (xls, xlsb, ods).
    if sheet.end:
        _check_extent(path, name, sheet.end[0] + 1, sheet.end[1] + 1)
    start = sheet.start
    str_ = str
    rows = [[c if c.__class__ is str_ else cell_text(c) for c in row] for row in sheet.iter_rows()]
    # iter_rows starts at row 1 but at the first used column: pad on the left so that column
    # indexes (and the letters in messages and reports) are the spreadsheet's own.
    if start and start[1]:
        pad = [""] * start[1]
        rows = [pad + row for row in rows]
    merged = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ()
              if (r0, c0) != (r1, c1)]
    hidden, scientific = extras[0] if extras else (set(), {})
    for (number, column), decimals in scientific.items():
        row = number - 1
        if 0 <= row < len(rows) and 0 <= column < len(rows[row]):
            try:
                rows[row][column] = f"{float(rows[row][column]):.{decimals}E}"  # what Excel shows
            except ValueError:
                pass
    return RawSheet(name, rows, merged, hidden)


def _check_extent(path: Path, sheet: str | None, rows: int, columns: int, cells: int = 0) -> None:
    """SheetError when a sheet (None: the CSV) has more than MAX_ROWS rows, or more than MAX_CELLS
    cells: its count of `cells`, or the rectangle up to its last row and column, which calamine
    and the rows hold in full, empty cells too."""
    where, where_zh = (f"sheet {sheet!r} has ", f"工作表“{sheet}”有 ") if sheet else ("it has ", "其中有 ")
    if rows > MAX_ROWS:
        raise _too_many(path, rows, MAX_ROWS, "rows", "行", where, where_zh)
    if rows * columns > MAX_CELLS:
        corner = f"{_column_letters(columns)}{rows}"  # often one stray cell far below or right of the table
        raise _too_many(path, rows * columns, MAX_CELLS, "cells", "个单元格",
                        f"sheet {sheet!r} reaches cell {corner}, ", f"工作表“{sheet}”延伸到单元格 {corner}，共 ")
    if cells > MAX_CELLS:
        raise _too_many(path, cells, MAX_CELLS, "cells", "个单元格", where, where_zh)


# ---------------------------------------------------------------------------------------------
# an xlsx, checked before calamine parses it
#
# calamine unpacks the parts it reads without a limit, and lays a sheet out as a dense rectangle
# from its first to its last cell: a sheet XML of a few bytes with one cell at A1 and one at
# XFD1048576 makes it allocate 17 billion cells. So every part is first unpacked here, counting,
# and each sheet's XML scanned for the farthest cell it places.

_PIECE = 1 << 20  # unpacked a megabyte at a time: a bomb never sits in memory whole


def _check_zip(path: Path, data: bytes) -> dict[str, tuple[zipfile.ZipInfo, dict[int, int]]]:
    """Unpack every part of the zip, refusing it past MAX_UNPACKED_BYTES in all (the sizes a zip
    declares can lie), and measure each sheet of an xlsx, refusing one that reaches past the caps.
    Returns, by sheet name, its part and the workbook's scientific styles, for `_sheet_extras`."""
    megabytes = MAX_UNPACKED_BYTES >> 20
    too_large = _too_large(path, f"it unpacks to more than {megabytes} MB, the most bulkdir reads",
                           f"解压后超过 bulkdir 可读取的 {megabytes} MB")
    left = MAX_UNPACKED_BYTES

    def unpacked(info: zipfile.ZipInfo) -> Iterator[bytes]:
        nonlocal left
        for piece in _unpacked(data, info):
            left -= len(piece)
            if left < 0:
                raise too_large
            yield piece

    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        if sum(info.file_size for info in archive.infolist()) > MAX_UNPACKED_BYTES:
            raise too_large  # as the zip declares, before unpacking anything
        if len(archive.infolist()) > _MAX_PARTS:
            raise ValueError(f"more than {_MAX_PARTS:,} parts")
        parts, styles = _xlsx_parts(archive)
        sheets = {}
        for info in archive.infolist():
            if info.filename in parts:
                name = parts[info.filename]
                _check_extent(path, name, *_sheet_extent(unpacked(info), lambda: _unpacked(data, info)))
                sheets[name] = (info, styles)
            else:  # counted all the same: calamine reads parts besides the sheets
                for _ in unpacked(info):
                    pass
        return sheets
    except SheetError:
        raise
    except Exception as error:  # whatever a broken or hostile zip makes zipfile, zlib or the scans raise
        raise _not_excel(path, str(error).splitlines()[0][:200] if str(error) else type(error).__name__) from None


_MAX_PARTS = 10_000  # a workbook has tens; a zip of a million empty parts would take minutes to list


def _xlsx_parts(archive: zipfile.ZipFile) -> tuple[dict[str, str], dict[int, int]]:
    """{part name: sheet name} for the sheets of an xlsx, found as calamine finds them (xlsx/mod.rs:
    the workbook named in _rels/.rels, part names in any case), so that no sheet calamine reads
    goes unchecked; and the scientific styles. Empty for a zip that is no xlsx (xlsb, ods)."""
    names = {info.filename.replace("\\", "/").lower(): info.filename for info in archive.infolist()}

    def part(name: str) -> bytes | None:
        found = names.get(name.lower())
        if found is None:
            return None
        if archive.getinfo(found).file_size > _SMALL_PART:  # zipfile reads no more than the zip declares
            raise ValueError(f"{found} is over {_SMALL_PART >> 20} MB")
        return archive.read(found)

    package = part("_rels/.rels")
    document = next((rel.get("Target", "") for rel in _tags(package, "Relationship")
                     if rel.get("Type", "").endswith("/officeDocument")), None) if package else None
    if document is None:
        return {}, {}
    folder = document[:document.rfind("/") + 1].removeprefix("/")
    workbook, rels = part(folder + "workbook.xml"), part(folder + "_rels/workbook.xml.rels")
    if workbook is None or rels is None:
        return {}, {}
    targets = {rel.get("Id"): rel.get("Target", "") for rel in _tags(rels, "Relationship")}
    sheets = {}
    for sheet in _tags(workbook, "sheet"):
        rid = next((value for key, value in sheet.items() if key == "id" or key.endswith(":id")), None)
        target = targets.get(rid)
        if target is not None and "name" in sheet:
            target = target[1:] if target.startswith("/") else folder + target
            sheets[names.get(target.replace("\\", "/").lower(), target)] = sheet["name"]
    styles = part(folder + "styles.xml")
    return sheets, _scientific_styles(styles) if styles else {}


def _tags(xml: bytes, name: str) -> Iterator[dict[str, str]]:
    """The attributes of each `name` tag (any namespace prefix) in a small XML part."""
    text = xml.decode("utf-8", "replace")
    for tag in re.finditer(rf"<(?:\w{{1,32}}:)?{name}\b([^<>]{{0,8192}})>", text):
        yield {key: html.unescape(value) for key, value in re.findall(r'([\w:.-]+)\s*=\s*"([^"]*)"', tag.group(1))}


_SMALL_PART = 32 << 20  # workbook.xml, its relationships, styles.xml: kilobytes in any real workbook


def _unpacked(data: bytes, info: zipfile.ZipInfo) -> Iterator[bytes]:
    """A zip part's bytes, a megabyte at most at a time, inflated from the raw stream: zipfile would
    stop at the size the zip declares, which may be a lie; calamine does not stop there."""
    start = info.header_offset
    if data[start:start + 4] != b"PK\x03\x04":
        raise zipfile.BadZipFile(f"no part {info.filename!r} where the zip says it is")
    name_length, extra_length = struct.unpack("<HH", data[start + 26:start + 30])
    start += 30 + name_length + extra_length
    raw = memoryview(data)[start:start + info.compress_size]
    if info.flag_bits & 1:
        raise NotImplementedError(f"{info.filename} is encrypted")
    if info.compress_type == zipfile.ZIP_STORED:
        for offset in range(0, len(raw), _PIECE):
            yield bytes(raw[offset:offset + _PIECE])
    elif info.compress_type == zipfile.ZIP_DEFLATED:
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        for offset in range(0, len(raw), 1 << 16):  # 64 KB in at a time: the fastest here
            pending: bytes | memoryview = raw[offset:offset + (1 << 16)]
            while pending and not inflater.eof:
                piece = inflater.decompress(pending, _PIECE)
                pending = inflater.unconsumed_tail
                if piece:
                    yield piece
    else:  # calamine reads stored and deflated parts only
        raise NotImplementedError(f"{info.filename} is compressed with method {info.compress_type}")


_TAIL = 8192  # the most _segments holds back


def _segments(pieces: Iterable[bytes]) -> Iterator[bytes]:
    """The same bytes, cut only just before a `<`, so that no tag the scans look for is split in
    two. No regex here reads more than 4096 bytes past a `<` (and a tag holds no `<`), so once a
    segment has _TAIL bytes after its last `<` the scans see all they would, and it is cut there:
    a long stretch without `<` or `>` is scanned once, never again and again."""
    tail = b""
    for piece in pieces:
        segment = tail + piece
        cut = segment.rfind(b"<")
        if cut < 0 or len(segment) - cut > _TAIL:
            cut = len(segment)
        yield segment[:cut]
        tail = segment[cut:]
    if tail:
        yield tail


# How far a sheet's cells reach, in two regex passes over each megabyte of its XML:
#  - a cell written `<c r="B7"...`, as every program writing xlsx writes them, is placed where its
#    reference says. _OTHER_CELL finds every cell that does not start so with a reference inside
#    A1:Z99999: the few far ones (two or more column letters, six or more row digits) give the
#    farthest cell; a normal sheet has none or a few.
#  - any other start of a cell (no reference first, a namespace prefix) calamine places by
#    counting on from the cell before: then the sheet is walked tag by tag in calamine's order
#    (_walk_extent).
# A sheet that its references may place past the caps is measured exactly (_exact_extent).
_OTHER_CELL = re.compile(rb'<c(?! r="[A-Za-z]\d{1,5}")[\s/>]')
_PREFIXED_CELL = re.compile(rb':c[\s/>]')  # apart: in one pattern with _OTHER_CELL both lose their fast literal start
_FAR_REFERENCE = re.compile(rb' r="([A-Za-z]+)(\d+)"')
_NEAR_ROWS, _NEAR_COLUMNS = 99_999, 26  # the farthest a reference _OTHER_CELL passes over can reach
_REFERENCE = re.compile(rb"([A-Za-z]*)(\d*)")


def _sheet_extent(pieces: Iterable[bytes], again: Callable[[], Iterable[bytes]]) -> tuple[int, int, int]:
    """(rows, columns, cells) that one sheet's XML can reach, at most; `again` unpacks it anew for a
    second pass when the first cannot tell. cells is 0 when not counted: a sheet whose cells all
    stand where their references say holds no more than its rectangle, unless it repeats a cell,
    and each repeat takes 22 bytes or more of MAX_UNPACKED_BYTES."""
    rows = columns = 0
    in_order = False
    for segment in _segments(pieces):
        if in_order:
            continue  # unpacked to the end all the same, counting
        for cell in _OTHER_CELL.finditer(segment):
            far = _FAR_REFERENCE.match(segment, cell.start() + 2)
            if not far:
                in_order = True
                break
            rows = max(rows, int(far.group(2)))
            columns = max(columns, _column_index(far.group(1).decode()) + 1)
        in_order = in_order or _PREFIXED_CELL.search(segment) is not None
    if in_order:
        return _walk_extent(again())
    rows, columns = max(rows, _NEAR_ROWS), max(columns, _NEAR_COLUMNS)
    if rows > MAX_ROWS or rows * columns > MAX_CELLS:
        return _exact_extent(again())
    return rows, columns, 0


_FIRST_REFERENCE = re.compile(rb'<c r="([A-Za-z]+)(\d+)"')


def _exact_extent(pieces: Iterable[bytes]) -> tuple[int, int, int]:
    """(rows, columns, cells) of a sheet whose every cell starts `<c r="...`, from all the references."""
    rows = columns = cells = 0
    for segment in _segments(pieces):
        references = _FIRST_REFERENCE.findall(segment)
        if references:
            cells += len(references)
            rows = max(rows, max(int(digits) for _, digits in references))
            columns = max(columns, max(_column_index(letters.decode()) + 1
                                       for letters in {letters for letters, _ in references}))
    return rows, columns, cells


# Every start or end of a row or cell (and the end of sheetData, where calamine stops), in order.
_TAG = re.compile(rb"<(/?)(?:[\w.-]{1,64}:)?(row|c|sheetData)(?=[\s/>])([^<>]{0,4096})(>?)")
_ATTRIBUTE = re.compile(rb'\s*([^\s=/]+)\s*=\s*(?:"([^"]*)"|\'([^\']*)\')')


def _walk_extent(pieces: Iterable[bytes]) -> tuple[int, int, int]:
    """(rows, columns, cells) of a sheet with cells placed by counting, walked as calamine walks it
    (xlsx/cells_reader.rs): a cell without a reference goes right of the cell before, a row without
    one below the row before; an empty <c/> or <row/> moves on as one with an end tag does (calamine
    expands empty elements). ValueError for what it could not follow as calamine does (comments,
    a tag over 4 KB or with a `>` in a value), which no program writing xlsx produces."""
    row = column = 0  # where the next cell without a reference goes, 0-based as in calamine
    rows = columns = cells = 0
    first = True
    for segment in _segments(pieces):
        if first:  # the <?xml ...?> declaration, the one <? allowed
            first, segment = False, re.sub(rb"^(?:\xef\xbb\xbf)?\s*<\?xml\b[^<>]{0,4096}\?>", b"", segment)
        if b"<!" in segment or b"<?" in segment:
            raise ValueError("its sheet XML has comments or processing instructions")
        for closing, name, attributes, end in _TAG.findall(segment):
            if closing:
                if name == b"sheetData":
                    return rows, columns, cells
                if name == b"row":
                    row, column = row + 1, 0
                continue
            if not end:
                raise ValueError("its sheet XML has a tag over 4 KB")
            if name == b"sheetData":
                continue
            empty = attributes.rstrip().endswith(b"/")
            reference = _reference_of(attributes.rstrip().removesuffix(b"/"), cell=name == b"c")
            if name == b"row":
                if reference:
                    row = reference[0]
                if empty:
                    row, column = row + 1, 0
                continue
            if reference:
                place, column = reference
            else:
                place = row
            if not empty:  # an empty cell is not kept, so it does not stretch the sheet
                cells += 1
                rows, columns = max(rows, place + 1), max(columns, column + 1)
            column += 1
    return rows, columns, cells


def _reference_of(attributes: bytes, cell: bool) -> tuple[int, int] | None:
    """The (row, column) of a row's or a cell's r attribute, 0-based, chosen as calamine chooses it:
    a row's first r; a cell's last r before it has seen all of r, s and t."""
    value, seen, position = None, 0, 0
    for found in _ATTRIBUTE.finditer(attributes):
        if found.start() != position:
            break
        position = found.end()
        key, text = found.group(1), found.group(2) if found.group(2) is not None else found.group(3)
        if not cell:
            if key == b"r" and value is None:
                value = text
        elif key in (b"r", b"s", b"t") and seen < 3:
            seen += 1
            if key == b"r":
                value = text
    if attributes[position:].strip():
        raise ValueError("its sheet XML has a tag bulkdir cannot follow")
    reference = _REFERENCE.fullmatch(value) if value else None
    if not reference or not reference.group(2):
        return None  # none, or one calamine refuses to read
    letters, digits = reference.groups()
    return int(digits) - 1, _column_index(letters.decode()) if letters else 0


_ROW_TAG = re.compile(rb"<(?:\w{1,32}:)?row\b[^<>]{0,4096}>")  # bounded and stopping at `<`: linear
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_TYPE = re.compile(rb'\bt="(\w+)"')
_BUILTIN_SCIENTIFIC = {11: 2, 48: 1}  # numFmtId -> decimals: "0.00E+00", "##0.0E+0"


def _sheet_extras(data: bytes, info: zipfile.ZipInfo, styles: dict[int, int]) -> _Extras:
    """From a sheet's XML (the part `info` of the xlsx `data`, already checked), what calamine does
    not read: the spreadsheet numbers of hidden rows, and the numeric cells shown in scientific
    notation as {(row number, 0-based column): decimals} (`styles`: style index -> decimals). A
    mobile Excel shows as 1.39123E+10 has lost its last digits; reading it as 13912300000 would
    hide that. Empty when unsure: both only add warnings and problems, never fail a read."""
    hidden: set[int] = set()
    scientific: dict[tuple[int, int], int] = {}
    cell_tag = None
    if styles:
        ids = b"|".join(str(i).encode() for i in styles)
        cell_tag = re.compile(rb'<(?:\w{1,32}:)?c\b[^<>]{0,4096}?\bs="(' + ids + rb')"[^<>]{0,4096}>')
    try:
        for segment in _segments(_unpacked(data, info)):
            if b"hidden=" in segment:
                for tag in _ROW_TAG.finditer(segment):
                    if _HIDDEN.search(tag.group()) and (number := _ROW_NUMBER.search(tag.group())):
                        hidden.add(int(number.group(1)))
            if cell_tag is not None:
                for tag in cell_tag.finditer(segment):
                    kind = _CELL_TYPE.search(tag.group())
                    ref = _CELL_REF.search(tag.group())
                    if ref and (kind is None or kind.group(1) == b"n"):
                        column = _column_index(ref.group(1).decode())
                        scientific[(int(ref.group(2)), column)] = styles[int(tag.group(1))]
    except Exception:
        return set(), {}
    return hidden, scientific


def _scientific_styles(styles: bytes) -> dict[int, int]:
    """Cell style index -> decimals, for the styles whose number format is scientific."""
    text = styles.decode("utf-8", "replace")
    formats = dict(_BUILTIN_SCIENTIFIC)
    for tag in re.findall(r"<(?:\w{1,32}:)?numFmt\b[^<>]{0,4096}>", text):
        number = re.search(r'\bnumFmtId="(\d+)"', tag)
        code = re.search(r'\bformatCode="([^"]*)"', tag)
        if number and code:
            format_text = html.unescape(code.group(1)).upper().split(";")[0]
            if re.search(r"E[+-]", format_text):
                mantissa = format_text.split("E")[0]
                formats[int(number.group(1))] = len(re.sub(r"[^0#?]", "", mantissa.split(".")[1])) \
                    if "." in mantissa else 0
    result: dict[int, int] = {}
    start = re.search(r"<(?:\w{1,32}:)?cellXfs\b", text)
    if start:
        end = text.find("cellXfs>", start.end())
        for index, tag in enumerate(re.findall(r"<(?:\w{1,32}:)?xf\b[^<>]{0,4096}>",
                                               text[start.end():end if end >= 0 else len(text)])):
            number = re.search(r'\bnumFmtId="(\d+)"', tag)
            if number and int(number.group(1)) in formats:
                result[index] = formats[int(number.group(1))]
    return result


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters.upper():
        index = index * 26 + ord(letter) - 64
    return index - 1


def _column_letters(number: int) -> str:
    """The letters of the 1-based column `number`: 1 -> A, 27 -> AA."""
    letters = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _decode(data: bytes, encoding: str | None, name: str) -> str:
    if encoding:
        try:
            # "--encoding utf-8" on a file Excel saved with a BOM: the BOM is not part of the first header
            return data.decode(encoding).removeprefix("\ufeff")
        except LookupError:
            raise SheetError(f"unknown encoding {encoding!r}", f"未知的编码 {encoding!r}",
                             slug="unknown-encoding") from None
        except UnicodeDecodeError as error:
            raise SheetError(f"{name} is not valid {encoding} text (byte {error.start})",
                             f"{name} 不是有效的 {encoding} 文本（第 {error.start} 字节）",
                             slug="not-a-spreadsheet") from None
    if data.startswith(b"\xef\xbb\xbf"):
        candidates = ["utf-8-sig"]
    elif data.startswith((b"\xff\xfe", b"\xfe\xff")):
        candidates = ["utf-16"]  # Excel's "Unicode text"
    else:
        candidates = ["utf-8", "gb18030"]
    for candidate in candidates:
        try:
            return data.decode(candidate)
        except UnicodeDecodeError:
            continue
    raise SheetError(f"{name} is not a spreadsheet: it is neither an Excel file nor text in UTF-8 or GBK"
                     " (use --encoding to name another encoding)",
                     f"{name} 不是电子表格：既不是 Excel 文件，也不是 UTF-8 或 GBK 编码的文本"
                     "（可用 --encoding 指定其他编码）",
                     slug="not-a-spreadsheet")


def _open_text(path: Path, data: bytes, encoding: str | None, delimiter: str | None) -> Workbook:
    text = _decode(data, encoding, path.name)
    if "\x00" in text:
        raise SheetError(f"{path.name} is not a spreadsheet: it holds binary data",
                         f"{path.name} 不是电子表格：其中是二进制数据", slug="not-a-spreadsheet")
    if delimiter is None:
        first = _first_line(text)
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
    # Every row ends at a line end and every cell at a delimiter or a line end, so counting those
    # bounds both before parsing, in a moment. A quoted delimiter or line break counts too, and CR LF
    # twice: twice the caps, so that addresses full of commas are not refused here; rows and cells
    # are counted exactly once parsed.
    line_ends = text.count("\n") + text.count("\r")
    if line_ends > 2 * MAX_ROWS:
        raise _too_large(path, f"more than {MAX_ROWS:,} rows, the most bulkdir reads",
                         f"超过 bulkdir 可读取的 {MAX_ROWS:,} 行")
    if text.count(delimiter) + line_ends > 2 * MAX_CELLS:
        raise _too_large(path, f"more than {MAX_CELLS:,} cells, the most bulkdir reads",
                         f"超过 bulkdir 可读取的 {MAX_CELLS:,} 个单元格")
    name = path.stem

    def read(_: str) -> RawSheet:
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, 1 << 30))  # a 1 MB cell is legal
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            if "'" in text:
                rows = [[_unguard(c) if c[:1] == "'" else c for c in row] for row in reader]
            else:  # no quote for _unguard to take off: the rows as parsed, without a second pass over the cells
                rows = list(reader)
        except csv.Error as error:
            raise SheetError(f"{path.name} is not a readable CSV file ({error})",
                             f"{path.name} 不是可读取的 CSV 文件（{error}）", slug="not-a-spreadsheet") from None
        finally:
            csv.field_size_limit(limit)
        _check_extent(path, None, len(rows), 0, sum(map(len, rows)))
        return RawSheet(name, rows)

    return Workbook(path, read, [name])


def _first_line(text: str) -> str:
    """The first line that is not blank (without making a list of all the lines)."""
    found = re.search(r"\S", text)
    if not found:
        return ""
    start = max(text.rfind("\n", 0, found.start()), text.rfind("\r", 0, found.start())) + 1
    ends = [end for end in (text.find("\n", found.start()), text.find("\r", found.start())) if end >= 0]
    return text[start:min(ends, default=len(text))]


def _unguard(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and _needs_guard(cell[1:]) else cell  # only the quote csv_guard adds


# ---------------------------------------------------------------------------------------------
# JSON exports

def open_json_workbook(path: str | Path, data: bytes | None = None) -> Workbook:
    """An exported JSON file (or any `{"members": [...], "departments": [...]}` document) as a Workbook
    with a `members` and a `departments` sheet of text rows, for the same reader as a spreadsheet:
    lists become `;`-separated text, numbers their digits. Raises SheetError when it is not such a file.

    >>> book = open_json_workbook("directory.json")        # doctest: +SKIP
    >>> book.sheet_names, book.read("members").rows[0][:3]  # doctest: +SKIP
    (['members', 'departments'], ['userid', 'name', 'alias'])
    """
    path = Path(path)
    try:
        data = read_capped(path) if data is None else data
        document = json.loads(data.decode("utf-8-sig"))
    except FileNotFoundError:
        raise SheetError(f"{path} does not exist", f"{path} 不存在", slug="no-such-file") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        raise SheetError(f"{path.name} is not a JSON file bulkdir can read ({error})",
                         f"{path.name} 不是 bulkdir 能读取的 JSON 文件（{error}）", slug="not-a-spreadsheet") from None
    if not isinstance(document, dict) or not isinstance(document.get("members", []), list) \
            or not isinstance(document.get("departments", []), list):
        raise SheetError(f"{path.name} is not a bulkdir JSON file: expected an object with a \"members\" list",
                         f"{path.name} 不是 bulkdir 的 JSON 文件：应为含 \"members\" 列表的对象",
                         slug="not-a-spreadsheet")
    sheets: dict[str, RawSheet] = {}
    for name, preferred in (("members", document.get("fields")), ("departments", None)):
        records = document.get(name)
        if not records:
            continue
        if name == "departments" and not any("name" in r or "path" in r for r in records if isinstance(r, dict)):
            continue  # ids only (an export without department names): nothing the importer can use
        if not all(isinstance(r, dict) for r in records):
            raise SheetError(f"{path.name}: every item of \"{name}\" must be an object",
                             f"{path.name}：\"{name}\" 中的每一项都须是对象", slug="not-a-spreadsheet")
        keys: list[str] = [k for k in preferred or () if isinstance(k, str)]
        for record in records:
            keys += [k for k in record if k not in keys]
        rows = [keys] + [[_json_text(record.get(k)) for k in keys] for record in records]
        sheets[name] = RawSheet(name, rows)
    if not sheets:
        raise SheetError(f"{path.name} holds no members and no departments", f"{path.name} 中既没有成员也没有部门",
                         slug="no-rows")

    def read(name: str) -> RawSheet:
        return sheets[name]

    return Workbook(path, read, list(sheets))


def _json_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return YES_NO_WORDS[int(value)]
    if isinstance(value, list):
        return ";".join(_json_text(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


# ---------------------------------------------------------------------------------------------
# writing

@contextlib.contextmanager
def atomic_file(path: str | Path) -> Iterator[Path]:
    """A temporary path to write instead of `path`: a hidden file in the same folder, readable by its
    owner only (results hold personal data). When the block ends normally it replaces `path` in one
    step; on any exception, Ctrl-C included, it is removed and `path` is left as it was. So a run
    killed mid-write never leaves a truncated file under the final name.

    >>> with atomic_file("results.csv") as temporary:       # doctest: +SKIP
    ...     write_report(temporary)
    """
    path = Path(path)
    # mkstemp creates the file 0600 with a name no other writer picks; same folder, so the
    # rename is atomic (a rename across file systems is a copy). The prefix is cut by bytes, not characters:
    # a name may have 255 bytes, and 200 Chinese characters are 600.
    prefix = path.name[:200]
    while len(os.fsencode(prefix)) > 200:
        prefix = prefix[:-1]
    descriptor, name = tempfile.mkstemp(prefix=f".{prefix}.", suffix=".partial", dir=path.parent)
    os.close(descriptor)
    temporary = Path(name)
    try:
        yield temporary
        os.chmod(temporary, 0o600)  # in case the writer replaced the file rather than writing into it
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@dataclass
class OutSheet:
    """A sheet to write. `rows` may be any iterable (a generator streams). `highlight` maps a data
    row's 0-based index to the 0-based column indexes to mark; `widths` overrides column widths."""

    name: str
    headers: Sequence[str]
    rows: Iterable[Sequence[Any]]
    highlight: Mapping[int, Collection[int]] | None = None
    widths: Sequence[float] | None = None


def _needs_guard(value: str) -> bool:
    # A risky start, or quotes in front of one: "'=3" gets a quote of its own too, else reading it
    # back would take its quote off as if csv_guard had added it.
    return value.lstrip("'").startswith(RISKY_PREFIXES)


def csv_guard(value: str) -> str:
    """The CSV text for a value: a single quote before anything a spreadsheet would run as a formula,
    and before a value that already starts with quotes and then such a character. `read_sheet` takes
    off exactly the quote added here: guarded and read back, every value is itself again.

    >>> csv_guard("=1+1"), csv_guard("+86 13912345678"), csv_guard("'=3"), csv_guard("'a"), csv_guard("张三")
    ("'=1+1", "'+86 13912345678", "''=3", "'a", '张三')
    """
    return "'" + value if _needs_guard(value) else value


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, (list, tuple)):
        return ";".join(_text(v) for v in value)
    return cell_text(value)


def write_csv(path: str | Path, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
              encoding: str = "utf-8-sig", guard: bool = True) -> int:
    """Write a CSV (UTF-8 with BOM by default, which Excel opens correctly); returns the row count.
    With `guard`, values starting with = + - @ get a leading single quote (see `csv_guard`).

    >>> write_csv("out.csv", ["手机"], [["+86 139"]])      # doctest: +SKIP
    1
    """
    count = 0
    with atomic_file(path) as temporary, open(temporary, "w", encoding=encoding, newline="") as handle:
        writer = csv.writer(handle)
        convert = (lambda v: csv_guard(_text(v))) if guard else _text
        writer.writerow([convert(h) for h in headers])
        for row in rows:
            writer.writerow([convert(v) for v in row])
            count += 1
    return count


_SIZE_SAMPLE = 200


def write_xlsx(path: str | Path, sheets: OutSheet | Sequence[OutSheet]) -> None:
    """Write sheets to an xlsx file, streaming (each row goes to disk as it comes; see
    `bulkdir.xlsxfile`). Every cell is a text cell, never a formula or a number, whatever it starts
    with; the header is bold, frozen and filtered; columns are sized from the first rows and take text
    as their format, so a phone typed in later stays text too; highlighted cells are filled red.
    Sheet names are made valid for Excel, and unique.

    >>> write_xlsx("out.xlsx", OutSheet("成员", ["帐号", "手机"], [["zhangsan", "13912345678"]],
    ...                                 highlight={0: [1]}))   # doctest: +SKIP
    """
    from bulkdir.xlsxfile import XlsxBook

    titles: list[str] = []
    with atomic_file(path) as temporary, XlsxBook(temporary) as book:
        for sheet in [sheets] if isinstance(sheets, OutSheet) else sheets:
            titles.append(_sheet_title(sheet.name, titles))
            headers = [_text(header) for header in sheet.headers]
            rows = iter(sheet.rows)
            sample = [[_text(value) for value in row] for row in itertools.islice(rows, _SIZE_SAMPLE)]
            book.write_sheet(titles[-1], headers, itertools.chain(sample, rows), text_of=_text,
                             widths=_column_widths(headers, sample, sheet.widths or ()), highlight=sheet.highlight)


def _column_widths(headers: list[str], sample: list[list[str]], chosen: Sequence[float]) -> list[float]:
    """Each column's width in characters: as `chosen`, else to fit the header and the sampled rows."""
    widths = []
    for index in range(max([len(headers)] + [len(row) for row in sample])):
        if index < len(chosen):
            widths.append(chosen[index])
            continue
        texts = [headers[index] if index < len(headers) else ""] + [row[index] for row in sample if index < len(row)]
        widths.append(min(60, max(8, max(display_width(text, limit=80) for text in texts) + 2)))
    return widths


def _sheet_title(name: str, taken: Sequence[str] = ()) -> str:
    """A sheet name Excel takes: at most 31 characters, none of \\ / * ? : [ ], no quote at either end,
    and not one of `taken` in any case (a number is added).

    >>> _sheet_title("问题: 成员[1]"), _sheet_title("'成员'"), _sheet_title("成员", ["成员"]), _sheet_title("")
    ('问题_ 成员_1_', '成员', '成员 (2)', 'Sheet1')
    """
    from bulkdir.xlsxfile import NOT_IN_XML

    cleaned = re.sub(r"[\\/*?:\[\]]", "_", NOT_IN_XML.sub("", name))[:31].strip("'") or "Sheet1"
    used = {title.casefold() for title in taken}
    title, number = cleaned, 1
    while title.casefold() in used:
        number += 1
        suffix = f" ({number})"
        title = cleaned[:31 - len(suffix)] + suffix
    return title


def display_width(text: str, limit: int | None = None) -> int:
    """How many columns of a terminal or a spreadsheet the text takes: its widest line, a CJK character
    counting two (the first `limit` characters of each line, when given).

    >>> display_width("张三"), display_width("ab\\n研发中心"), display_width("研发中心", limit=2)
    (4, 8, 4)
    """
    lines = text.split("\n") if text else [""]
    return max(sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line[:limit]) for line in lines)


def pad(text: str, width: int) -> str:
    """`text` followed by spaces to `width` display columns."""
    return text + " " * (width - display_width(text))
