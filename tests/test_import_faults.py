"""Imports under faults and restrictions: busy answers, HTTP 502s, tokens expired mid-run, 48009,
and answers lost after a write landed (reconciled by reading back)."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from bulkdir.executor import execute
from bulkdir.plan import PHASE_MEMBERS, Operation
from import_support import (
    MEMBER_HEADER,
    client_for,
    member_rows,
    members_of,
    read_results,
    run_cli,
    run_json,
    write_sheet,
    writes,
)


def test_faults_and_expired_tokens_every_row_lands_exactly_once(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER + ["直属上级"],
                        [row + [f"m{(i + 1) % 120:04d}"] for i, row in enumerate(member_rows(120, "总部/研发"))])
    emulator.faults(fail_rate=0.05, http_error_rate=0.05, seed=7)
    stop = threading.Event()

    def expire_mid_run() -> None:
        while not stop.is_set():
            if emulator.stats()["ok"].get("user/create", 0) >= 40:
                emulator.expire_tokens()
                return
            stop.wait(0.01)

    watcher = threading.Thread(target=expire_mid_run)
    watcher.start()
    try:
        code, summary = run_json(emulator, "import", str(sheet), "--yes")
    finally:
        stop.set()
        watcher.join()
    stats = emulator.stats()
    assert code == 0, summary
    assert (summary["created"], summary["failed"]) == (120, 0)
    assert stats["ok"]["user/create"] == 120  # each member created once, however many attempts it took
    assert stats["errors"].get("42001", 0) >= 1  # the tokens really expired mid-run
    assert stats["errors"].get("-1", 0) >= 1 and stats["calls"]["user/create"] > 120  # faults met, retried
    members = members_of(emulator.state())
    assert len(members) == 120
    assert all(members[f"m{i:04d}"]["direct_leader"] == [f"m{(i + 1) % 120:04d}"] for i in range(120))


def test_a_create_whose_earlier_attempt_landed_is_created_not_failed(emulator, tmp_path: Path) -> None:
    """60102 after a lost answer: read back, the same values, so our own attempt landed."""
    client = client_for(emulator)
    body = {"userid": "ghost", "name": "幽灵", "mobile": "13900000099", "department": [1]}
    client.user_create(dict(body))  # what the lost attempt did
    ops = [Operation("member:ghost", "member_create", PHASE_MEMBERS, "ghost", dict(body)),
           Operation("member:other", "member_create", PHASE_MEMBERS, "other",
                     {"userid": "GHOST", "name": "别人", "mobile": "13900000098", "department": [1]})]
    results = execute(ops, client).results
    assert results["member:ghost"].outcome == "created"
    # a real conflict: the same userid holding other values fails with the platform's code and a hint
    assert results["member:other"].outcome == "failed" and results["member:other"].errcode == 60102
    assert "already exists with other values" in results["member:other"].message
    client.close()


def test_deleting_a_member_not_in_the_directory_is_skipped_not_deleted(emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    client.user_create({"userid": "gone", "name": "走了", "mobile": "13900000097"})
    ops = [Operation("delete:gone", "member_delete", 3, "gone", {"userid": "gone"}),
           Operation("delete:never", "member_delete", 3, "never", {"userid": "never"})]
    results = execute(ops, client).results
    assert {k: r.outcome for k, r in results.items()} == {"delete:gone": "deleted", "delete:never": "skipped"}
    assert "not in the directory" in results["delete:never"].message
    assert "gone" not in members_of(emulator.state())
    client.close()


def test_48009_without_app_secret_plans_from_userids_and_resends_every_field(start_emulator, tmp_path: Path) -> None:
    handle = start_emulator(restrict_details=True)
    client = client_for(handle)
    client.department_create({"name": "研发中心", "parentid": 1, "id": 2})
    client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [2]})
    client.close()
    sheet = write_sheet(tmp_path / "staff.csv", ["帐号", "姓名", "手机", "部门ID", "职务"], [
        ["zhangsan", "张三", "13800000001", "2", "工程师"],
        ["lisi", "李四", "13800000002", "2", "经理"],
    ])
    result = run_cli(handle, "import", str(sheet), "--yes", "--json")
    assert result.exit_code == 0, result.stderr
    assert "updated with every field" in result.stderr
    stats = handle.stats()
    assert stats["errors"].get("48009", 0) >= 1  # the detail read was refused
    assert stats["calls"].get("user/list_id", 0) >= 1
    members = members_of(handle.state())
    assert members["zhangsan"]["position"] == "工程师" and members["lisi"]["position"] == "经理"
    rows = read_results(json.loads(result.stdout.strip().splitlines()[-1])["report"])
    assert [(r["帐号"], r["result"]) for r in rows] == [("zhangsan", "updated"), ("lisi", "created")]
    # the snapshot cannot tell what is unchanged: a rerun sends both rows again, in full
    before = writes(handle.stats()).get("user/update", 0)
    code, summary = run_json(handle, "import", str(sheet), "--yes")
    assert code == 0 and summary["updated"] == 2
    assert writes(handle.stats())["user/update"] == before + 2


def test_48009_with_an_app_secret_reads_details_and_makes_no_write(start_emulator, tmp_path: Path) -> None:
    handle = start_emulator(restrict_details=True)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(5))
    code, _ = run_json(handle, "import", str(sheet), "--yes", BULKDIR_APP_SECRET=handle.app_secret)
    assert code == 0
    after = writes(handle.stats())
    code, summary = run_json(handle, "import", str(sheet), "--yes", BULKDIR_APP_SECRET=handle.app_secret)
    assert code == 0 and summary["unchanged"] == 5
    assert writes(handle.stats()) == after


def test_a_create_whose_answer_was_lost_is_read_back_and_counts_once(start_emulator) -> None:
    """The first attempt times out but lands; the retry meets 60102; the read-back shows our values."""
    from bulkdir.config import Settings
    from bulkdir.wecom.client import WeComClient

    handle = start_emulator()
    client = WeComClient(Settings(corp_id=handle.corp_id, secret=handle.secret, base_url=handle.url,
                                  rate=600000, workers=2, timeout=0.2), max_attempts=8, backoff=0.05)
    client.gettoken()
    handle.faults(latency_ms=400)  # longer than the client's timeout: the answer is lost, the write lands
    stop = threading.Event()

    def answer_quickly_once_it_landed() -> None:
        while not stop.is_set() and not handle.stats()["ok"].get("user/create"):
            stop.wait(0.01)
        handle.faults(latency_ms=0)

    watcher = threading.Thread(target=answer_quickly_once_it_landed)
    watcher.start()
    body = {"userid": "slow", "name": "慢", "mobile": "13900000096", "department": [1]}
    try:
        results = execute([Operation("member:slow", "member_create", PHASE_MEMBERS, "slow", body)], client).results
    finally:
        stop.set()
        watcher.join()
        client.close()
    assert results["member:slow"].outcome == "created"
    stats = handle.stats()
    assert stats["ok"]["user/create"] == 1 and stats["errors"].get("60102", 0) >= 1


def test_rows_whose_department_could_not_be_created_are_skipped_with_the_reason(emulator, tmp_path: Path) -> None:
    from bulkdir.importer import ImportOptions, prepare_import, run_import

    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER,
                        member_rows(2, "华南") + member_rows(1, "华北", start=2))
    client = client_for(emulator)
    options = ImportOptions(journal=tmp_path / "j.db")
    prepared = prepare_import(sheet, client, options)
    south = next(op for op in prepared.plan.operations if op.target == "华南")
    # someone takes the planned id between the plan and the run: 60008, and the read-back differs
    client.department_create({"name": "别人的部门", "parentid": 1, "id": south.body["id"]})
    result = run_import(prepared, client, options)
    client.close()
    assert result.exit_status == 1
    assert [(ref[1], row.result) for ref, row in sorted(result.rows.items())] == [
        (2, "skipped"), (3, "skipped"), (4, "created")]
    assert "department 华南 had to be done first and failed" in result.rows[("members", 2)].message
    assert "60008" in result.rows[("members", 2)].message
    assert set(members_of(emulator.state())) == {"m0002"}


def test_hidden_private_fields_are_not_compared_so_a_rerun_makes_no_write(start_emulator, tmp_path: Path) -> None:
    handle = start_emulator(restrict_details=True, hide_private_fields=True)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(3))
    code, _ = run_json(handle, "import", str(sheet), "--yes", BULKDIR_APP_SECRET=handle.app_secret)
    assert code == 0
    after = writes(handle.stats())
    result = run_cli(handle, "import", str(sheet), "--yes", "--json", BULKDIR_APP_SECRET=handle.app_secret)
    assert result.exit_code == 0, result.stderr
    assert "cannot be compared" in result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["unchanged"] == 3
    assert writes(handle.stats()) == after
    # a real change beside a hidden field goes, and only it: the mobile is not resent
    rows = member_rows(3)
    rows[0][4] = "经理"
    write_sheet(sheet, MEMBER_HEADER, rows)
    code, summary = run_json(handle, "import", str(sheet), "--yes", BULKDIR_APP_SECRET=handle.app_secret)
    assert code == 0 and summary["updated"] == 1 and summary["unchanged"] == 2
    assert writes(handle.stats())["user/update"] == after.get("user/update", 0) + 1
    assert members_of(handle.state())["m0000"]["position"] == "经理"


def test_a_second_ctrl_c_after_the_last_task_was_queued_still_lets_the_calls_in_flight_finish(emulator) -> None:
    """Ctrl-C twice while the last tasks of a group run (none left to queue): execute returns only once the
    calls in flight have answered, each with its result, and no worker is left sending after it returned."""
    import os
    import signal
    import time

    client = client_for(emulator, workers=4)
    client.gettoken()
    emulator.faults(latency_ms=1500)
    ops = [Operation(f"member:m{n}", "member_create", PHASE_MEMBERS, f"m{n}",
                     {"userid": f"m{n}", "name": f"成员{n}", "mobile": f"1390000010{n}", "department": [1]})
           for n in range(3)]  # fewer than the slots: all queued at once, the loop then only waits

    def press_twice() -> None:
        time.sleep(0.5)
        os.kill(os.getpid(), signal.SIGINT)
        time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGINT)

    presser = threading.Thread(target=press_twice)
    presser.start()
    try:
        execution = execute(ops, client)
        still_sending = [t.name for t in threading.enumerate() if t.name.startswith("bulkdir_")]  # the pool's
    finally:
        presser.join()
        emulator.faults(latency_ms=0)
        client.close()
    assert execution.interrupted
    assert still_sending == []
    assert {key: r.outcome for key, r in execution.results.items()} == {op.key: "created" for op in ops}
