"""A snapshot is complete or an error, whatever the platform does with fetch_child (Part A7): members read
department by department when one read of the whole tree lacks some, checked against user/list_id, and a
snapshot that still lacks members refused (exit 2) before anything is written. The import, its rerun,
`--delete-missing` and the export round trip all hold with the emulator ignoring fetch_child."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bulkdir.config import Settings
from bulkdir.journal import Journal
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.directory import IncompleteSnapshotError, fetch_directory
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


def seed(emulator) -> None:
    """Three levels, 30 members, some in two departments; only 2 members in the root itself."""
    client = client_for(emulator)
    client.department_create({"name": "研发中心", "parentid": 1, "id": 2})
    client.department_create({"name": "广州", "parentid": 2, "id": 3})
    client.department_create({"name": "测试组", "parentid": 3, "id": 4})
    client.department_create({"name": "市场部", "parentid": 1, "id": 5})
    for n in range(30):
        departments = [[1], [2], [3], [4, 5], [5]][n % 5] if n >= 2 else [1]
        client.user_create({"userid": f"u{n:02d}", "name": f"成员{n}", "mobile": f"137{n:08d}",
                            "department": departments})
    client.close()


@pytest.fixture(params=[False, True], ids=["fetch_child honoured", "fetch_child ignored"])
def corp(request, emulator):
    emulator.faults(ignore_fetch_child=request.param)
    seed(emulator)
    return emulator


def test_the_snapshot_holds_every_member_once(corp) -> None:
    ignored = corp.faults()["ignore_fetch_child"]
    with client_for(corp) as client:
        directory = fetch_directory(client)
    assert sorted(directory.members) == [f"u{n:02d}" for n in range(30)]
    assert sorted(directory.member("u08")["department"]) == [4, 5]  # in two departments, held once
    calls = corp.stats()["calls"]
    if ignored:
        assert directory.strategy.startswith("department by department (one user/list with fetch_child lacked")
        assert calls["user/list"] == 1 + 4  # the root with fetch_child, then each department below it
    else:
        assert directory.strategy == "one user/list of the whole tree (fetch_child), checked against user/list_id"
        assert calls["user/list"] == 1
    assert calls["user/list_id"] == 1


def test_import_rerun_delete_missing_and_export_round_trip(corp, tmp_path: Path) -> None:
    rows = member_rows(40, "研发中心/广州", prefix="new")
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, rows)
    code, summary = run_json(corp, "import", str(sheet), "--yes")
    assert code == 0 and summary["created"] == 40
    assert len(members_of(corp.state())) == 70
    before = writes(corp.stats())
    code, summary = run_json(corp, "import", str(sheet), "--yes")  # the rerun: nothing to do, no write
    assert code == 0 and (summary["created"], summary["unchanged"]) == (0, 40)
    assert writes(corp.stats()) == before
    # the export of the whole corp imports back unchanged
    exported = tmp_path / "directory.csv"
    assert run_cli(corp, "export", str(exported)).exit_code == 0
    assert len(read_results(exported)) == 70
    code, summary = run_json(corp, "import", str(exported), "--yes")
    assert code == 0 and summary["unchanged"] == 70 and writes(corp.stats()) == before
    # --delete-missing sees the members of every department below the ones the sheet covers
    kept = write_sheet(tmp_path / "kept.csv", MEMBER_HEADER, rows[:35])
    code, summary = run_json(corp, "import", str(kept), "--yes", "--delete-missing")
    assert code == 0 and summary["deleted"] == 5 + 6  # new35..39 and the six seeded members of 广州 and below
    assert len(members_of(corp.state())) == 70 - 11


def test_a_member_hidden_from_list_reads_makes_the_snapshot_an_error(emulator, tmp_path: Path) -> None:
    seed(emulator)
    emulator.faults(hidden_from_lists=["u07"])
    with client_for(emulator) as client:
        with pytest.raises(IncompleteSnapshotError) as refused:
            fetch_directory(client)
    text = str(refused.value)
    assert "1 of the 30 members are missing from the snapshot (u07)" in text and "Nothing was changed" in text
    assert refused.value.exit_status == 2
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(3, "研发中心"))
    before = writes(emulator.stats())
    for command in (["import", str(sheet), "--yes", "--delete-missing"], ["export", str(tmp_path / "d.xlsx")],
                    ["delete", str(sheet), "--yes"]):
        result = run_cli(emulator, *command)
        assert result.exit_code == 2 and "could not be read whole" in result.stderr, command
    assert writes(emulator.stats()) == before and not (tmp_path / "d.xlsx").exists()


def test_the_app_secret_that_does_not_see_everyone_is_refused_in_words(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True)
    seed(emulator)
    emulator.faults(hidden_from_lists=["u03", "u04"])  # as an app whose visible range leaves them out
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, app_secret=emulator.app_secret,
                        base_url=emulator.url, rate=600_000, workers=4)
    with WeComClient(settings, backoff=0.01) as client:
        with pytest.raises(IncompleteSnapshotError, match="visible range"):
            fetch_directory(client)


def test_without_user_list_id_the_members_are_read_department_by_department(emulator) -> None:
    seed(emulator)
    emulator.faults(ignore_fetch_child=True)
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.app_secret, base_url=emulator.url,
                        rate=600_000, workers=4)  # a read-only app secret given as the secret: no user/list_id
    with WeComClient(settings, backoff=0.01) as client:
        directory = fetch_directory(client)
    assert len(directory.members) == 30
    assert directory.strategy.startswith("department by department (this secret may not call user/list_id")
    assert emulator.stats()["calls"]["user/list"] == 5


def test_a_too_large_answer_is_read_department_by_department(emulator) -> None:
    seed(emulator)
    emulator.faults(max_list_members=15)  # the largest department holds 12
    with client_for(emulator) as client:
        directory = fetch_directory(client)
    assert len(directory.members) == 30 and "45029" in directory.strategy


def test_ids_only_names_every_member_when_fetch_child_is_ignored(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True, ignore_fetch_child=True)
    seed(emulator)
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600_000)
    with WeComClient(settings, backoff=0.01) as client:
        directory = fetch_directory(client)
    assert directory.mode == "ids-only" and len(directory.members) == 30
    assert all(member.get("name") for member in directory.members.values())


def test_the_strategy_is_in_the_journal_and_in_debug(corp, tmp_path: Path, bulkdir_home: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(3, "研发中心"))
    result = run_cli(corp, "--debug", "import", str(sheet), "--yes", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    [run] = Journal(bulkdir_home / "data" / "journal.sqlite3").runs()
    assert run.id == summary["run"] and run.snapshot and "user/list_id" in run.snapshot
    assert f"snapshot: 30 members, 5 departments; {run.snapshot}" in result.stderr
