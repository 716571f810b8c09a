"""The README's "Running it every night": the cron line, the systemd service and timer (verified by
systemd-analyze where it is installed), the Windows schtasks command, and the example [sync] table."""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from bulkdir.sync import load_job

README = Path(__file__).resolve().parent.parent / "README.md"


def block(name: str) -> str:
    text = README.read_text(encoding="utf-8")
    found = re.search(rf"<!-- schedule:{name} -->\n```[a-z]*\n(.*?)```", text, re.S)
    assert found, f"no {name} block in the README"
    return found.group(1)


def test_the_cron_line_has_five_time_fields_and_runs_sync() -> None:
    [line] = [row for row in block("cron").splitlines() if row.strip()]
    fields = line.split(None, 5)
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for field, (low, high) in zip(fields[:5], ranges):
        assert field == "*" or low <= int(field) <= high, field
    assert "bulkdir sync nightly" in fields[5] and shlex.split(fields[5])


def test_the_systemd_service_and_timer_verify(tmp_path: Path) -> None:
    service, timer = block("service"), block("timer")
    assert "ExecStart=/usr/local/bin/bulkdir sync nightly" in service and "SuccessExitStatus=75" in service
    assert "OnCalendar=" in timer and "WantedBy=timers.target" in timer
    verify = shutil.which("systemd-analyze")
    if verify is None:
        pytest.skip("systemd-analyze is not installed: the units' syntax is checked where it is")
    fake = tmp_path / "bin"
    fake.mkdir()
    executable = fake / "bulkdir"
    executable.write_text("#!/bin/sh\n", encoding="utf-8")
    executable.chmod(0o755)
    (tmp_path / "bulkdir-sync.service").write_text(
        service.replace("/usr/local/bin/bulkdir", str(executable)).replace("User=bulkdir\n", "")
        .replace("WorkingDirectory=/srv/bulkdir", f"WorkingDirectory={tmp_path}"), encoding="utf-8")
    (tmp_path / "bulkdir-sync.timer").write_text(timer, encoding="utf-8")
    done = subprocess.run([verify, "verify", str(tmp_path / "bulkdir-sync.service"),
                           str(tmp_path / "bulkdir-sync.timer")], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and "bulkdir-sync" not in done.stdout + done.stderr, done.stdout + done.stderr


def test_the_schtasks_command_names_the_task_schedule_and_sync() -> None:
    [line] = [row for row in block("windows").splitlines() if row.strip()]
    assert line.startswith("schtasks /Create ")
    options = dict(re.findall(r'/(TN|SC|ST|TR) ("[^"]*"|\S+)', line))
    assert set(options) == {"TN", "SC", "ST", "TR"} and options["SC"] == "DAILY"
    assert re.fullmatch(r"\d\d:\d\d", options["ST"]) and "bulkdir sync nightly" in options["TR"]


def test_the_example_table_loads(tmp_path: Path) -> None:
    text = README.read_text(encoding="utf-8")
    example = re.search(r"```toml\n(\[sync\.nightly\].*?)```", text, re.S)
    assert example
    config = tmp_path / "bulkdir.toml"
    config.write_text(example.group(1), encoding="utf-8")
    job = load_job("nightly", config)
    assert (job.missing, job.max_deletes, job.keep_days) == ("disable", 50, 30)
    assert job.notify == ("robot:hr", "app:zhangsan|lisi")
