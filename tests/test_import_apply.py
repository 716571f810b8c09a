"""`import --plan-out plan.json` then `bulkdir apply plan.json`: exactly that plan, refused on conflicts."""

from __future__ import annotations

import json
from pathlib import Path

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


def test_apply_runs_exactly_the_saved_plan(emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    client.user_create({"userid": "lisi", "name": "李四", "mobile": "13800000002", "position": "经理"})
    client.close()
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER,
                        member_rows(3, "华南/广州") + [["lisi", "李四", "", "", "总监"]])
    plan_file = tmp_path / "plan.json"
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan_file))
    assert result.exit_code == 0
    saved = json.loads(plan_file.read_text(encoding="utf-8"))
    kinds = [op["kind"] for op in saved["plan"]["operations"]]
    assert kinds == ["department_create", "department_create"] + ["member_create"] * 3 + ["member_update"]
    assert saved["plan"]["operations"][-1]["body"] == {"userid": "lisi", "position": "总监"}
    assert writes(emulator.stats()) == {"user/create": 1}

    code, summary = run_json(emulator, "apply", str(plan_file), "--yes")
    assert code == 0, summary
    assert (summary["created"], summary["updated"], summary["departments_created"]) == (3, 1, 2)
    assert members_of(emulator.state())["lisi"]["position"] == "总监"
    rows = read_results(summary["report"])  # the source sheet is still there: the report is row by row
    assert [r["result"] for r in rows] == ["created"] * 3 + ["updated"]


def test_apply_refuses_when_the_directory_changed_in_a_conflicting_way(emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    client.user_create({"userid": "lisi", "name": "李四", "mobile": "13800000002", "position": "经理"})
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER,
                        member_rows(2) + [["lisi", "李四", "", "", "总监"]])
    plan_file = tmp_path / "plan.json"
    assert run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan_file)).exit_code == 0
    client.user_update({"userid": "lisi", "position": "副总裁"})  # someone else changed it since
    client.user_create({"userid": "m0001", "name": "抢先", "mobile": "13911111111"})
    client.close()
    before = writes(emulator.stats())
    result = run_cli(emulator, "apply", str(plan_file), "--yes")
    assert result.exit_code == 1
    assert "changed since plan.json was planned" in result.stderr
    assert "member m0001 now exists" in result.stderr and "member lisi: position changed" in result.stderr
    assert writes(emulator.stats()) == before


def test_apply_of_something_that_is_not_a_plan_is_a_usage_error(emulator, tmp_path: Path) -> None:
    bogus = tmp_path / "plan.json"
    bogus.write_text("{}")
    result = run_cli(emulator, "apply", str(bogus), "--yes")
    assert result.exit_code == 2 and "not a plan" in result.stderr


def test_apply_again_after_it_finished_says_already_applied(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(2))
    plan_file = tmp_path / "plan.json"
    assert run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan_file)).exit_code == 0
    code, summary = run_json(emulator, "apply", str(plan_file), "--yes")
    assert code == 0 and summary["created"] == 2
    before = writes(emulator.stats())
    result = run_cli(emulator, "apply", str(plan_file), "--yes")
    assert result.exit_code == 1
    assert f"plan.json was already applied (run {summary['run']}" in result.stderr
    assert "changed since" not in result.stderr
    assert writes(emulator.stats()) == before
