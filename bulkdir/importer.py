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

import hashlib
import json
import signal
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from bulkdir.batchjobs import DEFAULT_THRESHOLD, MAX_FILE_BYTES, batch_safe, finish_pending_jobs, leaders_of
from bulkdir.errors import (
    AlreadyAppliedError,
    BulkdirError,
    ConflictError,
    ExitStatus,
    PlanRefusedError,
    RefusedError,
    ReportInterruptedError,
    SheetError,
    Text,
)
from bulkdir.executor import FAILED, KEPT_DEPARTMENT, SKIPPED, OpResult, Progress, execute, read_back, shows_done
from bulkdir.journal import Journal, OperationRecord, default_journal_path, file_hash
from bulkdir.mapping import Mapping
from bulkdir.matching import Identification, Identified, UseridMaker, identify, shows_contacts
from bulkdir.plan import (
    OUTCOME,
    DeleteOptions,
    InvalidRowNames,
    Operation,
    Plan,
    RecentRemovals,
    build_delete_plan,
    build_plan,
    enforce_delete_brake,
    member_key,
    same_value,
)
from bulkdir.planfile import PLAN_FORMAT, check_plan_document, read_plan_document, sign
from bulkdir.report import RowResult, SheetResults, report_paths, write_errors, write_results
from bulkdir.runlock import CorpLock
from bulkdir.schema import Member
from bulkdir.sheets import Workbook
from bulkdir.validation import Source
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.directory import Directory

MEMBERS, DEPARTMENTS, DELETES = "members", "departments", "deletes"


@dataclass
class ImportOptions:
    """What shapes an import. The first group changes the plan (and so which run a rerun resumes)."""

    delete: DeleteOptions = field(default_factory=DeleteOptions)
    strict: bool = False
    sheet: str | None = None
    mapping: Mapping = field(default_factory=Mapping)  # an HR system's headers (bulkdir/mapping.py)
    maker: UseridMaker | None = None  # userids for new hires (--make-userid, --userid-from)
    encoding: str | None = None
    workers: int = 4
    journal: str | Path | None = None
    report: str | Path | None = None
    progress: Progress | None = None  # told (done, total, failures) as the run goes; the CLI draws a bar
    lang: str = "en"
    stop: threading.Event | None = None  # set from another thread to stop the run as Ctrl-C does (the web page)
    via: str = "auto"  # the member writes: "api" per call, "batch" through the async batch import, "auto" by count
    batch_threshold: int = DEFAULT_THRESHOLD  # auto: the batch path from this many batch-safe member writes
    batch_file_bytes: int = MAX_FILE_BYTES  # a batch file larger than this is split (the platform takes 20 MB)

    def plan_key(self, command: str, client: WeComClient) -> dict[str, Any]:
        """The options a resumed run must share with the interrupted one: the same corp at the same endpoint
        (a rehearsal may share a production corp id; the sandbox is named by its state file, not its port)."""
        return {"command": command, "delete": vars(self.delete), "strict": self.strict, "sheet": self.sheet,
                "corp_id": client.settings.corp_id, "endpoint": client.endpoint,
                "mapping": self.mapping.to_json(),
                "make_userid": self.maker.template if self.maker else None}


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
    identities: dict[int, Identified] = field(default_factory=dict)  # rows without a userid: who they are
    notes: list[Text] = field(default_factory=list)  # for the plan: how the rows were matched


@dataclass
class ImportPlan:
    """Everything decided before anything is sent: the plan against a fresh snapshot, the records it came
    from, and what an earlier unfinished run of the same sheet did. It carries the client and the options,
    so running it needs nothing more: `bulkdir.apply(plan)`. `str(plan)` is the plan in words, as the CLI
    shows it; `save(path)` writes it for `bulkdir apply`; `to_frame()` lists the operations.

    >>> plan = build_plan("staff.xlsx", client)        # doctest: +SKIP
    >>> plan.counts()                                    # doctest: +SKIP
    {'department_create': 10, 'member_create': 40}
    """

    command: str
    source: Path | None
    source_hash: str | None
    plan: Plan
    records: SheetRecords | None
    directory: Directory
    journal: Journal
    key: dict[str, Any]
    client: WeComClient
    options: ImportOptions
    resume_run: str | None = None
    prior: dict[str, OperationRecord] = field(default_factory=dict)
    done: dict[str, OpResult] = field(default_factory=dict)

    @property
    def resuming(self) -> bool:
        return self.resume_run is not None

    def prior_started(self) -> list[str]:
        """Keys the unfinished run started or finished: the snapshot already shows their effect."""
        return [key for key, record in self.prior.items() if record.state != "planned"]

    def counts(self) -> dict[str, int]:
        """How many operations of each kind, and rows unchanged (`{"member_create": 3, ...}`)."""
        return self.plan.counts()

    def batch_keys(self) -> set[str]:
        """The member writes that go through the async batch import (bulkdir/batchjobs.py): those that are
        batch-safe, with `via="batch"`, or with "auto" when there are at least `batch_threshold` of them."""
        if self.options.via == "api":
            return set()
        leaders = leaders_of(self.plan.operations)
        safe = {op.key for op in self.plan.operations if op.key not in self.done and batch_safe(op, leaders)}
        if self.options.via == "batch" or len(safe) >= self.options.batch_threshold:
            return safe
        return set()

    def path_lines(self, lang: str | None = None) -> list[str]:
        """Which path each part of the plan takes, when some of it goes through the async batch import."""
        batch = self.batch_keys()
        if not batch:
            return []
        members = sum(op.kind in ("member_create", "member_update") for op in self.plan.operations)
        per_call = len(self.plan.operations) - members
        if (lang or self.options.lang) == "zh":
            return [f"成员写入：{len(batch)} 个通过异步批量导入（批量任务），{members - len(batch)} 个逐个调用"
                    f"（清空字段、上级、邀请等）；其余 {per_call} 个操作（部门、删除等）逐个调用。"]
        return [f"Member writes: {len(batch)} through the async batch import (batch jobs), {members - len(batch)} "
                f"per call (clears, leaders, invitations and the like); the other {per_call} operations "
                "(departments, deletes, ...) per call."]

    def __str__(self) -> str:
        lines = self.plan.summary_lines(lang=self.options.lang) + self.path_lines()
        if self.resuming:
            lines.insert(0, f"Resuming run {self.resume_run} (interrupted before it finished).")
        return "\n".join(lines)

    def save(self, path: str | Path, *, overwrite: bool = False) -> Path:
        """Write the plan for `bulkdir apply` (see save_plan)."""
        return save_plan(self, path, overwrite=overwrite)

    def to_frame(self) -> Any:
        """The operations as a pandas DataFrame: kind, target, the fields sent, and the sheet rows."""
        import pandas

        return pandas.DataFrame(
            [{"kind": op.kind, "target": op.target, "fields": ", ".join(k for k in op.body if k != "userid"),
              "rows": ", ".join(str(row) for _, row in op.rows)} for op in self.plan.ordered()],
            columns=["kind", "target", "fields", "rows"])


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
    stopped_by: Text | None = None  # why the run stopped by itself (an API blocked for the hour, a batch job's API)
    targets: dict[tuple[str, int], str] = field(default_factory=dict)  # row -> the userid or department it is for

    def to_frame(self, lang: str = "en") -> Any:
        """Every row's result as a pandas DataFrame (sheet, row, target, result, errcode, message), the rows
        of the sheet first, then the members and departments the run changed that the sheet does not list."""
        import pandas

        def record(sheet: str, row: int | None, target: str, outcome: RowResult) -> dict[str, Any]:
            return {"sheet": sheet, "row": row, "target": target, "result": outcome.result,
                    "errcode": outcome.errcode, "message": Text(outcome.message).in_lang(lang)}

        records = [record(sheet, row, self.targets.get((sheet, row), ""), outcome)
                   for (sheet, row), outcome in sorted(self.rows.items())]
        records += [record("", None, " ".join(cells.values()) or outcome.message.split(":")[0], outcome)
                    for cells, outcome in self.extra]
        return pandas.DataFrame(records, columns=["sheet", "row", "target", "result", "errcode", "message"])

    @property
    def exit_status(self) -> ExitStatus:
        if self.stopped_by is not None:
            return ExitStatus.TEMPFAIL  # nothing is wrong with the rows: run again once the API is free
        if self.interrupted:
            return ExitStatus.INTERRUPTED
        bad = self.counts.get("failed", 0) + self.counts.get("invalid", 0) + self.counts.get("skipped", 0)
        return ExitStatus.PROBLEMS if bad else ExitStatus.OK

    def summary(self) -> dict[str, Any]:
        """The `--json` summary: {"run", "created", "updated", "unchanged", "deleted", "disabled", "failed", ...}."""
        out: dict[str, Any] = {"run": self.run_id}
        # the keys scripts read first (README, "import"), then the rest
        for name in ("created", "updated", "unchanged", "deleted", "disabled", "failed", "invalid",
                     "departments_created", "skipped", "departments_updated", "departments_deleted"):
            out[name] = self.counts.get(name, 0)
        out["interrupted"] = self.interrupted
        if self.stopped_by is not None:
            out["stopped_by"] = str(self.stopped_by)
        out["report"] = str(self.results_path) if self.results_path else None
        out["errors_report"] = str(self.errors_path) if self.errors_path else None
        return out


# ---------------------------------------------------------------------------------------------
# reading


def read_records(path: Source, directory: Directory, sheet: str | None = None,
                 encoding: str | None = None, *, mapping: Mapping | None = None,
                 maker: UseridMaker | None = None, client: WeComClient | None = None,
                 journal: Journal | None = None, settled: dict[int, Identified] | None = None) -> SheetRecords:
    """Read and validate an import sheet (members, and a departments sheet when the workbook has one),
    knowing the corp's userids (a row for an existing member is an update and needs no name) and its custom
    fields; read through `mapping` when the sheet has an HR system's headers. Rows without a userid are
    matched to members by mobile or email, or given one by `maker` (bulkdir/matching.py; `client` makes the
    lookups when the snapshot cannot show mobiles and emails, and `journal` keeps count of those that found
    nobody, against the platform's daily limit; `settled` are the rows an interrupted run of the sheet settled).

    Rows with errors are left out of `members`/`departments` and listed in `invalid` with the reason;
    problems of the table itself (a missing required column) are in `table_errors`.

    Example:
        >>> from bulkdir.wecom.directory import fetch_directory
        >>> records = read_records("staff.xlsx", fetch_directory(client))
        >>> len(records.members), records.invalid
        (40, {})
    """
    from bulkdir.parsers import DEFAULT_ROOT_NAME
    from bulkdir.validation import row_cells, validate_file

    result = validate_file(path, sheet=sheet, encoding=encoding, known_userids=set(directory.members),
                           root_name=directory.root_name or DEFAULT_ROOT_NAME, mapping=mapping,
                           custom_fields=directory.custom_fields() if directory.shows_custom_fields() else None)
    if maker is not None and MEMBERS in result.tables:
        maker.check(result.tables[MEMBERS].headers)
    kind_of_sheet = {table.sheet: kind for kind, table in result.tables.items()}
    reasons: dict[tuple[str, int], list[Text]] = {}
    table_errors = []
    examples: dict[tuple[str, int], str] = {}
    for problem in result.problems:
        kind = kind_of_sheet.get(problem.sheet or "", MEMBERS)
        if problem.type == "example-row" and problem.row is not None:
            examples[(kind, problem.row)] = problem.message
        if problem.severity != "error":
            continue
        table = result.tables.get(kind)
        if problem.row is None or table is None or problem.row <= table.header_row:
            table_errors.append(problem)
            continue
        reasons.setdefault((kind, problem.row), []).append(problem.message)
    invalid: dict[tuple[str, int], str] = {ref: Text(" ".join(texts), " ".join(t.zh for t in texts))
                                           for ref, texts in reasons.items()}
    members = [m for m in result.members if (MEMBERS, m.row) not in invalid]
    identification = Identification()
    if MEMBERS in result.tables and not table_errors:
        cells = row_cells(result.tables[MEMBERS], maker.columns()) if maker else None
        # a row with problems keeps its userid: once fixed, it is imported under it
        taken = [str(m.values["userid"]) for m in result.members
                 if m.values.get("userid") and (MEMBERS, m.row) in invalid]
        identification = _identify(members, directory, client, journal, maker=maker, cells=cells, taken=taken,
                                   settled=settled)
        for row, reason in identification.problems.items():
            invalid[(MEMBERS, row)] = reason
        members = [m for m in members if (MEMBERS, m.row) not in invalid]
    departments = [d for d in result.departments if (DEPARTMENTS, d.row) not in invalid]
    parts = {kind: SheetResults(table) for kind, table in result.tables.items()}
    columns: dict[str, str] = {}
    if MEMBERS in result.tables:
        table = result.tables[MEMBERS]
        for header, name in zip(table.headers, table.fields):
            if name and name not in columns:
                columns[name] = header
    named = _named_by_invalid(result.tables, invalid, directory, examples)
    identities = {row: item for row, item in identification.found.items() if (MEMBERS, row) not in invalid}
    # said in the plan, not only by `validate`: the value would be dropped by the platform if the field is missing
    unchecked = [Text(f"Note: {p.message}", f"注意：{p.message.zh}") for p in result.problems
                 if p.type == "custom-fields-unchecked"]
    return SheetRecords(members, departments, invalid, parts, result.problems, table_errors, columns, examples,
                        named, identities, unchecked + identification.notes)


def _identify(members: list[Member], directory: Directory, client: WeComClient | None, journal: Journal | None,
              **options: Any) -> Identification:
    """`identify`, with the lookups that found nobody in the last day (this journal's runs) counted against
    the platform's limit, and this call's added to them as they happen."""
    if journal is None or client is None:
        return identify(members, directory, client=client, **options)
    corp, endpoint = client.settings.corp_id, client.endpoint
    return identify(members, directory, client=client, spent=journal.failed_lookups(corp, endpoint),
                    on_failed_lookup=lambda api: journal.note_failed_lookups(corp, endpoint, {api: 1}), **options)


def _named_by_invalid(tables: dict[str, Any], invalid: dict[tuple[str, int], str], directory: Directory,
                      examples: dict[tuple[str, int], str]) -> InvalidRowNames:
    """Whom and what the invalid rows name, read from their cells as written (they did not parse)."""
    from bulkdir.parsers import DEFAULT_ROOT_NAME, CellProblem, parse_path

    named = InvalidRowNames()
    root_name = directory.root_name or DEFAULT_ROOT_NAME

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
                if not values.get("userid") and (not shows_contacts(directory) or not any(
                        values.get(name) for name in ("mobile", "email", "biz_mail"))):
                    named.unidentified.append(number)  # whom it names cannot be told from the snapshot
                for text in values.get("department", []) + values.get("main_department", []):
                    department_refs(text)
            else:
                for text in values.get("id", []) + values.get("parentid", []):
                    department_refs(text)
                for text in values.get("path", []) + values.get("parent", []):
                    department_refs(text)
                name = (values.get("name") or [""])[0]
                parent_id = (values.get("parentid") or [""])[0]
                parent = None
                if parent_id.isdigit():
                    parent = () if parent_id == "1" else directory.path_of(int(parent_id))
                if name and parent is not None and None not in parent:
                    named.department_paths.add(tuple(str(p) for p in parent) + (name,))
    return named


# ---------------------------------------------------------------------------------------------
# preparing


def _journal(options: ImportOptions) -> Journal:
    return Journal(options.journal or default_journal_path())


def prepare_import(source: Source, client: WeComClient, options: ImportOptions,
                   fetch: Callable[[WeComClient], Directory] | None = None) -> ImportPlan:
    """Read and check the sheet (a file, or a pandas DataFrame), take a snapshot of the directory, and plan.

    Raises RefusedError (`--strict` with invalid rows, a mass delete) and SheetError (unreadable file).

    Example:
        >>> prepared = prepare_import("staff.xlsx", client, ImportOptions())   # doctest: +SKIP
        >>> prepared.plan.counts()                                             # doctest: +SKIP
        {'department_create': 2, 'member_create': 40}
    """
    from bulkdir.validation import open_source

    path = Path(source) if isinstance(source, (str, Path)) else None
    source_hash = _hash(path) if path is not None else None
    book = open_source(source, options.encoding)
    if path is None:
        source_hash = _rows_hash(book)
    name = path.name if path is not None else "the DataFrame"
    journal = _journal(options)
    directory = _snapshot(client, journal, fetch)
    key = options.plan_key("import", client)
    unfinished = journal.find_unfinished("import", source_hash, key) if source_hash else None
    records = read_records(book, directory, options.sheet, options.encoding, mapping=options.mapping,
                           maker=options.maker, client=client, journal=journal,
                           settled=_settled(journal, unfinished, MEMBERS))
    if records.table_errors:
        raise SheetError(f"{name} cannot be imported: " + " ".join(p.message for p in records.table_errors[:3]),
                         f"{name} 无法导入：" + " ".join(p.message.zh for p in records.table_errors[:3]))
    if options.strict and records.invalid:
        rows = sorted({row for (_, row) in records.invalid})
        shown = ", ".join(map(str, rows[:10])) + (" …" if len(rows) > 10 else "")
        raise RefusedError(f"--strict: {len(rows)} row(s) have problems (rows {shown}); nothing was imported. Run "
                           f"`bulkdir validate {name}` to see them.",
                           f"--strict：{len(rows)} 行有问题（第 {shown} 行），未导入任何内容。运行 `bulkdir validate "
                           f"{name}` 查看。")
    if options.delete.delete_missing and MEMBERS not in records.parts:
        raise RefusedError(f"--delete-missing needs a members sheet, and {name} has none: nothing is deleted "
                           "on the strength of a departments sheet alone.",
                           f"--delete-missing 需要成员表，而 {name} 中没有：不会只凭部门表删除任何成员。")
    plan = build_plan(records.members, records.departments, directory, records.invalid, options.delete,
                      named_by_invalid=records.named_by_invalid, recent=_recent(journal, key),
                      reserved_ids=_reserved_ids(journal, unfinished))
    plan.identities = {(MEMBERS, row): (item.userid, item.how, item.lookup)
                       for row, item in records.identities.items() if (MEMBERS, row) not in plan.invalid}
    plan.notes = records.notes + plan.notes
    prepared = ImportPlan("import", path, source_hash, plan, records, directory, journal, key, client, options)
    _consult_journal(prepared)
    return prepared


def _rows_hash(book: Workbook) -> str:
    """The content hash of a sheet given as a DataFrame: its cells, so that the same frame resumes its run."""
    digest = hashlib.sha256()
    for name in book.sheet_names:
        digest.update(json.dumps([name, book.read(name).rows], ensure_ascii=False).encode("utf-8"))
    return digest.hexdigest()


def _reserved_ids(journal: Journal, run_id: str | None) -> dict[str, int]:
    """The ids the unfinished run of this sheet chose for the departments it was to create, by key."""
    if run_id is None:
        return {}
    return {op_key: int(record.body["id"]) for op_key, record in journal.operations(run_id).items()
            if record.kind == "department_create" and isinstance(record.body.get("id"), int)}


def _settled(journal: Journal, run_id: str | None, sheet: str) -> dict[int, Identified]:
    """The rows without a userid the unfinished run of this sheet settled (found or made), by row: the rerun
    takes them as they were, with no lookup spent again (the day's budget may be gone) and no userid made anew."""
    if run_id is None:
        return {}
    return {row: Identified(userid, how, lookup)
            for (kind, row), (userid, how, lookup) in journal.identities(run_id).items() if kind == sheet}


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


def _snapshot(client: WeComClient, journal: Journal, fetch: Any = None) -> Directory:
    """The directory, read once the batch jobs an earlier run left running have ended (their results go in
    that run's journal): a snapshot taken while a job still writes would plan its members again."""
    from bulkdir.wecom.directory import fetch_directory

    finish_pending_jobs(journal, client)
    return (fetch or fetch_directory)(client)


def _consult_journal(prepared: ImportPlan) -> None:
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
            prepared.done[op.key] = OpResult(op.key, record.outcome, record.errcode, record.message)


# ---------------------------------------------------------------------------------------------
# running


def run_import(prepared: ImportPlan, client: WeComClient | None = None, options: ImportOptions | None = None,
               lock: CorpLock | None = None) -> ImportResult:
    """Journal the plan, execute it, and write the result files; Ctrl-C ends with `interrupted`.

    The report is built from the journal (what this run recorded as done) and, for an operation that
    was sent but never answered, a read of what the directory now holds. A Ctrl-C while the report is
    written is held back until it is finished; a second one stops without it (ReportInterruptedError,
    saying how to write it). `lock` (a runlock.CorpLock the caller holds) is told the run's id.

    Example:
        >>> result = run_import(prepare_import("staff.xlsx", client, ImportOptions()))
        >>> result.summary()["created"], result.exit_status
        (40, <ExitStatus.OK: 0>)
    """
    client = client or prepared.client
    options = options or prepared.options
    journal = prepared.journal
    source = str(prepared.source) if prepared.source else ("DataFrame" if prepared.command == "import" else None)
    snapshot = prepared.directory.strategy or None
    if prepared.resume_run:
        run_id = prepared.resume_run
        journal.reopen_run(run_id, snapshot)
    else:
        run_id = journal.start_run(prepared.command, source, prepared.source_hash, prepared.key, snapshot)
    if lock is not None:
        lock.note_run(run_id)
    journal.record_identities(run_id, prepared.plan.identities)
    operations = prepared.plan.ordered()
    interrupted = False
    stopped_by: Text | None = None
    results: dict[str, OpResult] = {}
    try:
        journal.record_plan(run_id, [op for op in operations if op.key not in prepared.done])
        execution = execute(operations, client, workers=options.workers, journal=journal, run_id=run_id,
                            progress=options.progress, done=prepared.done, stop=options.stop,
                            batch=prepared.batch_keys(), batch_file_bytes=options.batch_file_bytes)
        interrupted = execution.interrupted
        results = execution.results
        stopped_by = execution.stopped_by.message if execution.stopped_by else None
    except KeyboardInterrupt:  # before the executor took Ctrl-C over, or a second one in it
        interrupted = True
    with _ctrl_c_held_back() as pressed:
        try:
            if len(results) < len(operations):
                results = _results_from_journal(operations, results, journal, run_id, client)
            outcome = _account(prepared, results, interrupted)
            outcome.run_id, outcome.stopped_by = run_id, stopped_by
            _write_reports(prepared, outcome, options)
        except KeyboardInterrupt:
            journal.finish_run(run_id, "interrupted", {})
            raise ReportInterruptedError(
                f"interrupted while the report of run {run_id} was written: the journal holds every result; "
                "run the same command again to finish the run and write the report (nothing done is repeated).",
                f"写报告时被中断：运行 {run_id} 的结果都在日志中；"
                "重新运行同一命令即可完成并写出报告（已完成的不会重复）。"
            ) from None
        except BaseException:
            journal.finish_run(run_id, "interrupted", {})
            raise
        journal.finish_run(run_id, "interrupted" if interrupted else "finished", outcome.counts,
                           str(outcome.results_path) if outcome.results_path else None)
    outcome.ctrl_c_during_report = pressed()
    return outcome


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
                          run_id: str, client: WeComClient) -> dict[str, OpResult]:
    """The results of an interrupted run: what the executor returned, what the journal recorded as done,
    and, for operations sent but never answered, what the directory now holds."""
    merged = dict(results)
    records = journal.operations(run_id)
    in_jobs = journal.in_pending_jobs(run_id)  # a batch job still writes them: followed by the next run, not read
    for op in operations:
        if op.key in merged:
            continue
        record = records.get(op.key)
        if record is None or record.state == "planned" or op.key in in_jobs:
            continue
        if record.state == "done" and record.outcome:
            merged[op.key] = OpResult(op.key, record.outcome, record.errcode, record.message)
            continue
        landed = read_back(op, client)  # started, never answered
        if landed is not None:
            journal.mark_done(run_id, op.key, landed.outcome, landed.errcode, landed.message)
            merged[op.key] = landed
    return merged


def _write_reports(prepared: ImportPlan, outcome: ImportResult, options: ImportOptions) -> None:
    if prepared.records is not None:
        for ref, message in prepared.records.examples.items():
            outcome.rows.setdefault(ref, RowResult(SKIPPED, None, message, to_fix=False))  # shown, not counted
    if prepared.records is None or (prepared.source is None and options.report is None):
        return  # a sheet given as a DataFrame gets files only when asked: its results are in the run's to_frame()
    results_path, errors_path = report_paths(prepared.source or Path("DataFrame"), outcome.run_id, options.report)
    parts = list(prepared.records.parts.values())
    for kind, part in prepared.records.parts.items():
        part.results = {row: result for (sheet, row), result in outcome.rows.items() if sheet == kind}
    _note_userids(prepared)
    if parts:
        parts[0].extra = outcome.extra
    try:
        outcome.results_path = write_results(results_path, parts, options.lang)
        outcome.errors_path = write_errors(errors_path, parts)
    except OSError as error:
        raise BulkdirError(f"cannot write the report {results_path}: {error.strerror or error}") from None


def _note_userids(prepared: ImportPlan) -> None:
    """Give the result file each row's userid when rows were matched or given one (a sheet without userids)."""
    plan, records = prepared.plan, prepared.records
    if records is None or not plan.identities:
        return
    for kind in (MEMBERS, DELETES):
        part = records.parts.get(kind)
        if part is None:
            continue
        userids = {row: userid for (sheet, row), (userid, _, _) in plan.identities.items()
                   if sheet == kind and (sheet, row) not in plan.invalid}
        for op in plan.operations:
            if op.kind.startswith("member_"):
                userids.update({row: op.target for sheet, row in op.rows if sheet == kind})
        for item in plan.unchanged:
            userids.update({row: item.target for sheet, row in item.rows if sheet == kind})
        part.userids = userids
        fields = part.table.fields
        part.userid_index = fields.index("userid") if "userid" in fields else None


def _earlier(prepared: ImportPlan, key: str) -> str | None:
    """The outcome an unfinished earlier run reached (or may have reached) for this key."""
    record = prepared.prior.get(key)
    if record is None or record.state == "planned" or record.outcome in (FAILED, SKIPPED):
        return None
    return record.outcome or OUTCOME.get(record.kind)


def _account(prepared: ImportPlan, results: dict[str, OpResult], interrupted: bool) -> ImportResult:
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
                extra.append(({}, RowResult(result.outcome, result.errcode,
                                            Text(f"department {op.target}: {result.message}",
                                                 f"部门 {op.target}：{result.message.zh}"))))
                if result.errcode not in KEPT_DEPARTMENT:
                    count(result.outcome)  # not a department kept on purpose: the run did not do what it planned
            continue
        if not op.rows:
            if result is None:
                continue
            word = result.outcome
            extra.append((_member_cells(prepared, op.target),
                          RowResult(word, result.errcode, _extra_message(op, result))))
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
        finished = _earlier(prepared, key)
        if key in planned or finished is None or record.rows:
            continue
        if record.kind == "department_create":
            count("departments_created")
        elif record.kind in ("member_delete", "member_disable"):
            extra.append((_member_cells(prepared, record.target or ""),
                          RowResult(finished, None, _not_in_the_sheet(record.target or ""))))
            count(finished)
    for ref, row in rows.items():
        if ref[0] == DEPARTMENTS:
            if row.result in ("created", "updated"):
                count("departments_" + row.result)
            elif row.result in (FAILED, "invalid", SKIPPED):
                count(row.result)
            continue
        count(row.result)
    targets = {ref: op.target for op in plan.operations for ref in op.rows}
    targets.update({ref: item.target for item in plan.unchanged for ref in item.rows})
    targets.update(plan.skipped_targets)
    return ImportResult("", counts, rows, extra, None, None, interrupted, targets=targets)


def _member_cells(prepared: ImportPlan, userid: str) -> dict[str, str]:
    """Cells for an extra result row: the userid (and name) under the sheet's own headers."""
    records = prepared.records
    member = prepared.directory.members.get(userid.lower(), {}) if prepared.directory is not None else {}
    if records is None or MEMBERS not in records.parts:
        return {}
    headers = records.parts[MEMBERS].headers
    columns = records.columns
    cells: dict[str, str] = {}
    for name, value in (("userid", userid), ("name", member.get("name") or "")):
        header = columns.get(name)
        if header in headers:
            cells[header] = str(value)
    return cells


def _extra_message(op: Operation, result: OpResult) -> Text:
    if result.outcome in ("deleted", "disabled"):
        return _not_in_the_sheet(op.target)
    return Text(f"{op.target}: {result.message}", f"{op.target}：{result.message.zh}")


def _not_in_the_sheet(userid: str) -> Text:
    return Text(f"{userid}: not in the sheet", f"{userid}：不在表格中")


def _row_result(prepared: ImportPlan, pairs: list[tuple[Operation, OpResult | None]], interrupted: bool) -> RowResult:
    main_word = None
    for op, result in pairs:
        if result is None:
            if interrupted:
                return RowResult(SKIPPED, None, Text("not done: the run was interrupted; run the same command "
                                                     "again to finish", "未完成：导入被中断，重新运行同一命令即可继续"))
            return RowResult(SKIPPED, None, Text("not done", "未完成"))
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

def save_plan(prepared: ImportPlan, path: str | Path, *, overwrite: bool = False) -> Path:
    """Write the plan as JSON with its keyed check (bulkdir.planfile): the operations in order, each with
    what its target looked like when planned. Never over the input sheet; over another file only with
    `overwrite`. The file is readable by its owner only.

    Example:
        >>> save_plan(prepare_import("staff.xlsx", client, ImportOptions()), "plan.json")
        PosixPath('plan.json')
        >>> run_import(prepare_apply("plan.json", client, ImportOptions())).summary()["created"]
        40
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


def prepare_apply(path: str | Path, client: WeComClient, options: ImportOptions,
                  fetch: Callable[[Any], Any] | None = None) -> ImportPlan:
    """Load a saved plan and check it against a fresh snapshot; ConflictError when the directory changed
    since in a way the plan would overwrite. A rerun after an interruption resumes (journal by plan file).

    Refused before any call (PlanRefusedError, exit 2): a plan changed after it was saved, one for another
    corp or endpoint, or one holding anything bulkdir would not have planned. Its deletes go through the
    same brake as an import's (`options.delete.allow_mass_delete` to let them past).

    Example:
        >>> prepared = prepare_apply("plan.json", client, ImportOptions())   # doctest: +SKIP
        >>> run_import(prepared).exit_status                                # doctest: +SKIP
        <ExitStatus.OK: 0>
    """

    path = Path(path)
    document, plan_hash = read_plan_document(path)
    problems = check_plan_document(document, client.settings.corp_id, client.endpoint)
    if problems:
        shown = "; ".join(problems[:5]) + (f"; and {len(problems) - 5} more" if len(problems) > 5 else "")
        raise PlanRefusedError(f"{path.name} cannot be applied: {shown}. Nothing was sent.",
                               f"{path.name} 无法执行：{shown}。未发送任何请求。")
    plan = Plan.from_json(document["plan"])
    directory = _snapshot(client, _journal(options), fetch)
    key = {"command": "apply", "plan": plan_hash, "corp_id": client.settings.corp_id,
           "endpoint": client.endpoint}
    records = None
    source = Path(document["source"]) if isinstance(document.get("source"), str) else None
    if source is not None and source.is_file() and _hash(source) == document.get("source_hash"):
        planned_with = document.get("options") or {}
        records = read_records(source, directory, planned_with.get("sheet"), options.encoding,
                               mapping=Mapping.from_json(planned_with.get("mapping")))
    journal = _journal(options)
    prepared = ImportPlan("apply", source if records is not None else None, plan_hash, plan, records, directory,
                          journal, key, client, options)
    _consult_journal(prepared)
    if not prepared.resuming:
        applied = prepared.journal.find_finished("apply", plan_hash, key)
        if applied is not None:
            failed = applied.counts.get("failed", 0)
            raise AlreadyAppliedError(
                f"{path.name} was already applied (run {applied.id}, finished {applied.finished_at}"
                + (f", {failed} row(s) failed" if failed else "") + "): nothing was sent again. To bring the "
                "directory in line with the sheet once more, plan again with `bulkdir import`.",
                f"{path.name} 已执行过（运行 {applied.id}），未重复执行；如需再次同步，请重新运行 bulkdir import。")
    for op in plan.operations:
        record = prepared.prior.get(op.key)
        if record is not None and record.state != "planned" and shows_done(op, directory):
            # an interrupted attempt of this apply did it, and the directory shows it: not sent again
            word = record.outcome if record.outcome not in (FAILED, SKIPPED, None) else op.outcome
            prepared.done[op.key] = OpResult(op.key, word)
        elif op.kind in ("member_delete", "member_disable") and directory.member(op.target) is None:
            prepared.done[op.key] = OpResult(op.key, SKIPPED, None, Text(f"{op.target} is not in the directory",
                                                                         f"{op.target} 不在通讯录中"))
    _apply_brake(plan, directory, options, _recent(journal, key), set(prepared.done))
    conflicts = plan_conflicts(plan, directory, skip=set(prepared.prior_started()))
    if conflicts:
        shown = "; ".join(conflicts[:5]) + (f"; and {len(conflicts) - 5} more" if len(conflicts) > 5 else "")
        raise ConflictError(f"the directory changed since {path.name} was planned: {shown}. "
                            "Plan again with `bulkdir import`.",
                            f"通讯录在 {path.name} 生成之后已有变化（{shown}），请用 bulkdir import 重新生成计划。")
    return prepared


def _apply_brake(plan: Plan, directory: Directory, options: ImportOptions, recent: RecentRemovals,
                 done: set[str]) -> None:
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


def plan_conflicts(plan: Plan, directory: Directory, skip: set[str] | None = None) -> list[str]:
    """What changed since the plan was made that its operations would overwrite or trip over.

    >>> plan_conflicts(plan, fetch_directory(client))            # doctest: +SKIP
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
            taken = directory.departments.get(int(op.body.get("id") or 0))
            if taken is not None or _id_of(directory, op.target) is not None:
                conflicts.append(f"department {op.target} (id {op.body.get('id')}) now exists")
        elif op.kind == "department_update":
            department = directory.departments.get(int(op.body.get("id") or 0))
            if department is None:
                conflicts.append(f"department {op.target} no longer exists")
                continue
            conflicts += [f"department {op.target}: {name} changed since the plan was made"
                          for name in _changed_since(op, lambda name: getattr(department, name, None))]
    return conflicts


def _changed_since(op: Operation, have: Callable[[str], Any]) -> list[str]:
    """The fields the plan saw that now hold something else, neither what it saw nor what it would write."""
    return [name for name, was in ((op.before or {}).get("fields") or {}).items()
            if not same_value(name, was, have(name)) and not same_value(name, op.body.get(name), have(name))]


def _id_of(directory: Directory, target: str) -> int | None:
    path = tuple(target.split("/")) if target != "/" else ()
    return directory.id_of(path)


# ---------------------------------------------------------------------------------------------
# `bulkdir delete FILE`


_LEAVER_FIELDS = ("userid", "name", "mobile", "email", "biz_mail")


def read_leavers(path: str | Path, sheet: str | None = None, encoding: str | None = None,
                 mapping: Mapping | None = None) -> tuple[Any, list[Member], dict[int, Text]]:
    """The rows of a leavers sheet: who each names, by userid or by mobile and email (with the name, which
    must agree); a Table, one Member per row (only those fields), and the rows whose cells do not parse.
    Other columns (离职日期, 原因, ...) are read silently: they are the HR system's, not bulkdir's.

    >>> table, rows, bad = read_leavers("leavers.csv")
    >>> [m.values["userid"] for m in rows], bad
    (['wangqiang', 'wangyuhan', 'guojie'], {})
    """
    from bulkdir.parsers import CellProblem
    from bulkdir.readers import HeaderMap, _cell_problem
    from bulkdir.schema import MEMBER_HEADERS
    from bulkdir.sheets import find_header_row, normalise_header, open_workbook
    from bulkdir.validation import Table

    mapping = mapping or Mapping()
    book = open_workbook(path, encoding)
    raw = book.read(sheet)
    known = {header for header, column in MEMBER_HEADERS.items() if column.key in _LEAVER_FIELDS} | mapping.headers()
    header_index = find_header_row(raw.rows, known)
    if header_index is None:  # a sheet of one column: its header alone
        header_index = next((i for i, row in enumerate(raw.rows[:20])
                             if any(cell and normalise_header(cell) in known for cell in row)), None)
    if header_index is None:
        raise SheetError(f"{Path(path).name} has no userid (帐号), mobile (手机) or email (邮箱) column in its first "
                         "20 rows", f"{Path(path).name} 的前 20 行中没有“帐号”“手机”或“邮箱”列")
    if mapping:
        mapping.check_headers([raw.rows[header_index]], Path(path).name)
    headers = [h.strip() for h in raw.rows[header_index]]
    columns = HeaderMap(headers, MEMBER_HEADERS, header_index + 1, mapping=mapping)
    used = [(i, c, h) for i, c, h in columns.plan if c.key in _LEAVER_FIELDS]
    if not any(c.key != "name" for _, c, _ in used):
        raise SheetError(f"{Path(path).name} has no userid (帐号), mobile (手机) or email (邮箱) column: a name alone "
                         "is never enough to delete a member",
                         f"{Path(path).name} 没有“帐号”“手机”或“邮箱”列：仅凭姓名不会删除任何成员")
    data, numbers, rows = [], [], []
    bad: dict[int, Text] = {}
    for index in range(header_index + 1, len(raw.rows)):
        cells = raw.rows[index]
        if not any(c.strip() for c in cells):
            continue
        number = index + 1
        data.append(cells)
        numbers.append(number)
        member = Member(number)
        for position, column, header in used:
            text = cells[position].strip() if position < len(cells) else ""
            if not text:
                continue
            try:
                member.values[column.field] = column.parse(text) if column.parse else text
            except CellProblem as error:
                problem = _cell_problem(error, number, column, header, text)
                bad[number] = Text(f"{bad[number]} {problem.message}" if number in bad else problem.message,
                                   f"{bad[number].zh} {problem.message.zh}" if number in bad else problem.message.zh)
        if number not in bad and not any(member.values.get(n) for n in _LEAVER_FIELDS if n != "name"):
            bad[number] = Text("names no userid, mobile or email: a name alone is never enough to delete a member",
                               "没有帐号、手机或邮箱：仅凭姓名不会删除成员")
        rows.append(member)
    fields: list[str | None] = [None] * len(headers)
    for position, column, _ in used:
        fields[position] = column.field
    table = Table("members", raw.name, header_index + 1, headers, fields, data, numbers, raw.rows[:header_index])
    return table, rows, bad


def prepare_delete(path: str | Path, client: WeComClient, options: ImportOptions,
                   fetch: Callable[[Any], Any] | None = None) -> ImportPlan:
    """Plan `bulkdir delete FILE`: every member the sheet names (by userid, or by mobile or email) is deleted
    (or disabled); rows that match nobody, or whose name is not the member's, are skipped with the reason.

    Example:
        >>> _ = Path("leavers.csv").write_text("帐号\\nzhangsan\\n", encoding="utf-8")
        >>> prepare_delete("leavers.csv", client, ImportOptions()).plan.counts()
        {'member_delete': 1}
    """

    path = Path(path)
    source_hash = _hash(path)
    table, leavers, bad = read_leavers(path, options.sheet, options.encoding, options.mapping)
    journal = _journal(options)
    directory = _snapshot(client, journal, fetch)
    key = options.plan_key("delete", client)
    named = [m for m in leavers if m.row not in bad]
    unfinished = journal.find_unfinished("delete", source_hash, key)
    outcome = _identify(named, directory, client, journal, deleting=True,
                        settled=_settled(journal, unfinished, DELETES))
    _check_named_userids(named, directory, outcome)
    left_out = {**outcome.problems, **outcome.unmatched}
    pairs = [(m.row, str(m.values.get("userid") or "")) for m in named if m.row not in left_out]
    plan = build_delete_plan(pairs, directory, options.delete.allow_mass_delete, options.delete.disable_instead,
                             _recent(journal, key))
    for row, reason in bad.items():
        plan.invalid[(DELETES, row)] = reason
    for row, reason in left_out.items():
        plan.skipped[(DELETES, row)] = Text(f"not deleted: {reason}", f"未删除：{reason.zh}")
    plan.identities = {(DELETES, row): (item.userid, item.how, item.lookup)
                       for row, item in outcome.found.items() if row not in left_out}
    plan.notes = outcome.notes + plan.notes
    columns = {name: table.headers[table.fields.index(name)] for name in _LEAVER_FIELDS if name in table.fields}
    records = SheetRecords([], [], dict(plan.invalid), {DELETES: SheetResults(table)}, [], columns=columns)
    prepared = ImportPlan("delete", path, source_hash, plan, records, directory, journal, key, client, options)
    _consult_journal(prepared)
    return prepared


def _check_named_userids(rows: list[Member], directory: Directory, outcome: Identification) -> None:
    """A leaver named by userid and by a name that is not that member's: not deleted (the row may be wrong)."""
    for member in rows:
        userid, name = member.values.get("userid"), member.values.get("name")
        if not userid or not name or member.row in outcome.found:
            continue
        have = (directory.members.get(str(userid).lower()) or {}).get("name")
        if have and "".join(str(have).split()).casefold() != "".join(str(name).split()).casefold():
            outcome.problems[member.row] = Text(f"{userid} is {have}, not {name}; correct the row",
                                                f"{userid} 是 {have}，不是 {name}；请改正该行")
