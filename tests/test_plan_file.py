"""Saved plans that were edited by hand: refused before any call, naming what is wrong. The keyed check
catches any edit; a plan whose check holds is still read strictly."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Callable

import pytest

from bulkdir.planfile import sign
from import_support import MEMBER_HEADER, members_of, run_cli, write_sheet
from test_delete import populate, rows_for


def saved_plan(emulator, tmp_path: Path, *extra: str) -> Path:
    populate(emulator, {"a": 5})
    rows = rows_for("a", range(5), "a", 0)
    rows[0][4] = "经理"  # one update
    rows.append(["new1", "新人", "13900009999", "a/新组", ""])  # one create, one department create
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows)
    plan = tmp_path / "plan.json"
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan), *extra)
    assert result.exit_code == 0, result.stderr
    return plan


def edit(plan: Path, change: Callable[[dict[str, Any]], None], resign: bool) -> None:
    document = json.loads(plan.read_text(encoding="utf-8"))
    change(document)
    if resign:
        document = sign({k: v for k, v in document.items() if k != "check"})
    plan.write_text(json.dumps(document, ensure_ascii=False), encoding="utf-8")


def refused(emulator, plan: Path) -> str:
    calls = emulator.stats()["calls"]
    result = run_cli(emulator, "apply", str(plan), "--yes")
    assert result.exit_code == 2, (result.stdout, result.stderr)
    assert emulator.stats()["calls"] == calls  # not one call, not even gettoken
    assert "Traceback" not in result.stderr
    return result.stderr


def add_delete(document: dict[str, Any]) -> None:
    document["plan"]["operations"].append({"key": "delete:a-4", "kind": "member_delete", "phase": 3,
                                           "target": "a-4", "body": {"userid": "a-4"}, "rows": [], "needs": [],
                                           "before": {"exists": True}, "depth": 0})


def test_a_delete_added_by_hand_is_refused_before_any_call(emulator, tmp_path: Path) -> None:
    plan = saved_plan(emulator, tmp_path)
    edit(plan, add_delete, resign=False)
    assert "was changed after it was saved" in refused(emulator, plan)
    assert "a-4" in members_of(emulator.state())


def operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return document["plan"]["operations"]


def first(document: dict[str, Any], kind: str) -> dict[str, Any]:
    return next(op for op in operations(document) if op["kind"] == kind)


EDITS: dict[str, tuple[Callable[[dict[str, Any]], None], str]] = {
    "a delete added": (add_delete, "a removal of a member, but the plan was made without --delete-missing"),
    "a userid changed": (lambda d: first(d, "member_update")["body"].update(userid="a-3"),
                         "its key, target and userid disagree"),
    "a department id changed": (lambda d: first(d, "member_create")["body"].update(department="2"),
                                "department has a value of the wrong type or size"),
    "a huge number": (lambda d: first(d, "department_create")["body"].update(id=10**30),
                      "its department id is not a whole number"),
    "a wrong type": (lambda d: first(d, "member_update").update(rows="everything"), "its rows are malformed"),
    "an unknown kind": (lambda d: first(d, "member_update").update(kind="corp_delete"),
                        "unknown operation kind 'corp_delete'"),
    "another corp": (lambda d: d.update(corp_id="ww-other"), "it was planned for corp 'ww-other'"),
    "a field the kind does not take": (lambda d: first(d, "member_update")["body"].update(new_userid="x"),
                                       "member_update does not take new_userid"),
    "not a list of operations": (lambda d: d["plan"].update(operations={"a": 1}), "it holds no list of operations"),
}


@pytest.mark.parametrize("what", sorted(EDITS))
def test_a_plan_whose_check_holds_is_still_read_strictly(emulator, tmp_path: Path, what: str) -> None:
    change, message = EDITS[what]
    plan = saved_plan(emulator, tmp_path)
    edit(plan, change, resign=True)  # as someone holding the key would
    assert message in refused(emulator, plan)


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", b"{\"format\": \"bulkdir-plan/1\"}",
                                     b"[" * 100000 + b"]" * 100000, "{\"x\": \"\udcff\"}".encode("utf-8",
                                                                                              "surrogateescape")])
def test_anything_else_given_as_a_plan_gets_one_line(emulator, tmp_path: Path, content: bytes) -> None:
    plan = tmp_path / "plan.json"
    plan.write_bytes(content)
    text = refused(emulator, plan)
    assert text.startswith("Error: ") and len(text.strip().splitlines()) == 1


def test_an_untouched_plan_applies_and_its_file_is_private(emulator, tmp_path: Path) -> None:
    plan = saved_plan(emulator, tmp_path)
    assert plan.stat().st_mode & 0o777 == 0o600
    result = run_cli(emulator, "apply", str(plan), "--yes")
    assert result.exit_code == 0, result.stderr
    members = members_of(emulator.state())
    assert members["a-0"]["position"] == "经理" and "new1" in members


def test_a_plan_from_another_user_or_machine_is_refused(emulator, tmp_path: Path, bulkdir_home: Path) -> None:
    plan = saved_plan(emulator, tmp_path)
    (bulkdir_home / "data" / "plan-key").write_bytes(b"another key" * 3)
    assert "was changed after it was saved (or saved by another user" in refused(emulator, plan)
