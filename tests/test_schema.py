"""bulkdir.schema: per-field rules and the row readers (Member / Department records + Problems)."""

from __future__ import annotations

import pytest

from bulkdir.parsers import (
    CLEAR_MARKER,
    CellProblem,
    parse_department_ids,
    parse_email,
    parse_enable,
    parse_gender,
    parse_leaders,
    parse_mobile,
    parse_path,
    parse_telephone,
    parse_userid,
    parse_yes_no,
)
from bulkdir.problems import flatten
from bulkdir.readers import DepartmentReader, MemberReader
from bulkdir.schema import MemberColumns


def slug(parse, text):
    with pytest.raises(CellProblem) as caught:
        parse(text)
    return caught.value.slug


@pytest.mark.parametrize("text, mobile", [
    ("13912345678", "13912345678"),
    ("+86 139 1234 5678", "13912345678"),
    ("+86-13912345678", "13912345678"),
    ("+8613912345678", "13912345678"),
    ("8613912345678", "13912345678"),
    ("139-1234-5678", "13912345678"),
    ("１３９１２３４５６７８", "13912345678"),
    ("＋８６ １３９１２３４５６７８", "13912345678"),
    ("+852 9123 4567", "+852 91234567"),
    ("+1-415-555-0100", "+1 4155550100"),
    ("0085291234567", "+85291234567"),
])
def test_mobiles_are_normalised(text, mobile):
    assert parse_mobile(text) == mobile


@pytest.mark.parametrize("text, problem", [
    ("1.39123E+10", "lost-digits"),
    ("1.39123e10", "lost-digits"),
    ("13912345678.5", "lost-digits"),
    ("12345", "invalid-mobile"),
    ("23912345678", "invalid-mobile"),
    ("139123456789", "invalid-mobile"),
    ("+86 2345", "invalid-mobile"),
    ("tel:139", "invalid-mobile"),
    ("+" + "1" * 40, "invalid-mobile"),
])
def test_bad_mobiles(text, problem):
    assert slug(parse_mobile, text) == problem


def test_userids():
    assert parse_userid("zhang.san@corp-1_x") == "zhang.san@corp-1_x"
    assert parse_userid("ｚｈａｎｇ") == "zhang"  # full-width letters
    assert parse_userid("zhang\u200b") == "zhang"  # a zero-width space pasted from a chat
    assert parse_mobile("\ufeff139 1234 5678") == "13912345678"
    for bad in ("_zhang", "张三", "a b", "a" * 65, "old:new"):
        assert slug(parse_userid, bad) == "invalid-userid"
    # an id Excel stored as a number past 15 digits comes back in scientific notation or as "….0"
    for lost in ("1.23457E+18", "1.2345678901234568e+16", "1234567890123456.0"):
        assert slug(parse_userid, lost) == "lost-digits"
    assert parse_userid("1234567890123456") == "1234567890123456"


def test_emails_and_telephones():
    assert parse_email("a.b@example.com") == "a.b@example.com"
    assert parse_email("ａ@ｂ.cn") == "a@b.cn"
    for bad in ("a@b", "a@@b.com", "a@b.c" + "o" * 60, "a@.com", "@b.com", "a@b."):
        assert slug(parse_email, bad) == "invalid-email"
    assert parse_telephone("020-8888 6666") == "020-8888-6666"
    assert parse_telephone("+86,020,123") == "+86,020,123"
    assert slug(parse_telephone, "020-8888(转1)") == "invalid-telephone"
    assert slug(parse_telephone, "1" * 33) == "invalid-telephone"
    assert slug(parse_telephone, "2.01235E+9") == "lost-digits"


@pytest.mark.parametrize("text, value", [("男", "1"), ("女", "2"), ("1", "1"), ("2", "2"), ("M", "1"),
                                         ("f", "2"), ("Male", "1"), ("FEMALE", "2"),
                                         ("Ｍ", "1"), ("ｆｅｍａｌｅ", "2")])
def test_gender(text, value):
    assert parse_gender(text) == value


def test_gender_and_yes_no_rejects():
    assert slug(parse_gender, "未知") == "invalid-gender"
    assert slug(parse_yes_no, "maybe") == "invalid-yes-no"


@pytest.mark.parametrize("text, value", [("是", 1), ("否", 0), ("Y", 1), ("n", 0), ("true", 1), ("FALSE", 0),
                                         ("1", 1), ("0", 0), ("１", 1)])
def test_yes_no(text, value):
    assert parse_yes_no(text) == value


def test_enable_words():
    assert parse_enable("启用") == 1 and parse_enable("禁用") == 0


def test_paths():
    assert parse_path("示例企业/研发中心/广州", "示例企业") == ("研发中心", "广州")
    assert parse_path("/研发中心/广州/", "示例企业") == ("研发中心", "广州")
    assert parse_path("腾讯/研发", "示例企业") == ("腾讯", "研发")
    assert parse_path("示例企业", "示例企业") == ()
    assert slug(lambda t: parse_path(t, "x"), "研发|中心") == "invalid-department-name"
    assert slug(lambda t: parse_path(t, "x"), "长" * 65) == "invalid-department-name"
    assert slug(lambda t: parse_path(t, "x"), "/".join("d" * 15)) == "department-too-deep"
    assert parse_path("/".join("d" * 14), "x") == tuple("d" * 14)


def test_department_ids_and_leaders():
    assert parse_department_ids("1;2；3") == [1, 2, 3]
    assert slug(parse_department_ids, "2;研发") == "invalid-department-id"
    assert slug(parse_department_ids, "0") == "invalid-department-id"
    assert parse_leaders("lisi；wangwu,zhaoliu") == ["lisi", "wangwu", "zhaoliu"]
    assert slug(parse_leaders, "a;b;c;d;e;f") == "too-many-leaders"
    assert slug(parse_leaders, "lisi;李四") == "invalid-userid"


# ---- the member reader -------------------------------------------------------------------------

HEADERS = ["帐号", "姓名", "手机", "邮箱", "部门", "是否部门内领导", "排序", "主部门", "直属上级", "性别", "启用",
           "职务"]


def read(rows, headers=HEADERS, **options):
    reader = MemberReader(headers, header_row=1, **options)
    members = reader.read_all(rows, list(range(2, len(rows) + 2)))
    return members, reader.problems


def test_a_full_row_becomes_api_values():
    members, problems = read([["zhangsan", "张三", "+86 139 1234 5678", "z@example.com",
                               "示例企业/研发中心/广州；销售部", "是;否", "10;20", "销售部", "lisi", "男", "是",
                               " 工程师\u3000"]])
    assert problems == []
    member = members[0]
    assert member.row == 2
    assert member.values == {"userid": "zhangsan", "name": "张三", "mobile": "13912345678", "email": "z@example.com",
                             "is_leader_in_dept": [1, 0], "order": [10, 20], "direct_leader": ["lisi"],
                             "gender": "1", "enable": 1, "position": "工程师"}
    assert member.departments == [("研发中心", "广州"), ("销售部",)]
    assert member.main_department == ("销售部",)
    assert member.clear == set()


def test_main_department_defaults_to_the_first_and_must_be_listed():
    members, problems = read([["a", "A", "13900000001", "", "研发;销售", "", "", "", "", "", "", ""],
                              ["b", "B", "13900000002", "", "研发;销售", "", "", "市场", "", "", "", ""]])
    assert members[0].main_department == ("研发",)
    assert flatten(problems) == [(3, "main_department", "main-department-not-listed")]


def test_a_department_listed_twice_is_a_problem_naming_it():
    members, problems = read([["a", "A", "13900000001", "", "研发中心/广州；示例企业/研发中心/广州", "", "", "", "", "",
                               "", ""],
                              ["b", "B", "13900000002", "", "研发中心;销售部", "", "", "", "", "", "", ""]])
    assert flatten(problems) == [(2, "department", "duplicate-department")]
    assert "研发中心/广州" in problems[0].message and "研发中心/广州" in problems[0].message.zh
    _, by_id = read([["张三", "zhangsan", "13912345678", "", "2;3;2"]],
                    headers=["姓名", "帐号", "手机号", "邮箱", "所在部门"])
    assert flatten(by_id) == [(2, "department", "duplicate-department")] and by_id[0].value == "2"
    assert by_id[0].column == "所在部门"


def test_blank_means_leave_and_the_clear_marker_clears():
    members, problems = read([["a", "A", "13900000001", CLEAR_MARKER, "", "", "", "", "<clear>", "", "", "(清空)"]])
    assert problems == []
    assert members[0].clear == {"email", "direct_leader", "position"}
    assert "email" not in members[0].values and "gender" not in members[0].values


def test_clearing_a_required_field_is_a_problem():
    _, problems = read([["a", CLEAR_MARKER, "13900000001", "", "", "", "", "", "", "", CLEAR_MARKER, ""]])
    assert flatten(problems) == [(2, "name", "clear-not-allowed"), (2, "enable", "clear-not-allowed")]


def test_row_rules():
    rows = [["", "", "", "", "", "", "", "", "", "", "", ""],
            ["b", "B", "", "", "研发;销售", "是", "1;2;3", "", "", "", "", ""],
            ["c", "C", "bad", "", "", "", "", "", "", "X", "maybe", "职" * 129]]
    _, problems = read(rows)
    assert sorted(flatten(problems), key=str) == sorted([
        (2, "userid", "missing-required"), (2, "name", "missing-required"), (2, None, "no-mobile-or-email"),
        (3, None, "no-mobile-or-email"), (3, "is_leader_in_dept", "length-mismatch"), (3, "order", "length-mismatch"),
        (4, "mobile", "invalid-mobile"), (4, "gender", "invalid-gender"), (4, "enable", "invalid-yes-no"),
        (4, "position", "too-long"),
    ], key=str)


def test_known_userids_make_a_row_an_update():
    _, problems = read([["zhangsan", "", "", "", "", "", "", "", "", "", "", "经理"]], known_userids={"zhangsan"})
    assert problems == []


def test_example_rows_are_skipped_with_a_warning():
    members, problems = read([["zhangsan", "张三（示例）", "13800000000", "", "", "", "", "", "", "", "", ""],
                              ["lisi", "李四", "13900000000", "", "", "", "", "", "", "", "", ""]])
    assert [m.values["userid"] for m in members] == ["lisi"]
    assert [(p.row, p.type, p.severity) for p in problems] == [(2, "example-row", "warning")]


def test_batch_import_csv_headers_ids_and_disabled_inverted():
    headers = ["姓名", "帐号", "手机号", "邮箱", "所在部门", "职位", "性别", "是否部门内领导", "排序", "别名", "地址",
               "座机", "禁用", "禁用项说明：(0-启用;1-禁用)"]
    members, problems = read([["张三", "zhangsan", "13912345678", "", "2;3", "工程师", "男", "1;0", "0;0", "", "",
                               "", "1", ""],
                              ["李四", "lisi", "13912345679", "", "1", "", "女", "", "", "", "", "", "0", ""]],
                             headers=headers)
    assert problems == []
    assert members[0].departments == [2, 3] and members[0].main_department == 2
    assert members[0].values["enable"] == 0 and members[1].values["enable"] == 1


def test_header_problems():
    reader = MemberReader(["帐号", "手机", "mobile", "工号", ""], header_row=9)
    assert flatten(reader.problems) == [(9, "mobile", "duplicate-column"), (9, None, "unknown-column"),
                                        (9, "name", "missing-required-column")]
    assert reader.problems[1].column == "工号"
    reader = MemberReader(["帐号", "姓名"], header_row=1)
    assert flatten(reader.problems) == [(1, None, "no-mobile-or-email-column")]


def test_many_unknown_columns_are_one_warning():
    reader = MemberReader(["帐号", "姓名", "手机"] + [f"c{i}" for i in range(10_000)], header_row=1)
    assert flatten(reader.problems) == [(1, None, "unknown-column")]


def test_the_reader_row_by_row_matches_read_all():
    rows = [["a", "A", "13900000001", "", "研发", "是", "", "", "", "女", "", ""],
            ["b", "", "1.3E+10", "", "研:发", "", "", "", "", "", "", ""]]
    bulk_members, bulk_problems = read([list(r) for r in rows])
    reader = MemberReader(HEADERS, header_row=1)
    single = [reader.read(list(r), n) for r, n in zip(rows, (2, 3))]
    assert [m.values for m in single] == [m.values for m in bulk_members]
    assert sorted(flatten(reader.problems), key=str) == sorted(flatten(bulk_problems), key=str)


def test_the_columns_read_give_records_of_their_own_and_leave_blanks_out():
    headers = ["帐号", "姓名", "手机", "部门", "排序", "直属上级", "职务"]
    rows = [["a", "甲", "13900000001", "研发", "5", "b", "（清空）"],
            ["b", "乙", "", "研发", "5", "", "经理"],
            ["c", "丙", "13900000003", "", "", "b", ""]]
    reader = MemberReader(headers, header_row=1)
    columns = reader.read_columns(rows, [2, 3, 4])
    assert columns.rows == [2, 3, 4] and columns.values["mobile"] == ["13900000001", None, "13900000003"]
    assert columns.clear == {0: {"position"}} and columns.main_department == [("研发",), ("研发",), None]
    members = columns.members()
    assert members is columns.members()  # built once
    assert [m.values for m in members] == [
        {"userid": "a", "name": "甲", "mobile": "13900000001", "order": [5], "direct_leader": ["b"]},
        {"userid": "b", "name": "乙", "order": [5], "position": "经理"},
        {"userid": "c", "name": "丙", "mobile": "13900000003", "direct_leader": ["b"]}]
    assert [(m.departments, m.main_department, m.clear) for m in members] == [
        ([("研发",)], ("研发",), {"position"}), ([("研发",)], ("研发",), set()), ([], None, set())]
    # rows that read alike share one value in the columns, never in the records
    members[0].values["order"].append(9)
    members[0].departments.append(("销售",))
    members[0].clear.add("alias")
    assert members[1].values["order"] == [5] and columns.values["order"][1] == [5]
    assert members[1].departments == [("研发",)] and columns.departments[0] == [("研发",)]
    assert columns.clear == {0: {"position"}}
    assert [m.values for m in MemberColumns.of(columns.members()).members()][1:] == [m.values for m in members[1:]]


def test_two_columns_of_one_field_each_count_where_they_have_a_value():
    # 是否启用 and 是否禁用 both fill enable: a blank in the later column leaves the earlier one's value
    reader = MemberReader(["帐号", "姓名", "手机", "是否启用", "是否禁用"], header_row=1)
    members = reader.read_all([["a", "甲", "13900000001", "是", ""], ["b", "乙", "13900000002", "", "是"],
                               ["c", "丙", "13900000003", "是", "是"], ["d", "丁", "13900000004", "", ""]],
                              [2, 3, 4, 5])
    assert [m.values.get("enable") for m in members] == [1, 0, 0, None] and reader.problems == []


# ---- the department reader ---------------------------------------------------------------------

def test_departments_by_name_and_parent_path_or_full_path():
    reader = DepartmentReader(["部门名称", "上级部门", "部门ID", "排序"], header_row=1)
    reader.read(["研发中心", "示例企业", "2", "100"], 2)
    reader.read(["广州", "研发中心", "", ""], 3)
    reader.read(["坏:名", "研发中心", "", ""], 4)
    reader.read(["", "研发中心", "5", ""], 5)
    assert [(d.row, d.path, d.id, d.order) for d in reader.departments] == [
        (2, ("研发中心",), 2, 100), (3, ("研发中心", "广州"), None, None)]
    assert flatten(reader.problems) == [(4, "name", "invalid-department-name"), (5, "name", "missing-required")]
    full = DepartmentReader(["部门路径", "英文名称"], header_row=1)
    full.read(["示例企业/研发中心/广州", "Guangzhou"], 2)
    assert [(d.path, d.name_en) for d in full.departments] == [(("研发中心", "广州"), "Guangzhou")]


def test_a_path_that_disagrees_with_the_name_or_parent_columns_is_a_warning_naming_both():
    reader = DepartmentReader(["部门ID", "部门名称", "部门路径", "父部门ID", "上级部门"], header_row=1)
    rows = [["2", "研发中心", "示例企业/研发中心", "1", ""],          # all agree
            ["3", "广州", "研发中心/广州", "2", "研发中心"],             # all agree
            ["4", "北京", "研发中心/上海", "2", ""],                     # name differs
            ["5", "深圳", "研发中心/深圳", "1", ""],                     # parent id differs
            ["6", "杭州", "研发中心/杭州", "", "销售部"],                # parent path differs
            ["7", "成都", "研发中心/成都", "99", ""]]                    # parent id outside the sheet: unknown
    for number, row in enumerate(rows, start=2):
        reader.read(row, number)
    reader.finish()
    assert [d.path for d in reader.departments][2:4] == [("研发中心", "上海"), ("研发中心", "深圳")]  # the path wins
    assert sorted(flatten(reader.problems)) == [(4, "path", "department-columns-disagree"),
                                                (5, "path", "department-columns-disagree"),
                                                (6, "path", "department-columns-disagree")]
    by_row = {p.row: p for p in reader.problems}
    assert by_row[4].severity == "warning" and "'研发中心/上海'" in by_row[4].message and "'北京'" in by_row[4].message
    assert "父部门ID '1'" in by_row[5].message and "“销售部”" in by_row[6].message.zh


def test_batch_import_department_csv_resolves_parent_ids():
    reader = DepartmentReader(["部门名称", "部门ID", "父部门ID", "排序"], header_row=1)
    for number, row in enumerate([["示例企业", "1", "0", ""], ["广州", "3", "2", ""], ["研发中心", "2", "1", "5"],
                                  ["外部", "9", "77", ""]], start=2):
        reader.read(row, number)
    reader.finish()
    assert [(d.path, d.id, d.parent_id) for d in reader.departments] == [
        (("研发中心", "广州"), 3, None), (("研发中心",), 2, None), ((), 9, 77)]
    assert reader.departments[2].name == "外部"


def test_with_a_directory_only_new_members_need_name_and_contact():
    reader = MemberReader(["帐号", "职务"], header_row=1, known_userids={"zhangsan"})
    assert reader.problems == []
    reader.read_all([["ZhangSan", "经理"], ["newbie", "实习生"]], [2, 3])
    assert flatten(reader.problems) == [(3, "name", "missing-required"), (3, None, "no-mobile-or-email")]


def test_leader_flags_without_departments_are_left_to_the_importer():
    _, problems = read([["a", "A", "13900000001", "", "", "是", "5", "", "", "", "", ""]])
    assert problems == []


def test_limits_of_part_a3():
    many = ";".join(f"部门{i}" for i in range(101))
    ids = ";".join(str(i) for i in range(2, 103))
    headers = ["帐号", "姓名", "手机", "部门", "所在部门", "排序"]
    reader = MemberReader(headers, header_row=1)
    members = reader.read_all([["a", "甲" * 64, "13900000001", many[:many.rindex(";")], "", ""],
                               ["b", "乙" * 65, "13900000002", many, "", ""],
                               ["c", "丙", "13900000003", "", ids, "-1"],
                               ["d", "丁", "13900000004", "", ids[:ids.rindex(";")], "1;x"]], [2, 3, 4, 5])
    assert flatten(reader.problems) == [(3, "name", "too-long"), (3, "department", "too-many-departments"),
                                        (4, "department", "too-many-departments"), (4, "order", "invalid-number"),
                                        (5, "order", "invalid-number")]
    assert len(members[0].departments) == 100 and len(members[3].departments) == 100
    assert "lists 101 departments; at most 100" in reader.problems[1].message
