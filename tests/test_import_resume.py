"""Resume: a run killed with SIGKILL (or stopped with Ctrl-C) and started again ends exactly like a clean
run, repeats no finished write, and reports each row's true outcome. Real subprocesses, real HTTP."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import pytest

from bulkdir.journal import Journal
from import_support import (
    MEMBER_HEADER,
    client_for,
    comparable,
    member_rows,
    members_of,
    read_results,
    run_json,
    subprocess_import,
    wait_for,
    write_sheet,
)

ROWS = 160


def build_sheet(tmp_path: Path) -> Path:
    """160 new members over three departments (two levels), each led by a member on a later row,
    plus updates of the 20 seeded members (a new position)."""
    rows = []
    for index, row in enumerate(member_rows(ROWS, "")):
        row[3] = ["总部/研发", "总部/市场", "分部"][index % 3]
        leader = f"m{(index + 7) % ROWS:04d}"
        rows.append(row + [leader])
    for i in range(20):
        rows.append([f"old{i:02d}", f"老员工{i}", f"137{i:08d}", "分部", "高级工程师", ""])
    return write_sheet(tmp_path / "staff.csv", MEMBER_HEADER + ["直属上级"], rows)


def seed(handle) -> None:
    client = client_for(handle)
    client.department_create({"name": "分部", "parentid": 1, "id": 2})
    for i in range(20):
        client.user_create({"userid": f"old{i:02d}", "name": f"老员工{i}", "mobile": f"137{i:08d}",
                            "department": [2], "position": "工程师"})
    client.close()



def test_sigkill_halfway_then_rerun_equals_a_clean_run(start_emulator, tmp_path: Path) -> None:
    sheet = build_sheet(tmp_path)
    journal = tmp_path / "journal.sqlite3"
    killed = start_emulator(latency_ms=20)
    seed(killed)
    seeded = killed.stats()["ok"]["user/create"]
    process = subprocess_import(killed, "import", str(sheet), "--yes", "--quiet", "--journal", str(journal),
                                BULKDIR_WORKERS="4")
    wait_for(lambda: killed.stats()["ok"].get("user/create", 0) >= seeded + ROWS // 2 or process.poll() is not None)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    created_before_kill = killed.stats()["ok"].get("user/create", 0) - seeded
    assert 0 < created_before_kill < ROWS

    code, summary = run_json(killed, "import", str(sheet), "--yes", "--journal", str(journal))
    assert code == 0, summary
    # each row's true outcome, though half of them were done by the killed run
    assert (summary["created"], summary["updated"], summary["failed"]) == (ROWS, 20, 0)
    assert summary["departments_created"] == 3
    results = read_results(summary["report"])
    assert [r["result"] for r in results] == ["created"] * ROWS + ["updated"] * 20

    stats = killed.stats()
    # nothing done twice: every create and every update landed once, and at most the calls in flight
    # at the kill (4 workers) were sent again
    assert stats["ok"]["user/create"] == seeded + ROWS
    assert stats["calls"]["user/create"] <= seeded + ROWS + 4
    assert stats["calls"]["department/create"] <= 3 + 1
    assert stats["ok"]["user/update"] <= 20 + ROWS + 4  # 20 position updates + the leader links
    assert "60102" not in stats["errors"]

    clean = start_emulator()
    seed(clean)
    code, clean_summary = run_json(clean, "import", str(sheet), "--yes", "--journal", str(tmp_path / "clean.db"))
    assert code == 0
    assert comparable(killed.state()) == comparable(clean.state())
    # never more writes than the clean run (fewer: a member created after its leader gets the link at once)
    for api in ("user/create", "user/update", "department/create"):
        assert killed.stats()["ok"][api] <= clean.stats()["ok"][api]

    runs = Journal(journal).runs()
    assert len(runs) == 1 and runs[0].status == "finished"  # the rerun continued the killed run


def test_sigkill_in_ids_only_mode_does_not_resend_finished_updates(start_emulator, tmp_path: Path) -> None:
    handle = start_emulator(latency_ms=20, restrict_details=True)
    client = client_for(handle)
    assert handle.stats()["calls"].get("user/update", 0) == 0
    client.department_create({"name": "分部", "parentid": 1, "id": 2})
    for i in range(100):
        client.user_create({"userid": f"old{i:03d}", "name": f"老员工{i}", "mobile": f"137{i:08d}",
                            "department": [2], "position": "工程师"})
    client.close()
    sheet = write_sheet(tmp_path / "staff.csv", ["帐号", "姓名", "手机", "部门ID", "职务"],
                        [[f"old{i:03d}", f"老员工{i}", f"137{i:08d}", "2", "高级工程师"] for i in range(100)])
    journal = tmp_path / "journal.sqlite3"
    process = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", "--journal", str(journal),
                                BULKDIR_WORKERS="4")
    wait_for(lambda: handle.stats()["ok"].get("user/update", 0) >= 50 or process.poll() is not None)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    updated_before_kill = handle.stats()["ok"]["user/update"]
    assert 0 < updated_before_kill < 100

    code, summary = run_json(handle, "import", str(sheet), "--yes", "--journal", str(journal))
    assert code == 0 and summary["updated"] == 100
    # ids-only: the snapshot cannot show that an update landed, the journal does
    assert handle.stats()["calls"]["user/update"] <= 100 + 4
    assert all(m["position"] == "高级工程师" for m in handle.state()["members"])


def test_ctrl_c_while_workers_wait_for_their_slots_leaves_their_rows_planned_not_started(start_emulator,
                                                                                          tmp_path: Path) -> None:
    # At 60 calls a minute three of the four workers are always waiting for a slot when Ctrl-C comes: their
    # calls never went out, so the journal must not say they may have landed (a resume would read them back).
    handle = start_emulator()
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(12, "研发中心"))
    journal = tmp_path / "journal.sqlite3"
    process = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", "--json", "--journal",
                                str(journal), BULKDIR_WORKERS="4", BULKDIR_RATE="60")
    wait_for(lambda: handle.stats()["ok"].get("user/create", 0) >= 2 or process.poll() is not None)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    created = handle.stats()["ok"]["user/create"]
    assert json.loads(stdout.strip().splitlines()[-1])["created"] == created < 12
    run = Journal(journal).runs()[0]
    progress = Journal(journal).progress(run.id)
    assert progress.get("started", 0) == 0 and progress.get("planned", 0) >= 12 - created - 1
    code, again = run_json(handle, "import", str(sheet), "--yes", "--journal", str(journal))
    assert code == 0 and again["created"] == 12
    assert handle.stats()["calls"].get("user/get", 0) == 0  # nothing had to be read back
    assert handle.stats()["calls"]["user/create"] == 12


@pytest.mark.parametrize("workers", ["1", "4"])
def test_ctrl_c_finishes_calls_in_flight_writes_the_report_and_exits_130(start_emulator, tmp_path: Path,
                                                                          workers: str) -> None:
    handle = start_emulator(latency_ms=20)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(150, "研发中心"))
    journal = tmp_path / "journal.sqlite3"
    report = tmp_path / "result.csv"
    process = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", "--json", "--journal",
                                str(journal), "--report", str(report), BULKDIR_WORKERS=workers)
    wait_for(lambda: handle.stats()["ok"].get("user/create", 0) >= 20 or process.poll() is not None)
    process.send_signal(signal.SIGINT)
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    summary = json.loads(stdout.strip().splitlines()[-1])
    created = handle.stats()["ok"]["user/create"]
    assert summary["interrupted"] is True and summary["created"] == created < 150
    results = read_results(report)
    assert sum(r["result"] == "created" for r in results) == created
    assert all(r["result"] == "skipped" and "interrupted" in r["message"] for r in results if r["result"] != "created")
    # calls in flight finished and were journalled: no started operation is left behind
    run = Journal(journal).runs()[0]
    assert run.status == "interrupted"
    assert Journal(journal).progress(run.id).get("started", 0) == 0
    code, again = run_json(handle, "import", str(sheet), "--yes", "--journal", str(journal), "--report", str(report),
                           "--force")
    assert code == 0 and again["created"] == 150
    assert handle.stats()["calls"]["user/create"] == 150
    assert len(members_of(handle.state())) == 150


def test_a_killed_sandbox_import_resumes_on_the_next_sandbox(tmp_path: Path, bulkdir_home: Path) -> None:
    """The sandbox listens on a new port each time: the run is still found by file, options and corp."""
    import os
    import subprocess
    import sys

    from click.testing import CliRunner

    from bulkdir.cli import cli

    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(60, "研发中心"))
    journal = tmp_path / "journal.sqlite3"
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", "import", str(sheet), "--sandbox", "--yes",
                                "--quiet", "--journal", str(journal), "--rate", "600", "--workers", "2"],
                               env=dict(os.environ), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def some_done() -> bool:
        if process.poll() is not None:
            return True
        try:
            runs = Journal(journal).runs()
            return bool(runs) and Journal(journal).progress(runs[0].id).get("done", 0) >= 10
        except Exception:  # the journal is still being created
            return False

    wait_for(some_done)
    process.kill()
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    result = CliRunner().invoke(cli, ["import", str(sheet), "--sandbox", "--yes", "--json", "--journal", str(journal),
                                      "--rate", "600000"], catch_exceptions=False)
    assert result.exit_code == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["created"] == 60 and summary["departments_created"] == 1
    runs = Journal(journal).runs()
    assert len(runs) == 1 and runs[0].status == "finished"


def test_the_report_of_a_hard_stop_comes_from_the_journal_and_a_read_back(emulator, tmp_path: Path) -> None:
    """Operations the journal shows done keep their outcome; one sent but never answered is judged by what
    the directory holds (kill -9 or a second Ctrl-C between the call and its answer)."""
    from bulkdir.importer import _results_from_journal
    from bulkdir.plan import PHASE_MEMBERS, Operation

    client = client_for(emulator)
    client.user_create({"userid": "landed", "name": "到了", "mobile": "13900000001"})
    ops = [Operation(f"member:{u}", "member_create", PHASE_MEMBERS, u, {"userid": u, "name": n, "mobile": m})
           for u, n, m in (("done", "做完", "13900000002"), ("landed", "到了", "13900000001"),
                           ("lost", "没到", "13900000003"), ("never", "没发", "13900000004"))]
    journal = Journal(tmp_path / "j.sqlite3")
    run = journal.start_run("import", "s.csv", "h", {"corp_id": emulator.corp_id})
    journal.record_plan(run, ops)
    journal.mark_started(run, ["member:done", "member:landed", "member:lost"])
    journal.mark_done(run, "member:done", "created")
    results = _results_from_journal(ops, {}, journal, run, client)
    client.close()
    assert {key: r.outcome for key, r in results.items()} == {"member:done": "created", "member:landed": "created"}
    assert journal.operations(run)["member:landed"].state == "done"  # what the read-back found is journalled
