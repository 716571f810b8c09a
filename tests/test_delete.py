"""Deletes: `bulkdir delete FILE`, `import --delete-missing` and its brake, batchdelete chunks,
`--disable-instead` and `--prune-departments`, against the emulator over real HTTP."""

from __future__ import annotations

from pathlib import Path

from bulkdir.importer import ImportOptions, prepare_delete, prepare_import, run_import
from bulkdir.plan import DeleteOptions
from import_support import (
    MEMBER_HEADER,
    client_for,
    departments_by_path,
    members_of,
    read_results,
    run_cli,
    run_json,
    seed_corp,
    write_sheet,
    writes,
)


def populate(emulator, counts: dict[str, int]) -> dict[str, int]:
    """Departments under the root, each with `count` members named <department>-<n>; returns their ids."""
    client = client_for(emulator)
    ids = {}
    for index, (name, count) in enumerate(counts.items()):
        ids[name] = client.department_create({"name": name, "parentid": 1, "id": 10 + index})
        for n in range(count):
            client.user_create({"userid": f"{name}-{n}", "name": f"{name}{n}", "mobile": f"13{index}{n:08d}",
                                "department": [ids[name]]})
    client.close()
    return ids


def rows_for(prefix: str, numbers, department: str, index: int) -> list[list[str]]:
    return [[f"{prefix}-{n}", f"{prefix}{n}", f"13{index}{n:08d}", department, ""] for n in numbers]


def test_delete_file_deletes_listed_members_and_skips_unknown_ones(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 10})
    sheet = write_sheet(tmp_path / "leavers.csv", ["帐号", "备注"],
                        [["a-1", "离职"], ["A-2", "离职"], ["nobody", "?"], ["a-1", "重复"]])
    code, summary = run_json(emulator, "delete", str(sheet), "--yes")
    assert code == 1  # one skipped row
    assert summary["deleted"] == 2
    assert set(members_of(emulator.state())) == {f"a-{n}" for n in (0, 3, 4, 5, 6, 7, 8, 9)}
    rows = [(r["帐号"], r["result"]) for r in read_results(summary["report"])]
    assert rows == [("a-1", "deleted"), ("A-2", "deleted"), ("nobody", "skipped"), ("a-1", "skipped")]


def test_batchdelete_goes_in_chunks_of_200_and_survives_one_bad_id(emulator, tmp_path: Path) -> None:
    populate(emulator, {"big": 450})
    sheet = write_sheet(tmp_path / "leavers.csv", ["userid"], [[f"big-{n}"] for n in range(450)])
    client = client_for(emulator)
    options = ImportOptions(delete=DeleteOptions(allow_mass_delete=True), journal=tmp_path / "j.db")
    prepared = prepare_delete(sheet, client, options)
    assert prepared.plan.counts() == {"member_delete": 450}
    client.user_delete("big-250")  # gone between the plan and the call: its chunk answers 40031
    result = run_import(prepared, client, options)
    stats = emulator.stats()
    assert stats["calls"]["user/batchdelete"] == 4  # 200 + 200 (refused) + 200 again without big-250 + 50
    assert stats["errors"].get("40031") == 1
    assert members_of(emulator.state()) == {}
    # big-250 was gone before this run got to it: not counted as deleted by it
    assert (result.counts.get("deleted"), result.counts.get("skipped")) == (449, 1)
    assert "already deleted" in result.rows[("deletes", 252)].message


def test_delete_missing_stays_within_the_departments_the_sheet_covers(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 10, "b": 5})
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(8), "a", 0))
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing")
    assert code == 0, summary
    assert summary["deleted"] == 2 and summary["unchanged"] == 8
    remaining = set(members_of(emulator.state()))
    assert remaining == {f"a-{n}" for n in range(8)} | {f"b-{n}" for n in range(5)}
    rows = read_results(summary["report"])
    assert sorted(r["帐号"] for r in rows if r["result"] == "deleted") == ["a-8", "a-9"]

    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing", "--scope", "all")
    assert code == 0 and summary["deleted"] == 5
    assert set(members_of(emulator.state())) == {f"a-{n}" for n in range(8)}


def test_the_brake_refuses_mass_deletes_unless_allowed(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 100})
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(40), "a", 0))
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--delete-missing")
    assert result.exit_code == 2
    assert "refusing to delete 60 of the 100 members" in result.stderr
    assert "--allow-mass-delete" in result.stderr
    assert writes(emulator.stats()) == before
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing", "--allow-mass-delete")
    assert code == 0 and summary["deleted"] == 60


def test_the_brake_allows_up_to_50_even_above_20_percent(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 100})
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(50), "a", 0))
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing")
    assert code == 0 and summary["deleted"] == 50


def test_the_brake_for_small_scopes_is_80_percent(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 10})
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(2), "a", 0))
    result = run_cli(emulator, "import", str(sheet), "--yes", "--delete-missing")
    assert result.exit_code == 2 and "refusing to delete 8 of the 10" in result.stderr
    sheet = write_sheet(tmp_path / "b.csv", MEMBER_HEADER, rows_for("a", range(3), "a", 0))
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing")
    assert code == 0 and summary["deleted"] == 7


def test_disable_instead_sets_enable_0_and_a_rerun_does_nothing(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 6})
    sheet = write_sheet(tmp_path / "a.csv", MEMBER_HEADER, rows_for("a", range(4), "a", 0))
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing", "--disable-instead")
    assert code == 0 and (summary["disabled"], summary["deleted"]) == (2, 0)
    members = members_of(emulator.state())
    assert len(members) == 6
    assert [members[f"a-{n}"]["enable"] for n in range(6)] == [1, 1, 1, 1, 0, 0]
    after = writes(emulator.stats())
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--delete-missing", "--disable-instead")
    assert code == 0 and summary["disabled"] == 0
    assert writes(emulator.stats()) == after


def test_prune_departments_deletes_emptied_ones_children_first_and_keeps_occupied(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [{"name": "旧部门", "parentid": 1, "id": 20}, {"name": "旧小组", "parentid": 20, "id": 21},
                         {"name": "有人", "parentid": 1, "id": 22}],
              [{"userid": "mover", "name": "搬家", "mobile": "13900000001", "department": [21]},
               {"userid": "stayer", "name": "留下", "mobile": "13900000002", "department": [22]}])
    sheet = write_sheet(tmp_path / "s.csv", MEMBER_HEADER, [["mover", "搬家", "13900000001", "新部门", ""]])
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--prune-departments")
    assert code == 0, summary
    assert summary["departments_deleted"] == 2 and summary["updated"] == 1
    paths = departments_by_path(emulator.state())
    assert ("旧部门",) not in paths and ("旧部门", "旧小组") not in paths
    assert ("有人",) in paths  # still holds stayer: reported, not forced
    result = run_cli(emulator, "import", str(sheet), "--yes", "--prune-departments", "--dry-run")
    assert "有人 is not in the sheet but still holds members: kept" in result.stdout


def test_delete_missing_needs_a_members_sheet(emulator, tmp_path: Path) -> None:
    populate(emulator, {"a": 3})
    sheet = write_sheet(tmp_path / "departments.csv", ["部门名称", "部门ID", "父部门ID"], [["a", "10", "1"]])
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--delete-missing")
    assert result.exit_code == 2 and "needs a members sheet" in result.stderr
    assert writes(emulator.stats()) == before and len(members_of(emulator.state())) == 3


def test_a_prune_that_fails_is_a_failure_but_a_department_kept_for_its_members_is_not(emulator, tmp_path: Path) -> None:
    client = client_for(emulator)
    client.department_create({"name": "旧部门", "parentid": 1, "id": 20})
    client.department_create({"name": "另一个", "parentid": 1, "id": 21})
    sheet = write_sheet(tmp_path / "s.csv", MEMBER_HEADER, [["m1", "甲", "13900000001", "新部门", ""]])
    # both old departments go: all of those below the root, so past the brake unless asked for
    options = ImportOptions(delete=DeleteOptions(prune_departments=True, allow_mass_delete=True),
                            journal=tmp_path / "j.db")
    prepared = prepare_import(sheet, client, options)
    prunes = sorted(op.target for op in prepared.plan.operations if op.kind == "department_delete")
    assert prunes == ["另一个", "旧部门"]
    client.user_create({"userid": "late", "name": "后来", "mobile": "13900000009", "department": [20]})
    result = run_import(prepared, client, options)  # 旧部门 now holds a member: kept, and said so
    assert result.exit_status == 0 and result.counts.get("departments_deleted") == 1
    [(_, kept)] = result.extra
    assert kept.result == "failed" and kept.errcode == 60005 and "kept" in kept.message

    client.user_delete("late")
    prepared = prepare_import(sheet, client, options)
    emulator.faults(fail_rate=1.0)  # every call answers -1 (busy), retries too
    result = run_import(prepared, client, options)
    client.close()
    [(_, failed)] = result.extra
    assert failed.result == "failed" and failed.errcode == -1
    assert result.counts.get("failed") == 1 and result.exit_status == 1
