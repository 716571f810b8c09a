"""Sheets as HR systems export them, against the emulator over real HTTP: their own headers mapped onto
bulkdir's fields, new hires without userids (made from pinyin, a template or a column), rows found by
mobile and email (from the snapshot or through the lookup APIs, within the platform's limit), leavers by
mobile, and custom fields (extattr)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from import_support import (
    attrs_of,
    client_for,
    members_of,
    read_results,
    run_cli,
    run_json,
    seed_corp,
    write_sheet,
    writes,
)

HR_HEADER = ["工号", "姓名", "手机", "邮箱", "所属部门", "职位", "入职日期", "职级"]
RESEARCH = {"name": "研发中心", "parentid": 1, "id": 2}


def hr_sheet(path: Path, rows: list[list[str]]) -> Path:
    return write_sheet(path, HR_HEADER, rows)


# ---------------------------------------------------------------------------------------------
# mapping


def test_an_hr_export_gets_a_suggested_mapping_for_each_unknown_header(emulator, tmp_path: Path) -> None:
    sheet = hr_sheet(tmp_path / "onboarding.csv", [["E1001", "张伟", "13900000001", "", "研发中心", "工程师",
                                                    "2026-11-01", "P5"]])
    result = run_cli(emulator, "validate", str(sheet), "--json")
    document = json.loads(result.stdout)
    unknown = {p["column"]: p["message"] for p in document["problems"] if p["type"] == "unknown-column"}
    assert unknown["工号"] == ("Column '工号' is not a known field; it is ignored. Map it with --map 工号=userid "
                              "or --map 工号=extattr:工号.")
    assert "--map 入职日期=extattr:入职日期" in unknown["入职日期"]
    assert [p["type"] for p in document["problems"]].count("no-userid-column") == 1
    assert document["valid"] is True  # no userid column is no longer a dead end: rows are matched or made
    zh = json.loads(run_cli(emulator, "validate", str(sheet), "--json", "--lang", "zh").stdout)
    assert "可用 --map 工号=userid 或 --map 工号=extattr:工号 映射" in next(
        p["message"] for p in zh["problems"] if p["column"] == "工号")


def test_mapped_columns_are_read_as_their_fields_and_dashes_are_silent(emulator, tmp_path: Path) -> None:
    sheet = hr_sheet(tmp_path / "onboarding.csv", [["E1001", "张伟", "13900000001", "", "研发中心", "工程师",
                                                    "2026-11-01", "P5"]])
    result = run_cli(emulator, "validate", str(sheet), "--json", "--map", "工号=userid", "--map", "入职日期=-",
                     "--map", "职级=-")
    document = json.loads(result.stdout)
    assert result.exit_code == 0 and document["problems"] == []


@pytest.mark.parametrize(("maps", "words"), [
    (["工号=staff_number"], "'工号' is mapped to 'staff_number', which is not a field"),
    (["工号=userid", "邮箱=帐号"], "columns '工号' and '邮箱' are both mapped to '帐号'"),
    (["员工编号=userid"], "names column(s) '员工编号' that onboarding.csv does not have"),
    (["工号"], "write it as COLUMN=FIELD"),
])
def test_a_mapping_that_cannot_work_stops_before_any_row_is_read(emulator, tmp_path: Path, maps, words) -> None:
    sheet = hr_sheet(tmp_path / "onboarding.csv", [["E1001", "张伟", "13900000001", "", "研发中心", "", "", ""]])
    args = [arg for item in maps for arg in ("--map", item)]
    for command in (["validate", str(sheet)], ["import", str(sheet), "--yes"], ["delete", str(sheet), "--yes"]):
        result = run_cli(emulator, *command, *args)
        assert result.exit_code == 2, (command, result.output)
        assert words in result.stderr
    assert writes(emulator.stats()) == {}


def test_a_mapping_file_with_value_maps_chosen_by_name_by_profile_or_as_a_file(emulator, tmp_path: Path,
                                                                             monkeypatch) -> None:
    seed_corp(emulator, [RESEARCH])
    mapping = '''
[mappings.beisen]
"员工编号" = "userid"
"姓名" = "name"
"手机号码" = "mobile"
"部门" = "department"
"在职状态" = { field = "enable", values = { "在职" = 1, "离职" = 0 } }
"性别" = { field = "gender", values = { "M" = "男", "F" = "女" } }
"备注" = "-"
'''
    (tmp_path / "bulkdir.toml").write_text(mapping + '\n[profiles.hr]\nmapping = "beisen"\n', encoding="utf-8")
    (tmp_path / "beisen.toml").write_text(mapping, encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path / "beisen.csv", ["员工编号", "姓名", "手机号码", "部门", "在职状态", "性别", "备注"], [
        ["E1001", "张伟", "13900000001", "研发中心", "在职", "M", "x"],
        ["E1002", "李娜", "13900000002", "研发中心", "离职", "F", "y"]])
    for choice in (["--mapping", "beisen"], ["--profile", "hr"], ["--mapping", str(tmp_path / "beisen.toml")]):
        result = run_cli(emulator, "validate", str(sheet), "--json", *choice)
        assert result.exit_code == 0 and json.loads(result.stdout)["problems"] == [], (choice, result.output)
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--mapping", "beisen")
    assert code == 0 and summary["created"] == 2
    members = members_of(emulator.state())
    assert (members["E1001"]["gender"], members["E1001"]["enable"]) == ("1", 1)
    assert (members["E1002"]["gender"], members["E1002"]["enable"]) == ("2", 0)
    unknown = run_cli(emulator, "validate", str(sheet), "--mapping", "moka")
    assert unknown.exit_code == 2 and "unknown mapping 'moka'" in unknown.stderr and "beisen" in unknown.stderr


def test_a_value_map_onto_a_word_the_field_does_not_take_is_refused(emulator, tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bulkdir.toml").write_text('[mappings.bad]\n"状态" = { field = "enable", values = { "在职" = "yes '
                                           'please" } }\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    sheet = write_sheet(tmp_path / "s.csv", ["帐号", "姓名", "手机", "状态"], [["a", "甲", "13900000001", "在职"]])
    result = run_cli(emulator, "validate", str(sheet), "--mapping", "bad")
    assert result.exit_code == 2 and "'yes please', which is not a value of enable" in result.stderr


# ---------------------------------------------------------------------------------------------
# userids for new hires


def test_new_hires_get_pinyin_userids_numbered_past_the_corp_and_the_sheet(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [{"userid": "zhangwei2", "name": "张伟", "mobile": "13800000009",
                                      "department": [2]}])
    sheet = hr_sheet(tmp_path / "onboarding.xlsx", [
        ["E1001", "张伟", "13900000001", "", "研发中心", "工程师", "", ""],
        ["E1002", "张伟", "13900000002", "", "研发中心", "工程师", "", ""],
        ["E1003", "单雄信", "13900000003", "", "研发中心", "工程师", "", ""],
        ["E1004", "吕布", "13900000004", "", "研发中心", "工程师", "", ""],
        ["E1005", "阿依古丽·买买提", "13900000005", "", "研发中心", "工程师", "", ""],
        ["E1006", "张😀", "13900000006", "", "研发中心", "工程师", "", ""]])
    maps = ["--map", "工号=-", "--map", "入职日期=-", "--map", "职级=-"]
    dry = run_cli(emulator, "import", str(sheet), "--dry-run", "--make-userid", "pinyin", *maps)
    assert "row 2: new userid zhangwei" in dry.stdout and "row 3: new userid zhangwei3" in dry.stdout
    assert "Rows without a userid: 5 given a new userid" in dry.stdout
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin", *maps)
    assert code == 1 and (summary["created"], summary["invalid"]) == (5, 1)
    assert set(members_of(emulator.state())) == {"zhangwei", "zhangwei2", "zhangwei3", "shanxiongxin", "lvbu",
                                                  "ayigulimaimaiti"}
    rows = read_results(summary["report"])
    assert [r["帐号"] for r in rows] == ["zhangwei", "zhangwei3", "shanxiongxin", "lvbu", "ayigulimaimaiti", ""]
    assert rows[-1]["result"] == "invalid" and "no pinyin: 😀" in rows[-1]["message"]
    # the same sheet again: every row is found by its mobile, nobody is created twice, nothing is written
    before = writes(emulator.stats())
    code, again = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin", *maps)
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 5)
    assert writes(emulator.stats()) == before
    assert [r["帐号"] for r in read_results(again["report"])][:5] == [r["帐号"] for r in rows][:5]


def test_userids_from_a_column_and_from_a_template(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH])
    sheet = hr_sheet(tmp_path / "onboarding.csv", [
        ["E1001", "张三", "13900000001", "", "研发中心", "", "", ""],
        ["E 1002", "李四", "13900000002", "", "研发中心", "", "", ""],
        ["", "王五", "13900000003", "", "研发中心", "", "", ""]])
    maps = ["--map", "入职日期=-", "--map", "职级=-", "--map", "工号=-"]
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--userid-from", "工号", *maps)
    assert (code, summary["created"], summary["invalid"]) == (1, 1, 2)
    assert set(members_of(emulator.state())) == {"E1001"}
    messages = [r["message"] for r in read_results(summary["report"])]
    assert "'E 1002' is not a valid userid" in messages[1] and "工号 cell is empty" in messages[2]
    emulator.reset()
    seed_corp(emulator, [RESEARCH])
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "{pinyin}.{column:工号}",
                             *maps)
    assert set(members_of(emulator.state())) == {"zhangsan.E1001"}
    bad = run_cli(emulator, "import", str(sheet), "--yes", "--make-userid", "{pinyin}.{column:员工编号}", *maps)
    assert bad.exit_code == 2 and "takes column '员工编号', which the sheet does not have" in bad.stderr
    both = run_cli(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin", "--userid-from", "工号")
    assert both.exit_code == 2 and "not both" in both.stderr


def test_userid_from_a_column_finds_the_member_who_already_has_it(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH], [{"userid": "E1001", "name": "张三", "mobile": "13800000001",
                                      "department": [2]}])
    sheet = hr_sheet(tmp_path / "s.csv", [["E1001", "张三", "13900000009", "", "研发中心", "经理", "", ""]])
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--userid-from", "工号", "--map", "工号=-",
                             "--map", "入职日期=-", "--map", "职级=-")
    assert (summary["created"], summary["updated"]) == (0, 1)
    assert members_of(emulator.state())["E1001"]["mobile"] == "13900000009"


# ---------------------------------------------------------------------------------------------
# members found without a userid


def seed_people(emulator) -> None:
    seed_corp(emulator, [RESEARCH], [
        {"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "email": "zs@example.com", "department": [2],
         "position": "工程师"},
        {"userid": "lisi", "name": "李四", "mobile": "13800000002", "email": "lisi@example.com",
         "department": [2]},
        {"userid": "wangwu", "name": "王五", "mobile": "13800000003", "biz_mail": "wangwu@corp.example.com",
         "department": [2]},
        {"userid": "zhaoliu", "name": "赵六", "mobile": "13800000004", "email": "zl@example.com", "department": [2]}])


def test_rows_are_matched_by_mobile_then_email_then_biz_mail_and_mismatches_are_not_acted_on(
        emulator, tmp_path: Path) -> None:
    seed_people(emulator)
    sheet = write_sheet(tmp_path / "update.csv", ["姓名", "手机", "邮箱", "企业邮箱", "职务"], [
        ["张三", "+86 138-0000-0001", "", "", "经理"],                 # by mobile: position changes
        ["李四", "", "LiSi@example.com", "", "总监"],                    # by email (any case)
        ["王五", "", "", "wangwu@corp.example.com", "主管"],             # by 企业邮箱
        ["张三丰", "13800000004", "", "", "顾问"],                        # zhaoliu's mobile, another name
        ["王五", "13800000003", "zl@example.com", "", "x"],             # wangwu's mobile, zhaoliu's email
        ["张三", "", "zs@example.com", "", "经理"],                      # the same member as row 2
        ["新人", "13900000099", "", "", "x"]])                          # nobody, and no --make-userid
    before = writes(emulator.stats())
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert (summary["updated"], summary["invalid"], summary["created"]) == (3, 4, 0)
    members = members_of(emulator.state())
    assert [members[u]["position"] for u in ("zhangsan", "lisi", "wangwu", "zhaoliu")] == ["经理", "总监", "主管", ""]
    rows = read_results(summary["report"])
    assert [r["帐号"] for r in rows[:3]] == ["zhangsan", "lisi", "wangwu"]
    assert "matched by mobile to 赵六 (zhaoliu), whose name is not 张三丰: not acted on" in rows[3]["message"]
    assert "points at two members" in rows[4]["message"]
    assert "is the same member as row 2 (zhangsan" in rows[5]["message"]
    assert "matches no member (mobile 13900000099) and has no userid" in rows[6]["message"]
    assert writes(emulator.stats())["user/update"] == before.get("user/update", 0) + 3
    dry = run_cli(emulator, "import", str(sheet), "--dry-run")
    assert "Rows without a userid: 1 matched by 企业邮箱, 1 matched by email, 1 matched by mobile" in dry.stdout


def test_a_name_alone_never_matches(emulator, tmp_path: Path) -> None:
    seed_people(emulator)
    sheet = write_sheet(tmp_path / "names.csv", ["姓名", "职务"], [["张三", "经理"]])
    result = run_cli(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    assert result.exit_code == 2 and "userid" in result.stderr  # nothing to find a member by: refused whole
    assert members_of(emulator.state())["zhangsan"]["position"] == "工程师"


def new_hires(count: int, start: int = 0) -> list[list[str]]:
    return [["", f"新人{chr(0x4e00 + 300 + i)}", f"139{i + start:08d}", "", "研发中心", "工程师", "", ""]
            for i in range(count)]


# Under 48009 without an app secret department names cannot be read, so these sheets name departments by id.
ID_HEADER = ["姓名", "手机", "所在部门", "职务"]


def hires_by_id(count: int) -> list[list[str]]:
    return [[f"新人{chr(0x4e00 + 300 + i)}", f"139{i:08d}", "2", "工程师"] for i in range(count)]


def test_lookups_when_the_secret_cannot_read_details(start_emulator, tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True)
    seed_corp(corp, [RESEARCH], [{"userid": f"old{i}", "name": f"老员工{i}", "mobile": f"138{i:08d}",
                                  "department": [2]} for i in range(10)])
    sheet = write_sheet(tmp_path / "onboarding.csv", ID_HEADER, [
        ["老员工1", "13800000001", "2", "经理"],    # found by getuserid
        *hires_by_id(2)])
    code, summary = run_json(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    assert (summary["created"], summary["updated"], summary["failed"]) == (2, 1, 0), read_results(summary["report"])
    stats = corp.stats()
    assert stats["calls"]["user/getuserid"] == 3 and "45009" not in json.dumps(stats["errors"])
    members = members_of(corp.state())
    assert members["old1"]["position"] == "经理" and len(members) == 12
    code, again = run_json(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin")
    assert again["created"] == 0 and len(members_of(corp.state())) == 12  # nobody twice


def test_lookups_stop_before_the_platforms_limit_of_failures(start_emulator, tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True)
    seed_corp(corp, [RESEARCH], [{"userid": f"old{i}", "name": f"老员工{i}", "mobile": f"138{i:08d}",
                                  "department": [2]} for i in range(20)])  # 20 members: 4 failed lookups allowed
    sheet = write_sheet(tmp_path / "onboarding.csv", ID_HEADER, hires_by_id(7))
    result = run_cli(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["created"], summary["invalid"]) == (4, 3)
    assert "3 row(s) were left unmatched" in result.stderr
    errors = corp.stats()["errors"]
    assert "45009" not in json.dumps(errors)  # stopped before the platform blocked the API
    messages = [r["message"] for r in read_results(summary["report"]) if r["result"] == "invalid"]
    assert len(messages) == 3 and all("failed lookups a day" in m for m in messages)


def test_the_days_budget_of_failed_lookups_is_shared_by_the_runs_of_the_day(start_emulator, tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True)
    seed_corp(corp, [RESEARCH], [{"userid": f"old{i}", "name": f"老员工{i}", "mobile": f"138{i:08d}",
                                  "department": [2]} for i in range(20)])  # 4 failed lookups a day
    sheet = write_sheet(tmp_path / "onboarding.csv", ID_HEADER, hires_by_id(3))
    dry = run_cli(corp, "import", str(sheet), "--dry-run", "--make-userid", "pinyin")
    assert dry.exit_code == 0 and "Members: 3 to create" in dry.stdout  # 3 of the day's 4 spent
    result = run_cli(corp, "import", str(sheet), "--yes", "--make-userid", "pinyin", "--json")
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert (summary["created"], summary["invalid"]) == (1, 2)
    messages = [r["message"] for r in read_results(summary["report"]) if r["result"] == "invalid"]
    assert all("3 of them by earlier runs in the last day" in m for m in messages)
    assert "45009" not in json.dumps(corp.stats()["errors"])


def test_lookups_when_private_fields_are_hidden_and_the_rerun_writes_nothing(start_emulator, tmp_path: Path) -> None:
    corp = start_emulator(restrict_details=True, hide_private_fields=True)
    seed_corp(corp, [RESEARCH], [{"userid": "zhangsan", "name": "张三", "mobile": "13800000001",
                                  "email": "zs@example.com", "department": [2]}])
    sheet = write_sheet(tmp_path / "s.csv", ["姓名", "手机", "邮箱", "职务"], [["张三", "", "zs@example.com", "经理"],
                                                                            ["李四", "13800000001", "", "x"]])
    env = {"BULKDIR_APP_SECRET": corp.app_secret}
    code, summary = run_json(corp, "import", str(sheet), "--yes", **env)
    assert (summary["updated"], summary["invalid"]) == (1, 1)
    assert corp.stats()["calls"]["user/get_userid_by_email"] >= 1
    rows = read_results(summary["report"])
    assert "whose name is not 李四" in rows[1]["message"]
    before = writes(corp.stats())
    code, again = run_json(corp, "import", str(sheet), "--yes", **env)
    assert again["unchanged"] == 1 and writes(corp.stats()) == before


# ---------------------------------------------------------------------------------------------
# leavers by mobile


def test_leavers_by_name_and_mobile(emulator, tmp_path: Path) -> None:
    seed_people(emulator)
    seed_corp(emulator, members=[{"userid": f"x{i}", "name": f"员工{i}", "mobile": f"137{i:08d}", "department": [2]}
                                 for i in range(20)])  # enough members that three deletes pass the brake
    sheet = write_sheet(tmp_path / "leavers.csv", ["姓名", "手机", "离职日期"], [
        ["张三", "13800000001", "2026-11-30"],
        ["李四", "13800000002", "2026-11-30"],
        ["张三", "13999999999", "2026-11-30"],   # matches nobody
        ["王小五", "13800000003", "2026-11-30"],  # wangwu's mobile, another name
        ["赵六", "", "2026-11-30"]])            # a name alone
    code, summary = run_json(emulator, "delete", str(sheet), "--yes")
    assert (summary["deleted"], summary["skipped"], summary["invalid"]) == (2, 2, 1)
    members = members_of(emulator.state())
    assert "zhangsan" not in members and "lisi" not in members and "wangwu" in members and "zhaoliu" in members
    rows = read_results(summary["report"])
    assert [r["result"] for r in rows] == ["deleted", "deleted", "skipped", "skipped", "invalid"]
    assert [r["帐号"] for r in rows[:2]] == ["zhangsan", "lisi"]
    assert "matches no member (mobile 13999999999)" in rows[2]["message"]
    assert "whose name is not 王小五" in rows[3]["message"]
    assert "a name alone is never enough" in rows[4]["message"]


def test_a_leaver_named_by_userid_and_a_name_that_is_not_theirs_is_kept(emulator, tmp_path: Path) -> None:
    seed_people(emulator)
    seed_corp(emulator, members=[{"userid": f"x{i}", "name": f"员工{i}", "mobile": f"137{i:08d}", "department": [2]}
                                 for i in range(20)])
    sheet = write_sheet(tmp_path / "leavers.csv", ["帐号", "姓名"], [["zhangsan", "李四"], ["lisi", "李四"]])
    code, summary = run_json(emulator, "delete", str(sheet), "--yes")
    assert (summary["deleted"], summary["skipped"]) == (1, 1)
    assert "zhangsan" in members_of(emulator.state())


# ---------------------------------------------------------------------------------------------
# custom fields


def test_custom_fields_are_compared_and_sent_whole(emulator, tmp_path: Path) -> None:
    emulator.faults(custom_fields=["工号", "职级", "主页:web"])
    seed_corp(emulator, [RESEARCH], [{"userid": "zhangsan", "name": "张三", "mobile": "13800000001",
                                      "department": [2], "extattr": {"attrs": [
                                          {"type": 0, "name": "工号", "text": {"value": "E1000"}},
                                          {"type": 1, "name": "主页", "web": {"url": "https://e.com/zs",
                                                                            "title": "主页"}}]}}])
    sheet = hr_sheet(tmp_path / "onboarding.csv", [
        ["E1000", "张三", "13800000001", "", "研发中心", "", "", "P6"],
        ["E1001", "李四", "13900000001", "", "研发中心", "", "", "P5"]])
    maps = ["--map", "工号=extattr:工号", "--map", "职级=extattr:职级", "--map", "入职日期=-"]
    code, summary = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin", *maps)
    assert (code, summary["created"], summary["updated"]) == (0, 1, 1)
    members = members_of(emulator.state())
    assert attrs_of(members["zhangsan"]) == {"工号": "E1000", "职级": "P6", "主页": "主页；https://e.com/zs"}
    assert attrs_of(members["lisi"]) == {"工号": "E1001", "职级": "P5"}
    before = writes(emulator.stats())
    code, again = run_json(emulator, "import", str(sheet), "--yes", "--make-userid", "pinyin", *maps)
    assert again["unchanged"] == 2 and writes(emulator.stats()) == before
    # a web field written as the admin console writes it; a header named after the field needs no mapping
    sheet = write_sheet(tmp_path / "web.csv", ["帐号", "主页"], [["lisi", "个人主页；https://e.com/ls"]])
    code, summary = run_json(emulator, "import", str(sheet), "--yes")
    assert summary["updated"] == 1
    assert attrs_of(members_of(emulator.state())["lisi"])["主页"] == "个人主页；https://e.com/ls"
    bad = write_sheet(tmp_path / "bad.csv", ["帐号", "主页"], [["lisi", "not a link"]])
    code, summary = run_json(emulator, "import", str(bad), "--yes")
    assert summary["invalid"] == 1 and "标题；https://" in read_results(summary["report"])[0]["message"]


def test_a_custom_field_the_corp_does_not_have_is_refused_before_anything_is_sent(emulator, tmp_path: Path) -> None:
    emulator.faults(custom_fields=["工号"])
    seed_corp(emulator, [RESEARCH], [{"userid": "zhangsan", "name": "张三", "mobile": "13800000001",
                                      "department": [2]}])
    sheet = hr_sheet(tmp_path / "s.csv", [["E1", "张三", "13800000001", "", "研发中心", "", "2026-11-01", ""]])
    before = writes(emulator.stats())
    result = run_cli(emulator, "import", str(sheet), "--yes", "--map", "入职日期=extattr:入职日期",
                     "--map", "工号=-", "--map", "职级=-")
    assert result.exit_code == 2
    assert "custom field '入职日期', which the corp does not have (its custom fields: 工号)" in result.stderr
    assert writes(emulator.stats()) == before


def test_an_empty_directory_says_the_custom_fields_cannot_be_checked(emulator, tmp_path: Path) -> None:
    sheet = hr_sheet(tmp_path / "s.csv", [["E1", "张三", "13800000001", "", "研发中心", "", "2026-11-01", ""]])
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--make-userid", "pinyin",
                     "--map", "入职日期=extattr:入职日期", "--map", "工号=-", "--map", "职级=-")
    assert result.exit_code == 0, result.output
    assert "Members: 1 to create" in result.stdout
    assert "Note: Column '入职日期' is mapped to the custom field '入职日期', which cannot be checked" in result.stdout


def test_the_library_takes_the_same_mapping_and_maker(emulator, tmp_path: Path) -> None:
    import bulkdir
    from bulkdir.mapping import Mapping

    seed_corp(emulator, [RESEARCH])
    client = client_for(emulator)
    sheet = hr_sheet(tmp_path / "onboarding.csv", new_hires(2))
    mapping = Mapping.from_options(["工号=-", "入职日期=-", "职级=-"])
    plan = bulkdir.plan_import(sheet, client, mapping=mapping, make_userid="pinyin")
    assert bulkdir.validate(sheet, mapping={"工号": "-", "入职日期": "-", "职级": "-"}, make_userid="pinyin").valid
    assert plan.counts()["member_create"] == 2
    made = sorted(userid for userid, how, _ in plan.plan.identities.values() if how == "made")
    assert len(made) == 2 and all(userid.startswith("xinren") for userid in made)
    result = bulkdir.apply(plan)
    assert result.counts["created"] == 2
    client.close()


def test_a_saved_plan_keeps_the_made_userids_and_its_report_has_them(emulator, tmp_path: Path) -> None:
    seed_corp(emulator, [RESEARCH])
    sheet = hr_sheet(tmp_path / "onboarding.csv", new_hires(2))
    plan = tmp_path / "plan.json"
    result = run_cli(emulator, "import", str(sheet), "--dry-run", "--plan-out", str(plan), "--make-userid", "pinyin",
                     "--map", "工号=-", "--map", "入职日期=-", "--map", "职级=-")
    assert result.exit_code == 0, result.output
    saved = json.loads(plan.read_text(encoding="utf-8"))
    made = [item[2] for item in saved["plan"]["identities"]]
    assert len(made) == 2 and saved["options"]["make_userid"] == "{pinyin}"
    code, summary = run_json(emulator, "apply", str(plan), "--yes")
    assert (code, summary["created"]) == (0, 2)
    assert sorted(members_of(emulator.state())) == sorted(made)
    assert [r["帐号"] for r in read_results(summary["report"])] == made
