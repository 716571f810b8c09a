"""The per-API limiter on a fake clock: even spacing, shared blocks, the rate halved once per block.
(The same limiter against the emulator's real limit is in test_client_retries.py.)"""

from __future__ import annotations

import threading
import time

from bulkdir.wecom.ratelimit import ApiLimiter, RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        with self.lock:
            self.now += seconds


def test_calls_are_spaced_evenly() -> None:
    clock = FakeClock()
    limiter = ApiLimiter(rate=600, clock=clock, sleep=clock.sleep)  # one call every 0.1 s
    times = []
    for _ in range(5):
        limiter.wait()
        times.append(round(clock.now - 1000, 6))
    assert times == [0.0, 0.1, 0.2, 0.3, 0.4]


def test_a_block_holds_every_call_until_it_ends_and_halves_the_rate() -> None:
    clock = FakeClock()
    limiter = ApiLimiter(rate=600, clock=clock, sleep=clock.sleep)
    limiter.wait()
    limiter.block(60, answered_at=clock.now)
    limiter.block(60, answered_at=clock.now + 0.01)  # another thread's answer to the same block
    assert (limiter.blocks, limiter.rate) == (1, 300)
    assert 59.9 < limiter.blocked_for() <= 60.01
    limiter.wait()
    assert clock.now >= 1060.01
    limiter.wait()
    assert round(clock.now - 1060.01, 6) == 0.2  # at the halved rate
    limiter.block(60, answered_at=clock.now)  # a new block after the first ended
    assert (limiter.blocks, limiter.rate) == (2, 150)


def test_each_api_has_its_own_limiter() -> None:
    limits = RateLimiter(1800)
    assert limits.for_api("user/get") is limits.for_api("user/get")
    assert limits.for_api("user/get") is not limits.for_api("user/create")
    assert limits.for_api("user/create").rate == 1800


def test_threads_sharing_a_limiter_never_get_ahead_of_the_rate() -> None:
    # Real threads on the real clock: the i-th call to get through can never come before i slots have
    # passed since the first, however the 8 threads interleave (each slot is handed out once).
    limiter = ApiLimiter(rate=6000)  # one call every 10 ms
    passed: list[float] = []
    lock = threading.Lock()
    start = time.monotonic()

    def worker() -> None:
        for _ in range(10):
            limiter.wait()
            with lock:
                passed.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(8)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    passed.sort()
    assert len(passed) == 80
    assert all(at - start >= i * 0.01 - 1e-6 for i, at in enumerate(passed))
    assert passed[-1] - start < 5  # and they do get through
