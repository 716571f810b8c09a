"""The hourly quota: the limiter paces calls so no hour holds more than `rate_per_hour` of one API (on a fake
clock), and an API WeCom keeps blocking past `max_wait` stops the run cleanly (exit 75, journalled, the
report written) so that running it again finishes it with nothing done twice (against the emulator)."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from bulkdir.config import Settings
from bulkdir.errors import ExitStatus, QuotaBlockedError
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.ratelimit import ApiLimiter
from import_support import member_rows, members_of, read_results, run_cli, write_sheet
from test_client_ratelimit import FakeClock


def test_no_hour_holds_more_than_the_hourly_limit() -> None:
    clock = FakeClock()
    limiter = ApiLimiter(rate=6000, clock=clock, sleep=clock.sleep, per_hour=3)  # 0.01 s apart, 3 an hour
    times = []
    for _ in range(7):
        limiter.wait()
        times.append(round(clock.now - 1000, 4))
    assert times == [0.0, 0.01, 0.02, 3600.0, 3600.01, 3600.02, 7200.0]


def test_the_hourly_limit_paces_a_short_hour_and_time_left_counts_it() -> None:
    clock = FakeClock()
    limiter = ApiLimiter(rate=60, clock=clock, sleep=clock.sleep, per_hour=10, hour=20.0)  # 1 s apart
    assert limiter.seconds_for(5) == pytest.approx(5.0)  # within the hour's allowance: the minute's pace
    assert limiter.seconds_for(25) == pytest.approx(2 * 20 + 5)  # two full hours, then five calls
    for _ in range(12):
        limiter.wait()
    assert clock.now - 1000 == pytest.approx(20.0 + 1.0)  # the 11th waited for the first to leave the hour


def test_a_block_is_dated_from_the_first_refusal_until_a_call_gets_through() -> None:
    clock = FakeClock()
    limiter = ApiLimiter(rate=600, clock=clock, sleep=clock.sleep)
    assert limiter.blocked_since() == 0.0
    limiter.block(60, answered_at=clock.now)
    clock.now += 61
    limiter.block(60, answered_at=clock.now)  # refused again once the block was over
    assert limiter.blocked_since() == pytest.approx(61)
    limiter.got_through()
    assert limiter.blocked_since() == 0.0


def quota_client(emulator, *, max_wait: float, block_seconds: float) -> WeComClient:
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600_000,
                        workers=2, max_wait=max_wait)
    return WeComClient(settings, backoff=0.01, block_seconds=block_seconds)


def test_a_block_that_outlasts_a_minute_is_called_the_hourly_quota_and_ends_the_wait(start_emulator, caplog) -> None:
    emulator = start_emulator(rate_limit=3, block_seconds=30)  # blocked for far longer than the client's minute
    with quota_client(emulator, max_wait=1.0, block_seconds=0.3) as client, caplog.at_level(logging.WARNING):
        for _ in range(3):
            client.department_simplelist()
        with pytest.raises(QuotaBlockedError) as caught:
            client.department_simplelist()
    error = caught.value
    assert error.errcode == 45009 and error.hourly and error.waited >= 1.0
    assert error.exit_status == ExitStatus.TEMPFAIL
    assert "hourly quota" in str(error) and "--max-wait" in str(error) and error.free_at in str(error)
    assert "每小时" in error.message.zh
    assert any("hourly quota" in record.getMessage() for record in caplog.records)  # said while it waited
    assert emulator.stats()["ok"]["department/simplelist"] == 3


def test_a_minute_block_within_max_wait_is_waited_out(start_emulator) -> None:
    emulator = start_emulator(rate_limit=3, block_seconds=0.5)
    with quota_client(emulator, max_wait=30, block_seconds=0.6) as client:
        for _ in range(5):
            client.department_simplelist()
    assert emulator.stats()["ok"]["department/simplelist"] == 5


def test_an_import_stops_cleanly_on_an_api_blocked_past_max_wait_and_finishes_when_run_again(
        start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit=8, block_seconds=3600)
    rows = member_rows(20, department="")
    sheet = write_sheet(tmp_path / "staff.csv", ["帐号", "姓名", "手机", "部门", "职务"], rows)
    first = run_cli(emulator, "import", str(sheet), "--yes", "--max-wait", "0", "--json", BULKDIR_WORKERS="2")
    assert first.exit_code == 75, first.output
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary["interrupted"] is True and "user/create is blocked by WeCom (45009)" in summary["stopped_by"]
    assert "Stopped: user/create is blocked" in first.output
    created = members_of(emulator.state())
    assert 0 < len(created) < 20 and summary["created"] == len(created)
    results = read_results(summary["report"])
    assert sum(r["result"] == "created" for r in results) == len(created)  # the report says what landed
    assert {r["result"] for r in results} == {"created", "skipped"}  # the rest: not done yet, not failed

    emulator.faults(rate_limit=None)  # the hour has passed
    again = run_cli(emulator, "import", str(sheet), "--yes", "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["created"] == 20 and summary["failed"] == 0  # the same run, resumed: its rows in all
    assert sorted(members_of(emulator.state())) == sorted(row[0] for row in rows)
    stats = emulator.stats()
    assert stats["ok"]["user/create"] == 20 and stats["errors"].get("60102", 0) == 0  # nothing created twice


def test_time_left_counts_the_pause_the_hourly_limit_makes() -> None:
    from bulkdir.cli.progress import RunBar

    clock = FakeClock()
    limiter = ApiLimiter(rate=60, clock=clock, sleep=clock.sleep, per_hour=100)
    assert limiter.hourly_pause(50) == 0  # within the hour's allowance
    assert limiter.hourly_pause(250) == pytest.approx(2 * 3600 + 50 - 250)  # two full hours, then 50 calls
    bar = RunBar(limiter.hourly_pause)
    bar(0, 250, 0)
    assert "hourly limit=+" in bar._bar.postfix and "min" in bar._bar.postfix
    bar.close()
    quiet = RunBar(ApiLimiter(rate=60, clock=clock, sleep=clock.sleep).hourly_pause)
    quiet(0, 250, 0)
    assert "hourly" not in (quiet._bar.postfix or "")
    quiet.close()


def test_paced_at_the_hourly_limit_a_run_never_meets_the_emulators_hourly_quota(start_emulator) -> None:
    # a 2-second "hour" on both sides: 6 calls an hour allowed, 15 calls made
    emulator = start_emulator(rate_limit_per_hour=6, hour_seconds=2.0, hour_block_seconds=2.0)
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600_000,
                        workers=4, rate_per_hour=6)
    with WeComClient(settings, backoff=0.01, hour=2.05) as client:
        for _ in range(15):
            client.department_simplelist()
    stats = emulator.stats()
    assert stats["ok"]["department/simplelist"] == 15 and "45009" not in stats["errors"]


def test_unpaced_the_same_calls_meet_the_hourly_quota(start_emulator) -> None:
    emulator = start_emulator(rate_limit_per_hour=6, hour_seconds=2.0, hour_block_seconds=30)
    with quota_client(emulator, max_wait=0.5, block_seconds=0.2) as client:
        with pytest.raises(QuotaBlockedError) as caught:
            for _ in range(15):
                client.department_simplelist()
    assert caught.value.hourly and emulator.stats()["ok"]["department/simplelist"] == 6
