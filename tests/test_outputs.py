"""Files bulkdir writes: never over the input sheet, over another existing file only with --force, readable
by their owner only, written whole or not at all (also under Ctrl-C), and a CSV export that imports back
without a change whatever its cells start with."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from bulkdir.journal import Journal
from import_support import (
    MEMBER_HEADER,
    member_rows,
    read_results,
    run_cli,
    run_json,
    seed_corp,
    subprocess_import,
    wait_for,
    write_sheet,
    writes,
)


def private(path: Path) -> bool:
    return path.stat().st_mode & 0o777 == 0o600


def test_export_refuses_an_existing_file_without_force(emulator, tmp_path: Path) -> None:
    target = tmp_path / "directory.xlsx"
    target.write_bytes(b"someone's own file")
    calls = emulator.stats()["calls"]
    result = run_cli(emulator, "export", str(target))
    assert result.exit_code == 2 and "already exists; add --force" in result.stderr
    assert target.read_bytes() == b"someone's own file" and emulator.stats()["calls"] == calls
    csv_target = tmp_path / "d.csv"
    (tmp_path / "d-departments.csv").write_text("x")
    result = run_cli(emulator, "export", str(csv_target))
    assert result.exit_code == 2 and "d-departments.csv already exists" in result.stderr
    assert run_cli(emulator, "export", str(target), "--force").exit_code == 0
    assert private(target) and target.read_bytes()[:2] == b"PK"


def test_plan_out_never_replaces_the_input_sheet(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "hr.xlsx", MEMBER_HEADER, member_rows(3, "研发中心"))
    content = sheet.read_bytes()
    for extra in ([], ["--force"]):
        result = run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(sheet), *extra)
        assert result.exit_code == 2 and "the input sheet; bulkdir never writes over it" in result.stderr
    result = run_cli(emulator, "import", str(sheet), "--yes", "--report", str(sheet), "--force")
    assert result.exit_code == 2 and "would overwrite hr.xlsx, the input sheet" in result.stderr
    assert sheet.read_bytes() == content and writes(emulator.stats()) == {}
    plan = tmp_path / "plan.json"
    plan.write_text("mine")
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan))
    assert result.exit_code == 2 and plan.read_text() == "mine"
    assert run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan), "--force").exit_code == 0
    assert json.loads(plan.read_text())["format"] == "bulkdir-plan/1" and private(plan)


def test_report_refuses_an_existing_file_without_force_and_every_file_is_private(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(3, "研发中心") + [["bad id", "坏", "1"]])
    report = tmp_path / "out.csv"
    report.write_text("keep me")
    result = run_cli(emulator, "import", str(sheet), "--yes", "--report", str(report))
    assert result.exit_code == 2 and "already exists; add --force" in result.stderr
    assert report.read_text() == "keep me" and writes(emulator.stats()) == {}
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--report", str(report), "--force")
    assert code == 1 and summary["invalid"] == 1
    assert private(report) and private(Path(summary["errors_report"]))
    code, summary = run_json(emulator, "import", str(sheet), "--yes")  # the default names, beside the input
    assert private(Path(summary["report"])) and private(Path(summary["errors_report"]))
    problems = tmp_path / "problems.xlsx"
    assert run_cli(emulator, "validate", str(sheet), "--report", str(problems)).exit_code == 1
    assert private(problems)
    again = run_cli(emulator, "validate", str(sheet), "--report", str(problems))
    assert again.exit_code == 2 and "already exists; add --force" in again.stderr
    assert run_cli(emulator, "validate", str(sheet), "--report", str(problems), "--force").exit_code == 1
    for name in ("d.xlsx", "d.json", "d.csv"):
        assert run_cli(emulator, "export", str(tmp_path / name)).exit_code == 0
        assert private(tmp_path / name)
    assert private(tmp_path / "d-departments.csv")
    assert private(Path(os.environ["BULKDIR_HOME"]) / "data" / "journal.sqlite3")


RISKY = ["'=3", "'+1", "=1+1", "+86 139", "-5", "@home", "''=x", "'", "'plain", "=HYPERLINK(\"x\")"]


def test_a_csv_export_with_risky_cells_imports_back_without_a_change(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [{"name": "研发中心", "parentid": 1, "id": 2}],
              [{"userid": f"r{n}", "name": f"风险{n}", "mobile": f"139{n:08d}", "department": [2],
                "position": value, "alias": value} for n, value in enumerate(RISKY)])
    exported = tmp_path / "directory.csv"
    assert run_cli(emulator, "export", str(exported)).exit_code == 0
    before = writes(emulator.stats())
    code, summary = run_json(emulator, "import", str(exported), "--yes")
    assert code == 0 and summary["unchanged"] == len(RISKY), summary
    assert writes(emulator.stats()) == before
    rows = {row["userid"]: row for row in read_results(summary["report"])}
    assert all(not rows[f"r{n}"]["position"].startswith(("=", "+", "-", "@")) for n in range(len(RISKY)))



def partial_report(folder: Path, name: str) -> bool:
    return any(p.name.startswith(f".{name}") for p in folder.iterdir())


@pytest.mark.parametrize("presses", [1, 2])
def test_ctrl_c_while_the_report_is_written(emulator, tmp_path: Path, bulkdir_home: Path, presses: int) -> None:
    # wide rows (columns bulkdir ignores are still written back in the report) make writing it take a second
    notes = [f"备注{c}" for c in range(150)]
    rows = [row + [f"{note}-" + "x" * 40 for note in notes] for row in member_rows(600, "研发中心")]
    sheet = write_sheet(tmp_path / "staff.xlsx", MEMBER_HEADER + notes, rows)
    report = tmp_path / "result.xlsx"
    process = subprocess_import(emulator, "import", str(sheet), "--yes", "--quiet", "--json", "--report",
                                str(report), BULKDIR_HOME=str(bulkdir_home))
    wait_for(lambda: partial_report(tmp_path, "result.xlsx") or process.poll() is not None, every=0.005)
    for _ in range(presses):
        process.send_signal(signal.SIGINT)
        time.sleep(0.01)  # the second press must land while the file is still being written
    stdout, stderr = process.communicate(timeout=120)
    assert "Traceback" not in stderr and "Exception ignored" not in stderr, stderr
    assert not partial_report(tmp_path, "result.xlsx")  # no half-written file left behind
    run = Journal(bulkdir_home / "data" / "journal.sqlite3").runs()[0]
    if presses == 1:  # held back until the report was finished
        assert process.returncode == 0, stderr
        assert "Ctrl-C came while the report was written: it was finished first" in stdout + stderr
        assert len(read_results(report)) == 600 and run.status == "finished"
        return
    assert process.returncode == 130
    assert "interrupted while the report of run" in stderr and "run the same command again" in stderr
    assert not report.exists() and run.status == "interrupted"
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--report", str(report))
    assert code == 0 and summary["created"] == 600
    assert {r["result"] for r in read_results(report)} == {"created"}
