"""The emulated corp: its state and the platform's rules (as the README's emulator section lists them).

Every rule raises `ApiError(errcode, text)` with the platform's errcode; responses.py turns it into
the JSON the platform answers. Nothing here knows about HTTP.

    Corp       the directory (departments, members), tokens and the rules of each API, the async
               batch import's media and jobs among them (the thread that runs jobs is batch.py's), and
               the messages group robots and the app were sent (wecom-api.md A10)
    ApiError   a call refused with a platform errcode (`bad_param` makes the 40058)
    checks     one small function per field rule (userid, name, mobile, email, custom fields, ...)
    batch file reading batch/syncuser's CSV (`read_sync_file`) and one row of it as the body of a
               user/create or user/update (`sync_body`), so that a job's rows meet the same rules

The limits and faults in front of every call (rate limit, concurrency, -1, HTTP 502, stats) are
gate.py's; the options both read are options.py's. The ideas the platform shares with the rest of
bulkdir (the root department's id, the depth limit, the characters a department name cannot hold,
when two mobiles are the same) come from bulkdir/fields.py.

State changes happen under one lock; a write reaches the store (SQLite with `db`) before it returns,
so it is durable before it is answered. Stored member and department dicts are never changed in
place (a write builds a new dict), so reads can take one without the lock and see a whole object.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

from bulkdir.emulator.options import CustomFieldKind, EmulatorOptions, custom_fields, robot_labels
from bulkdir.emulator.store import Store, StoredMedia
from bulkdir.fields import FORBIDDEN_IN_DEPARTMENT_NAME, MAX_DEPTH, ROOT_ID, mobile_key

Caller = Literal["sync", "app"]  # which secret the token was issued for


class ApiError(Exception):
    """A call refused with a platform errcode. `text` is the errmsg before the hint suffix."""

    def __init__(self, errcode: int, text: str):
        super().__init__(f"{errcode} {text}")
        self.errcode = errcode
        self.text = text


def bad_param(detail: str) -> ApiError:
    """The platform's 40058 for a parameter of the wrong type or range.

    Example:
        >>> bad_param("limit must be 1 to 10000").errcode
        40058
    """
    return ApiError(40058, f"invalid Request Parameter, {detail}")


# --------------------------------------------------------------------------------------------------
# Field checks, one small function per rule of user/create (platform page 90195).

USERID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}\Z")
MOBILE_RE = re.compile(r"[0-9+\- ]{1,32}\Z")
TELEPHONE_RE = re.compile(r"[0-9+\-,]{1,32}\Z")
# What user/get and user/list answer empty to an app's secret with `hide_private_fields`: the platform's
# list (2022-06-20, platform page 96255) with thumb_avatar beside avatar; gender, the other one, reads "0" (unset)
# rather than "", so _shown sets it apart. Not fields.PRIVATE_FIELDS, on purpose: that is bulkdir's side,
# the fields of its own it reads back empty and so cannot compare (gender among them, qr_code and
# thumb_avatar not: bulkdir never writes them). The emulator answers as the platform does, so it empties more.
PRIVATE_FIELDS = ("mobile", "email", "avatar", "thumb_avatar", "address", "biz_mail", "qr_code")
DETAIL_READS = {"user/get", "user/list", "department/list", "department/get"}  # refused by 48009
WRITES = {"user/create", "user/update", "user/delete", "user/batchdelete", "batch/syncuser",
          "department/create", "department/update", "department/delete"}  # contacts-sync secret only
# Called with a group robot's webhook key (`key=`), not an access_token (wecom-api.md A10).
KEYED_APIS = {"webhook/send", "webhook/upload_media"}
APP_ONLY = {"message/send"}  # the contacts-sync secret may not send messages: 48002
# The lookups by mobile or email (user/getuserid, user/get_userid_by_email) are neither: both secrets
# may call them, and they are not detail reads, so restrict_details leaves them answering.
HTTP_URL_RE = re.compile(r"https?://[^\s/?#]+\S*\Z", re.IGNORECASE)
MAX_CUSTOM_TEXT = 64  # characters of a text custom field's value (platform page 90195)
MAX_WEB_TITLE = 12  # characters of a web custom field's title


def _text(body: dict, name: str) -> str | None:
    """A text field as given (None when absent); numbers are taken as their text."""
    value = body.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise bad_param(f"{name} must be a string")
    return str(value)


def _int(value: Any, name: str) -> int:
    if isinstance(value, bool):
        raise bad_param(f"{name} must be an integer")
    if isinstance(value, int):
        return value
    # At most 18 digits: int() refuses more than 4300 (a ValueError, not an errcode), and no id,
    # order or limit of the platform needs more than 10.
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]{1,18}", value.strip()):
        return int(value)
    raise bad_param(f"{name} must be an integer")


def _int_list(body: dict, name: str, bare: bool = False) -> list[int] | None:
    """A list of integers (None when absent); with `bare`, one integer is taken as a list of one."""
    value = body.get(name)
    if value is None:
        return None
    if bare and isinstance(value, int) and not isinstance(value, bool):
        return [value]
    if not isinstance(value, list):
        raise bad_param(f"{name} must be a list")
    return [_int(item, name) for item in value]


def _check_userid(userid: Any) -> str:
    if not isinstance(userid, str) or not USERID_RE.match(userid):
        raise ApiError(40003, "invalid userid")
    return userid


def _check_name(name: str | None) -> str:
    if name is None or not name.strip() or len(name) > 64:
        raise ApiError(60112, "invalid username")
    return name


def _check_mobile(mobile: str) -> str:
    if mobile and not MOBILE_RE.match(mobile):
        raise ApiError(60103, "mobile invalid")
    return mobile


def _email_shaped(email: str) -> bool:
    """6–64 bytes, one `@` after something, a dot in the domain."""
    size = len(email.encode("utf-8"))
    local, _, domain = email.partition("@")
    return 6 <= size <= 64 and email.count("@") == 1 and bool(local) and "." in domain.strip(".")


def _check_email(email: str) -> str:
    if email and not _email_shaped(email):
        raise ApiError(60105, "email invalid")
    return email


def _check_telephone(telephone: str) -> str:
    if telephone and not TELEPHONE_RE.match(telephone):
        raise ApiError(301013, "telephone invalid")
    return telephone


def _check_position(position: str) -> str:
    if len(position) > 128:
        raise ApiError(301012, "position invalid, the length exceeds 128")
    return position


def _check_gender(value: Any) -> str:
    if isinstance(value, bool) or str(value).strip() not in ("0", "1", "2"):
        raise bad_param("gender must be 0, 1 or 2")
    return str(value).strip()


def _check_enable(value: Any) -> int:
    if isinstance(value, bool) or str(value).strip() not in ("0", "1"):
        raise bad_param("enable must be 0 or 1")
    return int(str(value).strip())


def _check_department_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip() or len(name) > 64:
        raise ApiError(60001, "department name length invalid")
    if FORBIDDEN_IN_DEPARTMENT_NAME & set(name):
        raise ApiError(60009, "department name contains illegal characters")
    return name


def _custom_attr(attr: dict, kind: CustomFieldKind) -> dict | None:
    """One attribute of `extattr.attrs` for a defined field of `kind`, checked (platform page 90195):
    the attribute to keep, or None when its value is empty, which clears the field.

    `type` (0 text, 1 web) may be left out when `text` or `web` says which; either way it must be the
    field's kind. A text value is at most 64 characters; a web link has an http(s) url and a title of
    1 to 12 characters, or both empty.

    >>> _custom_attr({"name": "工号", "text": {"value": "A01"}}, "text")
    {'type': 0, 'name': '工号', 'text': {'value': 'A01'}}
    >>> _custom_attr({"type": 1, "name": "主页", "web": {"url": "", "title": ""}}, "web") is None
    True
    """
    name = attr["name"]
    if attr.get("type") is None:  # the one of `text` and `web` it holds says which
        present = [key for key in ("text", "web") if key in attr]
        given = present[0] if len(present) == 1 else None
    else:
        given = {0: "text", 1: "web"}.get(_int(attr["type"], "extattr type"))
    if given != kind:
        raise bad_param(f"extattr {name} is a {kind} field")
    if kind == "text":
        text = attr.get("text")
        value = text.get("value", "") if isinstance(text, dict) else None
        if not isinstance(value, str):
            raise bad_param(f"extattr {name} needs text.value, a string")
        if len(value) > MAX_CUSTOM_TEXT:
            raise bad_param(f"extattr {name} longer than {MAX_CUSTOM_TEXT} characters")
        return {"type": 0, "name": name, "text": {"value": value}} if value else None
    web = attr.get("web")
    url, title = (web.get("url", ""), web.get("title", "")) if isinstance(web, dict) else (None, None)
    if not isinstance(url, str) or not isinstance(title, str):
        raise bad_param(f"extattr {name} needs web.url and web.title, strings")
    if not url and not title:
        return None
    if not HTTP_URL_RE.match(url):
        raise bad_param(f"extattr {name} needs an http or https url")
    if not 1 <= len(title) <= MAX_WEB_TITLE:
        raise bad_param(f"extattr {name} needs a title of 1 to {MAX_WEB_TITLE} characters")
    return {"type": 1, "name": name, "web": {"url": url, "title": title}}


def _set_attrs(member: dict) -> dict[str, dict]:
    """The custom fields a stored member has a value for, by name."""
    attrs = (member.get("extattr") or {}).get("attrs")
    if not isinstance(attrs, list):
        return {}
    return {attr["name"]: attr for attr in attrs if isinstance(attr, dict) and isinstance(attr.get("name"), str)}


def _custom_fields_shown(member: dict, fields: list[tuple[str, CustomFieldKind]]) -> list[dict]:
    """Every defined custom field, in definition order, empty where the member has no value, so that a
    client learns the corp's fields from any member (wecom-api.md A8). A value kept for a field since
    redefined as the other kind reads empty."""
    values = _set_attrs(member) if fields else {}
    shown: list[dict] = []
    for name, kind in fields:
        value = values.get(name)
        if value is not None and value.get("type") == (0 if kind == "text" else 1):
            shown.append(value)
        elif kind == "text":
            shown.append({"type": 0, "name": name, "text": {"value": ""}})
        else:
            shown.append({"type": 1, "name": name, "web": {"url": "", "title": ""}})
    return shown


# --------------------------------------------------------------------------------------------------
# The async batch import's file (wecom-api.md A6 and A9).

MEDIA_TYPES = ("file", "image", "voice", "video")
MIN_MEDIA_BYTES = 5  # a media file must be larger (platform page 96484)
MAX_MEDIA_BYTES = 20 * 1024 * 1024  # and at most 20 MB
KEPT_JOB_RESULTS = 5  # only the latest jobs' results are kept; older ones answer 40089
# The columns of batch/syncuser's file and the user/create field each fills (是否部门内领导 and 排序
# hold one value per department, like 所在部门, separated by `;`; 禁用 1 is enable 0).
SYNC_COLUMNS = {"姓名": "name", "帐号": "userid", "手机号": "mobile", "邮箱": "email", "所在部门": "department",
                "职位": "position", "性别": "gender", "是否部门内领导": "is_leader_in_dept", "排序": "order",
                "别名": "alias", "地址": "address", "座机": "telephone", "禁用": "enable"}
USERID_COLUMN = "帐号"
GENDER_WORDS = {"男": "1", "女": "2"}  # as the admin console's files write it; 0, 1 and 2 are taken too


def read_sync_file(data: bytes) -> list[dict[str, str]]:
    r"""The member rows of a batch/syncuser file, each `{column: cell}` of its non-blank cells (stripped).

    UTF-8 CSV (a BOM is tolerated) whose first non-blank line names the columns: any of SYNC_COLUMNS
    in any order, 帐号 among them, and any others (custom fields, or ignored). Blank lines are skipped.
    A file that is not such a CSV, has no 帐号 column, names a column twice or has no member row
    answers 40092.

    >>> read_sync_file("\ufeff帐号,姓名,手机号\r\nzhangsan,张三,\r\n".encode())
    [{'帐号': 'zhangsan', '姓名': '张三'}]
    """
    try:
        text = data.decode("utf-8-sig")
        lines = [line for line in csv.reader(io.StringIO(text, newline="")) if any(cell.strip() for cell in line)]
    except UnicodeDecodeError:
        raise ApiError(40092, "import file invalid, not UTF-8") from None
    except csv.Error as error:
        raise ApiError(40092, f"import file invalid, {error}") from None
    if not lines:
        raise ApiError(40092, "import file invalid, the file is empty")
    header = [cell.strip() for cell in lines[0]]
    if USERID_COLUMN not in header:
        raise ApiError(40092, f"import file invalid, no {USERID_COLUMN} column")
    named = [name for name in header if name]
    if len(set(named)) < len(named):
        raise ApiError(40092, "import file invalid, a column is named twice")
    rows = [{name: cell.strip() for name, cell in zip(header, line) if name and cell.strip()} for line in lines[1:]]
    if not rows:
        raise ApiError(40092, "import file invalid, no member rows")
    return rows


def sync_body(cells: dict[str, str], fields: list[tuple[str, CustomFieldKind]]) -> dict:
    """One row of a batch/syncuser file as the body of a user/create or user/update: only its
    non-blank cells, so a blank cell leaves the field as it is (wecom-api.md A9). Columns named after
    one of the corp's custom fields (`fields`) fill `extattr`; a web field's cell is `TITLE；URL`, as the
    admin console's files write it. A department that is not an id answers 60123, as an unknown one does.

    >>> cells = {"帐号": "li", "所在部门": "2;3", "性别": "女", "禁用": "1", "工号": "A01"}
    >>> body = sync_body(cells, [("工号", "text")])
    >>> body["department"], body["gender"], body["enable"], body["extattr"]["attrs"][0]["text"]
    ([2, 3], '2', 0, {'value': 'A01'})
    """
    body: dict[str, Any] = {}
    attrs: list[dict] = []
    kinds = dict(fields)
    for column, cell in cells.items():
        name = SYNC_COLUMNS.get(column)
        if name == "department":
            ids = [value.strip() for value in cell.split(";") if value.strip()]
            for value in ids:
                if not re.fullmatch(r"[0-9]{1,18}", value):
                    raise ApiError(60123, f"invalid party id {value}")
            body[name] = [int(value) for value in ids]
        elif name in ("is_leader_in_dept", "order"):
            body[name] = [_int(value, column) for value in cell.split(";") if value.strip()]
        elif name == "gender":
            body[name] = GENDER_WORDS.get(cell, cell)
        elif name == "enable":
            if cell not in ("0", "1"):
                raise bad_param("禁用 must be 0 or 1")
            body[name] = 1 - int(cell)
        elif name is not None:
            body[name] = cell
        elif kinds.get(column) == "text":
            attrs.append({"name": column, "text": {"value": cell}})
        elif kinds.get(column) == "web":
            title, _, url = cell.partition("；") if "；" in cell else cell.partition(";")
            attrs.append({"name": column, "web": {"url": url.strip(), "title": title.strip()}})
    if attrs:
        body["extattr"] = {"attrs": attrs}
    return body


def _open_userid(corp_id: str, userid: str) -> str:
    return "wo" + hashlib.sha1(f"{corp_id}/{userid.lower()}".encode()).hexdigest()[:30]


def _sibling_order(department: dict) -> tuple[int, int]:
    """The platform lists siblings by `order`, larger first, then by id."""
    return -department["order"], department["id"]


# --------------------------------------------------------------------------------------------------


@dataclass
class Token:
    value: str = field(repr=False)
    caller: Caller
    expires_at: float  # time.time(); 0 = expired by /_emulator/expire-tokens


@dataclass
class Job:
    """A batch/syncuser job: the file's rows (`read_sync_file`) and a result per row run so far."""

    jobid: str
    rows: list[dict[str, str]]
    results: list[dict] = field(default_factory=list)
    purged: bool = False  # its rows and results were dropped: 40089

    @property
    def done(self) -> bool:
        return len(self.results) >= len(self.rows)


# --------------------------------------------------------------------------------------------------
# Messages (wecom-api.md A10).

MESSAGE_TYPES = ("text", "markdown", "file")
# Bytes of UTF-8 a message's content may hold: a robot's (A10), and an app's (platform page 90236:
# markdown too is at most 2048 bytes there).
ROBOT_CONTENT_BYTES = {"text": 2048, "markdown": 4096}
APP_CONTENT_BYTES = {"text": 2048, "markdown": 2048}
MIN_ROBOT_MEDIA_BYTES = 5  # a robot's file is 5 bytes to 20 MB (media/upload's must be more than 5)
KEPT_MESSAGES = 1000  # GET /_emulator/messages lists the latest ones


@dataclass(frozen=True)
class Robot:
    """A group robot a webhook key names: the key (a secret, never shown) and its label (`robot_labels`)."""

    key: str = field(repr=False)
    label: str


@dataclass(frozen=True)
class RobotMedia:
    """A file uploaded by webhook/upload_media: only the robot that uploaded it may send it. Its content
    is not kept (a message lists its name and size)."""

    media_id: str
    key: str = field(repr=False)
    created_at: float
    filename: str
    size: int


def _message(body: dict, limits: dict[str, int], find_file: Any) -> tuple[str, dict]:
    """A message's `msgtype` and what GET /_emulator/messages shows of it: its content (at most
    `limits[msgtype]` bytes of UTF-8, 40058 past it), or the file's name and size (`find_file(media_id)`,
    which answers 40007 for a media_id it does not know)."""
    msgtype = body.get("msgtype")
    if not isinstance(msgtype, str) or msgtype not in MESSAGE_TYPES:
        raise bad_param("msgtype must be text, markdown or file")
    part = body.get(msgtype)
    if not isinstance(part, dict):
        raise bad_param(f"{msgtype} must be an object")
    if msgtype == "file":
        media_id = part.get("media_id")
        return msgtype, {"file": find_file(media_id if isinstance(media_id, str) else "")}
    content = part.get("content")
    if not isinstance(content, str) or not content:
        raise bad_param(f"{msgtype}.content must be a non-empty string")
    size = len(content.encode("utf-8"))
    if size > limits[msgtype]:
        raise bad_param(f"{msgtype}.content is {size} bytes of UTF-8, at most {limits[msgtype]}")
    return msgtype, {"content": content}


def _recipients(body: dict, name: str) -> list[str]:
    """`touser`, `toparty` or `totag`: ids separated by `|` (an id alone may be a number)."""
    value = body.get(name)
    if value is None or value == "":
        return []
    if isinstance(value, int) and not isinstance(value, bool):
        return [str(value)]
    if not isinstance(value, str):
        raise bad_param(f"{name} must be ids separated by |")
    return [item.strip() for item in value.split("|") if item.strip()]


class Corp:
    """The directory and the rules of every API.

    Example:
        >>> corp = Corp(EmulatorOptions())
        >>> corp.department_create("sync", {"name": "研发中心", "parentid": 1})
        {'id': 2}
    """

    def __init__(self, options: EmulatorOptions, store: Store | None = None):
        self.options = options
        self.store = store or Store()
        self.lock = threading.RLock()
        self.departments: dict[int, dict] = {}
        self.members: dict[str, dict] = {}  # keyed by lower-cased userid
        self.tokens: dict[str, Token] = {}
        self.current_token: dict[Caller, str] = {}
        self.generation = 0  # counts resets, so a call that began before one can tell
        self._mobiles: dict[str, str] = {}  # mobile_key -> member key
        # department id -> the keys of its own members, and each key's place in self.members: user/list of one
        # department reads its members without a scan of the whole corp (100,000 members, 1,000 departments)
        self._in_department: dict[int, set[str]] = {}
        self._position: dict[str, int] = {}
        self._next_position = 0
        self._emails: dict[str, str] = {}  # lower-cased email -> member key
        self._failed_lookups: dict[str, int] = {}  # 46004 answers per lookup API since start or reset
        self._blocked_lookups: set[str] = set()  # lookup APIs answering 45009 until a reset
        self.media: dict[str, StoredMedia] = {}  # uploaded by media/upload
        self.jobs: dict[str, Job] = {}  # batch jobs in submission order
        self.running_job: str | None = None  # the job batch.py's runner is on
        self.messages: list[dict] = []  # received by robots and the app, oldest first (in memory only)
        self.robot_media: dict[str, RobotMedia] = {}  # uploaded by webhook/upload_media (in memory only)
        self._load()

    # ---- state ------------------------------------------------------------------------------------

    def _load(self) -> None:
        departments, members, tokens = self.store.load()
        self.departments = {d["id"]: d for d in departments}
        self.members = {m["userid"].lower(): m for m in members}
        for key, member in self.members.items():
            self._index(key, member)
        now = time.time()
        for value, stored, expires_at in tokens:
            caller: Caller = "app" if stored == "app" else "sync"
            self.tokens[value] = Token(value, caller, expires_at)
            if expires_at > now:
                self.current_token[caller] = value
        media, jobs = self.store.load_batch()
        self.media = {m.media_id: m for m in media}
        self.jobs = {j.jobid: Job(j.jobid, j.rows, j.results, j.purged) for j in jobs}
        if ROOT_ID not in self.departments:
            with self.lock, self.store.transaction():
                self._put_department(self._root())

    def _root(self) -> dict:
        return {"id": ROOT_ID, "name": self.options.corp_name, "name_en": "", "department_leader": [],
                "parentid": 0, "order": 100000000}

    def reset(self) -> None:
        """An empty directory (the root only), no tokens, no media, no batch jobs and no messages."""
        with self.lock, self.store.transaction():
            self.generation += 1
            self.store.clear()
            self.departments, self.members, self.tokens, self.current_token = {}, {}, {}, {}
            self._mobiles, self._emails = {}, {}
            self._in_department, self._position, self._next_position = {}, {}, 0
            self._failed_lookups, self._blocked_lookups = {}, set()
            self.media, self.jobs, self.running_job = {}, {}, None
            self.messages, self.robot_media = [], {}
            self._put_department(self._root())

    def _put_department(self, department: dict) -> None:
        self.departments[department["id"]] = department
        self.store.put_department(department)

    def _index(self, key: str, member: dict) -> None:
        if member["mobile"]:
            self._mobiles[mobile_key(member["mobile"])] = key
        if member["email"]:
            self._emails[member["email"].lower()] = key
        for department in member["department"]:
            self._in_department.setdefault(department, set()).add(key)
        if key not in self._position:  # the order self.members keeps, so an indexed read lists members in it
            self._position[key] = self._next_position
            self._next_position += 1

    def _unindex(self, member: dict) -> None:
        self._mobiles.pop(mobile_key(member["mobile"]), None)
        self._emails.pop(member["email"].lower(), None)
        for department in member["department"]:
            self._in_department.get(department, set()).discard(member["userid"].lower())

    def _put_member(self, member: dict, old: dict | None = None) -> None:
        key = member["userid"].lower()
        if old is not None:
            self._unindex(old)
        self.members[key] = member
        self._index(key, member)
        self.store.put_member(member)

    def _drop_member(self, key: str) -> None:
        member = self.members.pop(key)
        self._unindex(member)
        self._position.pop(key, None)
        self.store.drop_member(member["userid"])

    def state(self) -> dict:
        """The whole directory, every field, for GET /_emulator/state."""
        with self.lock:
            return {"corp_id": self.options.corp_id, "corp_name": self.departments[ROOT_ID]["name"],
                    "departments": [dict(d) for d in self._subtree(ROOT_ID)],
                    "members": [dict(m) for m in self.members.values()]}

    # ---- tokens -----------------------------------------------------------------------------------

    def gettoken(self, corpid: str | None, corpsecret: str | None) -> dict:
        if not corpid:
            raise ApiError(41002, "corpid missing")
        if not corpsecret:
            raise ApiError(41004, "corpsecret missing")
        if corpid != self.options.corp_id:
            raise ApiError(40013, "invalid corpid")
        given = corpsecret.encode("utf-8")  # compare_digest refuses non-ASCII str: compare bytes
        if secrets.compare_digest(given, self.options.secret.encode("utf-8")):
            caller: Caller = "sync"
        elif secrets.compare_digest(given, self.options.app_secret.encode("utf-8")):
            caller = "app"
        else:
            raise ApiError(40001, "invalid credential")
        with self.lock:
            now = time.time()
            token = self.tokens.get(self.current_token.get(caller, ""))
            if token is None or token.expires_at <= now:
                token = Token(secrets.token_urlsafe(48), caller, now + self.options.token_ttl)
                with self.store.transaction():
                    self.tokens[token.value] = token
                    self.current_token[caller] = token.value
                    self.store.put_token(token.value, caller, token.expires_at)
        return {"access_token": token.value, "expires_in": max(1, int(token.expires_at - now))}

    def caller(self, access_token: str | None) -> Caller:
        """Which secret a token belongs to; refuses missing, unknown and expired tokens."""
        if not access_token:
            raise ApiError(41001, "access_token missing")
        token = self.tokens.get(access_token)
        if token is None:
            raise ApiError(40014, "invalid access_token")
        if token.expires_at <= time.time():
            raise ApiError(42001, "access_token expired")
        return token.caller

    def expire_tokens(self) -> int:
        """Every token issued so far now answers 42001."""
        with self.lock, self.store.transaction():
            for token in self.tokens.values():
                token.expires_at = 0
                self.store.put_token(token.value, token.caller, 0)
            self.current_token = {}
            return len(self.tokens)

    def authorize(self, caller: Caller, api: str) -> None:
        """Which secret may call which API (writes: platform page 90199; 48009: 96255)."""
        if caller == "app" and (api in WRITES or api == "user/list_id"):
            raise ApiError(48002, "api forbidden")
        if caller == "sync" and api in APP_ONLY:
            raise ApiError(48002, "api forbidden, the contacts-sync secret cannot send messages")
        if caller == "sync" and self.options.restrict_details and api in DETAIL_READS:
            raise ApiError(48009, "api forbidden for contact detail reads from a new ip, "
                                  "use user/list_id and department/simplelist")

    # ---- members: writes ------------------------------------------------------------------------------

    def user_create(self, caller: Caller, body: dict) -> dict:
        userid = _check_userid(body.get("userid"))
        name = _check_name(_text(body, "name"))
        with self.lock:
            key = userid.lower()
            if key in self.members:
                raise ApiError(60102, "userid existed")
            member = {"userid": userid, "name": name, "department": [ROOT_ID], "order": [0],
                      "position": "", "mobile": "", "gender": "0", "email": "", "biz_mail": "",
                      "is_leader_in_dept": [0], "direct_leader": [], "avatar": "", "thumb_avatar": "",
                      "telephone": "", "alias": "", "address": "",
                      "open_userid": _open_userid(self.options.corp_id, userid),
                      "main_department": ROOT_ID, "extattr": {"attrs": []}, "status": 4,
                      "qr_code": f"https://open.work.weixin.qq.com/wwopen/userQRCode?vcode=vc{secrets.token_hex(8)}",
                      "external_position": "", "external_profile": {"external_attr": []}, "enable": 1}
            member = self._apply_member_fields(member, body, creating=True)
            with self.store.transaction():
                self._put_member(member)
        return {}

    def user_update(self, caller: Caller, body: dict) -> dict:
        userid = body.get("userid")
        if not isinstance(userid, str) or not userid:
            raise ApiError(40003, "invalid userid")
        with self.lock:
            old = self.members.get(userid.lower())
            if old is None:
                raise ApiError(60111, "userid not found")
            new_userid = body.get("new_userid")
            if new_userid and str(new_userid).lower() != old["userid"].lower():
                raise ApiError(301036, "userid not allowed to modify")
            member = self._apply_member_fields(dict(old), body, creating=False)
            with self.store.transaction():
                self._put_member(member, old)
        return {}

    def _apply_member_fields(self, member: dict, body: dict, creating: bool) -> dict:
        """Checks the fields `body` gives and returns `member` with them applied (platform page 90195)."""
        key = member["userid"].lower()
        if body.get("name") is not None:
            member["name"] = _check_name(_text(body, "name"))

        mobile = _text(body, "mobile")
        if mobile is not None:
            member["mobile"] = _check_mobile(mobile.strip())
            owner = self._mobiles.get(mobile_key(member["mobile"]))
            if member["mobile"] and owner is not None and owner != key:
                raise ApiError(60104, f"mobile existed:{self.members[owner]['userid']}")
        email = _text(body, "email")
        if email is not None:
            member["email"] = _check_email(email.strip())
            owner = self._emails.get(member["email"].lower())
            if member["email"] and owner is not None and owner != key:
                raise ApiError(60106, "email existed")
        if not member["mobile"] and not member["email"]:
            raise ApiError(60129, "missing mobile or email")

        # Tencent's own sample sends `"department": 2`: a bare integer is a list of one.
        departments = _int_list(body, "department", bare=True)
        if departments is not None and (departments or not creating):
            self._check_departments(departments)
        old_departments = member["department"]
        if departments:
            departments = list(dict.fromkeys(departments))
            member["department"] = departments
        count = len(member["department"])
        for name in ("is_leader_in_dept", "order"):
            if name == "order" and not creating and departments is None:
                continue  # on update, order applies only together with department: ignored, not checked (A7)
            given = _int_list(body, name)
            if given is not None:
                if len(given) != count:
                    raise ApiError(60132, f"{name} size not match department size")
                member[name] = given
            elif departments:  # keep each department's value, 0 for the new ones
                kept = dict(zip(old_departments, member[name]))
                member[name] = [kept.get(d, 0) for d in member["department"]]
        if "is_leader_in_dept" in body and any(v not in (0, 1) for v in member["is_leader_in_dept"]):
            raise bad_param("is_leader_in_dept must hold 0 or 1")

        main = body.get("main_department")
        if main is not None and main != "":
            main = _int(main, "main_department")
            if main not in member["department"]:
                raise bad_param("main_department not in department")
            member["main_department"] = main
        elif member["main_department"] not in member["department"]:
            member["main_department"] = member["department"][0]

        for name, check in (("position", _check_position), ("telephone", _check_telephone)):
            value = _text(body, name)
            if value is not None:
                member[name] = check(value.strip())
        for name in ("alias", "address", "biz_mail", "external_position"):
            value = _text(body, name)
            if value is not None:
                member[name] = value

        leaders = body.get("direct_leader")
        if leaders is not None:
            if not isinstance(leaders, list) or not all(isinstance(v, str) for v in leaders):
                raise bad_param("direct_leader must be a list of userids")
            if len(leaders) > 5:
                raise ApiError(60257, "direct_leader size exceed limit, at most 5")
            for leader in leaders:
                if leader.lower() not in self.members and leader.lower() != key:
                    raise ApiError(60111, f"userid not found: direct_leader {leader}")
            member["direct_leader"] = list(leaders)

        if body.get("gender") is not None:
            member["gender"] = _check_gender(body["gender"])
        if body.get("enable") is not None:
            member["enable"] = _check_enable(body["enable"])
        member["status"] = 2 if member["enable"] == 0 else 4
        if body.get("extattr") is not None:
            member["extattr"] = self._extattr(member, body["extattr"])
        if body.get("external_profile") is not None:
            if not isinstance(body["external_profile"], dict):
                raise bad_param("external_profile must be an object")
            member["external_profile"] = body["external_profile"]
        return member

    def _extattr(self, member: dict, extattr: Any) -> dict:
        """The member's custom fields once `extattr` is applied (wecom-api.md A8): the defined fields it
        names are set (an empty value clears one), the others keep their values, and names the corp
        has not defined are silently ignored (platform page 90195). Only values are kept; reads show
        every defined field (`_shown`)."""
        if not isinstance(extattr, dict):
            raise bad_param("extattr must be an object")
        attrs = extattr.get("attrs")
        if attrs is None:
            attrs = []
        if not isinstance(attrs, list):
            raise bad_param("extattr.attrs must be a list")
        defined = dict(custom_fields(self.options.custom_fields))
        values = _set_attrs(member)
        for attr in attrs:
            if not isinstance(attr, dict) or not isinstance(attr.get("name"), str):
                raise bad_param("extattr.attrs must hold objects with a name")
            kind = defined.get(attr["name"])
            if kind is None:
                continue
            kept = _custom_attr(attr, kind)
            if kept is None:
                values.pop(attr["name"], None)
            else:
                values[attr["name"]] = kept
        return {"attrs": list(values.values())}

    def _check_departments(self, departments: list[int]) -> None:
        if len(departments) > 100:
            raise ApiError(60110, "user department size exceed limit, at most 100")
        for department_id in departments:
            if department_id not in self.departments:
                raise ApiError(60123, f"invalid party id {department_id}")
        if not departments:
            raise ApiError(60123, "invalid party id, department is empty")

    def user_delete(self, caller: Caller, userid: str | None) -> dict:
        if not userid:
            raise ApiError(40003, "invalid userid")
        with self.lock:
            if userid.lower() not in self.members:
                raise ApiError(60111, "userid not found")
            with self.store.transaction():
                self._delete_members([userid.lower()])
        return {}

    def user_batchdelete(self, caller: Caller, body: dict) -> dict:
        userids = body.get("useridlist")
        if userids is None or userids == []:
            raise ApiError(40031, "invalid userid list, useridlist is empty")
        if not isinstance(userids, list) or not all(isinstance(u, str) for u in userids):
            raise bad_param("useridlist must be a list of userids")
        if len(userids) > 200:
            raise ApiError(40032, "invalid userid list size, at most 200")
        keys = list(dict.fromkeys(u.lower() for u in userids))
        with self.lock:
            unknown = [u for u in userids if u.lower() not in self.members]
            if unknown:
                raise ApiError(40031, f"invalid userid list, not found: {','.join(unknown[:5])}")
            with self.store.transaction():
                self._delete_members(keys)
        return {}

    def _delete_members(self, keys: list[str]) -> None:
        gone = {self.members[k]["userid"].lower() for k in keys}
        for key in keys:
            self._drop_member(key)
        # A deleted member no longer leads anyone.
        for member in list(self.members.values()):
            if any(leader.lower() in gone for leader in member["direct_leader"]):
                kept = [leader for leader in member["direct_leader"] if leader.lower() not in gone]
                self._put_member({**member, "direct_leader": kept}, member)
        for department in list(self.departments.values()):
            if any(leader.lower() in gone for leader in department["department_leader"]):
                kept = [leader for leader in department["department_leader"] if leader.lower() not in gone]
                self._put_department({**department, "department_leader": kept})

    # ---- members: reads -------------------------------------------------------------------------------

    def user_get(self, caller: Caller, userid: str | None) -> dict:
        if not userid:
            raise ApiError(40003, "invalid userid")
        member = self.members.get(userid.lower())
        if member is None:
            raise ApiError(60111, "userid not found")
        return self._shown(caller, member, custom_fields(self.options.custom_fields))

    def _shown(self, caller: Caller, member: dict, fields: list[tuple[str, CustomFieldKind]]) -> dict:
        """A member as user/get and user/list answer it; `fields` are the corp's custom fields."""
        shown = dict(member)
        shown["extattr"] = {"attrs": _custom_fields_shown(member, fields)}
        if caller == "app" and self.options.hide_private_fields:
            for name in PRIVATE_FIELDS:
                shown[name] = ""
            shown["gender"] = "0"
        return shown

    def _members_in(self, department_id: Any, fetch_child: Any) -> list[dict]:
        """The members user/list and user/simplelist answer: the department's own, or its subtree's."""
        if department_id is None or department_id == "":
            raise ApiError(60123, "invalid party id, department_id missing")
        department_id = _int(department_id, "department_id")
        with self.lock:
            if department_id not in self.departments:
                raise ApiError(60123, f"invalid party id {department_id}")
            # With ignore_fetch_child the emulator behaves as the current page reads (platform page 90201).
            if str(fetch_child).strip() == "1" and not self.options.ignore_fetch_child:
                wanted = {d["id"] for d in self._subtree(department_id)}
            else:
                wanted = {department_id}
            hidden = {userid.lower() for userid in self.options.hidden_from_lists}
            if len(wanted) == 1:
                keys = sorted(self._in_department.get(department_id, ()), key=self._position.__getitem__)
                return [self.members[key] for key in keys if key not in hidden]
            return [m for key, m in self.members.items()
                    if wanted.intersection(m["department"]) and key not in hidden]

    def user_simplelist(self, caller: Caller, department_id: Any, fetch_child: Any) -> dict:
        members = self._members_in(department_id, fetch_child)
        return {"userlist": [{"userid": m["userid"], "name": m["name"], "department": m["department"],
                              "open_userid": m["open_userid"]} for m in members]}

    def user_list(self, caller: Caller, department_id: Any, fetch_child: Any) -> dict:
        members = self._members_in(department_id, fetch_child)
        limit = self.options.max_list_members
        if limit and len(members) > limit:  # the platform's answer to a huge user/list (45029)
            raise ApiError(45029, "response size too large, use a smaller department or user/list_id")
        fields = custom_fields(self.options.custom_fields)
        return {"userlist": [self._shown(caller, m, fields) for m in members]}

    def user_list_id(self, caller: Caller, body: dict) -> dict:
        limit = body.get("limit", 1000)
        if limit is None:
            limit = 1000
        limit = _int(limit, "limit")
        if not 1 <= limit <= 10000:
            raise bad_param("limit must be 1 to 10000")
        cursor = body.get("cursor") or ""
        if not isinstance(cursor, str):
            raise bad_param("cursor must be a string")
        after: tuple[str, int] | None = None
        if cursor:
            try:
                key, department = bytes.fromhex(cursor).decode("utf-8").rsplit("\n", 1)
                after = (key, int(department))
            except ValueError:
                raise bad_param("invalid cursor") from None
        with self.lock:
            rows = sorted((key, department, m["userid"])
                          for key, m in self.members.items() for department in m["department"])
        if after is not None:
            rows = [row for row in rows if (row[0], row[1]) > after]
        page, rest = rows[:limit], rows[limit:]
        next_cursor = ""
        if rest:
            last = page[-1]
            next_cursor = f"{last[0]}\n{last[1]}".encode().hex()
        return {"next_cursor": next_cursor,
                "dept_user": [{"userid": userid, "department": department} for _, department, userid in page]}

    # ---- members: lookups by mobile or email -----------------------------------------------------------

    def user_getuserid(self, caller: Caller, body: dict) -> dict:
        """The userid of the member with this mobile, the same as `fields.mobile_key` compares them
        (platform page 95402)."""
        with self.lock:
            self._check_lookups("user/getuserid")
            mobile = _text(body, "mobile")
            if not mobile or not MOBILE_RE.match(mobile.strip()):
                raise bad_param("mobile missing or not a mobile number")
            return self._found("user/getuserid", self._mobiles.get(mobile_key(mobile)))

    def user_get_userid_by_email(self, caller: Caller, body: dict) -> dict:
        """The userid of the member with this email, compared without case: `email_type` 1 (the
        default) the corp mail (biz_mail), 2 the personal email (platform page 96268)."""
        with self.lock:
            self._check_lookups("user/get_userid_by_email")
            email = _text(body, "email")
            email_type = body.get("email_type")
            email_type = 1 if email_type is None else _int(email_type, "email_type")
            if email_type not in (1, 2):
                raise bad_param("email_type must be 1 (biz_mail) or 2 (email)")
            if not email or not _email_shaped(email.strip()):
                raise bad_param("email missing or not an email address")
            wanted = email.strip().lower()
            if email_type == 2:
                key = self._emails.get(wanted)
            else:
                key = next((k for k, m in self.members.items() if m["biz_mail"].strip().lower() == wanted), None)
            return self._found("user/get_userid_by_email", key)

    def _check_lookups(self, api: str) -> None:
        """45009 once the failed lookups of `api` exceed 20% of the corp's members (at least 1): the
        platform then blocks the API for a day (platform page 96268), the emulator until a reset."""
        failed = self._failed_lookups.get(api, 0)
        if failed > 1 and failed * 5 > len(self.members):  # failed > max(1, members / 5), in integers
            self._blocked_lookups.add(api)  # for good: more members later do not lift the block
        if api in self._blocked_lookups:
            raise ApiError(45009, "api freq out of limit, too many lookups of unknown members "
                                  "(more than 20% of the corp's members)")

    def _found(self, api: str, key: str | None) -> dict:
        """The answer of a lookup; one that finds nobody answers 46004 and is counted as failed."""
        if key is None:
            self._failed_lookups[api] = self._failed_lookups.get(api, 0) + 1
            raise ApiError(46004, "user not found")
        return {"userid": self.members[key]["userid"]}

    # ---- the async batch import (wecom-api.md A9) -------------------------------------------------

    def media_upload(self, caller: Caller, media_type: str | None, data: bytes | None, filename: str = "") -> dict:
        """Keeps an uploaded file (`data`, None when the request had no `media` part) for `media_ttl`."""
        if media_type not in MEDIA_TYPES:
            raise ApiError(40005, "invalid media type, must be file, image, voice or video")
        if data is None:
            raise ApiError(41005, "media data missing, a multipart/form-data part named media")
        if not MIN_MEDIA_BYTES < len(data) <= MAX_MEDIA_BYTES:
            raise ApiError(40006, f"invalid media size, more than {MIN_MEDIA_BYTES} bytes and at most 20 MB")
        now = time.time()
        media = StoredMedia("3" + secrets.token_urlsafe(48), media_type, now, data, filename)
        with self.lock, self.store.transaction():
            for expired in [m.media_id for m in self.media.values() if not self._valid(m, now)]:
                del self.media[expired]  # so that uploads over days do not pile up
                self.store.drop_media(expired)
            self.media[media.media_id] = media
            self.store.put_media(media)
        return {"type": media_type, "media_id": media.media_id, "created_at": str(int(now))}

    def _valid(self, media: StoredMedia, now: float) -> bool:
        return now < media.created_at + self.options.media_ttl

    def batch_syncuser(self, caller: Caller, body: dict) -> dict:
        """Queues a job that creates and updates the members of an uploaded file (`to_invite` and
        `callback` are accepted and have no effect)."""
        media_id = body.get("media_id")
        media = self.media.get(media_id) if isinstance(media_id, str) else None
        if media is None or not self._valid(media, time.time()):
            raise ApiError(40007, "invalid media_id, unknown or expired")
        rows = read_sync_file(media.data)  # before the lock: a 20 MB file takes a while to read
        job = Job("jobid_" + secrets.token_urlsafe(24), rows)
        with self.lock, self.store.transaction():
            self.jobs[job.jobid] = job
            self.store.put_job(job.jobid, rows)
            self._purge_old_jobs()
        return {"jobid": job.jobid}

    def batch_getresult(self, caller: Caller, jobid: str | None) -> dict:
        """A job's status (1 queued, 2 running, 3 done) and progress; its rows' results once done."""
        with self.lock:
            job = self.jobs.get(jobid or "")
            if job is None:
                raise ApiError(40088, "jobid not found")
            if jobid in self._old_jobs():
                raise ApiError(40089, f"job result expired, only the latest {KEPT_JOB_RESULTS} jobs' results are kept")
            total, done = len(job.rows), len(job.results)
            status = 3 if job.done else 2 if done or self.running_job == jobid else 1
            answer: dict[str, Any] = {"status": status, "type": "sync_user", "total": total,
                                      "percentage": done * 100 // total}
            if job.done:
                answer["result"] = list(job.results)
            return answer

    def next_batch_job(self) -> str | None:
        """The first job in submission order that is not done, now the running one (for batch.py's runner)."""
        with self.lock:
            self.running_job = next((job.jobid for job in self.jobs.values() if not job.done), None)
            return self.running_job

    def run_batch_rows(self, jobid: str, limit: int) -> int:
        """Runs up to `limit` more rows of the job; answers how many ran (0: the job is done or gone).

        Each row is a user/update of the member its 帐号 names, or a user/create when there is none,
        through the same methods as the APIs, so it meets the same rules and errcodes. The rows'
        results are stored in the same transaction as their members, so a restarted emulator goes on
        from the first row without a result and runs none twice.
        """
        with self.lock:
            job = self.jobs.get(jobid)
            if job is None or job.done:
                return 0
            fields = custom_fields(self.options.custom_fields)
            start = len(job.results)
            with self.store.transaction():
                for index in range(start, min(len(job.rows), start + limit)):
                    result = self._sync_row(job.rows[index], fields)
                    job.results.append(result)
                    self.store.put_job_result(jobid, index, result)
                if job.done:
                    self.running_job = None
                    self._purge_old_jobs()
            return len(job.results) - start

    def _sync_row(self, cells: dict[str, str], fields: list[tuple[str, CustomFieldKind]]) -> dict:
        userid = cells.get(USERID_COLUMN, "")
        try:
            body = sync_body(cells, fields)
            if userid.lower() in self.members:
                self.user_update("sync", body)
            else:
                self.user_create("sync", body)
        except ApiError as error:
            return {"userid": userid, "errcode": error.errcode, "errmsg": error.text}
        return {"userid": userid, "errcode": 0, "errmsg": "ok"}

    def _old_jobs(self) -> list[str]:
        """The jobs whose results are no longer kept: the finished ones but the latest KEPT_JOB_RESULTS (a job
        still queued or running has no result yet that could have been dropped)."""
        finished = [jobid for jobid, job in self.jobs.items() if job.done]
        return finished[:-KEPT_JOB_RESULTS]

    def _purge_old_jobs(self) -> None:
        """Drops the rows and results of old jobs once they are done (their jobids stay, for 40089)."""
        for jobid in self._old_jobs():
            job = self.jobs[jobid]
            if job.done and not job.purged:
                job.rows, job.results, job.purged = [], [], True
                self.store.purge_job(jobid)

    # ---- messages (wecom-api.md A10) ---------------------------------------------------------------

    def robot(self, key: str | None) -> Robot:
        """The group robot webhook key `key` names; a missing or unknown key answers 93000, whose text
        never holds it. Every key is compared in constant time."""
        keys = self.options.webhook_keys
        given = (key or "").encode("utf-8")
        found = [index for index, known in enumerate(keys) if secrets.compare_digest(given, known.encode("utf-8"))]
        if not key or not found:
            raise ApiError(93000, "invalid webhook url, the key is unknown")
        return Robot(keys[found[0]], robot_labels(keys)[found[0]])

    def webhook_upload_media(self, robot: Robot, media_type: str | None, data: bytes | None,
                             filename: str = "") -> dict:
        """Takes a file for the robot's `file` messages (`data`, None when the request had no `media`
        part): 5 bytes to 20 MB, valid for `media_ttl`, for this robot only."""
        if media_type != "file":
            raise ApiError(40005, "invalid media type, a robot uploads type=file")
        if data is None:
            raise ApiError(41005, "media data missing, a multipart/form-data part named media")
        if not MIN_ROBOT_MEDIA_BYTES <= len(data) <= MAX_MEDIA_BYTES:
            raise ApiError(40006, f"invalid media size, {MIN_ROBOT_MEDIA_BYTES} bytes to 20 MB")
        now = time.time()
        media = RobotMedia("3" + secrets.token_urlsafe(48), robot.key, now, filename, len(data))
        with self.lock:
            ttl = self.options.media_ttl
            for expired in [m.media_id for m in self.robot_media.values() if now >= m.created_at + ttl]:
                del self.robot_media[expired]
            self.robot_media[media.media_id] = media
        return {"type": "file", "media_id": media.media_id, "created_at": str(int(now))}

    def webhook_send(self, robot: Robot, body: dict) -> dict:
        """A group robot's message: text (at most 2048 bytes), markdown (4096) or a file it uploaded."""

        def robot_file(media_id: str) -> dict:
            media = self.robot_media.get(media_id)
            if media is None or media.key != robot.key or time.time() >= media.created_at + self.options.media_ttl:
                raise ApiError(40007, "invalid media_id, unknown, expired or uploaded by another robot")
            return {"name": media.filename, "size": media.size}

        msgtype, shown = _message(body, ROBOT_CONTENT_BYTES, robot_file)
        self._keep_message({"channel": "robot", "robot": robot.label, "msgtype": msgtype, **shown})
        return {}

    def message_send(self, caller: Caller, body: dict) -> dict:
        """An app's message to members (`touser` "a|b" or "@all"), departments (`toparty`) or tags
        (`totag`; the emulator has none). Unknown recipients are reported, not refused."""
        agentid = body.get("agentid")
        try:
            agent = _int(agentid, "agentid") if agentid is not None else None
        except ApiError:
            agent = None
        if agent is None or agent != self.options.agent_id:
            raise ApiError(40056, "invalid agentid")
        touser, toparty, totag = (_recipients(body, name) for name in ("touser", "toparty", "totag"))
        if not (touser or toparty or totag):
            raise bad_param("touser, toparty or totag must name a recipient")

        def app_file(media_id: str) -> dict:
            media = self.media.get(media_id)
            if media is None or not self._valid(media, time.time()):
                raise ApiError(40007, "invalid media_id, unknown or expired")
            return {"name": media.filename, "size": len(media.data)}

        msgtype, shown = _message(body, APP_CONTENT_BYTES, app_file)
        with self.lock:
            invaliduser = [u for u in touser if u != "@all" and u.lower() not in self.members]
            invalidparty = [p for p in toparty
                            if not (re.fullmatch(r"[0-9]{1,18}", p) and int(p) in self.departments)]
        invalid = {"invaliduser": "|".join(invaliduser), "invalidparty": "|".join(invalidparty),
                   "invalidtag": "|".join(totag)}
        self._keep_message({"channel": "app", "agentid": agent, "touser": touser, "toparty": toparty,
                            "totag": totag, "msgtype": msgtype, **shown, **invalid})
        return {**invalid, "unlicenseduser": "", "msgid": secrets.token_urlsafe(24)}

    def _keep_message(self, message: dict) -> None:
        with self.lock:
            self.messages.append({**message, "time": int(time.time())})
            del self.messages[:-KEPT_MESSAGES]

    def received_messages(self) -> list[dict]:
        """The messages received since start or reset, oldest first (the latest KEPT_MESSAGES)."""
        with self.lock:
            return [dict(message) for message in self.messages]

    # ---- departments ----------------------------------------------------------------------------

    def _children(self, department_id: int) -> list[dict]:
        children = [d for d in self.departments.values() if d["parentid"] == department_id]
        return sorted(children, key=_sibling_order)

    def _subtree(self, department_id: int) -> list[dict]:
        """The department and its descendants, parents before children."""
        # One pass to group children by parent: asking `_children` per department would rescan them all.
        children: dict[int, list[dict]] = {}
        for department in self.departments.values():
            children.setdefault(department["parentid"], []).append(department)
        out, stack = [], [self.departments[department_id]]
        while stack:
            department = stack.pop()
            out.append(department)
            # Ids are unique, so no two siblings sort equal: reverse=True is the same order as reversed().
            stack.extend(sorted(children.get(department["id"], []), key=_sibling_order, reverse=True))
        return out

    def _depth(self, department_id: int) -> int:
        depth = 1
        while department_id != ROOT_ID:
            department_id = self.departments[department_id]["parentid"]
            depth += 1
        return depth

    def _height(self, department_id: int) -> int:
        children = self._children(department_id)
        return 1 + max((self._height(c["id"]) for c in children), default=0)

    def _check_sibling_name(self, parentid: int, name: str, own_id: int | None) -> None:
        for sibling in self.departments.values():
            if sibling["parentid"] == parentid and sibling["name"] == name and sibling["id"] != own_id:
                raise ApiError(60008, f"department existed: {sibling['id']} is existed")

    def _department_fields(self, department: dict, body: dict) -> None:
        if body.get("name_en") is not None:
            name_en = body["name_en"]
            department["name_en"] = _check_department_name(name_en) if name_en != "" else ""
        if body.get("order") is not None:
            order = _int(body["order"], "order")
            if not 0 <= order < 2**32:
                raise bad_param("order must be 0 to 4294967295")
            department["order"] = order
        leaders = body.get("department_leader")
        if leaders is not None:
            if not isinstance(leaders, list) or not all(isinstance(v, str) for v in leaders):
                raise bad_param("department_leader must be a list of userids")
            for leader in leaders:
                if leader.lower() not in self.members:
                    raise ApiError(60111, f"userid not found: department_leader {leader}")
            department["department_leader"] = list(leaders)

    def department_create(self, caller: Caller, body: dict) -> dict:
        name = _check_department_name(body.get("name"))
        parentid = body.get("parentid")
        with self.lock:
            if parentid is None or parentid == "":
                raise ApiError(60004, "parent department not found, parentid missing")
            parentid = _int(parentid, "parentid")
            if parentid not in self.departments:
                raise ApiError(60004, f"parent department not found: {parentid}")
            given_id = body.get("id")
            if given_id is not None and given_id != "":
                given_id = _int(given_id, "id")
                if given_id <= 1 or given_id >= 2**31:
                    raise bad_param("id must be an integer greater than 1")
                if given_id in self.departments:
                    raise ApiError(60008, f"department existed: {given_id} is existed")
            else:
                given_id = max(self.departments) + 1
            self._check_sibling_name(parentid, name, None)
            if self._depth(parentid) + 1 > MAX_DEPTH:
                raise ApiError(81002, f"department level exceed limit, at most {MAX_DEPTH}")
            department = {"id": given_id, "name": name, "name_en": "", "department_leader": [],
                          "parentid": parentid, "order": 0}
            self._department_fields(department, body)
            with self.store.transaction():
                self._put_department(department)
        return {"id": given_id}

    def department_update(self, caller: Caller, body: dict) -> dict:
        if body.get("id") is None or body.get("id") == "":
            raise ApiError(60003, "department not found, id missing")
        department_id = _int(body["id"], "id")
        with self.lock:
            old = self.departments.get(department_id)
            if old is None:
                raise ApiError(60003, f"department not found: {department_id}")
            department = dict(old)
            if body.get("name") is not None:
                department["name"] = _check_department_name(body["name"])
            if body.get("parentid") is not None and body.get("parentid") != "":
                parentid = _int(body["parentid"], "parentid")
                if parentid != old["parentid"]:
                    if department_id == ROOT_ID:
                        raise bad_param("the root department cannot move")
                    if parentid not in self.departments:
                        raise ApiError(60004, f"parent department not found: {parentid}")
                    if parentid in {d["id"] for d in self._subtree(department_id)}:
                        raise ApiError(60010, "department circle exists, cannot move a department "
                                              "under itself or its descendant")
                    if self._depth(parentid) + self._height(department_id) > MAX_DEPTH:
                        raise ApiError(81002, f"department level exceed limit, at most {MAX_DEPTH}")
                department["parentid"] = parentid
            if department_id != ROOT_ID:
                self._check_sibling_name(department["parentid"], department["name"], department_id)
            self._department_fields(department, body)
            with self.store.transaction():
                self._put_department(department)
        return {}

    def department_delete(self, caller: Caller, department_id: Any) -> dict:
        if department_id is None or department_id == "":
            raise ApiError(60003, "department not found, id missing")
        department_id = _int(department_id, "id")
        with self.lock:
            if department_id == ROOT_ID:
                raise ApiError(60007, "not allow to delete root department")
            if department_id not in self.departments:
                raise ApiError(60003, f"department not found: {department_id}")
            if self._children(department_id):
                raise ApiError(60006, "department contains sub-department")
            if any(department_id in m["department"] for m in self.members.values()):
                raise ApiError(60005, "department contains user")
            with self.store.transaction():
                del self.departments[department_id]
                self.store.drop_department(department_id)
        return {}

    def _department_or_tree(self, department_id: Any) -> list[dict]:
        with self.lock:
            if department_id is None or department_id == "":
                return self._subtree(ROOT_ID)
            department_id = _int(department_id, "id")
            if department_id not in self.departments:
                raise ApiError(60003, f"department not found: {department_id}")
            return self._subtree(department_id)

    def department_list(self, caller: Caller, department_id: Any) -> dict:
        return {"department": [dict(d) for d in self._department_or_tree(department_id)]}

    def department_simplelist(self, caller: Caller, department_id: Any) -> dict:
        return {"department_id": [{"id": d["id"], "parentid": d["parentid"], "order": d["order"]}
                                  for d in self._department_or_tree(department_id)]}

    def department_get(self, caller: Caller, department_id: Any) -> dict:
        if department_id is None or department_id == "":
            raise bad_param("id missing")
        department = self.departments.get(_int(department_id, "id"))
        if department is None:
            raise ApiError(60003, f"department not found: {department_id}")
        return {"department": dict(department)}
