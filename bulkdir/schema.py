"""The records a sheet is read into, and the column table: which headers fill which field.

Each column a sheet may have is a `Column`: the English field it fills, the Chinese label, the
headers accepted for it (English field names, the admin console template's and the batch-import
CSV's Chinese headers), and a parser from cleaned text to the API's value (bulkdir/parsers.py).

A blank cell means "leave as it is". The clear marker `（清空）` (also `(清空)` or `<clear>`) empties
a field on import; the field's name is then in `Member.clear`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from itertools import repeat
from typing import Any, Callable, Union

from bulkdir.fields import DEPARTMENT_LABELS, MEMBER_LABELS
from bulkdir.parsers import (
    EXAMPLE_SUFFIXES,
    parse_department_id,
    parse_disabled,
    parse_email,
    parse_enable,
    parse_gender,
    parse_leader_flags,
    parse_leaders,
    parse_mobile,
    parse_order,
    parse_order_list,
    parse_parent_id,
    parse_telephone,
    parse_text,
    parse_to_invite,
    parse_userid,
)
from bulkdir.sheets import normalise_header

DepartmentRef = Union[tuple[str, ...], int]
"""A department named by its path below the root (the root's name left out; `()` is the root) or by id."""


@dataclass(slots=True)
class Member:
    """One member row. `values` holds only non-blank cells, keyed by the API's field names, with
    API values (text str; gender "1"/"2"; enable 0/1; direct_leader list[str]; is_leader_in_dept and
    order list[int]; to_invite bool). Departments are in `departments`, not in `values`."""

    row: int
    values: dict[str, Any] = field(default_factory=dict)
    departments: list[DepartmentRef] = field(default_factory=list)
    main_department: DepartmentRef | None = None
    clear: set[str] = field(default_factory=set)


@dataclass(slots=True)
class MemberColumns:
    """The member rows of a sheet held column by column, as the reader builds and checks them: position i
    is spreadsheet row `rows[i]`, `values[field][i]` its value (None where the cell is blank; only the
    fields the sheet has), `departments[i]` its departments (None for none), `main_department[i]` its main
    one, and `clear[i]` the fields it clears (only rows that clear any). Checking 100,000 rows needs no
    record per row; `members()` builds the `Member` records, once, for the callers that want them. Rows
    that read alike share one list in the columns (their departments, order, ...): read the columns, and
    change the records, which have their own.

    >>> columns = MemberColumns.of([Member(2, {"userid": "zhangsan"}), Member(3, {"name": "李四"})])
    >>> columns.values["userid"], [m.values for m in columns.members()]
    (['zhangsan', None], [{'userid': 'zhangsan'}, {'name': '李四'}])
    """

    rows: list[int]
    values: dict[str, list[Any]]
    departments: list[list[DepartmentRef] | None]
    main_department: list[DepartmentRef | None]
    clear: dict[int, set[str]] = field(default_factory=dict)
    _members: list[Member] | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def of(cls, members: list[Member]) -> MemberColumns:
        """The columns of records built one by one (a test's, a notebook's)."""
        names = list(dict.fromkeys(name for member in members for name in member.values))
        return cls([m.row for m in members], {name: [m.values.get(name) for m in members] for name in names},
                   [m.departments or None for m in members], [m.main_department for m in members],
                   {i: set(m.clear) for i, m in enumerate(members) if m.clear})

    def members(self) -> list[Member]:
        """The rows as Member records, in sheet order; built on the first call, the same list after it.
        Each record has its own lists and sets: changing one changes neither another nor the columns."""
        if self._members is None:
            count = len(self.rows)
            names = list(self.values)
            # Each row's values as a dict made in C from the columns, then, column by column and only in the
            # columns that have them, the blanks taken out and the lists (shared by rows that read alike) copied.
            values = list(map(dict, map(zip, repeat(names), zip(*self.values.values())))) if names \
                else [{} for _ in range(count)]
            for name, column in self.values.items():
                first = next((value for value in column if value is not None), None)
                if first is None or first.__class__ is list or None in column:
                    for row_values, value in zip(values, column):
                        if value is None:
                            del row_values[name]
                        elif value.__class__ is list:
                            row_values[name] = value.copy()
            clear: list[set[str]] = [set() for _ in range(count)]
            for position, fields in self.clear.items():
                clear[position] = set(fields)
            self._members = list(map(Member, self.rows, values,
                                     [list(held) if held else [] for held in self.departments],
                                     self.main_department, clear))
        return self._members


@dataclass(slots=True)
class Department:
    """One departments-sheet row. `path` is the names below the root. When the sheet gives the
    parent only as an id that the sheet itself does not define, `path` is `()` and `parent_id` and
    `name` say where it goes (the importer resolves the id against the directory)."""

    row: int
    path: tuple[str, ...]
    id: int | None = None
    order: int | None = None
    name_en: str | None = None
    parent_id: int | None = None
    name: str = ""


@dataclass(frozen=True)
class Column:
    """One kind of column: the record field it fills, its Chinese label, the headers accepted for it."""

    key: str
    field: str
    label: str
    aliases: tuple[str, ...]
    parse: Callable[[str], Any] | None = None
    clearable: bool = False

    def headers(self) -> set[str]:
        return {normalise_header(h) for h in (self.key, self.field, self.label, *self.aliases)}


def _member(key: str, field: str, aliases: tuple[str, ...], parse: Callable[[str], Any] | None,
            clearable: bool = False) -> Column:
    return Column(key, field, MEMBER_LABELS[key], aliases, parse, clearable)


def _department(key: str, field: str, aliases: tuple[str, ...], parse: Callable[[str], Any] | None) -> Column:
    return Column(key, field, DEPARTMENT_LABELS[key], aliases, parse)


MEMBER_COLUMNS: list[Column] = [
    _member("userid", "userid", ("账号", "成员帐号", "成员账号", "user_id", "account", "成员id"), parse_userid),
    _member("name", "name", ("名字", "成员姓名"), parse_text(64)),
    _member("alias", "alias", ("英文名",), parse_text(64), clearable=True),
    _member("position", "position", ("职位", "title"), parse_text(128), clearable=True),
    _member("department", "department", ("所属部门", "部门路径", "departments"), None),
    _member("department_id", "department", ("部门id", "department_ids", "所在部门id"), None),
    _member("main_department", "main_department", ("main_dept",), None),
    _member("gender", "gender", ("sex",), parse_gender),
    _member("mobile", "mobile", ("手机号", "手机号码", "phone", "mobile_phone"), parse_mobile, clearable=True),
    _member("telephone", "telephone", ("电话", "座机号码", "办公电话", "tel"), parse_telephone, clearable=True),
    _member("email", "email", ("个人邮箱", "电子邮箱", "e_mail", "mail"), parse_email, clearable=True),
    _member("biz_mail", "biz_mail", ("bizmail",), parse_email, clearable=True),
    _member("address", "address", ("办公地址", "工作地点"), parse_text(128), clearable=True),
    _member("is_leader_in_dept", "is_leader_in_dept", ("部门内领导", "是否领导", "部门负责人", "is_leader"),
           parse_leader_flags),
    _member("direct_leader", "direct_leader", ("上级", "汇报对象", "leader", "direct_leaders"), parse_leaders,
           clearable=True),
    _member("order", "order", ("部门内排序", "次序"), parse_order_list),
    _member("enable", "enable", ("是否启用", "enabled", "状态"), parse_enable),
    _member("disabled", "enable", ("是否禁用", "disable"), parse_disabled),
    _member("external_position", "external_position", (), parse_text(12), clearable=True),
    _member("nickname", "nickname", ("视频号名称",), parse_text(64), clearable=True),
    _member("to_invite", "to_invite", ("是否邀请", "invite"), parse_to_invite),
]

DEPARTMENT_COLUMNS: list[Column] = [
    _department("name", "name", ("名称", "department_name"), parse_text(None)),
    _department("path", "path", ("完整路径", "full_path", "department_path", "部门全路径"), None),
    _department("parent", "parent", ("父部门", "parent_path", "上级部门路径", "父部门路径"), None),
    _department("parentid", "parentid", ("parent_id", "上级部门id"), parse_parent_id),
    _department("id", "id", ("department_id",), parse_department_id),
    _department("order", "order", ("次序",), parse_order),
    _department("name_en", "name_en", ("英文名", "name_english"), parse_text(64)),
]

# Headers read silently and never imported: the admin template's 企业简称, the batch CSV's note
# column, and the columns our own problem reports add (so a report can be fixed and re-read).
IGNORED_HEADERS = {normalise_header(h) for h in (
    "企业简称", "禁用项说明", "禁用项说明：(0-启用;1-禁用)", "问题", "problems", "问题 problems", "原行号", "row",
    "原行号 row", "结果", "result")}



def _alias_map(columns: list[Column]) -> dict[str, Column]:
    table: dict[str, Column] = {}
    for column in columns:
        for header in column.headers():
            table.setdefault(header, column)
    return table


MEMBER_HEADERS = _alias_map(MEMBER_COLUMNS)
DEPARTMENT_HEADERS = _alias_map(DEPARTMENT_COLUMNS)
# A lone "部门" or "department" header means a member's departments, never a departments-sheet name.
DEPARTMENT_HEADERS.pop("部门", None)
DEPARTMENT_HEADERS.pop("department", None)
DEPARTMENT_HEADERS.pop("department_id", None)


def is_example_name(name: str) -> bool:
    """Example:

    >>> is_example_name("张三（示例）")
    True
    """
    return name.endswith(EXAMPLE_SUFFIXES)
