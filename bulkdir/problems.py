"""Problems: what is wrong with a sheet, by row and column, in English and Chinese.

A bad row is data, never an exception. Each kind of problem has a stable type slug (tests, JSON and
reports rely on it) and a message template in both languages, kept together in `PROBLEM_TYPES`.
Templates may use `{field}` ("mobile (手机)" in English, "手机" in Chinese), `{value}`, and the
parameters passed to `make_problem`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Iterable, Literal

from bulkdir.errors import Text
from bulkdir.fields import LABELS

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class ProblemType:
    slug: str
    severity: Severity
    en: str
    zh: str


def _types(*entries: tuple[str, Severity, str, str]) -> dict[str, ProblemType]:
    return {slug: ProblemType(slug, severity, en, zh) for slug, severity, en, zh in entries}


PROBLEM_TYPES: dict[str, ProblemType] = _types(
    # the table as a whole
    ("missing-required-column", "error",
     "The sheet has no {field} column; it is required.", "表格缺少必填列“{field}”。"),
    ("no-mobile-or-email-column", "error",
     "The sheet has neither a mobile (手机) nor an email (邮箱) column; every new member needs one of them.",
     "表格既没有“手机”列也没有“邮箱”列，新成员至少需要其中之一。"),
    ("unknown-column", "warning",
     "Column {column!r} is not a known field; it is ignored. Map it with {suggestion}.",
     "无法识别列“{column}”，已忽略。可用 {suggestion.zh} 映射。"),
    ("no-userid-column", "warning",
     "The sheet has no userid (帐号) column: each row is matched to a member by mobile or email when it is "
     "imported, and a row that matches nobody needs --make-userid or --userid-from to be created.",
     "表格没有“帐号”列：导入时按手机或邮箱匹配已有成员；匹配不到的行需要 --make-userid 或 --userid-from 才能新建。"),
    ("unknown-custom-field", "error",
     "Column {column!r} is mapped to the custom field {value!r}, which the corp does not have (its custom "
     "fields: {known}); WeCom would drop the value. Add the field in the admin console or correct the mapping.",
     "列“{column}”映射到自定义字段“{value}”，但企业没有这个字段（现有：{known}），企业微信会丢弃该值；"
     "请先在管理后台添加该字段，或改正映射。"),
    ("custom-fields-unchecked", "warning",
     "Column {column!r} is mapped to the custom field {value!r}, which cannot be checked: the directory shows no "
     "custom fields (it is empty, or its members cannot be read). A field the corp does not have is dropped by WeCom.",
     "列“{column}”映射到自定义字段“{value}”，但无法核对：通讯录中看不到自定义字段（通讯录为空或无法读取成员）。"
     "企业没有的字段会被企业微信丢弃。"),
    ("mapped-to-other-sheet", "warning",
     "Column {column!r} is mapped to {value!r}, which a {kind} sheet does not have; it is ignored.",
     "列“{column}”映射为“{value}”，但{kind_zh}没有这个字段，已忽略。"),
    ("duplicate-column", "error",
     "Column {column!r} is a second {field} column; delete one of the two (only the first is read).",
     "列“{column}”与前面的“{field}”列重复，请删除其中一列（目前只读取第一列）。"),
    ("no-rows", "warning", "The sheet has a header row but no data rows.", "表格只有表头，没有数据行。"),
    # one row
    ("example-row", "warning",
     "Row is an example (its name ends in “示例”/“example”); it is skipped.",
     "该行是示例行（名称以“示例”结尾），已跳过。"),
    ("hidden-row", "warning",
     "Row is hidden in Excel; it is read like any other row.", "该行在 Excel 中被隐藏，仍会照常读取。"),
    ("merged-cells", "warning",
     "Cells {cells} are merged; the value {value!r} is used for each of them.",
     "单元格 {cells} 已合并，合并区域的每个单元格都按“{value}”处理。"),
    ("department-columns-disagree", "warning",
     "{field} {value!r} disagrees with {other_column} {other!r} on the same row; the path is used.",
     "“{field}”的“{value}”与同一行“{other_column}”的“{other}”不一致，以部门路径为准。"),
    # one cell
    ("missing-required", "error", "{field} is required.", "“{field}”为必填项。"),
    ("clear-not-allowed", "error",
     "{field} cannot be cleared; leave the cell blank to keep the current value.",
     "“{field}”不能清空；如要保持原值，请留空。"),
    ("invalid-userid", "error",
     "{field} {value!r} is not a valid userid: 1-64 letters, digits, _ . @ -, starting with a letter or digit.",
     "“{field}”的值“{value}”无效：只能包含 1-64 个字母、数字和 _ . @ -，且以字母或数字开头。"),
    ("too-long", "error",
     "{field} is longer than {limit} characters; shorten it.", "“{field}”超过 {limit} 个字符，请缩短。"),
    ("invalid-mobile", "error",
     "{field} {value!r} is not a mobile number: mainland numbers have 11 digits, others start with +<country code>.",
     "“{field}”的值“{value}”不是有效的手机号：大陆手机号为 11 位数字，其他地区须以 +国家码 开头。"),
    ("lost-digits", "error",
     "{field} {value!r} has lost digits (Excel turned it into a number); type it again as text.",
     "“{field}”的值“{value}”已丢失数字（被 Excel 转成了数值），请以文本格式重新填写。"),
    ("invalid-email", "error",
     "{field} {value!r} is not an email address (6-64 characters, one @, a dot in the domain).",
     "“{field}”的值“{value}”不是有效的邮箱地址（6-64 个字符，含一个 @，域名中有点）。"),
    ("invalid-telephone", "error",
     "{field} {value!r} is not a telephone number (at most 32 of digits, - + ,).",
     "“{field}”的值“{value}”不是有效的座机号（最多 32 位数字及 - + ,）。"),
    ("invalid-gender", "error",
     "{field} {value!r} is not one of 男/女, 1/2, M/F, male/female.",
     "“{field}”的值“{value}”无效，应为 男/女、1/2、M/F 或 male/female。"),
    ("invalid-yes-no", "error",
     "{field} {value!r} is not one of 是/否, Y/N, true/false, 1/0.",
     "“{field}”的值“{value}”无效，应为 是/否、Y/N、true/false 或 1/0。"),
    ("invalid-number", "error",
     "{field} {value!r} is not a whole number from 0 to 4294967295.",
     "“{field}”的值“{value}”不是 0 到 4294967295 之间的整数。"),
    ("invalid-department-id", "error",
     "{field} {value!r} is not a department id (a whole number, 1 for the top department).",
     "“{field}”的值“{value}”不是有效的部门 ID（整数，顶级部门为 1）。"),
    ("invalid-department-name", "error",
     "{field}: department name {value!r} {reason}.", "“{field}”：部门名称“{value}”{reason.zh}。"),
    ("department-too-deep", "error",
     "{field}: department {value!r} is deeper than 15 levels (the top department counts as one).",
     "“{field}”：部门“{value}”超过 15 层（顶级部门算一层）。"),
    ("too-many-departments", "error",
     "{field} lists {count} departments; at most 100 are allowed.", "“{field}”有 {count} 个部门，最多 100 个。"),
    ("too-many-leaders", "error",
     "{field} lists {count} leaders; at most 5 are allowed.", "“{field}”有 {count} 个上级，最多 5 个。"),
    ("length-mismatch", "error",
     "{field} has {count} value(s) but the member has {expected} department(s); give one per department, "
     "in the same order.",
     "“{field}”有 {count} 个值，但成员有 {expected} 个部门；请按部门的顺序，每个部门填一个。"),
    ("duplicate-department", "error",
     "{field} lists department {value!r} twice; list each department once.",
     "“{field}”中部门“{value}”出现了两次，每个部门只需填写一次。"),
    ("main-department-not-listed", "error",
     "{field} {value!r} is not among the member's departments (部门); add it there or choose one of them.",
     "“{field}”中的“{value}”不在该成员的部门中；请把它加到“部门”里，或改为其中一个。"),
    ("userid-not-made", "error", "{reason}.", "{reason.zh}。"),
    ("invalid-web-field", "error",
     "{field} {value!r} is not a web field: write it as 标题；https://… (a title of at most 12 characters, then "
     "the http or https address).",
     "“{field}”的值“{value}”不是有效的网页字段：应写成 标题；https://…"
     "（标题最多 12 个字符，后接 http 或 https 网址）。"),
    ("no-mobile-or-email", "error",
     "The member has neither a mobile (手机) nor an email (邮箱); one is required.",
     "该成员既没有手机也没有邮箱，至少需要填写一项。"),
    # across rows
    ("duplicate-value", "error",
     "{field} {value!r} is also on row {other_row}.", "“{field}”的值“{value}”与第 {other_row} 行重复。"),
    ("unknown-leader", "error",
     "{field} {value!r} is neither in the sheet nor in the directory; add that member to the sheet "
     "or correct the userid.",
     "“{field}”中的“{value}”既不在表格中，也不在通讯录中；请把该成员加入表格，或改正帐号。"),
    ("leader-not-in-sheet", "warning",
     "{field} {value!r} is not in the sheet; it must already exist in the directory.",
     "“{field}”中的“{value}”不在表格中，须已存在于通讯录。"),
    ("unknown-department", "warning",
     "{field} {value!r} is not in the departments sheet; it must already exist in the directory.",
     "“{field}”中的部门“{value}”不在部门表中，须已存在于通讯录。"),
    ("department-conflict", "error",
     "{field} {value!r} contradicts the departments sheet: {reason}.",
     "“{field}”中的部门“{value}”与部门表矛盾：{reason.zh}。"),
)

_EN_FIELD = "{name} ({label})"


@dataclass(frozen=True)
class Problem:
    """One thing wrong in a sheet. `row` is the row number the spreadsheet shows (None for the whole
    table), `field` the English field name, `column` the header as written in the file, `message` a
    Text (English, `.zh` Chinese)."""

    row: int | None
    field: str | None
    column: str | None
    value: str | None
    type: str
    message: Text
    severity: Severity = "error"
    sheet: str | None = None  # the sheet's name, when a workbook gives members and departments

    def to_dict(self, lang: str = "en") -> dict[str, Any]:
        """The JSON shape of `bulkdir validate --json`: every fact the problem has.

        >>> make_problem("missing-required", row=3, field="name", column="姓名").to_dict()["type"]
        'missing-required'
        """
        return {"row": self.row, "field": self.field, "column": self.column, "value": self.value,
                "type": self.type, "message": self.message.in_lang(lang), "severity": self.severity,
                "sheet": self.sheet}


def field_label(field: str | None) -> str:
    """The Chinese label of a field, or the field itself when it has none."""
    return LABELS.get(field or "", field or "")


def make_problem(type: str, *, row: int | None = None, field: str | None = None,
                 column: str | None = None, value: str | None = None, label: str | None = None,
                 **params: Any) -> Problem:
    """Build a Problem of a known type, rendering both messages.

    >>> p = make_problem("invalid-mobile", row=7, field="mobile", column="手机", value="123")
    >>> p.message
    "mobile (手机) '123' is not a mobile number: mainland numbers have 11 digits, others start with +<country code>."
    """
    kind = PROBLEM_TYPES[type]
    label = label or field_label(field)
    shown = value if value is None or len(value) <= 60 else value[:57] + "..."
    en = kind.en.format(field=_EN_FIELD.format(name=field, label=label) if field else "", value=shown,
                        column=column, **params)
    zh = kind.zh.format(field=label, value=shown, column=column, **params)
    return Problem(row=row, field=field, column=column, value=value, type=type, message=Text(en, zh),
                   severity=kind.severity)


def flatten(problems: Iterable[Problem]) -> list[tuple[int | None, str | None, str]]:
    """`(row, field, type)` for each problem, the shape tests assert on.

    >>> flatten([make_problem("no-rows")])
    [(None, None, 'no-rows')]
    """
    return [(p.row, p.field, p.type) for p in problems]


def has_errors(problems: Iterable[Problem]) -> bool:
    """True when any problem is an error (warnings alone leave a sheet valid)."""
    return any(p.severity == "error" for p in problems)
