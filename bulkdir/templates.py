"""Blank templates for HR: a members or departments sheet that bulkdir reads back as it is.

An xlsx template has one header row (required columns start with `*` and are red), a note on every
header saying what the column takes, drop-down lists for gender and enable, text format for phone
and id columns (so Excel keeps leading zeros and never shows 1.39E+10), and one example row whose
name ends in `（示例）`, which the reader skips with a warning. A CSV template has the header row and
the example row only: CSV has no notes, lists or formats.

The files kept in the repository's `templates/` folder are exactly what `write_template` writes
(`tests/test_templates.py` fails when they drift). A members template may end with one column per custom
field of the corp (`custom_fields`, which `bulkdir template --from-directory` reads from the directory),
headed with the field's name as the reader takes it.

    >>> write_template("members.xlsx")                                  # doctest: +SKIP
    PosixPath('members.xlsx')
    >>> write_template("部门模板.csv", kind="departments", headers="en")   # doctest: +SKIP
    PosixPath('部门模板.csv')
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Literal, Mapping

from bulkdir.errors import ConfigError
from bulkdir.fields import LABELS
from bulkdir.sheets import write_csv

__all__ = ["TemplateColumn", "TemplateKind", "HeaderLanguage", "MEMBER_TEMPLATE", "DEPARTMENT_TEMPLATE",
           "TEMPLATE_FILES", "columns_for", "custom_field_columns", "header_text", "sheet_name", "template_kind",
           "template_target", "write_template", "write_all_templates"]

TemplateKind = Literal["members", "departments"]
HeaderLanguage = Literal["zh", "en"]

REQUIRED_MARK = "*"
TEXT_FORMAT = "@"
LAST_ROW = 1048576  # drop-down lists cover the whole column below the header, as far as Excel goes
NOTE_AUTHOR = "bulkdir"


@dataclass(frozen=True)
class TemplateColumn:
    """One column of a template. `field` is the English field name the reader maps the header to;
    `label` overrides the Chinese header (the schema's label by default); `choices` gives a
    drop-down list per header language; `text` formats the column as text (`@`); `example_en` is the
    example row's value under English headers when it differs."""

    field: str
    required: bool
    note_zh: str
    note_en: str
    example: str
    choices_zh: tuple[str, ...] = ()
    choices_en: tuple[str, ...] = ()
    text: bool = False
    label: str | None = None
    width: float = 14
    example_en: str | None = None

    def example_for(self, headers: HeaderLanguage) -> str:
        """The example row's value under `headers`."""
        return self.example_en if headers == "en" and self.example_en is not None else self.example


MEMBER_TEMPLATE: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        "userid", True,
        "必填。成员帐号，唯一标识：1-64 个字母、数字或 _ . @ -，以字母或数字开头，不区分大小写。"
        "表中帐号已存在于通讯录时，更新该成员。",
        "Required. The member's userid, unique: 1-64 letters, digits, _ . @ -, starting with a letter "
        "or digit; case-insensitive. A userid already in the directory updates that member.",
        "zhangsan", text=True),
    TemplateColumn(
        "name", True,
        "必填（新成员）。姓名，1-64 个字符。姓名以“（示例）”结尾的行是示例，不会导入。",
        "Required for new members. 1-64 characters. A row whose name ends in （示例） is an example "
        "and is never imported.",
        "张三（示例）"),
    TemplateColumn(
        "alias", False, "别名，最多 64 个字符。", "Alias, at most 64 characters.", "Sam"),
    TemplateColumn(
        "position", False, "职务，最多 128 个字符。", "Position (job title), at most 128 characters.",
        "产品经理"),
    TemplateColumn(
        "department", False,
        "部门路径，从顶层写起，用 / 分隔层级，如：示例企业/研发中心/广州研发部（顶层名称可省略）。"
        "多个部门用 ；分隔，第一个为主部门。不存在的部门会被创建。留空：新成员放在顶层部门，已有成员不变。",
        "Department path from the top, levels separated by /, e.g. 示例企业/研发中心/广州研发部 (the "
        "top's name may be left out). Several departments separated by ; (the first is the main one). "
        "Missing departments are created. Blank: a new member goes to the top department; an existing "
        "member keeps theirs.",
        "示例企业/研发中心/广州研发部", width=30),
    TemplateColumn(
        "gender", False, "性别：从下拉列表选择 男 或 女。", "Gender: pick male or female from the list.",
        "男", choices_zh=("男", "女"), choices_en=("male", "female"), width=8, example_en="male"),
    TemplateColumn(
        "mobile", False,
        "手机号（文本格式）。大陆手机号 11 位，如 13900001234；其他地区以 +国家码 开头，如 +852 91234567。"
        "手机和邮箱至少填一项。",
        "Mobile, kept as text. Mainland numbers have 11 digits (13900001234); others start with "
        "+<country code> (+852 91234567). Each new member needs a mobile or an email.",
        "13900000000", text=True),
    TemplateColumn(
        "telephone", False, "座机（文本格式），最多 32 位数字及 - + ,，如 020-88886666。",
        "Telephone, kept as text: at most 32 of digits and - + , (020-88886666).",
        "020-88880000", text=True),
    TemplateColumn(
        "email", False, "邮箱，6-64 个字符，如 zhangsan@example.com。手机和邮箱至少填一项。",
        "Email, 6-64 characters (zhangsan@example.com). Each new member needs a mobile or an email.",
        "zhangsan@example.com", width=26),
    TemplateColumn(
        "address", False, "办公地址，最多 128 个字符。", "Office address, at most 128 characters.",
        "广州市海珠区示例路 1 号", width=24),
    TemplateColumn(
        "is_leader_in_dept", False,
        "是否为所在部门的负责人：每个部门填一个 是 或 否，用 ；分隔，顺序与“部门”列一致，如：是；否。",
        "Whether the member leads each of their departments: one yes or no (是/否) per department, "
        "separated by ; in the order of the department column, e.g. yes;no.",
        "否", text=True, example_en="no"),
    TemplateColumn(
        "direct_leader", False,
        "直属上级的帐号，最多 5 个，用 ；分隔。上级可以是本表中的成员，也可以是通讯录中已有的成员。",
        "Userids of direct leaders, at most 5, separated by ;. A leader may be a member of this sheet or "
        "one already in the directory.",
        "lisi", text=True),
    TemplateColumn(
        "enable", False, "是否启用：从下拉列表选择 是（启用，默认）或 否（禁用）。",
        "Enabled: pick yes (the default) or no (disabled) from the list.",
        "是", choices_zh=("是", "否"), choices_en=("yes", "no"), width=8, example_en="yes"),
)

DEPARTMENT_TEMPLATE: tuple[TemplateColumn, ...] = (
    TemplateColumn(
        "name", True,
        '必填。部门名称，1-64 个字符，不能含 \\ : * ? " < > | ；同一上级部门下不能重名。'
        "名称以“（示例）”结尾的行是示例，不会导入。",
        'Required. 1-64 characters, none of \\ : * ? " < > |; unique among its siblings. A row whose '
        "name ends in （示例） is an example and is never imported.",
        "广州研发部（示例）", label="部门名称", width=20),
    TemplateColumn(
        "parent", False,
        "上级部门的路径，从顶层写起，用 / 分隔，如：示例企业/研发中心。留空：放在顶层部门下。"
        "上级部门须在本表更上面的行中或已存在于通讯录。",
        "The parent department's path from the top, levels separated by /, e.g. 示例企业/研发中心. "
        "Blank: directly under the top department. The parent must be on a row above or already exist.",
        "示例企业/研发中心", label="上级部门", width=28),
    TemplateColumn(
        "id", False,
        "部门ID（文本格式），大于 1 的整数。留空由企业微信分配；填写时按 ID 匹配已有部门（可改名、移动）。",
        "Department id, kept as text: a whole number above 1. Blank: WeCom assigns one. Given: the "
        "department with that id is matched (and renamed or moved).",
        "", text=True, label="部门ID", width=10),
    TemplateColumn(
        "order", False, "在上级部门中的排序，0-4294967295 的整数，数值大的排在前面。",
        "Order among its siblings, a whole number from 0 to 4294967295; larger comes first.",
        "100", text=True, label="排序", width=10),
    TemplateColumn(
        "name_en", False, "英文名称，最多 64 个字符。", "English name, at most 64 characters.",
        "Guangzhou R&D", label="英文名称", width=18),
)

TEMPLATE_FILES: tuple[tuple[str, TemplateKind, HeaderLanguage], ...] = tuple(
    (f"{kind}{'' if lang == 'zh' else '_en'}.{suffix}", kind, lang)
    for kind in ("members", "departments") for lang in ("zh", "en") for suffix in ("xlsx", "csv"))
"""The files kept in the repository's templates/ folder: (file name, kind, header language)."""

_DEPARTMENT_WORDS = ("department", "dept", "部门")
_SUFFIXES = (".xlsx", ".csv")


def columns_for(kind: TemplateKind) -> tuple[TemplateColumn, ...]:
    """The columns of a members or departments template.

    >>> [c.field for c in columns_for("departments")][:2]
    ['name', 'parent']
    """
    return MEMBER_TEMPLATE if kind == "members" else DEPARTMENT_TEMPLATE


_WEB_EXAMPLE = "个人主页；https://example.com"
CustomFields = Iterable[str] | Mapping[str, str]
"""The corp's custom fields: names, or name -> "text" | "web" as `Directory.custom_fields()` gives them."""


def custom_field_columns(custom_fields: CustomFields) -> tuple[TemplateColumn, ...]:
    """One text-formatted column per custom field, headed with its name (`extattr:NAME` when the name is a
    header the reader takes for a standard field). A web field's note and example show `标题；https://…`.

    >>> [(c.label, c.example) for c in custom_field_columns({"工号": "text", "主页": "web"})]
    [('工号', ''), ('主页', '个人主页；https://example.com')]
    """
    from bulkdir.exporting import custom_field_headers

    kinds = dict(custom_fields) if isinstance(custom_fields, Mapping) else dict.fromkeys(custom_fields, None)
    taken = [header_text(c, lang) for c in MEMBER_TEMPLATE for lang in ("zh", "en")]
    headers = custom_field_headers(kinds, taken)
    columns = []
    for name, kind in kinds.items():
        if kind == "web":
            notes = (f"自定义字段“{name}”（网页）：写成 标题；网址，如 {_WEB_EXAMPLE}，标题最多 12 个字符。",
                     f"Custom field {name} (web): title；address, e.g. {_WEB_EXAMPLE}; a title of at most 12 "
                     "characters.")
        else:
            web_too = kind is None  # the kind is not known: say how a web field is written too
            notes = (f"自定义字段“{name}”：最多 64 个字符。" + ("网页字段写成 标题；https://…。" if web_too else ""),
                     f"Custom field {name}: at most 64 characters."
                     + (" A web field is written title；https://…." if web_too else ""))
        header = headers[name]
        if header != name:
            how = f"--map {header}={header}"
            notes = (notes[0] + f"该名称也是标准字段的列名，导入时请加 {how}。",
                     notes[1] + f" The name is also a standard field's header: import with {how}.")
        columns.append(TemplateColumn(header, False, *notes, _WEB_EXAMPLE if kind == "web" else "",
                                      text=True, label=header, width=30 if kind == "web" else 14))
    return tuple(columns)


def header_text(column: TemplateColumn, headers: HeaderLanguage) -> str:
    """The header a template writes: the Chinese label or the English field name, `*` in front
    when required. The reader ignores the `*`.

    >>> header_text(MEMBER_TEMPLATE[0], "zh"), header_text(MEMBER_TEMPLATE[2], "en")
    ('*帐号', 'alias')
    """
    text = (column.label or LABELS[column.field]) if headers == "zh" else column.field
    return REQUIRED_MARK + text if column.required else text


def sheet_name(kind: TemplateKind, headers: HeaderLanguage) -> str:
    """The sheet a template writes; the reader finds it by this name.

    >>> sheet_name("members", "zh"), sheet_name("departments", "en")
    ('成员列表', 'departments')
    """
    if headers == "zh":
        return "成员列表" if kind == "members" else "部门"
    return kind


def template_kind(path: str | Path) -> TemplateKind:
    """Members, unless the file's name speaks of departments.

    >>> template_kind("departments.xlsx"), template_kind("新部门.csv"), template_kind("staff.xlsx")
    ('departments', 'departments', 'members')
    """
    name = Path(path).stem.lower()
    return "departments" if any(word in name for word in _DEPARTMENT_WORDS) else "members"


def template_target(path: str | Path, headers: HeaderLanguage = "zh", *, overwrite: bool = False) -> Path:
    """The template's path once it is known to be writable as asked: ConfigError for a suffix other than
    .xlsx/.csv, unknown `headers`, or an existing file without `overwrite`. The CLI asks before it reads
    the directory, so that a bad name costs no call.

    >>> template_target("onboarding-not-written-yet.csv", "en")
    PosixPath('onboarding-not-written-yet.csv')
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in _SUFFIXES:
        raise ConfigError(f"a template is written as .xlsx or .csv, not {suffix or 'a file without a suffix'}"
                          f" ({path.name}); 模板只能保存为 .xlsx 或 .csv")
    if headers not in ("zh", "en"):
        raise ConfigError(f"--headers is zh or en, not {headers!r}")
    if path.exists() and not overwrite:
        raise ConfigError(f"{path} already exists; choose another name or add --force to replace it"
                          f" (文件已存在；换个文件名，或加 --force 覆盖)")
    return path


def write_template(path: str | Path, kind: TemplateKind | None = None, headers: HeaderLanguage = "zh",
                   *, overwrite: bool = False, custom_fields: CustomFields | None = None) -> Path:
    """Write a blank members or departments template as .xlsx or .csv.

    `kind` defaults to what the file's name says (`template_kind`); `headers` is "zh" for the
    Chinese labels of the admin console, "en" for the API's field names. `custom_fields` (names, or
    `Directory.custom_fields()`) adds a column per custom field after the usual ones, so that HR fills
    them in the same sheet. Raises ConfigError for a suffix other than .xlsx/.csv, an existing file
    without `overwrite`, or custom fields on a departments template (they are members' fields).

    >>> write_template("onboarding.xlsx")                               # doctest: +SKIP
    PosixPath('onboarding.xlsx')
    >>> write_template("onboarding.xlsx", custom_fields={"工号": "text", "主页": "web"})  # doctest: +SKIP
    PosixPath('onboarding.xlsx')
    """
    path = template_target(path, headers, overwrite=overwrite)
    suffix = path.suffix.lower()
    kind = kind or template_kind(path)
    columns = columns_for(kind)
    if custom_fields:
        if kind != "members":
            raise ConfigError("custom fields are members' fields: a departments template has none"
                              " (自定义字段属于成员，部门模板没有自定义字段)")
        columns += custom_field_columns(custom_fields)
    if suffix == ".csv":
        write_csv(path, [header_text(c, headers) for c in columns], [[c.example_for(headers) for c in columns]])
    else:
        _write_xlsx(path, kind, columns, headers)
    return path


def write_all_templates(folder: str | Path) -> list[Path]:
    """Write every template of TEMPLATE_FILES into `folder` (replacing what is there): how the
    repository's templates/ folder is made.

    >>> [p.name for p in write_all_templates("templates")][:2]        # doctest: +SKIP
    ['members.xlsx', 'members.csv']
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [write_template(folder / name, kind, lang, overwrite=True) for name, kind, lang in TEMPLATE_FILES]


def _write_xlsx(path: Path, kind: TemplateKind, columns: tuple[TemplateColumn, ...],
                headers: HeaderLanguage) -> None:
    # A normal (not write-only) workbook: a template is two rows, and notes, drop-down lists and
    # column formats are simplest there.
    from openpyxl import Workbook
    from openpyxl.comments import Comment
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    book = Workbook()
    sheet = book.active
    sheet.title = sheet_name(kind, headers)
    header_fill = PatternFill("solid", fgColor="DDEBF7")
    example_font = Font(italic=True, color="808080")
    for index, column in enumerate(columns, start=1):
        letter = get_column_letter(index)
        head = sheet.cell(row=1, column=index, value=header_text(column, headers))
        head.data_type = "s"
        head.font = Font(bold=True, color="FF0000" if column.required else "000000")
        head.fill = header_fill
        head.alignment = Alignment(horizontal="center")
        note = column.note_zh if headers == "zh" else column.note_en
        head.comment = Comment(note, NOTE_AUTHOR, width=320, height=140)
        value = column.example_for(headers)
        example = sheet.cell(row=2, column=index, value=value or None)
        if value:
            example.data_type = "s"
        example.font = example_font
        dimension = sheet.column_dimensions[letter]
        dimension.width = column.width
        if column.text:
            dimension.number_format = TEXT_FORMAT
            example.number_format = TEXT_FORMAT
        choices = column.choices_zh if headers == "zh" else column.choices_en
        if choices:
            check = DataValidation(type="list", formula1='"' + ",".join(choices) + '"', allow_blank=True,
                                   showErrorMessage=True, errorTitle=header_text(column, headers),
                                   error=("请从下拉列表选择：" if headers == "zh" else "Pick one of: ")
                                   + " / ".join(choices))
            check.add(f"{letter}2:{letter}{LAST_ROW}")
            sheet.add_data_validation(check)
    sheet.freeze_panes = "A2"
    book.save(path)
