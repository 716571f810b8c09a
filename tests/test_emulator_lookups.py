"""Finding a member without a userid (wecom-api.md Part A8): user/getuserid by mobile and
user/get_userid_by_email, their errcodes, the block after too many failed lookups, and the client's two
methods, over real HTTP."""

from __future__ import annotations

import pytest

from bulkdir.wecom.client import WeComError
from import_support import client_for
from test_emulator_members import assert_error


def add_members(emulator, count: int, start: int = 0) -> None:
    """Members m00, m01, ... with mobiles 1380000000N and the emails mN@example.com, corp mail mN@corp.com."""
    for i in range(start, start + count):
        answer = emulator.call("user/create", {"userid": f"m{i:02d}", "name": f"成员{i}", "mobile": f"138{i:08d}",
                                               "email": f"m{i}@example.com", "biz_mail": f"m{i}@corp.com"})
        assert answer["errcode"] == 0, answer


def getuserid(emulator, mobile, **options) -> dict:
    return emulator.call("user/getuserid", {"mobile": mobile}, **options)


def by_email(emulator, email, email_type=None, **options) -> dict:
    body = {"email": email} if email_type is None else {"email": email, "email_type": email_type}
    return emulator.call("user/get_userid_by_email", body, **options)


@pytest.fixture
def zhangsan(emulator) -> None:
    answer = emulator.call("user/create", {"userid": "ZhangSan", "name": "张三", "mobile": "+86 138-0013-8000",
                                           "email": "Zhang.San@Example.com", "biz_mail": "ZhangSan@Corp.com"})
    assert answer["errcode"] == 0, answer


# ---- user/getuserid ----------------------------------------------------------------------------------

def test_getuserid_answers_the_userid_as_created(emulator, zhangsan):
    assert getuserid(emulator, "+86 138-0013-8000") == {"errcode": 0, "errmsg": "ok", "userid": "ZhangSan"}


@pytest.mark.parametrize("mobile", ["13800138000", "138 0013 8000", "138-0013-8000", "+8613800138000",
                                    " +86 13800138000 "])
def test_getuserid_ignores_spaces_dashes_and_a_leading_plus_86(emulator, zhangsan, mobile):
    assert getuserid(emulator, mobile)["userid"] == "ZhangSan"


def test_getuserid_does_not_take_another_country_code_for_plus_86(emulator):
    assert emulator.call("user/create", {"userid": "hk", "name": "港", "mobile": "+852 1234 5678"})["errcode"] == 0
    assert getuserid(emulator, "12345678")["errcode"] == 46004
    assert getuserid(emulator, "+852-1234-5678")["userid"] == "hk"


def test_getuserid_of_an_unknown_mobile_answers_46004(emulator, zhangsan):
    assert_error(getuserid(emulator, "13900000000"), 46004, "user not found")


@pytest.mark.parametrize("body", [{}, {"mobile": ""}, {"mobile": None}, {"mobile": ["13800138000"]},
                                  {"mobile": "abc"}, {"mobile": "1" * 33}, {"mobile": True}])
def test_getuserid_without_a_mobile_or_with_a_malformed_one_answers_40058(emulator, zhangsan, body):
    assert_error(emulator.call("user/getuserid", body), 40058, "invalid Request Parameter")


def test_getuserid_must_be_a_post(emulator, zhangsan):
    assert emulator.call("user/getuserid", mobile="13800138000")["errcode"] == 40058


# ---- user/get_userid_by_email ----------------------------------------------------------------------------

def test_email_type_1_is_the_default_and_looks_up_the_corp_mail(emulator, zhangsan):
    assert by_email(emulator, "ZhangSan@Corp.com") == {"errcode": 0, "errmsg": "ok", "userid": "ZhangSan"}
    assert by_email(emulator, "ZhangSan@Corp.com", 1)["userid"] == "ZhangSan"


def test_email_type_1_does_not_find_a_personal_email(emulator, zhangsan):
    assert_error(by_email(emulator, "Zhang.San@Example.com"), 46004, "user not found")


def test_email_type_2_looks_up_the_personal_email(emulator, zhangsan):
    assert by_email(emulator, "Zhang.San@Example.com", 2)["userid"] == "ZhangSan"
    assert by_email(emulator, "ZhangSan@Corp.com", 2)["errcode"] == 46004


@pytest.mark.parametrize("email, email_type", [("zhangsan@corp.com", 1), ("ZHANGSAN@CORP.COM", 1),
                                               ("zhang.san@example.com", 2), ("ZHANG.SAN@EXAMPLE.COM", "2")])
def test_email_lookups_ignore_case(emulator, zhangsan, email, email_type):
    assert by_email(emulator, email, email_type)["userid"] == "ZhangSan"


def test_email_lookup_of_an_unknown_email_answers_46004(emulator, zhangsan):
    assert_error(by_email(emulator, "nobody@corp.com"), 46004, "user not found")


@pytest.mark.parametrize("body", [{}, {"email": ""}, {"email": "not-an-email"}, {"email": "a@b"},
                                  {"email": ["zhangsan@corp.com"]}, {"email": "zhangsan@corp.com", "email_type": 3},
                                  {"email": "zhangsan@corp.com", "email_type": 0},
                                  {"email": "zhangsan@corp.com", "email_type": "biz"},
                                  {"email": "zhangsan@corp.com", "email_type": True}])
def test_email_lookup_without_an_email_or_with_a_malformed_field_answers_40058(emulator, zhangsan, body):
    assert_error(emulator.call("user/get_userid_by_email", body), 40058, "invalid Request Parameter")


# ---- which secret --------------------------------------------------------------------------------------

def test_the_app_secret_may_look_members_up(emulator, zhangsan):
    assert getuserid(emulator, "13800138000", app=True)["userid"] == "ZhangSan"
    assert by_email(emulator, "zhangsan@corp.com", app=True)["userid"] == "ZhangSan"


def test_lookups_are_not_detail_reads_and_answer_under_restrict_details(emulator, zhangsan):
    emulator.faults(restrict_details=True)
    assert emulator.call("user/get", userid="zhangsan")["errcode"] == 48009
    assert getuserid(emulator, "13800138000")["userid"] == "ZhangSan"
    assert by_email(emulator, "zhang.san@example.com", 2)["userid"] == "ZhangSan"


# ---- the block after too many failed lookups -------------------------------------------------------------
# Failed lookups (46004) per API since start or reset; once they exceed 20% of the members, at least 1,
# that API answers 45009 until a reset. With 10 members: 2 is 20%, so the 3rd failure still answers 46004
# (3 > 2 from then on) and every call after it answers 45009.

def fail(emulator, api: str, times: int) -> list[int]:
    if api == "user/getuserid":
        return [getuserid(emulator, f"1390000000{i % 10}")["errcode"] for i in range(times)]
    return [by_email(emulator, f"nobody{i}@corp.com")["errcode"] for i in range(times)]


@pytest.mark.parametrize("api", ["user/getuserid", "user/get_userid_by_email"])
def test_with_10_members_2_failures_are_within_the_limit(emulator, api):
    add_members(emulator, 10)
    assert fail(emulator, api, 2) == [46004, 46004]
    assert getuserid(emulator, "13800000003")["userid"] == "m03"
    assert by_email(emulator, "m3@corp.com")["userid"] == "m03"


@pytest.mark.parametrize("api", ["user/getuserid", "user/get_userid_by_email"])
def test_with_10_members_the_call_after_the_3rd_failure_answers_45009(emulator, api):
    add_members(emulator, 10)
    assert fail(emulator, api, 3) == [46004] * 3
    known = getuserid(emulator, "13800000003") if api == "user/getuserid" else by_email(emulator, "m3@corp.com")
    assert_error(known, 45009, "api freq out of limit")
    assert fail(emulator, api, 1) == [45009]


def test_20_percent_of_7_members_is_exceeded_by_the_2nd_failure(emulator):
    add_members(emulator, 7)  # 1.4 members: the 2nd failure exceeds it
    assert fail(emulator, "user/getuserid", 3) == [46004, 46004, 45009]


@pytest.mark.parametrize("members", [0, 3])
def test_a_small_corp_allows_at_least_1_failure(emulator, members):
    add_members(emulator, members)
    assert fail(emulator, "user/getuserid", 3) == [46004, 46004, 45009]


def test_the_block_is_per_api(emulator):
    add_members(emulator, 10)
    fail(emulator, "user/getuserid", 3)
    assert getuserid(emulator, "13800000003")["errcode"] == 45009
    assert by_email(emulator, "m3@corp.com")["userid"] == "m03"
    assert fail(emulator, "user/get_userid_by_email", 3) == [46004] * 3
    assert by_email(emulator, "m3@corp.com")["errcode"] == 45009


def test_only_46004_counts_as_a_failed_lookup(emulator):
    add_members(emulator, 10)
    for _ in range(5):
        assert getuserid(emulator, "not a mobile")["errcode"] == 40058
        assert getuserid(emulator, "13800000001")["errcode"] == 0
    assert fail(emulator, "user/getuserid", 3) == [46004] * 3


def test_the_block_holds_until_a_reset_even_when_members_are_added(emulator):
    fail(emulator, "user/getuserid", 2)
    assert fail(emulator, "user/getuserid", 1) == [45009]
    add_members(emulator, 20)
    assert getuserid(emulator, "13800000001")["errcode"] == 45009
    emulator.reset()
    add_members(emulator, 1)
    assert getuserid(emulator, "13800000000")["userid"] == "m00"
    assert fail(emulator, "user/getuserid", 2) == [46004, 46004]


def test_the_blocked_calls_are_counted_in_the_stats(emulator):
    fail(emulator, "user/getuserid", 4)
    stats = emulator.stats()
    assert stats["calls"]["user/getuserid"] == 4
    assert (stats["errors"]["46004"], stats["errors"]["45009"]) == (2, 2)


# ---- the client -------------------------------------------------------------------------------------------

def test_client_user_getuserid_returns_the_userid(emulator, zhangsan):
    with client_for(emulator) as client:
        assert client.user_getuserid("138 0013 8000") == "ZhangSan"


def test_client_user_get_userid_by_email_of_either_kind(emulator, zhangsan):
    with client_for(emulator) as client:
        assert client.user_get_userid_by_email("zhangsan@corp.com") == "ZhangSan"
        assert client.user_get_userid_by_email("zhang.san@example.com", email_type=2) == "ZhangSan"


@pytest.mark.parametrize("lookup", [lambda c: c.user_getuserid("13900000000"),
                                    lambda c: c.user_get_userid_by_email("nobody@corp.com")],
                         ids=["getuserid", "get_userid_by_email"])
def test_client_lookup_of_nobody_raises_46004_at_once(emulator, zhangsan, lookup):
    with client_for(emulator) as client, pytest.raises(WeComError) as caught:
        lookup(client)
    assert caught.value.errcode == 46004 and caught.value.attempts == 1
    assert "No member has that mobile or email." in str(caught.value.hint)
    assert sum(emulator.stats()["calls"].get(api, 0) for api in ("user/getuserid", "user/get_userid_by_email")) == 1
