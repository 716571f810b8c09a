"""Checks across rows: duplicates, leaders, and member departments against the departments sheet.

Each check takes the rows a sheet produced, as MemberColumns (bulkdir/schema.py) or Departments, and returns
Problems; none stops at the first.
"""

from __future__ import annotations

from typing import Callable, Collection, cast

from bulkdir.errors import Text
from bulkdir.fields import mobile_key
from bulkdir.parsers import path_text
from bulkdir.problems import Problem, make_problem
from bulkdir.schema import Department, DepartmentRef, MemberColumns

HeaderOf = Callable[[str], "str | None"]


def check_duplicates(members: MemberColumns, header_of: HeaderOf) -> list[Problem]:
    """Each userid (compared case-insensitively), mobile and email may appear on one row only; a
    later row repeating one gets a `duplicate-value` naming the first.

    >>> from bulkdir.schema import Member
    >>> rows = MemberColumns.of([Member(2, {"userid": "ZhangSan"}), Member(3, {"userid": "zhangsan"})])
    >>> [(p.row, p.type) for p in check_duplicates(rows, lambda f: f)]
    [(3, 'duplicate-value')]
    """
    problems: list[Problem] = []
    for name, key in (("userid", str.lower), ("mobile", mobile_key), ("email", str.lower),
                      ("biz_mail", str.lower)):
        column, given = header_of(name), members.values.get(name)
        if column is None or given is None:
            continue
        values = _present(given)
        if len(set(_keys(values, key))) == len(values):
            continue  # every value once, as on most sheets: no row to name
        first: dict[str, int] = {}
        for row, value in zip(members.rows, given):
            if value is None:
                continue
            seen = first.setdefault(key(value), row)
            if seen != row:
                problems.append(make_problem("duplicate-value", row=row, field=name, column=column,
                                             value=value, other_row=seen))
    return problems


def check_leaders(members: MemberColumns, header_of: HeaderOf,
                  known_userids: Collection[str] | None = None) -> list[Problem]:
    """A direct_leader must be a member of the sheet or (when a directory is given, as lower-cased
    userids) of the corp. Without a directory a leader outside the sheet is only a warning.

    >>> from bulkdir.schema import Member
    >>> rows = MemberColumns.of([Member(2, {"userid": "a", "direct_leader": ["boss"]})])
    >>> [p.type for p in check_leaders(rows, lambda f: f, known_userids={"a"})]
    ['unknown-leader']
    """
    leaders = members.values.get("direct_leader")
    if leaders is None:
        return []
    in_sheet = set(_keys(_present(members.values.get("userid", [])), str.lower))
    named = [leader for given in leaders if given for leader in given]
    outside = set(_keys(named, str.lower)) - in_sheet
    if known_userids is not None:
        outside = {key for key in outside if key not in known_userids}
    if not outside:
        return []  # every leader named is a member, as on most sheets: no row to look at
    column = header_of("direct_leader")
    slug = "leader-not-in-sheet" if known_userids is None else "unknown-leader"
    return [make_problem(slug, row=row, field="direct_leader", column=column, value=leader)
            for row, given in zip(members.rows, leaders) for leader in given or () if leader.lower() in outside]


def _present(texts: list[str | None]) -> list[str]:
    """The values of a column of texts, its blanks left out (`all` asks quicker than a comparison each)."""
    return cast("list[str]", texts) if all(texts) else [text for text in texts if text is not None]


def _keys(values: list[str], key: Callable[[str], str]) -> list[str]:
    """`key` of each value; a column whose every value is its own key (plain digits for mobile_key, lower
    case for str.lower), as its text joined shows, is given back as it is: one look instead of a call each."""
    joined = "".join(values)
    if (key is mobile_key and joined.isdigit()) or (key is str.lower and joined.lower() == joined):
        return values
    return list(map(key, values))


def check_departments_sheet(departments: list[Department], header_of: HeaderOf) -> list[Problem]:
    """In a departments sheet each path and each id appears once.

    >>> from bulkdir.schema import Department
    >>> rows = [Department(2, ("研发",), 2), Department(3, ("研发",), 3)]
    >>> [(p.row, p.field, p.type) for p in check_departments_sheet(rows, {"name": "部门名称"}.get)]
    [(3, 'name', 'duplicate-value')]
    """
    problems: list[Problem] = []
    by_path: dict[tuple[str, ...], int] = {}
    by_id: dict[int, int] = {}
    # Blame the column the person typed: a full-path column, else the name (the batch-import file has no paths).
    path_field = "path" if header_of("path") is not None else "name"
    for department in departments:
        if department.path:
            seen = by_path.setdefault(department.path, department.row)
            if seen != department.row:
                problems.append(make_problem("duplicate-value", row=department.row, field=path_field,
                                             column=header_of(path_field), value=path_text(department.path),
                                             label="部门路径" if path_field == "path" else "部门名称", other_row=seen))
        if department.id is not None:
            seen = by_id.setdefault(department.id, department.row)
            if seen != department.row:
                problems.append(make_problem("duplicate-value", row=department.row, field="id",
                                             column=header_of("id"), value=str(department.id), other_row=seen))
    return problems


def check_member_departments(members: MemberColumns, departments: list[Department],
                             header_of: HeaderOf) -> list[Problem]:
    """Member departments against the departments sheet (only when the workbook has one): a path
    the sheet does not define is a warning (it must exist in the directory), unless the sheet puts
    a department of that name elsewhere and nowhere at this path, which is an error.

    >>> from bulkdir.schema import Department, Member
    >>> sheet = [Department(2, ("研发中心", "广州"))]
    >>> rows = MemberColumns.of([Member(3, departments=[("销售部", "广州")])])
    >>> [p.type for p in check_member_departments(rows, sheet, lambda f: f)]
    ['department-conflict']
    """
    if not departments:
        return []
    known_paths: set[tuple[str, ...]] = {()}
    where: dict[str, list[tuple[str, ...]]] = {}
    known_ids = {1}
    for department in departments:
        path = department.path
        for depth in range(1, len(path) + 1):
            known_paths.add(path[:depth])
        if path:
            where.setdefault(path[-1], []).append(path)
        if department.id is not None:
            known_ids.add(department.id)
    problems: list[Problem] = []
    column = header_of("department")
    verdicts: dict[DepartmentRef, tuple[str, dict[str, str]] | None] = {}
    for row, held in zip(members.rows, members.departments):
        for ref in held or ():
            if ref not in verdicts:
                verdicts[ref] = _verdict(ref, known_paths, known_ids, where)
            verdict = verdicts[ref]
            if verdict is not None:
                slug, params = verdict
                value = str(ref) if isinstance(ref, int) else path_text(ref)
                problems.append(make_problem(slug, row=row, field="department", column=column,
                                             value=value, **params))
    return problems


def _verdict(ref: DepartmentRef, known_paths: set[tuple[str, ...]], known_ids: set[int],
             where: dict[str, list[tuple[str, ...]]]) -> tuple[str, dict[str, str]] | None:
    if isinstance(ref, int):
        return None if ref in known_ids else ("unknown-department", {})
    if ref in known_paths:
        return None
    elsewhere = where.get(ref[-1]) if ref else None
    if elsewhere:
        shown = "; ".join(path_text(p) for p in elsewhere[:3])
        return ("department-conflict", {"reason": Text(f"the sheet has {ref[-1]} at {shown}",
                                                       f"部门表中“{ref[-1]}”位于 {shown}")})
    return ("unknown-department", {})
