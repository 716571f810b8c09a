"""Where the emulated directory lives: in memory (the default) or in a SQLite file (`--db`).

The models keep the whole directory in memory and call the store inside `transaction()` for every
write, so with SQLite a write is committed (synchronous=FULL) before the call is answered, and an
emulator restarted on the same file serves the same directory. The batch import's uploaded media and
jobs are kept too: a job's rows once, at submit, and each row's result in the same transaction as the
member it wrote, so a restarted emulator goes on from the first row without a result.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NamedTuple

from bulkdir.errors import ConfigError


class StoredMedia(NamedTuple):
    media_id: str
    type: str
    created_at: float  # time.time()
    data: bytes
    filename: str = ""  # as the upload named it (an app's file message shows it)


class StoredJob(NamedTuple):
    jobid: str
    rows: list[dict]  # the file's rows, each {column: cell} of its non-blank cells
    results: list[dict]  # one per row run so far, in file order
    purged: bool  # its rows and results were dropped (only the latest jobs' results are kept)


class Store:
    """The default store: keeps nothing, so the state lives only in the models' memory."""

    def load(self) -> tuple[list[dict], list[dict], list[tuple[str, str, float]]]:
        """Departments, members and tokens saved before (none here)."""
        return [], [], []

    @contextmanager
    def transaction(self) -> Iterator[None]:
        yield

    def put_department(self, department: dict) -> None: ...
    def drop_department(self, department_id: int) -> None: ...
    def put_member(self, member: dict) -> None: ...
    def drop_member(self, userid: str) -> None: ...
    def put_token(self, value: str, caller: str, expires_at: float) -> None: ...

    def load_batch(self) -> tuple[list[StoredMedia], list[StoredJob]]:
        """Media and batch jobs saved before (none here), jobs in submission order."""
        return [], []

    def put_media(self, media: StoredMedia) -> None: ...
    def drop_media(self, media_id: str) -> None: ...
    def put_job(self, jobid: str, rows: list[dict]) -> None: ...
    def put_job_result(self, jobid: str, index: int, result: dict) -> None: ...
    def purge_job(self, jobid: str) -> None: ...
    def clear(self) -> None: ...
    def close(self) -> None: ...



class SQLiteStore(Store):
    """The directory in one SQLite file; each object is one row holding its JSON.

    Example:
        >>> store = SQLiteStore(":memory:")
        >>> with store.transaction():
        ...     store.put_department({"id": 1, "name": "示例企业", "parentid": 0})
        >>> store.load()[0][0]["name"]
        '示例企业'
    """

    def __init__(self, path: str | Path):
        self.path = str(path)
        self._lock = threading.RLock()  # the models hold their own lock; this guards the connection
        try:
            if self.path != ":memory:" and not os.path.exists(self.path):
                # It holds the tokens it issued: readable by its owner only (SQLite gives -wal the same mode).
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self._db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
            self._create()
        except (sqlite3.Error, OSError) as error:
            raise ConfigError(f"cannot use {self.path} as the emulator's database: {error}") from None
        self._depth = 0

    def _create(self) -> None:
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")
        self._db.executescript("""
            CREATE TABLE IF NOT EXISTS departments (id INTEGER PRIMARY KEY, data TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS members (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, userid_key TEXT NOT NULL UNIQUE, data TEXT NOT NULL);
            CREATE TABLE IF NOT EXISTS tokens (token TEXT PRIMARY KEY, caller TEXT NOT NULL, expires_at REAL NOT NULL);
            CREATE TABLE IF NOT EXISTS media (
                media_id TEXT PRIMARY KEY, type TEXT NOT NULL, created_at REAL NOT NULL, data BLOB NOT NULL);
            CREATE TABLE IF NOT EXISTS jobs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, jobid TEXT NOT NULL UNIQUE, rows TEXT NOT NULL,
                purged INTEGER NOT NULL DEFAULT 0);
            CREATE TABLE IF NOT EXISTS job_results (
                jobid TEXT NOT NULL, row INTEGER NOT NULL, data TEXT NOT NULL, PRIMARY KEY (jobid, row));
        """)
        # A file made before media kept their file names gets the column.
        if "filename" not in {row[1] for row in self._db.execute("PRAGMA table_info(media)")}:
            self._db.execute("ALTER TABLE media ADD COLUMN filename TEXT NOT NULL DEFAULT ''")

    def load(self) -> tuple[list[dict], list[dict], list[tuple[str, str, float]]]:
        with self._lock:
            departments = [json.loads(row[0]) for row in self._db.execute("SELECT data FROM departments ORDER BY id")]
            members = [json.loads(row[0]) for row in self._db.execute("SELECT data FROM members ORDER BY seq")]
            tokens = list(self._db.execute("SELECT token, caller, expires_at FROM tokens"))
        return departments, members, tokens

    @contextmanager
    def transaction(self) -> Iterator[None]:
        with self._lock:
            self._depth += 1
            if self._depth == 1:
                self._db.execute("BEGIN IMMEDIATE")
            try:
                yield
            except BaseException:
                self._depth -= 1
                if self._depth == 0:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def put_department(self, department: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO departments (id, data) VALUES (?, ?)",
                         (department["id"], json.dumps(department, ensure_ascii=False)))

    def drop_department(self, department_id: int) -> None:
        self._db.execute("DELETE FROM departments WHERE id = ?", (department_id,))

    def put_member(self, member: dict) -> None:
        # An upsert keeps the row's seq, so members keep their creation order across restarts.
        self._db.execute("INSERT INTO members (userid_key, data) VALUES (?, ?) "
                         "ON CONFLICT (userid_key) DO UPDATE SET data = excluded.data",
                         (member["userid"].lower(), json.dumps(member, ensure_ascii=False)))

    def drop_member(self, userid: str) -> None:
        self._db.execute("DELETE FROM members WHERE userid_key = ?", (userid.lower(),))

    def put_token(self, value: str, caller: str, expires_at: float) -> None:
        self._db.execute("INSERT OR REPLACE INTO tokens (token, caller, expires_at) VALUES (?, ?, ?)",
                         (value, caller, expires_at))

    def load_batch(self) -> tuple[list[StoredMedia], list[StoredJob]]:
        with self._lock:
            media = [StoredMedia(*row)
                     for row in self._db.execute("SELECT media_id, type, created_at, data, filename FROM media")]
            jobs = []
            for jobid, rows, purged in list(self._db.execute("SELECT jobid, rows, purged FROM jobs ORDER BY seq")):
                results = [json.loads(row[0]) for row in self._db.execute(
                    "SELECT data FROM job_results WHERE jobid = ? ORDER BY row", (jobid,))]
                jobs.append(StoredJob(jobid, json.loads(rows), results, bool(purged)))
        return media, jobs

    def put_media(self, media: StoredMedia) -> None:
        self._db.execute("INSERT OR REPLACE INTO media (media_id, type, created_at, data, filename) "
                         "VALUES (?, ?, ?, ?, ?)", tuple(media))

    def drop_media(self, media_id: str) -> None:
        self._db.execute("DELETE FROM media WHERE media_id = ?", (media_id,))

    def put_job(self, jobid: str, rows: list[dict]) -> None:
        self._db.execute("INSERT INTO jobs (jobid, rows) VALUES (?, ?)", (jobid, json.dumps(rows, ensure_ascii=False)))

    def put_job_result(self, jobid: str, index: int, result: dict) -> None:
        self._db.execute("INSERT OR REPLACE INTO job_results (jobid, row, data) VALUES (?, ?, ?)",
                         (jobid, index, json.dumps(result, ensure_ascii=False)))

    def purge_job(self, jobid: str) -> None:
        self._db.execute("UPDATE jobs SET rows = '[]', purged = 1 WHERE jobid = ?", (jobid,))
        self._db.execute("DELETE FROM job_results WHERE jobid = ?", (jobid,))

    def clear(self) -> None:
        for table in ("departments", "members", "tokens", "media", "jobs", "job_results"):
            self._db.execute(f"DELETE FROM {table}")

    def close(self) -> None:
        with self._lock:
            self._db.close()
