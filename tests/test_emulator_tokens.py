"""Credentials and tokens (wecom-api.md Part A2): gettoken, token errors, secrets' rights, 48009, hidden fields."""

from __future__ import annotations

import time

import pytest

from test_emulator_members import assert_error

DETAIL_READS = [("user/get", {"userid": "zhangsan"}), ("user/list", {"department_id": 1}),
                ("department/list", {}), ("department/get", {"id": 1})]
ALLOWED_READS = [("user/simplelist", {"department_id": 1}), ("department/simplelist", {})]
WRITES = [("user/create", {"userid": "li", "name": "李四", "mobile": "13900000000"}),
          ("user/update", {"userid": "zhangsan", "name": "张三丰"}),
          ("user/delete", None), ("user/batchdelete", {"useridlist": ["zhangsan"]}),
          ("department/create", {"name": "研发中心", "parentid": 1}),
          ("department/update", {"id": 1, "name": "新名"}), ("department/delete", None)]


def gettoken(emulator, **params) -> dict:
    return emulator.http.get(f"{emulator.url}/cgi-bin/gettoken", params=params).json()


def add_zhangsan(emulator) -> None:
    answer = emulator.call("user/create", {"userid": "zhangsan", "name": "张三", "mobile": "13800000000",
                                           "email": "zs@example.com", "gender": "1", "address": "广州",
                                           "biz_mail": "zs@corp.example.com"})
    assert answer["errcode"] == 0


def test_gettoken_answers_a_token_and_its_lifetime(emulator):
    answer = gettoken(emulator, corpid=emulator.corp_id, corpsecret=emulator.secret)
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok"
    assert 20 <= len(answer["access_token"]) <= 512
    assert 7190 <= answer["expires_in"] <= 7200


def test_gettoken_repeated_returns_the_same_token_with_less_time_left(emulator):
    first = gettoken(emulator, corpid=emulator.corp_id, corpsecret=emulator.secret)
    time.sleep(1.1)
    second = gettoken(emulator, corpid=emulator.corp_id, corpsecret=emulator.secret)
    assert second["access_token"] == first["access_token"]
    assert second["expires_in"] < first["expires_in"]


def test_each_secret_has_its_own_token(emulator):
    assert emulator.token() != emulator.token(app=True)


@pytest.mark.parametrize("params, errcode, text", [
    ({"corpsecret": "sandbox-secret"}, 41002, "corpid missing"),
    ({"corpid": "wwsandbox", "corpsecret": ""}, 41004, "corpsecret missing"),
    ({"corpid": "wwsomeoneelse", "corpsecret": "sandbox-secret"}, 40013, "invalid corpid"),
    ({"corpid": "wwsandbox", "corpsecret": "wrong"}, 40001, "invalid credential"),
])
def test_gettoken_errors(emulator, params, errcode, text):
    assert_error(gettoken(emulator, **params), errcode, text)


def test_call_without_token_answers_41001(emulator):
    answer = emulator.http.get(f"{emulator.url}/cgi-bin/user/get", params={"userid": "x"}).json()
    assert_error(answer, 41001, "access_token missing")


def test_call_with_unknown_token_answers_40014(emulator):
    assert_error(emulator.call("user/get", token="not-a-token", userid="x"), 40014, "invalid access_token")


def test_expire_tokens_makes_every_issued_token_answer_42001(emulator):
    sync, app = emulator.token(), emulator.token(app=True)
    emulator.expire_tokens()
    assert_error(emulator.call("department/simplelist", token=sync), 42001, "access_token expired")
    assert_error(emulator.call("department/simplelist", token=app), 42001, "access_token expired")


def test_gettoken_after_expiry_issues_a_new_token_that_works(emulator):
    old = emulator.token()
    emulator.expire_tokens()
    new = emulator.token()
    assert new != old
    assert emulator.call("department/simplelist", token=new)["errcode"] == 0


def test_token_expires_after_token_ttl(start_emulator):
    emulator = start_emulator(token_ttl=1)
    answer = gettoken(emulator, corpid=emulator.corp_id, corpsecret=emulator.secret)
    assert answer["expires_in"] == 1
    time.sleep(1.2)
    assert_error(emulator.call("department/simplelist", token=answer["access_token"]), 42001, "access_token expired")


def test_reset_forgets_tokens(emulator):
    token = emulator.token()
    emulator.reset()
    assert_error(emulator.call("department/simplelist", token=token), 40014, "invalid access_token")


@pytest.mark.parametrize("api, body", WRITES, ids=[w[0] for w in WRITES])
def test_writes_with_the_app_secret_answer_48002(emulator, api, body):
    add_zhangsan(emulator)
    params = {"userid": "zhangsan"} if api == "user/delete" else {"id": 1} if api == "department/delete" else {}
    assert_error(emulator.call(api, body, app=True, **params), 48002, "api forbidden")
    assert emulator.call("user/get", userid="zhangsan")["name"] == "张三"  # nothing changed


def test_list_id_with_the_app_secret_answers_48002(emulator):
    assert_error(emulator.call("user/list_id", {"limit": 100}, app=True), 48002, "api forbidden")


@pytest.mark.parametrize("api, params", DETAIL_READS + ALLOWED_READS, ids=[r[0] for r in DETAIL_READS + ALLOWED_READS])
def test_app_secret_may_read(emulator, api, params):
    add_zhangsan(emulator)
    assert emulator.call(api, app=True, **params)["errcode"] == 0


@pytest.mark.parametrize("api, params", DETAIL_READS, ids=[r[0] for r in DETAIL_READS])
def test_restrict_details_refuses_detail_reads_with_the_sync_secret_48009(start_emulator, api, params):
    emulator = start_emulator(restrict_details=True)
    add_zhangsan(emulator)
    assert_error(emulator.call(api, **params), 48009, "api forbidden for contact detail reads")


@pytest.mark.parametrize("api, params", DETAIL_READS, ids=[r[0] for r in DETAIL_READS])
def test_restrict_details_still_lets_the_app_secret_read_details(start_emulator, api, params):
    emulator = start_emulator(restrict_details=True)
    add_zhangsan(emulator)
    assert emulator.call(api, app=True, **params)["errcode"] == 0


@pytest.mark.parametrize("api, body, params", [
    ("user/simplelist", None, {"department_id": 1}), ("department/simplelist", None, {}),
    ("user/list_id", {"limit": 10}, {})])
def test_restrict_details_leaves_id_reads_allowed(start_emulator, api, body, params):
    emulator = start_emulator(restrict_details=True)
    add_zhangsan(emulator)
    assert emulator.call(api, body, **params)["errcode"] == 0


def test_restrict_details_can_be_switched_on_while_running(emulator):
    add_zhangsan(emulator)
    emulator.faults(restrict_details=True)
    assert emulator.call("user/get", userid="zhangsan")["errcode"] == 48009


PRIVATE = {"mobile": "", "email": "", "avatar": "", "thumb_avatar": "", "address": "", "biz_mail": "", "gender": "0"}


@pytest.mark.parametrize("api, params", [("user/get", {"userid": "zhangsan"}), ("user/list", {"department_id": 1})])
def test_hide_private_fields_empties_them_for_the_app_secret(start_emulator, api, params):
    emulator = start_emulator(hide_private_fields=True)
    add_zhangsan(emulator)
    answer = emulator.call(api, app=True, **params)
    member = answer if api == "user/get" else answer["userlist"][0]
    assert {name: member[name] for name in PRIVATE} == PRIVATE
    assert member["name"] == "张三"


def test_hide_private_fields_leaves_the_sync_secret_seeing_them(start_emulator):
    emulator = start_emulator(hide_private_fields=True)
    add_zhangsan(emulator)
    member = emulator.call("user/get", userid="zhangsan")
    assert (member["mobile"], member["email"], member["gender"]) == ("13800000000", "zs@example.com", "1")


def test_without_hide_private_fields_the_app_secret_sees_them(emulator):
    add_zhangsan(emulator)
    assert emulator.call("user/get", app=True, userid="zhangsan")["mobile"] == "13800000000"
