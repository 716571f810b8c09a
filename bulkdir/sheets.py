"""Read spreadsheets into rows of text; write XLSX and CSV files that are safe to open in Excel.

Reading: `.xlsx`/`.xlsm` (and old `.xls`) through python-calamine, which is fast; `.csv`/`.tsv`
through the csv module with the encoding detected (UTF-8 with or without BOM, UTF-16 with BOM,
else GB18030, a superset of GBK). Every cell becomes text: a number Excel stored for a mobile or an
id is turned back into its exact digits, dates become ISO text, and a number shown in scientific
notation is read as Excel shows it (`1.39123E+10`), so digits already lost are seen, not hidden.
Anything that cannot be read raises
`SheetError` with a reason a person understands; nothing else escapes.

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
import os
import re
import tempfile
import threading
import unicodedata
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Collection, Iterable, Iterator, Mapping, Sequence

from bulkdir.errors import SheetError

__all__ = [
    "RawSheet", "Workbook", "open_workbook", "read_sheet", "cell_text", "normalise_header",
    "find_header_row", "OutSheet", "write_xlsx", "write_csv", "csv_guard", "RISKY_PREFIXES",
    "HEADER_SCAN_ROWS", "atomic_file",
]

HEADER_SCAN_ROWS = 20  # the admin console template has its headers on row 9
RISKY_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
EXCEL_CELL_LIMIT = 32767

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ENCRYPTED_MARK = "EncryptedPackage".encode("utf-16-le")
_EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}


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
                             + ", ".join(self.sheet_names))
        return self._reader(name)


def open_workbook(path: str | Path, encoding: str | None = None) -> Workbook:
    """Open an xlsx/xlsm/xls/csv/tsv file (or a JSON export); raise SheetError when it is not a readable spreadsheet.

    >>> open_workbook("staff.csv").sheet_names             # doctest: +SKIP
    ['staff']
    """
    path = Path(path)
    try:
        with open(path, "rb") as handle:
            head = handle.read(8)
    except FileNotFoundError:
        raise SheetError(f"{path} does not exist") from None
    except IsADirectoryError:
        raise SheetError(f"{path} is a folder, not a spreadsheet") from None
    except OSError as error:
        raise SheetError(f"cannot open {path}: {error.strerror or error}") from None
    if not head:
        raise SheetError(f"{path.name} is empty", f"{path.name} 是空文件")
    suffix = path.suffix.lower()
    if suffix == ".json":
        from bulkdir.export import open_json_workbook  # export imports this module: import late

        return open_json_workbook(path)
    if head.startswith(_ZIP_MAGIC):
        return _open_excel(path)
    if head.startswith(_OLE_MAGIC):
        if _is_encrypted(path):
            raise SheetError(*_password_protected(path))
        return _open_excel(path)
    if suffix in _EXCEL_SUFFIXES:
        raise SheetError(f"{path.name} is not a spreadsheet: it is not an Excel file",
                         f"{path.name} 不是电子表格：它不是 Excel 文件")
    return _open_text(path, encoding, "\t" if suffix == ".tsv" else None)


def read_sheet(path: str | Path, sheet: str | None = None, encoding: str | None = None) -> RawSheet:
    """Read one sheet (the first when `sheet` is None) as text rows.

    >>> read_sheet("staff.csv").rows[0]                    # doctest: +SKIP
    ['姓名', '帐号', '手机']
    """
    return open_workbook(path, encoding).read(sheet)


def _password_protected(path: Path) -> tuple[str, str]:
    return (f"{path.name} is password-protected; save a copy without a password and try again",
            f"{path.name} 设有密码；请另存一份不带密码的副本后再试")


def _is_encrypted(path: Path) -> bool:
    # An encrypted xlsx is an OLE compound file holding an "EncryptedPackage" stream.
    with open(path, "rb") as handle:
        return _ENCRYPTED_MARK in handle.read(1 << 20)


def _calamine_call(path: Path, action: Callable[[], Any]) -> Any:
    try:
        return action()
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException as error:  # calamine raises its own errors, and a Rust panic is a BaseException
        if type(error).__name__ == "PasswordError":
            raise SheetError(*_password_protected(path)) from None
        detail = str(error).splitlines()[0][:200] if str(error) else type(error).__name__
        raise SheetError(f"{path.name} is not a spreadsheet Excel can open ({detail})",
                         f"{path.name} 不是 Excel 能打开的电子表格（{detail}）") from None


def _open_excel(path: Path) -> Workbook:
    from python_calamine import CalamineWorkbook

    book = _calamine_call(path, lambda: CalamineWorkbook.from_path(str(path)))
    names = _calamine_call(path, lambda: list(book.sheet_names))
    if not names:
        raise SheetError(f"{path.name} has no sheets")

    def read(name: str) -> RawSheet:
        return _calamine_call(path, lambda: _read_excel_sheet(path, book, name))

    return Workbook(path, read, names)


def _read_excel_sheet(path: Path, book: Any, name: str) -> RawSheet:
    # The XML side-scan (hidden rows, scientific cells) runs beside calamine's parse, which
    # releases the GIL; on 100,000 rows that hides its cost.
    extras: list[tuple[set[int], dict[tuple[int, int], int]]] = []
    scan = None
    if path.suffix.lower() != ".xls":
        scan = threading.Thread(target=lambda: extras.append(_sheet_extras(path, name)), daemon=True)
        scan.start()
    try:
        sheet = book.get_sheet_by_name(name)
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
    finally:
        if scan is not None:
            scan.join()
    hidden, scientific = extras[0] if extras else (set(), {})
    for (number, column), decimals in scientific.items():
        row = number - 1
        if 0 <= row < len(rows) and 0 <= column < len(rows[row]):
            try:
                rows[row][column] = f"{float(rows[row][column]):.{decimals}E}"  # what Excel shows
            except ValueError:
                pass
    return RawSheet(name, rows, merged, hidden)


_ROW_TAG = re.compile(rb"<(?:\w+:)?row\b[^>]*>")
_ROW_NUMBER = re.compile(rb'\br="(\d+)"')
_HIDDEN = re.compile(rb'\bhidden="(?:1|true)"')
_CELL_REF = re.compile(rb'\br="([A-Z]+)(\d+)"')
_CELL_TYPE = re.compile(rb'\bt="(\w+)"')
_BUILTIN_SCIENTIFIC = {11: 2, 48: 1}  # numFmtId -> decimals: "0.00E+00", "##0.0E+0"


def _sheet_extras(path: Path, sheet_name: str) -> tuple[set[int], dict[tuple[int, int], int]]:
    """From the sheet's XML, which calamine does not read: the spreadsheet numbers of hidden rows,
    and the numeric cells shown in scientific notation as {(row number, 0-based column): decimals}.
    A mobile Excel shows as 1.39123E+10 has lost its last digits; reading it as 13912300000 would
    hide that. Empty when unsure: both only add warnings and problems, never fail a read."""
    hidden: set[int] = set()
    scientific: dict[tuple[int, int], int] = {}
    try:
        with zipfile.ZipFile(path) as archive:
            member = _sheet_member(archive, sheet_name)
            if member is None:
                return hidden, scientific
            styles = _scientific_styles(archive)
            cell_tag = None
            if styles:
                ids = b"|".join(str(i).encode() for i in styles)
                cell_tag = re.compile(rb'<(?:\w+:)?c\b[^>]*?\bs="(' + ids + rb')"[^>]*>')
            with archive.open(member) as stream:
                tail = b""
                while chunk := stream.read(1 << 20):
                    buffer = tail + chunk
                    cut = buffer.rfind(b">") + 1
                    buffer, tail = buffer[:cut], buffer[cut:]
                    if b"hidden=" in buffer:
                        for tag in _ROW_TAG.finditer(buffer):
                            if _HIDDEN.search(tag.group()) and (number := _ROW_NUMBER.search(tag.group())):
                                hidden.add(int(number.group(1)))
                    if cell_tag is not None:
                        for tag in cell_tag.finditer(buffer):
                            kind = _CELL_TYPE.search(tag.group())
                            ref = _CELL_REF.search(tag.group())
                            if ref and (kind is None or kind.group(1) == b"n"):
                                column = _column_index(ref.group(1).decode())
                                scientific[(int(ref.group(2)), column)] = styles[int(tag.group(1))]
    except Exception:
        return set(), {}
    return hidden, scientific


def _scientific_styles(archive: zipfile.ZipFile) -> dict[int, int]:
    """Cell style index -> decimals, for the styles whose number format is scientific."""
    try:
        styles = archive.read("xl/styles.xml").decode("utf-8", "replace")
    except KeyError:
        return {}
    formats = dict(_BUILTIN_SCIENTIFIC)
    for tag in re.findall(r"<(?:\w+:)?numFmt\b[^>]*>", styles):
        number = re.search(r'\bnumFmtId="(\d+)"', tag)
        code = re.search(r'\bformatCode="([^"]*)"', tag)
        if number and code:
            text = html.unescape(code.group(1)).upper().split(";")[0]
            if re.search(r"E[+-]", text):
                mantissa = text.split("E")[0]
                formats[int(number.group(1))] = len(re.sub(r"[^0#?]", "", mantissa.split(".")[1])) \
                    if "." in mantissa else 0
    found = re.search(r"<(?:\w+:)?cellXfs\b.*?</(?:\w+:)?cellXfs>", styles, re.S)
    result: dict[int, int] = {}
    if found:
        for index, tag in enumerate(re.findall(r"<(?:\w+:)?xf\b[^>]*>", found.group())):
            number = re.search(r'\bnumFmtId="(\d+)"', tag)
            if number and int(number.group(1)) in formats:
                result[index] = formats[int(number.group(1))]
    return result


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - 64
    return index - 1


def _sheet_member(archive: zipfile.ZipFile, sheet_name: str) -> str | None:
    workbook = archive.read("xl/workbook.xml").decode("utf-8", "replace")
    rels = archive.read("xl/_rels/workbook.xml.rels").decode("utf-8", "replace")
    for tag in re.findall(r"<(?:\w+:)?sheet\b[^>]*>", workbook):
        name = re.search(r'\bname="([^"]*)"', tag)
        rid = re.search(r'\br:id="([^"]*)"', tag) or re.search(r'\b\w+:id="([^"]*)"', tag)
        if name and rid and html.unescape(name.group(1)) == sheet_name:
            for rel in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", rels):
                if re.search(rf'\bId="{re.escape(rid.group(1))}"', rel):
                    target = re.search(r'\bTarget="([^"]*)"', rel)
                    if target:
                        value = target.group(1)
                        return value.lstrip("/") if value.startswith("/") else "xl/" + value
    return None


def _decode(data: bytes, encoding: str | None, name: str) -> str:
    if encoding:
        try:
            # "--encoding utf-8" on a file Excel saved with a BOM: the BOM is not part of the first header
            return data.decode(encoding).removeprefix("\ufeff")
        except LookupError:
            raise SheetError(f"unknown encoding {encoding!r}") from None
        except UnicodeDecodeError as error:
            raise SheetError(f"{name} is not valid {encoding} text (byte {error.start})") from None
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
                     f"{name} 不是电子表格：既不是 Excel 文件，也不是 UTF-8 或 GBK 编码的文本（可用 --encoding 指定其他编码）")


def _open_text(path: Path, encoding: str | None, delimiter: str | None) -> Workbook:
    data = path.read_bytes()
    text = _decode(data, encoding, path.name)
    if "\x00" in text:
        raise SheetError(f"{path.name} is not a spreadsheet: it holds binary data",
                         f"{path.name} 不是电子表格：其中是二进制数据")
    if delimiter is None:
        first = next((line for line in text.splitlines() if line.strip()), "")
        delimiter = "\t" if first.count("\t") > first.count(",") else ","
    name = path.stem

    def read(_: str) -> RawSheet:
        limit = csv.field_size_limit()
        csv.field_size_limit(max(limit, 1 << 30))  # a 1 MB cell is legal
        try:
            reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
            rows = [[_unguard(c) if c[:1] == "'" else c for c in row] for row in reader]
        except csv.Error as error:
            raise SheetError(f"{path.name} is not a readable CSV file ({error})") from None
        finally:
            csv.field_size_limit(limit)
        return RawSheet(name, rows)

    return Workbook(path, read, [name])


def _unguard(cell: str) -> str:
    return cell[1:] if cell[:1] == "'" and _needs_guard(cell[1:]) else cell  # only the quote csv_guard adds


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
    # rename is atomic (a rename across file systems is a copy)
    descriptor, name = tempfile.mkstemp(prefix=f".{path.name[:200]}.", suffix=".partial", dir=path.parent)
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
    """Write sheets to an xlsx file, streaming (openpyxl write-only mode). Every cell is a text
    cell; the header is bold, frozen and filtered; columns are sized from the first rows;
    highlighted cells are filled red.

    >>> write_xlsx("out.xlsx", OutSheet("成员", ["帐号", "手机"], [["zhangsan", "13912345678"]],
    ...                                 highlight={0: [1]}))   # doctest: +SKIP
    """
    from openpyxl import Workbook as _Book
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter

    book = _Book(write_only=True)
    header_font = Font(bold=True)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    mark_fill = PatternFill("solid", fgColor="FFC7CE")
    wrap = Alignment(wrap_text=True, vertical="top")
    for sheet in [sheets] if isinstance(sheets, OutSheet) else sheets:
        ws = book.create_sheet(_sheet_title(sheet.name))
        headers = [_excel_text(_text(h)) for h in sheet.headers]
        rows = iter(sheet.rows)
        sample = []
        for row in rows:
            sample.append([_excel_text(_text(v)) for v in row])
            if len(sample) >= _SIZE_SAMPLE:
                break
        width = max([len(headers)] + [len(r) for r in sample])
        for index in range(width):
            if sheet.widths and index < len(sheet.widths):
                size = sheet.widths[index]
            else:
                texts = [headers[index] if index < len(headers) else ""]
                texts += [r[index] for r in sample if index < len(r)]
                size = min(60, max(8, max(_display_width(t) for t in texts) + 2))
            ws.column_dimensions[get_column_letter(index + 1)].width = size
        if headers:
            ws.freeze_panes = "A2"
            ws.auto_filter.ref = f"A1:{get_column_letter(max(1, len(headers)))}1"
        header_cells = []
        for text in headers:
            cell = WriteOnlyCell(ws, value=text)
            cell.data_type = "s"
            cell.font, cell.fill = header_font, header_fill
            header_cells.append(cell)
        ws.append(header_cells)
        highlight = sheet.highlight or {}

        def cells(index: int, texts: list[str]) -> list[Any]:
            marked = highlight.get(index, ())
            out: list[Any] = []
            for column, text in enumerate(texts):
                if column in marked or text.startswith(RISKY_PREFIXES) or "\n" in text:
                    cell = WriteOnlyCell(ws, value=text)
                    cell.data_type = "s"  # never a formula, whatever the text starts with
                    if column in marked:
                        cell.fill = mark_fill
                    if "\n" in text:
                        cell.alignment = wrap
                    out.append(cell)
                else:
                    out.append(text or None)
            return out

        index = 0
        for texts in sample:
            ws.append(cells(index, texts))
            index += 1
        for row in rows:
            ws.append(cells(index, [_excel_text(_text(v)) for v in row]))
            index += 1
    if not book.worksheets:
        book.create_sheet("Sheet1")
    with atomic_file(path) as temporary:
        book.save(temporary)


def _excel_text(text: str) -> str:
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if ILLEGAL_CHARACTERS_RE.search(text):
        text = ILLEGAL_CHARACTERS_RE.sub("", text)
    return text if len(text) <= EXCEL_CELL_LIMIT else text[:EXCEL_CELL_LIMIT]


def _sheet_title(name: str) -> str:
    cleaned = re.sub(r"[\\/*?:\[\]]", "_", name or "Sheet1")[:31]
    return cleaned or "Sheet1"


def _display_width(text: str) -> int:
    line = max(text.split("\n"), key=len) if text else ""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in line[:80])
