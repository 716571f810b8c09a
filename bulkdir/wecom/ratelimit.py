"""A rate limiter per API path, shared by every thread of a client.

Calls to one API are spaced evenly, `60 / rate` seconds apart: no bursts, so a run at the configured rate
never crosses the platform's per-minute limit whatever the number of workers. The platform also limits
each API per hour (150,000 on its current page): no hour, counted from any moment, holds more than
`per_hour` calls, so a long run pauses before it would cross that limit rather than after. When the
platform answers 45009 anyway (another program shares the corp's quota), the API is blocked for the
block time: no thread calls it again until the block ends, and the rate is halved so that the run does
not trip it again. A block that is still there when it should have ended is a longer one (the hourly
quota): `blocked_since` says how long the API has been refused without a call getting through.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from typing import Callable

HOUR = 3600.0


class WaitCancelled(Exception):
    """The run stopped (Ctrl-C, Stop) while this thread waited for its slot: the call is not made.
    `before_sending`: nothing of the operation went out before (the client sets it: not after an attempt
    whose answer was lost, which may have landed)."""

    before_sending = False


class ApiLimiter:
    """Evenly spaced slots for one API path.

    >>> limiter = ApiLimiter(rate=1800)   # one call every 33 ms
    >>> limiter.wait()                    # returns when this thread may call
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep, *, per_hour: int | None = None,
                 hour: float = HOUR) -> None:
        self.rate = float(rate)
        self.per_hour = per_hour
        self.hour = hour  # an hour's length: shorter only in tests
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._blocked_until = 0.0
        self._hour_slots: deque[float] = deque()  # the slots given in the last hour, when per_hour is set
        self._refused_since: float | None = None  # the first 45009 since a call last got through
        self._given_up: tuple[Exception, float] | None = None  # an error for waiters, until the block's end
        self.cancel: threading.Event | None = None  # set: a waiting thread gives up its slot (WaitCancelled)
        self.blocks = 0  # how many 45009 blocks this API met

    def wait(self) -> None:
        """Block the calling thread until its slot comes and the API is not blocked."""
        while True:
            with self._lock:
                now = self._clock()
                slot = max(now, self._next_slot, self._blocked_until)
                if self.per_hour:
                    slots = self._hour_slots
                    while slots and slots[0] <= slot - self.hour:
                        slots.popleft()
                    if len(slots) >= self.per_hour:  # the hour is full: the next slot is when its first leaves
                        slot = max(slot, slots[len(slots) - self.per_hour] + self.hour)
                    slots.append(slot)
                self._next_slot = slot + 60.0 / self.rate
            while slot > now:  # in short naps, so that a run given up on stops its waiting threads too
                self._check_stopped()
                self._sleep(min(slot - now, 0.25))
                now = self._clock()
            self._check_stopped()
            with self._lock:
                if self._clock() >= self._blocked_until:
                    return
            # a block began while this thread slept: take a new slot after it

    def give_up(self, error: Exception) -> None:
        """The current block is longer than the run may wait: every thread waiting for it raises `error`
        instead, until the block ends (a later run on the same client then calls again)."""
        with self._lock:
            self._given_up = (error, self._blocked_until)

    def _check_stopped(self) -> None:
        """Raise in a waiting thread when its run stopped (WaitCancelled) or its API was given up on."""
        if self.cancel is not None and self.cancel.is_set():
            raise WaitCancelled
        given_up = self._given_up
        if given_up is not None:
            error, until = given_up
            if self._clock() < until:
                raise error
            self._given_up = None

    def block(self, seconds: float, answered_at: float | None = None) -> None:
        """The platform answered 45009: nobody calls this API for `seconds` from the answer; halve the rate.

        The block is counted from when the answer arrived, which is after the platform started it, so
        the wait is never too short. Several threads reporting the same block halve the rate once.
        """
        answered_at = self._clock() if answered_at is None else answered_at
        with self._lock:
            if answered_at >= self._blocked_until:  # a new block, not another thread's report of this one
                self.rate = max(self.rate / 2, 1.0)
                self.blocks += 1
            self._blocked_until = max(self._blocked_until, answered_at + seconds)
            if self._refused_since is None:
                self._refused_since = answered_at

    def got_through(self) -> None:
        """A call of this API was answered without 45009: whatever block there was has ended."""
        if self._refused_since is not None:
            with self._lock:
                self._refused_since = None

    def blocked_since(self, now: float | None = None) -> float:
        """Seconds since the first 45009 that no call has got through after (0 when none)."""
        with self._lock:
            if self._refused_since is None:
                return 0.0
            return max(0.0, (self._clock() if now is None else now) - self._refused_since)

    def blocked_for(self) -> float:
        """Seconds until the current block ends (0 when not blocked)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())

    def hourly_pause(self, calls: int) -> float:
        """How much longer than at the minute's pace `calls` more calls take because of the hourly limit."""
        with self._lock:
            rate = self.rate
        return max(0.0, self.seconds_for(calls) - calls * 60.0 / rate)

    def seconds_for(self, calls: int) -> float:
        """About how long `calls` more calls of this API take at its rate and hourly limit (for "time left")."""
        with self._lock:
            rate, per_hour = self.rate, self.per_hour
            slots, now = self._hour_slots, self._clock()
            while slots and slots[0] <= now - self.hour:  # calls that have left the hour count no more
                slots.popleft()
            given = len(slots)
        by_minute = calls * 60.0 / rate
        if not per_hour or calls + given <= per_hour:
            return by_minute
        full_hours = (calls + given) // per_hour  # each full hour of calls waits for its hour to pass
        return max(by_minute, full_hours * self.hour + ((calls + given) % per_hour) * 60.0 / rate)


class RateLimiter:
    """One `ApiLimiter` per API path, created on first use, all at the same configured rates."""

    def __init__(self, rate: float, per_hour: int | None = None, *, hour: float = HOUR) -> None:
        self.rate = rate
        self.per_hour = per_hour
        self.hour = hour
        self.cancel: threading.Event | None = None  # given to each API's limiter (cancel_waits_on)
        self._lock = threading.Lock()
        self._limiters: dict[str, ApiLimiter] = {}

    def for_api(self, api: str) -> ApiLimiter:
        """The limiter of `api` (e.g. "user/get")."""
        with self._lock:
            limiter = self._limiters.get(api)
            if limiter is None:
                limiter = self._limiters[api] = ApiLimiter(self.rate, per_hour=self.per_hour, hour=self.hour)
                limiter.cancel = self.cancel
            return limiter

    def cancel_waits_on(self, event: threading.Event | None) -> None:
        """While `event` is set, threads waiting for a slot of any API give it up (a run that stops must not
        make a call it waited an hour for)."""
        with self._lock:
            self.cancel = event
            for limiter in self._limiters.values():
                limiter.cancel = event
