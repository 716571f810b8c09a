"""The sandbox: the emulator, started inside the bulkdir process, with its state kept on disk.

`--sandbox` on any command that talks to WeCom starts it on a free port of 127.0.0.1 and points the
client at it with its own credentials, so that `bulkdir import ... --sandbox` followed by
`bulkdir export ... --sandbox` shows the imported rows. The state lives in
`<data dir>/sandbox.sqlite3` (see `bulkdir.config.user_dirs`); `bulkdir sandbox reset` empties it. Its corp
defines two custom fields, 工号 and 入职日期.
One bulkdir process uses the sandbox at a time (a lock file), since each emulator keeps the directory
in memory and two would drift apart.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import requests
from filelock import FileLock, Timeout

from bulkdir.config import Settings, user_dirs
from bulkdir.errors import ConfigError

SANDBOX_CORP_ID = "wwsandbox"
SANDBOX_SECRET = "sandbox-secret"
SANDBOX_APP_SECRET = "sandbox-app-secret"
# No platform limit to respect: the sandbox runs as fast as the machine allows, unless --rate says else.
SANDBOX_RATE = 60_000
# The custom fields (自定义字段) the sandbox's corp defines, as many corps do, so that HR sheets with them can
# be tried (README, "Sheets from an HR system").
SANDBOX_CUSTOM_FIELDS = ("工号", "入职日期")


def sandbox_db() -> Path:
    """Where the sandbox keeps its directory."""
    return user_dirs().data / "sandbox.sqlite3"


@dataclass
class Sandbox:
    """A running sandbox: its server, the settings to reach it, and where its state lives."""

    server: object  # bulkdir.emulator.server.EmulatorServer (imported lazily: most runs never need it)
    settings: Settings
    db: Path
    _lock: FileLock

    def stop(self) -> None:
        """Stop the server and let another process use the sandbox."""
        try:
            self.server.stop()  # type: ignore[attr-defined]
        finally:
            self._lock.release()


def start_sandbox(base: Settings | None = None, *, rate: int | None = None) -> Sandbox:
    """Start the sandbox and return it with settings that reach it.

    `base` gives workers and timeout; `rate` (calls per minute per API) defaults to SANDBOX_RATE.

    >>> sandbox = start_sandbox()
    >>> sandbox.settings.corp_id
    'wwsandbox'
    >>> sandbox.stop()
    """
    from bulkdir.emulator.options import EmulatorOptions
    from bulkdir.emulator.server import EmulatorServer

    db = sandbox_db()
    db.parent.mkdir(parents=True, exist_ok=True)
    lock = _lock(db)
    try:
        server = EmulatorServer(EmulatorOptions(corp_id=SANDBOX_CORP_ID, secret=SANDBOX_SECRET,
                                                app_secret=SANDBOX_APP_SECRET, db=str(db),
                                                custom_fields=list(SANDBOX_CUSTOM_FIELDS))).start()
    except BaseException:
        lock.release()
        raise
    base = base or Settings()
    settings = Settings(corp_id=SANDBOX_CORP_ID, secret=SANDBOX_SECRET, app_secret=SANDBOX_APP_SECRET,
                        base_url=server.url, rate=rate or SANDBOX_RATE, workers=base.workers,
                        timeout=base.timeout)
    return Sandbox(server, settings, db, lock)


def reset_sandbox() -> Path:
    """Empty the sandbox: the root department only, no members, no tokens. Returns where it lives.

    >>> reset_sandbox().name
    'sandbox.sqlite3'
    """
    sandbox = start_sandbox()
    try:
        response = requests.post(f"{sandbox.settings.base_url}/_emulator/reset", timeout=30)
        response.raise_for_status()
    finally:
        sandbox.stop()
    return sandbox.db


def _lock(db: Path) -> FileLock:
    lock = FileLock(str(db) + ".lock", mode=0o600)
    try:
        lock.acquire(timeout=0)
    except Timeout:
        raise ConfigError(f"the sandbox ({db}) is in use by another bulkdir process; "
                          "wait for it to finish (沙箱正被另一个 bulkdir 进程使用，请等待其结束)") from None
    return lock
