"""Row readers: a sheet's header row and data rows in, `Member` / `Department` records and Problems out.

`HeaderMap` finds which column fills which field (unknown, duplicate and missing columns are Problems
of the header row); `MemberReader` and `DepartmentReader` read the rows, one Problem per bad cell, and
go on: a bad row is data, never an exception.
"""

from __future__ import annotations

import operator
import re
from dataclasses import replace
from typing import Any, Callable, Collection, Iterable, Sequence, cast

from bulkdir.errors import Text
from bulkdir.fields import DEPARTMENT_LABELS, MAX_DEPARTMENTS, MAX_DEPTH, MEMBER_LABELS
from bulkdir.mapping import EXTATTR, IGNORE, ColumnMapping, Mapping, custom_field_column, named_custom_field, suggest
from bulkdir.parsers import (
    _DIGITS,
    AS_IS,
    AS_IS_COLUMN,
    AS_ONE,
    CLEAR_MARKERS,
    DEFAULT_ROOT_NAME,
    CellProblem,
    _narrow,
    _split,
    department_name_problem,
    parse_department_id,
    parse_department_ids,
    parse_path,
    path_text,
)
from bulkdir.problems import Problem, make_problem
from bulkdir.schema import (
    DEPARTMENT_HEADERS,
    IGNORED_HEADERS,
    MEMBER_HEADERS,
    Column,
    Department,
    DepartmentRef,
    Member,
    MemberColumns,
    is_example_name,
)
from bulkdir.sheets import normalise_header


def _cell_problem(error: CellProblem, row: int, column: Column, header: str, text: str) -> Problem:
    """The Problem for a cell whose parser raised `error`."""
    return make_problem(error.slug, row=row, field=column.field, column=header,
                        value=error.value if error.value is not None else text, label=column.label, **error.params)


class HeaderMap:
    """Which column holds which field: built from a header row, reporting unknown, duplicate and
    missing columns as Problems of the header's row.

    `mapping` (bulkdir/mapping.py) names the columns an HR system heads its own way; `custom_fields` are
    the corp's custom fields (name -> "text" | "web") when the directory shows them, None when it cannot: a
    header that is a custom field's name fills it, and a column mapped to a custom field the corp lacks is
    an error."""

    def __init__(self, headers: list[str], table: dict[str, Column], header_row: int,
                 required: Iterable[str] = (), *, mapping: Mapping | None = None, kind: str = "members",
                 custom_fields: dict[str, str] | None = None):
        self.headers = headers
        self.header_row = header_row
        self.plan: list[tuple[int, Column, str]] = []
        self.problems: list[Problem] = []
        self.fields: list[str | None] = [None] * len(headers)
        seen: dict[str, str] = {}
        unknown: list[str] = []
        for index, header in enumerate(headers):
            key = normalise_header(header) if header else ""
            if not key:
                continue
            mapped = mapping.lookup(header) if mapping else None
            if mapped is None and kind == "members":
                mapped = named_custom_field(header)
            if mapped is None and key in IGNORED_HEADERS:
                continue  # a column the mapping names is read, whatever its header
            if mapped is not None:
                column = self._mapped_column(mapped, header, kind, custom_fields)
                if column is None:
                    continue
            else:
                column = table.get(key)
                if column is None and custom_fields and kind == "members" and header.strip() in custom_fields:
                    name = header.strip()
                    column = custom_field_column(name, custom_fields[name])
            if column is None:
                unknown.append(header)
                continue
            if column.key in seen:
                self.problems.append(make_problem("duplicate-column", row=header_row, field=column.field,
                                                  column=header, label=column.label))
                continue
            seen[column.key] = header
            self.fields[index] = column.field
            self.plan.append((index, column, header))
        if len(unknown) > 10:
            shown = ", ".join(unknown[:10]) + f" … (+{len(unknown) - 10})"
            self.problems.append(make_problem("unknown-column", row=header_row, column=shown,
                                              suggestion=Text("--map COLUMN=FIELD", "--map 列名=字段")))
        else:
            self.problems += [make_problem("unknown-column", row=header_row, column=h, suggestion=suggest(h))
                              for h in unknown]
        self.keys = seen  # column key -> header as written
        for key in required:
            if key not in seen:
                column = next(c for c in table.values() if c.key == key)
                self.problems.append(make_problem("missing-required-column", row=header_row, field=column.field,
                                                  label=column.label))

    def _mapped_column(self, mapped: ColumnMapping, header: str, kind: str,
                       custom_fields: dict[str, str] | None) -> Column | None:
        """The Column a mapped header fills, or None (ignored, or a field this kind of sheet lacks)."""
        if mapped.target == IGNORE:
            return None
        name = mapped.custom_field
        column: Column | None
        if name is not None and kind == "members":
            if custom_fields is not None and name not in custom_fields:
                self.problems.append(make_problem("unknown-custom-field", row=self.header_row, column=header,
                                                  value=name, known="、".join(custom_fields) or "none"))
                return None
            column = custom_field_column(name, (custom_fields or {}).get(name))
        else:
            column = mapped.member_column() if kind == "members" and name is None else (
                mapped.department_column() if kind == "departments" else None)
        if column is None:
            kind_zh = "成员表" if kind == "members" else "部门表"
            self.problems.append(make_problem("mapped-to-other-sheet", row=self.header_row, column=header,
                                              value=mapped.target, kind=kind, kind_zh=kind_zh))
            return None
        if mapped.values and column.parse is not None:
            parse, word = column.parse, mapped.reader()
            column = replace(column, parse=lambda text: parse(word(text)))
        return column

    def header_of(self, field_name: str) -> str | None:
        """The header as written of the first column filling `field_name`."""
        for _, column, header in self.plan:
            if column.field == field_name:
                return header
        return None


_TO_VALUES, _TO_DEPARTMENTS, _TO_MAIN = 0, 1, 2
_MAYBE_EXAMPLE = re.compile(r"[）)]\s*(?:\n|\Z)")  # a name (of names joined by line ends) ending as "（示例）" does
_MISSING = object()
_MEMO_LIMIT = 10_000
_REPEATING = {"gender", "position", "is_leader_in_dept", "order", "enable", "disabled", "to_invite",
              "external_position", "direct_leader"}


class MemberReader:
    """Turns member rows into `Member` records, appending Problems to `problems`.

    >>> reader = MemberReader(["帐号", "姓名", "手机"], header_row=1)
    >>> reader.read(["zhangsan", "张三", "+86 139 1234 5678"], 2).values["mobile"]
    '13912345678'
    """

    def __init__(self, headers: list[str], header_row: int, root_name: str = DEFAULT_ROOT_NAME,
                 known_userids: Collection[str] | None = None, *, mapping: Mapping | None = None,
                 custom_fields: dict[str, str] | None = None, makes_userids: bool = False):
        # With a directory at hand a sheet of updates needs no name column: only new members need names.
        # A sheet without userids is read too when its rows can be found by mobile or email (or be given
        # made userids): bulkdir/matching.py finds them when the sheet is imported.
        self.columns = HeaderMap(headers, MEMBER_HEADERS, header_row, mapping=mapping, kind="members",
                                 custom_fields=custom_fields)
        self.root_name = root_name
        self.known = known_userids
        self.problems: list[Problem] = list(self.columns.problems)
        if custom_fields is None and known_userids is not None:
            # a directory at hand that cannot show its custom fields: a field the corp lacks is dropped by WeCom
            self.problems += [make_problem("custom-fields-unchecked", row=header_row, column=header,
                                           value=column.key[len(EXTATTR):])
                              for _, column, header in self.columns.plan if column.key.startswith(EXTATTR)]
        keys = self.columns.keys
        self.has_contact = "mobile" in keys or "email" in keys
        self.findable = self.has_contact or "biz_mail" in keys
        required = ["name"] if known_userids is None else []
        if "userid" not in keys:
            if not self.findable and not makes_userids:
                required.insert(0, "userid")
            elif not makes_userids:
                self.problems.append(make_problem("no-userid-column", row=header_row))
        for key in required:
            if key not in keys:
                self.problems.append(make_problem("missing-required-column", row=header_row, field=key,
                                                  label=MEMBER_LABELS[key]))
        if not self.has_contact and known_userids is None:
            self.problems.append(make_problem("no-mobile-or-email-column", row=header_row))
        self._name_index = next((i for i, c, _ in self.columns.plan if c.key == "name"), None)
        self._plan = [(i, c, h, *self._converter(c)) for i, c, h in self.columns.plan]

    def _converter(self, column: Column) -> tuple[Callable[[str], Any], int, dict[str, Any] | None]:
        # Columns whose values repeat across rows (departments, gender, order, ...) remember each
        # distinct text's result: on 100,000 rows that is most of the reading time saved.
        # Department columns always do; a column of values without a memo is read by _read_plain_column.
        if column.key == "department":
            return self._paths, _TO_DEPARTMENTS, {}
        if column.key == "department_id":
            return parse_department_ids, _TO_DEPARTMENTS, {}
        if column.key == "main_department":
            return self._main, _TO_MAIN, {}
        assert column.parse is not None
        return column.parse, _TO_VALUES, {} if column.key in _REPEATING else None

    def read(self, cells: list[str], row: int) -> Member | None:
        """The Member of one row, or None for an example row (which gets a warning)."""
        members = self.read_all([cells], [row])
        return members[0] if members else None

    def read_all(self, rows: list[list[str]], numbers: list[int]) -> list[Member]:
        """The Members of many rows (`numbers` their spreadsheet row numbers), example rows left out."""
        return self.read_columns(rows, numbers).members()

    def read_columns(self, rows: list[list[str]], numbers: list[int]) -> MemberColumns:
        """The rows (`numbers` their spreadsheet row numbers), example rows left out, read and checked column
        by column into MemberColumns: the loop per cell stays short and no record is made per row, which on
        100,000 rows is most of the reading time saved."""
        problems = self.problems
        width = len(self.columns.headers)
        name_index = self._name_index
        if min(map(len, rows), default=width) >= width:
            by_column = list(zip(*rows)) if self._plan else []
            if not (by_column and name_index is not None and _MAYBE_EXAMPLE.search("\n".join(by_column[name_index]))):
                # No short row to pad and no name that may be an example's: every row is kept as it is.
                return self._read_kept(by_column, numbers)
        kept: list[list[str]] = []
        kept_numbers: list[int] = []
        for cells, number in zip(rows, numbers):
            if len(cells) < width:
                cells = cells + [""] * (width - len(cells))
            if name_index is not None:
                name = cells[name_index]
                if name and name.rstrip()[-1:] in ("）", ")") and is_example_name(name.strip()):
                    problems.append(make_problem("example-row", row=number, field="name",
                                                 column=self.columns.headers[name_index], value=name.strip()))
                    continue
            kept.append(cells)
            kept_numbers.append(number)
        return self._read_kept(list(zip(*kept)) if self._plan else [], kept_numbers)

    def _read_kept(self, by_column: list[tuple[str, ...]], numbers: list[int]) -> MemberColumns:
        """The MemberColumns of the kept rows given as their columns of text (at least as many as the header
        has), `numbers` their row numbers."""
        count = len(numbers)
        read = MemberColumns(list(numbers), {}, [None] * count, [None] * count)
        bad: dict[int, set[str]] = {}  # position -> the fields with a problem of their own
        departments_read = False  # a second departments column (ids beside paths) adds to the first, row by row
        for index, column, header, convert, target, memo in self._plan:
            field_name = column.field
            texts = by_column[index] if by_column else ()
            if target == _TO_VALUES and (as_is := _read_as_is(texts, convert, memo is not None)) is not None:
                _store(read, field_name, as_is)
                continue
            if memo is None:
                _store(read, field_name, self._read_plain_column(texts, read, column, header, convert, bad))
                continue
            # Each distinct text read once, then looked up for every row that holds it.
            outcomes = {text: _outcome(text, convert, memo) for text in set(texts) if text}
            adds_departments = target == _TO_DEPARTMENTS and departments_read
            departments_read = departments_read or target == _TO_DEPARTMENTS
            if not adds_departments and not any(value is _BLANK or value.__class__ is _Odd
                                                for value in outcomes.values()):
                # no clear marker, bad value or blank-looking text: the column is its outcomes (a blank None)
                got = list(map({**outcomes, "": None}.__getitem__, texts))
                if target == _TO_VALUES:
                    _store(read, field_name, got)
                elif target == _TO_DEPARTMENTS:
                    read.departments = got
                else:
                    read.main_department = got
                continue
            got = read.main_department if target == _TO_MAIN else [None] * count
            for position, text in enumerate(texts):
                if not text:
                    continue
                value = outcomes[text]
                if value is _BLANK:
                    continue
                if value.__class__ is _Odd:
                    if value.error is None:
                        self._clear(position, read, column, header, value.text, bad)
                    else:
                        self._bad_cell(position, read, column, header, value.text, value.error, bad)
                elif target == _TO_DEPARTMENTS:
                    held = read.departments[position]
                    read.departments[position] = value if held is None else held + value
                else:
                    got[position] = value
            if target == _TO_VALUES:
                _store(read, field_name, got)
        self._check_rows(read, bad)
        return read

    def _read_plain_column(self, texts: Sequence[str], read: MemberColumns, column: Column, header: str,
                           convert: Callable[[str], Any], bad: dict[int, set[str]]) -> list[Any]:
        # The common case kept tight: a column of mostly distinct values (userid, name, mobile, ...).
        got: list[Any] = [None] * len(texts)
        for position, text in enumerate(texts):
            if not text:
                continue
            text = text.strip()
            if not text:
                continue
            if text[0] in "（(<" and text in CLEAR_MARKERS:
                self._clear(position, read, column, header, text, bad)
                continue
            try:
                got[position] = convert(text)
            except CellProblem as error:
                self._bad_cell(position, read, column, header, text, error, bad)
        return got

    def _clear(self, position: int, read: MemberColumns, column: Column, header: str, text: str,
               bad: dict[int, set[str]]) -> None:
        if column.clearable:
            read.clear.setdefault(position, set()).add(column.field)
        else:
            bad.setdefault(position, set()).add(column.field)  # one problem for the cell, not a second "required"
            self.problems.append(make_problem("clear-not-allowed", row=read.rows[position], field=column.field,
                                              column=header, value=text, label=column.label))

    def _bad_cell(self, position: int, read: MemberColumns, column: Column, header: str, text: str,
                  error: CellProblem, bad: dict[int, set[str]]) -> None:
        bad.setdefault(position, set()).add(column.field)
        self.problems.append(_cell_problem(error, read.rows[position], column, header, text))

    def _main(self, text: str) -> DepartmentRef:
        if _DIGITS.fullmatch(_narrow(text)):
            return parse_department_id(text)
        return parse_path(text, self.root_name)

    def _paths(self, text: str) -> list[DepartmentRef]:
        paths: list[DepartmentRef] = [parse_path(part, self.root_name) for part in _split(text)]
        if len(paths) > MAX_DEPARTMENTS:
            raise CellProblem("too-many-departments", count=len(paths))
        return paths

    def _check_rows(self, read: MemberColumns, bad: dict[int, set[str]]) -> None:
        """The checks of each row as a whole (a required field, a contact, departments against their
        flags), one pass per check over only the rows it can concern. A row's problems come in the order
        of the checks, after its cells' own, as the final sort by row keeps them."""
        problems, rows, header_of, keys = self.problems, read.rows, self.columns.header_of, self.columns.keys
        count = len(rows)
        nothing: list[Any] = [None] * count
        values = read.values
        userids = values.get("userid", nothing)
        no_bad: set[str] = set()
        checks_new = self.known is not None  # rows of new members are checked even without the columns

        def findable(position: int) -> bool:
            return any(values[name][position] is not None for name in ("mobile", "email", "biz_mail")
                       if name in values)

        def known(position: int) -> bool:
            userid = userids[position]
            return self.known is not None and userid is not None and userid.lower() in self.known

        if "userid" in keys or not self.findable:
            for position in _blank_positions(userids):
                if "userid" not in bad.get(position, no_bad) and not findable(position):
                    problems.append(make_problem("missing-required", row=rows[position], field="userid",
                                                 column=header_of("userid")))
        # A row without a userid found by mobile or email is an update: whether it needs a name is decided
        # once it is matched (bulkdir/matching.py); offline, it is checked as a new member's.
        if "name" in keys or checks_new:
            for position in _blank_positions(values.get("name", nothing)):
                maybe_known = userids[position] is None and checks_new
                if "name" not in bad.get(position, no_bad) and not maybe_known and not known(position):
                    problems.append(make_problem("missing-required", row=rows[position], field="name",
                                                 column=header_of("name")))
        if self.has_contact or checks_new:
            mobiles, emails = values.get("mobile", nothing), values.get("email", nothing)
            for position in _blank_positions(mobiles):
                if emails[position] is not None or known(position):
                    continue
                if userids[position] is None and checks_new and findable(position):
                    continue  # maybe known: matched by its 企业邮箱
                row_bad = bad.get(position, no_bad)
                if "mobile" not in row_bad and "email" not in row_bad:
                    problems.append(make_problem("no-mobile-or-email", row=rows[position]))
        departments, mains = read.departments, read.main_department
        flags = [(name, values[name]) for name in ("is_leader_in_dept", "order") if name in values]
        # the rows a departments check can concern: more than one department, a main one given, or flags
        # not one per department (compared as lists of lengths where every row has some: far quicker; `all`
        # looks at a column quicker than `None in` compares)
        lengths = list(map(len, cast("list[list[DepartmentRef]]", departments))) if all(departments) else None
        if lengths is None:
            concerned = {p for p, held in enumerate(departments) if held and len(held) > 1}
        else:
            concerned = {p for p, length in enumerate(lengths) if length > 1} if max(lengths, default=0) > 1 else set()
        mains_given = mains.count(None) < count
        if mains_given:
            concerned.update(p for p, main in enumerate(mains) if main is not None and departments[p])
        for _, given_column in flags:
            if lengths is not None and all(given_column) and list(map(len, given_column)) == lengths:
                continue
            concerned.update(p for p, (given, held) in enumerate(zip(given_column, departments))
                             if given is not None and held and len(given) != len(held))
        for position in sorted(concerned):
            held = departments[position] or []
            if "department" in bad.get(position, no_bad):
                continue
            row = rows[position]
            if len(held) > MAX_DEPARTMENTS:
                problems.append(make_problem("too-many-departments", row=row, field="department",
                                             column=header_of("department"), count=len(held)))
            if len(held) > 1 and len(set(held)) < len(held):
                seen: set[DepartmentRef] = set()
                for ref in held:
                    if ref in seen:
                        shown = ref if isinstance(ref, int) else path_text(ref)
                        problems.append(make_problem("duplicate-department", row=row, field="department",
                                                     column=header_of("department"), value=str(shown)))
                        break
                    seen.add(ref)
            for name, given_column in flags:
                given = given_column[position]
                if given is not None and len(given) != len(held):
                    problems.append(make_problem("length-mismatch", row=row, field=name, column=header_of(name),
                                                 value=";".join(map(str, given)), count=len(given),
                                                 expected=len(held)))
            main = mains[position]
            if main is not None:
                same_kind = [d for d in held if isinstance(d, int) == isinstance(main, int)]
                if len(same_kind) == len(held) and main not in same_kind:  # paths and ids: the importer compares
                    shown = main if isinstance(main, int) else path_text(main)
                    problems.append(make_problem("main-department-not-listed", row=row, field="main_department",
                                                 column=header_of("main_department"), value=str(shown)))
        if lengths is not None and not mains_given:
            read.main_department = list(map(operator.itemgetter(0), cast("list[list[DepartmentRef]]", departments)))
        else:
            read.main_department = [listed[0] if main is None and listed else main
                                    for main, listed in zip(mains, departments)]


_BLANK = object()


class _Odd:
    """The outcome of a cell that is a clear marker (`error` None) or a bad value; `text` is it stripped."""

    __slots__ = ("text", "error")

    def __init__(self, text: str, error: CellProblem | None):
        self.text, self.error = text, error


def _outcome(text: str, convert: Callable[[str], Any], memo: dict[str, Any]) -> Any:
    """What a cell's text gives: _BLANK, an _Odd, or its value (remembered in `memo`, up to _MEMO_LIMIT)."""
    text = text.strip()
    if not text:
        return _BLANK
    if text[0] in "（(<" and text in CLEAR_MARKERS:
        return _Odd(text, None)
    value = memo.get(text, _MISSING)
    if value is _MISSING:
        try:
            value = convert(text)
        except CellProblem as error:
            value = error
        if len(memo) < _MEMO_LIMIT:
            memo[text] = value
    return _Odd(text, value) if value.__class__ is CellProblem else value


def _store(read: MemberColumns, field_name: str, values: list[Any]) -> None:
    """A column's values as its field's. Two columns may fill one field (是否启用 and 是否禁用 both say
    enable): the later one's values then take the place of the earlier one's only where it has any."""
    held = read.values.get(field_name)
    read.values[field_name] = values if held is None else [
        earlier if later is None else later for earlier, later in zip(held, values)]


def _blank_positions(values: list[Any]) -> list[int]:
    """The positions of a column of texts whose value is None (a blank cell, or no such column)."""
    if all(values):  # a column of texts, none blank (quicker to ask than `None in`)
        return []
    return [position for position, value in enumerate(values) if value is None]


def _read_as_is(texts: Sequence[str], convert: Callable[[str], Any], repeating: bool = False) -> list[Any] | None:
    """A column's values when `convert` would give back every non-blank text as it is (or as a list of just
    it), as parsers.AS_IS_COLUMN, else AS_IS (AS_ONE) cell by cell, tells, with no parser called; None when
    it would not. The texts of a `repeating` column are checked once each."""
    one = False
    as_is = AS_IS.get(convert)
    if as_is is None:
        as_is, one = AS_ONE.get(convert), True
    if as_is is None:
        return None
    blanks = not all(texts)  # quicker to ask than `"" in`
    if repeating:
        cells = list(filter(None, set(texts)))
    else:
        cells = list(filter(None, texts)) if blanks else list(texts)
    whole = AS_IS_COLUMN.get(convert)
    if not (whole is not None and whole(cells)) and not all(map(as_is.fullmatch, cells)):
        return None
    if one:
        return [[text] if text else None for text in texts]
    return [text or None for text in texts] if blanks else list(texts)


class DepartmentReader:
    """Turns departments-sheet rows into `Department` records, appending Problems to `problems`.
    Call `finish()` after the last row to resolve parents given by id."""

    def __init__(self, headers: list[str], header_row: int, root_name: str = DEFAULT_ROOT_NAME, *,
                 mapping: Mapping | None = None):
        self.columns = HeaderMap(headers, DEPARTMENT_HEADERS, header_row, mapping=mapping, kind="departments")
        self.root_name = root_name
        self.problems: list[Problem] = list(self.columns.problems)
        keys = self.columns.keys
        if "path" not in keys and "name" not in keys:
            self.problems.append(make_problem("missing-required-column", row=header_row, field="name",
                                              label=DEPARTMENT_LABELS["name"]))
        self.departments: list[Department] = []
        self._path_parent_ids: list[tuple[int, tuple[str, ...], int]] = []  # checked in finish()

    def read(self, cells: list[str], row: int) -> Department | None:
        got: dict[str, Any] = {}
        bad = False
        for index, column, header in self.columns.plan:
            text = cells[index].strip() if index < len(cells) else ""
            if not text:
                continue
            try:
                if column.key in ("path", "parent"):
                    got[column.key] = parse_path(text, self.root_name)
                else:
                    got[column.key] = column.parse(text) if column.parse else text
            except CellProblem as error:
                bad = True
                self.problems.append(_cell_problem(error, row, column, header, text))
        if not got:
            return None
        name = got.get("name", "")
        shown = name or (path_text(got["path"]) if got.get("path") else "")
        if shown and is_example_name(shown):
            name_header = self.columns.keys.get("name") or self.columns.keys.get("path")
            self.problems.append(make_problem("example-row", row=row, field="name", column=name_header, value=shown,
                                              label=DEPARTMENT_LABELS["name"]))
            return None
        if "path" in got:
            path = got["path"]
            if path:
                self._check_columns_agree(row, path, got)
        elif name:
            if reason := department_name_problem(name):
                self.problems.append(make_problem("invalid-department-name", row=row, field="name",
                                                  column=self.columns.keys.get("name"), value=name,
                                                  label=DEPARTMENT_LABELS["name"],
                                                  reason=reason))
                return None
            path = got.get("parent", ()) + (name,) if "parent" in got or "parentid" not in got else ()
            if len(path) + 1 > MAX_DEPTH:
                self.problems.append(make_problem("department-too-deep", row=row, field="name",
                                                  label=DEPARTMENT_LABELS["name"],
                                                  column=self.columns.keys.get("name"), value=path_text(path)))
        else:
            if not bad:
                self.problems.append(make_problem("missing-required", row=row, field="name",
                                                  label=DEPARTMENT_LABELS["name"],
                                                  column=self.columns.keys.get("name")))
            return None
        if got.get("id") == 1 or (not path and "parentid" not in got):
            return None  # the root always exists; its row in a batch-import file is only context
        department = Department(row, path, got.get("id"), got.get("order"), got.get("name_en"),
                                got.get("parentid") if not path else None, name or (path[-1] if path else ""))
        self.departments.append(department)
        return department

    def _check_columns_agree(self, row: int, path: tuple[str, ...], got: dict[str, Any]) -> None:
        # A sheet with both a path and name/parent columns: the path is used; say so when they differ.
        if "name" in got and got["name"] != path[-1]:
            self._disagree(row, path, "name", got["name"])
        if "parent" in got and got["parent"] != path[:-1]:
            self._disagree(row, path, "parent", path_text(got["parent"]) or self.root_name)
        if "parentid" in got:
            self._path_parent_ids.append((row, path, got["parentid"]))

    def _disagree(self, row: int, path: tuple[str, ...], key: str, other: str) -> None:
        self.problems.append(make_problem("department-columns-disagree", row=row, field="path",
                                          column=self.columns.keys.get("path"), value=path_text(path),
                                          label=DEPARTMENT_LABELS["path"], other_column=self.columns.keys.get(key),
                                          other=other))

    def finish(self) -> None:
        """Give a path to departments whose parent is named by an id the sheet defines; warn where a
        path disagrees with the parent id on its row."""
        by_id = {d.id: d for d in self.departments if d.id is not None}
        for _ in range(MAX_DEPTH + 1):
            changed = False
            for department in self.departments:
                if department.path or department.parent_id is None:
                    continue
                if department.parent_id == 1:
                    department.path, department.parent_id, changed = (department.name,), None, True
                    continue
                parent = by_id.get(department.parent_id)
                if parent is not None and parent.path:
                    department.path = parent.path + (department.name,)
                    department.parent_id, changed = None, True
            if not changed:
                break
        for row, path, parent_id in self._path_parent_ids:
            parent = by_id.get(parent_id)
            parent_path = () if parent_id == 1 else (parent.path or None) if parent else None
            if parent_path is not None and parent_path != path[:-1]:  # an id outside the sheet: cannot tell
                self._disagree(row, path, "parentid", str(parent_id))
