"""Everything that talks to WeCom: the client (tokens, retries, rate limits), the error catalogue and
directory snapshots.

    >>> from bulkdir.wecom import WeComClient, fetch_directory
    >>> directory = fetch_directory(WeComClient(settings))

The names are imported on first use, so that `bulkdir.wecom.codes` alone does not load the HTTP client.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bulkdir.lazy import lazy_names

if TYPE_CHECKING:
    from bulkdir.wecom.client import WeComClient, WeComError, WeComNetworkError
    from bulkdir.wecom.directory import DirDepartment, Directory, fetch_directory

_HOMES = {"bulkdir.wecom.client": ["WeComClient", "WeComError", "WeComNetworkError"],
          "bulkdir.wecom.directory": ["Directory", "DirDepartment", "fetch_directory"]}
_HOME_OF = {name: module for module, names in _HOMES.items() for name in names}

__all__ = ["WeComClient", "WeComError", "WeComNetworkError", "Directory", "DirDepartment", "fetch_directory"]


__getattr__, __dir__ = lazy_names(__name__, _HOME_OF, globals())
