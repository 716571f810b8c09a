"""The emulator's server against hostile or broken clients, and HEAD (wecom-api.md Part A7).

Raw sockets where a client library would not send such bytes. After each test, the emulator must
still answer and must not have printed a traceback: bad input is answered, never a crash.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest
import requests

from bulkdir.emulator.server import MAX_BODY, MAX_CONNECTIONS
from test_emulator_members import assert_error


@pytest.fixture(autouse=True)
def no_traceback(capfd):
    """Every test here ends with the emulator printing no traceback on stderr."""
    yield
    err = capfd.readouterr().err
    assert "Traceback" not in err, err


def connect(emulator, timeout: float = 10) -> socket.socket:
    host, port = emulator.url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=timeout)


def read_answer(reader, head: bool = False) -> tuple[int, dict[str, str], bytes]:
    """One HTTP answer from a socket's reader: status, headers (lower-cased names), body."""
    status_line = reader.readline()
    assert status_line.startswith(b"HTTP/1.1 "), status_line
    headers = {}
    while (line := reader.readline()) not in (b"\r\n", b""):
        name, _, value = line.decode("latin-1").partition(":")
        headers[name.strip().lower()] = value.strip()
    body = b"" if head else reader.read(int(headers.get("content-length", 0)))
    return int(status_line.split()[1]), headers, body


def exchange(emulator, data: bytes) -> tuple[int, dict[str, str], bytes, bytes]:
    """Sends raw bytes on a fresh connection; the answer, and whatever follows it until the server closes."""
    with connect(emulator) as sock:
        sock.sendall(data)
        reader = sock.makefile("rb")
        status, headers, body = read_answer(reader)
        return status, headers, body, reader.read()


def still_serving(emulator) -> bool:
    return requests.get(f"{emulator.url}/cgi-bin/gettoken", timeout=10, params={
        "corpid": emulator.corp_id, "corpsecret": emulator.secret}).json()["errcode"] == 0


# ---- malformed HTTP --------------------------------------------------------------------------------------

@pytest.mark.parametrize("data", [b"GARBAGE\r\n\r\n", b"GET /cgi-bin/gettoken\r\n\r\n",
                                  b"GET / HTTP/1.1 extra\r\n\r\n",
                                  b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\n",
                                  b"GET / NOTHTTP\r\n\r\n", b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\n\r\n"],
                         ids=["one-word", "no-version", "four-words", "tls-hello", "bad-version", "too-long"])
def test_a_garbage_request_line_answers_400_and_closes(emulator, data):
    status, headers, _, rest = exchange(emulator, data)
    assert (status, headers["connection"], rest) == (400, "close", b"")
    assert still_serving(emulator)


@pytest.mark.parametrize("header", [b"no colon here", b": no name", b"X-Long: " + b"a" * 70000],
                         ids=["no-colon", "no-name", "too-long"])
def test_a_bad_header_line_answers_400_and_closes(emulator, header):
    status, headers, body, rest = exchange(emulator, b"GET /_emulator/faults HTTP/1.1\r\n" + header + b"\r\n\r\n")
    assert (status, headers["connection"], rest) == (400, "close", b"")
    assert "header" in json.loads(body)["error"]
    assert still_serving(emulator)


def test_a_body_larger_than_max_body_answers_413_unread_and_closes(emulator):
    head = b"POST /cgi-bin/user/create HTTP/1.1\r\nContent-Length: 100000000000\r\n\r\n"  # 100 GB, not sent
    status, headers, body, rest = exchange(emulator, head)
    assert (status, headers["connection"], rest) == (413, "close", b"")
    assert str(MAX_BODY) in json.loads(body)["error"]
    assert still_serving(emulator)


def test_an_oversized_body_with_expect_100_continue_answers_413_without_continue(emulator):
    head = (b"POST /cgi-bin/user/create HTTP/1.1\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n"
            % (MAX_BODY + 1))
    status, _, _, _ = exchange(emulator, head)
    assert status == 413


def test_chunked_bodies_are_capped_in_total(emulator):
    chunk = b"%x\r\n" % (16 * 1024 * 1024) + b"x" * (16 * 1024 * 1024) + b"\r\n"
    with connect(emulator, timeout=30) as sock:
        sock.sendall(b"POST /cgi-bin/user/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n" + chunk + chunk)
        sock.sendall(b"1\r\nx\r\n")  # over MAX_BODY: refused without waiting for the end
        status, headers, _ = read_answer(sock.makefile("rb"))
    assert (status, headers["connection"]) == (413, "close")
    assert still_serving(emulator)


def test_a_chunked_body_under_the_cap_is_read(emulator):
    token = emulator.token()
    body = json.dumps({"name": "研发中心", "parentid": 1}).encode()
    chunked = b"%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
    status, _, answer, _ = exchange(emulator, b"POST /cgi-bin/department/create?access_token=%s HTTP/1.1\r\n"
                                              b"Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n%s"
                                    % (token.encode(), chunked))
    assert status == 200 and json.loads(answer)["errcode"] == 0


@pytest.mark.parametrize("size", [b"-5", b"zz", b"", b"1" * 20])
def test_a_malformed_chunk_size_answers_400(emulator, size):
    head = b"POST /cgi-bin/user/create HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    status, _, _, _ = exchange(emulator, head + size + b"\r\n")
    assert status == 400
    assert still_serving(emulator)


@pytest.mark.parametrize("length", [b"-5", b"abc", b"1_0", b"\xd9\xa3", b"0x10"])
def test_a_negative_or_non_numeric_content_length_answers_400_and_closes(emulator, length):
    # The bytes after the headers would be read as a next request if the length were taken as 0.
    data = (b"POST /_emulator/faults HTTP/1.1\r\nContent-Length: " + length + b"\r\n\r\n"
            b"GET /_emulator/faults HTTP/1.1\r\n\r\n")
    status, headers, _, rest = exchange(emulator, data)
    assert (status, headers["connection"], rest) == (400, "close", b"")
    assert still_serving(emulator)


def test_a_connection_closed_in_the_body_is_not_answered(emulator):
    with connect(emulator) as sock:
        sock.sendall(b"POST /_emulator/reset HTTP/1.1\r\nContent-Length: 100\r\n\r\n{}")
        sock.shutdown(socket.SHUT_WR)
        assert sock.makefile("rb").read() == b""
    assert still_serving(emulator)


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


# ---- HEAD -------------------------------------------------------------------------------------------------

def test_head_then_get_on_one_connection_both_read_correctly(emulator):
    target = f"/cgi-bin/department/get?access_token={emulator.token()}&id=1".encode()
    with connect(emulator) as sock:
        reader = sock.makefile("rb")
        sock.sendall(b"HEAD %s HTTP/1.1\r\nHost: x\r\n\r\n" % target)
        head_status, head_headers, _ = read_answer(reader, head=True)
        sock.sendall(b"GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % target)
        status, headers, body = read_answer(reader)
    assert (head_status, status) == (200, 200)
    assert head_headers["connection"] == "keep-alive"
    assert head_headers["content-length"] == headers["content-length"] == str(len(body))
    assert json.loads(body)["department"]["id"] == 1  # the GET's answer, not a HEAD body read as it


def test_head_on_a_control_get_answers_its_headers(emulator):
    response = requests.head(f"{emulator.url}/_emulator/faults", timeout=10)
    get = requests.get(f"{emulator.url}/_emulator/faults", timeout=10)
    assert response.status_code == 200 and response.content == b""
    assert response.headers["Content-Length"] == get.headers["Content-Length"]


@pytest.mark.parametrize("api", ["user/delete", "department/delete"])
def test_head_on_a_get_write_changes_nothing(emulator, api):
    emulator.call("department/create", {"name": "研发中心", "parentid": 1, "id": 2})
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000"})
    response = requests.head(f"{emulator.url}/cgi-bin/{api}", timeout=10,
                             params={"access_token": emulator.token(), "userid": "zs", "id": 2})
    assert response.status_code == 200 and int(response.headers["Content-Length"]) > 0
    state = emulator.state()
    assert [m["userid"] for m in state["members"]] == ["zs"] and len(state["departments"]) == 2
    assert emulator.stats()["errors"] == {"40058": 1}  # answered the headers of a refusal


def test_head_on_a_post_write_changes_nothing(emulator):
    response = requests.head(f"{emulator.url}/cgi-bin/department/create", timeout=10,
                             params={"access_token": emulator.token(), "name": "研发中心", "parentid": 1})
    assert response.status_code == 200
    assert len(emulator.state()["departments"]) == 1


def test_head_on_gettoken_issues_no_token(emulator):
    requests.head(f"{emulator.url}/cgi-bin/gettoken", timeout=10,
                  params={"corpid": emulator.corp_id, "corpsecret": emulator.secret})
    assert requests.post(f"{emulator.url}/_emulator/expire-tokens", timeout=10).json() == {"expired": 0}


def test_head_on_a_control_post_changes_nothing(emulator):
    emulator.call("department/create", {"name": "研发中心", "parentid": 1})
    assert requests.head(f"{emulator.url}/_emulator/reset", timeout=10).status_code == 404
    assert len(emulator.state()["departments"]) == 2


# ---- many connections --------------------------------------------------------------------------------------

def test_thousands_of_idle_connections_do_not_lock_out_a_new_client(start_emulator):
    emulator = start_emulator()
    threads_before = threading.active_count()
    idle = [connect(emulator) for _ in range(2000)]
    try:
        # A requests call and a call on a fresh raw socket are still answered.
        assert still_serving(emulator)
        status, _, body, _ = exchange(emulator, b"GET /_emulator/faults HTTP/1.1\r\nConnection: close\r\n\r\n")
        assert status == 200 and "latency_ms" in json.loads(body)
        counts = emulator.server.connection_counts()
        assert counts["open"] <= MAX_CONNECTIONS
        deadline = time.monotonic() + 10  # threads of closed connections end soon after
        while threading.active_count() - threads_before > MAX_CONNECTIONS and time.monotonic() < deadline:
            time.sleep(0.05)
        assert threading.active_count() - threads_before <= MAX_CONNECTIONS
    finally:
        for sock in idle:
            sock.close()


def test_the_longest_idle_connection_is_closed_first_to_make_room(start_emulator):
    emulator = start_emulator()
    oldest = connect(emulator)
    others = [connect(emulator) for _ in range(MAX_CONNECTIONS)]  # the last one pushes the oldest out
    try:
        assert oldest.makefile("rb").read() == b""  # closed by the server, nothing answered
        newest = others[-1]
        newest.sendall(b"GET /_emulator/faults HTTP/1.1\r\n\r\n")
        assert read_answer(newest.makefile("rb"))[0] == 200
    finally:
        for sock in [oldest, *others]:
            sock.close()


def test_a_new_connection_answers_503_when_every_connection_is_busy(start_emulator):
    emulator = start_emulator(latency_ms=2000)
    busy = [connect(emulator, timeout=30) for _ in range(MAX_CONNECTIONS)]
    try:
        for sock in busy:
            sock.sendall(b"GET /cgi-bin/gettoken HTTP/1.1\r\n\r\n")  # each waits latency_ms
        deadline = time.monotonic() + 10
        while emulator.server.connection_counts() != {"open": MAX_CONNECTIONS, "idle": 0}:
            assert time.monotonic() < deadline, emulator.server.connection_counts()
            time.sleep(0.02)
        with connect(emulator) as extra:
            reader = extra.makefile("rb")
            status, headers, _ = read_answer(reader)
            assert (status, headers["connection"], reader.read()) == (503, "close", b"")
        for sock in busy:  # the busy ones are answered in full
            assert read_answer(sock.makefile("rb"))[0] == 200
    finally:
        for sock in busy:
            sock.close()


# ---- docstring examples ------------------------------------------------------------------------------------

@pytest.mark.parametrize("module", ["bulkdir.emulator.models", "bulkdir.emulator.gate", "bulkdir.emulator.options",
                                    "bulkdir.emulator.responses", "bulkdir.emulator.server"])
def test_emulator_docstring_examples_hold(module):
    import doctest
    import importlib

    failures, tried = doctest.testmod(importlib.import_module(module))
    assert failures == 0 and tried > 0
