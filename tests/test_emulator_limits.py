"""Limits, faults and control endpoints (wecom-api.md Part A5 and the issue's /_emulator/ endpoints)."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from bulkdir.emulator.options import EmulatorOptions, default_faults
from test_emulator_members import assert_error


def simplelist(emulator, token: str) -> dict:
    return emulator.call("department/simplelist", token=token)


def in_parallel(count: int, call) -> list:
    """Runs `call()` in `count` threads released together; returns their results in order."""
    barrier = threading.Barrier(count)
    results: list = [None] * count

    def run(index: int) -> None:
        barrier.wait()
        results[index] = call()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results


# ---- rate limit ------------------------------------------------------------------------------------------

def test_call_over_the_rate_limit_answers_45009(emulator):
    token = emulator.token()
    emulator.faults(rate_limit=3, block_seconds=60)
    assert [simplelist(emulator, token)["errcode"] for _ in range(3)] == [0, 0, 0]
    assert_error(simplelist(emulator, token), 45009, "api freq out of limit")


def test_blocked_api_answers_45009_for_block_seconds_then_recovers(emulator):
    token = emulator.token()
    emulator.faults(rate_limit=2, block_seconds=1)
    [simplelist(emulator, token) for _ in range(3)]  # the third blocks the API
    assert simplelist(emulator, token)["errcode"] == 45009
    time.sleep(1.2)
    assert simplelist(emulator, token)["errcode"] == 0


def test_rate_limit_is_per_api(emulator):
    token = emulator.token()
    emulator.faults(rate_limit=1, block_seconds=60)
    simplelist(emulator, token)
    assert simplelist(emulator, token)["errcode"] == 45009
    assert emulator.call("user/simplelist", token=token, department_id=1)["errcode"] == 0


def test_rate_limit_from_startup_options(start_emulator):
    emulator = start_emulator(rate_limit=1, block_seconds=60)
    token = emulator.token()
    assert emulator.call("user/simplelist", token=token, department_id=1)["errcode"] == 0
    assert emulator.call("user/simplelist", token=token, department_id=1)["errcode"] == 45009



# ---- debug=1 (Part A7: 5 calls a minute per API) ---------------------------------------------------------

def test_sixth_debug_call_within_a_minute_answers_45009(emulator):
    token = emulator.token()
    codes = [emulator.call("department/simplelist", token=token, debug=1)["errcode"] for _ in range(5)]
    assert codes == [0] * 5
    assert_error(emulator.call("department/simplelist", token=token, debug=1), 45009, "api freq out of limit")


def test_calls_without_debug_are_not_limited_by_debug_calls(emulator):
    token = emulator.token()
    for _ in range(6):
        emulator.call("department/simplelist", token=token, debug=1)
    assert [simplelist(emulator, token)["errcode"] for _ in range(10)] == [0] * 10


def test_debug_calls_are_counted_per_api(emulator):
    token = emulator.token()
    for _ in range(6):
        emulator.call("department/simplelist", token=token, debug=1)
    assert emulator.call("user/simplelist", token=token, department_id=1, debug=1)["errcode"] == 0


def test_reset_lifts_the_debug_limit(emulator):
    token = emulator.token()
    for _ in range(6):
        emulator.call("department/simplelist", token=token, debug=1)
    emulator.reset()
    assert emulator.call("department/simplelist", token=emulator.token(), debug=1)["errcode"] == 0


def test_debug_limit_applies_to_gettoken_too(emulator):
    params = {"corpid": emulator.corp_id, "corpsecret": emulator.secret, "debug": "1"}
    codes = [requests.get(f"{emulator.url}/cgi-bin/gettoken", params=params).json()["errcode"] for _ in range(6)]
    assert codes == [0] * 5 + [45009]


def test_debug_other_than_1_is_not_limited(emulator):
    token = emulator.token()
    assert [emulator.call("department/simplelist", token=token, debug=0)["errcode"] for _ in range(6)] == [0] * 6

# ---- concurrency and latency -----------------------------------------------------------------------------

def test_more_calls_in_flight_than_max_concurrency_answer_45033(emulator):
    token = emulator.token()
    emulator.faults(max_concurrency=2, latency_ms=500)
    codes = in_parallel(5, lambda: simplelist(emulator, token)["errcode"])
    assert codes.count(45033) >= 1 and codes.count(0) >= 2
    assert set(codes) == {0, 45033}


def test_45033_has_the_platform_errmsg_shape(emulator):
    token = emulator.token()
    emulator.faults(max_concurrency=1, latency_ms=500)
    answers = in_parallel(3, lambda: simplelist(emulator, token))
    refused = [a for a in answers if a["errcode"] == 45033]
    assert refused
    assert_error(refused[0], 45033, "api concurrent out of limit")


def test_concurrency_limit_is_per_api(emulator):
    token = emulator.token()
    emulator.faults(max_concurrency=1, latency_ms=300)
    apis = ["department/simplelist", "user/simplelist"]
    results = []
    barrier = threading.Barrier(2)

    def run(api: str) -> None:
        barrier.wait()
        results.append(emulator.call(api, token=token, department_id=1)["errcode"])

    threads = [threading.Thread(target=run, args=(api,)) for api in apis]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert results == [0, 0]


def test_latency_delays_every_call_without_holding_up_the_others(emulator):
    token = emulator.token()
    emulator.faults(latency_ms=400)

    def timed() -> tuple[float, float, int]:
        started = time.monotonic()
        errcode = simplelist(emulator, token)["errcode"]
        return started, time.monotonic(), errcode

    spans = in_parallel(4, timed)
    assert all(errcode == 0 and end - start >= 0.4 for start, end, errcode in spans)
    # the calls waited side by side: every call began before any call ended
    assert max(start for start, _, _ in spans) < min(end for _, end, _ in spans)


# ---- faults --------------------------------------------------------------------------------------------

def test_fail_rate_answers_minus_1_and_changes_nothing(emulator):
    token = emulator.token()
    emulator.faults(fail_rate=1.0)
    answer = emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"}, token=token)
    assert_error(answer, -1, "system busy")
    emulator.faults(fail_rate=0.0)
    assert emulator.state()["members"] == []


def test_http_error_rate_answers_502_html_and_changes_nothing(emulator):
    token = emulator.token()
    emulator.faults(http_error_rate=1.0)
    response = emulator.http.post(f"{emulator.url}/cgi-bin/department/create", params={"access_token": token},
                                  json={"name": "研发中心", "parentid": 1})
    assert response.status_code == 502
    assert response.headers["Content-Type"].startswith("text/html")
    assert "502 Bad Gateway" in response.text
    assert len(emulator.state()["departments"]) == 1


def test_faults_with_a_seed_are_reproducible(emulator):
    token = emulator.token()

    def pattern() -> list[int]:
        emulator.faults(fail_rate=0.5, seed=42)
        return [simplelist(emulator, token)["errcode"] for _ in range(30)]

    first = pattern()
    assert first == pattern()
    assert set(first) == {0, -1}


def test_seed_from_startup_options_gives_the_same_run(start_emulator):
    runs = []
    for _ in range(2):
        emulator = start_emulator(fail_rate=0.3, http_error_rate=0.2, seed=7)
        token = None
        for _ in range(20):  # gettoken itself meets the faults too: ask until it answers
            answer = emulator.http.get(f"{emulator.url}/cgi-bin/gettoken",
                                       params={"corpid": emulator.corp_id, "corpsecret": emulator.secret})
            if answer.status_code == 200 and answer.json()["errcode"] == 0:
                token = answer.json()["access_token"]
                break
        statuses = []
        for _ in range(30):
            response = emulator.http.get(f"{emulator.url}/cgi-bin/department/simplelist",
                                         params={"access_token": token})
            statuses.append(response.status_code if response.status_code != 200 else response.json()["errcode"])
        runs.append(statuses)
    assert runs[0] == runs[1]
    assert set(runs[0]) == {0, -1, 502}


# ---- control endpoints ------------------------------------------------------------------------------------

def test_stats_count_calls_ok_and_errors_per_api(emulator):
    token = emulator.token()
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"}, token=token)
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"}, token=token)
    emulator.call("user/get", token=token, userid="ghost")
    assert emulator.stats() == {"calls": {"gettoken": 1, "user/create": 2, "user/get": 1},
                                "ok": {"gettoken": 1, "user/create": 1},
                                "errors": {"60102": 1, "60111": 1}}


def test_stats_count_calls_refused_by_limits_and_faults(emulator):
    token = emulator.token()
    emulator.faults(rate_limit=1, block_seconds=60)
    simplelist(emulator, token)
    simplelist(emulator, token)
    emulator.faults(rate_limit=None, http_error_rate=1.0)
    response = emulator.http.get(f"{emulator.url}/cgi-bin/department/simplelist", params={"access_token": token})
    assert response.status_code == 502
    stats = emulator.stats()
    assert stats["calls"]["department/simplelist"] == 3
    assert stats["ok"]["department/simplelist"] == 1
    assert stats["errors"] == {"45009": 1, "http-502": 1}


def test_reset_empties_the_directory_and_zeroes_the_counters(emulator):
    emulator.call("department/create", {"name": "研发中心", "parentid": 1})
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"})
    emulator.reset()
    state = emulator.state()
    assert [d["id"] for d in state["departments"]] == [1] and state["members"] == []
    assert emulator.stats() == {"calls": {}, "ok": {}, "errors": {}}
    assert emulator.call("department/create", {"name": "研发中心", "parentid": 1})["id"] == 2


def test_state_holds_every_department_and_member_with_every_field(emulator):
    emulator.call("department/create", {"name": "研发中心", "parentid": 1})
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000", "department": [2]})
    state = emulator.state()
    assert (state["corp_id"], state["corp_name"]) == ("wwsandbox", "示例企业")
    assert [d["name"] for d in state["departments"]] == ["示例企业", "研发中心"]
    assert state["members"][0] == {k: v for k, v in emulator.call("user/get", userid="zs").items()
                                   if k not in ("errcode", "errmsg")}


def test_faults_answer_every_setting_and_get_reads_them(emulator):
    settings = emulator.faults(fail_rate=0.25, rate_limit=600)
    assert settings["fail_rate"] == 0.25 and settings["rate_limit"] == 600
    assert requests.get(f"{emulator.url}/_emulator/faults").json() == settings
    assert "secret" not in settings and "app_secret" not in settings


@pytest.mark.parametrize("body", [{"fail_rate": 2}, {"no_such_setting": 1}, {"rate_limit": "many"},
                                  {"restrict_details": "yes"}])
def test_faults_refuse_unknown_settings_and_bad_values_with_400(emulator, body):
    response = requests.post(f"{emulator.url}/_emulator/faults", json=body)
    assert response.status_code == 400
    assert "error" in response.json()
    assert emulator.faults()["fail_rate"] == 0.0  # nothing changed



@pytest.mark.parametrize("body", [b'{"latency_ms": 1e308}', b'{"latency_ms": NaN}', b'{"latency_ms": Infinity}',
                                  b'{"latency_ms": -1}', b'{"latency_ms": 60001}', b'{"block_seconds": 86401}',
                                  b'{"block_seconds": -Infinity}', b'{"token_ttl": 10000001}',
                                  b'{"fail_rate": NaN}', b'{"rate_limit": 1.5}', b'{"rate_limit": 1000001}',
                                  b'{"max_concurrency": -1}', b'{"max_list_members": "10"}',
                                  b'{"max_list_members": 1e9}', b'{"hidden_from_lists": "dev"}',
                                  b'{"hidden_from_lists": [1]}', b'{"ignore_fetch_child": 1}'])
def test_faults_refuse_absurd_values_with_400_naming_the_setting(emulator, body):
    response = requests.post(f"{emulator.url}/_emulator/faults", data=body,
                             headers={"Content-Type": "application/json"})
    assert response.status_code == 400
    name = body.split(b'"')[1].decode()
    assert response.json()["error"].startswith(f"{name} must be "), response.json()
    assert emulator.faults() == default_faults()  # nothing changed


def test_faults_accept_the_largest_values(emulator):
    settings = emulator.faults(latency_ms=0, block_seconds=86400, token_ttl=10_000_000, rate_limit=1_000_000,
                               max_concurrency=100_000, max_list_members=10_000_000)
    assert (settings["block_seconds"], settings["token_ttl"]) == (86400, 10_000_000)
    assert (settings["rate_limit"], settings["max_list_members"]) == (1_000_000, 10_000_000)


def test_a_call_after_a_refused_latency_is_answered(emulator):
    requests.post(f"{emulator.url}/_emulator/faults", data=b'{"latency_ms": NaN}')
    assert simplelist(emulator, emulator.token())["errcode"] == 0


@pytest.mark.parametrize("option, value", [("latency_ms", float("inf")), ("latency_ms", float("nan")),
                                           ("latency_ms", 1e308), ("block_seconds", 86401), ("token_ttl", -1),
                                           ("rate_limit", 2.5), ("max_list_members", -3),
                                           ("hidden_from_lists", "dev"), ("ignore_fetch_child", "yes")])
def test_startup_options_out_of_bounds_raise_a_value_error_naming_the_option(option, value):
    with pytest.raises(ValueError, match=f"^{option} must be "):
        EmulatorOptions(**{option: value})

def test_expire_tokens_answers_how_many_tokens_expired(emulator):
    emulator.token()
    emulator.token(app=True)
    assert requests.post(f"{emulator.url}/_emulator/expire-tokens").json() == {"expired": 2}


def test_unknown_control_path_answers_404(emulator):
    assert requests.get(f"{emulator.url}/_emulator/nothing").status_code == 404


def test_unknown_api_answers_404(emulator):
    assert requests.get(f"{emulator.url}/cgi-bin/user/nothing").status_code == 404


def test_get_on_a_post_api_answers_40058(emulator):
    assert_error(emulator.call("user/create", userid="zs"), 40058, "invalid Request Parameter")


# ---- many clients at once ----------------------------------------------------------------------------------

def test_concurrent_creates_of_one_userid_succeed_exactly_once(emulator):
    token = emulator.token()

    def create(index: int) -> int:
        body = {"userid": "zhangsan", "name": "张三", "mobile": f"1380000{index:04d}"}
        return requests.post(f"{emulator.url}/cgi-bin/user/create", params={"access_token": token},
                             json=body).json()["errcode"]

    counter = iter(range(100))
    codes = in_parallel(8, lambda: create(next(counter)))
    assert sorted(codes) == [0] + [60102] * 7
    assert len(emulator.state()["members"]) == 1


def test_concurrent_creates_of_different_members_all_land(emulator):
    token = emulator.token()
    counter = iter(range(100))

    def create_many() -> list[int]:
        index = next(counter)
        with requests.Session() as http:
            return [http.post(f"{emulator.url}/cgi-bin/user/create", params={"access_token": token},
                              json={"userid": f"m{index}x{n}", "name": "成员", "email": f"m{index}x{n}@example.com"}
                              ).json()["errcode"] for n in range(25)]

    results = in_parallel(8, create_many)
    assert all(code == 0 for codes in results for code in codes)
    assert len(emulator.state()["members"]) == 200


def test_a_call_waiting_through_a_reset_changes_nothing_in_the_new_directory(emulator):
    token = emulator.token()
    emulator.faults(latency_ms=600)
    answers = []
    waiting = threading.Thread(target=lambda: answers.append(emulator.call(
        "user/create", {"userid": "late", "name": "迟到", "mobile": "13800000000"}, token=token)))
    waiting.start()
    time.sleep(0.2)
    emulator.reset()
    waiting.join()
    assert answers[0]["errcode"] == -1
    assert emulator.state()["members"] == []
    assert emulator.stats() == {"calls": {}, "ok": {}, "errors": {}}
