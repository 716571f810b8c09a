"""`connect()`: a client for the corp the settings name, or for the local sandbox, without the command line.

The settings are resolved as the CLI resolves them (bulkdir/config.py): a keyword given here > the
environment (BULKDIR_*) > ./bulkdir.toml > the user's config file, profiles included. With `sandbox=True`
the emulator is started inside this process on a free port, its state kept in the user's data folder,
and stopped when the client closes.
"""

from __future__ import annotations

from typing import Any

from bulkdir.config import SETTINGS_SOURCES, Settings, resolve_settings
from bulkdir.wecom.client import WeComClient

# Keywords that are knobs of the client, not settings (see WeComClient).
CLIENT_KNOBS = frozenset({"max_attempts", "backoff", "block_seconds", "cache_dir", "token_scope"})


def connect(settings: Settings | None = None, *, sandbox: bool = False, profile: str | None = None,
            **overrides: Any) -> WeComClient:
    """A WeComClient (a context manager: it closes its connections, and stops the sandbox, on exit).

    `overrides` are settings by name (`corp_id`, `secret`, `app_secret`, `base_url`, `rate`, `workers`,
    `timeout`; None means "not given") and knobs of the client (`max_attempts`, `backoff`, ...).
    With `sandbox=True` the local sandbox is used instead of a real corp, at `rate` calls per minute
    (60,000 unless given).

    >>> with connect(sandbox=True) as client:
    ...     client.department_get(1)["id"]
    1
    """
    knobs = {name: value for name, value in overrides.items() if name in CLIENT_KNOBS}
    flags = {name: value for name, value in overrides.items() if name not in CLIENT_KNOBS}
    unknown = set(flags) - set(SETTINGS_SOURCES)
    if unknown:
        raise TypeError(f"connect() got unknown settings: {', '.join(sorted(unknown))}")
    if settings is None:
        settings = resolve_settings(flags, profile=profile)
    if not sandbox:
        return WeComClient(settings, **knobs)
    from bulkdir.sandbox import start_sandbox

    running = start_sandbox(settings, rate=flags.get("rate"))
    try:
        knobs.setdefault("token_scope", f"sandbox:{running.db}")
        client = WeComClient(running.settings, **knobs)
    except BaseException:
        running.stop()
        raise
    client.on_close(running.stop)
    return client
