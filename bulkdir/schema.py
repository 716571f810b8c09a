"""Field definitions for members and departments, and the per-row reading that turns text cells into
`Member` / `Department` records plus Problems.

Each column a sheet may have is a `Column`: the English field it fills, the Chinese label, the
headers accepted for it (English field names, the admin console template's and the batch-import
CSV's Chinese headers), and a parser from cleaned text to the API's value. A parser raises
`CellProblem` for a bad value; the row reader turns that into a Problem and carries on.

A blank cell means "leave as it is". The clear marker `（清空）` (also `(清空)` or `<clear>`) empties
a field on import; the field's name is then in `Member.clear`.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Iterable, Union

from bulkdir.problems import Problem, make_problem
from bulkdir.sheets import normalise_header

DepartmentRef = Union[tuple[str, ...], int]
"""A department named by its path below the root (the root's name left out; `()` is the root) or by id."""

CLEAR_MARKER = "（清空）"
CLEAR_MARKERS = frozenset({"（清空）", "(清空)", "<clear>", "<CLEAR>", "<Clear>"})
EXAMPLE_SUFFIXES = ("（示例）", "(示例)", "(example)", "（example）", "(Example)", "（Example）")
DEFAULT_ROOT_NAME = "示例企业"  # the emulator's corp name; the importer passes the live one
MAX_DEPARTMENTS = 100
MAX_LEADERS = 5
MAX_DEPTH = 15
MAX_ORDER = 2**32 - 1
FORBIDDEN_IN_DEPARTMENT_NAME = set('\\:*?"<>|')


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


class CellProblem(Exception):
    """Raised by a parser for a bad value; the reader turns it into a Problem of type `slug`."""

    def __init__(self, slug: str, value: str | None = None, **params: Any):
        super().__init__(slug)
        self.slug, self.value, self.params = slug, value, params


# ---------------------------------------------------------------------------------------------
# parsers: cleaned, non-blank text in, API value out

_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}")
_MAINLAND = re.compile(r"1[3-9]\d{9}")
_LOST_DIGITS = re.compile(r"[+-]?\d+(?:\.\d*)?[eE][+-]?\d+|\d+\.\d+")
_INTL_SPACED = re.compile(r"(?:\+|00)(\d{1,4})[ \-]+(\d[\d \-]*)")
_INTL_PLAIN = re.compile(r"(?:\+|00)(\d+)")
_PHONE_SEPARATORS = re.compile(r"[ \-()]")
_EMAIL = re.compile(r"[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")
_TELEPHONE = re.compile(r"[0-9+\-,]{1,32}")
_SPACES = re.compile(r"\s+")
_LIST_SPLIT = re.compile(r"[;；]")
_LEADER_SPLIT = re.compile(r"[;；,，、]")
_PATH_SPLIT = re.compile(r"[/／]")
_DIGITS = re.compile(r"\d+")

_GENDER = {"男": "1", "女": "2", "1": "1", "2": "2", "m": "1", "f": "2", "male": "1", "female": "2"}
_YES_NO = {"是": 1, "否": 0, "y": 1, "n": 0, "yes": 1, "no": 0, "true": 1, "false": 0, "1": 1, "0": 0}
_ENABLE = {**_YES_NO, "启用": 1, "禁用": 0, "enabled": 1, "disabled": 0}
# The batch-import CSV's 禁用 column is inverted (1 or 是 = disabled), but a cell that says 启用 or
# 禁用 in words means what it says whichever column it is in.
_DISABLED = {key: 1 - value for key, value in _YES_NO.items()}
_DISABLED.update({"启用": 1, "禁用": 0, "enabled": 1, "disabled": 0})


_INVISIBLE = re.compile("[\u200b-\u200d\u2060\ufeff]")  # zero-width characters pasted in from web pages and chats


def _narrow(text: str) -> str:
    """Full-width digits, letters and signs as plain ASCII (NFKC), invisible characters dropped; only
    when there are any."""
    return text if text.isascii() else _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))


def parse_text(limit: int | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if limit is not None and len(text) > limit:
            raise CellProblem("too-long", limit=limit)
        return text
    return parse


def parse_userid(text: str) -> str:
    """Example:

    >>> parse_userid("ZhangSan")
    'ZhangSan'
    """
    if _USERID.fullmatch(text):
        if text[-2:] == ".0" and text[:-2].isdigit():
            raise CellProblem("lost-digits")  # a number past Excel's 15 digits, read back as a float
        return text
    narrowed = _narrow(text)
    if _USERID.fullmatch(narrowed):
        return narrowed
    if _LOST_DIGITS.fullmatch(narrowed):
        raise CellProblem("lost-digits")
    raise CellProblem("invalid-userid")


def parse_mobile(text: str) -> str:
    """Mainland numbers as 11 digits; others as `+<country code> <number>`.

    >>> parse_mobile("+86 139-1234-5678"), parse_mobile("１３９１２３４５６７８"), parse_mobile("+852 9123 4567")
    ('13912345678', '13912345678', '+852 91234567')
    """
    if len(text) == 11 and text.isascii() and text.isdigit() and text[0] == "1" and text[1] in "3456789":
        return text  # the common case, checked without a regex
    text = _narrow(text)
    if _LOST_DIGITS.fullmatch(text):
        raise CellProblem("lost-digits")
    if text[0] == "+" or text.startswith("00"):
        if match := _INTL_SPACED.fullmatch(text):
            code, rest = match.group(1), _PHONE_SEPARATORS.sub("", match.group(2))
        elif match := _INTL_PLAIN.fullmatch(_PHONE_SEPARATORS.sub("", text)):
            digits = match.group(1)
            if digits.startswith("86") and _MAINLAND.fullmatch(digits[2:]):
                return digits[2:]
            if len(digits) < 6 or len(digits) > 31:
                raise CellProblem("invalid-mobile")
            return "+" + digits
        else:
            raise CellProblem("invalid-mobile")
        if code == "86":
            if _MAINLAND.fullmatch(rest):
                return rest
            raise CellProblem("invalid-mobile")
        result = f"+{code} {rest}"
        if len(rest) < 4 or len(result) > 32:
            raise CellProblem("invalid-mobile")
        return result
    digits = _PHONE_SEPARATORS.sub("", text)
    if _MAINLAND.fullmatch(digits):
        return digits
    if len(digits) == 13 and digits.startswith("86") and _MAINLAND.fullmatch(digits[2:]):
        return digits[2:]
    raise CellProblem("invalid-mobile")


def parse_email(text: str) -> str:
    """Example:

    >>> parse_email("zhang.san@example.com")
    'zhang.san@example.com'
    """
    text = _narrow(text)
    size = len(text) if text.isascii() else len(text.encode("utf-8"))
    if 6 <= size <= 64 and _EMAIL.fullmatch(text):
        return text
    raise CellProblem("invalid-email")


def parse_telephone(text: str) -> str:
    """Example:

    >>> parse_telephone("020 8888 6666")
    '020-8888-6666'
    """
    if not text.isascii():
        text = _narrow(text)
    if " " in text or "\t" in text:
        text = _SPACES.sub("-", text)
    if _TELEPHONE.fullmatch(text):
        return text
    if _LOST_DIGITS.fullmatch(text):
        raise CellProblem("lost-digits")
    raise CellProblem("invalid-telephone")


def parse_gender(text: str) -> str:
    """Example:

    >>> parse_gender("女")
    '2'
    """
    value = _GENDER.get(_narrow(text).lower())
    if value is None:
        raise CellProblem("invalid-gender")
    return value


def _choice(table: dict[str, int]) -> Callable[[str], int]:
    def parse(text: str) -> int:
        value = table.get(_narrow(text).lower())
        if value is None:
            raise CellProblem("invalid-yes-no")
        return value
    return parse


parse_yes_no = _choice(_YES_NO)
parse_enable = _choice(_ENABLE)
parse_disabled = _choice(_DISABLED)


def parse_to_invite(text: str) -> bool:
    return bool(parse_yes_no(text))


def _int(text: str, slug: str, low: int, high: int) -> int:
    text = _narrow(text).strip()
    if not _DIGITS.fullmatch(text):
        raise CellProblem(slug, value=text)
    value = int(text)
    if not low <= value <= high:
        raise CellProblem(slug, value=text)
    return value


def parse_order(text: str) -> int:
    return _int(text, "invalid-number", 0, MAX_ORDER)


def _split(text: str, splitter: re.Pattern[str] = _LIST_SPLIT) -> list[str]:
    return [part.strip() for part in splitter.split(text) if part.strip()]


def parse_order_list(text: str) -> list[int]:
    """Example:

    >>> parse_order_list("10;20")
    [10, 20]
    """
    return [parse_order(part) for part in _split(text)]


def parse_leader_flags(text: str) -> list[int]:
    """Example:

    >>> parse_leader_flags("是；否")
    [1, 0]
    """
    return [parse_yes_no(part) for part in _split(text)]


def parse_leaders(text: str) -> list[str]:
    """Example:

    >>> parse_leaders("lisi; wangwu")
    ['lisi', 'wangwu']
    """
    if _USERID.fullmatch(text):
        return [text]  # one leader, the common case
    leaders = []
    for part in _split(text, _LEADER_SPLIT):
        try:
            leaders.append(parse_userid(part))
        except CellProblem:
            raise CellProblem("invalid-userid", value=part) from None
    if len(leaders) > MAX_LEADERS:
        raise CellProblem("too-many-leaders", count=len(leaders))
    return leaders


def parse_department_id(text: str) -> int:
    return _int(text, "invalid-department-id", 1, 2**31 - 1)


def parse_parent_id(text: str) -> int:
    """A parent's id; 0 only on the root's own row of a batch-import file."""
    return _int(text, "invalid-department-id", 0, 2**31 - 1)


def parse_department_ids(text: str) -> list[int]:
    """Example:

    >>> parse_department_ids("2;3")
    [2, 3]
    """
    ids = [parse_department_id(part) for part in _split(text)]
    if len(ids) > MAX_DEPARTMENTS:
        raise CellProblem("too-many-departments", count=len(ids))
    return ids


def department_name_problem(name: str) -> tuple[str, str] | None:
    """Why a department name breaks the platform's rules, in English and Chinese, or None.

    >>> department_name_problem("研发:中心")[0]
    'contains a character not allowed (\\\\ : * ? " < > |)'
    """
    if len(name) > 64:
        return "is longer than 64 characters", "超过 64 个字符"
    if FORBIDDEN_IN_DEPARTMENT_NAME.intersection(name):
        return ('contains a character not allowed (\\ : * ? " < > |)',
                '含有不允许的字符（\\ : * ? " < > |）')
    return None


def parse_path(text: str, root_name: str) -> tuple[str, ...]:
    """One department path below the root; a leading component equal to `root_name` is dropped.

    >>> parse_path("示例企业/研发中心/广州", "示例企业"), parse_path("研发中心／广州", "示例企业")
    (('研发中心', '广州'), ('研发中心', '广州'))
    """
    parts = [part.strip() for part in _PATH_SPLIT.split(text)]
    parts = [part for part in parts if part]
    if parts and parts[0] == root_name:
        del parts[0]
    for part in parts:
        if reason := department_name_problem(part):
            raise CellProblem("invalid-department-name", value=part, reason_en=reason[0], reason_zh=reason[1])
    if len(parts) + 1 > MAX_DEPTH:
        raise CellProblem("department-too-deep")
    return tuple(parts)


def path_text(path: tuple[str, ...]) -> str:
    """Example:

    >>> path_text(("研发中心", "广州"))
    '研发中心/广州'
    """
    return "/".join(path)


# ---------------------------------------------------------------------------------------------
# columns

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


MEMBER_COLUMNS: list[Column] = [
    Column("userid", "userid", "帐号", ("账号", "成员帐号", "成员账号", "user_id", "account", "成员id"), parse_userid),
    Column("name", "name", "姓名", ("名字", "成员姓名"), parse_text(64)),
    Column("alias", "alias", "别名", ("英文名",), parse_text(64), clearable=True),
    Column("position", "position", "职务", ("职位", "title"), parse_text(128), clearable=True),
    Column("department", "department", "部门", ("所属部门", "部门路径", "departments"), None),
    Column("department_id", "department", "所在部门", ("部门id", "department_ids", "所在部门id"), None),
    Column("main_department", "main_department", "主部门", ("main_dept",), None),
    Column("gender", "gender", "性别", ("sex",), parse_gender),
    Column("mobile", "mobile", "手机", ("手机号", "手机号码", "phone", "mobile_phone"), parse_mobile, clearable=True),
    Column("telephone", "telephone", "座机", ("电话", "座机号码", "办公电话", "tel"), parse_telephone, clearable=True),
    Column("email", "email", "邮箱", ("个人邮箱", "电子邮箱", "e_mail", "mail"), parse_email, clearable=True),
    Column("biz_mail", "biz_mail", "企业邮箱", ("bizmail",), parse_email, clearable=True),
    Column("address", "address", "地址", ("办公地址", "工作地点"), parse_text(128), clearable=True),
    Column("is_leader_in_dept", "is_leader_in_dept", "是否部门内领导", ("部门内领导", "是否领导", "部门负责人", "is_leader"),
           parse_leader_flags),
    Column("direct_leader", "direct_leader", "直属上级", ("上级", "汇报对象", "leader", "direct_leaders"), parse_leaders,
           clearable=True),
    Column("order", "order", "排序", ("部门内排序", "次序"), parse_order_list),
    Column("enable", "enable", "启用", ("是否启用", "enabled", "状态"), parse_enable),
    Column("disabled", "enable", "禁用", ("是否禁用", "disable"), parse_disabled),
    Column("external_position", "external_position", "对外职务", (), parse_text(12), clearable=True),
    Column("nickname", "nickname", "视频号", ("视频号名称",), parse_text(64), clearable=True),
    Column("to_invite", "to_invite", "邀请", ("是否邀请", "invite"), parse_to_invite),
]

DEPARTMENT_COLUMNS: list[Column] = [
    Column("name", "name", "部门名称", ("名称", "department_name"), parse_text(None)),
    Column("path", "path", "部门路径", ("完整路径", "full_path", "department_path", "部门全路径"), None),
    Column("parent", "parent", "上级部门", ("父部门", "parent_path", "上级部门路径", "父部门路径"), None),
    Column("parentid", "parentid", "父部门ID", ("parent_id", "上级部门id"), parse_parent_id),
    Column("id", "id", "部门ID", ("department_id",), parse_department_id),
    Column("order", "order", "排序", ("次序",), parse_order),
    Column("name_en", "name_en", "英文名称", ("英文名", "name_english"), parse_text(64)),
]

# Headers read silently and never imported: the admin template's 企业简称, the batch CSV's note
# column, and the columns our own problem reports add (so a report can be fixed and re-read).
IGNORED_HEADERS = {normalise_header(h) for h in (
    "企业简称", "禁用项说明", "禁用项说明：(0-启用;1-禁用)", "问题", "problems", "问题 problems", "原行号", "row",
    "原行号 row", "结果", "result")}

LABELS: dict[str, str] = {c.field: c.label for c in MEMBER_COLUMNS if c.key != "disabled"}
LABELS.update({"enable": "启用", "department": "部门", "path": "部门路径", "parent": "上级部门",
               "parentid": "父部门ID", "id": "部门ID", "name_en": "英文名称"})
"""Chinese label of each English field name, used in messages. (`name` is 姓名 for both records.)"""


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


# ---------------------------------------------------------------------------------------------
# reading rows

def _cell_problem(error: CellProblem, row: int, column: Column, header: str, text: str) -> Problem:
    """The Problem for a cell whose parser raised `error`."""
    return make_problem(error.slug, row=row, field=column.field, column=header,
                        value=error.value if error.value is not None else text, label=column.label, **error.params)


class HeaderMap:
    """Which column holds which field: built from a header row, reporting unknown, duplicate and
    missing columns as Problems of the header's row."""

    def __init__(self, headers: list[str], table: dict[str, Column], header_row: int,
                 required: Iterable[str] = ()):
        self.headers = headers
        self.header_row = header_row
        self.plan: list[tuple[int, Column, str]] = []
        self.problems: list[Problem] = []
        self.fields: list[str | None] = [None] * len(headers)
        seen: dict[str, str] = {}
        unknown: list[str] = []
        for index, header in enumerate(headers):
            key = normalise_header(header) if header else ""
            if not key or key in IGNORED_HEADERS:
                continue
            column = table.get(key)
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
            self.problems.append(make_problem("unknown-column", row=header_row, column=shown))
        else:
            self.problems += [make_problem("unknown-column", row=header_row, column=h) for h in unknown]
        self.keys = seen  # column key -> header as written
        for key in required:
            if key not in seen:
                column = next(c for c in table.values() if c.key == key)
                self.problems.append(make_problem("missing-required-column", row=header_row, field=column.field,
                                                  label=column.label))

    def header_of(self, field_name: str) -> str | None:
        """The header as written of the first column filling `field_name`."""
        for _, column, header in self.plan:
            if column.field == field_name:
                return header
        return None


_TO_VALUES, _TO_DEPARTMENTS, _TO_MAIN = 0, 1, 2
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
                 known_userids: Collection[str] | None = None):
        # With a directory at hand a sheet of updates needs no name column: only new members need names.
        required = ("userid", "name") if known_userids is None else ("userid",)
        self.columns = HeaderMap(headers, MEMBER_HEADERS, header_row, required=required)
        self.root_name = root_name
        self.known = known_userids
        self.problems: list[Problem] = list(self.columns.problems)
        keys = self.columns.keys
        self.has_contact = "mobile" in keys or "email" in keys
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
        """The Members of many rows (`numbers` their spreadsheet row numbers), example rows left
        out. Rows are read column by column, which keeps the loop per cell short: on 100,000 rows
        that is about twice as fast as row by row."""
        problems = self.problems
        width = len(self.columns.headers)
        name_index = self._name_index
        kept: list[list[str]] = []
        members: list[Member] = []
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
            members.append(Member(number))
        bad: dict[int, set[str]] = {}
        for index, column, header, convert, target, memo in self._plan:
            field_name = column.field
            if memo is None:
                self._read_plain_column(kept, members, index, column, header, convert, bad)
                continue
            for cells, member in zip(kept, members):
                text = cells[index]
                if not text:
                    continue
                text = text.strip()
                if not text:
                    continue
                if text[0] in "（(<" and text in CLEAR_MARKERS:
                    self._clear(member, column, header, text, bad)
                    continue
                value = memo.get(text, _MISSING)
                if value is _MISSING:
                    try:
                        value = convert(text)
                    except CellProblem as error:
                        value = error
                    if len(memo) < _MEMO_LIMIT:
                        memo[text] = value
                if value.__class__ is list and target == _TO_VALUES:
                    value = value.copy()  # each member gets its own list
                if value.__class__ is CellProblem:
                    self._bad_cell(member, column, header, text, value, bad)
                elif target == _TO_VALUES:
                    member.values[field_name] = value
                elif target == _TO_DEPARTMENTS:
                    member.departments += value
                else:
                    member.main_department = value
        no_bad: set[str] = set()
        check = self._check_row
        for member in members:
            check(member, bad.get(member.row, no_bad))
        return members

    def _read_plain_column(self, kept: list[list[str]], members: list[Member], index: int, column: Column,
                           header: str, convert: Callable[[str], Any], bad: dict[int, set[str]]) -> None:
        # The common case kept tight: a column of mostly distinct values (userid, name, mobile, ...).
        field_name = column.field
        for cells, member in zip(kept, members):
            text = cells[index]
            if not text:
                continue
            text = text.strip()
            if not text:
                continue
            if text[0] in "（(<" and text in CLEAR_MARKERS:
                self._clear(member, column, header, text, bad)
                continue
            try:
                member.values[field_name] = convert(text)
            except CellProblem as error:
                self._bad_cell(member, column, header, text, error, bad)

    def _clear(self, member: Member, column: Column, header: str, text: str, bad: dict[int, set[str]]) -> None:
        if column.clearable:
            member.clear.add(column.field)
        else:
            bad.setdefault(member.row, set()).add(column.field)  # one problem for the cell, not a second "required"
            self.problems.append(make_problem("clear-not-allowed", row=member.row, field=column.field,
                                              column=header, value=text, label=column.label))

    def _bad_cell(self, member: Member, column: Column, header: str, text: str, error: CellProblem,
                  bad: dict[int, set[str]]) -> None:
        bad.setdefault(member.row, set()).add(column.field)
        self.problems.append(_cell_problem(error, member.row, column, header, text))

    def _main(self, text: str) -> DepartmentRef:
        if _DIGITS.fullmatch(_narrow(text)):
            return parse_department_id(text)
        return parse_path(text, self.root_name)

    def _paths(self, text: str) -> list[DepartmentRef]:
        paths: list[DepartmentRef] = [parse_path(part, self.root_name) for part in _split(text)]
        if len(paths) > MAX_DEPARTMENTS:
            raise CellProblem("too-many-departments", count=len(paths))
        return paths

    def _check_row(self, member: Member, bad: set[str]) -> None:
        values, row, header_of = member.values, member.row, self.columns.header_of
        problems = self.problems
        userid = values.get("userid")
        known = self.known is not None and userid is not None and userid.lower() in self.known
        if userid is None and "userid" not in bad and "userid" in self.columns.keys:
            problems.append(make_problem("missing-required", row=row, field="userid", column=header_of("userid")))
        checks_new = self.known is not None  # rows of new members are checked even without the columns
        if ("name" not in values and "name" not in bad and not known
                and ("name" in self.columns.keys or checks_new)):
            problems.append(make_problem("missing-required", row=row, field="name", column=header_of("name")))
        if ((self.has_contact or checks_new) and not known and "mobile" not in values and "email" not in values
                and "mobile" not in bad and "email" not in bad):
            problems.append(make_problem("no-mobile-or-email", row=row))
        departments = member.departments
        if len(departments) > MAX_DEPARTMENTS and "department" not in bad:
            problems.append(make_problem("too-many-departments", row=row, field="department",
                                         column=header_of("department"), count=len(departments)))
        if len(departments) > 1 and "department" not in bad and len(set(departments)) < len(departments):
            seen: set[DepartmentRef] = set()
            for ref in departments:
                if ref in seen:
                    shown = ref if isinstance(ref, int) else path_text(ref)
                    problems.append(make_problem("duplicate-department", row=row, field="department",
                                                 column=header_of("department"), value=str(shown)))
                    break
                seen.add(ref)
        for name in ("is_leader_in_dept", "order"):
            given = values.get(name)
            if given is not None and departments and "department" not in bad and len(given) != len(departments):
                problems.append(make_problem("length-mismatch", row=row, field=name, column=header_of(name),
                                             value=";".join(map(str, given)), count=len(given),
                                             expected=len(departments)))
        main = member.main_department
        if main is not None and departments and "department" not in bad:
            same_kind = [d for d in departments if isinstance(d, int) == isinstance(main, int)]
            if len(same_kind) == len(departments) and main not in same_kind:  # paths and ids: the importer compares
                shown = main if isinstance(main, int) else path_text(main)
                problems.append(make_problem("main-department-not-listed", row=row, field="main_department",
                                             column=header_of("main_department"), value=str(shown)))
        if main is None and departments:
            member.main_department = departments[0]


class DepartmentReader:
    """Turns departments-sheet rows into `Department` records, appending Problems to `problems`.
    Call `finish()` after the last row to resolve parents given by id."""

    def __init__(self, headers: list[str], header_row: int, root_name: str = DEFAULT_ROOT_NAME):
        self.columns = HeaderMap(headers, DEPARTMENT_HEADERS, header_row)
        self.root_name = root_name
        self.problems: list[Problem] = list(self.columns.problems)
        keys = self.columns.keys
        if "path" not in keys and "name" not in keys:
            self.problems.append(make_problem("missing-required-column", row=header_row, field="name",
                                              label="部门名称"))
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
            header = self.columns.keys.get("name") or self.columns.keys.get("path")
            self.problems.append(make_problem("example-row", row=row, field="name", column=header, value=shown,
                                              label="部门名称"))
            return None
        if "path" in got:
            path = got["path"]
            if path:
                self._check_columns_agree(row, path, got)
        elif name:
            if reason := department_name_problem(name):
                self.problems.append(make_problem("invalid-department-name", row=row, field="name",
                                                  column=self.columns.keys.get("name"), value=name, label="部门名称",
                                                  reason_en=reason[0], reason_zh=reason[1]))
                return None
            path = got.get("parent", ()) + (name,) if "parent" in got or "parentid" not in got else ()
            if len(path) + 1 > MAX_DEPTH:
                self.problems.append(make_problem("department-too-deep", row=row, field="name", label="部门名称",
                                                  column=self.columns.keys.get("name"), value=path_text(path)))
        else:
            if not bad:
                self.problems.append(make_problem("missing-required", row=row, field="name", label="部门名称",
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
                                          label="部门路径", other_column=self.columns.keys.get(key), other=other))

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
