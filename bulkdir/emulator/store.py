"""Where the emulated directory lives: in memory (the default) or in a SQLite file (`--db`).

The models keep the whole directory in memory and call the store inside `transaction()` for every
write, so with SQLite a write is committed (synchronous=FULL) before the call is answered, and an
emulator restarted on the same file serves the same directory.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from bulkdir.errors import ConfigError


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
        """)

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

    def clear(self) -> None:
        self._db.execute("DELETE FROM departments")
        self._db.execute("DELETE FROM members")
        self._db.execute("DELETE FROM tokens")

    def close(self) -> None:
        with self._lock:
            self._db.close()
