"""Imports through the platform's async batch import (`--via auto|api|batch`), against the emulator (A9):
which writes go in a batch file and which per call, files split at the size cap, per-row results mapped
back to sheet rows, progress, a job followed to its end after kill -9 and never submitted twice, a job
whose result is gone (40089), and the final directory the same as the per-call path's."""

from __future__ import annotations

import json
import signal
from pathlib import Path

import bulkdir
from bulkdir.batchjobs import batch_files, batch_safe, leaders_of
from bulkdir.importer import ImportOptions, prepare_import, run_import
from bulkdir.plan import Operation
from import_support import (
    calls,
    client_for,
    comparable,
    member_rows,
    members_of,
    read_results,
    run_cli,
    seed_corp,
    subprocess_import,
    wait_for,
    write_sheet,
)

HEADER = ["帐号", "姓名", "手机", "部门", "职务"]
RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}


def test_which_writes_a_batch_file_can_carry() -> None:
    create = Operation("member:a", "member_create", 1, "a", {"userid": "a", "name": "甲", "mobile": "13900000001",
                                                          "department": [2], "main_department": 2, "enable": 1})
    assert batch_safe(create, set())
    assert not batch_safe(create, {"a"})  # others name a as their leader: created per call
    cases = {
        "a clear": {"userid": "a", "position": ""},
        "a cleared list": {"userid": "a", "is_leader_in_dept": [], "department": [2]},
        "a leader link": {"userid": "a", "direct_leader": ["b"]},
        "a custom field": {"userid": "a", "extattr": {"attrs": [{"name": "工号", "text": {"value": "1"}}]}},
        "a field without a column": {"userid": "a", "biz_mail": "a@corp.example"},
        "a main department moved": {"userid": "a", "main_department": 3, "department": [2, 3]},
        "leaders without departments": {"userid": "a", "is_leader_in_dept": [1]},
    }
    for what, body in cases.items():
        assert not batch_safe(Operation("member:a", "member_update", 1, "a", body), set()), what
    assert batch_safe(Operation("member:a", "member_update", 1, "a", {"userid": "a", "position": "经理"}), set())
    assert not batch_safe(Operation("member:a", "member_create", 1, "a", {**create.body, "to_invite": True}), set())
    assert leaders_of([Operation("k", "member_leaders", 2, "x", {"userid": "x", "direct_leader": ["A"]})]) == {"a"}


def test_batch_files_are_the_platforms_layout_and_split_at_the_cap() -> None:
    ops = [Operation(f"member:u{i}", "member_create", 1, f"u{i}",
                     {"userid": f"u{i}", "name": f"名,字{i}", "mobile": f"139{i:08d}", "department": [2, 3],
                      "is_leader_in_dept": [1, 0], "enable": 0}) for i in range(50)]
    [(one, data)] = batch_files(ops)
    lines = data.decode("utf-8").split("\r\n")
    assert lines[0] == "帐号,姓名,手机号,所在部门,是否部门内领导,禁用"
    assert lines[1] == 'u0,"名,字0",13900000000,2;3,1;0,1'  # 禁用 1: not enabled
    assert one == ops
    files = batch_files(ops, max_bytes=800)
    assert len(files) > 2 and [op for chunk, _ in files for op in chunk] == ops
    assert all(len(data) <= 800 and data.startswith(lines[0].encode()) for _, data in files)


def mixed_sheet(tmp_path: Path) -> Path:
    rows = member_rows(30)
    rows[0][4] = "（清空）"  # m0000's 职务 is cleared: per call (a blank cell of a batch file would keep it)
    return write_sheet(tmp_path / "staff.csv", HEADER + ["直属上级"],
                       [row + (["m0001"] if i == 2 else []) for i, row in enumerate(rows)])


def test_batch_and_per_call_end_in_the_same_directory_and_a_rerun_writes_nothing(start_emulator,
                                                                                  tmp_path: Path) -> None:
    states = {}
    for via in ("api", "batch"):
        emulator = start_emulator(batch_rows_per_second=500)
        seed_corp(emulator, [RESEARCH], [{"userid": "m0000", "name": "成员0", "mobile": "13900000000",
                                          "department": [2], "position": "旧职位"}])
        sheet = mixed_sheet(tmp_path)
        seeded = calls(emulator)
        done = run_cli(emulator, "import", str(sheet), "--yes", "--via", via, "--json")
        assert done.exit_code == 0, done.output
        summary = json.loads(done.stdout.strip().splitlines()[-1])
        assert (summary["created"], summary["updated"], summary["failed"]) == (29, 1, 0)
        made = calls(emulator, seeded)
        if via == "batch":
            assert made["batch/syncuser"] == 1 and made["media/upload"] == 1
            # per call: the clear of m0000 and the leader m0001 that row 4 names; then row 4's leader link
            assert made.get("user/create", 0) == 1 and made.get("user/update", 0) == 2
            assert "through the async batch import" in done.output
        else:
            assert "batch/syncuser" not in made and made["user/create"] == 29
        states[via] = comparable(emulator.state())
        again = run_cli(emulator, "import", str(sheet), "--yes", "--via", via, "--json")
        assert again.exit_code == 0
        rerun = calls(emulator, {k: made.get(k, 0) + seeded.get(k, 0) for k in set(made) | set(seeded)})
        assert not {api for api in rerun if api in ("user/create", "user/update", "batch/syncuser")}, rerun
    assert states["batch"] == states["api"]


def test_auto_takes_the_batch_path_from_the_threshold_and_api_never(start_emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(30))
    for args, batched in ((["--batch-threshold", "30"], True), (["--batch-threshold", "31"], False),
                          (["--via", "api", "--batch-threshold", "1"], False), ([], False)):
        emulator = start_emulator()
        done = run_cli(emulator, "import", str(sheet), "--yes", *args)
        assert done.exit_code == 0, done.output
        assert ("batch/syncuser" in calls(emulator)) is batched, args
        assert len(members_of(emulator.state())) == 30


def test_row_failures_of_a_job_are_mapped_back_to_their_rows(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator()
    seed_corp(emulator, members=[{"userid": "taken", "name": "已有", "mobile": "13900000003", "department": [1]}])
    seeded = calls(emulator)
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(6, department=""))  # m0003 has taken's mobile
    done = run_cli(emulator, "import", str(sheet), "--yes", "--via", "batch", "--json")
    assert done.exit_code == 1, done.output
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    assert (summary["created"], summary["failed"]) == (5, 1)
    rows = {row["帐号"]: row for row in read_results(summary["report"])}
    assert rows["m0003"]["result"] == "failed" and rows["m0003"]["errcode"] == "60104"
    assert "mobile" in rows["m0003"]["message"] and list(rows).index("m0003") == 3  # its place in the sheet
    errors = read_results(summary["errors_report"])
    assert [row["帐号"] for row in errors] == ["m0003"]
    assert calls(emulator, seeded).get("user/create", 0) == 0  # the failed row was not sent again per call


def test_a_file_past_the_size_cap_is_sent_as_several_jobs_with_progress(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(batch_rows_per_second=25)
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(120))
    seen: list[tuple[int, int]] = []
    with client_for(emulator) as client:
        options = ImportOptions(via="batch", batch_file_bytes=2000, journal=tmp_path / "j.sqlite3",
                                progress=lambda done, total, failures: seen.append((done, total)))
        result = run_import(prepare_import(sheet, client, options))
    assert result.counts["created"] == 120 and result.counts.get("failed", 0) == 0
    assert len(members_of(emulator.state())) == 120
    assert seen[-1][0] == seen[-1][1] and [d for d, _ in seen] == sorted(d for d, _ in seen)  # never back
    assert calls(emulator)["batch/syncuser"] >= 3
    jobs = calls(emulator)["batch/syncuser"]
    # besides the department's create and each job's end, the bar moved while the jobs ran
    assert len({d for d, _ in seen}) > jobs + 2


def test_kill_9_during_a_job_then_rerun_follows_the_same_job(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(batch_rows_per_second=40)  # 200 rows: about 5 s
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(200))
    process = subprocess_import(emulator, "import", str(sheet), "--yes", "--via", "batch")
    wait_for(lambda: calls(emulator).get("batch/getresult", 0) >= 1, timeout=60)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert len(members_of(emulator.state())) < 200  # killed while the job ran
    again = run_cli(emulator, "import", str(sheet), "--yes", "--via", "batch", "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["created"] == 200 and summary["failed"] == 0
    made = calls(emulator)
    assert made["batch/syncuser"] == 1 and made.get("user/create", 0) == 0  # the same job, nothing sent twice
    assert sorted(members_of(emulator.state())) == [f"m{i:04d}" for i in range(200)]


def test_a_job_whose_result_is_gone_is_judged_by_reading_the_directory(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator(batch_rows_per_second=100)
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(100))
    process = subprocess_import(emulator, "import", str(sheet), "--yes", "--via", "batch")
    wait_for(lambda: calls(emulator).get("batch/getresult", 0) >= 1, timeout=60)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    with client_for(emulator) as other:  # five later jobs: the platform keeps only the latest five results
        for i in range(5):
            media = other.media_upload(f"帐号,姓名,手机号\r\nx{i},某{i},1370000000{i}\r\n".encode(), f"x{i}.csv")
            other.batch_syncuser(media)
        wait_for(lambda: len(members_of(emulator.state())) == 105, timeout=60)
    again = run_cli(emulator, "import", str(sheet), "--yes", "--via", "batch", "--json")
    assert again.exit_code == 0, again.output
    summary = json.loads(again.stdout.strip().splitlines()[-1])
    assert summary["created"] == 100 and summary["failed"] == 0
    assert emulator.stats()["errors"].get("40089", 0) >= 1  # asked, and told the result was gone
    assert calls(emulator)["batch/syncuser"] == 6  # ours once, and the other five


def test_the_library_face_takes_via(start_emulator, tmp_path: Path) -> None:
    emulator = start_emulator()
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(5))
    with client_for(emulator) as client:
        plan = bulkdir.plan_import(sheet, client, via="batch", journal=tmp_path / "j.sqlite3")
        assert "through the async batch import" in str(plan)
        assert bulkdir.apply(plan).counts["created"] == 5
    assert calls(emulator)["batch/syncuser"] == 1


def test_stopped_during_a_job_the_run_ends_at_once_and_the_next_follows_the_job(start_emulator, tmp_path: Path) -> None:
    import threading

    emulator = start_emulator(batch_rows_per_second=50)  # 300 rows: about 6 s
    sheet = write_sheet(tmp_path / "staff.csv", HEADER, member_rows(300))
    stop = threading.Event()
    with client_for(emulator) as client:
        options = ImportOptions(via="batch", journal=tmp_path / "j.sqlite3", stop=stop)
        prepared = prepare_import(sheet, client, options)
        threading.Thread(target=lambda: (wait_for(lambda: calls(emulator).get("batch/getresult", 0) >= 1),
                                         stop.set()), daemon=True).start()
        before = calls(emulator)
        result = run_import(prepared)
    assert result.interrupted and result.counts.get("created", 0) == 0  # not done yet: the job still runs
    assert "user/get" not in calls(emulator, before)  # its 300 members are not read back one by one
    again = run_import(prepare_import(sheet, client_for(emulator), ImportOptions(via="batch",
                                                                                 journal=tmp_path / "j.sqlite3")))
    assert again.counts["created"] == 300 and calls(emulator)["batch/syncuser"] == 1
    assert len(members_of(emulator.state())) == 300
