"""A resumed run trusts the directory, not the journal: it sends what a fresh snapshot shows is still needed,
whatever an earlier attempt recorded, and is resumed only against the same corp at the same endpoint.
Each case ends with the directory matching the sheet and a report that tells the truth."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from import_support import (
    MEMBER_HEADER,
    client_for,
    member_rows,
    members_of,
    read_results,
    run_cli,
    run_json,
    subprocess_import,
    wait_for,
    write_sheet,
)

ROWS = 120



def stop(process, how: int) -> None:
    process.send_signal(how)
    process.communicate(timeout=60)


def test_after_ctrl_c_and_a_reset_directory_the_rerun_creates_everything_again(start_emulator, tmp_path: Path,
                                                                                bulkdir_home: Path) -> None:
    handle = start_emulator(latency_ms=10)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(ROWS, "研发中心/广州"))
    process = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", BULKDIR_HOME=str(bulkdir_home),
                                BULKDIR_WORKERS="4")
    wait_for(lambda: handle.stats()["ok"].get("user/create", 0) >= 30)
    stop(process, signal.SIGINT)
    handle.reset()  # `bulkdir sandbox reset`, or a rehearsal corp emptied between the runs
    result = run_cli(handle, "import", str(sheet), "--yes", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Resuming run" in result.stderr
    assert result.exit_code == 0, result.stderr
    assert (summary["created"], summary["departments_created"]) == (ROWS, 2)
    assert len(members_of(handle.state())) == ROWS  # the directory holds what the report says
    assert {row["result"] for row in read_results(summary["report"])} == {"created"}


def test_changes_reverted_by_an_admin_between_the_kill_and_the_rerun_are_made_again(start_emulator,
                                                                                     tmp_path: Path,
                                                                                     bulkdir_home: Path) -> None:
    handle = start_emulator(latency_ms=10)
    client = client_for(handle)
    client.department_create({"name": "研发中心", "parentid": 1, "id": 2})
    for row in member_rows(ROWS, ""):
        client.user_create({"userid": row[0], "name": row[1], "mobile": row[2], "department": [2],
                            "position": "工程师"})
    rows = member_rows(ROWS, "研发中心")
    for row in rows:
        row[4] = "高级工程师"
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, rows)
    process = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", BULKDIR_HOME=str(bulkdir_home),
                                BULKDIR_WORKERS="4")
    wait_for(lambda: handle.stats()["ok"].get("user/update", 0) >= 20)
    stop(process, signal.SIGKILL)
    reverted = [m["userid"] for m in handle.state()["members"] if m["position"] == "高级工程师"]
    assert len(reverted) >= 20
    for userid in reverted:  # an admin puts them back in the console
        client.user_update({"userid": userid, "position": "工程师"})
    client.close()
    code, summary = run_json(handle, "import", str(sheet), "--yes")
    assert code == 0 and summary["updated"] == ROWS and summary["unchanged"] == 0
    assert all(m["position"] == "高级工程师" for m in handle.state()["members"])
    assert {row["result"] for row in read_results(summary["report"])} == {"updated"}


def test_a_run_is_not_resumed_against_another_endpoint_with_the_same_corp_id(start_emulator, tmp_path: Path,
                                                                             bulkdir_home: Path) -> None:
    rehearsal = start_emulator(latency_ms=10)
    production = start_emulator()
    assert rehearsal.corp_id == production.corp_id and rehearsal.url != production.url
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(ROWS, "研发中心"))
    process = subprocess_import(rehearsal, "import", str(sheet), "--yes", "--quiet",
                                BULKDIR_HOME=str(bulkdir_home), BULKDIR_WORKERS="4")
    wait_for(lambda: rehearsal.stats()["ok"].get("user/create", 0) >= 30)
    stop(process, signal.SIGKILL)
    result = run_cli(production, "import", str(sheet), "--yes", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert "Resuming" not in result.stderr
    assert result.exit_code == 0 and summary["created"] == ROWS
    assert len(members_of(production.state())) == ROWS
    # and back on the rehearsal corp, the interrupted run is resumed and finished
    again = run_cli(rehearsal, "import", str(sheet), "--yes", "--json")
    assert "Resuming run" in again.stderr and again.exit_code == 0
    assert json.loads(again.stdout.strip().splitlines()[-1])["created"] == ROWS
    assert len(members_of(rehearsal.state())) == ROWS


def test_departments_created_after_a_kill_get_the_ids_an_uninterrupted_run_gives(start_emulator, tmp_path: Path,
                                                                                 bulkdir_home: Path) -> None:
    rows = [["a1", "甲", "13900000001", "总部/研发中心/平台组", ""], ["a2", "乙", "13900000002", "市场部", ""],
            ["a3", "丙", "13900000003", "总部/研发中心/测试组", ""]]
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, rows)
    clean = start_emulator(latency_ms=50)
    assert run_json(clean, "import", str(sheet), "--yes", "--journal", str(tmp_path / "clean.sqlite3"))[0] == 0
    killed = start_emulator(latency_ms=50)
    process = subprocess_import(killed, "import", str(sheet), "--yes", "--quiet", BULKDIR_HOME=str(bulkdir_home))
    wait_for(lambda: killed.stats()["ok"].get("department/create", 0) >= 1, every=0.001)
    stop(process, signal.SIGKILL)
    code, summary = run_json(killed, "import", str(sheet), "--yes")
    assert code == 0 and summary["created"] == 3

    def ids(handle) -> list[tuple[int, str, int]]:
        return sorted((d["id"], d["name"], d["parentid"]) for d in handle.state()["departments"])

    assert ids(killed) == ids(clean)
    assert {m["userid"]: m["department"] for m in killed.state()["members"]} == \
           {m["userid"]: m["department"] for m in clean.state()["members"]}
