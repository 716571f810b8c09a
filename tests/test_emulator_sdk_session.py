"""A whole session made with plain `requests` calls, shaped as third-party SDKs (wechatpy, WxJava) send them:
GET with a query string, POST with a JSON body and the token in the query string, legacy fields included."""

from __future__ import annotations

import json
from urllib.parse import parse_qsl, quote, quote_plus

import requests
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdir.emulator.server import _query


def test_a_third_party_sdk_session(emulator):
    base = f"{emulator.url}/cgi-bin"
    http = requests.Session()

    answer = http.get(f"{base}/gettoken?corpid={emulator.corp_id}&corpsecret={emulator.secret}").json()
    assert answer["errcode"] == 0
    token = answer["access_token"]

    def post(api: str, body: dict) -> dict:
        # wechatpy serialises the body itself and sends it as UTF-8 bytes
        data = json.dumps(body, ensure_ascii=False).encode("utf-8")
        return http.post(f"{base}/{api}", params={"access_token": token}, data=data,
                         headers={"Content-Type": "application/json"}).json()

    def get(api: str, **params) -> dict:
        return http.get(f"{base}/{api}", params={"access_token": token, **params}).json()

    department = post("department/create", {"name": "研发中心", "parentid": 1, "order": 1})
    assert department["errcode"] == 0 and department["errmsg"] == "created"
    rd = department["id"]

    # legacy fields: tel and weixinid, an int gender, an int enable, to_invite, status
    created = post("user/create", {"userid": "zhangsan", "name": "张三", "department": [rd], "position": "工程师",
                                   "mobile": "13800000000", "tel": "020-1234", "weixinid": "zs_wx", "gender": 1,
                                   "email": "zhangsan@example.com", "enable": 1, "to_invite": False, "status": 1})
    assert created == {"errcode": 0, "errmsg": "created"}

    member = get("user/get", userid="zhangsan")
    assert (member["name"], member["gender"], member["department"], member["telephone"]) == ("张三", "1", [rd], "")
    assert "tel" not in member and "weixinid" not in member

    assert post("user/update", {"userid": "zhangsan", "position": "经理", "gender": "2"})["errmsg"] == "updated"
    assert get("user/get", userid="zhangsan")["gender"] == "2"

    # wechatpy still sends the legacy `status` parameter with the lists
    simple = get("user/simplelist", department_id=rd, fetch_child=0, status=0)
    assert [m["userid"] for m in simple["userlist"]] == ["zhangsan"]
    detailed = get("user/list", department_id=1, fetch_child=1, status=0)
    assert [m["position"] for m in detailed["userlist"]] == ["经理"]

    ids = post("user/list_id", {"cursor": "", "limit": 10000})
    assert ids["dept_user"] == [{"userid": "zhangsan", "department": rd}]

    assert get("department/list")["department"][1]["name"] == "研发中心"
    assert get("department/simplelist", id=rd)["department_id"] == [{"id": rd, "parentid": 1, "order": 1}]
    assert post("department/update", {"id": rd, "name": "研发部"})["errmsg"] == "updated"
    assert get("department/get", id=rd)["department"]["name"] == "研发部"

    assert get("user/delete", userid="zhangsan") == {"errcode": 0, "errmsg": "deleted"}
    assert post("user/batchdelete", {"useridlist": ["zhangsan"]})["errcode"] == 40031
    assert get("department/delete", id=rd) == {"errcode": 0, "errmsg": "deleted"}


def test_http_1_0_and_connection_close_clients_are_answered(emulator):
    response = requests.get(f"{emulator.url}/cgi-bin/gettoken", headers={"Connection": "close"},
                            params={"corpid": emulator.corp_id, "corpsecret": emulator.secret})
    assert response.json()["errcode"] == 0
    assert response.headers["Connection"] == "close"


def test_chunked_request_body_is_read(emulator):
    token = emulator.token()
    body = iter([b'{"name": "\xe7\xa0\x94\xe5\x8f\x91", ', b'"parentid": 1}'])  # requests sends a generator chunked
    answer = requests.post(f"{emulator.url}/cgi-bin/department/create", params={"access_token": token},
                           data=body).json()
    assert answer["errcode"] == 0 and emulator.call("department/get", id=answer["id"])["department"]["name"] == "研发"


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(max_size=8), st.text(max_size=12)), max_size=6),
       st.sampled_from([quote, quote_plus]))
def test_query_strings_read_as_parse_qsl_reads_them(pairs, quoting):
    # The server reads the query string itself (parse_qsl is a third of the cost of a user/get).
    query = "&".join(f"{quoting(name)}={quoting(value)}" for name, value in pairs)
    expected: dict[str, str] = {}
    for name, value in parse_qsl(query, keep_blank_values=True):
        expected.setdefault(name, value)
    assert _query(query) == expected


def test_a_userid_with_reserved_characters_travels_in_the_query_string(emulator):
    emulator.call("user/create", {"userid": "a.b@c-d", "name": "张 三+", "mobile": "13800000000"})
    assert emulator.call("user/get", userid="A.B@C-D")["name"] == "张 三+"
    answer = requests.get(f"{emulator.url}/cgi-bin/user/get?access_token={emulator.token()}&userid=a.b%40c-d").json()
    assert answer["userid"] == "a.b@c-d"
