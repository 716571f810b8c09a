"""The edges of HR sheets, against the emulator over real HTTP: mappings and headers that are easy to get
wrong (extattr headers in any case, a sheet of userids and custom fields, two columns onto enable and
disabled, a mapped column under a header bulkdir otherwise ignores, value maps on departments, a config
file given as the mapping); custom fields where the directory cannot show them or has none; rows without a
userid (made userids and the rows with problems, the plan's list of them, an email that is a member's
企业邮箱); leavers found by mobile without a name, --delete-missing where mobiles cannot be read; and
runs killed on the way (failed lookups still counted against the day, made userids kept by the rerun)."""

from __future__ import annotations

import json
import signal
from pathlib import Path

from import_support import (
    attrs_of,
    members_of,
    read_results,
    run_cli,
    run_json,
    seed_corp,
    subprocess_import,
    wait_for,
    write_sheet,
    writes,
)

RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}
ZHANGSAN = {"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [2]}


# ---------------------------------------------------------------------------------------------
# headers and mappings


def test_a_header_naming_its_custom_field_is_read_whatever_the_case_of_extattr(emulator, tmp_path: Path) -> None:
    emulator.faults(custom_fields=["工号"])
    seed_corp(emulator, [RESEARCH], [ZHANGSAN])
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "姓名", "Extattr:工号"], [["zhangsan", "张三", "E1"]])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert (code, summary["updated"]) == (0, 1)
    assert attrs_of(members_of(emulator.state())["zhangsan"]).get("工号") == "E1"


def test_a_sheet_of_userids_and_an_extattr_column_has_a_header_row(emulator, tmp_path: Path) -> None:
    emulator.faults(custom_fields=["工号"])
    seed_corp(emulator, [RESEARCH], [ZHANGSAN])
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "extattr:工号"], [["zhangsan", "E1"]])
    result = run_cli(emulator, "import", str(sheet), "--yes")
    assert result.exit_code == 0, result.output
    assert attrs_of(members_of(emulator.state())["zhangsan"]).get("工号") == "E1"


def test_two_columns_mapped_onto_enable_and_disabled_are_refused(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [ZHANGSAN])
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "在职状态", "冻结"], [["zhangsan", "1", "是"]])
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--map", "在职状态=enable", "--map", "冻结=disabled")
    # both fill `enable` (here 1 and 0): two columns onto one field
    assert result.exit_code == 2, result.output
    assert "columns '在职状态' and '冻结' are both mapped to 'enable' and 'disabled', which fill one field" \
        in result.stderr
    assert writes(emulator.stats()) == before


def test_a_mapped_column_whose_header_bulkdir_ignores_is_still_read(emulator, tmp_path: Path) -> None:
    emulator.faults(custom_fields=["考核结果"])
    seed_corp(emulator, [RESEARCH], [ZHANGSAN])
    # 结果 is a header result files add, read as nothing unless a mapping names it
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "结果"], [["zhangsan", "A"]])
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--map", "结果=extattr:考核结果")
    assert summary["updated"] == 1
    assert attrs_of(members_of(emulator.state())["zhangsan"]).get("考核结果") == "A"


def test_a_value_map_on_the_department_column_is_refused(emulator, tmp_path: Path, monkeypatch) -> None:
    seed_corp(emulator, [RESEARCH])
    (tmp_path / "bulkdir.toml").write_text(
        '[mappings.hr]\n"所属部门" = { field = "department", values = { "研发" = "研发中心" } }\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "姓名", "手机", "所属部门"],
                        [["zhangsan", "张三", "13800000001", "研发"]])
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--mapping", "hr")
    # departments are paths or ids, not a field of fixed words: a value map there would be dropped unsaid
    assert result.exit_code == 2, result.output
    assert "value map for column '所属部门', but department takes department paths or ids" in result.stderr
    assert writes(emulator.stats()) == before
    assert "研发" not in {d["name"] for d in emulator.state()["departments"]}


def test_a_config_file_given_as_the_mapping_never_prints_its_secret(emulator, tmp_path: Path, monkeypatch) -> None:
    secret = "s3cret-never-shown-0123456789"
    config = tmp_path / "bulkdir.toml"
    config.write_text(f'secret = "{secret}"\ncorp_id = "{emulator.corp_id}"\n', encoding="utf-8")
    config.chmod(0o600)
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "姓名", "手机"], [["zhangsan", "张三", "13800000001"]])
    result = run_cli(emulator, "validate", str(sheet), "--mapping", str(config))
    assert result.exit_code == 2
    assert "is a bulkdir configuration file (it has corp_id, secret), not a mapping" in result.stderr
    assert secret not in result.output and secret not in result.stderr


# ---------------------------------------------------------------------------------------------
# custom fields


def test_the_clear_marker_clears_a_custom_field_when_only_userids_can_be_read(start_emulator, tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True, custom_fields=["工号", "职级"])
    seed_corp(corp, [RESEARCH], [{**ZHANGSAN, "extattr": {"attrs": [
        {"type": 0, "name": "工号", "text": {"value": "E1"}}, {"type": 0, "name": "职级", "text": {"value": "P5"}}]}}])
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "姓名", "手机", "所在部门", "工号"],
                        [["zhangsan", "张三", "13800000001", "2", "（清空）"]])
    code, summary = run_json(corp, "import", str(sheet), "--yes", "--map", "工号=extattr:工号")
    # the snapshot cannot show 工号 (48009), so the clear is sent without knowing whether it holds a value
    assert summary["updated"] == 1
    attrs = attrs_of(members_of(corp.state())["zhangsan"])
    assert attrs.get("工号", "") == "" and attrs["职级"] == "P5"


def test_a_custom_field_is_refused_when_the_corp_has_members_and_defines_no_custom_fields(emulator,
                                                                                          tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [ZHANGSAN])  # the corp defines no custom field at all
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "姓名", "工号"], [["zhangsan", "张三", "E1"]])
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--map", "工号=extattr:工号")
    # every member read in detail shows every defined field: none shown means none defined
    assert result.exit_code == 2, result.output
    assert "custom field '工号', which the corp does not have (its custom fields: none)" in result.stderr
    assert writes(emulator.stats()) == before


# ---------------------------------------------------------------------------------------------
# rows without a userid


def test_a_made_userid_never_takes_the_userid_a_row_with_problems_names(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH])
    header = ["帐号", "姓名", "手机", "部门"]
    rows = [["", "张伟", "13900000001", "研发中心"],            # a new hire: gets a made userid
            ["zhangwei", "张伟", "1390000000x", "研发中心"]]    # another 张伟, userid given, a typo in the mobile
    sheet = write_sheet(tmp_path / "s.csv", header, rows)
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    assert (summary["created"], summary["invalid"]) == (1, 1)
    assert sorted(members_of(emulator.state())) == ["zhangwei2"]
    # HR fixes row 3's mobile and imports the same sheet again: two people, two members
    rows[1][2] = "13900000002"
    write_sheet(sheet, header, rows)
    code, again = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    assert (again["created"], again["unchanged"], again["invalid"]) == (1, 1, 0)
    mobiles = {userid: m["mobile"] for userid, m in members_of(emulator.state()).items()}
    assert mobiles == {"zhangwei2": "13900000001", "zhangwei": "13900000002"}


def test_the_plan_lists_no_new_userid_for_a_row_it_does_not_import(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH])
    sheet = write_sheet(tmp_path / "s.csv", ["姓名", "手机", "所在部门"],
                        [["张三", "13900000001", "99"],     # no department 99: not imported
                         ["李四", "13900000002", "2"]])
    plan = tmp_path / "plan.json"
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--make-userid", "pinyin", "--plan-out", str(plan))
    assert "row 2: department 99 does not exist" in result.stdout
    assert "row 2: new userid" not in result.stdout and "1 given a new userid" in result.stdout, result.stdout
    saved = json.loads(plan.read_text(encoding="utf-8"))
    assert [item[1] for item in saved["plan"]["identities"]] == [3]


def test_an_email_column_is_matched_against_the_members_corp_mail_too(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [{"userid": "wangwu", "name": "王五", "mobile": "13800000003",
                                      "biz_mail": "wangwu@corp.example.com", "department": [2]}])
    # an HR export's 邮箱 is the work address; the row has no mobile
    sheet = write_sheet(tmp_path / "s.csv", ["姓名", "邮箱", "部门", "职务"],
                        [["王五", "wangwu@corp.example.com", "研发中心", "主管"]])
    result = run_cli(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    assert "row 2: matched by 企业邮箱: wangwu" in result.stdout, result.output
    assert "rows 2: the email (邮箱) is the member's 企业邮箱, so it is not written as the personal email" \
        in result.stdout
    members = members_of(emulator.state())
    assert sorted(members) == ["wangwu"]  # not created again as wangwu2
    assert (members["wangwu"]["position"], members["wangwu"]["email"]) == ("主管", "")


# ---------------------------------------------------------------------------------------------
# deletes


def test_a_leaver_found_by_mobile_with_a_blank_name_is_not_deleted(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [{"userid": f"x{i}", "name": f"员工{i}", "mobile": f"137{i:08d}",
                                      "department": [2]} for i in range(20)])
    sheet = write_sheet(tmp_path / "leavers.csv", ["姓名", "手机"], [["员工1", "13700000001"],
                                                                   ["", "13700000002"]])  # the name left out
    code, summary = run_json(emulator, "delete", str(sheet), "--yes")
    # the name must agree, and a blank one agrees with nobody: a mobile may have passed to someone else
    assert (summary["deleted"], summary["skipped"]) == (1, 1)
    members = members_of(emulator.state())
    assert "x1" not in members and "x2" in members
    message = read_results(summary["report"])[1]["message"]
    assert "not deleted: matched by mobile to x2, but the row has no name (姓名) to confirm it is them" in message


def test_delete_missing_deletes_nobody_while_a_row_with_problems_names_a_member_by_a_mobile_not_shown(
        start_emulator, tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True)
    seed_corp(corp, [RESEARCH], [{"userid": f"old{i}", "name": f"老员工{i}", "mobile": f"138{i:08d}",
                                  "department": [2]} for i in range(10)])
    rows = [[f"老员工{i}", f"138{i:08d}", "2", "男"] for i in range(10)]
    rows[3][3] = "X"  # a typo in 性别: row 5 cannot be imported, but it names old3 by mobile
    sheet = write_sheet(tmp_path / "all.csv", ["姓名", "手机", "所在部门", "性别"], rows)
    result = run_cli(corp, "import", str(sheet), "--yes", "--delete-missing")
    # under 48009 the snapshot holds no mobiles, so whom row 5 names cannot be told: nobody is deleted
    assert "No member is deleted: rows 5 have problems and name no userid" in result.stdout, result.output
    assert sorted(members_of(corp.state())) == [f"old{i}" for i in range(10)]


# ---------------------------------------------------------------------------------------------
# runs killed on the way: the platform's daily limit of failed lookups, and the made userids


def onboarding(tmp_path: Path, count: int) -> tuple[Path, list[list[str]]]:
    """New hires without userids, departments by id (department names cannot be read under 48009)."""
    hires = [[f"新人{chr(0x4e00 + 300 + i)}", f"139{i:08d}", "2", "工程师"] for i in range(count)]
    return write_sheet(tmp_path / "onboarding.csv", ["姓名", "手机", "所在部门", "职务"], hires), hires


def old_staff(count: int) -> list[dict]:
    return [{"userid": f"old{i}", "name": f"老员工{i}", "mobile": f"138{i:08d}", "department": [2]}
            for i in range(count)]


def test_failed_lookups_of_a_run_killed_during_its_lookups_still_count_against_the_day(start_emulator,
                                                                                       tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True)
    seed_corp(corp, [RESEARCH], old_staff(20))  # 4 failed lookups a day
    sheet, _ = onboarding(tmp_path, 7)
    corp.faults(latency_ms=400)
    process = subprocess_import(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin", BULKDIR_WORKERS="1")
    try:
        wait_for(lambda: corp.stats()["errors"].get("46004", 0) >= 2, timeout=30)
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    corp.faults(latency_ms=0)
    result = run_cli(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin", "--json")
    # the killed run's failed lookups are in the journal, so the rerun stops within what is left of the day's
    assert "45009" not in json.dumps(corp.stats()["errors"]), (corp.stats()["errors"], result.output)
    assert "earlier runs in the last day" in result.output


def test_a_run_killed_while_creating_new_hires_in_ids_only_mode_finishes_when_run_again(start_emulator,
                                                                                        tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True)
    seed_corp(corp, [RESEARCH], old_staff(20))  # 4 failed lookups a day: the first run spends them all
    sheet, hires = onboarding(tmp_path, 4)
    corp.faults(latency_ms=300)
    process = subprocess_import(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin", BULKDIR_WORKERS="1")
    try:
        wait_for(lambda: corp.stats()["ok"].get("user/create", 0) >= 22, timeout=30)  # 2 of the 4 new hires
    finally:
        process.send_signal(signal.SIGKILL)
        process.communicate()
    corp.faults(latency_ms=0)
    made = {m["mobile"]: m["userid"] for m in corp.state()["members"] if m["mobile"].startswith("139")}
    assert 1 <= len(made) < 4
    lookups = corp.stats()["calls"].get("user/getuserid", 0)
    code, again = run_json(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    # the rerun resumes the run: its rows are settled as that run settled them, with no lookup made again
    assert again["invalid"] == 0, read_results(again["report"])
    assert corp.stats()["calls"].get("user/getuserid", 0) == lookups
    now = {m["mobile"]: m["userid"] for m in corp.state()["members"] if m["mobile"].startswith("139")}
    assert sorted(now) == sorted(row[1] for row in hires)
    assert all(now[mobile] == userid for mobile, userid in made.items())
