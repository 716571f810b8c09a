"""The emulator against bad input: after each test it must still answer and must not have printed
a traceback. Bad input is answered with an errcode, never a crash.
"""

from __future__ import annotations

import json

import pytest
import requests

from test_emulator_members import assert_error


@pytest.fixture(autouse=True)
def no_traceback(capfd):
    """Every test here ends with the emulator printing no traceback on stderr."""
    yield
    err = capfd.readouterr().err
    assert "Traceback" not in err, err


# ---- bodies the JSON reader must refuse, not crash on ----------------------------------------------------

def post_raw(emulator, api: str, data: bytes) -> requests.Response:
    return requests.post(f"{emulator.url}/cgi-bin/{api}", params={"access_token": emulator.token()}, data=data,
                         headers={"Content-Type": "application/json"}, timeout=10)


def member_with_extattr_nested(depth: int) -> bytes:
    return (b'{"userid": "zs", "name": "zs", "mobile": "13800000000", "extattr": '
            + b'{"a": ' * depth + b"1" + b"}" * (depth + 1))


@pytest.mark.parametrize("data", [b"[" * 100_000, b'{"a":' * 100_000, member_with_extattr_nested(900),
                                  member_with_extattr_nested(40)],
                         ids=["list-100000", "object-100000", "extattr-900", "extattr-40"])
def test_json_nested_too_deep_answers_40058(emulator, data):
    response = post_raw(emulator, "user/create", data)
    assert response.status_code == 200
    assert_error(response.json(), 40058, "Warning: wrong json format")
    assert emulator.state()["members"] == []


def test_json_nested_as_deep_as_a_real_body_is_accepted(emulator):
    extattr = {"attrs": [{"type": 1, "name": "主页", "web": {"url": "https://example.com", "title": "主页"}}]}
    body = {"userid": "zs", "name": "张三", "mobile": "13800000000", "extattr": extattr}
    assert post_raw(emulator, "user/create", json.dumps(body).encode()).json()["errcode"] == 0


@pytest.mark.parametrize("data", ['{"userid": "zs", "name": "张三"}'.encode("gbk"), b"\xff\xfe{}",
                                  b'{"userid": "zs", "name": "\xe5\xbc"}'])
def test_a_body_that_is_not_utf8_answers_40058(emulator, data):
    assert_error(post_raw(emulator, "user/create", data).json(), 40058, "Warning: wrong json format")


@pytest.mark.parametrize("name", ["\\ud800", "\\udfff", "a\\ud83d"])
def test_a_lone_surrogate_answers_40058_and_is_not_stored(emulator, name):
    data = b'{"userid": "zs", "name": "%s", "mobile": "13800000000"}' % name.encode()
    assert_error(post_raw(emulator, "user/create", data).json(), 40058, "Warning: wrong json format")
    assert emulator.call("user/get", userid="zs")["errcode"] == 60111


def test_an_escaped_surrogate_pair_is_one_character(emulator):
    data = b'{"userid": "zs", "name": "\\ud83d\\ude00", "mobile": "13800000000"}'
    assert post_raw(emulator, "user/create", data).json()["errcode"] == 0
    assert emulator.call("user/get", userid="zs")["name"] == "😀"


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_a_number_json_cannot_hold_answers_40058_and_is_not_stored(emulator, number):
    data = b'{"userid": "zs", "name": "zs", "mobile": "13800000000", "extattr": {"n": %s}}' % number
    assert_error(post_raw(emulator, "user/create", data).json(), 40058, "Warning: wrong json format")
    assert emulator.state()["members"] == []


def test_faults_body_nested_too_deep_answers_400(emulator):
    response = requests.post(f"{emulator.url}/_emulator/faults", data=b"[" * 100_000, timeout=10)
    assert response.status_code == 400 and "error" in response.json()


# ---- parameters that used to crash a handler ------------------------------------------------------------

def test_a_non_ascii_secret_answers_40001(emulator):
    answer = requests.get(f"{emulator.url}/cgi-bin/gettoken", timeout=10,
                          params={"corpid": emulator.corp_id, "corpsecret": "密钥"}).json()
    assert_error(answer, 40001, "invalid credential")


@pytest.mark.parametrize("api, params", [("department/get", {"id": "1" * 5000}),
                                         ("user/list", {"department_id": "9" * 5000}),
                                         ("department/delete", {"id": "2" * 19})])
def test_an_integer_of_thousands_of_digits_answers_40058(emulator, api, params):
    assert_error(emulator.call(api, **params), 40058, "invalid Request Parameter")


@pytest.mark.parametrize("cursor", [5, ["a"], {"a": 1}, True])
def test_list_id_cursor_that_is_not_a_string_answers_40058(emulator, cursor):
    answer = emulator.call("user/list_id", {"cursor": cursor, "limit": 10})
    assert_error(answer, 40058, "invalid Request Parameter")


# ---- docstring examples ------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["bulkdir.emulator.models", "bulkdir.emulator.responses",
                                    "bulkdir.emulator.server"])
def test_emulator_docstring_examples_hold(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert failures == 0 and tried > 0
