"""Edges of unattended runs found in review: pruning only a sync's own results, failed rows not forgotten,
the same content not run twice after waiting for the lock, syncs sharing a results folder, a changed table
running again, a results folder inside the watched one, no robot key in any log, problems of the run
notified, a --config file's robots and mappings, a dry run's exit code and nothing written by it, and a
stopped sync's failed notification journalled."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import requests

from import_support import member_rows, members_of, run_cli, seed_corp, subprocess_import, write_sheet

HEADER = ["帐号", "姓名", "手机", "部门", "职务"]
KEY = "5b1d9e4a-review-robot-key-secret"


def messages(emulator: Any) -> list[dict]:
    return requests.get(f"{emulator.url}/_emulator/messages", timeout=10).json()["messages"]


def calls(emulator: Any) -> int:
    return sum(emulator.stats()["calls"].values())


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "drop").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture
def robot(start_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    emulator = start_emulator(webhook_keys=[KEY])
    monkeypatch.setenv("BULKDIR_ROBOT_HR", KEY)
    return emulator


def test_failed_rows_are_not_forgotten_by_the_next_run(emulator: Any, place: Path) -> None:
    seed_corp(emulator, members=[{"userid": "taken", "name": "已有", "mobile": "13900000001", "department": [1]}])
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "results"\n', encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(3, department=""))  # row 3: mobile taken
    first = run_cli(emulator, "sync", "nightly")
    assert first.exit_code == 1, first.output
    again = run_cli(emulator, "sync", "nightly")
    # the row that failed is still not in the directory: monitoring must not see green
    assert "m0001" not in members_of(emulator.state())
    assert again.exit_code != 0 and "nothing to do" not in again.output, again.output


def test_a_results_file_never_becomes_the_next_source(emulator: Any, place: Path) -> None:
    seed_corp(emulator, members=[{"userid": "taken", "name": "已有", "mobile": "13900000001", "department": [1]}])
    (place / "drop" / "hr").mkdir()
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*/*.xlsx"\nsettle_seconds = 0\n'
                                        'results = "drop/results"\n', encoding="utf-8")
    write_sheet(place / "drop" / "hr" / "staff.xlsx", HEADER, member_rows(3, department=""))
    first = run_cli(emulator, "sync", "nightly")
    # a results folder the glob's folder holds is refused before any write, every time, saying why
    assert first.exit_code == 2 and "inside the watched folder" in first.output, first.output
    assert not list(place.glob("drop/results/*")) and not members_of(emulator.state()).keys() - {"taken"}


def test_the_robot_key_of_the_config_file_given_with_config(robot: Any, place: Path) -> None:
    elsewhere = place / "conf"
    elsewhere.mkdir()
    (elsewhere / "jobs.toml").write_text('[sync.weekly]\nsource = "../drop/*.csv"\nsettle_seconds = 0\n'
                                         'notify = ["robot:ops"]\n\n[robots]\nops = "' + KEY + '"\n',
                                         encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(2))
    done = run_cli(robot, "sync", "weekly", "--config", str(elsewhere / "jobs.toml"))
    assert done.exit_code == 0, done.output
    assert "Notification not sent" not in done.output and len(messages(robot)) == 1, done.output


def test_a_mapping_of_the_config_file_given_with_config(emulator: Any, place: Path) -> None:
    elsewhere = place / "conf"
    elsewhere.mkdir()
    (elsewhere / "jobs.toml").write_text('[sync.weekly]\nsource = "../drop/*.csv"\nsettle_seconds = 0\n'
                                         'mapping = "hr"\n\n[mappings.hr]\n"员工编号" = "userid"\n"姓名" = "name"\n'
                                         '"手机号码" = "mobile"\n', encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", ["员工编号", "姓名", "手机号码"],
                [["E1", "张伟", "13900000001"], ["E2", "李娜", "13900000002"]])
    done = run_cli(emulator, "sync", "weekly", "--config", str(elsewhere / "jobs.toml"))
    assert done.exit_code == 0, done.output
    assert sorted(members_of(emulator.state())) == ["E1", "E2"]


def test_a_configuration_problem_of_the_run_is_notified(robot: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "drop"\nnotify = ["robot:hr"]\n', encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(2))
    done = run_cli(robot, "sync", "nightly")
    assert done.exit_code == 2 and "watched folder" in done.output
    assert len(messages(robot)) == 1


def test_an_unreadable_source_is_notified(robot: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "results"\nnotify = ["robot:hr"]\n', encoding="utf-8")
    (place / "drop" / "a.csv").write_text("颜色,形状\n红,圆\n", encoding="utf-8")  # no member columns at all
    done = run_cli(robot, "sync", "nightly")
    assert done.exit_code == 2, done.output
    assert len(messages(robot)) == 1, done.output


def test_two_syncs_with_wait_run_the_content_once(start_emulator: Any, place: Path) -> None:
    slow = start_emulator(latency_ms=40)
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "results"\n', encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(30, department=""))
    processes = [subprocess_import(slow, "sync", "nightly", "--wait", "120", BULKDIR_WORKERS="2")
                 for _ in range(2)]
    outputs = [p.communicate(timeout=180) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    assert slow.stats()["calls"]["user/create"] == 30
    assert any("nothing to do" in out for out, _ in outputs), outputs


def test_dry_run_writes_nothing_on_disk(emulator: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "results"\n', encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(2))
    done = run_cli(emulator, "sync", "nightly", "--dry-run")
    assert done.exit_code == 0, done.output
    assert not (place / "results").exists()


def test_dry_run_with_invalid_rows_exits_1(emulator: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "results"\n', encoding="utf-8")
    rows = member_rows(10)
    rows[0][2] = "12345"
    write_sheet(place / "drop" / "a.csv", HEADER, rows)
    planned = run_cli(emulator, "sync", "nightly", "--dry-run")
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 1, done.output
    assert planned.exit_code == done.exit_code, planned.output


def test_a_failed_notification_of_a_stopped_sync_is_journalled(robot: Any, place: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BULKDIR_ROBOT_HR", "a-wrong-key")
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "results"\nnotify = ["robot:hr"]\n', encoding="utf-8")
    done = run_cli(robot, "sync", "nightly")  # nothing in drop/: stopped
    assert done.exit_code == 2 and "Notification not sent" in done.output
    assert "a-wrong-key" not in done.output
    runs = run_cli(robot, "runs")
    assert "93000" in runs.output, runs.output


def test_pruning_removes_only_the_results_it_wrote(emulator: Any, place: Path) -> None:
    import os
    import time

    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "."\nkeep_days = 1\n', encoding="utf-8")
    notes = place / "notes.txt"
    notes.write_text("HR's own notes", encoding="utf-8")
    for path in (notes, place / "bulkdir.toml"):
        os.utime(path, (time.time() - 3 * 86400,) * 2)
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(2))
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code in (0, 2), done.output  # run, or the folder refused
    assert (place / "bulkdir.toml").exists() and notes.exists()


def test_two_syncs_sharing_a_results_folder_keep_their_own_last_run(emulator: Any, place: Path) -> None:
    import os
    import time

    (place / "other").mkdir()
    (place / "bulkdir.toml").write_text(
        '[sync.staff]\nsource = "drop/*.csv"\nsettle_seconds = 0\nresults = "results"\n\n'
        '[sync.interns]\nsource = "other/*.csv"\nsettle_seconds = 0\nresults = "results"\n', encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(2))
    interns = write_sheet(place / "other" / "b.csv", HEADER, member_rows(2, start=50, prefix="i"))
    os.utime(interns, (time.time() - 3600,) * 2)  # exported an hour before the staff's file
    assert run_cli(emulator, "sync", "staff").exit_code == 0
    done = run_cli(emulator, "sync", "interns")
    assert done.exit_code == 0, done.output
    assert "i0050" in members_of(emulator.state())


def test_a_changed_table_runs_again_on_the_same_file(emulator: Any, place: Path) -> None:
    seed_corp(emulator, [{"name": "研发中心", "parentid": 1, "id": 2}],
              [{"userid": "gone", "name": "离职", "mobile": "13800000009", "department": [2]}])
    body = '[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\nresults = "results"\n'
    (place / "bulkdir.toml").write_text(body, encoding="utf-8")
    write_sheet(place / "drop" / "a.csv", HEADER, member_rows(3))
    assert run_cli(emulator, "sync", "nightly").exit_code == 0
    (place / "bulkdir.toml").write_text(body + 'missing = "disable"\n', encoding="utf-8")
    done = run_cli(emulator, "sync", "nightly")
    assert "nothing to do" not in done.output, done.output
    assert members_of(emulator.state())["gone"]["enable"] == 0, done.output


def test_the_robot_key_is_never_logged(robot: Any, caplog: pytest.LogCaptureFixture) -> None:
    import logging

    from import_support import client_for

    client = client_for(robot)
    with caplog.at_level(logging.DEBUG):
        client.webhook_send(KEY, {"msgtype": "text", "text": {"content": "hello"}})
        client.webhook_upload(KEY, b"userid\nm0001\n", "errors.csv")
    client.close()
    assert caplog.text and KEY not in caplog.text
