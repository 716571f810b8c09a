"""Deletes that must never happen: a member whose row is invalid is not "missing", the brake has no gap at 50,
counts what was deleted on the corp in the last 24 hours, brakes department prunes, and holds for `apply`;
every delete count is in the summary line."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from bulkdir.journal import Journal
from import_support import MEMBER_HEADER, client_for, members_of, read_results, run_cli, run_json, write_sheet, writes
from test_delete import populate, rows_for


def test_members_on_invalid_rows_are_kept_by_delete_missing(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 100})
    rows = rows_for("a", range(100), "a", 0)
    header = MEMBER_HEADER + ["邮箱"]
    rows = [row + (["typo#example.com"] if index < 40 else [""]) for index, row in enumerate(rows)]
    sheet = write_sheet(tmp_path / "a.csv", header, rows)
    result = run_cli(emulator, "import", str(sheet), "--yes", "--delete-missing", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["deleted"], summary["invalid"]) == (0, 40)
    assert "Kept 40 member(s) that rows with problems name" in result.stderr
    assert len(members_of(emulator.state())) == 100
    results = read_results(summary["report"])
    assert [r["result"] for r in results[:40]] == ["invalid"] * 40
    assert not any(r["result"] == "deleted" for r in results)


def test_an_invalid_row_that_names_nobody_stops_every_delete(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 100})
    rows = rows_for("a", range(95), "a", 0) + [["", "某人", "", "a", ""]]  # no userid, mobile or email
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows)
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--delete-missing", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["deleted"] == 0 and summary["invalid"] == 1
    assert "No member is deleted: rows 97 have problems" in result.stderr
    assert writes(emulator.stats()) == before and len(members_of(emulator.state())) == 100


def test_the_brake_has_no_gap_at_50(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 51, "b": 50})
    one_row = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(1), "a", 0))
    result = run_cli(emulator, "import", str(one_row), "--yes", "--delete-missing")
    assert result.exit_code == 2 and "refusing to delete 50 of the 51 members in scope" in result.stderr
    everyone = write_sheet(tmp_path / "b.csv", ["userid"], [[f"b-{n}"] for n in range(50)])
    result = run_cli(emulator, "delete", str(everyone), "--yes")
    assert result.exit_code == 0  # 50 of 101 in the corp: allowed
    result = run_cli(emulator, "delete", str(write_sheet(tmp_path / "c.csv", ["userid"],
                                                         [[f"a-{n}"] for n in range(51)])), "--yes")
    assert result.exit_code == 2 and "refusing to delete 51 of the 51 members of the corp" in result.stderr
    assert len(members_of(emulator.state())) == 51


def test_a_mass_delete_cannot_be_split_into_runs(emulator, tmp_path: Path, bulkdir_home: Path) -> None:
    populate(emulator, {"a": 200})
    sheets = [write_sheet(tmp_path / f"leavers{part}.csv", ["userid"], [[f"a-{n}"] for n in range(part * 50,
                                                                                                    part * 50 + 50)])
              for part in range(4)]
    code, summary = run_json(emulator, "delete", str(sheets[0]), "--yes")
    assert code == 0 and summary["deleted"] == 50
    result = run_cli(emulator, "delete", str(sheets[1]), "--yes")
    assert result.exit_code == 2
    assert "after 50 members deleted on this corp in the last 24 hours" in result.stderr
    assert len(members_of(emulator.state())) == 150
    code, summary = run_json(emulator, "delete", str(sheets[1]), "--yes", "--allow-mass-delete")
    assert code == 0 and summary["deleted"] == 50
    # a run that deletes nothing is not held back by the window
    code, summary = run_json(emulator, "delete", str(sheets[0]), "--yes")
    assert (code, summary["deleted"], summary["skipped"]) == (1, 0, 50)
    # the window is read from the journal: deletes older than 24 hours no longer count
    path = bulkdir_home / "data" / "journal.sqlite3"
    assert Journal(path).recent_removals("wwsandbox") == {"member_delete": 100}
    with sqlite3.connect(path) as db:
        db.execute("UPDATE operations SET updated_at = '2020-01-01T00:00:00Z'")
        db.execute("UPDATE runs SET started_at = '2020-01-01T00:00:00Z', finished_at = '2020-01-01T00:00:00Z'")
    assert Journal(path).recent_removals("wwsandbox") == {}
    code, summary = run_json(emulator, "delete", str(sheets[2]), "--yes")
    assert code == 0 and summary["deleted"] == 50


def test_department_prunes_meet_the_brake_and_are_counted_in_the_summary(emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    for index in range(10):
        client.department_create({"name": f"旧部门{index}", "parentid": 1, "id": 20 + index})
    client.close()
    sheet = write_sheet(tmp_path / "s.csv", MEMBER_HEADER, [["m1", "甲", "13900000001", "旧部门0", ""]])
    result = run_cli(emulator, "import", str(sheet), "--yes", "--prune-departments")
    assert result.exit_code == 2 and "refusing to delete 9 of the 10 departments below the root" in result.stderr
    assert len(emulator.state()["departments"]) == 11
    result = run_cli(emulator, "import", str(sheet), "--yes", "--prune-departments", "--allow-mass-delete")
    assert result.exit_code == 0, result.stderr
    assert "departments: 0 created, 0 updated, 9 deleted" in result.stdout
    assert "1 created, 0 updated, 0 unchanged, 0 deleted, 0 disabled" in result.stdout


def test_apply_brakes_a_saved_plans_deletes_and_skips_members_already_gone(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 200})
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(50), "a", 0))
    plan = tmp_path / "plan.json"
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--delete-missing", "--allow-mass-delete",
                     "--plan-out", str(plan))
    assert result.exit_code == 0, result.stderr
    before = writes(emulator.stats())
    refused = run_cli(emulator, "apply", str(plan), "--yes")
    assert refused.exit_code == 2 and "refusing to delete 150 of the 200 members in scope" in refused.stderr
    assert writes(emulator.stats()) == before
    client_for(emulator).user_delete("a-199")  # gone before the plan is applied
    code, summary = run_json(emulator, "apply", str(plan), "--yes", "--allow-mass-delete")
    assert code == 1 and (summary["deleted"], summary["skipped"]) == (149, 1)
    assert len(members_of(emulator.state())) == 50
