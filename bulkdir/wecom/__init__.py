"""Everything that talks to WeCom: the client (tokens, retries, rate limits), the error catalogue and
directory snapshots.

    >>> from bulkdir.wecom import WeComClient, fetch_directory
    >>> directory = fetch_directory(WeComClient(settings))

The names are imported on first use, so that `bulkdir.wecom.codes` alone does not load the HTTP client.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bulkdir.wecom.client import WeComClient, WeComError, WeComNetworkError
    from bulkdir.wecom.directory import DirDepartment, Directory, fetch_directory

_HOMES = {"bulkdir.wecom.client": ["WeComClient", "WeComError", "WeComNetworkError"],
          "bulkdir.wecom.directory": ["Directory", "DirDepartment", "fetch_directory"]}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = ["WeComClient", "WeComError", "WeComNetworkError", "Directory", "DirDepartment", "fetch_directory"]


def __getattr__(name: str) -> Any:
    """`bulkdir.wecom.X` of a name above: its module imported now, the name kept here for next time (as
    bulkdir's own names are)."""
    if name not in _HOME_OF:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = globals()[name] = getattr(importlib.import_module(_HOME_OF[name]), name)
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_HOME_OF})
