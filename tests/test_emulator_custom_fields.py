"""Custom fields (自定义字段, `extattr`, wecom-api.md Part A8): defined by the corp beforehand, set by
user/create and user/update, shown on every member by user/get and user/list, over real HTTP."""

from __future__ import annotations

import pytest
import requests

from bulkdir.emulator.options import EmulatorOptions, default_faults
from test_emulator_members import assert_error

FIELDS = ["工号", "主页:web", "工位"]


def text(name: str, value: str, typed: bool = True) -> dict:
    return {"type": 0, "name": name, "text": {"value": value}} if typed else {"name": name, "text": {"value": value}}


def web(name: str, url: str, title: str, typed: bool = True) -> dict:
    attr = {"name": name, "web": {"url": url, "title": title}}
    return {"type": 1, **attr} if typed else attr


EMPTY = {"工号": text("工号", ""), "主页": web("主页", "", ""), "工位": text("工位", "")}


def shown(**values: dict) -> list[dict]:
    """What a member with `values` (by name) shows: every field of FIELDS in order, empty where unset."""
    return [values.get(name, EMPTY[name]) for name in EMPTY]


@pytest.fixture
def fields(emulator) -> None:
    emulator.faults(custom_fields=FIELDS)


def create(emulator, *attrs: dict, userid: str = "zhangsan", mobile: str = "13800000000") -> dict:
    body = {"userid": userid, "name": "张三", "mobile": mobile, "extattr": {"attrs": list(attrs)}}
    return emulator.call("user/create", body)


def update(emulator, *attrs: dict) -> dict:
    return emulator.call("user/update", {"userid": "zhangsan", "extattr": {"attrs": list(attrs)}})


def attrs_of(emulator, userid: str = "zhangsan") -> list[dict]:
    member = emulator.call("user/get", userid=userid)
    assert member["errcode"] == 0, member
    return member["extattr"]["attrs"]


# ---- defining the fields --------------------------------------------------------------------------------

def test_without_custom_fields_a_member_shows_none(emulator):
    assert create(emulator, text("工号", "A01"))["errcode"] == 0
    assert attrs_of(emulator) == []


def test_the_faults_endpoint_reads_and_sets_custom_fields(emulator):
    assert emulator.faults()["custom_fields"] == []
    assert emulator.faults(custom_fields=FIELDS)["custom_fields"] == FIELDS


def test_custom_fields_from_the_startup_options(start_emulator):
    emulator = start_emulator(custom_fields=["工号"])
    assert emulator.faults()["custom_fields"] == ["工号"]
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"})
    assert attrs_of(emulator, "zs") == [text("工号", "")]


@pytest.mark.parametrize("value", ["工号", ["工号", 1], [""], ["   "], [":web"], ["a" * 33], ["a" * 33 + ":web"],
                                   ["工号", "工号"], ["工号", "工号:web"], ["主页:Web"], ["a:b"], None])
def test_the_faults_endpoint_refuses_malformed_custom_fields_with_400(emulator, value):
    response = requests.post(f"{emulator.url}/_emulator/faults", json={"custom_fields": value}, timeout=10)
    assert response.status_code == 400
    assert response.json()["error"].startswith("custom_fields must "), response.json()
    assert emulator.faults() == default_faults()  # nothing changed


def test_a_name_of_32_characters_is_accepted(emulator):
    longest = ["a" * 32, "b" * 32 + ":web"]
    assert emulator.faults(custom_fields=longest)["custom_fields"] == longest


@pytest.mark.parametrize("value", [["工号", "工号"], ["a" * 33], "工号"])
def test_malformed_custom_fields_at_startup_raise_a_value_error(value):
    with pytest.raises(ValueError, match="^custom_fields must "):
        EmulatorOptions(custom_fields=value)


# ---- reads show every defined field ----------------------------------------------------------------------

def test_a_member_without_values_shows_every_field_empty_in_definition_order(emulator, fields):
    assert create(emulator)["errcode"] == 0
    assert attrs_of(emulator) == shown()


def test_a_member_created_before_the_fields_were_defined_shows_them_empty(emulator):
    create(emulator)
    emulator.faults(custom_fields=FIELDS)
    assert attrs_of(emulator) == shown()


def test_values_are_shown_in_definition_order_not_the_order_given(emulator, fields):
    create(emulator, text("工位", "3F-12"), web("主页", "https://example.com/zs", "主页"), text("工号", "A01"))
    assert attrs_of(emulator) == shown(工号=text("工号", "A01"), 主页=web("主页", "https://example.com/zs", "主页"),
                                       工位=text("工位", "3F-12"))


def test_user_list_shows_every_field_too(emulator, fields):
    create(emulator, text("工号", "A01"))
    create(emulator, userid="lisi", mobile="13800000001")
    members = emulator.call("user/list", department_id=1)["userlist"]
    assert [m["extattr"]["attrs"] for m in members] == [shown(工号=text("工号", "A01")), shown()]


def test_a_field_no_longer_defined_is_no_longer_shown_and_comes_back_with_its_value(emulator, fields):
    create(emulator, text("工号", "A01"), text("工位", "3F-12"))
    emulator.faults(custom_fields=["工位"])
    assert attrs_of(emulator) == [text("工位", "3F-12")]
    emulator.faults(custom_fields=FIELDS)
    assert attrs_of(emulator) == shown(工号=text("工号", "A01"), 工位=text("工位", "3F-12"))


# ---- create ----------------------------------------------------------------------------------------------

def test_attributes_of_undefined_fields_are_silently_ignored(emulator, fields):
    answer = create(emulator, text("部门编码", "X" * 100), web("博客", "not a url", "x" * 40), text("工号", "A01"))
    assert answer == {"errcode": 0, "errmsg": "created"}
    assert attrs_of(emulator) == shown(工号=text("工号", "A01"))


def test_attributes_without_type_take_it_from_text_or_web(emulator, fields):
    create(emulator, text("工号", "A01", typed=False), web("主页", "http://example.com", "主页", typed=False))
    assert attrs_of(emulator) == shown(工号=text("工号", "A01"), 主页=web("主页", "http://example.com", "主页"))


def test_a_text_value_of_64_characters_is_accepted(emulator, fields):
    assert create(emulator, text("工号", "号" * 64))["errcode"] == 0
    assert attrs_of(emulator)[0] == text("工号", "号" * 64)


def test_a_text_value_longer_than_64_characters_answers_40058(emulator, fields):
    assert_error(create(emulator, text("工号", "号" * 65)), 40058, "invalid Request Parameter")
    assert emulator.state()["members"] == []


@pytest.mark.parametrize("url", ["example.com", "ftp://example.com", "http://", "https:// example.com",
                                 "javascript:alert(1)", ""])
def test_a_web_value_without_an_http_url_answers_40058(emulator, fields, url):
    assert_error(create(emulator, web("主页", url, "主页")), 40058, "invalid Request Parameter")


@pytest.mark.parametrize("url", ["http://example.com", "https://example.com/a?b=1#c", "HTTPS://EXAMPLE.COM"])
def test_a_web_value_with_an_http_or_https_url_is_accepted(emulator, fields, url):
    assert create(emulator, web("主页", url, "主页"))["errcode"] == 0


def test_a_web_title_of_12_characters_is_accepted(emulator, fields):
    assert create(emulator, web("主页", "https://example.com", "标" * 12))["errcode"] == 0


@pytest.mark.parametrize("title", ["标" * 13, ""])
def test_a_web_title_empty_or_longer_than_12_characters_answers_40058(emulator, fields, title):
    assert_error(create(emulator, web("主页", "https://example.com", title)), 40058, "invalid Request Parameter")


@pytest.mark.parametrize("attr", [web("工号", "https://example.com", "主页"),  # a web value for a text field
                                  text("主页", "https://example.com"),  # a text value for a web field
                                  {"type": 1, "name": "工号", "text": {"value": "A01"}},
                                  {"type": 0, "name": "主页", "web": {"url": "https://example.com", "title": "主页"}},
                                  {"type": 2, "name": "工号", "text": {"value": "A01"}},
                                  {"type": "text", "name": "工号", "text": {"value": "A01"}},
                                  {"name": "工号"},
                                  {"name": "工号", "text": {"value": "A01"}, "web": {"url": "", "title": ""}}],
                         ids=["web-for-text", "text-for-web", "type1-with-text", "type0-with-web", "type2",
                              "type-word", "no-value", "both-values"])
def test_a_value_not_of_the_fields_type_answers_40058(emulator, fields, attr):
    assert_error(create(emulator, attr), 40058, "invalid Request Parameter")


@pytest.mark.parametrize("extattr", ["工号=A01", ["工号"], {"attrs": "工号"}, {"attrs": ["工号"]},
                                     {"attrs": [{"type": 0, "text": {"value": "A01"}}]},
                                     {"attrs": [{"type": 0, "name": 7, "text": {"value": "A01"}}]},
                                     {"attrs": [{"type": 0, "name": "工号", "text": "A01"}]},
                                     {"attrs": [{"type": 0, "name": "工号", "text": {"value": 1}}]},
                                     {"attrs": [{"type": 1, "name": "主页", "web": "https://example.com"}]}])
def test_a_malformed_extattr_answers_40058(emulator, fields, extattr):
    body = {"userid": "zhangsan", "name": "张三", "mobile": "13800000000", "extattr": extattr}
    assert_error(emulator.call("user/create", body), 40058, "invalid Request Parameter")


# ---- update ----------------------------------------------------------------------------------------------

@pytest.fixture
def zhangsan(emulator, fields) -> None:
    answer = create(emulator, text("工号", "A01"), web("主页", "https://example.com/zs", "主页"), text("工位", "3F"))
    assert answer["errcode"] == 0, answer


FULL = {"工号": text("工号", "A01"), "主页": web("主页", "https://example.com/zs", "主页"), "工位": text("工位", "3F")}


def test_an_update_sets_the_fields_it_names_and_keeps_the_others(emulator, zhangsan):
    assert update(emulator, text("工号", "B02")) == {"errcode": 0, "errmsg": "updated"}
    assert attrs_of(emulator) == shown(**{**FULL, "工号": text("工号", "B02")})


def test_an_update_with_an_empty_text_value_clears_that_field(emulator, zhangsan):
    update(emulator, text("工位", ""))
    assert attrs_of(emulator) == shown(工号=FULL["工号"], 主页=FULL["主页"])


def test_an_update_with_an_empty_url_and_title_clears_a_web_field(emulator, zhangsan):
    update(emulator, web("主页", "", ""))
    assert attrs_of(emulator) == shown(工号=FULL["工号"], 工位=FULL["工位"])


def test_an_update_without_extattr_keeps_every_value(emulator, zhangsan):
    assert emulator.call("user/update", {"userid": "zhangsan", "position": "经理"})["errcode"] == 0
    assert attrs_of(emulator) == shown(**FULL)


def test_an_update_with_an_empty_attrs_list_keeps_every_value(emulator, zhangsan):
    update(emulator)
    assert attrs_of(emulator) == shown(**FULL)


def test_a_refused_update_changes_no_field(emulator, zhangsan):
    answer = emulator.call("user/update", {"userid": "zhangsan", "position": "经理",
                                           "extattr": {"attrs": [text("工号", "B02"), text("工位", "位" * 65)]}})
    assert_error(answer, 40058, "invalid Request Parameter")
    member = emulator.call("user/get", userid="zhangsan")
    assert member["position"] == "" and member["extattr"]["attrs"] == shown(**FULL)


def test_an_update_of_an_undefined_field_is_ignored(emulator, zhangsan):
    assert update(emulator, text("部门编码", "X"))["errcode"] == 0
    assert attrs_of(emulator) == shown(**FULL)


# ---- persistence ---------------------------------------------------------------------------------------

def test_values_survive_a_restart_on_the_same_db(start_emulator, tmp_path):
    db = tmp_path / "sandbox.db"
    first = start_emulator(db=db, custom_fields=FIELDS)
    create(first, text("工号", "A01"), web("主页", "https://example.com/zs", "主页"))
    first.call("user/update", {"userid": "zhangsan", "extattr": {"attrs": [text("工位", "3F")]}})
    first.server.stop()
    second = start_emulator(db=db, custom_fields=FIELDS)
    assert attrs_of(second) == shown(**FULL)
