"""Retries and limits against a misbehaving emulator: -1 and HTTP 502 retried with bounds, 45009 blocks
waited out, the configured rate kept, timeouts reported without a secret."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from bulkdir.config import Settings
from bulkdir.wecom.client import WeComClient, WeComError, WeComNetworkError


def client_for(emulator, *, rate: int = 600_000, workers: int = 8, timeout: float = 5,
               **options) -> WeComClient:
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, app_secret=emulator.app_secret,
                        base_url=emulator.url, rate=rate, workers=workers, timeout=timeout)
    options.setdefault("backoff", 0.01)
    return WeComClient(settings, **options)


def test_busy_and_http_errors_are_retried_until_every_call_succeeds(emulator) -> None:
    emulator.faults(fail_rate=0.2, http_error_rate=0.1, seed=7)
    with client_for(emulator, max_attempts=10) as client:
        with ThreadPoolExecutor(8) as pool:
            created = list(pool.map(lambda n: client.user_create(
                {"userid": f"m{n}", "name": f"成员{n}", "email": f"m{n}@example.com"}), range(60)))
            names = list(pool.map(lambda n: client.user_get(f"m{n % 60}")["name"], range(140)))
    assert len(created) == 60 and names[:2] == ["成员0", "成员1"]
    stats = emulator.stats()
    assert stats["ok"]["user/create"] == 60 and stats["ok"]["user/get"] == 140
    assert stats["errors"]["-1"] > 0 and stats["errors"]["http-502"] > 0  # faults did happen ...
    sent = stats["calls"]["user/create"] + stats["calls"]["user/get"]
    assert 200 < sent <= 200 * 10  # ... were retried, within the bound
    assert len(emulator.state()["members"]) == 60


def test_retries_are_bounded_and_the_last_error_is_raised(emulator) -> None:
    with client_for(emulator, max_attempts=3) as client:
        client.gettoken()
        emulator.faults(fail_rate=1.0)
        with pytest.raises(WeComError) as caught:
            client.department_simplelist()
    assert (caught.value.errcode, caught.value.attempts) == (-1, 3)
    assert emulator.stats()["calls"]["department/simplelist"] == 3


def test_other_errors_are_not_retried(emulator) -> None:
    with client_for(emulator) as client:
        with pytest.raises(WeComError) as caught:
            client.user_get("nobody")
    assert caught.value.errcode == 60111
    assert emulator.stats()["calls"]["user/get"] == 1


def test_a_45009_block_is_waited_out_without_calling_the_blocked_api(start_emulator) -> None:
    emulator = start_emulator(rate_limit=5, block_seconds=1)
    with client_for(emulator, block_seconds=1) as client:
        for _ in range(12):
            client.department_simplelist()
        limiter = client.limits.for_api("department/simplelist")
    stats = emulator.stats()
    assert stats["ok"]["department/simplelist"] == 12
    # Every call during a block answers 45009, so one 45009 per block means no call hit a blocked API.
    assert stats["errors"]["45009"] == limiter.blocks == 2
    assert limiter.rate == 600_000 / 4  # halved at each block


def test_threads_share_the_block(start_emulator) -> None:
    emulator = start_emulator(rate_limit=20, block_seconds=1)
    with client_for(emulator, block_seconds=1, workers=4) as client:
        with ThreadPoolExecutor(4) as pool:
            assert len(list(pool.map(lambda _: client.department_simplelist(), range(30)))) == 30
        blocks = client.limits.for_api("department/simplelist").blocks
    errors = emulator.stats()["errors"]["45009"]
    assert blocks >= 1
    assert errors <= blocks * 4  # at most the calls already in flight when a block began


def test_600_calls_at_a_rate_under_the_platform_limit_never_meet_45009(start_emulator) -> None:
    # The emulator counts calls in any 60 s; 600 calls at 580 a minute take just over a minute, so
    # this is the one slow test (it sleeps). A client without the limiter trips the same emulator:
    limit = 590
    control = start_emulator(rate_limit=limit, block_seconds=0.2)
    with client_for(control, block_seconds=0.2) as unlimited:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: unlimited.department_simplelist(), range(600)))
    assert control.stats()["errors"]["45009"] >= 1

    emulator = start_emulator(rate_limit=limit, block_seconds=60)
    with client_for(emulator, rate=580, workers=8, max_attempts=1) as client:
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: client.department_simplelist(), range(600)))
    stats = emulator.stats()
    assert stats["ok"]["department/simplelist"] == 600
    assert "45009" not in stats["errors"]


def test_a_call_slower_than_the_timeout_is_retried_then_reported(emulator) -> None:
    with client_for(emulator, timeout=0.2, max_attempts=2) as client:
        client.gettoken()
        emulator.faults(latency_ms=600)
        with pytest.raises(WeComNetworkError) as caught:
            client.department_simplelist()
        error = caught.value
        assert error.errcode is None and error.attempts == 2 and error.answer_lost
        assert "timed out after 0.2 s" in str(error) and "--timeout" in str(error)
        assert emulator.secret not in str(error) and "access_token" not in str(error)
        assert error.__cause__ is None and error.__context__ is None  # no requests exception (its text has the URL)
        emulator.faults(latency_ms=0)
        assert client.department_simplelist()[0]["id"] == 1  # the same client goes on once WeCom answers


def test_a_create_whose_answer_was_lost_is_flagged(emulator) -> None:
    # The emulator applies a write, then its answer comes after the client gave up waiting; the retry
    # meets 60102, and the error says an earlier attempt's answer was lost (the importer reconciles).
    def answer_faster_soon() -> None:
        threading.Event().wait(0.7)
        emulator.faults(latency_ms=0)

    with client_for(emulator, timeout=0.3, max_attempts=5, backoff=0.3) as client:
        client.gettoken()
        emulator.faults(latency_ms=500)
        threading.Thread(target=answer_faster_soon).start()
        with pytest.raises(WeComError) as caught:
            client.user_create({"userid": "lost", "name": "Lost", "mobile": "13800000000"})
    assert caught.value.errcode == 60102 and caught.value.answer_lost
    assert [m["userid"] for m in emulator.state()["members"]] == ["lost"]


def test_a_stop_while_waiting_says_whether_anything_of_the_call_went_out(emulator) -> None:
    # The executor reruns an operation stopped before its first attempt went out as new; one stopped
    # after an attempt whose answer was lost may have landed, and is reconciled instead.
    from bulkdir.wecom.ratelimit import WaitCancelled

    stop = threading.Event()
    with client_for(emulator, timeout=0.2, max_attempts=5, backoff=0.4) as client:
        client.gettoken()
        client.limits.cancel_waits_on(stop)
        stop.set()
        with pytest.raises(WaitCancelled) as before:
            client.user_create({"userid": "early", "name": "Early", "mobile": "13800000001"})
        assert before.value.before_sending
        stop.clear()
        emulator.faults(latency_ms=600)  # the first attempt times out: its answer is lost, it may land
        threading.Timer(0.3, stop.set).start()  # the stop comes during the backoff before the retry
        with pytest.raises(WaitCancelled) as after:
            client.user_create({"userid": "lost", "name": "Lost", "mobile": "13800000002"})
        assert not after.value.before_sending
        emulator.faults(latency_ms=0)
    assert "early" not in [m["userid"] for m in emulator.state()["members"]]


def test_a_server_that_is_gone_is_a_network_error(emulator) -> None:
    settings = Settings(corp_id="ww1", secret="gone-secret-123", base_url="http://127.0.0.1:9", timeout=1)
    with WeComClient(settings, max_attempts=2, backoff=0.01) as client:
        with pytest.raises(WeComNetworkError) as caught:
            client.department_simplelist()
    assert "connection" in str(caught.value) and "gone-secret-123" not in str(caught.value)
    assert caught.value.api == "gettoken"


def test_an_http_4xx_is_not_retried_and_says_to_check_the_base_url(emulator) -> None:
    # A 404 means the URL is wrong (here a path below the host root): asking again cannot help.
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=f"{emulator.url}/wrong",
                        timeout=5)
    with WeComClient(settings, max_attempts=5, backoff=0.01) as client:
        with pytest.raises(WeComNetworkError) as caught:
            client.department_simplelist()
        assert client.calls == 1
    error = caught.value
    assert (error.api, error.errmsg, error.attempts, error.answer_lost) == ("gettoken", "HTTP 404", 1, False)
    assert "--base-url" in error.hint and "/cgi-bin" in error.hint and "--base-url" in error.hint.zh


def test_backoff_doubles_with_jitter(emulator, monkeypatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr("bulkdir.wecom.client.time.sleep", slept.append)  # record the pauses, skip the waiting
    with client_for(emulator, max_attempts=4, backoff=1.0) as client:
        client.gettoken()
        emulator.faults(fail_rate=1.0)
        for _ in range(5):
            with pytest.raises(WeComError):
                client.department_simplelist()
    # Three pauses a call, about 1, 2 and 4 s, each cut at random to between half and all of it, so
    # that workers retrying together spread out.
    assert len(slept) == 15
    assert all(2 ** (n % 3) / 2 <= delay <= 2 ** (n % 3) for n, delay in enumerate(slept))
    assert len(set(slept)) == 15
