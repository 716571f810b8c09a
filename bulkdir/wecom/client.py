"""The WeCom client: one method per API, tokens, retries and rate limits, safe to share between threads.

What a call goes through:

    rate limiter of its API (evenly spaced slots; waits out a 45009 block)
      → access token (memory, then the 0600 cache file, then gettoken)
        → HTTP with a timeout, on one pooled requests.Session
          → errcode 0: the answer
            40001/40014/42001: a new token, once
            48009 on a read with the contacts-sync secret and an app secret set: the app secret, from then on
            -1/6000/45033, HTTP 5xx or 429, timeout, dropped connection: jittered exponential backoff, bounded
            another HTTP 4xx: WeComNetworkError at once (a wrong base URL; asking again cannot help)
            45009: wait out the block, halve that API's rate, call again (bounded too)
            anything else: WeComError

Errors (see bulkdir/errors.py for the whole tree):

    WeComError              the platform answered a non-zero errcode: errcode, errmsg, api, hint_en, hint_zh
    └── WeComNetworkError   no usable answer after every attempt (timeouts, refused connections, HTTP errors);
                            errcode None

No message, repr or log line of this module holds a secret or a token: the URLs that carry them are
never formatted into text, and the exceptions of requests (whose text holds the URL) are not chained.
"""

from __future__ import annotations

import functools
import logging
import random
import re
import threading
import time
from pathlib import Path
from typing import Any, Callable, Collection, Iterator, Literal, NamedTuple

import requests
from requests.adapters import HTTPAdapter

from bulkdir.config import SETTINGS_SOURCES, Settings, missing_setting_message, user_dirs
from bulkdir.errors import ConfigError, QuotaBlockedError, Text, WeComError, WeComNetworkError
from bulkdir.wecom import codes
from bulkdir.wecom.ratelimit import HOUR, RateLimiter, WaitCancelled
from bulkdir.wecom.streamed import SharedKeys, load_object
from bulkdir.wecom.tokens import TokenCache

log = logging.getLogger("bulkdir.wecom")

Secret = Literal["sync", "app"]
SECRET_SETTING: dict[Secret, str] = {"sync": "secret", "app": "app_secret"}  # which setting holds each secret
# The reads that the contacts-sync secret may be refused from a new IP since 2022 (48009).
DETAIL_READS = frozenset({"user/get", "user/list", "department/list", "department/get"})
READS = DETAIL_READS | {"user/simplelist", "department/simplelist"}


class _NoAnswer(NamedTuple):
    """Why a call got no usable answer, in a few words (never the URL), and whether to try again."""

    reason: str
    retry: bool  # timeouts, dropped connections, HTTP 5xx and 429 pass; another HTTP 4xx means a wrong URL


# An answer read as it arrives: the name of its long list, and what to do with each element.
Streamed = tuple[str, Callable[[dict], Any]]
_STREAM_CHUNK = 1 << 20

_SECRET_IN_URL = re.compile(r"(corpsecret|access_token|key)=[^&\s\"']*")  # key: a group robot's webhook key


class _HideSecretsInUrls(logging.Filter):
    """urllib3 logs request lines at DEBUG; the URLs carry the secret (gettoken) or the token."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = _SECRET_IN_URL.sub(r"\1=***", str(record.msg))
        if record.args:
            record.args = tuple(_SECRET_IN_URL.sub(r"\1=***", a) if isinstance(a, str) else a
                                for a in record.args)
        return True


logging.getLogger("urllib3.connectionpool").addFilter(_HideSecretsInUrls())


class WeComClient:
    """A client of the WeCom contacts API for one corp, shared by a pool of worker threads.

    >>> client = WeComClient(settings)     # settings: Settings(corp_id="ww...", secret="...", ...)
    >>> client.department_create({"name": "市场部", "parentid": 1})
    4
    >>> client.user_get("zhangsan")["name"]
    '张三'

    Knobs for tests and tools: `max_attempts` (every call, 5), `backoff` (first retry delay in seconds,
    doubled each time, with jitter), `block_seconds` (how long a 45009 block lasts: 60 on the platform),
    `hour` (the length of the hour the hourly limit counts: 3600 but in tests),
    `cache_dir` (token files; the user's cache folder by default), `token_scope` (what the cached token
    is for, besides corp id and secret; the base URL by default).
    """

    def __init__(self, settings: Settings, *, max_attempts: int = 5, backoff: float = 0.5,
                 block_seconds: float = 60.0, cache_dir: Path | None = None,
                 token_scope: str | None = None, hour: float = HOUR) -> None:
        settings.require("corp_id", "secret")
        self.settings = settings
        self.max_attempts = max(1, max_attempts)
        self.backoff = backoff
        self.block_seconds = block_seconds
        self.hour = hour  # the platform's hour: shorter only in tests, with the emulator's
        self.limits = RateLimiter(settings.rate, settings.rate_per_hour, hour=hour)
        self._session = _session_for(settings.base_url)
        pool = settings.workers + 2  # the workers, and a reader beside them (doctor, snapshots)
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool, max_retries=0)
        self._session.mount("http://", adapter)
        self._session.mount("https://", adapter)
        self._session.headers["User-Agent"] = "bulkdir"
        cache_dir = cache_dir or user_dirs().cache
        base = token_scope or settings.base_url  # the sandbox's port changes, its tokens do not
        # Which platform this client talks to: the base URL, or for the sandbox its state file. A run is
        # resumed only on the same corp at the same endpoint (a rehearsal may share a production corp id).
        self.endpoint = base
        self._tokens: dict[Secret, TokenCache] = {
            secret: TokenCache(cache_dir, base, settings.corp_id or "", getattr(settings, name),
                               functools.partial(self._fetch_token, secret))
            for secret, name in SECRET_SETTING.items() if getattr(settings, name)}
        self._lock = threading.Lock()
        self._random = random.Random()
        # Set once the contacts-sync secret met 48009: detail reads go with the app secret from then on.
        self.details_via_app = False
        self.calls = 0  # HTTP requests sent, retries included
        self._closed_callbacks: list[Callable[[], None]] = []

    def __repr__(self) -> str:
        return f"WeComClient({self.settings!r})"

    # ---- the APIs ---------------------------------------------------------------------------------

    def gettoken(self, secret: Secret = "sync") -> str:
        """The access token of the contacts-sync (or app) secret, cached; fetched only when needed."""
        return self._token_cache(secret).get()

    def user_create(self, body: dict) -> None:
        """Create a member (`body` as user/create takes it)."""
        self._post("user/create", body)

    def user_get(self, userid: str, *, secret: Secret | None = None) -> dict:
        """One member, every field (userid compared without case)."""
        return _without_status(self._get("user/get", {"userid": userid}, secret=secret))

    def user_update(self, body: dict) -> None:
        """Change the fields `body` names of member `body["userid"]`; others stay as they are."""
        self._post("user/update", body)

    def user_delete(self, userid: str) -> None:
        """Delete one member."""
        self._get("user/delete", {"userid": userid})

    def user_batchdelete(self, userids: list[str]) -> None:
        """Delete up to 200 members in one call; any unknown userid makes the whole call fail (40031)."""
        self._post("user/batchdelete", {"useridlist": list(userids)})

    # ---- the async batch import (wecom-api.md A9)

    def media_upload(self, data: bytes, filename: str) -> str:
        """Upload a file for the batch import; its media_id (valid for 3 days)."""
        answer = self._call("POST", "media/upload", params={"type": "file"},
                            files={"media": (filename, data, "text/csv")})
        return str(answer["media_id"])

    def batch_syncuser(self, media_id: str) -> str:
        """Submit an uploaded member file as a batch job (members in the file are created or updated, a blank
        cell leaving the field as it is; nobody is invited); its jobid."""
        return str(self._post("batch/syncuser", {"media_id": media_id, "to_invite": False})["jobid"])

    def batch_getresult(self, jobid: str) -> dict:
        """A batch job's status (1 queued, 2 running, 3 done), percentage and, once done, a result per row."""
        return self._get("batch/getresult", {"jobid": jobid})

    # ---- messages (wecom-api.md A10)

    def message_send(self, body: dict) -> dict:
        """An app message (with the app secret's token: the contacts-sync secret may not send, 48002); the
        answer names the users it could not reach (`invaliduser`)."""
        return self._call("POST", "message/send", body=body, secret="app")

    def webhook_send(self, key: str, body: dict) -> None:
        """A group robot's message. The key is the robot's credential, a secret: never in a message or a log."""
        self._exchange("POST", "webhook/send", lambda: {"key": key}, body)

    def webhook_upload(self, key: str, data: bytes, filename: str) -> str:
        """A file for a robot's file message; its media_id."""
        answer = self._exchange("POST", "webhook/upload_media", lambda: {"key": key, "type": "file"}, None,
                                files={"media": (filename, data, "application/octet-stream")})
        return str(answer["media_id"])

    def user_simplelist(self, department_id: int, fetch_child: bool = False, *,
                        secret: Secret | None = None) -> list[dict]:
        """userid, name and departments of the members of a department (and its subtree)."""
        params = {"department_id": department_id, "fetch_child": int(fetch_child)}
        return self._get("user/simplelist", params, secret=secret).get("userlist", [])

    def user_list(self, department_id: int, fetch_child: bool = False, *, secret: Secret | None = None,
                  without: Collection[str] = ()) -> list[dict]:
        """Every field of the members of a department (and its subtree), but the fields named in `without`.

        The answer is read as it arrives, each member trimmed as it is read: the list of a whole corp
        of 100,000 is never held as one text (see streamed.py)."""
        params = {"department_id": department_id, "fetch_child": int(fetch_child)}

        members, nested = SharedKeys(without), SharedKeys()

        def shared(value: Any) -> Any:  # custom fields: lists of objects of objects
            if isinstance(value, dict):
                return {key: shared(item) for key, item in nested(value).items()}
            return [shared(item) for item in value] if isinstance(value, list) else value

        def trimmed(member: dict) -> dict:
            member = members(member)  # a new dict: one that lost keys to pop() would keep its size
            if member.get("extattr"):
                member["extattr"] = shared(member["extattr"])
            return member

        answer = self._call("GET", "user/list", params=params, secret=secret, streamed=("userlist", trimmed))
        return answer.get("userlist", [])

    def user_list_id(self, limit: int = 10000) -> Iterator[dict]:
        """Every (userid, department) row of the corp, page after page (contacts-sync secret only).

        >>> sorted({row["userid"] for row in client.user_list_id()})
        ['lisi', 'zhangsan']
        """
        cursor = ""
        while True:
            answer = self._post("user/list_id", {"cursor": cursor, "limit": limit})
            yield from answer.get("dept_user", [])
            cursor = answer.get("next_cursor") or ""
            if not cursor:
                return

    def user_getuserid(self, mobile: str) -> str:
        """The userid of the member with this mobile (spaces, `-` and a leading +86 do not matter).

        Nobody has it: WeComError 46004. Lookups that find nobody count against the API: past 20% of
        the corp's members the platform blocks it for a day (45009).

        >>> client.user_getuserid("+86 138-0000-0001")
        'zhangsan'
        """
        return str(self._call("POST", "user/getuserid", body={"mobile": mobile}, daily_block=True)["userid"])

    def user_get_userid_by_email(self, email: str, email_type: int = 1) -> str:
        """The userid of the member with this email: `email_type` 1 the corp mail (biz_mail), 2 the personal one.

        Nobody has it: WeComError 46004; failed lookups count against the API as for `user_getuserid`.

        >>> client.user_get_userid_by_email("LiSi@example.com", email_type=2)
        'lisi'
        """
        return str(self._call("POST", "user/get_userid_by_email", body={"email": email, "email_type": email_type},
                              daily_block=True)["userid"])

    def department_create(self, body: dict) -> int:
        """Create a department; returns its id."""
        return int(self._post("department/create", body)["id"])

    def department_update(self, body: dict) -> None:
        """Change the fields `body` names of department `body["id"]`."""
        self._post("department/update", body)

    def department_delete(self, id: int) -> None:
        """Delete an empty department."""
        self._get("department/delete", {"id": id})

    def department_list(self, id: int | None = None, *, secret: Secret | None = None) -> list[dict]:
        """A department and all below it, every field (the whole tree without `id`)."""
        params = {} if id is None else {"id": id}
        return self._get("department/list", params, secret=secret).get("department", [])

    def department_simplelist(self, id: int | None = None, *, secret: Secret | None = None) -> list[dict]:
        """Ids, parents and orders of a department and all below it (no names)."""
        params = {} if id is None else {"id": id}
        return self._get("department/simplelist", params, secret=secret).get("department_id", [])

    def department_get(self, id: int, *, secret: Secret | None = None) -> dict:
        """One department, every field."""
        return self._get("department/get", {"id": id}, secret=secret).get("department", {})

    def close(self) -> None:
        """Close the HTTP connections (and, for the sandbox, stop its server)."""
        self._session.close()
        while self._closed_callbacks:
            self._closed_callbacks.pop()()

    def on_close(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the client closes."""
        self._closed_callbacks.append(callback)

    def __enter__(self) -> WeComClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def token_fetches(self) -> int:
        """How many tokens this client fetched from the platform (not from its cache)."""
        return sum(cache.fetches for cache in self._tokens.values())

    def has_app_secret(self) -> bool:
        return "app" in self._tokens

    # ---- the machinery ----------------------------------------------------------------------------

    def _get(self, api: str, params: dict, *, secret: Secret | None = None) -> dict:
        return self._call("GET", api, params=params, secret=secret)

    def _post(self, api: str, body: dict, *, secret: Secret | None = None) -> dict:
        return self._call("POST", api, body=body, secret=secret)

    def _token_cache(self, secret: Secret) -> TokenCache:
        cache = self._tokens.get(secret)
        if cache is None:
            raise ConfigError(missing_setting_message("app_secret"))
        return cache

    def _call(self, method: str, api: str, *, params: dict | None = None, body: dict | None = None,
              secret: Secret | None = None, daily_block: bool = False, files: dict | None = None,
              streamed: Streamed | None = None) -> dict:
        """One API call with the token, retries and limits described in the module docstring.

        `daily_block`: a 45009 of this API is the platform's day-long block of lookups that found nobody
        (wecom-api.md A8), not the minute's rate limit: raised at once, never waited out. `streamed`: the
        answer's long list and what to do with each element as it is read (streamed.load_object)."""
        may_switch = secret is None  # a caller that names the secret gets that secret's answer
        chosen: Secret = secret or ("app" if self.details_via_app and api in DETAIL_READS else "sync")
        limiter = self.limits.for_api(api)
        renewed = False
        token = ""

        def params_now() -> dict:
            nonlocal token
            limiter.wait()
            token = self._token_cache(chosen).get()
            return {**(params or {}), "access_token": token}

        def not_the_calls_fault(errcode: int, answered_at: float) -> str | None:
            nonlocal renewed, chosen
            if errcode != codes.BLOCKED:
                limiter.got_through()
            if errcode in codes.RENEW_TOKEN and not renewed:
                # The platform may drop a token before it expires: fetch a new one, once per call.
                renewed = True
                self._token_cache(chosen).renew(token)
                return "again"
            if (errcode == codes.DETAIL_READS_REFUSED and may_switch and chosen == "sync" and api in READS
                    and self.has_app_secret()):
                log.info("%s: the contacts-sync secret may not read details (48009); using the app secret", api)
                with self._lock:
                    self.details_via_app = True
                chosen = "app"
                return "again"
            if errcode == codes.BLOCKED and daily_block:
                return None
            if errcode == codes.BLOCKED:
                # Recorded even when this call gives up, so that no other thread calls the blocked API.
                limiter.block(self.block_seconds, answered_at)
                waited = limiter.blocked_since(answered_at)
                hourly = waited >= self.block_seconds  # still refused after a minute's block: not the minute's
                if waited >= self.settings.max_wait:
                    free_in = self.hour - waited if hourly else limiter.blocked_for()
                    error = QuotaBlockedError(api, "api freq out of limit", waited=waited,
                                              max_wait=self.settings.max_wait, free_at=_clock_time(free_in),
                                              hourly=hourly)
                    limiter.give_up(error)  # the other threads waiting for this API stop waiting too
                    raise error
                if hourly:
                    log.warning("%s is still blocked by WeCom (45009) after %.0f s: its hourly quota is used up; "
                                "it should be free again by %s. Waiting up to %.0f s in all (--max-wait).",
                                api, waited, _clock_time(self.hour - waited), self.settings.max_wait)
                else:
                    log.warning("%s is blocked by WeCom (45009); waiting %.0f s, then %.0f calls/min",
                                api, limiter.blocked_for(), limiter.rate)
                return "wait"  # the limiter holds every thread until the block ends
            return None

        answer = self._exchange(method, api, params_now, body, not_the_calls_fault, files=files, streamed=streamed)
        limiter.got_through()
        return answer

    def _exchange(self, method: str, api: str, params_now: Callable[[], dict], body: dict | None,
                  judge: Callable[[int, float], str | None] | None = None,
                  refused: Callable[[int, str, int, bool], WeComError] | None = None,
                  files: dict | None = None, streamed: Streamed | None = None) -> dict:
        """The one retry loop of every call, gettoken's included: an answer with errcode 0, or WeComError.

        No answer (timeout, dropped connection, HTTP 5xx or 429) and busy errcodes are retried with
        backoff, at most `max_attempts` times. `judge(errcode, answered_at)` may say a refusal is not the
        call's fault ("again": retry at once, not counted) or that the API is blocked ("wait": retry once
        the block is over); `refused` builds the error of a final refusal.
        """
        answer_lost = False
        attempt = 0
        while True:
            attempt += 1
            try:
                params = params_now()
            except WaitCancelled as cancelled:
                # every attempt before was answered with a refusal that changed nothing (a token renewed, a
                # 45009 waited out), or there was none
                cancelled.before_sending = attempt == 1 and not answer_lost
                raise
            outcome = self._send(method, api, params, body, files, streamed)
            if isinstance(outcome, _NoAnswer):
                answer_lost = answer_lost or outcome.retry
                if not outcome.retry or attempt >= self.max_attempts:
                    raise self._no_answer(api, outcome, attempt, answer_lost)
                self._pause(attempt)
                continue
            data, answered_at = outcome
            errcode = data.get("errcode", 0) or 0
            if errcode == 0:
                return data
            errmsg = str(data.get("errmsg", ""))
            verdict = judge(errcode, answered_at) if judge else None
            if verdict == "again":
                attempt -= 1  # a renewed token or another secret: bounded by the judge, not by the attempts
                continue
            if verdict == "wait":
                attempt -= 1  # a blocked API: bounded by max_wait (QuotaBlockedError), not by the attempts
                continue
            if errcode in codes.RETRY_WITH_BACKOFF and attempt < self.max_attempts:
                self._pause(attempt)
                continue
            if refused is not None:
                raise refused(errcode, errmsg, attempt, answer_lost)
            raise WeComError(errcode, errmsg, api, attempts=attempt, answer_lost=answer_lost)

    def _send(self, method: str, api: str, params: dict, body: dict | None, files: dict | None = None,
              streamed: Streamed | None = None) -> tuple[dict, float] | _NoAnswer:
        """The answer and when it came, or why there is none. `files`: a multipart upload instead of JSON."""
        url = f"{self.settings.base_url}/cgi-bin/{api}"
        with self._lock:
            self.calls += 1
        failure: str | None = None
        try:
            response = self._session.request(method, url, params=params, json=body, files=files,
                                             timeout=self.settings.timeout, stream=streamed is not None)
        except requests.Timeout:
            failure = f"timed out after {self.settings.timeout:g} s"
        except requests.ConnectionError:
            failure = "connection failed or dropped"
        except requests.RequestException as error:
            failure = f"request failed ({type(error).__name__})"
        if failure is not None:
            return _NoAnswer(failure, retry=True)
        answered_at = time.monotonic()
        if response.status_code != 200:
            status = response.status_code
            response.close()  # a streamed answer's connection is let go here, its body unread
            return _NoAnswer(f"HTTP {status}", retry=status >= 500 or status == 429)
        try:
            if streamed is None:
                data = response.json()
            else:
                with response:
                    data = load_object(response.iter_content(_STREAM_CHUNK), *streamed)
        except ValueError:
            return _NoAnswer("an answer that is not JSON", retry=True)
        except requests.RequestException:  # a streamed answer cut off while it was read
            return _NoAnswer("connection dropped while the answer was read", retry=True)
        if not isinstance(data, dict):
            return _NoAnswer("an answer that is not a JSON object", retry=True)
        return data, answered_at

    def _no_answer(self, api: str, last: _NoAnswer, attempts: int, answer_lost: bool) -> WeComNetworkError:
        """The error for a call that got no usable answer in `attempts` tries (`last`: the last reason)."""
        failure = last.reason
        if failure.startswith("HTTP") and not last.retry:
            hint = Text(f"WeCom answered {failure}: the address is wrong. Check --base-url ({self.settings.base_url}): "
                        f"it is the host root, such as https://qyapi.weixin.qq.com, without /cgi-bin.",
                        f"企业微信返回 {failure}：地址不正确。请检查 --base-url（{self.settings.base_url}），"
                        f"应为主机根地址，如 https://qyapi.weixin.qq.com，不含 /cgi-bin。")
        elif failure.startswith("HTTP"):
            hint = Text(f"WeCom answered {failure} {attempts} times: it may be busy or down, try again later "
                        f"(and check --base-url, {self.settings.base_url}).",
                        f"企业微信连续 {attempts} 次返回 {failure}，可能繁忙或故障，请稍后再试（并检查 --base-url）。")
        else:
            hint = Text(f"Gave up after {attempts} attempts: check the network and --base-url "
                        f"({self.settings.base_url}), or raise --timeout (now {self.settings.timeout:g} s).",
                        f"重试 {attempts} 次后放弃：请检查网络和 --base-url（{self.settings.base_url}），"
                        f"或调大 --timeout（当前 {self.settings.timeout:g} 秒）。")
        return WeComNetworkError(None, failure, api, hint=hint, attempts=attempts, answer_lost=answer_lost)

    def _pause(self, attempt: int) -> None:
        """Jittered exponential backoff: about backoff·2^(attempt-1) seconds, capped at 30."""
        delay = min(30.0, self.backoff * 2 ** (attempt - 1))
        with self._lock:
            delay *= 0.5 + self._random.random() / 2
        time.sleep(delay)

    def _fetch_token(self, secret: Secret) -> tuple[str, int]:
        """gettoken for one secret, through the same retry loop as other calls (no token, no rate limit)."""
        setting = SECRET_SETTING[secret]
        params = {"corpid": self.settings.corp_id, "corpsecret": getattr(self.settings, setting)}

        def refused(errcode: int, errmsg: str, attempts: int, answer_lost: bool) -> WeComError:
            hint = codes.hint_for(errcode, errmsg)
            if errcode == codes.INVALID_SECRET:  # say which of the two secrets is wrong
                flag, variable, words = SETTINGS_SOURCES[setting]
                hint = Text(f"The {words} ({flag} / {variable}) is refused. {hint}",
                            f"{words.zh}被拒绝（{flag} / {variable}）。{hint.zh}")
            return WeComError(errcode, errmsg, "gettoken", hint=hint, attempts=attempts, answer_lost=answer_lost)

        data = self._exchange("GET", "gettoken", lambda: params, None, refused=refused)
        if not data.get("access_token"):
            raise WeComNetworkError(None, "an answer without an access_token", "gettoken",
                                    hint=Text("WeCom answered gettoken without a token; try again later.",
                                              "企业微信的 gettoken 应答中没有令牌，请稍后再试。"))
        return str(data["access_token"]), int(data.get("expires_in") or 7200)


def _without_status(data: dict) -> dict:
    return {key: value for key, value in data.items() if key not in ("errcode", "errmsg")}


def _clock_time(seconds_from_now: float) -> str:
    """The local time of day `seconds_from_now` from now, as a person reads it on a clock (HH:MM)."""
    return time.strftime("%H:%M", time.localtime(time.time() + max(0.0, seconds_from_now)))


def _session_for(base_url: str) -> requests.Session:
    """A session that reads the environment's proxy and CA settings once, here, instead of on every call:
    requests scans the whole environment per request when `trust_env` is on (a quarter of a run's CPU).
    A configured proxy (HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY) and CA bundle (REQUESTS_CA_BUNDLE,
    CURL_CA_BUNDLE) are still honoured; a change to them while the process runs is not seen."""
    import os

    session = requests.Session()
    session.trust_env = False
    session.proxies = requests.utils.get_environ_proxies(base_url)
    bundle = os.environ.get("REQUESTS_CA_BUNDLE") or os.environ.get("CURL_CA_BUNDLE")
    if bundle:
        session.verify = bundle
    return session
