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
"""

from __future__ import annotations

import datetime as _dt
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Iterator, Literal, Sequence

from bulkdir.errors import ConfigError, SheetError, Text
from bulkdir.fields import GENDER_WORDS, YES_NO_WORDS
from bulkdir.parsers import CellProblem, parse_path
from bulkdir.schema import DEPARTMENT_COLUMNS, MEMBER_COLUMNS, MEMBER_HEADERS, Column
from bulkdir.sheets import OutSheet, atomic_file, normalise_header, write_csv, write_xlsx
from bulkdir.wecom.directory import ROOT_ID, Directory, fetch_directory

__all__ = ["ExportSummary", "export_directory", "default_export_path", "export_target", "resolve_format",
           "FORMATS", "DEFAULT_FIELDS"]

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
    or hidden; the CLI prints them on stderr, and the file carries them too (xlsx, JSON).
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
                     corp_id: str | None = None, force: bool = False) -> ExportSummary:
    """Write the directory (or one department's subtree) to an xlsx, CSV or JSON file that
    `bulkdir import` takes back unchanged.

    `source` is a WeComClient (a snapshot is fetched the cheapest way its credentials allow) or a
    Directory already fetched. `department` is a path as the importer reads it (`研发中心/广州`, with
    or without the corp's name in front) or a department id; `fields` the member columns (English
    field names, Chinese labels or any header alias; `userid` and `name` are always written);
    `headers` "en" (the API's field names) or "zh" (the Chinese labels). An existing file is replaced only
    with `force`. Raises ConfigError for a bad option (exit 2); WeComError when the platform refuses the
    reads. The files are written atomically and are readable by their owner only.

    >>> summary = export_directory(client, "directory.xlsx", department="研发中心", headers="zh")  # doctest: +SKIP
    >>> summary.members, summary.departments, summary.notes                                     # doctest: +SKIP
    (40, 3, [])
    """
    if headers not in ("en", "zh"):
        raise ConfigError(f"unknown --headers {headers!r}: use en or zh")
    keys = _parse_fields(fields)
    if not isinstance(source, Directory):
        corp_id = corp_id or getattr(getattr(source, "settings", None), "corp_id", None)
    chosen_path, chosen_format = export_target(Path(path) if path else default_export_path(corp_id, format or "xlsx"),
                                               format, force)
    if isinstance(source, Directory):
        directory = source
    else:
        read = (lambda done, total: progress("read", done, total)) if progress else None
        directory = fetch_directory(source, progress=read)
    layout = _Layout(directory, headers, keys, department)  # type: ignore[arg-type]
    summary = ExportSummary(path=chosen_path, format=chosen_format, members=len(layout.members),
                            departments=sum(d.id != ROOT_ID for d in layout.departments), fields=list(layout.fields),
                            mode=directory.mode, by_id=layout.by_id, notes=list(layout.notes))
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


def _parse_fields(fields: Sequence[str] | str | None) -> list[str] | None:
    """Member column keys from `--fields` (names, labels or aliases, comma-separated); None: the default."""
    if fields is None:
        return None
    names = [f.strip() for f in (fields.replace("，", ",").split(",") if isinstance(fields, str) else fields)]
    names = [n for n in names if n]
    if not names:
        return None
    keys: list[str] = []
    allowed = list(DEFAULT_FIELDS) + ["department_id", "main_department"]
    for name in names:
        column = MEMBER_HEADERS.get(normalise_header(name))
        key = None if column is None else ("enable" if column.key == "disabled" else column.key)
        if key not in allowed:
            raise ConfigError(f"unknown field {name!r} in --fields; the fields are: {', '.join(allowed)} "
                              f"(未知字段 {name}；可用字段见上)")
        if key not in keys:
            keys.append(key)
    return keys


class _Layout:
    """The columns, rows and notes of one export, decided from the snapshot and the options."""

    def __init__(self, directory: Directory, headers: Headers, fields: list[str] | None, department: str | None):
        self.directory = directory
        self.lang = headers
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
        self.headers = [self._header(_MEMBER_COLUMN[key]) for key in self.fields]
        self._explain()

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

    def _choose_fields(self, asked: list[str] | None) -> list[str]:
        directory = self.directory
        if asked is None:
            keys = [k for k in DEFAULT_FIELDS
                    if k not in _ONLY_WHEN_PRESENT or any(m.get(k) for m in self.members)]
            if directory.mode == "ids-only":
                keys = ["userid", "name", "department"]
            elif directory.private_fields_hidden:
                keys = [k for k in keys if k not in _PRIVATE]
        else:
            keys = [k for k in _REQUIRED if k not in asked] + asked
        if self.by_id:
            keys = ["department_id" if k == "department" else k for k in keys]
        return list(dict.fromkeys(keys))

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
            elif key == "enable":
                value = member.get("enable")
                if value is None and "status" in member:
                    value = 0 if member.get("status") == 2 else 1
                value = "" if value is None else int(value)
            else:
                value = member.get(key)
                value = "" if value is None else str(value)
            out[key] = value
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
            else:
                cells.append(value)
        return cells

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
        return [k if self.lang == "en" else _DEPARTMENT_COLUMN[k].label for k in self.department_keys]

    def department_values(self) -> Iterator[dict[str, Any]]:
        """Departments below the root (the root always exists), parents before children."""
        for department in self.departments:
            if department.id == ROOT_ID:
                continue
            path = self.path_texts.get(department.id, "") if self.path_texts else ""
            yield {"id": department.id, "name": department.name, "path": path, "parentid": department.parentid,
                   "order": department.order, "name_en": department.name_en or ""}

    def department_rows(self) -> Iterator[list[str]]:
        keys = self.department_keys
        for values in self.department_values():
            yield ["" if values[k] is None else str(values[k]) for k in keys]


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


