"""One run per corp at a time: the corp's lock, taken by import, apply and delete for the whole run, let go
by the OS when the holder dies (kill -9 included); a second run waits (--wait) or exits 75 naming the
holder; `bulkdir runs` tells a running run from one that died. Real processes, real HTTP."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest

from bulkdir.journal import Journal
from bulkdir.runlock import CorpLock, RunLockedError
from import_support import (
    MEMBER_HEADER,
    member_rows,
    members_of,
    run_cli,
    subprocess_import,
    wait_for,
    write_sheet,
    writes,
)

ROWS = 300



def settled(handle) -> dict[str, int]:
    """The write counts once they stopped moving."""
    last = writes(handle.stats())
    while True:
        time.sleep(0.3)
        now = writes(handle.stats())
        if now == last:
            return now
        last = now


def test_a_second_lock_on_the_same_corp_is_refused_and_names_the_holder(tmp_path: Path) -> None:
    first = CorpLock("ww1", "import", tmp_path).acquire()
    first.note_run("20261202-010101-abcd")
    with pytest.raises(RunLockedError) as refused:
        CorpLock("ww1", "delete", tmp_path).acquire(wait=0)
    text = str(refused.value)
    assert "20261202-010101-abcd" in text and "`bulkdir import`" in text and f"pid {os.getpid()}" in text
    assert refused.value.exit_status == 75
    CorpLock("ww2", "import", tmp_path).acquire().release()  # another corp is not held up
    first.release()
    CorpLock("ww1", "delete", tmp_path).acquire().release()  # released: the next one goes


def test_wait_waits_for_the_holder(tmp_path: Path) -> None:
    import threading

    first = CorpLock("ww1", "import", tmp_path).acquire()
    threading.Timer(0.5, first.release).start()
    started = time.monotonic()
    second = CorpLock("ww1", "import", tmp_path).acquire(wait=10)
    assert second.held and time.monotonic() - started >= 0.4
    second.release()


def test_the_lock_files_are_private(tmp_path: Path) -> None:
    lock = CorpLock("ww1", "import", tmp_path / "locks").acquire()
    assert (tmp_path / "locks").stat().st_mode & 0o777 == 0o700
    assert lock.info_path.stat().st_mode & 0o777 == 0o600
    lock.release()
    assert not lock.info_path.exists()


def test_two_imports_started_together_one_runs_the_other_exits_75(start_emulator, tmp_path: Path,
                                                                   bulkdir_home: Path) -> None:
    handle = start_emulator(latency_ms=5)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(ROWS, "研发中心"))
    env = {"BULKDIR_HOME": str(bulkdir_home), "BULKDIR_WORKERS": "4"}
    processes = [subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", "--json", **env)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    codes = sorted(p.returncode for p in processes)
    assert codes == [0, 75], outputs
    refused = next(err for p, (out, err) in zip(processes, outputs) if p.returncode == 75)
    assert "is being changed by another run" in refused and "`bulkdir import`" in refused
    assert handle.stats()["calls"]["user/create"] == ROWS  # nothing done twice
    assert handle.stats()["calls"]["department/create"] == 1
    assert len(members_of(handle.state())) == ROWS


def test_after_kill_9_of_the_holder_the_next_run_resumes_and_a_third_exits_75(start_emulator, tmp_path: Path,
                                                                               bulkdir_home: Path) -> None:
    handle = start_emulator(latency_ms=20)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(ROWS, "研发中心"))
    env = {"BULKDIR_HOME": str(bulkdir_home), "BULKDIR_WORKERS": "4"}
    holder = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", **env)
    wait_for(lambda: handle.stats()["ok"].get("user/create", 0) >= 40)
    holder.send_signal(signal.SIGKILL)
    holder.communicate(timeout=30)
    journal = Journal(bulkdir_home / "data" / "journal.sqlite3")
    assert journal.runs()[0].status == "interrupted"  # its process is gone: resumable, not "running"
    processes = [subprocess_import(handle, "import", str(sheet), "--yes", "--quiet", "--json", **env)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=120) for p in processes]
    assert sorted(p.returncode for p in processes) == [0, 75], outputs
    out = next(out for p, (out, err) in zip(processes, outputs) if p.returncode == 0)
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["created"] == ROWS and summary["failed"] == 0
    assert len(members_of(handle.state())) == ROWS
    # at most the calls in flight when it was killed are sent again (and reconciled)
    assert handle.stats()["calls"]["user/create"] <= ROWS + 4
    runs = journal.runs()
    assert [r.status for r in runs] == ["finished"]  # the resumed run is the same run


def test_runs_shows_a_running_run_as_running(start_emulator, tmp_path: Path, bulkdir_home: Path) -> None:
    handle = start_emulator(latency_ms=20)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(ROWS, "研发中心"))
    process = subprocess_import(handle, "import", str(sheet), "--yes", "--quiet",
                                BULKDIR_HOME=str(bulkdir_home), BULKDIR_WORKERS="2")
    wait_for(lambda: handle.stats()["ok"].get("user/create", 0) >= 5)
    listed = run_cli(handle, "runs")
    assert " running " in listed.stdout, listed.stdout
    # a read-only command never waits for the lock
    assert run_cli(handle, "export", str(tmp_path / "now.xlsx")).exit_code == 0
    assert run_cli(handle, "validate", str(sheet)).exit_code == 0
    # a write waits, then gives up with 75
    started = time.monotonic()
    refused = run_cli(handle, "import", str(sheet), "--yes", "--wait", "0.5")
    assert refused.exit_code == 75 and time.monotonic() - started >= 0.5
    assert "after waiting 0.5 s" in refused.stderr
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=30)
    listed = run_cli(handle, "runs")
    assert " interrupted " in listed.stdout and "resumes when the same command is run again" in listed.stdout
    before = settled(handle)  # calls the killed process had in flight still land
    assert run_cli(handle, "import", str(sheet), "--yes", "--dry-run").exit_code == 0  # no lock, no write
    assert writes(handle.stats()) == before
