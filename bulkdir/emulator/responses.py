"""HTTP in, JSON out: reads the query string and JSON body, calls the models, writes the answer.

`WeComResponses` has one method per API, reading its parameters and calling one Corp method, and
one per control endpoint; `call` wraps every API call in the gate (limits, faults) and the counts.
Which method answers which path is urls.py's table, read by server.py's router: nothing here
chooses a handler.

No rules live here (they are in models.py and gate.py); this module only knows the wire format (the
README's emulator section): `access_token` in the query string, GET parameters in the query string, POST
parameters as a JSON body, HTTP 200 with `errcode`/`errmsg` even on errors, and the platform's errmsg shape
`"<text>, hint: [...], from ip: ..., more info at https://open.work.weixin.qq.com/devtool/query?e=N"`.
A JSON body the emulator could not keep or answer again (nested too deep, a lone surrogate, NaN)
answers 40058 like malformed JSON. HEAD reads like GET and never writes (server.py sends its headers).
"""

from __future__ import annotations

import email
import email.message
import itertools
import json
import math
import re
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from bulkdir.emulator.gate import Gate
from bulkdir.emulator.models import KEYED_APIS, WRITES, ApiError, Caller, Corp, bad_param

JSON_TYPE = "application/json; charset=UTF-8"
BAD_GATEWAY_HTML = (b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
                    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
                    b"</body>\r\n</html>\r\n")


@dataclass
class Request:
    method: str
    path: str  # without the query string
    query: dict[str, str] = field(default_factory=dict)  # the first value of each parameter
    body: bytes = b""
    client_ip: str = "127.0.0.1"
    content_type: str = ""  # the Content-Type header: media/upload's multipart boundary

    def json(self) -> dict[str, Any]:
        """The JSON body as an object; a malformed body answers 40058 like the platform."""
        try:
            data = parse_json(self.body)
        except ValueError as error:
            raise ApiError(40058, f"Warning: wrong json format. invalid Request Parameter, {error}") from None
        if not isinstance(data, dict):
            raise ApiError(40058, "Warning: wrong json format. invalid Request Parameter, "
                                  "the body must be a JSON object")
        return data


MAX_JSON_DEPTH = 32  # the platform's bodies nest 4 deep (extattr.attrs[].web.url); room to spare
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def _finite(text: str) -> float:
    number = float(text)
    if not math.isfinite(number):  # 1e400
        raise ValueError(f"{text} is not a finite number")
    return number


def _not_json(text: str) -> Any:
    raise ValueError(f"{text} is not JSON")


# The platform's JSON: NaN, Infinity and 1e400 (which json.loads accepts) are malformed, so that no
# stored free-form value (extattr) can make a later answer non-JSON.
_platform_decode = json.JSONDecoder(parse_float=_finite, parse_constant=_not_json).decode


def parse_json(body: bytes, decode: Callable[[str], Any] = _platform_decode) -> Any:
    """A UTF-8 JSON body (None when empty); ValueError says why one is refused.

    Besides malformed JSON, it refuses what json.loads accepts, or cannot take, but the emulator
    cannot keep: nesting deeper than MAX_JSON_DEPTH (json.loads raises RecursionError near 1000
    levels, and a stored value a few levels short of that breaks every later answer that encodes
    it) and a lone surrogate (`"\\ud800"`, which no UTF-8 answer or SQLite row can hold).

    >>> parse_json(rb'{"name": "\\ud83d\\ude00"}')  # an escaped pair is one character
    {'name': '😀'}
    >>> parse_json(b'[' * 40 + b']' * 40)
    Traceback (most recent call last):
    ...
    ValueError: nested deeper than 32 levels
    """
    try:
        data = decode(body.decode("utf-8") or "null")  # a JSONDecodeError is a ValueError
    except UnicodeDecodeError:
        raise ValueError("the body is not UTF-8") from None
    except RecursionError:
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels") from None
    # Cheap tests first, so that an ordinary body costs two counts and one search: with fewer
    # brackets than the limit it cannot nest deeper, without a surrogate escape it holds no surrogate.
    if body.count(b"[") + body.count(b"{") > MAX_JSON_DEPTH and _deeper_than(data, MAX_JSON_DEPTH):
        raise ValueError(f"nested deeper than {MAX_JSON_DEPTH} levels")
    if _SURROGATE_ESCAPE.search(body):
        try:
            _encode(data).encode("utf-8")
        except UnicodeEncodeError:
            raise ValueError("a string holds a lone surrogate, not a character") from None
    return data


def _deeper_than(data: Any, limit: int) -> bool:
    """Whether parsed JSON nests objects and lists deeper than `limit` (a walk, not a recursion)."""
    stack = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


class Part(NamedTuple):
    """One part of a multipart/form-data body: its content, byte for byte, and its file name ("" if none)."""

    content: bytes
    filename: str


def multipart_part(content_type: str, body: bytes, name: str) -> Part | None:
    r"""The part named `name` of a multipart/form-data body (None when the body is not
    multipart/form-data or has no such part). media/upload and webhook/upload_media read their file so.

    The email package reads the headers and their parameters (boundary, name, filename, also as
    `filename*=utf-8''...`); the body is split at the boundary here, as its parser would rewrite line
    ends and decode what is not text. A file name in raw UTF-8 (as browsers and requests send it) is read
    as UTF-8.

    >>> body = (b'--XyZ\r\nContent-Disposition: form-data; name="media"; filename="\xe5\xb8\x90.csv"\r\n'
    ...         b'Content-Type: text/csv\r\n\r\n\xe5\xb8\x90\xe5\x8f\xb7\r\nli\r\n--XyZ--\r\n')
    >>> part = multipart_part("multipart/form-data; boundary=XyZ", body, "media")
    >>> part.content.decode(), part.filename
    ('帐号\r\nli', '帐.csv')
    >>> multipart_part("multipart/form-data; boundary=XyZ", body, "file") is None
    True
    """
    header = email.message.Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if header.get_content_type() != "multipart/form-data" or not isinstance(boundary, str) or not boundary:
        return None
    # Each part follows CRLF "--" boundary (the first may start the body); the last boundary ends in "--".
    for part in (b"\r\n" + body).split(b"\r\n--" + boundary.encode("latin-1"))[1:]:
        if part.startswith(b"--"):
            break
        head, blank_line, content = part.partition(b"\r\n\r\n")
        if not blank_line:
            continue
        headers = email.message_from_string(head.lstrip().decode("utf-8", "replace") + "\r\n\r\n")
        if headers.get_param("name", header="content-disposition") == name:
            filename = headers.get_filename() or ""
            return Part(content, filename.encode("utf-8", "replace").decode("utf-8"))  # no lone surrogate
    return None


class Answer(NamedTuple):
    status: int
    content_type: str
    body: bytes


# One encoder for every answer: json.dumps with options builds a new one per call, a fifth of the cost
# of encoding a member. Answers are fresh trees of dicts, so the circular-reference check is not needed.
_encode = json.JSONEncoder(ensure_ascii=False, check_circular=False).encode


def json_answer(data: Any, status: int = 200) -> Answer:
    return Answer(status, JSON_TYPE, _encode(data).encode("utf-8"))


_hint_counter = itertools.count(1)


def errmsg(error: ApiError, client_ip: str) -> str:
    hint = f"{int(time.time())}_{next(_hint_counter) % 1000}_{secrets.token_hex(16)}"
    return (f"{error.text}, hint: [{hint}], from ip: {client_ip}, "
            f"more info at https://open.work.weixin.qq.com/devtool/query?e={error.errcode}")


class WeComResponses:
    """One method per API; each reads its parameters and calls one Corp method.

    Example:
        >>> from bulkdir.emulator.options import EmulatorOptions
        >>> options = EmulatorOptions()
        >>> responses = WeComResponses(Corp(options), Gate(options))
        >>> route = ("GET", WeComResponses.gettoken, "ok")  # as urls.py's API_URLS holds it
        >>> responses.call("gettoken", route, Request("GET", "/cgi-bin/gettoken")).body[:35]
        b'{"errcode": 41002, "errmsg": "corpi'
        >>> responses.control_stats(Request("GET", "/_emulator/stats"))
        {'calls': {'gettoken': 1}, 'ok': {}, 'errors': {'41002': 1}}
    """

    def __init__(self, corp: Corp, gate: Gate):
        self.corp = corp
        self.gate = gate

    def call(self, api: str, route: tuple[str, Callable, str], request: Request) -> Answer:
        """The answer to one WeCom API call (`api` without /cgi-bin/, `route` its row in API_URLS).

        In order: the gate (latency, 45033, a reset while waiting, debug=1's and the rate limit, the
        faults drawn), the HTTP method, the token, then the handler; every answer but one that began
        before a reset is counted.
        """
        method, handler, success = route
        generation = self.corp.generation
        try:
            with self.gate.in_flight(api):  # waits latency_ms; 45033 when too many in flight
                if self.corp.generation != generation:
                    # The directory was reset while this call waited: it must not land in the new one.
                    raise ApiError(-1, "system busy")
                if request.query.get("debug") == "1":
                    self.gate.check_debug_rate(api)
                self.gate.check_rate(api)
                fault = self.gate.draw_fault()
                if fault == "http":
                    self._count(api, "http-502", generation)
                    return Answer(502, "text/html", BAD_GATEWAY_HTML)
                if fault == "busy":
                    raise ApiError(-1, "system busy")
                if method == "POST" and request.method != "POST":
                    raise bad_param(f"{api} must be called with POST and a JSON body")
                if request.method == "HEAD" and (api in WRITES or api == "gettoken"):
                    # HEAD never changes anything: not a write (user/delete is a GET), nor the
                    # token gettoken would issue. Its answer has the headers of this refusal.
                    raise bad_param(f"{api} cannot be called with HEAD")
                if api == "gettoken" or api in KEYED_APIS:  # without a token (a robot's key instead)
                    payload = handler(self, request)
                else:  # the token is checked (41001/40014/42001, 48002/48009) before any parameter
                    payload = handler(self, request, self._caller(request, api))
        except ApiError as error:
            self._count(api, error.errcode, generation)
            return json_answer({"errcode": error.errcode, "errmsg": errmsg(error, request.client_ip)})
        self._count(api, 0, generation)
        return json_answer({"errcode": 0, "errmsg": success, **payload})

    def _count(self, api: str, errcode: int | str, generation: int) -> None:
        if self.corp.generation == generation:  # a call from before a reset is not in the new counts
            self.gate.count(api, errcode)

    def _caller(self, request: Request, api: str) -> Caller:
        caller = self.corp.caller(request.query.get("access_token"))
        self.corp.authorize(caller, api)
        return caller

    # ---- the WeCom APIs -------------------------------------------------------------------------

    def gettoken(self, request: Request) -> dict:
        return self.corp.gettoken(request.query.get("corpid"), request.query.get("corpsecret"))

    def user_create(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_create(caller, request.json())

    def user_get(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_get(caller, request.query.get("userid"))

    def user_update(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_update(caller, request.json())

    def user_delete(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_delete(caller, request.query.get("userid"))

    def user_batchdelete(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_batchdelete(caller, request.json())

    def user_simplelist(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_simplelist(caller, request.query.get("department_id"),
                                         request.query.get("fetch_child"))

    def user_list(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_list(caller, request.query.get("department_id"),
                                   request.query.get("fetch_child"))

    def user_list_id(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_list_id(caller, request.json())

    def user_getuserid(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_getuserid(caller, request.json())

    def user_get_userid_by_email(self, request: Request, caller: Caller) -> dict:
        return self.corp.user_get_userid_by_email(caller, request.json())

    def department_create(self, request: Request, caller: Caller) -> dict:
        return self.corp.department_create(caller, request.json())

    def department_update(self, request: Request, caller: Caller) -> dict:
        return self.corp.department_update(caller, request.json())

    def department_delete(self, request: Request, caller: Caller) -> dict:
        return self.corp.department_delete(caller, request.query.get("id"))

    def department_list(self, request: Request, caller: Caller) -> dict:
        return self.corp.department_list(caller, request.query.get("id"))

    def department_simplelist(self, request: Request, caller: Caller) -> dict:
        return self.corp.department_simplelist(caller, request.query.get("id"))

    def department_get(self, request: Request, caller: Caller) -> dict:
        return self.corp.department_get(caller, request.query.get("id"))

    def media_upload(self, request: Request, caller: Caller) -> dict:
        part = multipart_part(request.content_type, request.body, "media")
        return self.corp.media_upload(caller, request.query.get("type"), part and part.content,
                                      part.filename if part else "")

    def batch_syncuser(self, request: Request, caller: Caller) -> dict:
        return self.corp.batch_syncuser(caller, request.json())

    def batch_getresult(self, request: Request, caller: Caller) -> dict:
        return self.corp.batch_getresult(caller, request.query.get("jobid"))

    def message_send(self, request: Request, caller: Caller) -> dict:
        return self.corp.message_send(caller, request.json())

    def webhook_send(self, request: Request) -> dict:
        robot = self.corp.robot(request.query.get("key"))  # 93000 first: the key is the credential
        self.gate.check_robot_rate(robot.key)
        return self.corp.webhook_send(robot, request.json())

    def webhook_upload_media(self, request: Request) -> dict:
        robot = self.corp.robot(request.query.get("key"))
        part = multipart_part(request.content_type, request.body, "media")
        return self.corp.webhook_upload_media(robot, request.query.get("type"), part and part.content,
                                              part.filename if part else "")

    # ---- control endpoints (not WeCom), under /_emulator/ -------------------------------------------

    def control_reset(self, request: Request) -> dict:
        self.corp.reset()
        self.gate.reset()
        return {"reset": True}

    def control_stats(self, request: Request) -> dict:
        return self.gate.stats()

    def control_get_faults(self, request: Request) -> dict:
        return self.gate.settings()

    def control_set_faults(self, request: Request) -> dict:
        try:
            changes = parse_json(request.body, json.loads)  # NaN parses: validate_faults names the setting
        except ValueError as error:
            raise ValueError(f"the body must be a JSON object of settings: {error}") from None
        if changes is None:
            changes = {}
        if not isinstance(changes, dict):
            # A ValueError, not a TypeError: the router answers it 400 with its text.
            raise ValueError("the body must be a JSON object of settings")  # noqa: TRY004
        return self.gate.configure(changes)

    def control_expire_tokens(self, request: Request) -> dict:
        return {"expired": self.corp.expire_tokens()}

    def control_state(self, request: Request) -> dict:
        return self.corp.state()

    def control_messages(self, request: Request) -> dict:
        return {"messages": self.corp.received_messages()}
