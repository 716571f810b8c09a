"""The emulator's HTTP server: a lean HTTP/1.1 server with keep-alive, one thread per connection,
and its router.

`Router` chooses the handler of each request from urls.py's tables (a WeCom API under /cgi-bin/, a
control endpoint under /_emulator/) and answers 404 for the rest; responses.py's WeComResponses
answers the call. `EmulatorServer` puts the parts together: the corp (models.py) on its store
(store.py), the gate (gate.py), the responses and the router, served in a background thread, and
the thread that runs batch jobs (batch.py).

`http.server`'s handler parses headers with the email package, which costs more than the whole
emulated call; this reads the request line and headers directly, which is all a JSON API needs
(Content-Length or chunked bodies, `Expect: 100-continue` as curl sends it, keep-alive and close,
HEAD answered with the headers only). A call that waits (`latency_ms`) holds only its own
connection's thread.

It is also a server that a broken or hostile client cannot take down: a request it cannot read
answers 400 (a body over MAX_BODY 413, unread) and the connection is closed, and at most
MAX_CONNECTIONS connections (so threads) are open at once.

    >>> import json, urllib.request
    >>> server = EmulatorServer(EmulatorOptions(rate_limit=600)).start()
    >>> with urllib.request.urlopen(server.url + "/cgi-bin/gettoken?corpid=wwsandbox") as answer:
    ...     json.load(answer)["errcode"]
    41004
    >>> server.stop()
"""

from __future__ import annotations

import dataclasses
import functools
import re
import signal
import socket
import socketserver
import sys
import threading
import time
import traceback
from http import HTTPStatus
from typing import Any, Self
from urllib.parse import unquote, unquote_plus

from bulkdir.emulator.batch import JobRunner
from bulkdir.emulator.gate import Gate
from bulkdir.emulator.models import Corp
from bulkdir.emulator.options import EmulatorOptions
from bulkdir.emulator.responses import Answer, Request, WeComResponses, json_answer
from bulkdir.emulator.store import SQLiteStore, Store
from bulkdir.emulator.urls import API_URLS, CONTROL_URLS

MAX_LINE = 65536  # a request line or header line; longer answers 400
MAX_BODY = 32 * 1024 * 1024  # room for a 20 MB media upload; a larger body answers 413 unread
MAX_CONNECTIONS = 256  # open at once; each has a thread (see _HTTPServer.verify_request)
_VERSION_RE = re.compile(r"HTTP/[0-9]\.[0-9]\Z")
_BUSY = json_answer({"error": "too many connections, try again"}, 503)


class Router:
    """Chooses the handler of each request from urls.py's tables, and answers what none handles.

    A path under /cgi-bin/ is a WeCom API: its row of API_URLS goes to `WeComResponses.call` (the
    gate, the faults, the counts), and an API not in the table answers 404 with an errcode. Any other
    path is a control endpoint of CONTROL_URLS, found by method and path: the dict it returns is the
    JSON answer, a ValueError it raises answers 400, and a method and path not in the table 404.

    Example:
        >>> options = EmulatorOptions()
        >>> router = Router(WeComResponses(Corp(options), Gate(options)))
        >>> router.dispatch(Request("GET", "/cgi-bin/gettoken")).body[:35]
        b'{"errcode": 41002, "errmsg": "corpi'
        >>> router.dispatch(Request("GET", "/cgi-bin/user/nothing")).status
        404
        >>> router.dispatch(Request("HEAD", "/_emulator/stats")).body  # HEAD reads like GET
        b'{"calls": {"gettoken": 1}, "ok": {}, "errors": {"41002": 1}}'
        >>> answer = router.dispatch(Request("POST", "/_emulator/faults", body=b'{"fail_rate": 2}'))
        >>> answer.status, answer.body
        (400, b'{"error": "fail_rate must be a number from 0 to 1, not 2"}')
    """

    def __init__(self, responses: WeComResponses):
        self.responses = responses
        self._call = responses.call
        self.api_urls, self.control_urls = API_URLS, CONTROL_URLS  # read faster than module globals

    def dispatch(self, request: Request) -> Answer:
        """The answer to one HTTP request."""
        if request.path.startswith("/cgi-bin/"):
            api = request.path[len("/cgi-bin/"):]
            route = self.api_urls.get(api)
            if route is None:
                return json_answer({"errcode": 404, "errmsg": f"api not found: {request.path}"}, 404)
            return self._call(api, route, request)
        # HEAD reads like GET (_Connection sends the headers only); no control endpoint that changes
        # anything is a GET, so a HEAD cannot reach one.
        method = "GET" if request.method == "HEAD" else request.method
        control = self.control_urls.get((method, request.path))
        if control is None:
            return json_answer({"error": f"not found: {request.method} {request.path}"}, 404)
        try:
            return json_answer(control(self.responses, request))
        except ValueError as error:
            return json_answer({"error": str(error)}, 400)


class _BadRequest(Exception):
    """A request the server cannot read: answered with `status` and the connection closed."""

    def __init__(self, reason: str, status: int = 400):
        super().__init__(reason)
        self.status = status


class _Slot:
    """One open connection as the server sees it, for the connection cap."""

    __slots__ = ("closing", "idle_since", "sock")

    def __init__(self, sock: socket.socket):
        self.sock = sock
        self.idle_since: float | None = time.monotonic()  # waiting for a request line since; None = busy
        self.closing = False


class _Connection(socketserver.StreamRequestHandler):
    """Serves the requests of one keep-alive connection, one after another."""

    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection is closed after five minutes
    server: _HTTPServer

    def handle(self) -> None:
        slot = self.server.slots.get(self.connection) or _Slot(self.connection)
        try:
            while self._serve_one(slot):
                pass
        except (ConnectionError, OSError):
            pass

    def _serve_one(self, slot: _Slot) -> bool:
        # Idle (the server may close it to make room) from its accept or last answer until a line comes.
        line = self.rfile.readline(MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(MAX_LINE)
        slot.idle_since = None
        if not line or slot.closing:
            return False
        head = False
        try:
            parts = line.decode("latin-1").split()
            if len(parts) != 3 or not line.endswith(b"\n") or not _VERSION_RE.match(parts[2]):
                raise _BadRequest("malformed request line")
            method, target, version = parts
            head = method.upper() == "HEAD"
            headers = self._headers()
            keep_alive = self._keep_alive(version, headers)
            body = self._body(headers)
        except _BadRequest as error:
            answer = json_answer({"error": str(error)}, error.status)
            self._send(answer, keep_alive=False, head=head)
            return False
        path, _, query_string = target.partition("?")
        request = Request(method.upper(), unquote(path), _query(query_string), body, self.client_address[0],
                          headers.get("content-type", ""))
        try:
            answer = self.server.router.dispatch(request)
        except Exception:  # noqa: BLE001 -- a bug in the emulator: answer 500 and show it on stderr
            traceback.print_exc(file=sys.stderr)
            answer = json_answer({"errcode": -1, "errmsg": "emulator internal error"}, 500)
        self._send(answer, keep_alive, head)
        slot.idle_since = time.monotonic()
        return keep_alive

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(200):
            line = self.rfile.readline(MAX_LINE)
            if not line:
                raise ConnectionError("closed in the headers")
            if line in (b"\r\n", b"\n"):
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon or not name.strip() or not line.endswith(b"\n"):
                raise _BadRequest("malformed header line")
            headers[name.strip().lower()] = value.strip()
        raise _BadRequest("too many headers")

    @staticmethod
    def _keep_alive(version: str, headers: dict[str, str]) -> bool:
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            return connection != "close"
        return connection == "keep-alive"

    def _body(self, headers: dict[str, str]) -> bytes:
        """The body, read only once its announced size is known to be sane."""
        chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = 0
        if not chunked:
            text = headers.get("content-length") or "0"
            if not (text.isascii() and text.isdigit()):  # int() would take "-5", "1_0", " ٣"
                raise _BadRequest("Content-Length must be a whole number")
            length = int(text)
            if length > MAX_BODY:
                raise _BadRequest(f"body larger than {MAX_BODY} bytes (MAX_BODY)", 413)
        if headers.get("expect", "").lower() == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        if chunked:
            return self._chunks()
        body = self.rfile.read(length) if length else b""
        if len(body) < length:
            raise ConnectionError("closed in the body")
        return body

    def _chunks(self) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            size_line = self.rfile.readline(MAX_LINE)
            if not size_line:
                raise ConnectionError("closed in the body")
            size_text = size_line.split(b";")[0].strip()
            if not size_text or len(size_text) > 8 or size_text.strip(b"0123456789abcdefABCDEF"):
                raise _BadRequest("malformed chunk size")
            size = int(size_text, 16)
            if size == 0:
                while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > MAX_BODY:
                raise _BadRequest(f"body larger than {MAX_BODY} bytes (MAX_BODY)", 413)
            chunk = self.rfile.read(size)
            if len(chunk) < size:
                raise ConnectionError("closed in the body")
            chunks.append(chunk)
            self.rfile.readline(MAX_LINE)

    def _send(self, answer: Answer, keep_alive: bool, head: bool = False) -> None:
        """Writes the answer; to a HEAD, the same headers (Content-Length too) and no body."""
        self.wfile.write(_head(answer, keep_alive) + (b"" if head else answer.body))


def _head(answer: Answer, keep_alive: bool) -> bytes:
    return (f"{_status_line(answer.status)}\r\n"
            f"Server: bulkdir-emulator\r\n"
            f"Content-Type: {answer.content_type}\r\n"
            f"Content-Length: {len(answer.body)}\r\n"
            f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n").encode("latin-1")


def _query(query_string: str) -> dict[str, str]:
    """The first value of each query parameter, as `parse_qsl(keep_blank_values=True)` reads them.

    Decoding is skipped for the plain parts (tokens, userids, ids): a third of the cost of parse_qsl.

    >>> _query("access_token=abc&userid=zhang%20san&userid=x&fetch_child")
    {'access_token': 'abc', 'userid': 'zhang san', 'fetch_child': ''}
    """
    query: dict[str, str] = {}
    for part in query_string.split("&"):
        if not part:
            continue
        name, _, value = part.partition("=")
        if "%" in part or "+" in part:
            name, value = unquote_plus(name), unquote_plus(value)
        query.setdefault(name, value)
    return query


@functools.cache
def _status_line(status: int) -> str:
    return f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"


class _HTTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 4096  # the listen backlog: a burst of connects waits here, not in SYN retries

    def __init__(self, address: tuple[str, int], router: Router):
        self.router = router
        self.slots: dict[socket.socket, _Slot] = {}  # every open connection, under slots_lock
        self.slots_lock = threading.Lock()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Connection)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Admits a new connection while fewer than MAX_CONNECTIONS are open (runs in the accept loop).

        One thread per connection must not mean one thread per idle socket a client leaves open:
        at the cap, the connection idle longest (waiting for its next request line; an HTTP server
        may close a keep-alive connection at any time, and clients reconnect) is closed to make room.
        When none is idle, the new connection answers 503 and is closed.
        """
        with self.slots_lock:
            open_slots = [slot for slot in self.slots.values() if not slot.closing]
            if len(open_slots) >= MAX_CONNECTIONS:
                idle = [slot for slot in open_slots if slot.idle_since is not None]
                if not idle:
                    _refuse(request)
                    return False
                oldest = min(idle, key=lambda slot: slot.idle_since or 0.0)
                oldest.closing = True
                _shut(oldest.sock)  # its thread's readline returns, and the thread ends
            self.slots[request] = _Slot(request)
        return True

    def shutdown_request(self, request: Any) -> None:
        with self.slots_lock:
            self.slots.pop(request, None)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        with self.slots_lock:
            socks = list(self.slots)
        for sock in socks:
            _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass


def _refuse(sock: socket.socket) -> None:
    """The 503 to a connection over the cap, written by the accept loop, which must not wait on it."""
    try:
        sock.settimeout(0.5)
        sock.sendall(_head(_BUSY, keep_alive=False) + _BUSY.body)
    except OSError:
        pass


class EmulatorServer:
    """A local WeCom contacts API, served in a background thread.

    Example:
        >>> server = EmulatorServer(EmulatorOptions(corp_name="Acme")).start()
        >>> server.url.startswith("http://127.0.0.1:")
        True
        >>> server.stop()
    """

    def __init__(self, options: EmulatorOptions | None = None, host: str = "127.0.0.1", port: int = 0):
        self.options = dataclasses.replace(options or EmulatorOptions())  # faults change our copy only
        self.host = host
        self.port = port
        self.store: Store = SQLiteStore(self.options.db) if self.options.db else Store()
        self.corp = Corp(self.options, self.store)
        self.gate = Gate(self.options)
        self.responses = WeComResponses(self.corp, self.gate)
        self.router = Router(self.responses)
        self.jobs = JobRunner(self.corp, self.options)
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> Self:
        """Binds the port and serves in a background thread; returns self."""
        try:
            self._server = _HTTPServer((self.host, self.port), self.router)
        except OSError:
            self.store.close()
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"bulkdir-emulator-{self.port}", daemon=True)
        self._thread.start()
        self.jobs.start()
        return self

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:8765` (the host root, without /cgi-bin)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def connection_counts(self) -> dict[str, int]:
        """`{"open": n, "idle": m}`: connections open now, and those waiting for a request line."""
        if self._server is None:
            return {"open": 0, "idle": 0}
        with self._server.slots_lock:
            slots = [slot for slot in self._server.slots.values() if not slot.closing]
        return {"open": len(slots), "idle": sum(slot.idle_since is not None for slot in slots)}

    @property
    def corp_id(self) -> str:
        return self.options.corp_id

    @property
    def secret(self) -> str:
        return self.options.secret

    @property
    def app_secret(self) -> str:
        return self.options.app_secret

    def stop(self) -> None:
        """Stops serving, closes open connections and the database. Safe to call twice."""
        if self._server is None:
            return
        server, self._server = self._server, None
        server.shutdown()
        server.server_close()
        server.close_connections()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.jobs.stop()
        with self.corp.lock:  # no write is half-way through
            self.store.close()

    def serve_until_signalled(self) -> int:
        """Blocks until SIGINT or SIGTERM, then stops cleanly; returns the signal's number.

        For the `bulkdir emulator` command, which runs in the main thread.
        """
        received = threading.Event()
        caught: list[int] = []

        def on_signal(number: int, frame: Any) -> None:
            caught.append(number)
            received.set()

        previous = {number: signal.signal(number, on_signal) for number in (signal.SIGINT, signal.SIGTERM)}
        try:
            while not received.wait(0.5):
                pass
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
            self.stop()
        return caught[0]

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r}, corp_id={self.corp_id!r}, running={self._server is not None})"
