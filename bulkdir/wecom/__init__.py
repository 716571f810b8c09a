"""Everything that talks to WeCom: the client (tokens, retries, rate limits), the error catalogue and
directory snapshots.

    >>> from bulkdir.wecom import WeComClient, fetch_directory
    >>> directory = fetch_directory(WeComClient(settings))
"""

from bulkdir.wecom.client import WeComClient, WeComError, WeComNetworkError
from bulkdir.wecom.directory import DirDepartment, Directory, fetch_directory

__all__ = ["WeComClient", "WeComError", "WeComNetworkError", "Directory", "DirDepartment", "fetch_directory"]
