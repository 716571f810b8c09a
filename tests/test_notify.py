"""Notifications (`--notify`, a sync table's `notify`): what a group robot and app members receive at the
emulator's /_emulator/messages, that no secret is in them, that a failing notification never changes the
exit code (said on stderr, kept in the journal, shown by `bulkdir runs`), the robot's 20 a minute, and
text cut to the platform's limit."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from bulkdir.notify import cut, send
from import_support import client_for, member_rows, run_cli, seed_corp, write_sheet

HEADER = ["帐号", "姓名", "手机", "部门", "职务"]
KEY = "0f3c6a2e-robot-key-not-for-eyes"


def messages(emulator: Any) -> list[dict]:
    return requests.get(f"{emulator.url}/_emulator/messages", timeout=10).json()["messages"]


@pytest.fixture
def robot(start_emulator: Any, monkeypatch: pytest.MonkeyPatch) -> Any:
    emulator = start_emulator(webhook_keys=[KEY])
    monkeypatch.setenv("BULKDIR_ROBOT_HR", KEY)
    return emulator


def test_a_sync_tells_the_robot_how_it_went_in_chinese(robot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "drop").mkdir()
    (tmp_path / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                           'notify = ["robot:hr"]\n', encoding="utf-8")
    write_sheet(tmp_path / "drop" / "a.csv", HEADER, member_rows(3))
    done = run_cli(robot, "sync", "nightly")
    assert done.exit_code == 0, done.output
    [message] = messages(robot)
    assert message["channel"] == "robot" and message["msgtype"] == "text"
    text = json.dumps(message, ensure_ascii=False)
    assert "bulkdir sync nightly：完成" in text and "新建 3" in text and "运行 " in text
    assert KEY not in text and KEY not in done.output and robot.secret not in text


def test_failed_rows_are_listed_and_the_rows_to_fix_attached(robot: Any, tmp_path: Path) -> None:
    seed_corp(robot, members=[{"userid": "taken", "name": "已有", "mobile": "13900000001", "department": [1]}])
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(3, department=""))
    done = run_cli(robot, "import", str(sheet), "--yes", "--notify", "robot:hr", "--lang", "en")
    assert done.exit_code == 1
    text, attached = messages(robot)
    content = json.dumps(text, ensure_ascii=False)
    assert "done, with failures" in content and "row 3" in content and "1 failed" in content
    assert attached["msgtype"] == "file" and attached["file"]["name"].endswith(".csv")


def test_notify_on_failure_is_quiet_when_all_went_well(robot: Any, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(2))
    assert run_cli(robot, "import", str(sheet), "--yes", "--notify", "robot:hr").exit_code == 0
    assert messages(robot) == []
    assert run_cli(robot, "import", str(sheet), "--yes", "--notify", "robot:hr", "--notify-on",
                   "always").exit_code == 0
    assert len(messages(robot)) == 1


def test_a_notification_that_fails_never_changes_the_exit_code(robot: Any, tmp_path: Path,
                                                               monkeypatch: Any) -> None:
    monkeypatch.setenv("BULKDIR_ROBOT_HR", "a-wrong-key")
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(2))
    done = run_cli(robot, "import", str(sheet), "--yes", "--notify", "robot:hr", "--notify-on", "always")
    assert done.exit_code == 0 and "Notification not sent" in done.output and "93000" in done.output
    assert "a-wrong-key" not in done.output and messages(robot) == []
    runs = run_cli(robot, "runs")
    assert "notification not sent" in runs.output and "93000" in runs.output and "a-wrong-key" not in runs.output


def test_an_unknown_notify_target_is_refused_before_anything(robot: Any, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(2))
    done = run_cli(robot, "import", str(sheet), "--yes", "--notify", "pager:ops")
    assert done.exit_code == 2 and "robot:NAME" in done.output and robot.stats()["calls"] == {}


def test_app_members_get_the_message_and_unknown_ones_are_said(robot: Any, tmp_path: Path) -> None:
    seed_corp(robot, members=[{"userid": "hr1", "name": "人事", "mobile": "13700000001", "department": [1]}])
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(2))
    done = run_cli(robot, "import", str(sheet), "--yes", "--notify", "app:hr1|nobody", "--notify-on", "always",
                   BULKDIR_APP_SECRET=robot.app_secret, BULKDIR_AGENT_ID="1000002")
    assert done.exit_code == 0, done.output
    [message] = messages(robot)
    assert message["channel"] == "app" and message["touser"] == ["hr1", "nobody"]
    assert "not delivered to nobody" in done.output and robot.app_secret not in done.output


def test_the_robots_twenty_a_minute(robot: Any) -> None:
    with client_for(robot) as client:
        failures = [send(["robot:hr"], f"消息 {i}", client) for i in range(21)]
    assert all(f == [] for f in failures[:20]) and "45009" in str(failures[20]) and KEY not in str(failures[20])
    assert len(messages(robot)) == 20


def test_text_is_cut_to_the_platforms_limit_not_refused(robot: Any) -> None:
    long = "成员" * 2000  # 12,000 bytes
    assert len(cut(long).encode("utf-8")) <= 2048 and cut(long).endswith("…") and cut("short") == "short"
    with client_for(robot) as client:
        assert send(["robot:hr"], long, client) == []
    [message] = messages(robot)
    assert json.dumps(message, ensure_ascii=False).count("成员") > 300


def test_a_stopped_sync_says_why(robot: Any, tmp_path: Path, monkeypatch: Any) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nnotify = ["robot:hr"]\n',
                                           encoding="utf-8")
    done = run_cli(robot, "sync", "nightly")
    assert done.exit_code == 2
    [message] = messages(robot)
    assert "已停止" in json.dumps(message, ensure_ascii=False) and "没有匹配的文件" in json.dumps(message,
                                                                                              ensure_ascii=False)
