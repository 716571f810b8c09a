"""Edges of the async batch import and the hourly quota: the main department of a batch create, an update
that could bring a deleted member back, a stop during the hourly pause, a batch API failing mid-run or
refusing the file (the run ends with its report, nothing read back one by one), the plan's path counts,
and the time left forgetting calls that left the hour.

Every test runs the real client against the emulator over real HTTP (tests/conftest.py), except the
limiter's time-left arithmetic, which runs on the fake clock the limiter tests use."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest

from bulkdir.config import Settings
from bulkdir.importer import ImportOptions, prepare_import, run_import
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.ratelimit import ApiLimiter
from import_support import calls, client_for, member_rows, members_of, run_cli, seed_corp, wait_for, write_sheet
from test_client_ratelimit import FakeClock

HEADER = ["帐号", "姓名", "手机", "部门", "职务"]
RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}


def test_a_batch_create_listing_the_root_second_gets_the_same_main_department_as_per_call(
        start_emulator, tmp_path: Path) -> None:
    rows = [["a1", "甲", "13900000001", "研发中心;示例企业", "工程师"]]
    ends, rerun_writes = {}, {}
    for via in ("api", "batch"):
        emulator = start_emulator()
        seed_corp(emulator, [RESEARCH])
        sheet = write_sheet(tmp_path / f"staff-{via}.csv", HEADER, rows)
        done = run_cli(emulator, "import", str(sheet), "--yes", "--via", via)
        assert done.exit_code == 0, done.output
        member = members_of(emulator.state())["a1"]
        ends[via] = (member["department"], member["main_department"])
        before = calls(emulator)
        again = run_cli(emulator, "import", str(sheet), "--yes", "--via", via)
        assert again.exit_code == 0, again.output
        rerun_writes[via] = calls(emulator, before).get("user/update", 0)
    assert ends["api"] == ([2, 1], 2)
    assert ends["batch"] == ends["api"]  # batch: ([2, 1], 1)
    assert rerun_writes == {"api": 0, "batch": 0}  # batch: the rerun moves the main department per call


def test_a_stop_during_the_hourly_pause_ends_the_run_without_more_writes(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator()
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(8, department=""))
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600_000,
                        workers=2, rate_per_hour=3)
    stop = threading.Event()

    def progress(done: int, total: int, failures: int) -> None:
        if done >= 3:
            stop.set()

    with WeComClient(settings, backoff=0.01, hour=20.0) as client:
        options = ImportOptions(via="api", workers=2, journal=tmp_path / "j.sqlite3", stop=stop, progress=progress)
        prepared = prepare_import(sheet, client, options)
        started = time.monotonic()
        result = run_import(prepared)
        took = time.monotonic() - started
    assert result.interrupted
    assert calls(emulator).get("user/create", 0) == 3, "writes were sent after the stop"
    assert took < 8, f"the stopped run took {took:.0f} s to end"


def test_getresult_failing_during_a_job_ends_the_run_with_a_report(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(batch_rows_per_second=20)  # 100 rows: about 5 s
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(100, department=""))

    def break_the_network() -> None:
        wait_for(lambda: calls(emulator).get("batch/getresult", 0) >= 1)
        emulator.faults(http_error_rate=1.0)

    with client_for(emulator) as client:
        prepared = prepare_import(sheet, client, ImportOptions(via="batch", journal=tmp_path / "j.sqlite3"))
        threading.Thread(target=break_the_network, daemon=True).start()
        try:
            result = run_import(prepared)
        finally:
            emulator.faults(http_error_rate=0.0)
    assert result.interrupted or result.counts.get("failed", 0) or result.counts.get("skipped", 0)
    assert result.results_path is not None and Path(result.results_path).exists()


def test_a_batch_update_of_a_member_deleted_meanwhile_does_not_bring_it_back(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator()
    seed_corp(emulator, [RESEARCH], [{"userid": "a1", "name": "甲", "mobile": "13900000001", "department": [2]}])
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, [["a1", "乙", "13900000009", "", ""]])
    with client_for(emulator) as client:
        prepared = prepare_import(sheet, client, ImportOptions(via="batch", journal=tmp_path / "j.sqlite3"))
        assert prepared.batch_keys() == set()  # a row that could create the member goes per call
        assert emulator.call("user/delete", userid="a1")["errcode"] == 0  # HR deletes a1 while the plan is shown
        result = run_import(prepared)
    assert "a1" not in members_of(emulator.state()), "the deleted member was created again, in the root"
    assert result.counts.get("failed", 0) == 1


def test_a_running_job_is_not_answered_40089(start_emulator) -> None:
    emulator = start_emulator(batch_rows_per_second=5)
    with client_for(emulator) as client:
        rows = "".join(f"s{i},某{i},1360000{i:04d}\r\n" for i in range(50))
        slow = client.batch_syncuser(client.media_upload(("帐号,姓名,手机号\r\n" + rows).encode(), "slow.csv"))
        for i in range(5):
            media = client.media_upload(f"帐号,姓名,手机号\r\nx{i},某{i},1370000000{i}\r\n".encode(), f"x{i}.csv")
            client.batch_syncuser(media)
        answer = client.batch_getresult(slow)  # 40089 now
    assert answer["status"] in (1, 2)


def test_the_plan_printout_counts_each_operation_once(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator()
    seed_corp(emulator, [RESEARCH], [{"userid": "m0000", "name": "成员0", "mobile": "13900000000",
                                      "department": [2], "position": "旧职位"}])
    rows = member_rows(30)
    rows[0][4] = "（清空）"  # a clear: per call
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, rows)
    with client_for(emulator) as client:
        prepared = prepare_import(sheet, client, ImportOptions(via="batch", journal=tmp_path / "j.sqlite3"))
    [line] = prepared.path_lines("en")
    batch, per_call, other = (int(n) for n in re.findall(r"\d+", line.replace(",", ""))[:3])
    assert (batch, per_call) == (29, 1), line
    assert batch + per_call + other == len(prepared.plan.operations), line


def test_time_left_forgets_calls_that_left_the_hour() -> None:
    clock = FakeClock()
    limiter = ApiLimiter(rate=60, clock=clock, sleep=clock.sleep, per_hour=10, hour=20.0)
    for _ in range(10):
        limiter.wait()
    clock.now += 100  # five "hours" later: none of the ten counts any more
    assert limiter.seconds_for(5) == pytest.approx(5.0)
    assert limiter.hourly_pause(5) == 0


def test_a_refused_submit_does_not_read_back_every_row(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(rate_limit=2, block_seconds=3600)
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(6, department=""))
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600_000,
                        workers=2, max_wait=0)
    with WeComClient(settings, backoff=0.01) as client:
        prepared = prepare_import(sheet, client, ImportOptions(via="batch", journal=tmp_path / "j.sqlite3"))
        media = client.media_upload("帐号,姓名,手机号\r\nother,某,13700000001\r\n".encode(), "o.csv")
        token = emulator.token()
        for _ in range(2):  # another program spends batch/syncuser's quota
            assert emulator.call("batch/syncuser", {"media_id": media}, token=token)["errcode"] == 0
        before = calls(emulator)
        result = run_import(prepared)
    assert result.interrupted and result.stopped_by is not None
    assert result.counts.get("skipped", 0) == 6
    assert "user/get" not in calls(emulator, before)
