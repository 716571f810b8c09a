"""Errors: typed, with the errcode, errmsg, API and a hint in both languages; the catalogue is complete."""

from __future__ import annotations

import pickle

import pytest

from bulkdir.config import Settings
from bulkdir.wecom import codes
from bulkdir.wecom.client import WeComClient, WeComError

# Every code of shared/wecom-api.md Part A and Part B §8.
DOCUMENTED_CODES = [
    -1, 6000, 40001, 40003, 40013, 40091, 40014, 42001, 41001, 41002, 41004, 40031, 40032, 40058, 40066,
    40088, 40089, 40092, 41019, 60127, 45009, 45033, 45024, 45026, 45029, 45031, 46004, 48002, 48009,
    60001, 60009, 60125, 60003, 60123, 60004, 60124, 60005, 60006, 60007, 60008, 60010, 60011, 60020,
    60021, 60102, 60103, 60104, 60105, 60106, 60110, 60111, 60112, 60129, 60132, 60141, 60142, 60143,
    60144, 60145, 60257, 81001, 81002, 301002, 301005, 301012, 301013, 301015, 301036,
]


def client_for(emulator, **changes) -> WeComClient:
    settings = dict(corp_id=emulator.corp_id, secret=emulator.secret, app_secret=emulator.app_secret,
                    base_url=emulator.url, rate=600_000, workers=4, timeout=5)
    settings.update(changes)
    return WeComClient(Settings(**settings), backoff=0.01)


@pytest.mark.parametrize("errcode", DOCUMENTED_CODES)
def test_every_documented_code_has_hints_in_english_and_chinese(errcode: int) -> None:
    hint = codes.hint_for(errcode)
    en, zh = hint, hint.zh
    assert errcode in codes.CODES
    assert en and not en.startswith("WeCom error")
    assert any("\u4e00" <= ch <= "\u9fff" for ch in zh)


def test_an_unknown_code_points_at_the_platform_lookup() -> None:
    hint = codes.hint_for(99999)
    en, zh = hint, hint.zh
    assert "e=99999" in en and "e=99999" in zh


def test_60020_names_the_egress_ip_and_trusted_ip_setting() -> None:
    errmsg = ("not allow to access from your ip, hint: [1700000000_1_abc], from ip: 203.0.113.7, "
              "more info at https://open.work.weixin.qq.com/devtool/query?e=60020")
    error = WeComError(60020, errmsg, "user/get")
    assert "203.0.113.7" in error.hint and "企业可信IP" in error.hint
    assert "203.0.113.7" in error.hint.zh
    assert str(error).startswith("user/get: WeCom error 60020 (not allow to access from your ip). ")
    assert error.exit_status == 2


def test_48009_says_to_set_an_app_secret() -> None:
    hint = codes.hint_for(48009)
    en, zh = hint, hint.zh
    assert "--app-secret" in en and "BULKDIR_APP_SECRET" in en and "自建应用" in zh


def test_a_write_with_the_app_secret_says_writes_need_the_contacts_sync_secret(emulator) -> None:
    with client_for(emulator, secret=emulator.app_secret) as client:
        with pytest.raises(WeComError) as caught:
            client.department_create({"name": "研发", "parentid": 1})
    error = caught.value
    assert (error.errcode, error.api) == (48002, "department/create")
    assert "contacts-sync" in error.hint and "通讯录同步" in error.hint.zh


def test_60104_names_the_member_who_has_the_mobile(emulator) -> None:
    with client_for(emulator) as client:
        client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001"})
        with pytest.raises(WeComError) as caught:
            client.user_create({"userid": "lisi", "name": "李四", "mobile": "13800000001"})
    assert caught.value.errcode == 60104
    assert "zhangsan" in caught.value.hint and "zhangsan" in caught.value.hint.zh
    assert codes.existing_member(caught.value.errmsg) == "zhangsan"
    assert emulator.stats()["calls"]["user/create"] == 2  # not retried


def test_errors_survive_pickling_with_every_field(emulator) -> None:
    error = WeComError(60102, "userid existed", "user/create", attempts=2, answer_lost=True)
    copy = pickle.loads(pickle.dumps(error))
    assert (copy.errcode, copy.errmsg, copy.api, copy.hint, copy.attempts, copy.answer_lost) == (
        60102, "userid existed", "user/create", error.hint, 2, True)


def test_one_method_per_api(emulator) -> None:
    with client_for(emulator) as client:
        research = client.department_create({"name": "研发中心", "parentid": 1})
        assert isinstance(research, int) and research > 1
        client.department_update({"id": research, "name": "研发部"})
        assert client.department_get(research)["name"] == "研发部"
        assert {d["id"] for d in client.department_list()} == {1, research}
        assert {d["id"] for d in client.department_simplelist(research)} == {research}
        client.user_create({"userid": "ZhangSan", "name": "张三", "mobile": "13800000001",
                            "department": [research]})
        client.user_update({"userid": "zhangsan", "position": "工程师"})
        member = client.user_get("ZHANGSAN")
        assert (member["userid"], member["position"]) == ("ZhangSan", "工程师")
        assert "errcode" not in member
        assert [m["userid"] for m in client.user_simplelist(1, fetch_child=True)] == ["ZhangSan"]
        assert client.user_simplelist(1) == []
        assert [m["name"] for m in client.user_list(research)] == ["张三"]
        client.user_create({"userid": "lisi", "name": "李四", "email": "lisi@example.com"})
        client.user_batchdelete(["lisi"])
        client.user_delete("zhangsan")
        client.department_delete(research)
        assert emulator.state()["members"] == []
        assert [d["id"] for d in emulator.state()["departments"]] == [1]


def test_user_list_id_walks_every_page(emulator) -> None:
    with client_for(emulator) as client:
        second = client.department_create({"name": "二部", "parentid": 1})
        for n in range(25):
            client.user_create({"userid": f"m{n:02d}", "name": f"成员{n}", "email": f"m{n}@example.com",
                                "department": [1, second] if n < 5 else [1]})
        rows = list(client.user_list_id(limit=10))
    assert len(rows) == 30  # one row per (member, department)
    assert {row["userid"] for row in rows} == {f"m{n:02d}" for n in range(25)}
    assert emulator.stats()["calls"]["user/list_id"] == 3


def test_48009_reads_switch_to_the_app_secret(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True)
    with client_for(emulator) as client:
        client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001"})
        assert client.user_get("zhangsan")["name"] == "张三"
        assert client.details_via_app
        assert client.department_get(1)["id"] == 1
        with pytest.raises(WeComError) as caught:  # naming the secret gets that secret's answer
            client.department_get(1, secret="sync")
        assert caught.value.errcode == 48009
    assert emulator.stats()["errors"]["48009"] == 2  # once to learn, once asked for


def test_48009_without_an_app_secret_says_to_set_one(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True)
    with client_for(emulator, app_secret=None) as client:
        with pytest.raises(WeComError) as caught:
            client.user_list(1)
    assert caught.value.errcode == 48009 and "--app-secret" in str(caught.value)


def test_a_configured_proxy_is_still_honoured(emulator, monkeypatch) -> None:
    """The session reads the proxy settings once (not on every call), but reads them: a proxy that does not
    answer is used, and NO_PROXY still exempts a host."""
    import socket

    from bulkdir.config import Settings
    from bulkdir.errors import WeComNetworkError
    from bulkdir.wecom.client import WeComClient

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{closed.getsockname()[1]}"
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, timeout=2)
    for name in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead)
    with WeComClient(settings, max_attempts=1) as client:
        with pytest.raises(WeComNetworkError):
            client.gettoken()
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with WeComClient(settings, max_attempts=1) as client:
        assert client.gettoken()
