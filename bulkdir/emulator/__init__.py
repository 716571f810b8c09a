"""A local WeCom (企业微信) contacts API for tests, demos and rehearsals.

The layout follows moto: models.py holds the state and the platform's rules (raising the real
errcodes), responses.py reads HTTP and writes JSON, urls.py maps paths to handlers, server.py serves
HTTP, store.py keeps the state in SQLite when asked.

Example:
    >>> from bulkdir.emulator import EmulatorOptions, EmulatorServer
    >>> with EmulatorServer(EmulatorOptions(rate_limit=600)) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

from bulkdir.emulator.models import EmulatorOptions
from bulkdir.emulator.server import EmulatorServer

__all__ = ["EmulatorOptions", "EmulatorServer"]
