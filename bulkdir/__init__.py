"""bulkdir: keep a WeCom (企业微信) contacts directory in step with spreadsheets.

The library face, the same functions the command line and the web page use:

    client = bulkdir.connect(sandbox=True)          # or settings from BULKDIR_* and bulkdir.toml
    result = bulkdir.validate("staff.xlsx")          # a path, or a pandas DataFrame
    plan = bulkdir.plan_import("staff.xlsx", client) # read, check, snapshot, plan; print(plan)
    run = bulkdir.apply(plan)                        # the corp's lock, the run, the journal, the report
    run.to_frame()                                   # every row's result as a DataFrame
    bulkdir.export(client, "directory.xlsx")

A bad row is a Problem in the result, never an exception; what stops a run raises a BulkdirError
(bulkdir.errors draws the tree). pandas is imported only when a DataFrame is given or asked for.

>>> import bulkdir
>>> "plan_import" in bulkdir.__all__ and "Directory" in bulkdir.__all__
True
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Union

from bulkdir.lazy import lazy_names
from bulkdir.parsers import DEFAULT_ROOT_NAME  # validate()'s default (a light module)

__version__ = "0.1.0"

__all__ = [
    # functions
    "connect", "validate", "read_members", "read_departments", "plan_import", "plan_delete", "apply", "export",
    "fetch_directory", "write_template",
    # records and results
    "Member", "MemberColumns", "Department", "Problem", "Directory", "ValidationResult", "Plan", "ImportPlan",
    "ImportResult", "ExportSummary", "WeComClient", "Text", "ExitStatus",
    # options
    "ImportOptions", "DeleteOptions", "Mapping", "UseridMaker",
    # errors
    "BulkdirError", "ConfigError", "SheetError", "RefusedError", "PlanRefusedError", "ConflictError",
    "AlreadyAppliedError", "IncompleteSnapshotError", "RunLockedError", "ReportInterruptedError", "WeComError",
    "WeComNetworkError", "MappingError", "UseridMakerError",
]

# Each public name and the module it lives in, imported on first use (PEP 562): `import bulkdir` costs next
# to nothing, and `bulkdir validate` does not load the HTTP client, the importer or pandas.
_HOMES = {
    "bulkdir.connection": ["connect"],
    "bulkdir.errors": [
        "AlreadyAppliedError", "BulkdirError", "ConfigError", "ConflictError", "ExitStatus",
        "IncompleteSnapshotError", "MappingError", "PlanRefusedError", "RefusedError", "ReportInterruptedError",
        "RunLockedError", "SheetError", "Text", "UseridMakerError", "WeComError", "WeComNetworkError",
    ],
    "bulkdir.exporting": ["ExportSummary", "export_directory"],
    "bulkdir.importer": ["ImportOptions", "ImportPlan", "ImportResult", "prepare_apply", "prepare_delete",
                         "prepare_import", "run_import"],
    "bulkdir.mapping": ["Mapping", "load_mapping"],
    "bulkdir.matching": ["UseridMaker"],
    "bulkdir.plan": ["DeleteOptions", "Plan"],
    "bulkdir.problems": ["Problem"],
    "bulkdir.runlock": ["CorpLock"],
    "bulkdir.schema": ["Department", "Member", "MemberColumns"],
    "bulkdir.templates": ["write_template"],
    "bulkdir.validation": ["Source", "ValidationResult", "validate_file"],
    "bulkdir.wecom.client": ["WeComClient"],
    "bulkdir.wecom.directory": ["Directory", "fetch_directory"],
}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

if TYPE_CHECKING:  # the same names, for mypy and editors (tests/test_layout.py checks the two agree); those
    # marked F401 are not in __all__, but bulkdir.X has always reached them
    from bulkdir.connection import connect
    from bulkdir.errors import (
        AlreadyAppliedError,
        BulkdirError,
        ConfigError,
        ConflictError,
        ExitStatus,
        IncompleteSnapshotError,
        MappingError,
        PlanRefusedError,
        RefusedError,
        ReportInterruptedError,
        RunLockedError,
        SheetError,
        Text,
        UseridMakerError,
        WeComError,
        WeComNetworkError,
    )
    from bulkdir.exporting import ExportSummary, export_directory  # noqa: F401
    from bulkdir.importer import (
        ImportOptions,
        ImportPlan,
        ImportResult,
        prepare_apply,  # noqa: F401
        prepare_delete,  # noqa: F401
        prepare_import,  # noqa: F401
        run_import,  # noqa: F401
    )
    from bulkdir.mapping import Mapping, load_mapping  # noqa: F401
    from bulkdir.matching import UseridMaker
    from bulkdir.plan import DeleteOptions, Plan
    from bulkdir.problems import Problem
    from bulkdir.runlock import CorpLock  # noqa: F401
    from bulkdir.schema import Department, Member, MemberColumns
    from bulkdir.templates import write_template
    from bulkdir.validation import Source, ValidationResult, validate_file  # noqa: F401
    from bulkdir.wecom.client import WeComClient
    from bulkdir.wecom.directory import Directory, fetch_directory


__getattr__, __dir__ = lazy_names(__name__, _HOME_OF, globals())


MappingLike = Union["Mapping", str, Path, dict, None]
"""A column mapping as the library takes it: a Mapping, a mapping's name or TOML file, or {column: field}."""


def validate(source: Source, *, sheet: str | None = None, encoding: str | None = None,
             known_userids: set[str] | None = None, root_name: str = DEFAULT_ROOT_NAME,
             mapping: MappingLike = None, make_userid: str | None = None,
             userid_from: str | None = None) -> ValidationResult:
    """Every problem of a members (and departments) sheet, by row and column, without touching WeCom.

    `source` is a file (xlsx, xlsm, csv, tsv, or a JSON export) or a pandas DataFrame (a dict of them by
    sheet name for a workbook). The result has `.valid`, `.rows`, `.problems`, and `.to_frame()`.
    `mapping` reads an HR system's headers: a `{"工号": "userid", ...}` dict, a mapping's name in bulkdir.toml
    or a TOML file, or a Mapping (bulkdir/mapping.py); `make_userid` ("pinyin" or a template) and
    `userid_from` (a column) say how rows without a userid would get one.

    >>> import pandas
    >>> frame = pandas.DataFrame({"帐号": ["zhangsan", "lisi"], "姓名": ["张三", "李四"],
    ...                           "手机": ["13912345678", "12345"]})
    >>> result = validate(frame)
    >>> result.valid, result.rows, [(p.row, p.field, p.type) for p in result.problems]
    (False, 2, [(3, 'mobile', 'invalid-mobile')])
    """
    from bulkdir.matching import UseridMaker
    from bulkdir.validation import validate_file

    return validate_file(source, sheet=sheet, encoding=encoding, known_userids=known_userids, root_name=root_name,
                         mapping=as_mapping(mapping), maker=UseridMaker.from_options(make_userid, userid_from))


def as_mapping(mapping: MappingLike) -> Mapping:
    """The Mapping of what a caller gave.

    >>> as_mapping({"工号": "userid", "入职日期": "extattr:入职日期"}).target_of("入职日期")
    'extattr:入职日期'
    """
    from bulkdir.mapping import Mapping, load_mapping

    if mapping is None:
        return Mapping()
    if isinstance(mapping, Mapping):
        return mapping
    if isinstance(mapping, dict):
        return Mapping.from_table(mapping, "given", "the mapping given")
    return load_mapping(str(mapping))


def read_members(source: Source, **options: Any) -> list[Member]:
    """The members of the rows without errors (the problems are `validate(source).problems`).

    >>> import pandas
    >>> [m.values["userid"] for m in read_members(pandas.DataFrame({"帐号": ["zhangsan"], "姓名": ["张三"],
    ...                                                              "手机": ["13912345678"]}))]
    ['zhangsan']
    """
    result = validate(source, **options)
    bad = result.error_rows("members")
    return [member for member in result.members if member.row not in bad]


def read_departments(source: Source, **options: Any) -> list[Department]:
    """The departments of a departments sheet's rows without errors.

    >>> import pandas
    >>> [d.path for d in read_departments(pandas.DataFrame({"部门名称": ["研发中心"], "部门ID": [2],
    ...                                                     "父部门ID": [1]}))]
    [('研发中心',)]
    """
    result = validate(source, **options)
    bad = result.error_rows("departments") if "departments" in result.tables else set()
    return [department for department in result.departments if department.row not in bad]


def plan_import(source: Source, client: WeComClient, *, delete_missing: bool = False, scope: str = "sheet",
                allow_mass_delete: bool = False, disable_instead: bool = False, prune_departments: bool = False,
                strict: bool = False, sheet: str | None = None, encoding: str | None = None,
                report: str | Path | None = None, journal: str | Path | None = None, lang: str = "en",
                workers: int | None = None, progress: Any = None, mapping: MappingLike = None,
                make_userid: str | None = None, userid_from: str | None = None, via: str = "auto",
                batch_threshold: int = 2000) -> ImportPlan:
    """Read and check the sheet (a file or a DataFrame), take a snapshot of the directory, and plan: the
    `bulkdir import` command before its confirmation. Nothing is sent. The plan carries the client and
    these options; `print(plan)` shows it, `plan.save("plan.json")` keeps it for `bulkdir apply`,
    `bulkdir.apply(plan)` runs it. `mapping`, `make_userid` and `userid_from` as for `validate`; `via` and
    `batch_threshold` as `--via` and `--batch-threshold` (the async batch import for large imports).

    >>> with connect(sandbox=True) as client:                     # doctest: +SKIP
    ...     print(plan_import("samples/staff.xlsx", client))
    Departments: 10 to create, 0 to update, 0 unchanged, 0 to delete
    ...
    """
    from bulkdir.importer import ImportOptions, prepare_import
    from bulkdir.matching import UseridMaker
    from bulkdir.plan import DeleteOptions

    options = ImportOptions(
        delete=DeleteOptions(delete_missing, scope, allow_mass_delete, disable_instead, prune_departments),
        strict=strict, sheet=sheet, encoding=encoding, report=report, journal=journal, lang=lang,
        workers=workers or client.settings.workers, progress=progress, mapping=as_mapping(mapping),
        maker=UseridMaker.from_options(make_userid, userid_from), via=via, batch_threshold=batch_threshold)
    return prepare_import(source, client, options)


def plan_delete(source: str | Path, client: WeComClient, *, allow_mass_delete: bool = False,
                disable_instead: bool = False, sheet: str | None = None, encoding: str | None = None,
                report: str | Path | None = None, journal: str | Path | None = None, lang: str = "en",
                workers: int | None = None, progress: Any = None, mapping: MappingLike = None) -> ImportPlan:
    """Plan `bulkdir delete`: the members a sheet names (by userid, or by mobile or email with the name
    agreeing), deleted (or disabled), behind the brake; rows that match nobody are skipped with the reason."""
    from bulkdir.importer import ImportOptions, prepare_delete
    from bulkdir.plan import DeleteOptions

    options = ImportOptions(delete=DeleteOptions(False, "sheet", allow_mass_delete, disable_instead, False),
                            sheet=sheet, encoding=encoding, report=report, journal=journal, lang=lang,
                            workers=workers or client.settings.workers, progress=progress,
                            mapping=as_mapping(mapping))
    return prepare_delete(source, client, options)


def apply(plan: ImportPlan | str | Path, client: WeComClient | None = None, *, wait: float = 0.0,
          allow_mass_delete: bool = False, options: ImportOptions | None = None) -> ImportResult:
    """Run a plan: one from `plan_import` or `plan_delete` (with the client and options it carries), or a
    plan file saved with `--plan-out` (checked against a fresh snapshot first; needs `client`). The corp's
    lock is held for the run (RunLockedError after `wait` seconds when another run holds it), every
    operation is journalled, and the result files are written as the CLI writes them. The result has
    `counts`, `exit_status`, `summary()` and `to_frame()`.

    >>> with connect(sandbox=True) as client:                     # doctest: +SKIP
    ...     result = apply(plan_import("samples/staff.xlsx", client))
    >>> result.counts["created"], result.exit_status              # doctest: +SKIP
    (40, <ExitStatus.OK: 0>)
    """
    from bulkdir.errors import ConfigError
    from bulkdir.importer import ImportOptions, ImportPlan, prepare_apply, run_import
    from bulkdir.plan import DeleteOptions
    from bulkdir.runlock import CorpLock

    if not isinstance(plan, ImportPlan):
        if client is None:
            raise ConfigError("apply() of a saved plan needs the client to run it with",
                              "执行保存的计划需要提供 client")
        options = options or ImportOptions(delete=DeleteOptions(allow_mass_delete=allow_mass_delete),
                                           workers=client.settings.workers)
        with CorpLock(client.settings.corp_id or "", "apply").acquire(wait) as lock:
            return run_import(prepare_apply(plan, client, options), client, options, lock=lock)
    client = client or plan.client
    with CorpLock(client.settings.corp_id or "", plan.command).acquire(wait) as lock:
        return run_import(plan, client, options or plan.options, lock=lock)


def export(client: WeComClient | Directory, path: str | Path | None = None, *, format: str | None = None,
           department: str | None = None, fields: str | list[str] | None = None, headers: str = "en",
           force: bool = False, progress: Any = None, mapping: MappingLike = None) -> ExportSummary:
    """Write the directory (or one department's subtree) to xlsx, CSV or JSON, in the shape `import` reads
    back unchanged; see `bulkdir export`. Without `path`: directory-<corp id>-<date>.xlsx here. With
    `mapping` (as for `validate`), the columns it names get the HR system's headers and words.

    >>> with connect(sandbox=True) as client:                     # doctest: +SKIP
    ...     export(client, "directory.xlsx").members
    40
    """
    from bulkdir.exporting import export_directory

    return export_directory(client, path, format=format, department=department, fields=fields, headers=headers,
                            progress=progress, force=force, mapping=as_mapping(mapping) or None)
