"""`bulkdir sync NAME`: unattended runs from a [sync.NAME] table, against the emulator. The table checked
key by key; the newest file of a glob; an unchanged source makes no call; an older, unfinished or broken
source is not used; members the source no longer lists kept, disabled or deleted behind the brakes; too
many invalid rows stop it; results never in the watched folder; one run per corp."""

from __future__ import annotations

import json
import os
import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from import_support import member_rows, members_of, run_cli, seed_corp, write_sheet

HEADER = ["帐号", "姓名", "手机", "部门", "职务"]
RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}


def writes(emulator: Any) -> int:
    calls = emulator.stats()["calls"]
    return sum(n for api, n in calls.items() if api.startswith(("user/create", "user/update", "user/delete",
                                                                 "user/batchdelete", "department/create",
                                                                 "batch/syncuser")))


def calls(emulator: Any) -> int:
    return sum(n for api, n in emulator.stats()["calls"].items())


@pytest.fixture
def place(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder to run in, with drop/ for the HR system's exports."""
    (tmp_path / "drop").mkdir()
    monkeypatch.chdir(tmp_path)
    return tmp_path


def config(place: Path, body: str, name: str = "nightly") -> Path:
    path = place / "bulkdir.toml"
    path.write_text(f'[sync.{name}]\nsource = "drop/*.csv"\nsettle_seconds = 0\nresults = "results"\n{body}\n',
                    encoding="utf-8")
    return path


def export(place: Path, name: str, rows: list[list[str]], age: float = 0) -> Path:
    path = write_sheet(place / "drop" / name, HEADER, rows)
    if age:
        moment = time.time() - age
        os.utime(path, (moment, moment))
    return path


@pytest.mark.parametrize("body, words", [
    ('colour = "blue"', "unknown key 'colour'"),
    ('missing = "purge"', "missing must be one of keep, disable, delete"),
    ('max_delete_share = 3', "max_delete_share must be a number from 0 to 1"),
    ('notify = ["pager:ops"]', "is not robot:NAME"),
])
def test_a_bad_table_is_refused_naming_the_key(emulator: Any, place: Path, body: str, words: str) -> None:
    config(place, body)
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and words in done.output, done.output


def test_a_table_without_a_source_or_a_name_not_defined(emulator: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text("[sync.nightly]\nmissing = \"keep\"\n", encoding="utf-8")
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and "source is required" in done.output
    other = run_cli(emulator, "sync", "weekly")
    assert other.exit_code == 2 and "no [sync.weekly] table" in other.output and "nightly" in other.output


def test_other_commands_keep_working_beside_sync_tables(emulator: Any, place: Path) -> None:
    config(place, 'notify = ["robot:hr"]')
    (place / "bulkdir.toml").write_text((place / "bulkdir.toml").read_text(encoding="utf-8")
                                        + '\n[robots]\nhr = "not-a-real-key"\n', encoding="utf-8")
    sheet = export(place, "a.csv", member_rows(3))
    assert run_cli(emulator, "validate", str(sheet)).exit_code == 0
    assert run_cli(emulator, "import", str(sheet), "--yes").exit_code == 0


def test_a_glob_matching_nothing_stops_before_any_call(emulator: Any, place: Path) -> None:
    config(place, "")
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and "no file matches" in done.output and calls(emulator) == 0


def test_the_newest_export_is_used_and_the_same_content_again_makes_no_call(emulator: Any, place: Path) -> None:
    config(place, "")
    export(place, "monday.csv", member_rows(2), age=3600)
    export(place, "tuesday.csv", member_rows(5))
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 0, done.output
    assert "tuesday.csv" in done.output and len(members_of(emulator.state())) == 5
    before = calls(emulator)
    again = run_cli(emulator, "sync", "nightly")
    assert again.exit_code == 0 and "nothing to do" in again.output and calls(emulator) == before
    forced = run_cli(emulator, "sync", "nightly", "--force")
    assert forced.exit_code == 0 and calls(emulator) > before and writes(emulator) == 6  # read, nothing written
    results = sorted(p.name for p in (place / "results").iterdir())
    assert "last-run-nightly.json" in results and any(name.endswith(".result.xlsx") for name in results)
    assert not any(p.name.endswith(".xlsx") for p in (place / "drop").iterdir())  # nothing in the watched folder


def test_an_export_older_than_the_last_runs_is_not_used(emulator: Any, place: Path) -> None:
    config(place, "")
    export(place, "b.csv", member_rows(4))
    assert run_cli(emulator, "sync", "nightly").exit_code == 0
    for path in (place / "drop").iterdir():
        path.unlink()
    export(place, "old.csv", member_rows(2), age=7200)
    before = writes(emulator)
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and "older than the source of the last run" in done.output
    assert writes(emulator) == before


def test_an_export_still_being_written_is_not_used(emulator: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 1.5\n'
                                        'results = "results"\n', encoding="utf-8")
    path = export(place, "growing.csv", member_rows(3))
    stop = threading.Event()

    def grow() -> None:
        number = 10
        while not stop.wait(0.2):
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"g{number},成员{number},139{number:08d},研发中心,工程师\n")
            number += 1

    writer = threading.Thread(target=grow, daemon=True)
    writer.start()
    try:
        done = run_cli(emulator, "sync", "nightly")
    finally:
        stop.set()
        writer.join()
    assert done.exit_code == 2 and "still being written" in done.output and writes(emulator) == 0


def test_a_workbook_that_does_not_open_is_not_used(emulator: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.xlsx"\nsettle_seconds = 0\n',
                                        encoding="utf-8")
    (place / "drop" / "half.xlsx").write_bytes(b"PK\x03\x04 half a zip")
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and "does not open as a workbook" in done.output and calls(emulator) == 0


@pytest.mark.parametrize("missing", ["keep", "disable", "delete"])
def test_members_the_source_no_longer_lists(emulator: Any, place: Path, missing: str) -> None:
    seed_corp(emulator, [RESEARCH], [dict(zip(("userid", "name", "mobile"), row), department=[2])
                                     for row in member_rows(12)])
    config(place, f'missing = "{missing}"')
    export(place, "a.csv", member_rows(10))  # m0010 and m0011 left
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 0, done.output
    members = members_of(emulator.state())
    if missing == "keep":
        assert len(members) == 12 and members["m0010"]["enable"] == 1
    elif missing == "disable":
        assert len(members) == 12 and members["m0010"]["enable"] == 0 and members["m0011"]["enable"] == 0
    else:
        assert sorted(members) == [f"m{i:04d}" for i in range(10)]


@pytest.mark.parametrize("brake", ["max_deletes = 1", "max_delete_share = 0.1", ""])
def test_the_brakes_stop_a_sync_before_any_write(emulator: Any, place: Path, brake: str) -> None:
    seed_corp(emulator, [RESEARCH], [dict(zip(("userid", "name", "mobile"), row), department=[2])
                                     for row in member_rows(12)])
    config(place, f'missing = "delete"\n{brake}')
    export(place, "a.csv", member_rows(10) if brake else member_rows(1))  # no brake set: the platform's own rule
    before = writes(emulator)
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and "nothing was changed" in done.output, done.output
    assert writes(emulator) == before and len(members_of(emulator.state())) == 12
    if not brake:
        assert run_cli(emulator, "sync", "nightly", "--allow-mass-delete").exit_code == 2  # not in the table
        (place / "bulkdir.toml").write_text((place / "bulkdir.toml").read_text(encoding="utf-8")
                                            + "allow_mass_delete = true\n", encoding="utf-8")
        assert run_cli(emulator, "sync", "nightly").exit_code == 2  # not on the command line
        assert run_cli(emulator, "sync", "nightly", "--allow-mass-delete").exit_code == 0
        assert sorted(members_of(emulator.state())) == ["m0000"]


def test_too_many_invalid_rows_stop_it(emulator: Any, place: Path) -> None:
    config(place, "max_invalid_share = 0.25")
    rows = member_rows(4)
    rows[0][2] = rows[1][2] = "12345"  # two bad mobiles of four rows
    export(place, "a.csv", rows)
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 1 and "max_invalid_share" in done.output and writes(emulator) == 0


def test_results_never_go_in_the_watched_folder(emulator: Any, place: Path) -> None:
    (place / "bulkdir.toml").write_text('[sync.nightly]\nsource = "drop/*.csv"\nsettle_seconds = 0\n'
                                        'results = "drop"\n', encoding="utf-8")
    export(place, "a.csv", member_rows(2))
    done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 2 and "watched folder" in done.output and writes(emulator) == 0


def test_another_run_holding_the_corp_gives_75(emulator: Any, place: Path) -> None:
    from bulkdir.runlock import CorpLock

    config(place, "")
    export(place, "a.csv", member_rows(2))
    with CorpLock(emulator.corp_id, "import").acquire(0):
        done = run_cli(emulator, "sync", "nightly")
    assert done.exit_code == 75 and writes(emulator) == 0
    assert run_cli(emulator, "sync", "nightly").exit_code == 0


def test_two_syncs_started_together_run_once(start_emulator, place: Path) -> None:
    from import_support import subprocess_import

    slow = start_emulator(latency_ms=40)
    config(place, "")
    export(place, "a.csv", member_rows(30, department=""))
    processes = [subprocess_import(slow, "sync", "nightly", BULKDIR_WORKERS="2") for _ in range(2)]
    codes = sorted(p.wait(timeout=120) for p in processes)
    assert codes == [0, 75]
    assert slow.stats()["calls"]["user/create"] == 30 and len(members_of(slow.state())) == 30


def test_dry_run_plans_and_writes_nothing(emulator: Any, place: Path) -> None:
    config(place, "")
    export(place, "a.csv", member_rows(3))
    done = run_cli(emulator, "sync", "nightly", "--dry-run")
    assert done.exit_code == 0 and "Members: 3 to create" in done.output and writes(emulator) == 0
    assert not (place / "results" / "last-run-nightly.json").exists()  # the real run is still to come
    assert run_cli(emulator, "sync", "nightly").exit_code == 0 and len(members_of(emulator.state())) == 3


def test_old_results_are_pruned(emulator: Any, place: Path) -> None:
    config(place, "keep_days = 1")
    (place / "results").mkdir()
    stale = place / "results" / "nightly-20200101-000000.result.xlsx"
    stale.write_bytes(b"old")
    os.utime(stale, (time.time() - 3 * 86400,) * 2)
    export(place, "a.csv", member_rows(1))
    assert run_cli(emulator, "sync", "nightly").exit_code == 0
    assert not stale.exists() and json.loads((place / "results" / "last-run-nightly.json").read_text())["hash"]


def test_a_sync_named_with_glob_characters_prunes_its_own_results_only(place: Path) -> None:
    from bulkdir.sync import load_job, prune_results

    config(place, "keep_days = 1", name='"hr[1]"')
    job = load_job("hr[1]", place / "bulkdir.toml")
    folder = job.results_folder
    folder.mkdir(parents=True, exist_ok=True)
    own, other = folder / "hr[1]-20200101-000000.result.xlsx", folder / "hr1-20200101-000000.result.xlsx"
    for path in (own, other):
        path.write_bytes(b"old")
        os.utime(path, (time.time() - 3 * 86400,) * 2)
    assert prune_results(job) == 1  # "[1]" is no character class: hr1's results are another sync's
    assert not own.exists() and other.exists()


def test_a_sync_table_from_another_config_file(emulator: Any, place: Path) -> None:
    elsewhere = place / "conf"
    elsewhere.mkdir()
    (elsewhere / "jobs.toml").write_text('[sync.weekly]\nsource = "../drop/*.csv"\nsettle_seconds = 0\n',
                                         encoding="utf-8")
    export(place, "a.csv", member_rows(2))
    done = run_cli(emulator, "sync", "weekly", "--config", str(elsewhere / "jobs.toml"))
    assert done.exit_code == 0, done.output
    assert len(members_of(emulator.state())) == 2  # the source is read relative to the config file
    missing = run_cli(emulator, "sync", "weekly", "--config", str(place / "nope.toml"))
    assert missing.exit_code == 2 and "nope.toml" in missing.output


def test_runs_in_the_same_second_keep_each_others_results(emulator: Any, place: Path) -> None:
    from bulkdir.sync import _results_path, load_job, prune_results

    config(place, "keep_days = 1")
    job = load_job("nightly", place / "bulkdir.toml")
    job.results_folder.mkdir(parents=True, exist_ok=True)
    names = []
    for _ in range(3):  # faster than the clock ticks: the same second's name is taken
        path = _results_path(job)
        path.write_bytes(b"results")
        names.append(path.name)
    assert len(set(names)) == 3
    assert any(re.fullmatch(r"nightly-\d{8}-\d{6}-2\.result\.xlsx", name) for name in names) or \
        len({name[:23] for name in names}) == 3  # only if every call fell in a second of its own
    for name in names:  # all of them are this sync's own results, which pruning removes once old
        os.utime(job.results_folder / name, (time.time() - 3 * 86400,) * 2)
    assert prune_results(job) == 3
