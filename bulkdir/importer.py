"""`bulkdir import`, `apply` and `delete` as library calls: read, plan, confirm, run, report, resume.

    prepare_import(path, client, options)   read + validate the sheet, snapshot the directory, plan;
                                            find the unfinished run of the same file (resume)
    run_import(prepared, client, options)   journal the plan, execute it, write the result files
    apply_plan_file(path, client, options)  the same for a saved plan (`--plan-out`), refusing conflicts
    prepare_delete(path, client, options)   a sheet of userids to delete (or disable)

Resuming: a rerun of the same command on the same file (same content hash, same plan-shaping
options, same corp) plans again against a fresh snapshot, which is also the read-back of every
operation that was in flight when the last run died; the journal of the unfinished run supplies the
true outcome of rows finished then (a member created last time shows `created`, not `unchanged`) and
keeps operations the snapshot cannot judge (updates when only userids can be read) from being sent twice.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bulkdir.errors import BulkdirError, ExitStatus, SheetError
from bulkdir.executor import FAILED, KEPT_DEPARTMENT, SKIPPED, OpResult, execute
from bulkdir.journal import Journal, OperationRecord, default_journal_path, file_hash
from bulkdir.plan import (OUTCOME, DeleteOptions, Operation, Plan, RefusedError, member_key, plan_delete,
                          plan_import, same_value)
from bulkdir.report import RowResult, SheetResults, report_paths, write_errors, write_results

MEMBERS, DEPARTMENTS, DELETES = "members", "departments", "deletes"


class ConflictError(BulkdirError):
    """`bulkdir apply`: the directory changed since the plan was made, in a way the plan would overwrite."""

    exit_status = ExitStatus.PROBLEMS


class AlreadyAppliedError(ConflictError):
    """`bulkdir apply` of a plan whose run already finished: applying it again would meet its own work."""


@dataclass
class ImportOptions:
    """What shapes an import. The first group changes the plan (and so which run a rerun resumes)."""

    delete: DeleteOptions = field(default_factory=DeleteOptions)
    strict: bool = False
    sheet: str | None = None
    encoding: str | None = None
    workers: int = 4
    journal: str | Path | None = None
    report: str | Path | None = None
    progress: bool = False
    lang: str = "en"

    def plan_key(self, command: str, client: Any) -> dict[str, Any]:
        """The options a resumed run must share with the interrupted one."""
        settings = getattr(client, "settings", None)
        # not the base URL: the sandbox listens on a new port each time, and a corp id names one corp
        return {"command": command, "delete": vars(self.delete), "strict": self.strict, "sheet": self.sheet,
                "corp_id": getattr(settings, "corp_id", None)}


@dataclass
class SheetRecords:
    """A read and validated sheet: records, the rows that cannot be imported, and what the report needs."""

    members: list[Any]
    departments: list[Any]
    invalid: dict[tuple[str, int], str]
    parts: dict[str, SheetResults]
    problems: list[Any]
    table_errors: list[Any] = field(default_factory=list)
    columns: dict[str, str] = field(default_factory=dict)  # field -> header as written (members sheet)
    examples: dict[tuple[str, int], str] = field(default_factory=dict)  # template example rows, never imported


@dataclass
class Prepared:
    """Everything decided before anything is sent: the plan, and what an earlier unfinished run did."""

    command: str
    source: Path | None
    source_hash: str | None
    plan: Plan
    records: SheetRecords | None
    directory: Any
    journal: Journal
    key: dict[str, Any]
    resume_run: str | None = None
    prior: dict[str, OperationRecord] = field(default_factory=dict)
    done: dict[str, OpResult] = field(default_factory=dict)

    @property
    def resuming(self) -> bool:
        return self.resume_run is not None

    def prior_started(self) -> list[str]:
        """Keys the unfinished run started or finished: the snapshot already shows their effect."""
        return [key for key, record in self.prior.items() if record.state != "planned"]


@dataclass
class ImportResult:
    """The account of a run: its id, counts, each row's result, and where the files went."""

    run_id: str
    counts: dict[str, int]
    rows: dict[tuple[str, int], RowResult]
    extra: list[tuple[dict[str, str], RowResult]]
    results_path: Path | None
    errors_path: Path | None
    interrupted: bool = False

    @property
    def exit_status(self) -> ExitStatus:
        if self.interrupted:
            return ExitStatus.INTERRUPTED
        bad = self.counts.get("failed", 0) + self.counts.get("invalid", 0) + self.counts.get("skipped", 0)
        return ExitStatus.PROBLEMS if bad else ExitStatus.OK

    def summary(self) -> dict[str, Any]:
        """The `--json` summary: {"run", "created", "updated", "unchanged", "deleted", "disabled", "failed", ...}."""
        out: dict[str, Any] = {"run": self.run_id}
        # the keys first, in its order; then what else a script may want
        for name in ("created", "updated", "unchanged", "deleted", "disabled", "failed", "invalid",
                     "departments_created", "skipped", "departments_updated", "departments_deleted"):
            out[name] = self.counts.get(name, 0)
        out["interrupted"] = self.interrupted
        out["report"] = str(self.results_path) if self.results_path else None
        out["errors_report"] = str(self.errors_path) if self.errors_path else None
        return out


# ---------------------------------------------------------------------------------------------
# reading


def read_records(path: str | Path, directory: Any, sheet: str | None = None,
                 encoding: str | None = None, lang: str = "en") -> SheetRecords:
    """Read and validate an import sheet (members, and a departments sheet when the workbook has one),
    knowing the corp's userids (a row for an existing member is an update and needs no name).

    Rows with errors are left out of `members`/`departments` and listed in `invalid` with the reason;
    problems of the table itself (a missing required column) are in `table_errors`.

    Example:
        >>> records = read_records("staff.xlsx", fetch_directory(client))
        >>> len(records.members), sorted(records.invalid)[:1]
        (118, [('members', 7)])
    """
    from bulkdir.schema import DEFAULT_ROOT_NAME
    from bulkdir.validate import validate_file

    result = validate_file(path, sheet=sheet, encoding=encoding, known_userids=set(directory.members),
                           root_name=getattr(directory, "root_name", None) or DEFAULT_ROOT_NAME)
    kind_of_sheet = {table.sheet: kind for kind, table in result.tables.items()}
    reasons: dict[tuple[str, int], list[str]] = {}
    table_errors = []
    examples: dict[tuple[str, int], str] = {}
    for problem in result.problems:
        kind = kind_of_sheet.get(problem.sheet or "", MEMBERS)
        if problem.type == "example-row" and problem.row is not None:
            examples[(kind, problem.row)] = problem.message_in(lang)
        if problem.severity != "error":
            continue
        table = result.tables.get(kind)
        if problem.row is None or table is None or problem.row <= table.header_row:
            table_errors.append(problem)
            continue
        reasons.setdefault((kind, problem.row), []).append(problem.message_in(lang))
    invalid = {ref: " ".join(texts) for ref, texts in reasons.items()}
    members = [m for m in result.members if (MEMBERS, m.row) not in invalid]
    departments = [d for d in result.departments if (DEPARTMENTS, d.row) not in invalid]
    parts = {kind: SheetResults(table) for kind, table in result.tables.items()}
    columns: dict[str, str] = {}
    if MEMBERS in result.tables:
        table = result.tables[MEMBERS]
        for header, name in zip(table.headers, table.fields):
            if name and name not in columns:
                columns[name] = header
    return SheetRecords(members, departments, invalid, parts, result.problems, table_errors, columns, examples)


# ---------------------------------------------------------------------------------------------
# preparing


def _journal(options: ImportOptions) -> Journal:
    return Journal(options.journal or default_journal_path())


def prepare_import(path: str | Path, client: Any, options: ImportOptions,
                   fetch: Callable[[Any], Any] | None = None) -> Prepared:
    """Read and check the sheet, take a snapshot of the directory, and plan.

    Raises RefusedError (`--strict` with invalid rows, a mass delete) and SheetError (unreadable file).

    Example:
        >>> prepared = prepare_import("staff.xlsx", client, ImportOptions())
        >>> prepared.plan.counts()
        {'department_create': 2, 'member_create': 40}
    """
    from bulkdir.wecom.directory import fetch_directory

    path = Path(path)
    source_hash = _hash(path)
    directory = (fetch or fetch_directory)(client)
    records = read_records(path, directory, options.sheet, options.encoding, options.lang)
    if records.table_errors:
        raise SheetError(f"{path.name} cannot be imported: "
                         + " ".join(p.message_in(options.lang) for p in records.table_errors[:3]))
    if options.strict and records.invalid:
        rows = sorted({row for (_, row) in records.invalid})
        raise RefusedError(f"--strict: {len(rows)} row(s) have problems (rows {', '.join(map(str, rows[:10]))}"
                           f"{' …' if len(rows) > 10 else ''}); nothing was imported. Run `bulkdir validate "
                           f"{path.name}` to see them.")
    if options.delete.delete_missing and MEMBERS not in records.parts:
        raise RefusedError(f"--delete-missing needs a members sheet, and {path.name} has none: nothing is deleted "
                           "on the strength of a departments sheet alone.")
    plan = plan_import(records.members, records.departments, directory, records.invalid, options.delete)
    prepared = Prepared("import", path, source_hash, plan, records, directory, _journal(options),
                        options.plan_key("import", client))
    _consult_journal(prepared)
    return prepared


def _hash(path: Path) -> str:
    try:
        return file_hash(path)
    except FileNotFoundError:
        raise SheetError(f"{path} does not exist") from None
    except OSError as error:
        raise SheetError(f"cannot open {path}: {error.strerror or error}") from None


def _body_text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


def _consult_journal(prepared: Prepared) -> None:
    """Find the unfinished run of this file and options; carry over what it finished."""
    if prepared.source_hash is None:
        return
    run_id = prepared.journal.find_unfinished(prepared.command, prepared.source_hash, prepared.key)
    if run_id is None:
        return
    prepared.resume_run = run_id
    prepared.prior = prepared.journal.operations(run_id)
    for op in prepared.plan.operations:
        record = prepared.prior.get(op.key)
        if (record is not None and record.state == "done" and record.outcome not in (FAILED, SKIPPED, None)
                and record.kind == op.kind and _body_text(record.body) == _body_text(op.body)):
            # finished last time and the snapshot cannot tell (ids-only updates): not sent again
            prepared.done[op.key] = OpResult(op.key, record.outcome, record.errcode, record.message or "")


# ---------------------------------------------------------------------------------------------
# running


def run_import(prepared: Prepared, client: Any, options: ImportOptions) -> ImportResult:
    """Journal the plan, execute it, and write the result files; Ctrl-C ends with `interrupted`.

    Example:
        >>> result = run_import(prepare_import("staff.xlsx", client, options), client, options)
        >>> result.summary()["created"], result.exit_status
        (40, <ExitStatus.OK: 0>)
    """
    journal = prepared.journal
    source = str(prepared.source) if prepared.source else None
    if prepared.resume_run:
        run_id = prepared.resume_run
        journal.reopen_run(run_id)
    else:
        run_id = journal.start_run(prepared.command, source, prepared.source_hash, prepared.key)
    operations = prepared.plan.ordered()
    journal.record_plan(run_id, operations)
    interrupted = False
    try:
        execution = execute(operations, client, workers=options.workers, journal=journal, run_id=run_id,
                            progress=options.progress, done=prepared.done)
        interrupted = execution.interrupted
        results = execution.results
    except KeyboardInterrupt:  # between the plan and the pool: nothing is in flight
        interrupted, results = True, {}
    outcome = _account(prepared, results, interrupted)
    outcome.run_id = run_id
    if prepared.records is not None:
        for ref, message in prepared.records.examples.items():
            outcome.rows.setdefault(ref, RowResult(SKIPPED, None, message, to_fix=False))  # shown, not counted
    if prepared.records is not None and prepared.source is not None:
        results_path, errors_path = report_paths(prepared.source, run_id, options.report)
        parts = list(prepared.records.parts.values())
        for kind, part in prepared.records.parts.items():
            part.results = {row: result for (sheet, row), result in outcome.rows.items() if sheet == kind}
        if parts:
            parts[0].extra = outcome.extra
        try:
            outcome.results_path = write_results(results_path, parts)
            outcome.errors_path = write_errors(errors_path, parts)
        except OSError as error:
            raise BulkdirError(f"cannot write the report {results_path}: {error.strerror or error}") from None
    journal.finish_run(run_id, "interrupted" if interrupted else "finished", outcome.counts,
                       str(outcome.results_path) if outcome.results_path else None)
    return outcome


def _earlier(prepared: Prepared, key: str) -> str | None:
    """The outcome an unfinished earlier run reached (or may have reached) for this key."""
    record = prepared.prior.get(key)
    if record is None or record.state == "planned" or record.outcome in (FAILED, SKIPPED):
        return None
    return record.outcome or OUTCOME.get(record.kind)


def _account(prepared: Prepared, results: dict[str, OpResult], interrupted: bool) -> ImportResult:
    """Each row's result, the extra rows (members deleted that the sheet does not list) and the counts."""
    plan = prepared.plan
    rows: dict[tuple[str, int], RowResult] = {}
    extra: list[tuple[dict[str, str], RowResult]] = []
    counts: dict[str, int] = {}

    def count(name: str) -> None:
        counts[name] = counts.get(name, 0) + 1

    per_row: dict[tuple[str, int], list[tuple[Operation, OpResult | None]]] = {}
    for op in plan.operations:
        result = results.get(op.key)
        if op.kind.startswith("department_") and not op.rows:
            if result is not None and result.ok:
                count({"department_create": "departments_created", "department_update": "departments_updated",
                       "department_delete": "departments_deleted"}[op.kind])
            elif result is not None and op.kind == "department_delete":
                extra.append(({}, RowResult(result.outcome, result.errcode, f"department {op.target}: {result.message}")))
                if result.errcode not in KEPT_DEPARTMENT:
                    count(result.outcome)  # not a department kept on purpose: the run did not do what it planned
            continue
        if not op.rows:
            if result is None:
                continue
            word = result.outcome
            extra.append((_member_cells(prepared, op.target), RowResult(word, result.errcode, _extra_message(op, result))))
            count(word)
            continue
        for ref in op.rows:
            per_row.setdefault(ref, []).append((op, result))
    for ref, pairs in per_row.items():
        rows[ref] = _row_result(prepared, pairs, interrupted)
    for item in plan.unchanged:
        word = _earlier(prepared, item.key) or "unchanged"
        for ref in item.rows:
            rows.setdefault(ref, RowResult(word))
    for ref, reason in plan.invalid.items():
        rows[ref] = RowResult("invalid", None, reason)
    for ref, reason in plan.skipped.items():
        userid = plan.skipped_targets.get(ref, "")
        earlier = next((w for w in (_earlier(prepared, p + userid.lower()) for p in ("delete:", "disable:")) if w),
                       None) if userid else None
        rows[ref] = RowResult(earlier) if earlier else RowResult(SKIPPED, None, reason)
    # what the interrupted run finished that the new plan no longer needs (the snapshot shows it done)
    planned = {op.key for op in plan.operations} | {u.key for u in plan.unchanged}
    for key, record in prepared.prior.items():
        word = _earlier(prepared, key)
        if key in planned or word is None or record.rows:
            continue
        if record.kind == "department_create":
            count("departments_created")
        elif record.kind in ("member_delete", "member_disable"):
            extra.append((_member_cells(prepared, record.target or ""),
                          RowResult(word, None, f"{record.target}: not in the sheet")))
            count(word)
    for ref, result in rows.items():
        if ref[0] == DEPARTMENTS:
            if result.result in ("created", "updated"):
                count("departments_" + result.result)
            elif result.result in (FAILED, "invalid", SKIPPED):
                count(result.result)
            continue
        count(result.result)
    return ImportResult("", counts, rows, extra, None, None, interrupted)


def _member_cells(prepared: Prepared, userid: str) -> dict[str, str]:
    """Cells for an extra result row: the userid (and name) under the sheet's own headers."""
    records = prepared.records
    member = prepared.directory.members.get(userid.lower(), {}) if prepared.directory is not None else {}
    if records is None or MEMBERS not in records.parts:
        return {}
    headers = records.parts[MEMBERS].headers
    columns = getattr(records, "columns", {}) or {}
    cells: dict[str, str] = {}
    for name, value in (("userid", userid), ("name", member.get("name") or "")):
        header = columns.get(name)
        if header in headers:
            cells[header] = str(value)
    return cells


def _extra_message(op: Operation, result: OpResult) -> str:
    if result.outcome in ("deleted", "disabled"):
        return f"{op.target}: not in the sheet"
    return f"{op.target}: {result.message}"


def _row_result(prepared: Prepared, pairs: list[tuple[Operation, OpResult | None]], interrupted: bool) -> RowResult:
    main_word = None
    for op, result in pairs:
        if result is None:
            if interrupted:
                return RowResult(SKIPPED, None, "not done: the run was interrupted; run the same command again "
                                                "to finish / 导入被中断，重新运行同一命令即可继续")
            return RowResult(SKIPPED, None, "not done")
        if result.outcome == FAILED:
            return RowResult(FAILED, result.errcode, result.message)
        if result.outcome == SKIPPED:
            return RowResult(SKIPPED, result.errcode, result.message)
    for op, result in pairs:
        word = result.outcome if result else "unchanged"
        # the member itself: created by an earlier, interrupted attempt of this run?
        earlier = _earlier(prepared, member_key(op.target)) if op.kind.startswith("member_") else None
        if earlier == "created" and word == "updated":
            word = "created"
        if op.kind != "member_leaders":
            return RowResult(word)
        main_word = main_word or word
    return RowResult(main_word or "unchanged")


# ---------------------------------------------------------------------------------------------
# saved plans: `--plan-out` and `bulkdir apply`

PLAN_FORMAT = "bulkdir-plan/1"


def save_plan(prepared: Prepared, path: str | Path) -> Path:
    """Write the plan as JSON: the operations in order, each with what its target looked like when planned.

    Example:
        >>> save_plan(prepare_import("staff.xlsx", client, ImportOptions()), "plan.json")
        PosixPath('plan.json')
    """
    path = Path(path)
    document = {
        "format": PLAN_FORMAT,
        "source": str(prepared.source.resolve()) if prepared.source else None,
        "source_hash": prepared.source_hash,
        "corp_id": prepared.key.get("corp_id"),
        "options": prepared.key,
        "plan": prepared.plan.to_json(),
    }
    path.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def prepare_apply(path: str | Path, client: Any, options: ImportOptions,
                  fetch: Callable[[Any], Any] | None = None) -> Prepared:
    """Load a saved plan and check it against a fresh snapshot; ConflictError when the directory changed
    since in a way the plan would overwrite. A rerun after an interruption resumes (journal by plan file).

    Example:
        >>> prepared = prepare_apply("plan.json", client, ImportOptions())
        >>> run_import(prepared, client, ImportOptions()).exit_status
        <ExitStatus.OK: 0>
    """
    from bulkdir.errors import ConfigError
    from bulkdir.wecom.directory import fetch_directory

    path = Path(path)
    plan_hash = _hash(path)
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
        if document.get("format") != PLAN_FORMAT:
            raise ValueError("not a bulkdir plan")
        plan = Plan.from_json(document["plan"])
    except (ValueError, KeyError, TypeError) as error:
        raise SheetError(f"{path.name} is not a plan written by `bulkdir import --plan-out` ({error})") from None
    settings = getattr(client, "settings", None)
    if document.get("corp_id") and settings is not None and document["corp_id"] != settings.corp_id:
        raise ConfigError(f"{path.name} was planned for corp {document['corp_id']}, not {settings.corp_id}")
    directory = (fetch or fetch_directory)(client)
    key = {"command": "apply", "plan": plan_hash, "corp_id": getattr(settings, "corp_id", None)}
    records = None
    source = Path(document["source"]) if document.get("source") else None
    if source is not None and source.exists() and _hash(source) == document.get("source_hash"):
        planned_with = document.get("options") or {}
        records = read_records(source, directory, planned_with.get("sheet"), options.encoding, options.lang)
    prepared = Prepared("apply", source if records is not None else None, plan_hash, plan, records, directory,
                        _journal(options), key)
    _consult_journal(prepared)
    if not prepared.resuming:
        applied = prepared.journal.find_finished("apply", plan_hash, key)
        if applied is not None:
            failed = applied.counts.get("failed", 0)
            raise AlreadyAppliedError(
                f"{path.name} was already applied (run {applied.id}, finished {applied.finished_at}"
                + (f", {failed} row(s) failed" if failed else "") + "): nothing was sent again. To bring the "
                "directory in line with the sheet once more, plan again with `bulkdir import`. "
                f"/ 该计划已执行过（运行 {applied.id}），不会重复执行；如需再次同步，请重新运行 bulkdir import。")
    conflicts = plan_conflicts(plan, directory, skip=set(prepared.prior_started()))
    if conflicts:
        shown = "; ".join(conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise ConflictError(f"the directory changed since {path.name} was planned: {shown}. "
                            "Plan again with `bulkdir import`. / 通讯录在计划之后已有变化，请重新生成计划。")
    return prepared


def plan_conflicts(plan: Plan, directory: Any, skip: set[str] | None = None) -> list[str]:
    """What changed since the plan was made that its operations would overwrite or trip over.

    >>> plan_conflicts(plan, fetch_directory(client))
    ['member lisi: mobile changed since the plan was made']
    """
    skip = skip or set()
    conflicts: list[str] = []
    for op in plan.operations:
        if op.key in skip:
            continue
        if op.kind.startswith("member_"):
            current = directory.members.get(op.target.lower())
            if op.kind == "member_create":
                if current is not None:
                    conflicts.append(f"member {op.target} now exists")
                continue
            if op.kind == "member_delete":
                continue  # already gone is what the plan wants
            if current is None:
                if op.kind != "member_leaders" or not any(o.key == member_key(op.target)
                                                          for o in plan.operations):
                    conflicts.append(f"member {op.target} no longer exists")
                continue
            conflicts += [f"member {op.target}: {name} changed since the plan was made"
                          for name in _changed_since(op, current.get)]
        elif op.kind == "department_create":
            taken = directory.departments.get(op.body.get("id"))
            if taken is not None or _id_of(directory, op.target) is not None:
                conflicts.append(f"department {op.target} (id {op.body.get('id')}) now exists")
        elif op.kind == "department_update":
            current = directory.departments.get(op.body.get("id"))
            if current is None:
                conflicts.append(f"department {op.target} no longer exists")
                continue
            conflicts += [f"department {op.target}: {name} changed since the plan was made"
                          for name in _changed_since(op, lambda name: getattr(current, name, None))]
    return conflicts


def _changed_since(op: Operation, have: Callable[[str], Any]) -> list[str]:
    """The fields the plan saw that now hold something else, neither what it saw nor what it would write."""
    return [name for name, was in ((op.before or {}).get("fields") or {}).items()
            if not same_value(name, was, have(name)) and not same_value(name, op.body.get(name), have(name))]


def _id_of(directory: Any, target: str) -> int | None:
    path = tuple(target.split("/")) if target != "/" else ()
    return directory.id_of(path)


# ---------------------------------------------------------------------------------------------
# `bulkdir delete FILE`


def read_userids(path: str | Path, sheet: str | None = None,
                 encoding: str | None = None) -> tuple[Any, list[tuple[int, str]]]:
    """The userid column of a sheet (header `userid`, `帐号`, … in the first 20 rows): a Table and (row, userid)s.

    >>> read_userids("leavers.csv")[1]
    [(2, 'zhangsan'), (3, 'lisi')]
    """
    from bulkdir.schema import MEMBER_HEADERS
    from bulkdir.sheets import HEADER_SCAN_ROWS, normalise_header, open_workbook
    from bulkdir.validate import Table

    book = open_workbook(path, encoding)
    raw = book.read(sheet)
    header_index = column = None
    for index, row in enumerate(raw.rows[:HEADER_SCAN_ROWS]):
        for position, cell in enumerate(row):
            found = MEMBER_HEADERS.get(normalise_header(cell)) if cell and len(cell) < 100 else None
            if found is not None and found.key == "userid":
                header_index, column = index, position
                break
        if column is not None:
            break
    if header_index is None or column is None:
        raise SheetError(f"{Path(path).name} has no userid column (帐号 / userid) in its first "
                         f"{HEADER_SCAN_ROWS} rows")
    headers = [h.strip() for h in raw.rows[header_index]]
    data, numbers, pairs = [], [], []
    for index in range(header_index + 1, len(raw.rows)):
        cells = raw.rows[index]
        if not any(c.strip() for c in cells):
            continue
        data.append(cells)
        numbers.append(index + 1)
        pairs.append((index + 1, cells[column].strip() if column < len(cells) else ""))
    fields: list[str | None] = [("userid" if i == column else None) for i in range(len(headers))]
    table = Table("members", raw.name, header_index + 1, headers, fields, data, numbers, raw.rows[:header_index])
    return table, pairs


def prepare_delete(path: str | Path, client: Any, options: ImportOptions,
                   fetch: Callable[[Any], Any] | None = None) -> Prepared:
    """Plan `bulkdir delete FILE`: every listed userid in the directory is deleted (or disabled).

    Example:
        >>> prepared = prepare_delete("leavers.xlsx", client, ImportOptions())
        >>> prepared.plan.counts()
        {'member_delete': 12}
    """
    from bulkdir.wecom.directory import fetch_directory

    path = Path(path)
    source_hash = _hash(path)
    table, pairs = read_userids(path, options.sheet, options.encoding)
    directory = (fetch or fetch_directory)(client)
    plan = plan_delete(pairs, directory, options.delete.allow_mass_delete, options.delete.disable_instead)
    records = SheetRecords([], [], dict(plan.invalid), {DELETES: SheetResults(table)}, [],
                           columns={"userid": table.headers[table.fields.index("userid")]})
    prepared = Prepared("delete", path, source_hash, plan, records, directory, _journal(options),
                        options.plan_key("delete", client))
    _consult_journal(prepared)
    return prepared
