"""A rate limiter per API path, shared by every thread of a client.

Calls to one API are spaced evenly, `60 / rate` seconds apart: no bursts, so a run at the configured rate
never crosses the platform's per-minute limit whatever the number of workers. When the platform answers
45009 anyway (another program shares the corp's quota), the API is blocked for the block time: no thread
calls it again until the block ends, and the rate is halved so that the run does not trip it again.
"""

from __future__ import annotations

import threading
import time
from typing import Callable


class ApiLimiter:
    """Evenly spaced slots for one API path.

    >>> limiter = ApiLimiter(rate=1800)   # one call every 33 ms
    >>> limiter.wait()                    # returns when this thread may call
    """

    def __init__(self, rate: float, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.rate = float(rate)
        self._clock, self._sleep = clock, sleep
        self._lock = threading.Lock()
        self._next_slot = 0.0
        self._blocked_until = 0.0
        self.blocks = 0  # how many 45009 blocks this API met

    def wait(self) -> None:
        """Block the calling thread until its slot comes and the API is not blocked."""
        while True:
            with self._lock:
                now = self._clock()
                slot = max(now, self._next_slot, self._blocked_until)
                self._next_slot = slot + 60.0 / self.rate
            if slot > now:
                self._sleep(slot - now)
            with self._lock:
                if self._clock() >= self._blocked_until:
                    return
            # a block began while this thread slept: take a new slot after it

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

    def blocked_for(self) -> float:
        """Seconds until the current block ends (0 when not blocked)."""
        with self._lock:
            return max(0.0, self._blocked_until - self._clock())


class RateLimiter:
    """One `ApiLimiter` per API path, created on first use, all at the same configured rate."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self._lock = threading.Lock()
        self._limiters: dict[str, ApiLimiter] = {}

    def for_api(self, api: str) -> ApiLimiter:
        """The limiter of `api` (e.g. "user/get")."""
        with self._lock:
            limiter = self._limiters.get(api)
            if limiter is None:
                limiter = self._limiters[api] = ApiLimiter(self.rate)
            return limiter
