"""`bulkdir import` against the emulator over real HTTP: plan, apply, results, exit codes, idempotence."""

from __future__ import annotations

import json
from pathlib import Path

from import_support import (
    MEMBER_HEADER,
    client_for,
    departments_by_path,
    member_rows,
    members_of,
    read_results,
    run_cli,
    run_json,
    seed_corp,
    write_sheet,
    writes,
)

RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}


def seed(emulator) -> None:
    """研发中心 with zhangsan and lisi, already in the corp."""
    seed_corp(emulator, [RESEARCH], [
        {"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [2], "position": "工程师"},
        {"userid": "lisi", "name": "李四", "mobile": "13800000002", "department": [2], "position": "经理"}])


def test_mix_of_create_update_and_unchanged(emulator, tmp_path: Path) -> None:
    seed(emulator)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["zhangsan", "张三", "13800000001", "研发中心", "工程师"],      # unchanged
        ["lisi", "李四", "13800000002", "研发中心", "总监"],            # position changes
        ["wangwu", "王五", "13800000003", "研发中心/广州", "工程师"],   # new, in a new department
    ])
    before = emulator.stats()
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0
    assert {k: summary[k] for k in ("created", "updated", "unchanged", "failed", "invalid",
                                    "departments_created")} == {
        "created": 1, "updated": 1, "unchanged": 1, "failed": 0, "invalid": 0, "departments_created": 1}
    state = emulator.state()
    members = members_of(state)
    assert members["lisi"]["position"] == "总监"
    guangzhou = departments_by_path(state)[("研发中心", "广州")]
    assert members["wangwu"]["department"] == [guangzhou["id"]]
    calls = writes(emulator.stats())
    # one create, one update (only the changed field), one department: nothing for zhangsan
    assert calls == {"user/create": before["calls"].get("user/create", 0) + 1,
                     "user/update": 1, "department/create": before["calls"].get("department/create", 0) + 1}
    rows = read_results(summary["report"])
    assert [(r["帐号"], r["result"]) for r in rows] == [("zhangsan", "unchanged"), ("lisi", "updated"),
                                                        ("wangwu", "created")]


def test_update_sends_only_the_changed_fields(emulator, tmp_path: Path) -> None:
    seed(emulator)
    client = client_for(emulator)
    client.user_update({"userid": "lisi", "alias": "Lee", "telephone": "020-1234"})
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER + ["别名", "座机"], [
        ["lisi", "李四", "", "", "总监", "", "（清空）"],  # blank mobile/department/alias: left as they are
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0 and summary["updated"] == 1
    lisi = members_of(emulator.state())["lisi"]
    assert (lisi["position"], lisi["alias"], lisi["telephone"], lisi["mobile"], lisi["department"]) == (
        "总监", "Lee", "", "13800000002", [2])


def test_three_level_paths_are_created_parents_first(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["a1", "甲", "13900000001", "华南/广州/天河/一组", "工程师"],
        ["a2", "乙", "13900000002", "华南/广州", "工程师"],
        ["a3", "丙", "13900000003", "华南/深圳/南山", "工程师"],
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0 and summary["created"] == 3 and summary["departments_created"] == 6
    paths = departments_by_path(emulator.state())
    for path in [("华南", "广州", "天河", "一组"), ("华南", "深圳", "南山")]:
        for depth in range(1, len(path)):
            assert paths[path[:depth + 1]]["parentid"] == paths[path[:depth]]["id"]
    assert emulator.stats()["errors"] == {}  # never a child before its parent (60004)


def test_second_import_of_the_same_file_makes_no_write_call(emulator, tmp_path: Path) -> None:
    seed(emulator)
    sheet = write_sheet(tmp_path / "staff.xlsx", MEMBER_HEADER + ["直属上级"], [
        row + ["lisi"] for row in member_rows(30, "研发中心/广州")] + [
        ["lisi", "李四", "13800000002", "研发中心", "总监", ""]])
    code, first = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0 and first["created"] == 30 and first["updated"] == 1
    after_first = writes(emulator.stats())
    code, second = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0
    assert (second["created"], second["updated"], second["unchanged"]) == (0, 0, 31)
    assert writes(emulator.stats()) == after_first


def test_mobiles_stored_as_typed_match_their_normalised_form(emulator, tmp_path: Path) -> None:
    """The platform keeps `+86 138…` as typed; the reader gives `138…`: that is no change."""
    seed_corp(emulator, [RESEARCH], [
        {"userid": "zhangsan", "name": "张三", "mobile": "+86 13800000009", "department": [2], "position": "工程师"},
        {"userid": "wangwu", "name": "王五", "mobile": "+852 9123 4567", "department": [2], "position": "工程师"}])
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["zhangsan", "张三", "13800000009", "研发中心", "工程师"],
        ["wangwu", "王五", "+852 91234567", "研发中心", "工程师"],
    ])
    before = writes(emulator.stats())
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0 and (summary["unchanged"], summary["updated"]) == (2, 0)
    assert writes(emulator.stats()) == before


def test_leader_links_work_in_any_row_order(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER + ["直属上级"], [
        ["e1", "员工一", "13900000011", "研发中心", "工程师", "boss"],     # the leader comes later
        ["e2", "员工二", "13900000012", "研发中心", "工程师", "e1;boss"],
        ["boss", "老板", "13900000013", "研发中心", "总监", "e2"],         # a leader that is also led
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 0, summary
    assert summary["created"] == 3 and summary["failed"] == 0
    members = members_of(emulator.state())
    assert members["e1"]["direct_leader"] == ["boss"]
    assert members["e2"]["direct_leader"] == ["e1", "boss"]
    assert members["boss"]["direct_leader"] == ["e2"]
    code, again = run_json(emulator, "import", str(sheet), "--yes")
    assert (code, again["unchanged"]) == (0, 3)


def test_invalid_rows_are_reported_and_skipped_and_good_rows_go_on(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["ok1", "好一", "13900000021", "研发中心", "工程师"],
        ["bad id", "坏", "13900000022", "研发中心", "工程师"],
        ["ok2", "好二", "12345", "研发中心", "工程师"],
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 1
    assert (summary["created"], summary["invalid"]) == (1, 2)
    assert set(members_of(emulator.state())) == {"ok1"}
    rows = {r["帐号"]: r for r in read_results(summary["report"])}
    assert rows["bad id"]["result"] == "invalid" and "userid" in rows["bad id"]["message"]
    assert rows["ok2"]["result"] == "invalid" and "mobile" in rows["ok2"]["message"]


def test_strict_refuses_when_any_row_is_invalid(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["ok1", "好一", "13900000021", "研发中心", "工程师"],
        ["bad id", "坏", "13900000022", "研发中心", "工程师"],
    ])
    result = run_cli(emulator, "import", str(sheet), "--yes", "--strict")
    assert result.exit_code == 2
    assert "--strict" in result.stderr and "row" in result.stderr
    assert writes(emulator.stats()) == {}


def test_without_yes_and_without_a_terminal_it_refuses(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(2))
    result = run_cli(emulator, "import", str(sheet))
    assert result.exit_code == 2
    assert "--yes" in result.stderr
    assert writes(emulator.stats()) == {}


def test_dry_run_shows_the_plan_and_changes_nothing(emulator, tmp_path: Path) -> None:
    seed(emulator)
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER,
                        member_rows(7, "研发中心/深圳") + [["lisi", "李四", "13800000002", "研发中心", "总监"]])
    seeded = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--dry-run")
    assert result.exit_code == 0
    assert "Departments: 1 to create, 0 to update" in result.stdout
    assert "Members: 7 to create, 1 to update, 0 unchanged" in result.stdout
    assert "create m0000  [row 2]" in result.stdout
    assert "update lisi (position)  [row 9]" in result.stdout
    assert "... and 2 more to create" in result.stdout
    assert writes(emulator.stats()) == seeded


def test_json_summary_has_exactly_the_documented_keys_first(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(3))
    result = run_cli(emulator, "import", str(sheet), "--yes", "--json")
    assert result.exit_code == 0
    lines = result.stdout.strip().splitlines()
    assert len(lines) == 1  # stdout holds the JSON only; the plan and messages went to stderr
    summary = json.loads(lines[0])
    assert list(summary)[:9] == ["run", "created", "updated", "unchanged", "deleted", "disabled", "failed",
                                 "invalid", "departments_created"]
    assert (summary["created"], summary["departments_created"]) == (3, 1)


def test_a_failed_call_is_a_failed_row_with_the_hint(emulator, tmp_path: Path) -> None:
    seed(emulator)
    # the mobile belongs to zhangsan already: the platform answers 60104 naming him
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, [
        ["newbie", "新人", "13800000001", "研发中心", "工程师"],
        ["fine", "没问题", "13800000009", "研发中心", "工程师"],
    ])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert code == 1 and (summary["created"], summary["failed"]) == (1, 1)
    rows = {r["帐号"]: r for r in read_results(summary["report"])}
    assert rows["newbie"]["result"] == "failed" and rows["newbie"]["errcode"] == "60104"
    assert "zhangsan" in rows["newbie"]["message"]
    assert "secret" not in rows["newbie"]["message"].lower() or emulator.secret not in rows["newbie"]["message"]


def test_departments_sheet_creates_with_its_ids_and_updates_by_id(emulator, tmp_path: Path) -> None:
    from openpyxl import Workbook

    client = client_for(emulator)
    client.department_create({"name": "旧名", "parentid": 1, "id": 40, "order": 1})
    path = tmp_path / "org.xlsx"
    book = Workbook()
    members = book.active
    members.title = "成员列表"
    members.append(MEMBER_HEADER)
    members.append(["d1", "部一", "13900000031", "新名/小组", "工程师"])
    departments = book.create_sheet("部门")
    departments.append(["部门名称", "部门ID", "上级部门", "排序"])
    departments.append(["新名", "40", "", "5"])          # id 40 renamed and reordered
    departments.append(["小组", "41", "新名", "1"])     # new, keeps the sheet's id
    book.save(path)
    code, summary = run_json(emulator, "import", str(path), "--yes")
    assert code == 0, summary
    state = emulator.state()
    by_id = {d["id"]: d for d in state["departments"]}
    assert (by_id[40]["name"], by_id[40]["order"]) == ("新名", 5)
    assert (by_id[41]["name"], by_id[41]["parentid"]) == ("小组", 40)
    assert members_of(state)["d1"]["department"] == [41]
    code, again = run_json(emulator, "import", str(path), "--yes")
    assert code == 0 and writes(emulator.stats()).get("department/update") == 1


def _stderr_on_a_terminal(emulator, *args: str) -> tuple[int, str, str]:
    """`bulkdir ARGS` as a subprocess whose stderr is a terminal (a pty): (exit code, stdout, stderr)."""
    import fcntl
    import os
    import pty
    import struct
    import subprocess
    import sys
    import termios

    from import_support import env_for

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a terminal has a width
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", *args], env=dict(os.environ, **env_for(emulator)),
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    chunks = []
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the other side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(master)
    stdout = process.stdout.read().decode() if process.stdout else ""
    return process.wait(timeout=60), stdout, b"".join(chunks).decode(errors="replace")


def test_the_progress_bar_is_on_a_terminal_only_and_off_with_quiet(emulator, tmp_path: Path) -> None:
    sheet = write_sheet(tmp_path / "staff.csv", MEMBER_HEADER, member_rows(3))
    code, stdout, stderr = _stderr_on_a_terminal(emulator, "import", str(sheet), "--yes", "--json")
    assert code == 0 and json.loads(stdout.strip().splitlines()[-1])["created"] == 3  # stdout stays clean JSON
    assert "Importing" in stderr and "4/4" in stderr and "failed=0" in stderr  # 1 department + 3 members
    sheet = write_sheet(tmp_path / "more.csv", MEMBER_HEADER, member_rows(2, start=10))
    code, stdout, stderr = _stderr_on_a_terminal(emulator, "import", str(sheet), "--yes", "--quiet")
    assert code == 0 and "Importing" not in stderr and "2 created" in stdout
    result = run_cli(emulator, "import", str(tmp_path / "staff.csv"), "--yes")  # stderr not a terminal
    assert result.exit_code == 0 and "Importing" not in result.stderr
