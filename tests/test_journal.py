"""The journal: runs, the plan, each operation's state and outcome; `bulkdir runs`."""

from __future__ import annotations

import json
from pathlib import Path

from bulkdir.config import user_dirs
from bulkdir.journal import Journal, file_hash
from bulkdir.plan import Operation
from import_support import MEMBER_HEADER, member_rows, run_cli, run_json, write_sheet


def ops(*keys: str) -> list[Operation]:
    return [Operation(key, "member_create", 1, key.split(":")[1], {"userid": key.split(":")[1]}) for key in keys]


def test_operations_move_from_planned_to_started_to_done(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    run = journal.start_run("import", "staff.csv", "abc", {"delete": False})
    journal.record_plan(run, ops("member:a", "member:b", "member:c"))
    journal.mark_started(run, ["member:a", "member:b"])
    journal.mark_done(run, "member:a", "created")
    assert journal.progress(run) == {"planned": 1, "started": 1, "done": 1}
    records = journal.operations(run)
    assert (records["member:a"].state, records["member:a"].outcome) == ("done", "created")
    assert records["member:b"].state == "started"
    # planning again (a resume, against a fresh snapshot): an operation planned again is needed again,
    # whatever the earlier attempt recorded; one the new plan does not need keeps its record for the report
    journal.record_plan(run, ops("member:b", "member:c"))
    assert journal.progress(run) == {"planned": 2, "done": 1}
    assert journal.operations(run)["member:a"].outcome == "created"


def test_an_unfinished_run_is_found_by_file_hash_and_options(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "j.sqlite3")
    run = journal.start_run("import", "staff.csv", "hash1", {"delete": False})
    assert journal.find_unfinished("import", "hash1", {"delete": False}) == run
    assert journal.find_unfinished("import", "hash1", {"delete": True}) is None
    assert journal.find_unfinished("import", "hash2", {"delete": False}) is None
    journal.finish_run(run, "finished", {"created": 3})
    assert journal.find_unfinished("import", "hash1", {"delete": False}) is None
    assert journal.runs()[0].counts == {"created": 3}


def test_the_journal_survives_the_process_and_is_reopened(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    journal = Journal(path)
    run = journal.start_run("import", "staff.csv", "h", {})
    journal.record_plan(run, ops("member:a"))
    journal.mark_started(run, ["member:a"])
    journal.close()
    again = Journal(path)
    assert again.operations(run)["member:a"].state == "started"


def test_file_hash_changes_with_the_content(tmp_path: Path) -> None:
    a = tmp_path / "a.csv"
    a.write_text("x")
    first = file_hash(a)
    a.write_text("y")
    assert file_hash(a) != first


def test_import_records_its_run_in_the_default_journal_and_runs_lists_it(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(4))
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0
    journal = Journal(Path(user_dirs().data) / "journal.sqlite3")
    [run] = journal.runs()
    assert run.id == summary["run"] and run.status == "finished" and run.counts["created"] == 4
    assert {r.outcome for r in journal.operations(run.id).values()} == {"created"}
    result = run_cli(emulator, "runs")
    assert result.exit_code == 0
    assert summary["run"] in result.stdout and "finished" in result.stdout and "created 4" in result.stdout
    listed = json.loads(run_cli(emulator, "runs", "--json").stdout)
    assert listed[0]["id"] == summary["run"]


def test_the_journal_is_readable_by_its_owner_only(tmp_path: Path) -> None:
    path = tmp_path / "j.sqlite3"
    Journal(path).start_run("import", "staff.csv", "h", {})
    assert path.stat().st_mode & 0o777 == 0o600
