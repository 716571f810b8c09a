"""Writing xlsx files: the small part of Office Open XML (ECMA-376 Part 1, SpreadsheetML) that the
files bulkdir writes use, streamed row by row into the zip.

Why our own writer: a 100,000-member export spent most of its time in the writer. XlsxWriter, the best
kept one, took 13x as long as the fastest writer keeping every property our files promise (issue 16),
and that one is a 0.x Rust project of one person. What our files use is small and fixed: text cells
only, six cell styles, column widths and formats, a frozen header row with an autofilter. So every
row is one `str.format` of a template made once per pattern of empty cells, and only a row that needs
more (a character XML escapes, a line break, an edge space, a highlight) is built cell by cell.

Every cell is an inline string (`t="inlineStr"`): never a number, never a formula, whatever it
starts with. Cells and columns take the text number format (`@`, built-in format 49), so a cell
edited or typed in later stays text too. Empty values get no cell at all.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import os
import re
import zipfile
from typing import IO, Any, Callable, Collection, Iterable, Mapping, Sequence

from bulkdir.errors import SheetError

EXCEL_DATA_ROWS = 1_048_575  # a sheet's rows below its header
# what XML 1.0 cannot carry: control characters but tab and line breaks, lone surrogates, U+FFFE and U+FFFF
NOT_IN_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
# the same but \0, which joins a chunk's cells to look at them whole: one inside a cell shows in their count
_NOT_IN_XML_BUT_NUL = re.compile(NOT_IN_XML.pattern.replace("\x00", "\x01", 1))

_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_RELATIONSHIPS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_PACKAGE_RELATIONSHIPS = "http://schemas.openxmlformats.org/package/2006/relationships"
_XML = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'

# cellXfs below, by index: the platform default, then ours (every one the text format)
TEXT, HEADER, MARKED, WRAPPED, MARKED_WRAPPED = 1, 2, 3, 4, 5
_FILL = {HEADER: "FFDDEBF7", MARKED: "FFFFC7CE", MARKED_WRAPPED: "FFFFC7CE"}

_STYLES = (_XML + f'<styleSheet xmlns="{_MAIN}">'
           '<fonts count="2">'
           '<font><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
           '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>'
           '</fonts>'
           '<fills count="4">'
           '<fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill>'
           f'<fill><patternFill patternType="solid"><fgColor rgb="{_FILL[HEADER]}"/><bgColor indexed="64"/>'
           '</patternFill></fill>'
           f'<fill><patternFill patternType="solid"><fgColor rgb="{_FILL[MARKED]}"/><bgColor indexed="64"/>'
           '</patternFill></fill>'
           '</fills>'
           '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
           '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
           '<cellXfs count="6">'
           '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
           '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
           '<xf numFmtId="49" fontId="1" fillId="2" borderId="0" xfId="0" applyNumberFormat="1" applyFont="1"'
           ' applyFill="1"/>'
           '<xf numFmtId="49" fontId="0" fillId="3" borderId="0" xfId="0" applyNumberFormat="1" applyFill="1"/>'
           '<xf numFmtId="49" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"'
           ' applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
           '<xf numFmtId="49" fontId="0" fillId="3" borderId="0" xfId="0" applyNumberFormat="1" applyFill="1"'
           ' applyAlignment="1"><alignment vertical="top" wrapText="1"/></xf>'
           '</cellXfs>'
           '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>'
           '</styleSheet>')

_CHUNK_ROWS = 2000
CELL_LIMIT = 32767  # characters in a cell


def column_letters(index: int) -> str:
    """The letters of a 0-based column index.

    >>> column_letters(0), column_letters(25), column_letters(26), column_letters(16383)
    ('A', 'Z', 'AA', 'XFD')
    """
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


def file_width(characters: float) -> float:
    """A column's width as the file stores it, for `characters` digits of the default font shown:
    ECMA-376's formula, 7 pixels a digit and 5 of padding, in 256ths.

    >>> file_width(30), file_width(8)
    (30.7109375, 8.7109375)
    """
    return int((characters * 7 + 5) / 7 * 256) / 256


def escape(text: str) -> str:
    """Text as XML element content. A carriage return is a character reference: an XML reader turns a
    raw one into a line feed. Text that looks like Excel's own escape of a character (`_x0041_` is A)
    has its underscore escaped that way, so it reads back as itself.

    >>> escape("a<b & c>\\r"), escape("_x0041_")
    ('a&lt;b &amp; c&gt;&#13;', '_x005F_x0041_')
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return _EXCEL_ESCAPE.sub(r"_x005F\g<0>", text) if "_x" in text else text


_EXCEL_ESCAPE = re.compile(r"_x[0-9A-Fa-f]{4}_")


def _cell(reference: str, text: str, style: int) -> str:
    space = ' xml:space="preserve"' if text[:1] in _XML_SPACES or text[-1:] in _XML_SPACES else ""
    return f'<c r="{reference}" s="{style}" t="inlineStr"><is><t{space}>{escape(text)}</t></is></c>'


_XML_SPACES = (" ", "\t", "\n", "\r")


class XlsxBook:
    """An xlsx file being written, one sheet after another; `close` writes the parts that list them.

    >>> with XlsxBook("out.xlsx") as book:                       # doctest: +SKIP
    ...     book.write_sheet("成员", ["帐号"], [["zhangsan"]], widths=[12])
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        # level 1: a fifth larger than zlib's default, in a third of the time; the compressing runs
        # in a thread of its own (zlib lets go of the GIL), beside the building of the next rows
        self._zip = zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1)
        self._titles: list[str] = []
        self._filters: dict[int, str] = {}

    def __enter__(self) -> XlsxBook:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.close()
        else:  # the file is thrown away by the caller; only the handle needs letting go
            self._zip.close()

    def write_sheet(self, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]], *,
                    widths: Sequence[float] = (), highlight: Mapping[int, Collection[int]] | None = None,
                    text_of: Callable[[Any], str] = str) -> int:
        """Write one sheet: the bold frozen filtered header, then the rows; returns how many rows. A cell
        whose column is in `highlight[row index]` is filled red. A value that is not a str is written as
        `text_of(value)`; what XML cannot carry is left out, and a cell is cut to Excel's limit. `title`
        must be a valid, unused sheet name."""
        headers = clean_texts(headers)
        number = len(self._titles)
        self._titles.append(title)
        selected = ' tabSelected="1"' if number == 0 else ""
        head = [_XML, f'<worksheet xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">',
                f'<sheetViews><sheetView workbookViewId="0"{selected}>']
        if headers:
            head.append('<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
                        '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>')
        head.append('</sheetView></sheetViews><sheetFormatPr defaultRowHeight="15"/>')
        if widths:
            head.append("<cols>" + "".join(f'<col min="{n}" max="{n}" width="{file_width(w)}" style="{TEXT}" '
                                           'customWidth="1"/>' for n, w in enumerate(widths, 1)) + "</cols>")
        head.append("<sheetData>")
        if headers:
            head.append('<row r="1">' + "".join(_cell(f"{column_letters(n)}1", text, HEADER)
                                                for n, text in enumerate(headers) if text) + "</row>")
        with self._zip.open(f"xl/worksheets/sheet{number + 1}.xml", "w") as handle, \
                concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="xlsx") as compressing:
            send = _Sender(handle, compressing)
            send("".join(head))
            count = _write_rows(send, title, rows, highlight or {}, text_of)
            tail = "</sheetData>"
            if headers:
                last = column_letters(len(headers) - 1)
                tail += f'<autoFilter ref="A1:{last}1"/>'
                self._filters[number] = f"{_quoted(title)}!$A$1:${last}$1"
            send(tail + '<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>'
                 "</worksheet>")
            send.finish()
        return count

    def close(self) -> None:
        if not self._titles:
            self.write_sheet("Sheet1", [], [])
        count = len(self._titles)
        sheets = "".join(f'<sheet name="{escape(title)}" sheetId="{n}" r:id="rId{n}"/>'
                         for n, title in enumerate(self._titles, 1))
        names = "".join(f'<definedName name="_xlnm._FilterDatabase" localSheetId="{n}" hidden="1">'
                        f"{escape(reference)}</definedName>" for n, reference in self._filters.items())
        self._zip.writestr("xl/workbook.xml", _XML + f'<workbook xmlns="{_MAIN}" xmlns:r="{_RELATIONSHIPS}">'
                           f'<bookViews><workbookView/></bookViews><sheets>{sheets}</sheets>'
                           + (f"<definedNames>{names}</definedNames>" if names else "") + "</workbook>")
        relations = "".join(f'<Relationship Id="rId{n}" Type="{_RELATIONSHIPS}/worksheet" '
                            f'Target="worksheets/sheet{n}.xml"/>' for n in range(1, count + 1))
        relations += f'<Relationship Id="rId{count + 1}" Type="{_RELATIONSHIPS}/styles" Target="styles.xml"/>'
        self._zip.writestr("xl/_rels/workbook.xml.rels",
                           _XML + f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">{relations}</Relationships>')
        self._zip.writestr("xl/styles.xml", _STYLES)
        self._zip.writestr("_rels/.rels", _XML + f'<Relationships xmlns="{_PACKAGE_RELATIONSHIPS}">'
                           f'<Relationship Id="rId1" Type="{_RELATIONSHIPS}/officeDocument" '
                           'Target="xl/workbook.xml"/></Relationships>')
        kinds = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        overrides = "".join(f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="{kinds}.worksheet+xml"/>'
                            for n in range(1, count + 1))
        self._zip.writestr("[Content_Types].xml", _XML +
                           '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                           '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
                           'relationships+xml"/><Default Extension="xml" ContentType="application/xml"/>'
                           f'<Override PartName="/xl/workbook.xml" ContentType="{kinds}.sheet.main+xml"/>'
                           f'<Override PartName="/xl/styles.xml" ContentType="{kinds}.styles+xml"/>'
                           f"{overrides}</Types>")
        self._zip.close()


def _quoted(title: str) -> str:
    return "'" + title.replace("'", "''") + "'"


class _Sender:
    """Sends the sheet's XML to the zip in chunks, each compressed in the other thread while the next
    are built. Up to _IN_FLIGHT chunks wait: the other thread gets the interpreter only between the main
    one's turns, and with a few chunks queued it never runs dry while its turn comes (one queued made the
    writing a tenth slower); memory stays that of a few chunks."""

    def __init__(self, handle: IO[bytes], compressing: concurrent.futures.Executor) -> None:
        self._handle = handle
        self._compressing = compressing
        self._pending: collections.deque[concurrent.futures.Future[int]] = collections.deque()

    def __call__(self, xml: str) -> None:
        data = xml.encode()
        # a failed write raises here, as soon as it is done: no chunk is built or queued after it
        while self._pending and (len(self._pending) >= _IN_FLIGHT or self._pending[0].done()):
            self._pending.popleft().result()
        self._pending.append(self._compressing.submit(self._handle.write, data))

    def finish(self) -> None:
        while self._pending:
            self._pending.popleft().result()


_IN_FLIGHT = 3


def _write_rows(send: _Sender, title: str, rows: Iterable[Sequence[Any]], highlight: Mapping[int, Collection[int]],
                text_of: Callable[[Any], str]) -> int:
    row_writers: dict[int, Callable[..., str]] = {}
    rows = iter(rows)
    count = 0
    while batch := list(itertools.islice(rows, _CHUNK_ROWS)):
        if count + len(batch) > EXCEL_DATA_ROWS:
            raise SheetError(f"sheet {title!r} has more than {EXCEL_DATA_ROWS:,} rows, more than Excel can "
                             "hold; write it as CSV",
                             f"工作表 {title!r} 超过 {EXCEL_DATA_ROWS:,} 行，Excel 放不下；请写成 CSV",
                             slug="too-large")
        texts = [row if row.__class__ is list else list(row) for row in batch]
        # The chunk is looked at whole, in C: nearly every chunk holds nothing to clean or escape. \0 is
        # not in any cell, so the chunk's cells joined by it show each cell's edges, and their count.
        try:
            joined_rows = ["\0".join(row) for row in texts]
        except TypeError:  # some value is not a text yet
            texts = [[value if value.__class__ is str else text_of(value) for value in row] for row in texts]
            joined_rows = ["\0".join(row) for row in texts]
        joined = "\0".join(joined_rows)
        if (_NOT_IN_XML_BUT_NUL.search(joined) or max(map(len, joined_rows)) > CELL_LIMIT
                or joined.count("\0") != sum(len(row) or 1 for row in texts) - 1):
            texts = [clean_texts(row) for row in texts]
            joined_rows = ["\0".join(row) for row in texts]
            joined = "\0".join(joined_rows)
        marked = any(index in highlight for index in range(count, count + len(texts))) if highlight else False
        xml: list[str] = []
        if marked or _needs_more(joined):
            for index, (row, joined_row) in enumerate(zip(texts, joined_rows), count):
                if index in highlight or _needs_more(joined_row):
                    xml.append(_row_cell_by_cell(index + 2, row, highlight.get(index, ())))
                else:
                    xml.append(_row_writer(row_writers, len(row))(str(index + 2), *row))
        else:
            # each row's number as text once (every cell's reference repeats it), and rows of one width, as
            # a sheet's are, written by one function looked up once
            numbers = map(str, range(count + 2, count + 2 + len(texts)))
            if len(widths := set(map(len, texts))) == 1:
                write_row = _row_writer(row_writers, widths.pop())
                xml = [write_row(number, *row) for number, row in zip(numbers, texts)]
            else:
                xml = [_row_writer(row_writers, len(row))(number, *row) for number, row in zip(numbers, texts)]
        send("".join(xml))
        count += len(texts)
    return count


def clean_texts(row: Iterable[str]) -> list[str]:
    """Texts without what XML cannot carry, each cut to a cell's limit.

    >>> clean_texts(["a\\x00b", "x" * 40000])[0], len(clean_texts(["x" * 40000])[0])
    ('ab', 32767)
    """
    return [NOT_IN_XML.sub("", text)[:CELL_LIMIT] for text in row]


def _needs_more(joined: str) -> bool:
    """Whether joined cells hold something a row template does not do: a character to escape, a line
    break to wrap, an edge space to keep, text that looks like Excel's escape."""
    return ("&" in joined or "<" in joined or ">" in joined or "\n" in joined or "\r" in joined or "\t" in joined
            or "_x" in joined or " \0" in joined or "\0 " in joined or joined[:1] == " " or joined[-1:] == " ")


def _row_writer(made: dict[int, Callable[..., str]], width: int) -> Callable[..., str]:
    """The function that writes a row of `width` plain texts, its number first, made once per width.

    Its source is generated: one f-string per cell, the empty ones left out. Python builds an f-string
    in one step, while str.format parses its template again on every call, and writing rows is the
    whole cost of a large file: this is twice as fast.

    >>> _row_writer({}, 2)(7, "", "张三")
    '<row r="7"><c r="B7" s="1" t="inlineStr"><is><t>张三</t></is></c></row>'
    """
    if width not in made:
        cells = [f"    c{n} = f'<c r=\"{column_letters(n)}{{number}}\" s=\"{TEXT}\" t=\"inlineStr\"><is><t>{{v{n}}}"
                 f"</t></is></c>' if v{n} else ''" for n in range(width)]
        source = (f"def row(number, {''.join(f'v{n}, ' for n in range(width))}):\n" + "\n".join(cells)
                  + f"\n    return f'<row r=\"{{number}}\">{''.join(f'{{c{n}}}' for n in range(width))}</row>'\n")
        namespace: dict[str, Any] = {}
        exec(source, namespace)  # noqa: S102 - our own source, made from column letters and numbers only
        made[width] = namespace["row"]
    return made[width]


def _row_cell_by_cell(number: int, texts: list[str], marked: Collection[int]) -> str:
    cells = []
    for column, text in enumerate(texts):
        wrapped = "\n" in text
        if column in marked:
            style = MARKED_WRAPPED if wrapped else MARKED
        elif text:
            style = WRAPPED if wrapped else TEXT
        else:
            continue
        reference = f"{column_letters(column)}{number}"
        cells.append(_cell(reference, text, style) if text else f'<c r="{reference}" s="{style}"/>')
    return f'<row r="{number}">{"".join(cells)}</row>'
