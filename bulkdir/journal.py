"""The journal: a SQLite record of every import, its plan, and each operation's outcome as it lands.

It is what makes a run resumable. An operation is marked `started` (committed) before its call goes
out and `done` with its outcome when the answer comes back, so after a crash, even kill -9, the
journal tells which operations finished, which never started, and which may or may not have landed
(started, not done: the importer reads those back before writing anything).

A run is found again by the content hash of its sheet and the options that shape the plan, so a
rerun of the same command on the same file continues the same run.

    runs(id, command, source, source_hash, options_key, options, status, started_at, finished_at, counts, report,
         corp_id, endpoint, host, pid, snapshot)
    operations(run_id, key, kind, target, body, rows, state, outcome, errcode, message, updated_at)

A run is only ever resumed against the same corp and the same endpoint (base URL; the sandbox is its
own), since the options key holds both. `snapshot` says how the run's snapshot was read. The journal
also answers how many members (and departments) were deleted on a corp in the last 24 hours, so
that the delete brake cannot be dodged by splitting a mass delete into several runs.
"""

from __future__ import annotations

import datetime as dt
import errno
import hashlib
import json
import os
import secrets
import socket
import sqlite3
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Mapping

from bulkdir.errors import Text

SCHEMA_TABLES = """
CREATE TABLE IF NOT EXISTS runs (
    id TEXT PRIMARY KEY,
    command TEXT NOT NULL,
    source TEXT,
    source_hash TEXT,
    options_key TEXT,
    options TEXT,
    status TEXT NOT NULL,          -- running | finished | interrupted
    started_at TEXT NOT NULL,
    finished_at TEXT,
    counts TEXT,
    report TEXT,
    corp_id TEXT,
    endpoint TEXT,
    host TEXT,
    pid INTEGER,
    snapshot TEXT
);
CREATE TABLE IF NOT EXISTS operations (
    run_id TEXT NOT NULL REFERENCES runs(id),
    key TEXT NOT NULL,
    kind TEXT NOT NULL,
    target TEXT,
    body TEXT,
    rows TEXT,
    state TEXT NOT NULL,           -- planned | started | done
    outcome TEXT,                  -- created | updated | deleted | disabled | failed | skipped
    errcode INTEGER,
    message TEXT,
    updated_at TEXT,
    message_zh TEXT,               -- the message in Chinese
    PRIMARY KEY (run_id, key)
);
CREATE TABLE IF NOT EXISTS failed_lookups (  -- user/getuserid and get_userid_by_email calls that found nobody
    corp_id TEXT,
    endpoint TEXT,
    api TEXT NOT NULL,
    at TEXT NOT NULL,
    failed INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS identities (  -- a run's rows without a userid: the member each is, or its made userid
    run_id TEXT NOT NULL REFERENCES runs(id),
    sheet TEXT NOT NULL,
    row INTEGER NOT NULL,
    userid TEXT NOT NULL,
    how TEXT NOT NULL,             -- mobile | email | biz_mail | userid | made
    lookup INTEGER NOT NULL,       -- 1: found through a lookup call
    PRIMARY KEY (run_id, sheet, row)
);
CREATE TABLE IF NOT EXISTS jobs (  -- batch/syncuser jobs (wecom-api.md A9): followed to their end, never sent twice
    run_id TEXT NOT NULL REFERENCES runs(id),
    jobid TEXT NOT NULL,
    keys TEXT NOT NULL,            -- the operations of its file, in the file's order (JSON)
    corp_id TEXT,
    endpoint TEXT,
    state TEXT NOT NULL,           -- submitted | done
    submitted_at TEXT NOT NULL,
    PRIMARY KEY (run_id, jobid)
);
"""
SCHEMA_INDEXES = """
CREATE INDEX IF NOT EXISTS runs_by_source ON runs (source_hash, options_key, status);
CREATE INDEX IF NOT EXISTS runs_by_corp ON runs (corp_id, started_at);
"""
# Columns added since the first journals; an older journal gets them on open.
_COLUMNS_ADDED = {"runs": {"corp_id": "TEXT", "endpoint": "TEXT", "host": "TEXT", "pid": "INTEGER", "snapshot": "TEXT",
                          "notices": "TEXT"},
                  "operations": {"message_zh": "TEXT"}}
DELETE_WINDOW_HOURS = 24


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def file_hash(path: str | Path, limit: int | None = None) -> str:
    """The SHA-256 of a file's bytes: the same sheet saved again unchanged resumes the same run. With
    `limit`, a file longer than that (or still growing past it) raises OSError(EFBIG) instead.

    >>> _ = Path("note.txt").write_text("x")
    >>> file_hash("note.txt")[:12]
    '2d711642b726'
    """
    digest = hashlib.sha256()
    read = 0
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            read += len(block)
            if limit is not None and read > limit:
                raise OSError(errno.EFBIG, f"larger than {limit // (1 << 20)} MB")
            digest.update(block)
    return digest.hexdigest()


def options_key(options: Mapping[str, Any]) -> str:
    """A short hash of the options that shape a plan (not of workers, rate or report paths)."""
    return hashlib.sha256(json.dumps(options, sort_keys=True, default=str).encode()).hexdigest()[:16]


def default_journal_path() -> Path:
    """`journal.sqlite3` in the user's data folder (under $BULKDIR_HOME when set)."""
    from bulkdir.config import user_dirs

    return Path(user_dirs().data) / "journal.sqlite3"


@dataclass
class RunRecord:
    id: str
    command: str
    source: str | None
    status: str  # running | finished | interrupted (a run whose process died is interrupted: resumable)
    started_at: str
    finished_at: str | None
    counts: dict[str, int]
    report: str | None
    corp_id: str | None = None
    snapshot: str | None = None
    options: dict[str, Any] = field(default_factory=dict)  # the plan-shaping options, as the run was keyed
    notices: list[str] = field(default_factory=list)  # notifications of the run that could not be sent


def _run_record(row: tuple[Any, ...]) -> RunRecord:
    status, host, pid = row[3], row[8], row[9]
    if status == "running" and host == socket.gethostname() and not process_alive(pid):
        status = "interrupted"  # killed (kill -9, a crash, a power cut) before it could say so
    return RunRecord(row[0], row[1], row[2], status, row[4], row[5], json.loads(row[6]) if row[6] else {}, row[7],
                     row[10], row[11], json.loads(row[12]) if row[12] else {}, json.loads(row[13]) if row[13] else [])


def _operation_record(r: tuple[Any, ...]) -> OperationRecord:
    return OperationRecord(r[0], r[1], r[2], json.loads(r[3]) if r[3] else {}, r[4], r[5], r[6], Text(r[7] or "", r[9]),
                           [tuple(x) for x in json.loads(r[8] or "[]")])


def process_alive(pid: int | None) -> bool:
    """Whether a process of this machine with this pid is running (a journal's `running` run is alive)."""
    if not pid:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # it exists, under another user
    return True


@dataclass
class OperationRecord:
    key: str
    kind: str
    target: str | None
    body: dict[str, Any]
    state: str
    outcome: str | None
    errcode: int | None
    message: Text
    rows: list[tuple[str, int]]


class Journal:
    """One journal file, shared by the worker threads of a run.

    Example:
        >>> journal = Journal(default_journal_path())
        >>> run = journal.start_run("import", "staff.xlsx", file_hash("staff.xlsx"), {"corp_id": "ww1"})
        >>> journal.mark_started(run, ["member:zhangsan"]); journal.mark_done(run, "member:zhangsan", "created")
        >>> journal.runs()[0].status
        'running'
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if not self.path.exists():
            # it holds members' personal data (the bodies sent): readable by its owner only
            os.close(os.open(self.path, os.O_WRONLY | os.O_CREAT, 0o600))
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(self.path), check_same_thread=False, isolation_level=None, timeout=30)
        # WAL + NORMAL: a commit survives the process being killed (not a power cut), and is cheap.
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA_TABLES)
        self._add_missing_columns()
        self._db.executescript(SCHEMA_INDEXES)

    def _add_missing_columns(self) -> None:
        for table, columns in _COLUMNS_ADDED.items():
            have = {row[1] for row in self._db.execute(f"PRAGMA table_info({table})")}
            for name, kind in columns.items():
                if name not in have:
                    self._db.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def _write(self, sql: str, params: Iterable[Any] = ()) -> None:
        with self._lock:
            self._db.execute(sql, tuple(params))

    def _write_many(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                self._db.executemany(sql, rows)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    # ---- runs

    def find_unfinished(self, command: str, source_hash: str, options: Mapping[str, Any]) -> str | None:
        """The id of the latest run of this command on this file with these options that did not finish."""
        record = self._latest(command, source_hash, options, "status != 'finished'")
        return record.id if record else None

    def find_finished(self, command: str, source_hash: str, options: Mapping[str, Any]) -> RunRecord | None:
        """The latest run of this command on this file with these options that finished (`apply` refuses a rerun)."""
        return self._latest(command, source_hash, options, "status = 'finished'")

    def _latest(self, command: str, source_hash: str, options: Mapping[str, Any], status: str) -> RunRecord | None:
        with self._lock:
            row = self._db.execute(
                f"SELECT {self._RUN_COLUMNS} FROM runs WHERE command = ? AND source_hash = ? AND options_key = ? "
                f"AND {status} ORDER BY started_at DESC, rowid DESC LIMIT 1",
                (command, source_hash, options_key(options))).fetchone()
        return _run_record(row) if row else None

    def start_run(self, command: str, source: str | None, source_hash: str | None,
                  options: Mapping[str, Any], snapshot: str | None = None) -> str:
        """Record a new run and return its id (`20261122-031500-3fa2`). The corp id and the endpoint are
        taken from `options` (the options key holds them); `snapshot` says how the snapshot was read."""
        run_id = dt.datetime.now().strftime("%Y%m%d-%H%M%S-") + secrets.token_hex(2)
        self._write("INSERT INTO runs (id, command, source, source_hash, options_key, options, status, started_at, "
                    "corp_id, endpoint, host, pid, snapshot) VALUES (?, ?, ?, ?, ?, ?, 'running', ?, ?, ?, ?, ?, ?)",
                    (run_id, command, source, source_hash, options_key(options),
                     json.dumps(dict(options), default=str, ensure_ascii=False), _now(), options.get("corp_id"),
                     options.get("endpoint"), socket.gethostname(), os.getpid(), snapshot))
        return run_id

    def reopen_run(self, run_id: str, snapshot: str | None = None) -> None:
        """A resumed run is running again, in this process, from a new snapshot."""
        self._write("UPDATE runs SET status = 'running', finished_at = NULL, host = ?, pid = ?, "
                    "snapshot = COALESCE(?, snapshot) WHERE id = ?", (socket.gethostname(), os.getpid(), snapshot,
                                                                       run_id))

    def recent_removals(self, corp_id: str | None, hours: float = DELETE_WINDOW_HOURS) -> dict[str, int]:
        """How many operations of each removing kind (member_delete, member_disable, department_delete)
        ended `deleted` or `disabled` on this corp in the last `hours`, by any run in this journal."""
        since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            rows = self._db.execute(
                "SELECT kind, COUNT(*) FROM operations WHERE run_id IN (SELECT id FROM runs WHERE corp_id IS ? "
                "AND (started_at >= ? OR finished_at IS NULL OR finished_at >= ?)) AND state = 'done' "
                "AND outcome IN ('deleted', 'disabled') AND updated_at >= ? GROUP BY kind",
                (corp_id, since, since, since)).fetchall()
        return {kind: count for kind, count in rows}

    def failed_lookups(self, corp_id: str | None, endpoint: str | None,
                       hours: float = DELETE_WINDOW_HOURS) -> dict[str, int]:
        """How many lookups of each API found nobody on this corp and endpoint in the last `hours` (the
        platform blocks a lookup API for a day once they pass 20% of the members, wecom-api.md A8)."""
        since = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(hours=hours)).strftime("%Y-%m-%dT%H:%M:%SZ")
        with self._lock:
            rows = self._db.execute("SELECT api, SUM(failed) FROM failed_lookups WHERE corp_id IS ? AND endpoint IS ? "
                                    "AND at >= ? GROUP BY api", (corp_id, endpoint, since)).fetchall()
        return {api: int(count) for api, count in rows}

    def note_failed_lookups(self, corp_id: str | None, endpoint: str | None, failed: Mapping[str, int]) -> None:
        """Add lookups that found nobody, so that later runs today know what is left of the day's budget."""
        rows = [(corp_id, endpoint, api, _now(), count) for api, count in failed.items() if count]
        if rows:
            self._write_many("INSERT INTO failed_lookups VALUES (?, ?, ?, ?, ?)", rows)

    def note_notices(self, run_id: str, notices: list[str]) -> None:
        """Notifications of the run that could not be sent (they never change its outcome)."""
        self._write("UPDATE runs SET notices = ? WHERE id = ?", (json.dumps(notices, ensure_ascii=False), run_id))

    def move_source(self, run_id: str, source: str) -> None:
        """The run's sheet is kept at another path now (the web page keeps an interrupted run's upload)."""
        self._write("UPDATE runs SET source = ? WHERE id = ?", (source, run_id))

    def finish_run(self, run_id: str, status: str, counts: Mapping[str, int], report: str | None = None) -> None:
        """Close a run: `finished` (every row has its final outcome) or `interrupted` (resume it by running again)."""
        self._write("UPDATE runs SET status = ?, finished_at = ?, counts = ?, report = ? WHERE id = ?",
                    (status, _now(), json.dumps(dict(counts)), report, run_id))

    def runs(self, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._RUN_COLUMNS} FROM runs ORDER BY started_at DESC, rowid DESC "
                                    "LIMIT ?", (limit,)).fetchall()
        return [_run_record(r) for r in rows]

    _RUN_COLUMNS = ("id, command, source, status, started_at, finished_at, counts, report, host, pid, corp_id, "
                    "snapshot, options, notices")

    # ---- rows without a userid

    def record_identities(self, run_id: str, identities: Mapping[tuple[str, int], tuple[str, str, bool]]) -> None:
        """Keep who each row without a userid is ((sheet, row) -> (userid, how, by lookup)), so that a resumed
        run settles the rows as this one did: its made userids again, and no lookups spent a second time."""
        rows = [(run_id, sheet, row, userid, how, int(lookup))
                for (sheet, row), (userid, how, lookup) in identities.items()]
        if rows:
            self._write_many("INSERT OR REPLACE INTO identities VALUES (?, ?, ?, ?, ?, ?)", rows)

    def identities(self, run_id: str) -> dict[tuple[str, int], tuple[str, str, bool]]:
        """The rows without a userid of a run, as `record_identities` kept them."""
        with self._lock:
            rows = self._db.execute("SELECT sheet, row, userid, how, lookup FROM identities WHERE run_id = ?",
                                    (run_id,)).fetchall()
        return {(sheet, int(row)): (userid, how, bool(lookup)) for sheet, row, userid, how, lookup in rows}

    # ---- operations

    def record_plan(self, run_id: str, operations: Iterable[Any]) -> None:
        """Store the operations about to run as `planned`. A resumed run plans against a fresh snapshot, so an
        operation it plans again is needed again, whatever an earlier attempt recorded: it starts over as
        `planned`. Operations of the run that are not given keep what they had (the report reads them)."""
        rows = [(run_id, op.key, op.kind, op.target, json.dumps(op.body, ensure_ascii=False, sort_keys=True),
                 json.dumps([list(r) for r in op.rows]), _now()) for op in operations]
        self._write_many(
            "INSERT INTO operations (run_id, key, kind, target, body, rows, state, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, 'planned', ?) "
            "ON CONFLICT (run_id, key) DO UPDATE SET kind = excluded.kind, body = excluded.body, "
            "rows = excluded.rows, target = excluded.target, state = 'planned', outcome = NULL, errcode = NULL, "
            "message = NULL, message_zh = NULL, updated_at = excluded.updated_at", rows)

    def operations(self, run_id: str) -> dict[str, OperationRecord]:
        """Every operation of a run by key, as the journal last saw it."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._OPERATION_COLUMNS} FROM operations WHERE run_id = ?",
                                    (run_id,)).fetchall()
        return {r[0]: _operation_record(r) for r in rows}

    _OPERATION_COLUMNS = "key, kind, target, body, state, outcome, errcode, message, rows, message_zh"

    def failures(self, run_id: str, limit: int = 50) -> list[OperationRecord]:
        """The operations of a run that have failed so far, latest first (a page shows them as they happen)."""
        with self._lock:
            rows = self._db.execute(f"SELECT {self._OPERATION_COLUMNS} FROM operations WHERE run_id = ? AND "
                                    "state = 'done' AND outcome = 'failed' ORDER BY updated_at DESC, rowid DESC "
                                    "LIMIT ?", (run_id, limit)).fetchall()
        return [_operation_record(r) for r in rows]

    # ---- batch jobs

    def note_job(self, run_id: str, jobid: str, keys: list[str], corp_id: str, endpoint: str) -> None:
        """A batch job was submitted for these operations: committed as soon as its jobid is known, so that a
        run killed while it runs follows it, and never submits its file again."""
        self._write("INSERT OR REPLACE INTO jobs (run_id, jobid, keys, corp_id, endpoint, state, submitted_at) "
                    "VALUES (?, ?, ?, ?, ?, 'submitted', ?)", (run_id, jobid, json.dumps(keys), corp_id, endpoint,
                                                                _now()))

    def job_done(self, run_id: str, jobid: str) -> None:
        """The job's results are recorded on its operations."""
        self._write("UPDATE jobs SET state = 'done' WHERE run_id = ? AND jobid = ?", (run_id, jobid))

    def pending_jobs(self, corp_id: str, endpoint: str) -> list[tuple[str, str, list[str]]]:
        """The jobs of this corp and endpoint whose results were not recorded: (run id, jobid, operation keys),
        oldest first."""
        with self._lock:
            rows = self._db.execute("SELECT run_id, jobid, keys FROM jobs WHERE state = 'submitted' AND corp_id = ? "
                                    "AND endpoint = ? ORDER BY submitted_at, rowid", (corp_id, endpoint)).fetchall()
        return [(row[0], row[1], json.loads(row[2])) for row in rows]

    def in_pending_jobs(self, run_id: str) -> set[str]:
        """The operations of the run's batch jobs whose results are not recorded yet (the jobs still run)."""
        with self._lock:
            rows = self._db.execute("SELECT keys FROM jobs WHERE run_id = ? AND state = 'submitted'",
                                    (run_id,)).fetchall()
        return {key for row in rows for key in json.loads(row[0])}

    def mark_started(self, run_id: str, keys: list[str]) -> None:
        """Committed before the call is sent: after a crash, a `started` operation may have landed."""
        if len(keys) == 1:  # one statement commits on its own: no BEGIN and COMMIT of a transaction
            self._write("UPDATE operations SET state = 'started', updated_at = ? WHERE run_id = ? AND key = ?",
                        (_now(), run_id, keys[0]))
            return
        self._write_many("UPDATE operations SET state = 'started', updated_at = ? WHERE run_id = ? AND key = ?",
                         [(_now(), run_id, key) for key in keys])

    def mark_not_sent(self, run_id: str, key: str) -> None:
        """A started operation was stopped before its call went out: planned again, nothing to read back."""
        self._write("UPDATE operations SET state = 'planned', updated_at = ? WHERE run_id = ? AND key = ? "
                    "AND state = 'started'", (_now(), run_id, key))

    def mark_done(self, run_id: str, key: str, outcome: str, errcode: int | None = None,
                  message: str | None = None) -> None:
        """The answer came back (or the operation was skipped): record its outcome (a Text message keeps its
        Chinese)."""
        text = Text(message or "")
        self._write("UPDATE operations SET state = 'done', outcome = ?, errcode = ?, message = ?, message_zh = ?, "
                    "updated_at = ? WHERE run_id = ? AND key = ?",
                    (outcome, errcode, text.en or None, text.zh or None, _now(), run_id, key))

    def progress(self, run_id: str) -> dict[str, int]:
        """Operations per state, e.g. {"planned": 10, "started": 2, "done": 88} (tests watch this)."""
        with self._lock:
            rows = self._db.execute("SELECT state, COUNT(*) FROM operations WHERE run_id = ? GROUP BY state",
                                    (run_id,)).fetchall()
        return {state: count for state, count in rows}
