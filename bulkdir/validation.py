"""Validate a spreadsheet: read it, turn its rows into Member / Department records, and find every
problem in one pass. `validate_file` is the entry point; `write_report` writes the problems beside
the original rows.

    >>> result = validate_file("staff.xlsx")               # doctest: +SKIP
    >>> result.valid, result.rows, flatten(result.problems)[:1]   # doctest: +SKIP
    (False, 120, [(7, 'mobile', 'duplicate-value')])
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Collection, Literal, Union

from bulkdir.checks import check_departments_sheet, check_duplicates, check_leaders, check_member_departments
from bulkdir.collector import collector_paused
from bulkdir.errors import SheetError, Text
from bulkdir.mapping import EXTATTR, IGNORE, Mapping
from bulkdir.matching import UseridMaker
from bulkdir.parsers import DEFAULT_ROOT_NAME
from bulkdir.problems import Problem, flatten, has_errors, make_problem
from bulkdir.readers import DepartmentReader, HeaderMap, MemberReader
from bulkdir.schema import DEPARTMENT_HEADERS, MEMBER_HEADERS, Department, Member, MemberColumns
from bulkdir.sheets import (
    HEADER_SCAN_ROWS,
    OutSheet,
    RawSheet,
    Workbook,
    find_header_row,
    frame_workbook,
    normalise_header,
    open_workbook,
    write_csv,
    write_xlsx,
)

__all__ = ["Table", "ValidationResult", "validate_file", "write_report", "flatten"]

TableKind = Literal["members", "departments"]
MEMBER_SHEET_NAMES = {normalise_header(n) for n in ("成员列表", "成员", "members", "member", "通讯录", "员工")}
DEPARTMENT_SHEET_NAMES = {normalise_header(n) for n in ("部门", "部门列表", "departments", "department")}
_ALL_HEADERS = set(MEMBER_HEADERS) | set(DEPARTMENT_HEADERS)
_MEMBER_ONLY = {key for key, column in MEMBER_HEADERS.items() if column.key in ("userid", "mobile", "email")}


@dataclass
class Table:
    """A sheet as it was read, for reports written in the input's own layout. `rows` are the data
    rows (blank rows left out) as text, `row_numbers` their spreadsheet row numbers, `fields` the
    English field each column fills (None when it is not read), `preamble` the rows above the header
    (the admin console template's notes), `raw` the whole sheet as read (`raw.rows[n - 1]` is
    spreadsheet row n, merged areas filled in), which the import report writes back out."""

    kind: TableKind
    sheet: str
    header_row: int
    headers: list[str]
    fields: list[str | None]
    rows: list[list[str]]
    row_numbers: list[int]
    preamble: list[list[str]] = field(default_factory=list)
    raw: RawSheet | None = None

    def column_index(self, header: str | None) -> int | None:
        """Index of the column with this header as written, or None."""
        if header is None:
            return None
        try:
            return self.headers.index(header)
        except ValueError:
            return None


@dataclass
class ValidationResult:
    """What `validate_file` found. `tables` has the "members" and/or "departments" Table; `member_columns`
    the member rows as read (example rows left out), column by column, and `members` the same as records."""

    path: Path
    member_columns: MemberColumns
    departments: list[Department]
    problems: list[Problem]
    tables: dict[str, Table]

    @property
    def members(self) -> list[Member]:
        """The member rows as Member records, built on first use: checking a sheet needs none."""
        return self.member_columns.members()

    @property
    def table(self) -> Table:
        """The members table, or the departments table when the file has only that."""
        return self.tables.get("members") or self.tables["departments"]

    @property
    def valid(self) -> bool:
        """True when no problem is an error (warnings allowed)."""
        return not has_errors(self.problems)

    @property
    def rows(self) -> int:
        """Number of data rows read (blank rows not counted), over both sheets."""
        return sum(len(t.rows) for t in self.tables.values())

    def error_rows(self, kind: TableKind = "members") -> set[int]:
        """Row numbers of `kind`'s sheet that have at least one error."""
        sheet = self.tables[kind].sheet if kind in self.tables else None
        return {p.row for p in self.problems
                if p.severity == "error" and p.row is not None and p.sheet == sheet
                and p.row > self.tables[kind].header_row}

    def to_frame(self, lang: str = "en") -> Any:
        """The problems as a pandas DataFrame: row, field, column, value, type, message, severity, sheet."""
        import pandas

        return pandas.DataFrame([p.to_dict(lang) for p in self.problems],
                                columns=["row", "field", "column", "value", "type", "message", "severity", "sheet"])

    def to_json(self, lang: str = "en") -> dict[str, Any]:
        """The `bulkdir validate --json` document."""
        return {"valid": self.valid, "rows": self.rows,
                "problems": [p.to_dict(lang) for p in self.problems]}


def unreadable_document(error: SheetError, lang: str = "en") -> dict[str, Any]:
    """The `validate --json` document of a file that cannot be read at all: one problem, typed by why.

    >>> unreadable_document(SheetError("x.csv is empty", "x.csv 是空文件", slug="empty-file"))["problems"][0]["type"]
    'empty-file'
    """
    problem = {"row": None, "field": None, "column": None, "value": None, "type": error.slug,
               "message": error.message.in_lang(lang), "severity": "error", "sheet": None}
    return {"valid": False, "rows": 0, "problems": [problem]}


Source = Union[str, Path, Workbook, Any]
"""What a sheet is read from: a file's path, an opened Workbook, or a pandas DataFrame (or a dict of them
by sheet name) built in a notebook."""


def open_source(source: Source, encoding: str | None = None) -> Workbook:
    """The Workbook of a source: a path is opened (SheetError when it cannot be), a DataFrame is taken as
    a sheet of its text."""
    if isinstance(source, Workbook):
        return source
    if isinstance(source, (str, Path)):
        return open_workbook(source, encoding)
    return frame_workbook(source)


def validate_file(path: Source, sheet: str | None = None, encoding: str | None = None,
                  known_userids: Collection[str] | None = None,
                  root_name: str = DEFAULT_ROOT_NAME, *, mapping: Mapping | None = None,
                  custom_fields: dict[str, str] | None = None, maker: UseridMaker | None = None) -> ValidationResult:
    """Read and check a members and/or departments spreadsheet. Raises SheetError only when the
    file cannot be read at all; everything wrong inside it is a Problem.

    `known_userids` (lower-cased userids of the corp) makes a row whose userid exists an update,
    which needs no name, mobile or email, and lets unknown leaders be errors. `root_name` is the
    top department's name, dropped from the front of department paths. `mapping` reads an HR system's
    headers (bulkdir/mapping.py; MappingError before any row is read when it does not fit the sheet);
    `custom_fields` are the corp's (name -> "text" | "web") when the directory shows them (None: a custom field
    is not checked, and with `known_userids` a warning says so); `maker` gives the rows without a
    userid the userids they would get in an empty directory (bulkdir/matching.py), so that a name that
    makes none is a problem now, not at import.

    >>> result = validate_file("staff.xlsx", known_userids={"zhangsan"}, root_name="示例企业")  # doctest: +SKIP
    >>> [m.values["userid"] for m in result.members][:2]                                       # doctest: +SKIP
    ['zhangsan', 'lisi']
    """
    with collector_paused():
        return _validate(open_source(path, encoding), sheet, known_userids, root_name,
                         mapping or Mapping(), custom_fields, maker)


class KnownHeaders(frozenset[str]):
    """The normalised headers a header row is found by, and any header naming its custom field itself
    (`extattr:工号`), so that a sheet of userids and custom fields has a header row too."""

    def __contains__(self, header: object) -> bool:
        return super().__contains__(header) or (isinstance(header, str) and header.startswith(_EXTATTR_KEY))


_EXTATTR_KEY = normalise_header(EXTATTR)


def _validate(book: Workbook, sheet: str | None, known_userids: Collection[str] | None,
              root_name: str, mapping: Mapping, custom_fields: dict[str, str] | None,
              maker: UseridMaker | None) -> ValidationResult:
    known = KnownHeaders(_ALL_HEADERS | mapping.headers() | {normalise_header(name) for name in custom_fields or ()})
    chosen = _choose_sheets(book, sheet, known, mapping)
    if mapping:
        mapping.check_headers((raw.rows[index] for _, raw, index in chosen), book.path.name)
    members = MemberColumns([], {}, [], [])
    departments: list[Department] = []
    problems: list[Problem] = []
    tables: dict[str, Table] = {}
    member_headers: HeaderMap | None = None
    department_headers: HeaderMap | None = None
    for kind, raw, header_index in chosen:
        sheet_problems: list[Problem] = []
        table = _table(kind, raw, header_index, sheet_problems)
        if kind == "members":
            if maker is not None:
                maker.check(table.headers)
            reader = MemberReader(table.headers, table.header_row, root_name, known_userids, mapping=mapping,
                                  custom_fields=custom_fields, makes_userids=maker is not None)
            members = reader.read_columns(table.rows, table.row_numbers)
            sheet_problems += reader.problems
            if maker is not None and known_userids is None:
                sheet_problems += _made_userids(members, maker, table)
            member_headers = reader.columns
        else:
            department_reader = DepartmentReader(table.headers, table.header_row, root_name, mapping=mapping)
            for cells, number in zip(table.rows, table.row_numbers):
                department_reader.read(cells, number)
            department_reader.finish()
            departments = department_reader.departments
            sheet_problems += department_reader.problems
            department_headers = department_reader.columns
        table.fields = (member_headers if kind == "members" else department_headers).fields  # type: ignore[union-attr]
        tables[kind] = table
        if not table.rows:
            sheet_problems.append(make_problem("no-rows", row=table.header_row))
        problems += _in_sheet(sheet_problems, raw.name)
    if member_headers is not None:
        header_of = member_headers.header_of
        across = check_duplicates(members, header_of)
        across += check_leaders(members, header_of, known_userids)
        across += check_member_departments(members, departments, header_of)
        problems += _in_sheet(across, tables["members"].sheet)
    if department_headers is not None:
        problems += _in_sheet(check_departments_sheet(departments, department_headers.header_of),
                              tables["departments"].sheet)
    sheet_order = {table.sheet: index for index, table in enumerate(tables.values())}
    # a stable sort: a row's problems stay in column order
    problems.sort(key=lambda p: (sheet_order.get(p.sheet or "", 0), p.row or 0))
    return ValidationResult(book.path, members, departments, problems, tables)


def _made_userids(columns: MemberColumns, maker: UseridMaker, table: Table) -> list[Problem]:
    """The userids the rows without one would get in an empty directory, written into their records and
    their userid column (the checks across rows count them as the sheet's own), and a Problem for each row
    that gets none."""
    from bulkdir.matching import identify
    from bulkdir.wecom.directory import Directory

    members = columns.members()
    outcome = identify(members, Directory({}, {}), maker=maker, cells=row_cells(table, maker.columns()))
    columns.values["userid"] = [member.values.get("userid") for member in members]
    header = next((h for h, f in zip(table.headers, table.fields) if f == "userid"), None)
    return [make_problem("userid-not-made", row=row, field="userid", column=header, reason=reason)
            for row, reason in sorted(outcome.problems.items())]


def row_cells(table: Table, headers: list[str]) -> Callable[[int], dict[str, str]]:
    """`cells(row)`: a row's cells of the given headers (as written, stripped), for userid templates."""
    indexes = {header: table.headers.index(header) for header in headers if header in table.headers}
    positions = {number: index for index, number in enumerate(table.row_numbers)}

    def cells(row: int) -> dict[str, str]:
        found = table.rows[positions[row]] if row in positions else []
        return {header: (found[i].strip() if i < len(found) else "") for header, i in indexes.items()}
    return cells


def _in_sheet(problems: list[Problem], sheet: str) -> list[Problem]:
    return [replace(p, sheet=sheet) for p in problems]


def _kind_of(raw: RawSheet, header_index: int, mapping: Mapping) -> TableKind:
    mapped = [_as_mapped(c, mapping) for c in raw.rows[header_index] if c and len(c) < 100]
    if any(target.strip().lower().startswith(EXTATTR) for target in mapped):
        return "members"  # only members have custom fields
    keys = {normalise_header(target) for target in mapped}
    if keys & _MEMBER_ONLY:
        return "members"
    member_score = len(keys & set(MEMBER_HEADERS))
    department_score = len(keys & set(DEPARTMENT_HEADERS))
    return "departments" if department_score > member_score else "members"


def _as_mapped(header: str, mapping: Mapping) -> str:
    """The field a header stands for when the mapping names it, else the header itself."""
    target = mapping.target_of(header) if mapping else None
    return header if target is None or target == IGNORE else target


def _header_index(raw: RawSheet, book: Workbook, known: KnownHeaders) -> int:
    index = find_header_row(raw.rows, known)
    if index is None:
        where = f"sheet {raw.name!r} of {book.path.name}" if len(book.sheet_names) > 1 or book.path.suffix.lower() \
            not in (".csv", ".tsv", ".txt") else book.path.name
        raise _no_header(where)
    return index


def _no_header(where: str, hint: Text = Text("")) -> SheetError:
    return SheetError(f"no header row found in the first {HEADER_SCAN_ROWS} rows of {where}: expected headers "
                      f"such as 姓名, 帐号, 手机, 部门 (or name, userid, mobile, department){hint}",
                      f"{where} 的前 {HEADER_SCAN_ROWS} 行中没有找到表头：应有“姓名”“帐号”“手机”“部门”等列{hint.zh}",
                      slug="no-header-row")


def _choose_sheets(book: Workbook, sheet: str | None, known: KnownHeaders,
                   mapping: Mapping) -> list[tuple[TableKind, RawSheet, int]]:
    if sheet is not None:
        raw = book.read(sheet)
        index = _header_index(raw, book, known)
        return [(_kind_of(raw, index, mapping), raw, index)]
    names = {normalise_header(n): n for n in reversed(book.sheet_names)}
    member_name = next((names[k] for k in names if k in MEMBER_SHEET_NAMES), None)
    department_name = next((names[k] for k in names if k in DEPARTMENT_SHEET_NAMES), None)
    chosen: list[tuple[TableKind, RawSheet, int]] = []
    if member_name is not None:
        raw = book.read(member_name)
        chosen.append(("members", raw, _header_index(raw, book, known)))
    if department_name is not None:
        raw = book.read(department_name)
        chosen.append(("departments", raw, _header_index(raw, book, known)))
    if member_name is None:
        # No sheet is named for members: take the first sheet whose header row looks like one
        # (a notes sheet often comes first), or failing that a departments sheet.
        fallback: tuple[TableKind, RawSheet, int] | None = None
        for name in book.sheet_names:
            if name == department_name:
                continue
            raw = book.read(name)
            found = find_header_row(raw.rows, known)
            if found is None:
                continue
            kind = _kind_of(raw, found, mapping)
            if kind == "members":
                chosen.insert(0, (kind, raw, found))
                break
            fallback = fallback or (kind, raw, found)
        else:
            if not chosen and fallback is not None:
                chosen.append(fallback)
        if not chosen:
            where = book.path.name if len(book.sheet_names) == 1 else f"any sheet of {book.path.name}"
            several = len(book.sheet_names) > 1
            raise _no_header(where, Text(" (use --sheet to name the sheet)", "（可用 --sheet 指定工作表）")
                             if several else Text(""))
    chosen.sort(key=lambda item: item[0] != "members")
    return chosen


def _table(kind: TableKind, raw: RawSheet, header_index: int, problems: list[Problem]) -> Table:
    rows = raw.rows
    header = rows[header_index]
    last = len(header)
    while last and not header[last - 1].strip():
        last -= 1
    headers = [h.strip() for h in header[:last]]
    for r0, c0, r1, c1 in raw.merged:
        if r0 <= header_index or r0 >= len(rows):
            continue
        origin = rows[r0]
        value = origin[c0] if c0 < len(origin) else ""
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            target = rows[r]
            if len(target) <= c1:
                target.extend([""] * (c1 + 1 - len(target)))
            for c in range(c0, c1 + 1):
                target[c] = value
        if value:
            problems.append(make_problem("merged-cells", row=r0 + 1, value=value,
                                         cells=f"{_cell_name(r0, c0)}:{_cell_name(r1, c1)}"))
    data: list[list[str]] = []
    numbers: list[int] = []
    for index in range(header_index + 1, len(rows)):
        cells = rows[index]
        for cell in cells:
            if cell and not cell.isspace():
                break
        else:
            continue
        data.append(cells)
        numbers.append(index + 1)
    if raw.hidden_rows:
        hidden = raw.hidden_rows
        problems += [make_problem("hidden-row", row=n) for n in numbers if n in hidden]
    return Table(kind, raw.name, header_index + 1, headers, [None] * len(headers), data, numbers,
                 rows[:header_index], raw)


def _cell_name(row: int, column: int) -> str:
    from openpyxl.utils import get_column_letter

    return f"{get_column_letter(column + 1)}{row + 1}"


# ---------------------------------------------------------------------------------------------
# the problem report

ROW_HEADER = "原行号 Row"
PROBLEMS_HEADER = "问题 Problems"
LIST_HEADERS = {"en": ["Sheet", "Row", "Field", "Column", "Value", "Type", "Severity", "Message"],
                "zh": ["工作表", "行号", "字段", "列", "值", "类型", "级别", "说明"]}


def write_report(result: ValidationResult, path: str | Path, lang: str = "en") -> Path:
    """Write the problems beside the original rows: for each sheet, the rows that have problems
    with their original row number first, the original columns, and the problems last; offending
    cells are highlighted in xlsx. An xlsx also gets a sheet listing every problem. `.csv` writes
    the rows of the members (or only) sheet, with table-wide problems on rows of their own.

    >>> write_report(validate_file("staff.xlsx"), "problems.xlsx", lang="zh")   # doctest: +SKIP
    PosixPath('problems.xlsx')
    """
    path = Path(path)
    if path.resolve() == result.path.resolve():
        raise SheetError(f"the report would overwrite {path.name}, the sheet being checked; name another file")
    if path.suffix.lower() not in (".xlsx", ".csv"):
        raise SheetError(f"a report is written as .xlsx or .csv, not {path.suffix or 'a file without a suffix'}")
    # Checked before writing: openpyxl fails late, after it has built the file, and noisily.
    folder = path.parent
    if not folder.is_dir():
        raise SheetError(f"cannot write the report {path}: the folder {folder} does not exist",
                         f"无法写入报告 {path}：文件夹 {folder} 不存在")
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise SheetError(f"cannot write the report {path}: permission denied", f"无法写入报告 {path}：没有写入权限")
    sheets = []
    for kind, table in result.tables.items():
        mine = [p for p in result.problems if p.sheet == table.sheet]
        by_row: dict[int, list[Problem]] = defaultdict(list)
        general: list[Problem] = []
        for problem in mine:
            if problem.row is not None and problem.row > table.header_row:
                by_row[problem.row].append(problem)
            else:
                general.append(problem)
        headers = [ROW_HEADER, *table.headers, PROBLEMS_HEADER]
        width = len(table.headers)
        rows: list[list[str]] = []
        highlight: dict[int, set[int]] = {}
        for problem in general:
            rows.append([str(problem.row or "")] + [""] * width + [problem.message.in_lang(lang)])
        for cells, number in zip(table.rows, table.row_numbers):
            found = by_row.get(number)
            if not found:
                continue
            marked = {i + 1 for i in (table.column_index(p.column) for p in found) if i is not None}
            if marked:
                highlight[len(rows)] = marked
            cells = (cells + [""] * width)[:width]
            rows.append([str(number), *cells, "\n".join(p.message.in_lang(lang) for p in found)])
        sheets.append(OutSheet(f"{table.sheet} 问题" if len(result.tables) > 1 else table.sheet,
                               headers, rows, highlight))
    try:
        if path.suffix.lower() == ".csv":
            first = sheets[0] if sheets else OutSheet("", [ROW_HEADER, PROBLEMS_HEADER], [])
            write_csv(path, first.headers, first.rows)
            return path
        listing = [[p.sheet or "", "" if p.row is None else str(p.row), p.field or "", p.column or "",
                    p.value or "", p.type, p.severity, p.message.in_lang(lang)] for p in result.problems]
        sheets.append(OutSheet("问题列表 Problems", LIST_HEADERS.get(lang, LIST_HEADERS["en"]), listing))
        write_xlsx(path, sheets)
    except OSError as error:  # a full disk, a file Excel holds open on Windows, ...
        raise SheetError(f"cannot write the report {path}: {error.strerror or error}",
                         f"无法写入报告 {path}：{error.strerror or error}") from None
    return path
