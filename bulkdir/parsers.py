"""Value parsers: one cleaned, non-blank cell's text in, the API's value out, or CellProblem.

Each parser knows the platform's rule for one kind of value (userid, mobile, email, telephone, gender,
yes/no, numbers, department ids and paths) and the ways people write it in Excel (full-width digits,
`+86 138-…`, `是/否`, `男/女`). The row readers (bulkdir/readers.py) turn a CellProblem into a Problem.
"""

from __future__ import annotations

import operator
import re
import unicodedata
from typing import Any, Callable, Sequence

from bulkdir.errors import Text
from bulkdir.fields import (
    FORBIDDEN_IN_DEPARTMENT_NAME,
    MAX_DEPARTMENTS,
    MAX_DEPTH,
    MAX_LEADERS,
    MAX_NAME,
    MAX_ORDER,
    WORD_GENDERS,
    WORD_YES_NO,
)

CLEAR_MARKER = "（清空）"
CLEAR_MARKERS = frozenset({"（清空）", "(清空)", "<clear>", "<CLEAR>", "<Clear>"})
EXAMPLE_SUFFIXES = ("（示例）", "(示例)", "(example)", "（example）", "(Example)", "（Example）")
DEFAULT_ROOT_NAME = "示例企业"  # the emulator's corp name; the importer passes the live one


class CellProblem(Exception):
    """Raised by a parser for a bad value; the reader turns it into a Problem of type `slug`."""

    def __init__(self, slug: str, value: str | None = None, **params: Any):
        super().__init__(slug)
        self.slug, self.value, self.params = slug, value, params



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

_GENDER = {**WORD_GENDERS, "1": "1", "2": "2", "m": "1", "f": "2", "male": "1", "female": "2"}
_YES_NO = {**WORD_YES_NO, "y": 1, "n": 0, "yes": 1, "no": 0, "true": 1, "false": 0, "1": 1, "0": 0}
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


# The texts a parser gives back unchanged, as a pattern per parser: a column whose every non-blank cell
# matches is taken as it is, without a call per cell (bulkdir/readers.py), three to five times faster. Each
# pattern matches only text that is already stripped, is no clear marker and that its parser returns as it
# is (tests/test_reader_fast_paths.py checks each against its parser).
AS_IS: dict[Callable[[str], Any], re.Pattern[str]] = {}
AS_ONE: dict[Callable[[str], Any], re.Pattern[str]] = {}  # the same for a parser that gives back [text]
# The same question asked of a whole column at once (`cells`: its non-blank texts), by str methods that run
# over the column's text in C where a pattern steps through each cell: two to five times quicker again. True
# only when the parser gives every cell back as it is (or as [text]); False may only mean "ask the pattern".
AS_IS_COLUMN: dict[Callable[[str], Any], Callable[[list[str]], bool]] = {}


def parse_text(limit: int | None) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if limit is not None and len(text) > limit:
            raise CellProblem("too-long", limit=limit)
        return text
    # A first character that is neither a space nor one a clear marker starts with, a last that is no space
    # (the same spaces as str.strip), within the limit, on one line.
    AS_IS[parse] = re.compile((rf"(?=.{{1,{limit}}}\Z)" if limit is not None else "") + r"[^\s（(<](?:.*\S)?")

    def column_as_is(cells: list[str]) -> bool:
        # str.strip gives back the very same text when it has nothing to strip
        return ((limit is None or max(map(len, cells), default=0) <= limit) and CLEAR_MARKERS.isdisjoint(cells)
                and all(map(operator.is_, cells, map(str.strip, cells))))
    AS_IS_COLUMN[parse] = column_as_is
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


AS_IS[parse_userid] = re.compile(r"(?!\d+\.0\Z)[A-Za-z0-9][A-Za-z0-9_.@\-]{0,63}")  # as _USERID, less lost digits
AS_IS[parse_mobile] = re.compile(r"1[3-9][0-9]{9}")  # its common case
# ASCII without spaces or controls, so neither narrowed nor counted in bytes; not starting as "(清空)" or "<clear>"
AS_IS[parse_email] = re.compile(r"(?=[!-~]{6,64}\Z)(?![(<])[^@\s]+@[^@\s.][^@\s]*\.[^@\s.]+")
AS_IS[parse_telephone] = re.compile(r"[0-9+\-,]{1,32}")


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


AS_ONE[parse_leaders] = _USERID

_USERID_MARKS = str.maketrans("", "", "_.@-\n")
_PHONE_MARKS = str.maketrans("", "", "+-,")


def _userids_as_is(cells: list[str]) -> bool:
    """Every cell as _USERID and no lost number (`123.0`): ASCII letters and digits with `_.@-`, one line
    each, starting with a letter or digit, at most 64 characters."""
    joined = "\n".join(cells)
    return (joined.isascii() and ".0" not in joined and joined.count("\n") == len(cells) - 1
            and joined.translate(_USERID_MARKS).isalnum() and joined[:1].isalnum()
            and not any(f"\n{mark}" in joined for mark in "_.@-") and max(map(len, cells), default=0) <= 64)


def _mobiles_as_is(cells: list[str]) -> bool:
    """Every cell eleven ASCII digits starting 13 to 19: a line end after each eleventh character of the
    column joined by line ends, and no other."""
    count = len(cells)
    joined = "\n".join(cells)
    if len(joined) != 12 * count - 1 or joined[11::12] != "\n" * (count - 1):
        return False
    digits = joined.replace("\n", "")
    return (len(digits) == 11 * count and digits.isascii() and digits.isdigit() and digits[::11] == "1" * count
            and not digits[1::11].strip("3456789"))


def _telephones_as_is(cells: list[str]) -> bool:
    """Every cell ASCII digits and `+-,`, at most 32 characters."""
    joined = "".join(cells)
    return joined.isascii() and joined.translate(_PHONE_MARKS).isdigit() and max(map(len, cells)) <= 32


AS_IS_COLUMN[parse_userid] = _userids_as_is
AS_IS_COLUMN[parse_leaders] = _userids_as_is  # stricter than AS_ONE's pattern: no `123.0` either
AS_IS_COLUMN[parse_mobile] = _mobiles_as_is
AS_IS_COLUMN[parse_telephone] = _telephones_as_is


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


def department_name_problem(name: str) -> Text | None:
    """Why a department name breaks the platform's rules, or None.

    >>> department_name_problem("研发:中心")
    'contains a character not allowed (\\\\ : * ? " < > |)'
    """
    if len(name) > MAX_NAME:
        return Text(f"is longer than {MAX_NAME} characters", f"超过 {MAX_NAME} 个字符")
    if FORBIDDEN_IN_DEPARTMENT_NAME.intersection(name):
        return Text('contains a character not allowed (\\ : * ? " < > |)', '含有不允许的字符（\\ : * ? " < > |）')
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
            raise CellProblem("invalid-department-name", value=part, reason=reason)
    if len(parts) + 1 > MAX_DEPTH:
        raise CellProblem("department-too-deep")
    return tuple(parts)


def path_text(path: Sequence[str], root: str = "") -> str:
    """A department path as people write it, below the root; the root itself is `root`.

    >>> path_text(("研发中心", "广州")), path_text(()), path_text((), root="/")
    ('研发中心/广州', '', '/')
    """
    return "/".join(path) or root


MAX_CUSTOM_TEXT = 64  # characters of a text custom field's value (platform page 90195)
MAX_WEB_TITLE = 12  # characters of a web custom field's title
_WEB_SPLIT = re.compile(r"\s*[;；]\s*")


def parse_custom(name: str, kind: str | None) -> Callable[[str], dict[str, Any]]:
    """A parser for a custom field (自定义字段) `name`: the cell as the attribute user/create takes. A text
    field holds at most 64 characters; a web field is written as the admin console writes it, `标题；https://…`.
    `kind` is "text" or "web" as the corp defines the field, None when it is not known (a web value is then
    told by its address).

    >>> parse_custom("工号", "text")("E1001")
    {'type': 0, 'name': '工号', 'text': {'value': 'E1001'}}
    >>> parse_custom("主页", None)("个人主页；https://example.com/zs")
    {'type': 1, 'name': '主页', 'web': {'url': 'https://example.com/zs', 'title': '个人主页'}}
    """
    def parse(text: str) -> dict[str, Any]:
        if kind == "web" or (kind is None and _looks_like_web(text)):
            parts = _WEB_SPLIT.split(text.strip(), maxsplit=1)
            if len(parts) != 2 or not parts[1].lower().startswith(("http://", "https://")) or not parts[0]:
                raise CellProblem("invalid-web-field")
            title, url = parts
            if len(title) > MAX_WEB_TITLE:
                raise CellProblem("invalid-web-field")
            return {"type": 1, "name": name, "web": {"url": url, "title": title}}
        if len(text) > MAX_CUSTOM_TEXT:
            raise CellProblem("too-long", limit=MAX_CUSTOM_TEXT)
        return {"type": 0, "name": name, "text": {"value": text}}
    return parse


def _looks_like_web(text: str) -> bool:
    parts = _WEB_SPLIT.split(text.strip(), maxsplit=1)
    return len(parts) == 2 and parts[1].lower().startswith(("http://", "https://"))


def custom_value_text(attr: dict[str, Any] | None) -> str:
    """A custom attribute as a sheet cell shows it: the text, or `标题；https://…`; "" when empty.

    >>> custom_value_text({"type": 1, "name": "主页", "web": {"url": "https://e.com", "title": "主页"}})
    '主页；https://e.com'
    """
    if not attr:
        return ""
    if attr.get("type") == 1 or "web" in attr:
        web = attr.get("web") or {}
        url, title = str(web.get("url") or ""), str(web.get("title") or "")
        return f"{title}；{url}" if url or title else ""
    return str((attr.get("text") or {}).get("value") or "")
