"""The emulator's HTTP server: a lean HTTP/1.1 server with keep-alive, one thread per connection.

`http.server`'s handler parses headers with the email package, which costs more than the whole
emulated call; this reads the request line and headers directly, which is all a JSON API needs
(Content-Length or chunked bodies, `Expect: 100-continue` as curl sends it, keep-alive and close).
A call that waits (`latency_ms`) holds only its own connection's thread.

    server = EmulatorServer(EmulatorOptions(rate_limit=600)).start()
    ...  # talk to server.url over HTTP
    server.stop()
"""

from __future__ import annotations

import dataclasses
import functools
import signal
import socket
import socketserver
import sys
import threading
import traceback
from http import HTTPStatus
from typing import Any
from urllib.parse import unquote, unquote_plus

from bulkdir.emulator.models import Corp, EmulatorOptions, Gate
from bulkdir.emulator.responses import Answer, Request, WeComResponses, json_answer
from bulkdir.emulator.store import SQLiteStore, Store

MAX_LINE = 65536


class _BadRequest(Exception):
    pass


class _Connection(socketserver.StreamRequestHandler):
    """Serves the requests of one keep-alive connection, one after another."""

    disable_nagle_algorithm = True
    timeout = 300  # an idle keep-alive connection is closed after five minutes
    server: "_HTTPServer"

    def handle(self) -> None:
        self.server.connections.add(self.connection)
        try:
            while self._serve_one():
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self.server.connections.discard(self.connection)

    def _serve_one(self) -> bool:
        line = self.rfile.readline(MAX_LINE)
        while line in (b"\r\n", b"\n"):
            line = self.rfile.readline(MAX_LINE)
        if not line:
            return False
        try:
            method, target, version = line.decode("latin-1").split()
            headers = self._headers()
            keep_alive = self._keep_alive(version, headers)
            if headers.get("expect", "").lower() == "100-continue":
                self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            body = self._body(headers)
        except (_BadRequest, ValueError, UnicodeDecodeError):
            self._send(json_answer({"error": "bad request"}, 400), keep_alive=False)
            return False
        path, _, query_string = target.partition("?")
        request = Request(method.upper(), unquote(path), _query(query_string), body, self.client_address[0])
        try:
            answer = self.server.responses.dispatch(request)
        except Exception:  # a bug in the emulator: answer 500 and show it on stderr
            traceback.print_exc(file=sys.stderr)
            answer = json_answer({"errcode": -1, "errmsg": "emulator internal error"}, 500)
        self._send(answer, keep_alive)
        return keep_alive

    def _headers(self) -> dict[str, str]:
        headers: dict[str, str] = {}
        for _ in range(200):
            line = self.rfile.readline(MAX_LINE)
            if line in (b"\r\n", b"\n", b""):
                return headers
            name, colon, value = line.decode("latin-1").partition(":")
            if not colon:
                raise _BadRequest(line)
            headers[name.strip().lower()] = value.strip()
        raise _BadRequest("too many headers")

    @staticmethod
    def _keep_alive(version: str, headers: dict[str, str]) -> bool:
        connection = headers.get("connection", "").lower()
        if version == "HTTP/1.1":
            return connection != "close"
        return connection == "keep-alive"

    def _body(self, headers: dict[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline(MAX_LINE).split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline(MAX_LINE) not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline(MAX_LINE)
        length = int(headers.get("content-length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _send(self, answer: Answer, keep_alive: bool) -> None:
        head = (f"{_status_line(answer.status)}\r\n"
                f"Server: bulkdir-emulator\r\n"
                f"Content-Type: {answer.content_type}\r\n"
                f"Content-Length: {len(answer.body)}\r\n"
                f"Connection: {'keep-alive' if keep_alive else 'close'}\r\n\r\n")
        self.wfile.write(head.encode("latin-1") + answer.body)


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


@functools.lru_cache(maxsize=None)
def _status_line(status: int) -> str:
    return f"HTTP/1.1 {status} {HTTPStatus(status).phrase}"


class _HTTPServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, address: tuple[str, int], responses: WeComResponses):
        self.responses = responses
        self.connections: set[socket.socket] = set()
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, _Connection)

    def close_connections(self) -> None:
        for connection in list(self.connections):
            try:
                connection.shutdown(socket.SHUT_RDWR)
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
        self._server: _HTTPServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> "EmulatorServer":
        """Binds the port and serves in a background thread; returns self."""
        try:
            self._server = _HTTPServer((self.host, self.port), self.responses)
        except OSError:
            self.store.close()
            raise
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.1},
                                        name=f"bulkdir-emulator-{self.port}", daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """The base URL, e.g. `http://127.0.0.1:8765` (the host root, without /cgi-bin)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

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

    def __enter__(self) -> "EmulatorServer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def __repr__(self) -> str:
        return f"EmulatorServer(url={self.url!r}, corp_id={self.corp_id!r}, running={self._server is not None})"
