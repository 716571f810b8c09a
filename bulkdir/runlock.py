"""One run per corp at a time: a lock per corp in the user's data folder, held for a whole run.

Two runs on one corp at once (a cron job overlapping a person's run, two terminals) would plan against
the same snapshot and then both write: members created twice, departments given different ids. Every
command that writes takes the corp's lock before it reads the snapshot and keeps it until it ends.

    <data dir>/locks/<corp id>.lock    the lock: an OS file lock, which the OS lets go when the process
                                       ends in any way (kill -9 included), so a crash never leaves it held
    <data dir>/locks/<corp id>.json    who holds it: run id, command, host, pid and start time, written by
                                       the holder after it took the lock (a stale one is overwritten)

A run that finds the lock held waits up to `wait` seconds, then raises RunLockedError (exit 75,
EX_TEMPFAIL, the code cron wrappers retry on) naming the run that holds it.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import socket
import time
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from bulkdir.errors import RunLockedError
from bulkdir.journal import process_alive as _alive
from bulkdir.sheets import atomic_file


def locks_folder() -> Path:
    """`locks/` in the user's data folder (under $BULKDIR_HOME when set)."""
    from bulkdir.config import user_dirs

    return Path(user_dirs().data) / "locks"


def _file_stem(corp_id: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]", "_", corp_id) or "_"


class CorpLock:
    """The lock of one corp. Use as a context manager, or `acquire()` and `release()`.

    >>> with CorpLock("ww0123456789abcdef", "import").acquire(wait=0) as lock:
    ...     lock.note_run("20261202-061500-3fa2")
    """

    def __init__(self, corp_id: str, command: str, folder: str | Path | None = None, *, has_wait: bool = True):
        self.corp_id = corp_id
        self.command = command
        self.has_wait = has_wait  # whether the refusal may advise --wait: the web page has no such option
        folder = Path(folder) if folder is not None else locks_folder()
        self.path = folder / f"{_file_stem(corp_id)}.lock"
        self.info_path = folder / f"{_file_stem(corp_id)}.json"
        self._lock: FileLock | None = None
        self.info: dict[str, Any] = {}

    def acquire(self, wait: float = 0.0) -> "CorpLock":
        """Take the lock, waiting up to `wait` seconds; RunLockedError when another run keeps it."""
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock = FileLock(str(self.path), mode=0o600)
        try:
            lock.acquire(timeout=max(0.0, wait), poll_interval=0.1)
        except Timeout:
            raise self._locked_error(wait) from None
        self._lock = lock
        self.info = {"run": None, "command": self.command, "corp_id": self.corp_id, "host": socket.gethostname(),
                     "pid": os.getpid(),
                     "started_at": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")}
        self._write_info()
        return self

    def note_run(self, run_id: str) -> None:
        """Name the run holding the lock, once the journal has given it an id."""
        if self._lock is not None:
            self.info["run"] = run_id
            self._write_info()

    def release(self) -> None:
        """Let the next run go; safe to call twice."""
        if self._lock is None:
            return
        lock, self._lock = self._lock, None
        try:
            self.info_path.unlink(missing_ok=True)
        finally:
            lock.release()

    @property
    def held(self) -> bool:
        return self._lock is not None

    def holder(self) -> dict[str, Any] | None:
        """What the holder wrote about itself, when it did."""
        try:
            data = json.loads(self.info_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None

    def _current_holder(self) -> dict[str, Any]:
        """The holder's note; it writes it just after taking the lock, so a moment may pass before it is there
        (or before it replaces the note of a holder that died)."""
        deadline = time.monotonic() + 1.0
        while True:
            holder = self.holder() or {}
            fresh = holder and (holder.get("host") != socket.gethostname() or _alive(holder.get("pid")))
            if fresh or time.monotonic() > deadline:
                return holder if fresh else {}
            time.sleep(0.05)

    def _write_info(self) -> None:
        with atomic_file(self.info_path) as temporary:
            temporary.write_text(json.dumps(self.info), encoding="utf-8")

    def _locked_error(self, wait: float) -> RunLockedError:
        holder = self._current_holder()
        who = []
        if holder.get("run"):
            who.append(f"run {holder['run']}")
        if holder.get("command"):
            who.append(f"`bulkdir {holder['command']}`")
        if holder.get("host") or holder.get("pid"):
            who.append(f"on {holder.get('host', '?')} (pid {holder.get('pid', '?')})")
        if holder.get("started_at"):
            who.append(f"started {holder['started_at']}")
        named = ", ".join(who) or "another bulkdir process"
        if not self.has_wait:
            return RunLockedError(
                f"corp {self.corp_id} is being changed by another run ({named}): nothing was done. Try again "
                "when it has finished.",
                f"企业 {self.corp_id} 正被另一个运行修改（{named}），本次未做任何操作。请待其结束后重试。")
        waited = f"after waiting {wait:g} s" if wait else "and --wait is 0"
        return RunLockedError(
            f"corp {self.corp_id} is being changed by another run ({named}) {waited}: nothing was done. Try "
            "again when it has finished, or add --wait SECONDS to wait for it.",
            f"企业 {self.corp_id} 正被另一个运行修改（{named}），本次未做任何操作。请待其结束后重试，"
            "或加 --wait 秒数 等待。")

    def __enter__(self) -> "CorpLock":
        if self._lock is None:
            self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
