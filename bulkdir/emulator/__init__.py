"""A local WeCom (企业微信) contacts API for tests, demos and rehearsals.

The layout follows moto:

    models.py     the corp's state and the platform's rules (Corp), raising the real errcodes (ApiError)
    gate.py       the limits and faults in front of every call, and the call counters (Gate)
    options.py    the startup options (EmulatorOptions) and the checks of those that change while running
    responses.py  reads HTTP and writes JSON: one method per API, and the call wrapper (gate, faults, counts)
    urls.py       a plain table: which path is answered by which responses method
    server.py     the HTTP server and its router (which reads urls.py's table)
    store.py      keeps the state in SQLite when asked

Example:
    >>> from bulkdir.emulator import EmulatorOptions, EmulatorServer
    >>> with EmulatorServer(EmulatorOptions(rate_limit=600)) as server:
    ...     server.url.startswith("http://127.0.0.1:")
    True
"""

from bulkdir.emulator.options import EmulatorOptions
from bulkdir.emulator.server import EmulatorServer

__all__ = ["EmulatorOptions", "EmulatorServer"]
