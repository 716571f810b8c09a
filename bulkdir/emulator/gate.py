"""Limits and faults in front of every call, and the call counters (the platform's limits:
platform page 90454).

The gate is what the platform does around an API rather than in it: the rate limits (calls a
minute, the hourly quota, the tighter limit of calls with `debug=1`, and a group robot's 20 messages
a minute), the concurrency limit, the slowness (`latency_ms`), the faults drawn at random (-1 system
busy, HTTP 502), and the counts GET /_emulator/stats answers. Its settings are `EmulatorOptions` fields
(options.py), which POST /_emulator/faults changes through `configure`.
Refusals raise models.py's `ApiError`, as the corp's rules do; responses.py's call wrapper asks the
gate before it calls the corp.
"""

from __future__ import annotations

import random
import threading
import time
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Literal

from bulkdir.emulator.models import ApiError
from bulkdir.emulator.options import FAULT_SETTINGS, EmulatorOptions, robot_labels, validate_faults

DEBUG_CALLS_PER_MINUTE = 5  # per API, for calls with debug=1 (the platform's global error-code page)
ROBOT_MESSAGES_PER_MINUTE = 20  # per group robot (wecom-api.md A10)
ROBOT_MINUTE_SECONDS = 60.0  # that minute (tests shorten it)


class _Quota:
    """One limit's state per API: the times of the calls it counted, and until when it blocks the API."""

    def __init__(self, why: str):
        self.why = why  # the errmsg of its 45009
        self.calls: dict[str, deque[float]] = {}
        self.blocked_until: dict[str, float] = {}

    def calls_since(self, api: str, since: float) -> deque[float]:
        """The times of `api`'s counted calls after `since` (older ones are dropped)."""
        calls = self.calls.setdefault(api, deque())
        while calls and calls[0] <= since:
            calls.popleft()
        return calls


class Gate:
    """Limits and faults in front of every call, and the call counters.

    Example:
        >>> gate = Gate(EmulatorOptions(rate_limit=1, block_seconds=60))
        >>> gate.check_rate("user/get")
        >>> gate.check_rate("user/get")
        Traceback (most recent call last):
        ...
        bulkdir.emulator.models.ApiError: 45009 api freq out of limit
    """

    def __init__(self, options: EmulatorOptions):
        self.options = options
        self.lock = threading.Lock()
        self.random = random.Random(options.seed)
        self._in_flight: dict[str, int] = {}  # real calls on their way: a reset does not end them
        self.reset()

    def reset(self) -> None:
        """Zeroes the counters and lifts rate-limit blocks."""
        with self.lock:
            self.calls: dict[str, int] = {}
            self.ok: dict[str, int] = {}
            self.errors: dict[str, int] = {}
            self._minute = _Quota("api freq out of limit")
            self._hour = _Quota("api freq out of limit, the hourly quota")
            self._debug_window: dict[str, deque[float]] = {}
            self._robot_window: dict[str, deque[float]] = {}  # by webhook key: never shown

    def settings(self) -> dict[str, Any]:
        """Every setting, the webhook keys (secrets) shown as the robots' labels."""
        settings = {name: getattr(self.options, name) for name in FAULT_SETTINGS}
        settings["webhook_keys"] = robot_labels(settings["webhook_keys"])
        return settings

    def configure(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Changes fault and limit settings while running; returns them all."""
        unknown = set(changes) - set(FAULT_SETTINGS)
        if unknown:
            raise ValueError(f"unknown settings: {', '.join(sorted(unknown))}; "
                             f"known: {', '.join(FAULT_SETTINGS)}")
        checked = validate_faults(changes)
        with self.lock:
            for name, value in checked.items():
                setattr(self.options, name, value)
            if "seed" in checked:
                self.random = random.Random(checked["seed"])
            if "rate_limit" in checked or "block_seconds" in checked:
                self._minute = _Quota(self._minute.why)
            if {"rate_limit_per_hour", "hour_block_seconds", "hour_seconds"} & set(checked):
                self._hour = _Quota(self._hour.why)
        return self.settings()

    def count(self, api: str, errcode: int | str) -> None:
        with self.lock:
            self.calls[api] = self.calls.get(api, 0) + 1
            if errcode == 0:
                self.ok[api] = self.ok.get(api, 0) + 1
            else:
                self.errors[str(errcode)] = self.errors.get(str(errcode), 0) + 1

    def stats(self) -> dict[str, dict[str, int]]:
        with self.lock:
            return {"calls": dict(self.calls), "ok": dict(self.ok), "errors": dict(self.errors)}

    def check_rate(self, api: str) -> None:
        """At most `rate_limit` calls a minute and `rate_limit_per_hour` calls an hour (of `hour_seconds`)
        per API; the first call over a limit blocks the API, for `block_seconds` or `hour_block_seconds`.
        A refused call uses neither quota."""
        options = self.options
        quotas = [(quota, limit, window, block) for quota, limit, window, block in (
            (self._minute, options.rate_limit, 60.0, options.block_seconds),
            (self._hour, options.rate_limit_per_hour, options.hour_seconds, options.hour_block_seconds)) if limit]
        if not quotas:
            return
        with self.lock:
            now = time.monotonic()
            for quota, _, _, _ in quotas:
                if quota.blocked_until.get(api, 0) > now:
                    raise ApiError(45009, quota.why)
            counted = [quota.calls_since(api, now - window) for quota, _, window, _ in quotas]
            for (quota, limit, _, block), calls in zip(quotas, counted):
                if len(calls) >= limit:
                    quota.blocked_until[api] = now + block
                    calls.clear()
                    raise ApiError(45009, quota.why)
            for calls in counted:
                calls.append(now)

    def check_debug_rate(self, api: str) -> None:
        """A call with `debug=1`: at most DEBUG_CALLS_PER_MINUTE of them a minute per API (the platform's
        error-code page, platform page 90313)."""
        with self.lock:
            now = time.monotonic()
            window = self._debug_window.setdefault(api, deque())
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= DEBUG_CALLS_PER_MINUTE:
                raise ApiError(45009, "api freq out of limit, at most 5 calls a minute with debug=1")
            window.append(now)

    def check_robot_rate(self, key: str) -> None:
        """A group robot's message: at most ROBOT_MESSAGES_PER_MINUTE a minute per robot (`key`), its own
        minute; the call over answers 45009 and is not counted, nor does it block the robot longer."""
        with self.lock:
            now = time.monotonic()
            window = self._robot_window.setdefault(key, deque())
            while window and window[0] <= now - ROBOT_MINUTE_SECONDS:
                window.popleft()
            if len(window) >= ROBOT_MESSAGES_PER_MINUTE:
                raise ApiError(45009, f"api freq out of limit, at most {ROBOT_MESSAGES_PER_MINUTE} messages "
                                      "a minute per robot")
            window.append(now)

    @contextmanager
    def in_flight(self, api: str) -> Iterator[None]:
        """Counts the call in flight; more than `max_concurrency` at once answers 45033."""
        with self.lock:
            self._in_flight[api] = self._in_flight.get(api, 0) + 1
            limit = self.options.max_concurrency or 0
            over = bool(limit) and self._in_flight[api] > limit
        try:
            if self.options.latency_ms:
                time.sleep(self.options.latency_ms / 1000)
            if over:
                raise ApiError(45033, "api concurrent out of limit")
            yield
        finally:
            with self.lock:
                self._in_flight[api] -= 1

    def draw_fault(self) -> Literal["http", "busy"] | None:
        """A reproducible draw (with `seed`): an HTTP 502, a -1, or nothing."""
        http_rate, fail_rate = self.options.http_error_rate, self.options.fail_rate
        if not http_rate and not fail_rate:
            return None
        with self.lock:
            draw = self.random.random()
        if draw < http_rate:
            return "http"
        if draw < http_rate + fail_rate:
            return "busy"
        return None
