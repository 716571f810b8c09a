"""Export the directory to a spreadsheet (xlsx or CSV) or JSON that `bulkdir import` takes back unchanged.

    client ─► Directory snapshot (bulkdir/wecom/directory.py) ─► rows, streamed ─► sheets writer / JSON

    export_directory(client, "directory.xlsx")   the whole corp; returns an ExportSummary

A JSON export reads back through bulkdir.sheets.open_json_workbook, like a sheet.

Every value is written in the format the reader takes back to the same API value, so importing an
export unchanged plans no call: departments as full paths from the corp's name (`示例企业/研发中心/广州`,
the main department first, `;` between them), leaders as userids, yes/no and gender as 是/否 and 男/女,
per-department lists (`order`, `is_leader_in_dept`) as `10;0`. A blank cell means "leave as it is" on
import, so a value the platform did not give is left blank only where blank is also the truth; fields
the credentials cannot read (ids-only access, private fields hidden since 2022) are left out of the file
and named in its notes instead of being written as blanks that look real.

Departments are written by id (the `所在部门` column) instead of by path when a path cannot be written
so that it reads back the same: unknown names (ids-only access), a name holding `/` or `;`, or a member
in a department outside the snapshot.

The corp's custom fields (自定义字段) follow the standard columns, each under its own name, which is how the
reader knows them (`extattr:NAME` when the name is a header the reader takes for a standard field, where it
would lose), text as it is and web fields as `标题；https://…`. A column mapping (bulkdir/mapping.py) makes
the file the HR system's sheet: its headers and its words, and every column it names present (blank where
there is nothing to write), since the reader refuses a mapping naming a column the file lacks.
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

from bulkdir.errors import ConfigError, SheetError, Text
from bulkdir.fields import GENDER_WORDS, YES_NO_WORDS
from bulkdir.mapping import EXTATTR, IGNORE, ColumnMapping, Mapping
from bulkdir.parsers import CellProblem, custom_value_text, parse_path
from bulkdir.schema import (
    DEPARTMENT_COLUMNS,
    DEPARTMENT_HEADERS,
    IGNORED_HEADERS,
    MEMBER_COLUMNS,
    MEMBER_HEADERS,
    Column,
)
from bulkdir.sheets import OutSheet, atomic_file, normalise_header, write_csv, write_xlsx
from bulkdir.wecom.directory import ROOT_ID, Directory, fetch_directory

__all__ = ["ExportSummary", "export_directory", "default_export_path", "export_target", "resolve_format",
           "custom_field_headers", "FORMATS", "DEFAULT_FIELDS"]

Format = Literal["xlsx", "csv", "json"]
Headers = Literal["en", "zh"]
Progress = Callable[[str, int, int], None]  # (stage "read" | "write", done, total)

FORMATS: tuple[str, ...] = ("xlsx", "csv", "json")
# The member columns of an export, in this order. `biz_mail` and `nickname` only when some member has
# one; `main_department` only when asked for (the first department listed is the main one, and the
# reader takes it so: one column fewer to keep in step when a member moves).
DEFAULT_FIELDS: tuple[str, ...] = (
    "userid", "name", "alias", "department", "position", "gender", "mobile", "telephone", "email",
    "biz_mail", "address", "is_leader_in_dept", "direct_leader", "order", "enable", "external_position",
    "nickname")
_ALLOWED: tuple[str, ...] = DEFAULT_FIELDS + ("department_id", "main_department")  # what --fields may name
_CANONICAL: tuple[str, ...] = DEFAULT_FIELDS[:4] + ("department_id", "main_department") + DEFAULT_FIELDS[4:14] \
    + ("disabled",) + DEFAULT_FIELDS[14:]  # the order of columns, those a mapping may add included
MAX_CUSTOM_NAME = 32  # the admin console's limit on a custom field's name
_ONLY_WHEN_PRESENT = ("biz_mail", "nickname")
_REQUIRED = ("userid", "name")  # the reader refuses a members sheet without them
_PRIVATE = ("mobile", "email", "gender", "address", "biz_mail")  # hidden to new apps since 2022
_LIST_FIELDS = ("department", "department_id", "is_leader_in_dept", "order", "direct_leader")
_ALIGNED = ("is_leader_in_dept", "order")  # one value per department
_PATH_BREAKERS = set("/／;；")  # a name holding one of these would not read back as the same path

_MEMBER_COLUMN = {c.key: c for c in MEMBER_COLUMNS}
_DEPARTMENT_COLUMN = {c.key: c for c in DEPARTMENT_COLUMNS}
_SUFFIXES = {".xlsx": "xlsx", ".csv": "csv", ".json": "json"}
_SHEET_NAMES = {"en": ("members", "departments", "department ids", "notes"),
                "zh": ("成员列表", "部门", "部门编号", "说明")}
_NOTE_HEADERS = {"en": ["note", "说明"], "zh": ["说明", "note"]}


@dataclass
class ExportSummary:
    """What `export_directory` wrote.

    `path` is the file (the members file for CSV), `departments_path` the CSV's sibling
    `<name>-departments.csv` (None for xlsx and JSON, which hold both). `notes` say what is missing
    or hidden; the CLI prints them on stderr, and the file carries them too (xlsx, JSON). `fields` are
    the standard member fields, `custom_fields` the corp's custom fields written, `headers` the members
    sheet's header row as written (the HR system's names where a mapping gave them).
    """

    path: Path
    format: str
    members: int
    departments: int
    fields: list[str]
    mode: str
    departments_path: Path | None = None
    by_id: bool = False
    notes: list[Text] = field(default_factory=list)
    custom_fields: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)


def default_export_path(corp_id: str | None, format: str = "xlsx", today: _dt.date | None = None) -> Path:
    """The file name used when none is given: `directory-<corp id>-<date>.<format>` in the current folder.

    >>> default_export_path("wwsandbox", "csv", _dt.date(2026, 11, 22))
    PosixPath('directory-wwsandbox-2026-11-22.csv')
    """
    today = today or _dt.date.today()
    return Path(f"directory-{corp_id or 'corp'}-{today.isoformat()}.{format}")


def resolve_format(path: Path, format: str | None) -> tuple[Path, Format]:
    """The format of the export, from `format` or the file's extension; a name without one gets it.

    >>> resolve_format(Path("out.CSV"), None), resolve_format(Path("out"), "json")
    ((PosixPath('out.CSV'), 'csv'), (PosixPath('out.json'), 'json'))
    """
    if format is not None and format not in FORMATS:
        raise ConfigError(f"unknown export format {format!r}: use xlsx, csv or json")
    by_suffix = _SUFFIXES.get(path.suffix.lower())
    if not path.suffix:
        chosen = format or "xlsx"
        return path.with_name(f"{path.name}.{chosen}"), chosen  # type: ignore[return-value]
    if format is None:
        if by_suffix is None:
            raise ConfigError(f"cannot tell the format of {path.name}: name it .xlsx, .csv or .json, or pass "
                              f"--format (无法判断导出格式：请用 .xlsx、.csv 或 .json 结尾，或加 --format)")
        return path, by_suffix  # type: ignore[return-value]
    if by_suffix is not None and by_suffix != format:
        raise ConfigError(f"{path.name} ends in {path.suffix} but --format is {format}: make them agree "
                          f"(文件扩展名与 --format 不一致)")
    return path, format  # type: ignore[return-value]


def export_target(path: Path, format: str | None, force: bool = False) -> tuple[Path, Format]:
    """`resolve_format`, and checks that the folder exists and that no file is replaced without `force`:
    a bad target is refused before any call.

    >>> export_target(Path("out-that-does-not-exist-yet.json"), None)
    (PosixPath('out-that-does-not-exist-yet.json'), 'json')
    """
    from bulkdir.report import check_output_path

    chosen_path, chosen_format = resolve_format(path, format)
    if not chosen_path.parent.is_dir():
        raise ConfigError(f"cannot write {chosen_path}: the folder {chosen_path.parent} does not exist "
                          f"(文件夹不存在)")
    check_output_path(chosen_path, force=force, option="export")
    if chosen_format == "csv":
        check_output_path(departments_csv_path(chosen_path), force=force, option="export (its departments file)")
    return chosen_path, chosen_format


def departments_csv_path(path: Path) -> Path:
    """Where a CSV export puts the departments: `<name>-departments.csv` beside the members."""
    return path.with_name(f"{path.stem}-departments.csv")


def export_directory(source: Any, path: str | Path | None = None, format: str | None = None,
                     department: str | None = None, fields: Sequence[str] | str | None = None,
                     headers: str = "en", progress: Progress | None = None,
                     corp_id: str | None = None, force: bool = False,
                     mapping: Mapping | None = None) -> ExportSummary:
    """Write the directory (or one department's subtree) to an xlsx, CSV or JSON file that
    `bulkdir import` takes back unchanged.

    `source` is a WeComClient (a snapshot is fetched the cheapest way its credentials allow) or a
    Directory already fetched. `department` is a path as the importer reads it (`研发中心/广州`, with
    or without the corp's name in front) or a department id; `fields` the member columns (English
    field names, Chinese labels or any header alias; `userid` and `name` are always written);
    `headers` "en" (the API's field names) or "zh" (the Chinese labels). Each of the corp's custom fields
    is a column named after it, after the standard ones (with `fields`, those it names, by name or
    `extattr:NAME`). `mapping` (bulkdir/mapping.py) heads the columns it maps with the HR system's names
    and writes its words for the values it maps, so that the file imports back through the same mapping;
    JSON keeps the API's names. An existing file is replaced only with `force`. Raises ConfigError for a
    bad option (exit 2); WeComError when the platform refuses the reads. The files are written atomically
    and are readable by their owner only.

    >>> summary = export_directory(client, "directory.xlsx", department="研发中心", headers="zh")  # doctest: +SKIP
    >>> summary.members, summary.departments, summary.notes                                     # doctest: +SKIP
    (40, 3, [])
    """
    if headers not in ("en", "zh"):
        raise ConfigError(f"unknown --headers {headers!r}: use en or zh")
    keys = _parse_fields(fields, mapping)
    if not isinstance(source, Directory):
        corp_id = corp_id or getattr(getattr(source, "settings", None), "corp_id", None)
    chosen_path, chosen_format = export_target(Path(path) if path else default_export_path(corp_id, format or "xlsx"),
                                               format, force)
    if isinstance(source, Directory):
        directory = source
    else:
        read = (lambda done, total: progress("read", done, total)) if progress else None
        directory = fetch_directory(source, progress=read)
    layout = _Layout(directory, headers, keys, department,  # type: ignore[arg-type]
                     mapping=None if chosen_format == "json" else mapping)
    if chosen_format == "json" and mapping:
        layout.notes.append(Text(
            "The column mapping is not applied to JSON, which keeps the API's field names; export to xlsx or CSV "
            "for the HR system's headers.",
            "JSON 文件不使用列映射，仍用接口的字段名；需要人事系统的表头时请导出为 xlsx 或 CSV。"))
    summary = ExportSummary(path=chosen_path, format=chosen_format, members=len(layout.members),
                            departments=sum(d.id != ROOT_ID for d in layout.departments), fields=list(layout.fields),
                            mode=directory.mode, by_id=layout.by_id, notes=list(layout.notes),
                            custom_fields=list(layout.custom_fields), headers=list(layout.headers))
    total = len(layout.members)

    def member_rows(shape: Callable[[dict], Any]) -> Iterator[Any]:
        for done, member in enumerate(layout.members, 1):
            yield shape(member)
            if progress and (done % 1000 == 0 or done == total):
                progress("write", done, total)

    try:
        _write(chosen_path, chosen_format, summary, layout, headers, corp_id, member_rows)
    except OSError as error:
        raise SheetError(f"cannot write {error.filename or chosen_path}: {error.strerror or error} "
                         f"(无法写入文件)") from None
    if progress and not total:
        progress("write", 0, 0)
    return summary


def _write(chosen_path: Path, chosen_format: str, summary: ExportSummary, layout: "_Layout", headers: str,
           corp_id: str | None, member_rows: Callable[[Callable[[dict], Any]], Iterator[Any]]) -> None:
    if chosen_format == "json":
        with atomic_file(chosen_path) as temporary:
            _write_json(temporary, layout, corp_id, member_rows(layout.member_values))
    elif chosen_format == "csv":
        summary.departments_path = departments_csv_path(chosen_path)
        # both files are put in place together, once both are written
        with atomic_file(chosen_path) as temporary, atomic_file(summary.departments_path) as departments_temporary:
            write_csv(temporary, layout.headers, member_rows(layout.member_cells))
            write_csv(departments_temporary, layout.department_headers, layout.department_rows())
    else:
        names = _SHEET_NAMES[headers]
        sheets = [OutSheet(names[0], layout.headers, member_rows(layout.member_cells)),
                  OutSheet(names[1] if layout.department_names_known else names[2], layout.department_headers,
                           layout.department_rows())]
        if layout.notes:
            first, second = (0, 1) if headers == "en" else (1, 0)
            sheets.append(OutSheet(names[3], _NOTE_HEADERS[headers],
                                   [[(n.en, n.zh)[first], (n.en, n.zh)[second]] for n in layout.notes],
                                   widths=[100, 100]))
        write_xlsx(chosen_path, sheets)  # atomic and private by itself


# ---------------------------------------------------------------------------------------------
# what goes in the file


@dataclass(frozen=True)
class _Asked:
    """What `--fields` asked for: member column keys, and names that may be the corp's custom fields
    (`extattr:NAME`, or a name that is no standard field), checked once the snapshot shows them."""

    keys: list[str]
    custom: list[str]


def _parse_fields(fields: Sequence[str] | str | None, mapping: Mapping | None = None) -> _Asked | None:
    """The columns `--fields` asks for (names, labels, aliases or the mapping's columns, comma-separated);
    None: the default."""
    if fields is None:
        return None
    names = [f.strip() for f in (fields.replace("，", ",").split(",") if isinstance(fields, str) else fields)]
    names = [n for n in names if n]
    if not names:
        return None
    keys: list[str] = []
    custom: list[str] = []
    for name in names:
        item = mapping.lookup(name) if mapping else None
        if item is not None and item.target != IGNORE:
            name = item.target  # the HR system's name for a field
        if name.lower().startswith(EXTATTR):
            custom.append(name[len(EXTATTR):].strip())
            continue
        column = MEMBER_HEADERS.get(normalise_header(name))
        key = None if column is None else ("enable" if column.key == "disabled" else column.key)
        if key in _ALLOWED:
            if key not in keys:
                keys.append(key)
        elif column is not None or len(name) > MAX_CUSTOM_NAME:
            raise ConfigError(f"unknown field {name!r} in --fields; the fields are: {', '.join(_ALLOWED)} "
                              f"(未知字段 {name}；可用字段见上)")
        else:
            custom.append(name)  # a custom field's name, or a typo: the snapshot tells
    return _Asked(keys, list(dict.fromkeys(custom)))


def _custom_fields_wanted(asked: _Asked | None, corp: dict[str, str]) -> list[str]:
    """The custom fields to export, in the corp's order: all of them, or those `--fields` names."""
    if asked is None:
        return list(corp)
    unknown = [name for name in asked.custom if name not in corp]
    if unknown:
        shown = ", ".join(corp) or "none shown"
        raise ConfigError(f"unknown field {unknown[0]!r} in --fields; the fields are: {', '.join(_ALLOWED)}, "
                          f"and the corp's custom fields: {shown} (未知字段 {unknown[0]}；可用字段见上)")
    return [name for name in corp if name in asked.custom]


def custom_field_headers(names: Iterable[str], taken: Iterable[str] = ()) -> dict[str, str]:
    """The header of each custom field's column: its name, which the reader takes as that field, or
    `extattr:NAME` when the name is already a header of the sheet (`taken`), or one the reader takes for
    a standard field, which would win over the custom field on import.

    >>> custom_field_headers(["工号", "职务", "主页"], taken=["主页"])
    {'工号': '工号', '职务': 'extattr:职务', '主页': 'extattr:主页'}
    """
    used = {normalise_header(h) for h in taken} | set(MEMBER_HEADERS) | IGNORED_HEADERS
    out: dict[str, str] = {}
    for name in names:
        key = normalise_header(name)
        out[name] = name if key and key not in used else EXTATTR + name
        used.add(key)
    return out


class _Layout:
    """The columns, rows and notes of one export, decided from the snapshot and the options."""

    def __init__(self, directory: Directory, headers: Headers, fields: _Asked | None, department: str | None,
                 mapping: Mapping | None = None):
        self.directory = directory
        self.lang = headers
        self.mapping = mapping or Mapping()
        self.notes: list[Text] = []
        self.root_name = directory.root_name
        top = _find_department(directory, department) if department is not None else ROOT_ID
        order = _tree_order(directory, top)
        self.departments = [directory.departments[i] for i in order]
        self.department_names_known = all(d.name is not None for d in directory.departments.values())
        wanted = set(order)
        rank = {dep_id: index for index, dep_id in enumerate(order)}
        members = [m for m in directory.members.values()
                   if top == ROOT_ID or wanted.intersection(m.get("department") or ())]
        far = len(rank)
        # creation order varies with concurrent creates: sort as the platform shows a department
        # (larger order first), then by userid, so two exports of one directory are identical
        members.sort(key=lambda m: (rank.get(_main_of(m) or 0, far), -_order_in(m, _main_of(m)),
                                    str(m.get("userid", "")).lower(), str(m.get("userid", ""))))
        self.members = members
        self.path_texts = self._path_texts()
        self.by_id = self.path_texts is None
        self.fields = self._choose_fields(fields)
        self.member_headers = [self._member_header(key) for key in self.fields]
        self._words = {key: found for key in self.fields if (found := self._word_map(key)) is not None}
        self._hr_words: dict[tuple[str, str], str] = {}
        corp_fields = directory.custom_fields()
        self.custom_fields = _custom_fields_wanted(fields, corp_fields)
        self.custom_fields += [name for name in self._mapped_custom_fields() if name in corp_fields
                               and name not in self.custom_fields]
        self.custom_fields.sort(key=list(corp_fields).index)
        self.custom_headers = self._custom_headers()
        self.padding = self._padding(self.member_headers + list(self.custom_headers.values()), member_sheet=True)
        self.headers = self.member_headers + list(self.custom_headers.values()) + self.padding
        self.department_padding = self._padding(self._department_headers(), member_sheet=False)
        self._explain()
        self._explain_columns(corp_fields)

    # ---- decisions ----------------------------------------------------------------------------

    def _path_texts(self) -> dict[int, str] | None:
        """Each department's path as the reader takes it back, or None when some cannot be written so."""
        directory, root = self.directory, self.root_name
        if directory.mode == "ids-only" or not root or _PATH_BREAKERS & set(root) or root != root.strip():
            return None
        texts: dict[int, str] = {}
        for department in directory.departments.values():
            path = department.path
            if not _reaches_root(directory, department.id):
                return None  # its parent is outside the app's visible range: no path from the corp's name
            for name in path:
                if not name or _PATH_BREAKERS & set(name) or name != name.strip():
                    return None
            texts[department.id] = "/".join((root, *path))  # type: ignore[arg-type]
        for member in self.members:
            for dep_id in member.get("department") or ():
                if int(dep_id) not in texts:
                    return None
        return texts

    def _choose_fields(self, asked: _Asked | None) -> list[str]:
        directory = self.directory
        if asked is None:
            keys = [k for k in DEFAULT_FIELDS
                    if k not in _ONLY_WHEN_PRESENT or any(m.get(k) for m in self.members)]
            if directory.mode == "ids-only":
                keys = ["userid", "name", "department"]
            elif directory.private_fields_hidden:
                keys = [k for k in keys if k not in _PRIVATE]
        else:
            keys = [k for k in _REQUIRED if k not in asked.keys] + asked.keys
        if self.mapping:
            keys = self._with_mapped_fields(keys, canonical=asked is None)
        if self.by_id:
            keys = ["department_id" if k == "department" else k for k in keys]
        return list(dict.fromkeys(keys))

    # ---- the mapping: the HR system's headers and words -----------------------------------------

    def _with_mapped_fields(self, keys: list[str], canonical: bool) -> list[str]:
        """`keys` and the fields the mapping names, so that the file imports back through it; the departments
        by id and `enable` as `disabled` when that is how the mapping has them."""
        mapped = {column.key for item in self.mapping.columns
                  if item.target != IGNORE and item.custom_field is None
                  and (column := item.member_column()) is not None}
        if "department_id" in mapped and "department" not in mapped and not self.by_id:
            keys = ["department_id" if k == "department" else k for k in keys]
        if "disabled" in mapped and "enable" not in mapped:
            keys = ["disabled" if k == "enable" else k for k in keys]
        taken = set(keys)
        both_department = {"department", "department_id"} & taken  # one of them; the other is left blank
        for key in sorted(mapped & set(_CANONICAL), key=_CANONICAL.index):  # others (to_invite) are left blank
            if key in taken or (key in ("department", "department_id") and both_department) \
                    or (key in ("enable", "disabled") and {"enable", "disabled"} & taken):
                continue
            keys.append(key)
        if canonical:
            keys.sort(key=_CANONICAL.index)
        return keys

    def _member_header(self, key: str) -> str:
        item = self.mapping.header_for(key) if self.mapping else None
        if item is not None:
            return item.column
        return self._free_header(_MEMBER_COLUMN[key], MEMBER_HEADERS)

    def _free_header(self, column: Column, table: dict[str, Column]) -> str:
        """Our header for `column`, or another the reader takes for it when the mapping reads ours as
        something else (a mapping's `"部门名称" = "department"` would read a departments sheet's 部门名称 so)."""
        ours = self._header(column)
        if not self.mapping:
            return ours
        claimed = self.mapping.headers()
        for header in (ours, column.key, column.label, *column.aliases):
            key = normalise_header(header)
            if key not in claimed and table.get(key) is column:
                return header
        return ours

    def _word_map(self, key: str) -> tuple[ColumnMapping, Callable[[str], Any]] | None:
        """The mapping's column for `key` when it turns the HR system's words into ours, and the field's parser."""
        item = self.mapping.header_for(key) if self.mapping else None
        column = item.member_column() if item is not None else None
        if item is None or not item.values or column is None or column.parse is None:
            return None
        return item, column.parse

    def _mapped_custom_fields(self) -> list[str]:
        return [item.custom_field for item in self.mapping.columns if item.custom_field is not None]

    def _custom_headers(self) -> dict[str, str]:
        """Each exported custom field's header: the mapping's column for it, else its name (or
        `extattr:NAME` when that name is taken)."""
        mapped = {name: item.column for name in self.custom_fields
                  if (item := self.mapping.header_for(EXTATTR + name)) is not None}
        taken = self.member_headers + list(self.mapping.headers())
        named = custom_field_headers([n for n in self.custom_fields if n not in mapped], taken)
        return {name: mapped.get(name) or named[name] for name in self.custom_fields}

    def _padding(self, written: list[str], member_sheet: bool) -> list[str]:
        """The mapping's columns that a sheet would lack, written as blank columns: the reader refuses a
        mapping naming a column the file does not have, and a blank cell leaves the field as it is."""
        have = {normalise_header(h) for h in written}
        out = []
        for item in self.mapping.columns:
            department_only = item.custom_field is None and item.target != IGNORE and item.member_column() is None
            if department_only != (not member_sheet) or normalise_header(item.column) in have:
                continue
            have.add(normalise_header(item.column))
            out.append(item.column)
        return out

    def _explain_columns(self, corp_fields: dict[str, str]) -> None:
        """Notes on columns that will not read back as their field: custom fields headed `extattr:NAME`, and
        a mapping's custom fields the corp lacks."""
        renamed = [name for name, header in self.custom_headers.items() if header == EXTATTR + name]
        if renamed:
            maps = " ".join(f"--map {EXTATTR}{name}={EXTATTR}{name}" for name in renamed)
            self.notes.append(Text(
                f"The custom field(s) {', '.join(renamed)} are headed {EXTATTR}NAME: the name is also the header of a "
                f"standard field, which would take the column on import. Importing this file leaves them as they "
                f"are; to import edits of them, add {maps}.",
                f"自定义字段 {'、'.join(renamed)} 的列名为 {EXTATTR}名称：该名称也是标准字段的列名，"
                f"导入时会被当作标准字段。直接导入本文件时这些字段保持不变；要导入对它们的修改，请加 {maps}。"))
        if not self.mapping:
            return
        shown = self.directory.shows_custom_fields()
        for item in self.mapping.columns:
            name = item.custom_field
            if name is not None and shown and name not in corp_fields:
                self.notes.append(Text(
                    f"The mapping reads column {item.column!r} as the custom field {name!r}, which the corp does "
                    f"not have: the column is blank, and importing through this mapping is refused until the field "
                    f"is added in the admin console or the mapping corrected.",
                    f"映射把列“{item.column}”读作自定义字段“{name}”，但企业没有这个字段：该列为空；在管理后台添加该字段"
                    "或改正映射之前，按此映射导入会被拒绝。"))

    def hr_word(self, key: str, cell: str) -> str:
        """The HR system's word for our cell of `key`: the first sheet word of the mapping whose word parses to
        the same value; our cell when none does."""
        found = self._words.get(key)
        if found is None or not cell:
            return cell
        remembered = self._hr_words.get((key, cell))
        if remembered is not None:
            return remembered
        item, parse = found
        word = cell
        try:
            wanted = parse(cell)
            for sheet_word, ours in item.values.items():
                try:
                    if parse(ours) == wanted:
                        word = sheet_word
                        break
                except CellProblem:
                    continue
        except CellProblem:
            pass
        if len(self._hr_words) < 10_000:  # a few distinct values (是/否, 男/女) on every row
            self._hr_words[(key, cell)] = word
        return word

    def _explain(self) -> None:
        directory, notes = self.directory, self.notes
        if directory.mode == "app-secret":
            notes.append(Text(
                "Read with the app secret: the contacts-sync secret may not read details from this IP (48009).",
                "已改用自建应用 Secret 读取：通讯录同步 Secret 在此 IP 不能读取详情（48009）。"))
        if directory.mode == "ids-only":
            notes.append(Text(
                "Only userids, names and departments could be read: detail reads are refused (48009) and no app "
                "secret is set. Mobile, email, position, gender, leaders and the other fields are NOT in this "
                "file, and departments are given by id. Set an app secret (--app-secret or BULKDIR_APP_SECRET) "
                "to export everything. Importing this file sends every member's name and departments again.",
                "只读到了帐号、姓名和所在部门：通讯录同步 Secret 不能读取详情（48009），且未设置自建应用 Secret。"
                "手机、邮箱、职务、性别、上级等字段不在本文件中，部门以 ID 表示。设置自建应用 Secret"
                "（--app-secret 或 BULKDIR_APP_SECRET）后可导出全部字段。"))
            for text in directory.missing:
                notes.append(Text(f"Missing: {text}.", f"缺少：{text}。"))
        elif self.by_id:
            notes.append(Text(
                "Departments are written by id (column department_id / 所在部门), not by path: some department "
                "names hold / or ;, or some departments are outside what these credentials can read.",
                "部门以 ID 表示（所在部门列）而不是路径：有的部门名称含有 / 或 ;，或有部门不在可读范围内。"))
        if directory.private_fields_hidden:
            hidden = [k for k in _PRIVATE if k in self.fields]
            left_out = [k for k in _PRIVATE if k not in self.fields]
            notes.append(Text(
                "Private fields (mobile, email, gender, address, biz_mail) come back empty to this app secret "
                "(the platform's 2022 change, apps created after 2022-06-20). "
                + (f"Left out of the file: {', '.join(left_out)}. " if left_out else "")
                + (f"The columns {', '.join(hidden)} are blank because they are hidden, not because they are "
                   "empty. " if hidden else "")
                + "Leaving them out of an import keeps them as they are. Export from a trusted IP with the "
                  "contacts-sync secret to get them.",
                "私密字段（手机、邮箱、性别、地址、企业邮箱）对该自建应用返回为空（平台 2022 年的调整）。"
                + (f"未导出：{', '.join(left_out)}。" if left_out else "")
                + (f"{', '.join(hidden)} 列为空是因为被隐藏，并非真的为空。" if hidden else "")
                + "导入时不含这些列会保持原值不变。请在可信 IP 上用通讯录同步 Secret 导出以获得这些字段。"))
        elif directory.missing and directory.mode != "ids-only":
            for text in directory.missing:
                notes.append(Text(f"Missing: {text}.", f"缺少：{text}。"))

    def _header(self, column: Column) -> str:
        return column.key if self.lang == "en" else column.label

    # ---- members --------------------------------------------------------------------------------

    def member_values(self, member: dict) -> dict[str, Any]:
        """The member's exported values by field: text, int (enable) or lists; "" / [] for blank."""
        departments = [int(d) for d in member.get("department") or ()]
        main = _main_of(member)
        order = list(range(len(departments)))
        if main in departments:  # the main department first; per-department lists follow it
            first = departments.index(main)
            order = [first] + [i for i in order if i != first]
        out: dict[str, Any] = {}
        for key in self.fields:
            value: Any
            if key == "department":
                value = [self.path_texts[departments[i]] for i in order] if self.path_texts else []
            elif key == "department_id":
                value = [departments[i] for i in order]
            elif key == "main_department":
                value = "" if main is None else (self.path_texts[main] if self.path_texts else main)
            elif key in _ALIGNED:
                given = [int(v) for v in member.get(key) or ()]
                value = [given[i] for i in order] if len(given) == len(departments) else []
            elif key == "direct_leader":
                value = [str(v) for v in member.get(key) or ()]
            elif key == "gender":
                value = str(member.get("gender") or "")
                value = value if value in GENDER_WORDS else ""  # 0: not set, and the reader refuses 0
            elif key in ("enable", "disabled"):
                value = member.get("enable")
                if value is None and "status" in member:
                    value = 0 if member.get("status") == 2 else 1
                value = "" if value is None else int(value)
            else:
                value = member.get(key)
                value = "" if value is None else str(value)
            out[key] = value
        if self.custom_fields:
            attrs = {attr.get("name"): attr for attr in (member.get("extattr") or {}).get("attrs") or []
                     if isinstance(attr, dict)}
            for name, header in self.custom_headers.items():
                out[header] = custom_value_text(attrs.get(name))
        return out

    def member_cells(self, member: dict) -> list[str]:
        """One members-sheet row, as text the reader takes back to the same values."""
        values = self.member_values(member)
        cells = []
        for key in self.fields:
            value = values[key]
            if key in _ALIGNED:
                # all zero is the platform's default: blank keeps it, and lets a person change the
                # departments without having to keep these lists the same length
                cells.append(";".join(YES_NO_WORDS.get(v, str(v)) if key == "is_leader_in_dept" else str(v)
                                      for v in value)
                             if any(value) else "")
            elif key in _LIST_FIELDS:
                cells.append(";".join(str(v) for v in value))
            elif key == "gender":
                cells.append(GENDER_WORDS.get(value, ""))
            elif key == "enable":
                cells.append(YES_NO_WORDS.get(value, "") if value != "" else "")
            elif key == "disabled":  # words that mean what they say in an enable and a disable column alike
                cells.append({1: "启用", 0: "禁用"}.get(value, "") if value != "" else "")
            else:
                cells.append(value)
        if self._words:
            cells = [self.hr_word(key, cell) for key, cell in zip(self.fields, cells)]
        cells += [values[header] for header in self.custom_headers.values()]
        return cells + [""] * len(self.padding)

    # ---- departments ----------------------------------------------------------------------------

    @property
    def department_keys(self) -> list[str]:
        # No path column: the reader lets a path win over the name and parent id columns, so an edited
        # name or parent id would be ignored; by name and parent id, renaming or moving a department
        # (even one with departments below it) is a one-cell edit.
        keys = ["id", "name", "parentid", "order"] if self.department_names_known else ["id", "parentid", "order"]
        if any(d.name_en for d in self.departments):
            keys.append("name_en")
        return keys

    @property
    def department_headers(self) -> list[str]:
        return self._department_headers() + self.department_padding

    def _department_headers(self) -> list[str]:
        mapped = {column.key: item.column for item in self.mapping.columns
                  if item.custom_field is None and item.target != IGNORE and item.member_column() is None
                  and (column := item.department_column()) is not None}
        return [mapped.get(k) or self._free_header(_DEPARTMENT_COLUMN[k], DEPARTMENT_HEADERS)
                for k in self.department_keys]

    def department_values(self) -> Iterator[dict[str, Any]]:
        """Departments below the root (the root always exists), parents before children."""
        for department in self.departments:
            if department.id == ROOT_ID:
                continue
            path = self.path_texts.get(department.id, "") if self.path_texts else ""
            yield {"id": department.id, "name": department.name, "path": path, "parentid": department.parentid,
                   "order": department.order, "name_en": department.name_en or ""}

    def department_rows(self) -> Iterator[list[str]]:
        keys, blank = self.department_keys, [""] * len(self.department_padding)
        for values in self.department_values():
            yield ["" if values[k] is None else str(values[k]) for k in keys] + blank


def _reaches_root(directory: Directory, id: int) -> bool:
    seen: set[int] = set()
    while id != ROOT_ID:
        department = directory.departments.get(id)
        if department is None or id in seen:
            return False
        seen.add(id)
        id = department.parentid
    return ROOT_ID in directory.departments


def _main_of(member: dict) -> int | None:
    main = member.get("main_department")
    departments = member.get("department") or ()
    if main in (None, ""):
        return int(departments[0]) if departments else None
    return int(main)


def _order_in(member: dict, department_id: int | None) -> int:
    """The member's order in that department (0 when the snapshot has none)."""
    departments, orders = member.get("department") or [], member.get("order") or []
    for index, dep_id in enumerate(departments):
        if dep_id is not None and int(dep_id) == department_id and index < len(orders):
            try:
                return int(orders[index])
            except (TypeError, ValueError):
                return 0
    return 0


def _tree_order(directory: Directory, top: int) -> list[int]:
    """`top` and the departments below it, parents first, siblings in the platform's order; for the whole
    corp, below every department whose parent is out of view too."""
    tops = [top]
    if top == ROOT_ID:
        tops += [d.id for d in sorted(directory.departments.values(), key=lambda d: (-d.order, d.id))
                 if d.id != ROOT_ID and d.parentid not in directory.departments]
    found: dict[int, None] = {}  # ordered, each once
    for each in tops:
        found.update(dict.fromkeys(directory.tree_order(each)))
    return list(found)


def _find_department(directory: Directory, text: str) -> int:
    """The id of `--department`: a path as the importer reads it, or an id."""
    text = text.strip()
    if text.isdigit():
        if int(text) in directory.departments:
            return int(text)
        raise ConfigError(f"no department with id {text} (没有 ID 为 {text} 的部门)")
    if directory.mode == "ids-only":
        raise ConfigError("department names cannot be read with these credentials (48009): give --department "
                          "as an id (无法读取部门名称：请用部门 ID)")
    try:
        path = parse_path(text, directory.root_name or "")
    except CellProblem:
        raise ConfigError(f"{text!r} is not a department path (部门路径无效)") from None
    found = directory.id_of(path)
    if found is None:
        raise ConfigError(f"no department at {text} (没有这个部门：{text})")
    return found


# ---------------------------------------------------------------------------------------------
# writing


def _write_json(path: Path, layout: _Layout, corp_id: str | None, members: Iterable[dict]) -> None:
    """`{"corp", "exported_at", "mode", "fields", "notes", "departments", "members"}`, one department or
    member per line, members streamed."""
    def dumps(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False)

    head = {
        "corp": {"id": corp_id, "name": layout.root_name},
        "exported_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "mode": layout.directory.mode,
        "fields": layout.fields,
        "custom_fields": list(layout.custom_headers.values()),
        "notes": [{"en": n.en, "zh": n.zh} for n in layout.notes],
    }
    keys = layout.department_keys
    with open(path, "w", encoding="utf-8") as handle:
        handle.write("{\n" + "".join(f" {dumps(k)}: {dumps(v)},\n" for k, v in head.items()))
        for name, items in (("departments", ({k: v[k] for k in keys} for v in layout.department_values())),
                            ("members", members)):
            handle.write(f' "{name}": [')
            for index, item in enumerate(items):
                handle.write(("\n  " if index == 0 else ",\n  ") + dumps(item))
            handle.write("\n ],\n" if name == "departments" else "\n ]\n}\n")


# ---------------------------------------------------------------------------------------------
# reading JSON back


