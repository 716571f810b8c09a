"""Hostile inputs given to the commands that take a file: one clear line, exit 2, no call, never a hang."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from import_support import run_cli


def hostile(tmp_path: Path, kind: str) -> str:
    if kind == "fifo":
        os.mkfifo(tmp_path / "staff.csv")  # no writer: opening it would wait for ever
        return str(tmp_path / "staff.csv")
    if kind == "folder":
        (tmp_path / "staff.xlsx").mkdir()
        return str(tmp_path / "staff.xlsx")
    if kind == "missing":
        return str(tmp_path / "nowhere.csv")
    return "/dev/zero"  # never ends


@pytest.mark.parametrize("kind", ["fifo", "folder", "missing", "device"])
@pytest.mark.parametrize("command", [["validate"], ["import", "--yes"], ["import", "--dry-run"], ["delete", "--yes"],
                                     ["apply", "--yes"]])
def test_a_file_that_is_not_a_sheet_is_refused_in_one_line(emulator, tmp_path: Path, kind: str,
                                                           command: list[str]) -> None:
    path = hostile(tmp_path, kind)
    calls = emulator.stats()["calls"]
    result = run_cli(emulator, command[0], path, *command[1:])
    assert result.exit_code == 2, (result.stdout, result.stderr)
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert emulator.stats()["calls"] == calls
