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
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from bulkdir.errors import BulkdirError, ExitStatus, SheetError
from bulkdir.executor import FAILED, KEPT_DEPARTMENT, SKIPPED, OpResult, execute, read_back, shows_done
from bulkdir.journal import Journal, OperationRecord, default_journal_path, file_hash
from bulkdir.plan import (OUTCOME, DeleteOptions, InvalidRowNames, Operation, Plan, RecentRemovals, RefusedError,
                          enforce_delete_brake, member_key, plan_delete, plan_import, same_value)
from bulkdir.planfile import PLAN_FORMAT, PlanRefusedError, check_plan_document, read_plan_document, sign
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
        """The options a resumed run must share with the interrupted one: the same corp at the same endpoint
        (a rehearsal may share a production corp id; the sandbox is named by its state file, not its port)."""
        settings = getattr(client, "settings", None)
        return {"command": command, "delete": vars(self.delete), "strict": self.strict, "sheet": self.sheet,
                "corp_id": getattr(settings, "corp_id", None), "endpoint": getattr(client, "endpoint", None)}


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
    named_by_invalid: InvalidRowNames = field(default_factory=InvalidRowNames)  # kept from deletes and prunes


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
    ctrl_c_during_report: bool = False  # held back until the report was written

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
    named = _named_by_invalid(result.tables, invalid, directory, examples)
    return SheetRecords(members, departments, invalid, parts, result.problems, table_errors, columns, examples,
                        named)


def _named_by_invalid(tables: dict[str, Any], invalid: dict[tuple[str, int], str], directory: Any,
                      examples: dict[tuple[str, int], str]) -> InvalidRowNames:
    """Whom and what the invalid rows name, read from their cells as written (they did not parse)."""
    from bulkdir.schema import DEFAULT_ROOT_NAME, CellProblem, parse_path

    named = InvalidRowNames()
    root_name = getattr(directory, "root_name", None) or DEFAULT_ROOT_NAME

    def department_refs(text: str) -> None:
        for part in (p.strip() for p in text.replace("；", ";").split(";")):
            if part.isdigit():
                named.department_ids.add(int(part))
            elif part:
                try:
                    named.department_paths.add(parse_path(part, root_name))
                except CellProblem:
                    pass  # a path that does not parse names no department that exists

    for kind, table in tables.items():
        for cells, number in zip(table.rows, table.row_numbers):
            if (kind, number) not in invalid or (kind, number) in examples:
                continue
            values: dict[str, list[str]] = {}
            for index, name in enumerate(table.fields):
                if name and index < len(cells) and cells[index].strip():
                    values.setdefault(name, []).append(cells[index].strip())
            if kind == MEMBERS:
                named.userids.update(v.lower() for v in values.get("userid", []))
                for text in values.get("mobile", []):
                    named.add_mobile(text)
                named.emails.update(v.lower() for v in values.get("email", []) + values.get("biz_mail", []))
                if not any(values.get(name) for name in ("userid", "mobile", "email", "biz_mail")):
                    named.unidentified.append(number)
                for text in values.get("department", []) + values.get("main_department", []):
                    department_refs(text)
            else:
                for text in values.get("id", []) + values.get("parentid", []):
                    department_refs(text)
                for text in values.get("path", []) + values.get("parent", []):
                    department_refs(text)
                name = (values.get("name") or [""])[0]
                parent_id = (values.get("parentid") or [""])[0]
                parent = (() if parent_id == "1" else directory.path_of(int(parent_id))) if parent_id.isdigit() else None
                if name and parent is not None and None not in parent:
                    named.department_paths.add(tuple(parent) + (name,))
    return named


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
    journal = _journal(options)
    key = options.plan_key("import", client)
    plan = plan_import(records.members, records.departments, directory, records.invalid, options.delete,
                       named_by_invalid=records.named_by_invalid, recent=_recent(journal, key),
                       reserved_ids=_reserved_ids(journal, "import", source_hash, key))
    prepared = Prepared("import", path, source_hash, plan, records, directory, journal, key)
    _consult_journal(prepared)
    return prepared


def _reserved_ids(journal: Journal, command: str, source_hash: str | None, key: dict[str, Any]) -> dict[str, int]:
    """The ids the unfinished run of this sheet chose for the departments it was to create, by key."""
    run_id = journal.find_unfinished(command, source_hash, key) if source_hash else None
    if run_id is None:
        return {}
    return {op_key: int(record.body["id"]) for op_key, record in journal.operations(run_id).items()
            if record.kind == "department_create" and isinstance(record.body.get("id"), int)}


def _recent(journal: Journal, key: dict[str, Any]) -> RecentRemovals:
    """What this corp lost in the brake's window, by any run in this journal."""
    return RecentRemovals.from_journal(journal.recent_removals(key.get("corp_id")))


def _hash(path: Path) -> str:
    """The content hash of an input sheet, once it is known to be a file bulkdir may read (not a pipe or a
    device, within the size cap; a file still growing is not read past the cap)."""
    from bulkdir.sheets import MAX_SHEET_BYTES, check_sheet_file

    check_sheet_file(path)
    try:
        return file_hash(path, limit=MAX_SHEET_BYTES)
    except OSError as error:
        raise SheetError(f"cannot open {path}: {error.strerror or error}") from None


def _body_text(body: dict[str, Any]) -> str:
    return json.dumps(body, ensure_ascii=False, sort_keys=True)


# What a snapshot of userids only cannot judge: it shows who exists, not what their fields hold.
_UNJUDGED_WITH_IDS_ONLY = ("member_update", "member_leaders", "member_disable")


def _consult_journal(prepared: Prepared) -> None:
    """Find the unfinished run of this file, options, corp and endpoint, to resume it.

    The plan was made against a fresh snapshot, so whatever it holds is still needed and is sent, whatever
    the journal says an earlier attempt did (the directory may have been reset or changed back since). The
    journal only tells how rows are reported (a member created then shows `created`, not `unchanged`), and
    keeps updates that a snapshot of userids only cannot judge from being sent twice."""
    if prepared.source_hash is None:
        return
    run_id = prepared.journal.find_unfinished(prepared.command, prepared.source_hash, prepared.key)
    if run_id is None:
        return
    prepared.resume_run = run_id
    prepared.prior = prepared.journal.operations(run_id)
    if prepared.plan.mode != "ids-only":
        return
    for op in prepared.plan.operations:
        record = prepared.prior.get(op.key)
        if (op.kind in _UNJUDGED_WITH_IDS_ONLY and record is not None and record.state == "done"
                and record.outcome not in (FAILED, SKIPPED, None) and record.kind == op.kind
                and _body_text(record.body) == _body_text(op.body)):
            prepared.done[op.key] = OpResult(op.key, record.outcome, record.errcode, record.message or "")


# ---------------------------------------------------------------------------------------------
# running


def run_import(prepared: Prepared, client: Any, options: ImportOptions, lock: Any = None) -> ImportResult:
    """Journal the plan, execute it, and write the result files; Ctrl-C ends with `interrupted`.

    The report is built from the journal (what this run recorded as done) and, for an operation that
    was sent but never answered, a read of what the directory now holds. A Ctrl-C while the report is
    written is held back until it is finished; a second one stops without it (ReportInterruptedError,
    saying how to write it). `lock` (a runlock.CorpLock the caller holds) is told the run's id.

    Example:
        >>> result = run_import(prepare_import("staff.xlsx", client, options), client, options)
        >>> result.summary()["created"], result.exit_status
        (40, <ExitStatus.OK: 0>)
    """
    journal = prepared.journal
    source = str(prepared.source) if prepared.source else None
    snapshot = getattr(prepared.directory, "strategy", None) or None
    if prepared.resume_run:
        run_id = prepared.resume_run
        journal.reopen_run(run_id, snapshot)
    else:
        run_id = journal.start_run(prepared.command, source, prepared.source_hash, prepared.key, snapshot)
    if lock is not None:
        lock.note_run(run_id)
    operations = prepared.plan.ordered()
    interrupted = False
    results: dict[str, OpResult] = {}
    try:
        journal.record_plan(run_id, [op for op in operations if op.key not in prepared.done])
        execution = execute(operations, client, workers=options.workers, journal=journal, run_id=run_id,
                            progress=options.progress, done=prepared.done)
        interrupted = execution.interrupted
        results = execution.results
    except KeyboardInterrupt:  # before the executor took Ctrl-C over, or a second one in it
        interrupted = True
    with _ctrl_c_held_back() as pressed:
        try:
            if len(results) < len(operations):
                results = _results_from_journal(operations, results, journal, run_id, client)
            outcome = _account(prepared, results, interrupted)
            outcome.run_id = run_id
            _write_reports(prepared, outcome, options)
        except KeyboardInterrupt:
            journal.finish_run(run_id, "interrupted", {})
            raise ReportInterruptedError(
                f"interrupted while the report of run {run_id} was written: the journal holds every result; "
                "run the same command again to finish the run and write the report (nothing done is repeated).",
                f"写报告时被中断：运行 {run_id} 的结果都在日志中；重新运行同一命令即可完成并写出报告（已完成的不会重复）。"
            ) from None
        except BaseException:
            journal.finish_run(run_id, "interrupted", {})
            raise
        journal.finish_run(run_id, "interrupted" if interrupted else "finished", outcome.counts,
                           str(outcome.results_path) if outcome.results_path else None)
    outcome.ctrl_c_during_report = pressed()
    return outcome


class ReportInterruptedError(BulkdirError):
    """A second Ctrl-C while the report was written: the run stopped without it (exit 130)."""

    exit_status = ExitStatus.INTERRUPTED


@contextmanager
def _ctrl_c_held_back() -> Iterator[Callable[[], bool]]:
    """While the report is written, a first Ctrl-C waits for it (no half-written file, no traceback from
    inside openpyxl); a second one raises KeyboardInterrupt. Yields whether Ctrl-C was pressed."""
    presses: list[int] = []
    if threading.current_thread() is not threading.main_thread():
        yield lambda: False
        return

    def handler(signum: int, frame: Any) -> None:
        presses.append(signum)
        if len(presses) > 1:
            raise KeyboardInterrupt

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield lambda: bool(presses)
    finally:
        signal.signal(signal.SIGINT, previous)


def _results_from_journal(operations: list[Operation], results: dict[str, OpResult], journal: Journal,
                          run_id: str, client: Any) -> dict[str, OpResult]:
    """The results of an interrupted run: what the executor returned, what the journal recorded as done,
    and, for operations sent but never answered, what the directory now holds."""
    merged = dict(results)
    records = journal.operations(run_id)
    for op in operations:
        if op.key in merged:
            continue
        record = records.get(op.key)
        if record is None or record.state == "planned":
            continue
        if record.state == "done" and record.outcome:
            merged[op.key] = OpResult(op.key, record.outcome, record.errcode, record.message or "")
            continue
        landed = read_back(op, client)  # started, never answered
        if landed is not None:
            journal.mark_done(run_id, op.key, landed.outcome, landed.errcode, landed.message)
            merged[op.key] = landed
    return merged


def _write_reports(prepared: Prepared, outcome: ImportResult, options: ImportOptions) -> None:
    if prepared.records is not None:
        for ref, message in prepared.records.examples.items():
            outcome.rows.setdefault(ref, RowResult(SKIPPED, None, message, to_fix=False))  # shown, not counted
    if prepared.records is None or prepared.source is None:
        return
    results_path, errors_path = report_paths(prepared.source, outcome.run_id, options.report)
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

def save_plan(prepared: Prepared, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the plan as JSON with its keyed check (bulkdir.planfile): the operations in order, each with
    what its target looked like when planned. Never over the input sheet; over another file only with
    `overwrite`. The file is readable by its owner only.

    Example:
        >>> save_plan(prepare_import("staff.xlsx", client, ImportOptions()), "plan.json")
        PosixPath('plan.json')
    """
    from bulkdir.report import check_output_path
    from bulkdir.sheets import atomic_file

    path = check_output_path(path, force=overwrite, protect=[prepared.source] if prepared.source else [],
                             option="--plan-out")
    document = sign({
        "format": PLAN_FORMAT,
        "source": str(prepared.source.resolve()) if prepared.source else None,
        "source_hash": prepared.source_hash,
        "corp_id": prepared.key.get("corp_id"),
        "options": prepared.key,
        "plan": prepared.plan.to_json(),
    })
    with atomic_file(path) as temporary:
        temporary.write_text(json.dumps(document, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def prepare_apply(path: str | Path, client: Any, options: ImportOptions,
                  fetch: Callable[[Any], Any] | None = None) -> Prepared:
    """Load a saved plan and check it against a fresh snapshot; ConflictError when the directory changed
    since in a way the plan would overwrite. A rerun after an interruption resumes (journal by plan file).

    Refused before any call (PlanRefusedError, exit 2): a plan changed after it was saved, one for another
    corp or endpoint, or one holding anything bulkdir would not have planned. Its deletes go through the
    same brake as an import's (`options.delete.allow_mass_delete` to let them past).

    Example:
        >>> prepared = prepare_apply("plan.json", client, ImportOptions())
        >>> run_import(prepared, client, ImportOptions()).exit_status
        <ExitStatus.OK: 0>
    """
    from bulkdir.wecom.directory import fetch_directory

    path = Path(path)
    document, plan_hash = read_plan_document(path)
    problems = check_plan_document(document, getattr(client.settings, "corp_id", None),
                                   getattr(client, "endpoint", None))
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise PlanRefusedError(f"{path.name} cannot be applied: {shown}. Nothing was sent.",
                               f"{path.name} 无法执行：{shown}。未发送任何请求。")
    plan = Plan.from_json(document["plan"])
    directory = (fetch or fetch_directory)(client)
    key = {"command": "apply", "plan": plan_hash, "corp_id": client.settings.corp_id,
           "endpoint": getattr(client, "endpoint", None)}
    records = None
    source = Path(document["source"]) if isinstance(document.get("source"), str) else None
    if source is not None and source.is_file() and _hash(source) == document.get("source_hash"):
        planned_with = document.get("options") or {}
        records = read_records(source, directory, planned_with.get("sheet"), options.encoding, options.lang)
    journal = _journal(options)
    prepared = Prepared("apply", source if records is not None else None, plan_hash, plan, records, directory,
                        journal, key)
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
    for op in plan.operations:
        record = prepared.prior.get(op.key)
        if record is not None and record.state != "planned" and shows_done(op, directory):
            # an interrupted attempt of this apply did it, and the directory shows it: not sent again
            word = record.outcome if record.outcome not in (FAILED, SKIPPED, None) else op.outcome
            prepared.done[op.key] = OpResult(op.key, word)
        elif op.kind in ("member_delete", "member_disable") and directory.member(op.target) is None:
            prepared.done[op.key] = OpResult(op.key, SKIPPED, None, f"{op.target} is not in the directory "
                                             "/ 该成员不在通讯录中")
    _apply_brake(plan, directory, options, _recent(journal, key), set(prepared.done))
    conflicts = plan_conflicts(plan, directory, skip=set(prepared.prior_started()))
    if conflicts:
        shown = "; ".join(conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise ConflictError(f"the directory changed since {path.name} was planned: {shown}. "
                            "Plan again with `bulkdir import`. / 通讯录在计划之后已有变化，请重新生成计划。")
    return prepared


def _apply_brake(plan: Plan, directory: Any, options: ImportOptions, recent: RecentRemovals, done: set[str]) -> None:
    """A saved plan's removals meet the same brake as an import's, counted against the directory as it is."""
    if options.delete.allow_mass_delete:
        return
    todo = [op for op in plan.operations if op.key not in done]
    members = len(directory.members)
    scope = min(plan.delete_scope, members) if plan.delete_scope is not None else members
    for kind, disable, earlier in (("member_delete", False, recent.members_deleted),
                                   ("member_disable", True, recent.members_disabled)):
        count = sum(op.kind == kind for op in todo)
        if count:
            enforce_delete_brake(count, max(scope, count), "in scope", disable, earlier)
    prunes = sum(op.kind == "department_delete" for op in todo)
    if prunes:
        enforce_delete_brake(prunes, len(directory.departments) - 1, "below the root", False,
                             recent.departments_deleted, what="departments")


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
    journal = _journal(options)
    key = options.plan_key("delete", client)
    plan = plan_delete(pairs, directory, options.delete.allow_mass_delete, options.delete.disable_instead,
                       _recent(journal, key))
    records = SheetRecords([], [], dict(plan.invalid), {DELETES: SheetResults(table)}, [],
                           columns={"userid": table.headers[table.fields.index("userid")]})
    prepared = Prepared("delete", path, source_hash, plan, records, directory, journal, key)
    _consult_journal(prepared)
    return prepared
