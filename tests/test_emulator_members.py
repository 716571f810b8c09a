"""The emulator's member rules (wecom-api.md Part A3), each errcode with its errmsg, over real HTTP."""

from __future__ import annotations

import pytest

MEMBER_FIELDS = {"userid", "name", "department", "order", "position", "mobile", "gender", "email", "biz_mail",
                 "is_leader_in_dept", "direct_leader", "avatar", "thumb_avatar", "telephone", "alias", "address",
                 "open_userid", "main_department", "extattr", "status", "qr_code", "external_position",
                 "external_profile", "enable"}


def assert_error(answer: dict, errcode: int, text: str) -> None:
    """The platform's shape: `<text>, hint: [...], from ip: ..., more info at ...?e=<errcode>`."""
    assert answer["errcode"] == errcode, answer
    assert answer["errmsg"].startswith(text), answer["errmsg"]
    assert ", hint: [" in answer["errmsg"] and ", from ip: 127.0.0.1, " in answer["errmsg"]
    assert answer["errmsg"].endswith(f"more info at https://open.work.weixin.qq.com/devtool/query?e={errcode}")


def create(emulator, **fields) -> dict:
    body = {"userid": "zhangsan", "name": "张三", "mobile": "13800000000", **fields}
    return emulator.call("user/create", {k: v for k, v in body.items() if v is not None})


@pytest.fixture
def departments(emulator) -> list[int]:
    """Two departments under the root: 研发中心 (2) and 销售部 (3)."""
    ids = []
    for name in ("研发中心", "销售部"):
        answer = emulator.call("department/create", {"name": name, "parentid": 1})
        assert answer["errcode"] == 0
        ids.append(answer["id"])
    return ids


# ---- create and get ---------------------------------------------------------------------------------

def test_create_answers_created_and_get_returns_every_field(emulator):
    assert create(emulator) == {"errcode": 0, "errmsg": "created"}
    member = emulator.call("user/get", userid="zhangsan")
    assert member["errcode"] == 0 and member["errmsg"] == "ok"
    assert MEMBER_FIELDS <= set(member)
    assert (member["userid"], member["name"], member["mobile"]) == ("zhangsan", "张三", "13800000000")


def test_new_member_defaults(emulator):
    create(emulator)
    member = emulator.call("user/get", userid="zhangsan")
    assert member["department"] == [1] and member["main_department"] == 1
    assert member["order"] == [0] and member["is_leader_in_dept"] == [0]
    assert (member["status"], member["enable"], member["gender"]) == (4, 1, "0")
    assert member["direct_leader"] == [] and member["email"] == ""


def test_get_is_case_insensitive_and_keeps_created_case(emulator):
    create(emulator, userid="ZhangSan")
    assert emulator.call("user/get", userid="ZHANGSAN")["userid"] == "ZhangSan"


def test_get_unknown_userid_answers_60111(emulator):
    assert_error(emulator.call("user/get", userid="nobody"), 60111, "userid not found")


@pytest.mark.parametrize("userid", ["", "-starts-with-dash", "_x", "has space", "中文", "a" * 65, "a/b"])
def test_create_invalid_userid_answers_40003(emulator, userid):
    assert_error(create(emulator, userid=userid), 40003, "invalid userid")


@pytest.mark.parametrize("userid", ["a", "A.b_c-d@e", "9lives", "a" * 64])
def test_create_accepts_valid_userids(emulator, userid):
    assert create(emulator, userid=userid)["errcode"] == 0


def test_create_existing_userid_any_case_answers_60102(emulator):
    create(emulator, userid="ZhangSan")
    assert_error(create(emulator, userid="zhangsan", mobile="13900000000"), 60102, "userid existed")


@pytest.mark.parametrize("name", ["", "   ", "名" * 65])
def test_create_invalid_name_answers_60112(emulator, name):
    assert_error(create(emulator, name=name), 60112, "invalid username")


def test_create_name_of_64_characters_is_accepted(emulator):
    assert create(emulator, name="名" * 64)["errcode"] == 0


@pytest.mark.parametrize("mobile", ["138abc", "1" * 33, "138_0000"])
def test_create_invalid_mobile_answers_60103(emulator, mobile):
    assert_error(create(emulator, mobile=mobile), 60103, "mobile invalid")


def test_create_mobile_with_country_code_spaces_and_dashes_is_accepted(emulator):
    assert create(emulator, mobile="+86 138-0000-0000")["errcode"] == 0


def test_create_mobile_used_by_another_member_answers_60104_naming_them(emulator):
    create(emulator, userid="Zhang")
    assert_error(create(emulator, userid="li", mobile="13800000000"), 60104, "mobile existed:Zhang")


def test_mobile_spelled_differently_is_still_the_same_mobile(emulator):
    create(emulator, userid="zhang", mobile="13800000000")
    assert_error(create(emulator, userid="li", mobile="+86 138-0000-0000"), 60104, "mobile existed:zhang")


@pytest.mark.parametrize("email", ["a@b.c"[:4], "no-at-sign.com", "a@@b.com", "a@nodot", "x" * 60 + "@b.com"])
def test_create_invalid_email_answers_60105(emulator, email):
    assert_error(create(emulator, email=email), 60105, "email invalid")


def test_create_email_used_by_another_member_answers_60106(emulator):
    create(emulator, userid="zhang", email="Zhang@Example.com")
    assert_error(create(emulator, userid="li", mobile=None, email="zhang@example.com"), 60106, "email existed")


def test_create_without_mobile_or_email_answers_60129(emulator):
    assert_error(create(emulator, mobile=None), 60129, "missing mobile or email")


def test_create_with_email_only_is_accepted(emulator):
    assert create(emulator, mobile=None, email="zhangsan@example.com")["errcode"] == 0


def test_create_unknown_department_answers_60123(emulator):
    assert_error(create(emulator, department=[1, 99]), 60123, "invalid party id")


def test_create_with_more_than_100_departments_answers_60110(emulator):
    assert_error(create(emulator, department=list(range(2, 103))), 60110, "user department size exceed limit")


def test_department_may_be_given_as_ints_or_digit_strings(emulator, departments):
    assert create(emulator, department=[str(departments[0]), departments[1]])["errcode"] == 0
    assert emulator.call("user/get", userid="zhangsan")["department"] == departments


@pytest.mark.parametrize("field", ["is_leader_in_dept", "order"])
def test_create_list_of_other_length_than_department_answers_60132(emulator, departments, field):
    assert_error(create(emulator, department=departments, **{field: [1]}), 60132, f"{field} size not match")


def test_order_and_leadership_are_kept_per_department(emulator, departments):
    create(emulator, department=departments, order=[10, 20], is_leader_in_dept=[1, 0])
    emulator.call("user/update", {"userid": "zhangsan", "department": [departments[1], 1]})
    member = emulator.call("user/get", userid="zhangsan")
    assert member["department"] == [departments[1], 1]
    assert member["order"] == [20, 0] and member["is_leader_in_dept"] == [0, 0]


def test_create_main_department_outside_department_answers_40058(emulator, departments):
    assert_error(create(emulator, department=[departments[0]], main_department=departments[1]), 40058,
                 "invalid Request Parameter")


def test_main_department_defaults_to_the_first_department(emulator, departments):
    create(emulator, department=[departments[1], departments[0]])
    assert emulator.call("user/get", userid="zhangsan")["main_department"] == departments[1]


def test_create_position_longer_than_128_answers_301012(emulator):
    assert_error(create(emulator, position="职" * 129), 301012, "position invalid")


@pytest.mark.parametrize("telephone", ["020-1234x", "1" * 33, "020 1234"])
def test_create_invalid_telephone_answers_301013(emulator, telephone):
    assert_error(create(emulator, telephone=telephone), 301013, "telephone invalid")


def test_create_telephone_with_extension_is_accepted(emulator):
    assert create(emulator, telephone="+86-020-12345678,123")["errcode"] == 0


def test_create_more_than_5_direct_leaders_answers_60257(emulator):
    for i in range(6):
        create(emulator, userid=f"boss{i}", mobile=f"1390000000{i}")
    leaders = [f"boss{i}" for i in range(6)]
    assert_error(create(emulator, direct_leader=leaders), 60257, "direct_leader size exceed limit")


def test_create_unknown_direct_leader_answers_60111(emulator):
    assert_error(create(emulator, direct_leader=["ghost"]), 60111, "userid not found")


def test_direct_leader_lookup_is_case_insensitive(emulator):
    create(emulator, userid="Boss", mobile="13900000000")
    assert create(emulator, direct_leader=["BOSS"])["errcode"] == 0


@pytest.mark.parametrize("field, value", [("gender", 3), ("gender", "x"), ("enable", 2), ("enable", "yes")])
def test_create_gender_or_enable_out_of_range_answers_40058(emulator, field, value):
    assert_error(create(emulator, **{field: value}), 40058, "invalid Request Parameter")


@pytest.mark.parametrize("gender", [1, "1"])
def test_gender_given_as_int_or_string_is_returned_as_string(emulator, gender):
    create(emulator, gender=gender)
    assert emulator.call("user/get", userid="zhangsan")["gender"] == "1"


def test_disabled_member_has_status_2(emulator):
    create(emulator, enable=0)
    member = emulator.call("user/get", userid="zhangsan")
    assert (member["enable"], member["status"]) == (0, 2)


def test_malformed_json_body_answers_40058(emulator):
    token = emulator.token()
    answer = emulator.http.post(f"{emulator.url}/cgi-bin/user/create", params={"access_token": token},
                                data=b'{"userid": "x",', headers={"Content-Type": "application/json"}).json()
    assert_error(answer, 40058, "Warning: wrong json format. invalid Request Parameter")


def test_unknown_fields_are_ignored(emulator):
    assert create(emulator, tel="020-1", weixinid="zs", status=1, hide_mobile=0)["errcode"] == 0


# ---- update ------------------------------------------------------------------------------------------

def test_update_changes_only_the_given_fields(emulator):
    create(emulator, position="工程师", alias="小张")
    assert emulator.call("user/update", {"userid": "ZHANGSAN", "position": "经理"}) == {
        "errcode": 0, "errmsg": "updated"}
    member = emulator.call("user/get", userid="zhangsan")
    assert (member["position"], member["alias"], member["mobile"]) == ("经理", "小张", "13800000000")


def test_update_unknown_userid_answers_60111(emulator):
    assert_error(emulator.call("user/update", {"userid": "ghost", "name": "x"}), 60111, "userid not found")


def test_update_keeps_own_mobile_and_email(emulator):
    create(emulator, email="zs@example.com")
    answer = emulator.call("user/update", {"userid": "zhangsan", "mobile": "13800000000", "email": "zs@example.com"})
    assert answer["errcode"] == 0


def test_update_to_another_members_mobile_answers_60104(emulator):
    create(emulator, userid="zhang")
    create(emulator, userid="li", mobile="13900000000")
    assert_error(emulator.call("user/update", {"userid": "li", "mobile": "13800000000"}), 60104,
                 "mobile existed:zhang")


def test_update_to_another_members_email_in_any_case_answers_60106(emulator):
    create(emulator, userid="zhang", email="zhang@example.com")
    create(emulator, userid="li", mobile="13900000000", email="li@example.com")
    assert_error(emulator.call("user/update", {"userid": "li", "email": "Zhang@Example.com"}), 60106,
                 "email existed")
    assert emulator.call("user/update", {"userid": "LI", "email": "LI@example.com"})["errcode"] == 0


@pytest.mark.parametrize("api, body", [("user/update", {"name": "x"}), ("user/delete", None), ("user/get", None)])
def test_a_call_without_userid_answers_40003(emulator, api, body):
    assert_error(emulator.call(api, body), 40003, "invalid userid")


def test_update_that_breaks_a_rule_changes_nothing(emulator):
    create(emulator)
    assert_error(emulator.call("user/update", {"userid": "zhangsan", "position": "经理", "gender": 9}), 40058,
                 "invalid Request Parameter")
    assert emulator.call("user/get", userid="zhangsan")["position"] == ""


def test_update_clearing_both_mobile_and_email_answers_60129(emulator):
    create(emulator)
    assert_error(emulator.call("user/update", {"userid": "zhangsan", "mobile": ""}), 60129, "missing mobile or email")


def test_update_frees_the_old_mobile(emulator):
    create(emulator, userid="zhang")
    emulator.call("user/update", {"userid": "zhang", "mobile": "13700000000"})
    assert create(emulator, userid="li", mobile="13800000000")["errcode"] == 0


# ---- delete --------------------------------------------------------------------------------------------

def test_delete_answers_deleted_and_the_member_is_gone(emulator):
    create(emulator, userid="ZhangSan")
    assert emulator.call("user/delete", userid="zhangsan") == {"errcode": 0, "errmsg": "deleted"}
    assert emulator.call("user/get", userid="zhangsan")["errcode"] == 60111


def test_delete_unknown_userid_answers_60111(emulator):
    assert_error(emulator.call("user/delete", userid="ghost"), 60111, "userid not found")


def test_batchdelete_deletes_every_listed_member(emulator):
    for i in range(3):
        create(emulator, userid=f"m{i}", mobile=f"1380000000{i}")
    assert emulator.call("user/batchdelete", {"useridlist": ["m0", "M1"]}) == {"errcode": 0, "errmsg": "deleted"}
    assert [m["userid"] for m in emulator.state()["members"]] == ["m2"]


def test_batchdelete_empty_list_answers_40031(emulator):
    assert_error(emulator.call("user/batchdelete", {"useridlist": []}), 40031, "invalid userid list")


def test_batchdelete_more_than_200_answers_40032(emulator):
    assert_error(emulator.call("user/batchdelete", {"useridlist": [f"m{i}" for i in range(201)]}), 40032,
                 "invalid userid list size")


def test_batchdelete_with_an_unknown_userid_deletes_nothing(emulator):
    create(emulator, userid="zhang")
    assert_error(emulator.call("user/batchdelete", {"useridlist": ["zhang", "ghost"]}), 40031,
                 "invalid userid list")
    assert emulator.call("user/get", userid="zhang")["errcode"] == 0


def test_deleted_leader_is_removed_from_direct_leader(emulator):
    create(emulator, userid="boss", mobile="13900000000")
    create(emulator, direct_leader=["boss"])
    emulator.call("user/delete", userid="boss")
    assert emulator.call("user/get", userid="zhangsan")["direct_leader"] == []



# ---- department as a bare integer, order without department (Part A7) --------------------------------------

def test_create_takes_a_bare_integer_department_as_a_list_of_one(emulator, departments):
    assert create(emulator, department=departments[0])["errcode"] == 0
    member = emulator.call("user/get", userid="zhangsan")
    assert member["department"] == [departments[0]] and member["main_department"] == departments[0]


def test_update_takes_a_bare_integer_department_as_a_list_of_one(emulator, departments):
    create(emulator, department=departments)
    assert emulator.call("user/update", {"userid": "zhangsan", "department": departments[1]})["errcode"] == 0
    assert emulator.call("user/get", userid="zhangsan")["department"] == [departments[1]]


@pytest.mark.parametrize("api", ["user/create", "user/update"])
def test_a_bool_department_answers_40058(emulator, api):
    if api == "user/update":
        create(emulator)
    body = {"userid": "zhangsan", "name": "张三", "mobile": "13800000000", "department": True}
    assert_error(emulator.call(api, body), 40058, "invalid Request Parameter")


def test_update_order_of_a_wrong_length_without_department_is_not_checked(emulator, departments):
    create(emulator, department=departments, order=[10, 20])
    assert emulator.call("user/update", {"userid": "zhangsan", "order": [1, 2, 3]})["errcode"] == 0


def test_update_order_without_department_is_not_applied(emulator, departments):
    create(emulator, department=departments, order=[10, 20])
    emulator.call("user/update", {"userid": "zhangsan", "order": [30, 40], "position": "经理"})
    member = emulator.call("user/get", userid="zhangsan")
    assert member["order"] == [10, 20] and member["position"] == "经理"


def test_update_order_with_department_is_checked_and_applied(emulator, departments):
    create(emulator, department=departments, order=[10, 20])
    assert_error(emulator.call("user/update", {"userid": "zhangsan", "department": departments, "order": [1]}),
                 60132, "order size not match")
    emulator.call("user/update", {"userid": "zhangsan", "department": departments, "order": [30, 40]})
    assert emulator.call("user/get", userid="zhangsan")["order"] == [30, 40]


def test_update_is_leader_in_dept_without_department_is_still_checked(emulator, departments):
    create(emulator, department=departments)
    assert_error(emulator.call("user/update", {"userid": "zhangsan", "is_leader_in_dept": [1]}), 60132,
                 "is_leader_in_dept size not match")
    emulator.call("user/update", {"userid": "zhangsan", "is_leader_in_dept": [0, 1]})
    assert emulator.call("user/get", userid="zhangsan")["is_leader_in_dept"] == [0, 1]


def test_create_order_without_department_is_checked_against_the_root(emulator):
    assert_error(create(emulator, order=[1, 2]), 60132, "order size not match")

# ---- lists ---------------------------------------------------------------------------------------------



@pytest.mark.parametrize("api", ["user/simplelist", "user/list"])
@pytest.mark.parametrize("fetch_child, expected", [(0, ["cto"]), (1, ["cto", "dev"])])
def test_lists_take_department_id_and_fetch_child(emulator, tree, api, fetch_child, expected):
    answer = emulator.call(api, department_id=tree["rd"], fetch_child=fetch_child)
    assert answer["errcode"] == 0
    assert [m["userid"] for m in answer["userlist"]] == expected


def test_simplelist_rows_carry_userid_name_department_open_userid(emulator, tree):
    row = emulator.call("user/simplelist", department_id=tree["gz"])["userlist"][0]
    assert set(row) == {"userid", "name", "department", "open_userid"}


def test_list_rows_are_full_member_objects(emulator, tree):
    row = emulator.call("user/list", department_id=1, fetch_child=1)["userlist"][0]
    assert MEMBER_FIELDS <= set(row)


@pytest.mark.parametrize("api", ["user/simplelist", "user/list"])
def test_lists_of_unknown_department_answer_60123(emulator, api):
    assert_error(emulator.call(api, department_id=99), 60123, "invalid party id")


def test_list_id_answers_one_row_per_member_and_department(emulator, tree):
    emulator.call("user/update", {"userid": "cto", "department": [tree["rd"], tree["gz"]]})
    answer = emulator.call("user/list_id", {"cursor": "", "limit": 10000})
    assert answer["errcode"] == 0 and answer["next_cursor"] == ""
    assert sorted((row["userid"], row["department"]) for row in answer["dept_user"]) == [
        ("ceo", 1), ("cto", tree["rd"]), ("cto", tree["gz"]), ("dev", tree["gz"])]


def test_list_id_pages_through_every_row_in_a_stable_order(emulator, tree):
    rows, cursor, pages = [], "", 0
    while True:
        answer = emulator.call("user/list_id", {"cursor": cursor, "limit": 2})
        rows += answer["dept_user"]
        pages += 1
        cursor = answer["next_cursor"]
        if not cursor:
            break
    assert pages == 2 and len(rows) == 3
    assert rows == emulator.call("user/list_id", {"limit": 10000})["dept_user"]


@pytest.mark.parametrize("limit", [0, 10001, -1])
def test_list_id_limit_outside_1_to_10000_answers_40058(emulator, limit):
    assert_error(emulator.call("user/list_id", {"cursor": "", "limit": limit}), 40058, "invalid Request Parameter")


def test_update_with_a_new_userid_answers_301036(emulator):
    create(emulator)
    assert_error(emulator.call("user/update", {"userid": "zhangsan", "new_userid": "zs"}), 301036,
                 "userid not allowed to modify")
