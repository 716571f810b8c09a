"""The streamed reading of a long JSON answer gives exactly what json.loads gives, however it is cut."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bulkdir.wecom.streamed import load_object

scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text()
values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner,
                                                                                               max_size=4),
                      max_leaves=20)


def cut(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(len(data), c) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in zip(points, points[1:])]


@settings(max_examples=300, deadline=None)
@given(answer=st.dictionaries(st.text(), values, max_size=5),
       members=st.lists(st.dictionaries(st.text(), values, max_size=5) | values, max_size=6),
       cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=12),
       indent=st.sampled_from([None, 1]), ascii_only=st.booleans(), list_first=st.booleans())
def test_same_as_json_loads_however_the_answer_is_cut(answer, members, cuts, indent, ascii_only, list_first):
    whole = {"userlist": members, **answer} if list_first else {**answer, "userlist": members}
    data = json.dumps(whole, indent=indent, ensure_ascii=ascii_only).encode()
    assert load_object(cut(data, cuts), "userlist", lambda member: member) == json.loads(data)


def test_each_object_of_the_list_passes_through_each_and_a_byte_order_mark_is_taken_off():
    data = "\ufeff".encode() + json.dumps({"errcode": 0, "userlist": [{"userid": "张三", "qr_code": "q"}, 7]},
                                          ensure_ascii=False).encode()
    chunks = [data[i:i + 1] for i in range(len(data))]  # one byte at a time: characters cut in the middle
    trimmed = load_object(chunks, "userlist", lambda member: {k: v for k, v in member.items() if k != "qr_code"})
    assert trimmed == {"errcode": 0, "userlist": [{"userid": "张三"}, 7]}


@pytest.mark.parametrize("data", [b'{"a": 1.5, "userlist": [2.25e-3, 7E+2, -0.5]}', b'{"userlist": [1e5], "b": 3.0}'])
def test_a_chunk_cut_inside_a_number_after_its_point_or_exponent(data):
    # "1." or "1e" at the end of a chunk parse as 1 on their own: the rest of the number is read first
    for point in range(1, len(data)):
        assert load_object(cut(data, [point]), "userlist", lambda member: member) == json.loads(data), point


@pytest.mark.parametrize("data", [b"", b"{", b'{"userlist": [1, 2', b'{"a": 1} x', b'{"a" 1}', b"[1]",
                                  b'{"userlist": [1 2]}', b'{"a": tru', b'{"a": "\xff"}', b'{1: 2}'])
def test_malformed_answers_raise_value_error(data):  # as json.loads does, and an answer that is not an object
    with pytest.raises(ValueError):
        load_object(cut(data, [3, 7]), "userlist", lambda member: member)


# ---- the client reading user/list as it arrives --------------------------------------------------


def test_the_snapshot_reads_every_member_streamed_without_the_fields_nobody_uses(emulator):
    from bulkdir.config import Settings
    from bulkdir.wecom.client import WeComClient
    from bulkdir.wecom.directory import UNUSED_FIELDS, fetch_directory

    emulator.faults(custom_fields=["工号", "入职日期"])
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600_000)
    with WeComClient(settings) as client:
        for n in range(30):
            attrs = [{"type": 0, "name": "工号", "text": {"value": f"E{n:03d}"}}] if n % 2 else []
            client.user_create({"userid": f"Member{n}", "name": f"成员{n}", "mobile": f"139{n:08d}",
                                "department": [1], "position": "=工程师", "extattr": {"attrs": attrs}})
        whole = client.user_list(1, fetch_child=True)
        directory = fetch_directory(client)
    assert set(UNUSED_FIELDS) & set(whole[0]) == {"avatar", "thumb_avatar", "qr_code", "open_userid",
                                                  "external_profile"}  # the emulator answers them ...
    members = directory.members
    assert sorted(members) == sorted(f"member{n}" for n in range(30))
    for member in whole:  # ... the snapshot keeps every other field as it came
        kept = members[member["userid"].lower()]
        assert kept == {k: v for k, v in member.items() if k not in UNUSED_FIELDS}
    assert members["member1"]["extattr"]["attrs"][0]["text"] == {"value": "E001"}
    # one string per key for every member, as json.loads of the whole answer would have them
    first, second = members["member1"], members["member3"]
    assert all(a is b for a, b in zip(first, second))
    attrs = first["extattr"]["attrs"][0], second["extattr"]["attrs"][0]
    assert all(a is b for a, b in zip(*attrs)) and all(a is b for a, b in zip(attrs[0]["text"], attrs[1]["text"]))


class _CutOnce:
    """A platform whose first user/list answer is cut off halfway: Content-Length says more than comes."""

    def __init__(self, body: bytes) -> None:
        import http.server

        self.lists = 0
        owner = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (the http.server API)
                if "gettoken" in self.path:
                    data = json.dumps({"errcode": 0, "access_token": "t", "expires_in": 7200}).encode()
                else:
                    owner.lists += 1
                    data = body
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if owner.lists == 1 and data is body:
                    self.wfile.write(data[: len(data) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> "_CutOnce":
        import threading

        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_an_answer_cut_off_while_it_is_read_is_read_again(tmp_path):
    from bulkdir.config import Settings
    from bulkdir.wecom.client import WeComClient

    userlist = [{"userid": f"m{n}", "name": f"成员{n}", "qr_code": "q" * 100} for n in range(2000)]
    body = json.dumps({"errcode": 0, "errmsg": "ok", "userlist": userlist}, ensure_ascii=False).encode()
    with _CutOnce(body) as platform:
        settings = Settings(corp_id="wwcut", secret="s", base_url=platform.url, rate=600_000, timeout=5)
        with WeComClient(settings, backoff=0.01, cache_dir=tmp_path) as client:
            members = client.user_list(1, fetch_child=True, without=("qr_code",))
    assert platform.lists == 2  # the cut answer was not taken as the list: it was asked for again
    assert members == [{"userid": f"m{n}", "name": f"成员{n}"} for n in range(2000)]
