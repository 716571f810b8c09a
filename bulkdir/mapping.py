"""Column mappings: the headers an HR system writes, read as bulkdir's fields.

A mapping says which sheet column fills which field (`工号` → `userid`, `入职日期` → the custom field
`extattr:入职日期`, `备注` → `-`, read as nothing), and may turn an HR system's words into ours for the
fields with fixed values (`在职状态`: 在职 → 1, 离职 → 0 onto `enable`). It comes from `--map COLUMN=FIELD`
options, from a `[mappings.NAME]` table of bulkdir.toml chosen with `--mapping NAME` (or a profile's
`mapping = "NAME"`), or from a TOML file given as `--mapping FILE`:

    [mappings.beisen]
    "员工编号" = "userid"
    "所属部门" = "department"
    "入职日期" = "extattr:入职日期"
    "在职状态" = { field = "enable", values = { "在职" = 1, "离职" = 0 } }
    "备注" = "-"

A mapping that names an unknown field, maps two columns onto one field, names a column the sheet does
not have, or has a value map that cannot apply is a MappingError (exit 2) before any row is read.

    >>> mapping = Mapping.from_options(["工号=userid", "入职日期=extattr:入职日期"])
    >>> mapping.target_of("工号"), mapping.target_of("入职日期"), mapping.target_of("姓名")
    ('userid', 'extattr:入职日期', None)
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable
from typing import Mapping as MappingType

from bulkdir.errors import MappingError, Text
from bulkdir.parsers import parse_custom
from bulkdir.schema import DEPARTMENT_HEADERS, MEMBER_HEADERS, Column
from bulkdir.sheets import normalise_header

IGNORE = "-"
EXTATTR = "extattr:"
_CUSTOM_NAME_LIMIT = 32  # the admin console's limit on a custom field's name

# What HR systems call the fields bulkdir knows under other names: the suggestion an unknown header gets.
LIKELY_FIELDS: dict[str, str] = {normalise_header(header): target for header, target in {
    "工号": "userid", "员工编号": "userid", "员工工号": "userid", "人员编号": "userid", "职工号": "userid",
    "员工号": "userid", "employee_id": "userid", "employee_number": "userid", "emp_no": "userid",
    "工作邮箱": "biz_mail", "公司邮箱": "biz_mail", "企业邮件": "biz_mail", "work_email": "biz_mail",
    "移动电话": "mobile", "联系电话": "mobile", "手机号码(必填)": "mobile", "mobile_number": "mobile",
    "岗位": "position", "岗位名称": "position", "职务名称": "position", "job_title": "position",
    "直属领导": "direct_leader", "直接上级": "direct_leader", "上级领导": "direct_leader", "汇报人": "direct_leader",
    "manager": "direct_leader", "部门名称": "department", "所在部门名称": "department", "组织": "department",
    "组织名称": "department", "在职状态": "enable", "员工状态": "enable", "办公地点": "address",
    "工作地址": "address", "分机": "telephone", "分机号": "telephone", "英文名称": "alias", "full_name": "name",
    "员工姓名": "name", "姓名(中文)": "name", "gender": "gender",
}.items()}


@dataclass(frozen=True)
class ColumnMapping:
    """One sheet column's mapping: the header as the mapping writes it, the field it fills (a field
    name, `extattr:NAME`, or `-`), and the sheet's words for that field's values (read without regard to
    case; written back as the mapping spells them)."""

    column: str
    target: str
    values: dict[str, str] = field(default_factory=dict)  # the sheet's words as written -> bulkdir's

    @property
    def custom_field(self) -> str | None:
        """The custom field's name, for a column mapped to `extattr:NAME`."""
        return self.target[len(EXTATTR):] if self.target.startswith(EXTATTR) else None

    def member_column(self) -> Column | None:
        """The members-sheet Column this maps onto (a made one for a custom field), None if it has none."""
        if self.custom_field is not None:
            return custom_field_column(self.custom_field)
        return MEMBER_HEADERS.get(normalise_header(self.target))

    def department_column(self) -> Column | None:
        return None if self.custom_field is not None else DEPARTMENT_HEADERS.get(normalise_header(self.target))

    def reader(self) -> Callable[[str], str]:
        """`cell text -> bulkdir's word` for this column: the mapped word (the sheet's word matched without
        regard to case or surrounding spaces), else the text as it is."""
        folded = {word.strip().casefold(): ours for word, ours in self.values.items()}

        def read(text: str) -> str:
            return folded.get(text.strip().casefold(), text)
        return read


def custom_field_column(name: str, kind: str | None = None) -> Column:
    """The Column of a custom field `name` of `kind` ("text", "web", or None when the corp's fields are not
    known): it fills `extattr:NAME` with the attribute user/create takes."""
    key = EXTATTR + name
    return Column(key, key, name, (), parse_custom(name, kind), clearable=True)


def named_custom_field(header: str) -> ColumnMapping | None:
    """The mapping a header that names its custom field itself stands for (`extattr:工号`, `Extattr:工号`).

    >>> named_custom_field("Extattr:工号").custom_field, named_custom_field("工号")
    ('工号', None)
    """
    if not header.strip().lower().startswith(EXTATTR):
        return None
    return ColumnMapping(header, _target(header.strip()))


@dataclass(frozen=True)
class Mapping:
    """The columns a sheet's headers are read as; empty when the sheet uses bulkdir's own headers.
    `name` is the mapping's name in bulkdir.toml (or its file), for messages."""

    columns: tuple[ColumnMapping, ...] = ()
    name: str | None = None

    def __post_init__(self) -> None:
        by_field: dict[str, ColumnMapping] = {}
        seen: set[str] = set()
        for item in self.columns:
            header = normalise_header(item.column)
            if not header:
                raise MappingError(f"a mapping{self._of()} has an empty column name",
                                   f"映射{self._of()}中有空的列名")
            if header in seen:
                raise MappingError(f"column {item.column!r} is mapped twice{self._of()}",
                                   f"列“{item.column}”在映射{self._of()}中出现了两次")
            seen.add(header)
            if item.target == IGNORE:
                continue
            name = item.custom_field
            if name is not None:
                if not name.strip() or len(name) > _CUSTOM_NAME_LIMIT:
                    raise MappingError(f"column {item.column!r} is mapped to {item.target!r}: a custom field needs "
                                       f"a name of 1 to {_CUSTOM_NAME_LIMIT} characters after 'extattr:'",
                                       f"列“{item.column}”映射为“{item.target}”：自定义字段名应为 1 到 "
                                       f"{_CUSTOM_NAME_LIMIT} 个字符")
                key = item.target
            else:
                column = item.member_column() or item.department_column()
                if column is None:
                    raise MappingError(
                        f"column {item.column!r} is mapped to {item.target!r}, which is not a field: use a field "
                        f"such as {', '.join(_FIELD_EXAMPLES)}, extattr:NAME for a custom field, or - to ignore it",
                        f"列“{item.column}”映射为“{item.target}”，但这不是字段名：请使用 {', '.join(_FIELD_EXAMPLES)} "
                        "等字段、extattr:名称（自定义字段）或 -（忽略该列）")
                key = _filled_field(item)
            if key in by_field:
                first = by_field[key]
                onto, onto_zh = repr(item.target), f"“{item.target}”"
                if _field_identity(first) != _field_identity(item):  # 启用 and 禁用: two spellings of one field
                    onto = f"{first.target!r} and {item.target!r}, which fill one field"
                    onto_zh = f"“{first.target}”和“{item.target}”（同一字段）"
                raise MappingError(f"columns {first.column!r} and {item.column!r} are both mapped to {onto}"
                                   f"{self._of()}; map one column onto each field",
                                   f"列“{first.column}”和“{item.column}”都映射为{onto_zh}{self._of()}；"
                                   "每个字段只能对应一列")
            by_field[key] = item
            if item.values:
                self._check_values(item)

    def _of(self) -> str:
        return f" {self.name!r}" if self.name else ""

    def _check_values(self, item: ColumnMapping) -> None:
        column = item.member_column() or item.department_column()
        if column is None or item.custom_field is not None:
            return
        if column.parse is None:  # departments: paths and ids are read by the reader, never through a value map
            raise MappingError(f"the mapping{self._of()} has a value map for column {item.column!r}, but {item.target} "
                               "takes department paths or ids, not words a value map can translate: remove the value "
                               "map and write the departments as the directory names them",
                               f"映射{self._of()}为列“{item.column}”设置了值映射，但“{column.label}”是部门路径或 ID，"
                               "不能用值映射转换：请去掉值映射，按通讯录中的部门名称填写")
        from bulkdir.parsers import CellProblem

        for sheet_word, word in item.values.items():
            try:
                column.parse(word)
            except CellProblem:
                raise MappingError(f"the mapping{self._of()} turns {item.column!r} value {sheet_word!r} into "
                                   f"{word!r}, which is not a value of {item.target}",
                                   f"映射{self._of()}把列“{item.column}”的“{sheet_word}”转为“{word}”，"
                                   f"但这不是“{column.label}”的有效值") from None

    def __bool__(self) -> bool:
        return bool(self.columns)

    @classmethod
    def from_options(cls, options: Iterable[str], base: "Mapping | None" = None) -> "Mapping":
        """A mapping from `--map "COLUMN=FIELD"` options, on top of `base` (an option wins for its column).

        >>> Mapping.from_options(["工号"])
        Traceback (most recent call last):
        bulkdir.errors.MappingError: --map '工号': write it as COLUMN=FIELD, e.g. --map 工号=userid
        """
        given: list[ColumnMapping] = []
        for option in options:
            column, equals, target = option.rpartition("=")
            if not equals or not column.strip() or not target.strip():
                raise MappingError(f"--map {option!r}: write it as COLUMN=FIELD, e.g. --map 工号=userid",
                                   f"--map “{option}”：应写成 列名=字段，例如 --map 工号=userid")
            given.append(ColumnMapping(column.strip(), _target(target.strip())))
        if base is None:
            return cls(tuple(given))
        replaced = {normalise_header(item.column) for item in given}
        kept = tuple(item for item in base.columns if normalise_header(item.column) not in replaced)
        return cls(kept + tuple(given), base.name)

    @classmethod
    def from_table(cls, table: MappingType[str, Any], name: str, where: str) -> "Mapping":
        """A mapping from a TOML table: `"COLUMN" = "FIELD"` or `"COLUMN" = { field = "FIELD", values = {...} }`."""
        columns: list[ColumnMapping] = []
        for column, spec in table.items():
            if isinstance(spec, str):
                columns.append(ColumnMapping(column, _target(spec)))
                continue
            if not isinstance(spec, dict) or not isinstance(spec.get("field"), str) \
                    or set(spec) - {"field", "values"} or not isinstance(spec.get("values", {}), dict):
                raise MappingError(f"{where}: mapping {name!r}, column {column!r}: write \"FIELD\" or "
                                   "{ field = \"FIELD\", values = { \"sheet word\" = \"value\" } }",
                                   f"{where}：映射“{name}”的列“{column}”应写成 \"字段\" 或 "
                                   "{ field = \"字段\", values = { \"表格中的值\" = \"值\" } }")
            values = {str(word).strip(): _value_text(value) for word, value in spec.get("values", {}).items()}
            columns.append(ColumnMapping(column, _target(spec["field"]), values))
        return cls(tuple(columns), name)

    def to_json(self) -> list[list[Any]]:
        """The mapping as a saved plan keeps it: [column, target, value map] for each column."""
        return [[item.column, item.target, item.values] for item in self.columns]

    @classmethod
    def from_json(cls, data: Any) -> "Mapping":
        """The mapping a saved plan was made with (`to_json`); an empty one for a plan made without."""
        if not isinstance(data, list):
            return cls()
        return cls(tuple(ColumnMapping(str(column), str(target), dict(values)) for column, target, values in data))

    def target_of(self, header: str) -> str | None:
        """The field a header is mapped to (`-` for ignored), None when the mapping does not name it."""
        item = self.lookup(header)
        return item.target if item is not None else None

    def lookup(self, header: str) -> ColumnMapping | None:
        key = normalise_header(header)
        for item in self.columns:
            if normalise_header(item.column) == key:
                return item
        return None

    def header_for(self, target: str) -> ColumnMapping | None:
        """The mapping of the column that fills `target` (a field or `extattr:NAME`), for writing the HR
        system's headers back; None when no column does."""
        for item in self.columns:
            if item.target == IGNORE:
                continue
            if item.custom_field is not None:
                if item.target == target:
                    return item
            elif _field_identity(item) == _target_identity(target):
                return item
        return None

    def check_headers(self, header_rows: Iterable[Iterable[str]], file_name: str) -> None:
        """MappingError naming the mapped columns that no header row has."""
        present = {normalise_header(cell) for row in header_rows for cell in row if cell and len(cell) < 100}
        absent = [item.column for item in self.columns if normalise_header(item.column) not in present]
        if absent:
            shown = ", ".join(repr(c) for c in absent)
            raise MappingError(f"the mapping{self._of()} names column(s) {shown} that {file_name} does not have; "
                               "correct the mapping or the sheet's header",
                               f"映射{self._of()}中的列 {'、'.join(absent)} 在 {file_name} 中不存在；"
                               "请改正映射或表头")

    def headers(self) -> set[str]:
        """The normalised headers the mapping names: a header row holding them is one bulkdir reads."""
        return {normalise_header(item.column) for item in self.columns}


_FIELD_EXAMPLES = ("userid", "name", "mobile", "email", "department", "position", "enable")


def _target(text: str) -> str:
    if text == IGNORE:
        return IGNORE
    if text.lower().startswith(EXTATTR):
        return EXTATTR + text[len(EXTATTR):].strip()
    return text


def _field_identity(item: ColumnMapping) -> str:
    """What a field target stands for, so that `userid` and `帐号` count as the same field."""
    column = item.member_column() or item.department_column()
    return f"{'member' if item.member_column() else 'department'}:{column.key if column else item.target}"


def _filled_field(item: ColumnMapping) -> str:
    """The field a column's values end up in: `enable` for both 启用 (enable) and 禁用 (disabled), so that two
    columns filling it are refused like two columns mapped onto one field."""
    column = item.member_column() or item.department_column()
    return f"{'member' if item.member_column() else 'department'}:{column.field if column else item.target}"


def _target_identity(target: str) -> str:
    return _field_identity(ColumnMapping("", target))


def _value_text(value: Any) -> str:
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def suggest(header: str) -> Text:
    """The `--map` a header not known to bulkdir most likely needs.

    >>> suggest("工号"), suggest("工号").zh
    ('--map 工号=userid or --map 工号=extattr:工号', '--map 工号=userid 或 --map 工号=extattr:工号')
    >>> suggest("入职日期")
    '--map 入职日期=extattr:入职日期'
    """
    header = header.strip()
    likely = LIKELY_FIELDS.get(normalise_header(header))
    name = header[len(EXTATTR):] if header.lower().startswith(EXTATTR) else header
    custom = f"--map {header}={EXTATTR}{name}"
    if not likely:
        return Text(custom)
    return Text(f"--map {header}={likely} or {custom}", f"--map {header}={likely} 或 {custom}")


# ---------------------------------------------------------------------------------------------
# where mappings come from

def load_mapping(choice: str | None, map_options: Iterable[str] = (), *, cwd: Path | None = None) -> Mapping:
    """The mapping a command uses: `choice` (a mapping's name in bulkdir.toml, or a TOML file) with the
    `--map` options on top. MappingError for a name no config file defines or a file that cannot be read.

    >>> load_mapping(None, ["职级=-"]).target_of("职级")
    '-'
    """
    base = _chosen(choice, cwd) if choice else None
    return Mapping.from_options(map_options, base)


def _chosen(choice: str, cwd: Path | None) -> Mapping:
    path = Path(choice).expanduser()
    if path.suffix.lower() == ".toml" or path.is_file():
        return _from_file(path)
    from bulkdir.config import config_files

    for config in config_files(cwd):  # ./bulkdir.toml first: it wins
        tables = _mapping_tables(config) if config.is_file() else {}
        if choice in tables:
            return Mapping.from_table(tables[choice], choice, str(config))
    names = sorted(mapping_names(cwd))
    known = f" (defined: {', '.join(names)})" if names else ""
    raise MappingError(f"unknown mapping {choice!r}: add a [mappings.{choice}] table to ./bulkdir.toml or "
                       f"{config_files(cwd)[1]}, or give a mapping file{known}",
                       f"未知的映射“{choice}”：请在 ./bulkdir.toml 或 {config_files(cwd)[1]} 中添加 "
                       f"[mappings.{choice}]，或指定映射文件{known}")


def _from_file(path: Path) -> Mapping:
    if not path.is_file():
        raise MappingError(f"mapping file {path} does not exist", f"映射文件 {path} 不存在")
    tables = _mapping_tables(path)
    data = _read_toml(path)
    if "mappings" not in data:
        _refuse_settings(data, path)
        return Mapping.from_table(data, path.stem, str(path))  # the file is one mapping
    if len(tables) == 1:
        name, table = next(iter(tables.items()))
        return Mapping.from_table(table, name, str(path))
    raise MappingError(f"{path} holds {len(tables)} mappings ({', '.join(tables) or 'none'}); keep one per file, "
                       "or put them in ./bulkdir.toml and choose one with --mapping NAME",
                       f"{path} 中有 {len(tables)} 个映射；请每个文件只放一个，"
                       "或放进 ./bulkdir.toml 并用 --mapping 名称 选择")


def _refuse_settings(data: dict[str, Any], path: Path) -> None:
    """MappingError for a configuration file given as a mapping: read as one, its values (a secret among
    them) would be shown in messages as the fields its keys are mapped to."""
    from bulkdir.config import SETTINGS_SOURCES

    settings = sorted(key for key in data if key in SETTINGS_SOURCES or key in ("default", "profiles"))
    if settings:
        raise MappingError(f"{path} is a bulkdir configuration file (it has {', '.join(settings)}), not a mapping: "
                           "give a file of \"COLUMN\" = \"FIELD\" lines, or the name of a [mappings.NAME] table",
                           f"{path} 是 bulkdir 配置文件（含 {'、'.join(settings)}），不是映射：请给出写有 "
                           "\"列名\" = \"字段\" 的文件，或 [mappings.名称] 表的名称")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise MappingError(f"cannot read {path}: {error}", f"无法读取 {path}：{error}") from None


def mapping_names(cwd: Path | None = None) -> list[str]:
    """The mappings the config files define (`[mappings.NAME]`), ./bulkdir.toml's first; a file whose
    mappings cannot be read adds none (choosing a mapping says why)."""
    from bulkdir.config import config_files

    names: list[str] = []
    for config in config_files(cwd):
        if config.is_file():
            try:
                names += [name for name in _mapping_tables(config) if name not in names]
            except MappingError:
                continue
    return names


def _mapping_tables(path: Path) -> dict[str, dict[str, Any]]:
    tables = _read_toml(path).get("mappings", {})
    if not isinstance(tables, dict) or not all(isinstance(t, dict) for t in tables.values()):
        raise MappingError(f"{path}: [mappings] must hold tables, one per mapping ([mappings.NAME])",
                           f"{path}：[mappings] 中应为映射表（[mappings.名称]）")
    return tables
