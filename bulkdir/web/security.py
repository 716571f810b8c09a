"""The page can change the whole directory, so every request must come from the person who started it.

- A one-time token is printed in the page's URL (`/?token=...`, as Jupyter does). The first request that
  brings it gets a session cookie (HttpOnly, SameSite=Strict) and the token is spent: a copied URL opens
  nothing a second time.
- Every other request needs that cookie; without it: 403 and nothing else.
- The Host header must name the address the server is bound to (a DNS-rebinding page gets 403), and a
  request that changes something must carry an Origin (or Referer) of that same address (no CSRF).
- Every response forbids framing and loading anything from elsewhere (Content-Security-Policy).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Any, MutableMapping
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

COOKIE = "bulkdir_session"
SAFE_METHODS = frozenset({"GET", "HEAD"})
HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
                               "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
                               "object-src 'none'",
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",  # a form POST then carries our Origin (no-referrer makes it "null")
    "Cache-Control": "no-store",
}


class Guard:
    """The token, the session and the Host and Origin checks, for the whole app (see the module's docstring)."""

    def __init__(self, app: ASGIApp, *, hosts: set[str], token: str | None = None):
        self.app = app
        self.hosts = {host.lower() for host in hosts}
        self.token: str | None = token or secrets.token_urlsafe(32)
        self.sessions: set[str] = set()

    def url_token(self) -> str:
        """The token for the URL printed at start (the server asks for it before any request can spend it)."""
        assert self.token is not None
        return self.token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
            return
        if scope["type"] != "http":
            await self._refuse(scope, receive, send)
            return
        request = Request(scope)
        response = self._check(request)
        if response is not None:
            await _with_headers(response)(scope, receive, send)
            return

        async def send_with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                for name, value in HEADERS.items():
                    if name.lower().encode() not in present:
                        headers.append((name.lower().encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)

    def _check(self, request: Request) -> Response | None:
        host = (request.headers.get("host") or "").lower()
        if host not in self.hosts:
            return _forbidden()
        given: str | None = request.query_params.get("token")
        if given is not None and request.method in SAFE_METHODS:
            if self.token is not None and hmac.compare_digest(given, self.token):
                self.token = None  # single use
                new_session = secrets.token_urlsafe(32)
                self.sessions.add(new_session)
                response = RedirectResponse(request.url.path, status_code=303)  # the token leaves the address bar
                response.set_cookie(COOKIE, new_session, httponly=True, samesite="strict", path="/")
                return response
        session = request.cookies.get(COOKIE)
        if not session or not any(hmac.compare_digest(session, known) for known in self.sessions):
            return _forbidden()
        if request.method not in SAFE_METHODS and not self._same_origin(request, host):
            return _forbidden()
        return None

    @staticmethod
    def _same_origin(request: Request, host: str) -> bool:
        origin = request.headers.get("origin") or request.headers.get("referer")
        if not origin:
            return False
        parts = urlsplit(origin)
        return parts.scheme == "http" and parts.netloc.lower() == host

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})


def _forbidden() -> Response:
    return PlainTextResponse("Forbidden", status_code=403)


def _with_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response

