"""bulkdir.checks: problems found across rows."""

from __future__ import annotations

from bulkdir.checks import check_departments_sheet, check_duplicates, check_leaders, check_member_departments
from bulkdir.problems import flatten
from bulkdir.schema import Department, Member, MemberColumns


def headers(field):
    return {"userid": "帐号", "mobile": "手机", "email": "邮箱", "direct_leader": "直属上级",
            "department": "部门", "path": None, "name": "部门名称", "id": "部门ID"}.get(field)


def test_duplicates_userid_case_insensitive_mobile_normalised_email_case():
    members = [Member(2, {"userid": "ZhangSan", "mobile": "13912345678", "email": "Z@Example.com"}),
               Member(3, {"userid": "lisi", "mobile": "+852 91234567"}),
               Member(4, {"userid": "zhangsan", "mobile": "13912345678", "email": "z@example.com"}),
               Member(5, {"userid": "wangwu", "mobile": "+85291234567"})]
    problems = check_duplicates(MemberColumns.of(members), headers)
    assert flatten(problems) == [(4, "userid", "duplicate-value"), (4, "mobile", "duplicate-value"),
                                 (5, "mobile", "duplicate-value"), (4, "email", "duplicate-value")]
    assert problems[0].column == "帐号" and problems[0].value == "zhangsan"
    assert "row 2" in problems[0].message and "第 2 行" in problems[0].message.zh


def test_leaders_in_sheet_in_directory_or_unknown():
    members = MemberColumns.of([Member(2, {"userid": "Boss"}),
                                Member(3, {"userid": "a", "direct_leader": ["boss", "cto", "ghost"]})])
    assert flatten(check_leaders(members, headers, known_userids={"cto"})) == [(3, "direct_leader", "unknown-leader")]
    without_directory = check_leaders(members, headers)
    assert [(p.type, p.value, p.severity) for p in without_directory] == [
        ("leader-not-in-sheet", "cto", "warning"), ("leader-not-in-sheet", "ghost", "warning")]


def test_a_column_of_plain_digit_mobiles_and_leaders_all_in_the_sheet_still_name_every_repeat():
    # a sheet of plain digits and leaders from the sheet is the common case: a shortcut for it must not
    # hide a repeat or an outsider
    members = [Member(n, {"userid": f"u{n}", "mobile": f"139{n:08d}", "direct_leader": ["U2"]}) for n in range(2, 6)]
    clean = MemberColumns.of(members)
    assert check_duplicates(clean, headers) == [] and check_leaders(clean, headers) == []
    members.append(Member(6, {"userid": "u6", "mobile": "13900000003", "direct_leader": ["u7"]}))
    repeating = MemberColumns.of(members)
    repeats = check_duplicates(repeating, headers)
    assert [(p.row, p.field, "row 3" in p.message) for p in repeats] == [(6, "mobile", True)]
    assert [(p.row, p.value) for p in check_leaders(repeating, headers)] == [(6, "u7")]


def test_departments_sheet_duplicates():
    departments = [Department(2, ("研发",), 2), Department(3, ("研发",), 3), Department(4, ("销售",), 2)]
    problems = check_departments_sheet(departments, headers)
    assert flatten(problems) == [(3, "name", "duplicate-value"), (4, "id", "duplicate-value")]
    assert problems[0].column == "部门名称" and problems[0].message.startswith("name (部门名称) '研发'")
    with_paths = check_departments_sheet(departments, {"path": "部门路径", "id": "部门ID"}.get)
    assert [(p.field, p.column) for p in with_paths] == [("path", "部门路径"), ("id", "部门ID")]


def test_member_departments_against_the_departments_sheet():
    sheet = [Department(2, ("研发中心",), 2), Department(3, ("研发中心", "广州"), 3)]
    members = [Member(5, departments=[("研发中心", "广州"), ("研发中心",), 3, 1]),
               Member(6, departments=[("销售部", "广州")]),
               Member(7, departments=[("市场部",), 42])]
    problems = check_member_departments(MemberColumns.of(members), sheet, headers)
    assert [(p.row, p.type, p.severity, p.value) for p in problems] == [
        (6, "department-conflict", "error", "销售部/广州"),
        (7, "unknown-department", "warning", "市场部"), (7, "unknown-department", "warning", "42")]
    assert "研发中心/广州" in problems[0].message
    assert check_member_departments(MemberColumns.of(members), [], headers) == []
