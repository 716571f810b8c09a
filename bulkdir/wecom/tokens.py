"""Access tokens, cached in memory and on disk so that a run (and the runs after it) fetch one token.

One file per (base URL, corp id, secret) under the cache folder, named by a hash so the secret is never
written; mode 0600 in a 0700 folder, because a token is as good as the secret for two hours. A file lock
makes concurrent bulkdir processes share one token instead of each fetching its own. A token is renewed
a little before it expires, and after the platform refuses it (40001/40014/42001) the client calls
`renew(stale)` once; threads that saw the same stale token share the one renewal.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from pathlib import Path
from typing import Callable

from filelock import FileLock

from bulkdir.sheets import atomic_file

# Renew five minutes early, or a tenth of the lifetime for short-lived tokens (the emulator's tests).
EARLY_RENEWAL_SECONDS = 300.0

Fetch = Callable[[], tuple[str, int]]  # () -> (access_token, expires_in seconds)


class TokenCache:
    """The token of one (base URL, corp id, secret), shared by threads and processes.

    >>> fetches = []
    >>> def fetch():
    ...     fetches.append(1)
    ...     return "token-1", 7200
    >>> cache = TokenCache(Path("tokens"), "https://qyapi.weixin.qq.com", "ww1", "s3cret", fetch)
    >>> cache.get(), cache.get(), len(fetches)   # fetched once, then read from memory (or the file)
    ('token-1', 'token-1', 1)
    """

    def __init__(self, directory: Path, base_url: str, corp_id: str, secret: str, fetch: Fetch) -> None:
        key = hashlib.sha256("\0".join((base_url, corp_id, secret)).encode()).hexdigest()[:24]
        safe_corp = "".join(c if c.isalnum() else "_" for c in corp_id)[:40]
        self.path = directory / f"token-{safe_corp}-{key}.json"
        self._directory = directory
        self._fetch = fetch
        self._lock = threading.Lock()
        self._token: str | None = None
        self._renew_at = 0.0
        self.fetches = 0  # how many times this process asked the platform for a token

    def get(self) -> str:
        """A valid token: from memory, else from the cache file, else fetched (and written)."""
        with self._lock:
            if self._token and time.time() < self._renew_at:
                return self._token
            return self._load_or_fetch(stale=None)

    def renew(self, stale: str) -> str:
        """A token other than `stale`, which the platform refused; fetched unless someone already did."""
        with self._lock:
            if self._token and self._token != stale and time.time() < self._renew_at:
                return self._token
            return self._load_or_fetch(stale=stale)

    def _load_or_fetch(self, stale: str | None) -> str:
        with self._file_lock():
            cached = self._read()
            if cached and cached["token"] != stale and time.time() < cached["renew_at"]:
                self._token, self._renew_at = cached["token"], cached["renew_at"]
                return cached["token"]
            token, expires_in = self._fetch()
            self.fetches += 1
            now = time.time()
            early = min(EARLY_RENEWAL_SECONDS, expires_in / 10)
            self._token, self._renew_at = token, now + expires_in - early
            self._write({"token": token, "renew_at": self._renew_at, "expires_at": now + expires_in})
            return token

    def _file_lock(self) -> FileLock:
        self._directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        return FileLock(str(self.path) + ".lock", mode=0o600)

    def _read(self) -> dict | None:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if isinstance(data.get("token"), str) and isinstance(data.get("renew_at"), (int, float)):
                return data
        except (OSError, ValueError, AttributeError):
            pass
        return None

    def _write(self, data: dict) -> None:
        # atomic_file: a reader never sees half a file, and the token is never readable by others
        with atomic_file(self.path) as temporary:
            temporary.write_text(json.dumps(data), encoding="utf-8")
