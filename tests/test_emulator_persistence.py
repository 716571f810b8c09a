"""`db`: the directory in SQLite, durable before the answer, the same after a restart."""

from __future__ import annotations

import json
import sqlite3

import pytest

from bulkdir.emulator import EmulatorOptions, EmulatorServer
from bulkdir.errors import ConfigError


def fill(emulator) -> None:
    assert emulator.call("department/create", {"name": "研发中心", "parentid": 1, "order": 3})["errcode"] == 0
    assert emulator.call("department/create", {"name": "广州", "parentid": 2, "id": 20})["errcode"] == 0
    for i, userid in enumerate(["Zhang", "li", "wang"]):
        body = {"userid": userid, "name": f"成员{i}", "mobile": f"1380000000{i}", "department": [2, 20],
                "order": [i, 10 - i], "is_leader_in_dept": [1, 0]}
        assert emulator.call("user/create", body)["errcode"] == 0


def test_restart_on_the_same_file_serves_the_same_directory(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    first = start_emulator(db=db)
    fill(first)
    first.call("user/update", {"userid": "li", "position": "经理"})
    first.call("user/delete", userid="wang")
    before = first.state()
    first.server.stop()

    second = start_emulator(db=db)
    assert second.state() == before
    assert second.call("user/get", userid="ZHANG")["order"] == [0, 10]
    assert second.call("department/create", {"name": "新部门", "parentid": 1})["id"] == 21


def test_rules_hold_after_a_restart(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    first = start_emulator(db=db)
    fill(first)
    first.server.stop()
    second = start_emulator(db=db)
    answer = second.call("user/create", {"userid": "other", "name": "x", "mobile": "13800000001"})
    assert answer["errcode"] == 60104 and answer["errmsg"].startswith("mobile existed:li")
    assert second.call("user/create", {"userid": "ZHANG", "name": "x", "email": "z@example.com"})["errcode"] == 60102


def test_a_token_stays_valid_across_a_restart(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    first = start_emulator(db=db)
    token = first.token()
    first.server.stop()
    second = start_emulator(db=db)
    assert second.call("department/simplelist", token=token)["errcode"] == 0
    assert second.token() == token


def test_a_write_is_in_the_file_before_it_is_answered(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    emulator = start_emulator(db=db)
    assert emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"})["errcode"] == 0
    # another connection, while the emulator still runs, sees the committed row
    with sqlite3.connect(db) as reader:
        rows = [json.loads(data) for (data,) in reader.execute("SELECT data FROM members")]
    assert [(m["userid"], m["mobile"]) for m in rows] == [("zs", "13800000000")]


def test_a_refused_write_leaves_the_file_unchanged(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    emulator = start_emulator(db=db)
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"})
    emulator.call("user/update", {"userid": "zs", "position": "经理", "gender": 7})  # 40058
    emulator.server.stop()
    assert start_emulator(db=db).call("user/get", userid="zs")["position"] == ""


def test_reset_empties_the_file_too(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    first = start_emulator(db=db)
    fill(first)
    first.reset()
    first.server.stop()
    state = start_emulator(db=db).state()
    assert [d["id"] for d in state["departments"]] == [1] and state["members"] == []


def test_without_db_a_restart_starts_empty(start_emulator):
    first = start_emulator()
    fill(first)
    first.server.stop()
    assert start_emulator().state()["members"] == []


def test_a_file_that_is_not_a_database_is_a_config_error(tmp_path):
    bad = tmp_path / "not-a-db.db"
    bad.write_text("this is not sqlite " * 100)
    with pytest.raises(ConfigError, match="not-a-db.db"):
        EmulatorServer(EmulatorOptions(db=str(bad)))


def test_the_database_is_readable_by_its_owner_only(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    start_emulator(db=db).token()
    assert oct(db.stat().st_mode & 0o777) == "0o600"
    assert oct((tmp_path / "sandbox.db-wal").stat().st_mode & 0o777) == "0o600"


def test_a_database_in_a_missing_folder_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match="no-such-folder"):
        EmulatorServer(EmulatorOptions(db=str(tmp_path / "no-such-folder" / "x.db")))
