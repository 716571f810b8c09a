"""The platform's async batch import (wecom-api.md A9), over real HTTP: media/upload, batch/syncuser
and batch/getresult, the jobs' pace and order, persistence with `db`, and the hourly quota."""

from __future__ import annotations

import time

import pytest
import requests

from test_emulator_members import assert_error

HEADER = "姓名,帐号,手机号,邮箱,所在部门,职位,性别,是否部门内领导,排序,别名,地址,座机,禁用"


def csv_file(*lines: str, bom: bool = False) -> bytes:
    """A batch file of these lines (CRLF ends, as spreadsheet programs write them)."""
    return ("\ufeff" if bom else "").encode() + "".join(line + "\r\n" for line in lines).encode("utf-8")


def upload(emulator, data: bytes, media_type: str | None = "file", field: str = "media", token: str | None = None,
           app: bool = False) -> dict:
    params = {"access_token": token or emulator.token(app=app)}
    if media_type is not None:
        params["type"] = media_type
    files = {field: ("members.csv", data, "text/csv")}
    return emulator.http.post(f"{emulator.url}/cgi-bin/media/upload", params=params, files=files, timeout=30).json()


def submit(emulator, data: bytes) -> str:
    """Uploads `data` and submits it to batch/syncuser; returns the jobid."""
    media = upload(emulator, data)
    assert media["errcode"] == 0, media
    answer = emulator.call("batch/syncuser", {"media_id": media["media_id"], "to_invite": False})
    assert answer["errcode"] == 0, answer
    return answer["jobid"]


def result_of(emulator, jobid: str, timeout: float = 20) -> dict:
    """batch/getresult once the job is done (status 3)."""
    deadline = time.monotonic() + timeout
    while True:
        answer = emulator.call("batch/getresult", jobid=jobid)
        if answer.get("status") == 3 or answer["errcode"] != 0 or time.monotonic() > deadline:
            return answer
        time.sleep(0.02)


def run(emulator, *lines: str) -> list[dict]:
    """Runs a job of these lines to its end; returns its rows' results."""
    answer = result_of(emulator, submit(emulator, csv_file(*lines)))
    assert answer["errcode"] == 0 and answer["status"] == 3, answer
    return answer["result"]


def codes(results: list[dict]) -> list[int]:
    return [row["errcode"] for row in results]


def member(emulator, userid: str) -> dict:
    return emulator.call("user/get", userid=userid)


# ---- media/upload ------------------------------------------------------------------------------------------

def test_upload_answers_the_media_id_type_and_time(emulator):
    before = int(time.time())
    answer = upload(emulator, b"hello world")
    assert answer["errcode"] == 0 and answer["errmsg"] == "ok" and answer["type"] == "file"
    assert isinstance(answer["media_id"], str) and answer["media_id"]
    assert before <= int(answer["created_at"]) <= time.time()
    assert upload(emulator, b"hello world")["media_id"] != answer["media_id"]


@pytest.mark.parametrize("size, errcode", [(0, 40006), (5, 40006), (6, 0), (20 * 1024 * 1024, 0),
                                           (20 * 1024 * 1024 + 1, 40006)])
def test_a_file_is_more_than_5_bytes_and_at_most_20_mb(emulator, size, errcode):
    answer = upload(emulator, b"x" * size)
    assert answer["errcode"] == errcode, answer["errmsg"]


@pytest.mark.parametrize("media_type", ["file", "image", "voice", "video"])
def test_the_four_media_types_are_taken(emulator, media_type):
    assert upload(emulator, b"123456", media_type)["type"] == media_type


@pytest.mark.parametrize("media_type", ["doc", "FILE", "", None])
def test_another_type_answers_40005(emulator, media_type):
    assert_error(upload(emulator, b"123456", media_type), 40005, "invalid media type")


def test_a_body_without_a_media_part_answers_41005(emulator):
    assert_error(upload(emulator, b"123456", field="file"), 41005, "media data missing")
    url = f"{emulator.url}/cgi-bin/media/upload"
    params = {"access_token": emulator.token(), "type": "file"}
    assert emulator.http.post(url, params=params, json={"media": "123456"}, timeout=10).json()["errcode"] == 41005
    assert emulator.http.post(url, params=params, timeout=10).json()["errcode"] == 41005


def raw_upload(emulator, body: bytes, content_type: str) -> dict:
    return emulator.http.post(f"{emulator.url}/cgi-bin/media/upload", data=body, timeout=10,
                              params={"access_token": emulator.token(), "type": "file"},
                              headers={"Content-Type": content_type}).json()


def test_multipart_bodies_as_clients_write_them(emulator):
    content = csv_file("帐号,姓名,地址,手机号", 'li,李四,"广州\r\n--c\r\n天河",13800000001')
    # A quoted boundary, a preamble, another part first, no filename, a part's own Content-Type and
    # a content holding line ends and a line like a boundary (another one: a client never sends its own
    # boundary inside a part, RFC 2046): the part arrives byte for byte.
    body = (b"preamble\r\n--b\r\nContent-Disposition: form-data; name=\"other\"\r\n\r\nxxxxxxxx\r\n"
            b"--b\r\nContent-Disposition: form-data; name=\"media\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            + content + b"\r\n--b--\r\n")
    answer = raw_upload(emulator, body, 'multipart/form-data; boundary="b"')
    assert answer["errcode"] == 0, answer
    jobid = emulator.call("batch/syncuser", {"media_id": answer["media_id"]})["jobid"]
    assert codes(result_of(emulator, jobid)["result"]) == [0]
    assert member(emulator, "li")["address"] == "广州\r\n--c\r\n天河"


def test_multipart_bodies_it_cannot_read_have_no_media(emulator):
    part = b"--b\r\nContent-Disposition: form-data; name=\"media\"\r\n\r\n123456\r\n--b--\r\n"
    assert raw_upload(emulator, part, "multipart/form-data")["errcode"] == 41005  # no boundary
    assert raw_upload(emulator, part, "multipart/form-data; boundary=c")["errcode"] == 41005  # another one
    assert raw_upload(emulator, part, "text/plain; boundary=b")["errcode"] == 41005
    headless = b"--b\r\nContent-Disposition: form-data; name=\"media\"123456\r\n--b--\r\n"  # no blank line
    assert raw_upload(emulator, headless, "multipart/form-data; boundary=b")["errcode"] == 41005
    assert raw_upload(emulator, part, "multipart/form-data; boundary=b")["errcode"] == 0


def test_both_secrets_may_upload_and_only_the_sync_secret_may_submit(emulator):
    media = upload(emulator, csv_file("帐号,姓名,手机号", "li,李四,13800000001"), app=True)
    assert media["errcode"] == 0
    assert_error(emulator.call("batch/syncuser", {"media_id": media["media_id"]}, app=True), 48002, "api forbidden")
    assert emulator.call("batch/syncuser", {"media_id": media["media_id"]})["errcode"] == 0


def test_upload_and_submit_take_post_only(emulator):
    assert emulator.call("media/upload", type="file")["errcode"] == 40058
    assert emulator.call("batch/syncuser", media_id="x")["errcode"] == 40058


# ---- batch/syncuser: the file ------------------------------------------------------------------------------

def test_unknown_missing_or_expired_media_answers_40007(emulator):
    assert_error(emulator.call("batch/syncuser", {"media_id": "nope"}), 40007, "invalid media_id")
    assert emulator.call("batch/syncuser", {})["errcode"] == 40007
    assert emulator.call("batch/syncuser", {"media_id": 12})["errcode"] == 40007
    media_id = upload(emulator, csv_file("帐号,姓名,手机号", "li,李四,13800000001"))["media_id"]
    emulator.faults(media_ttl=0)  # every media_id is now older than its 0 seconds
    assert emulator.call("batch/syncuser", {"media_id": media_id})["errcode"] == 40007
    emulator.faults(media_ttl=60)
    assert emulator.call("batch/syncuser", {"media_id": media_id})["errcode"] == 0


def test_a_media_id_expires_after_media_ttl(emulator):
    emulator.faults(media_ttl=0.5)
    media_id = upload(emulator, csv_file("帐号,姓名,手机号", "li,李四,13800000001"))["media_id"]
    time.sleep(0.6)
    assert emulator.call("batch/syncuser", {"media_id": media_id})["errcode"] == 40007


@pytest.mark.parametrize("data, why", [
    (b"      \r\n\r\n", "empty"),
    (csv_file("", bom=True) + b"\r\n,,,\r\n", "empty"),
    (csv_file("姓名,手机号", "李四,13800000001"), "no 帐号 column"),
    (csv_file("姓名,帐号,手机号"), "no member rows"),
    (csv_file("帐号,姓名,帐号", "li,李四,li"), "named twice"),
    ("帐号,姓名\r\nli,李四\r\n".encode("gbk"), "not UTF-8"),
])
def test_a_file_without_members_or_without_a_userid_column_answers_40092_at_submit(emulator, data, why):
    media = upload(emulator, data)
    assert media["errcode"] == 0, media
    answer = emulator.call("batch/syncuser", {"media_id": media["media_id"]})
    assert_error(answer, 40092, "import file invalid")
    assert why in answer["errmsg"]


def test_file_only_rows_are_created_with_every_column(emulator, tree):
    rd, gz = tree["rd"], tree["gz"]
    results = run(emulator, HEADER,
                  f"王五,wangwu,13900000001,wangwu@example.com,{rd};{gz},工程师,男,1;0,5;6,老王,广州天河,020-1234,0",
                  "赵六,zhaoliu,,zhaoliu@example.com,,,女,,,,,,1")
    assert results == [{"userid": "wangwu", "errcode": 0, "errmsg": "ok"},
                       {"userid": "zhaoliu", "errcode": 0, "errmsg": "ok"}]
    wangwu = member(emulator, "wangwu")
    assert {k: wangwu[k] for k in ("name", "mobile", "email", "department", "position", "gender",
                                   "is_leader_in_dept", "order", "alias", "address", "telephone", "enable")} == {
        "name": "王五", "mobile": "13900000001", "email": "wangwu@example.com", "department": [rd, gz],
        "position": "工程师", "gender": "1", "is_leader_in_dept": [1, 0], "order": [5, 6], "alias": "老王",
        "address": "广州天河", "telephone": "020-1234", "enable": 1}
    zhaoliu = member(emulator, "zhaoliu")
    assert (zhaoliu["department"], zhaoliu["gender"], zhaoliu["enable"], zhaoliu["status"]) == ([1], "2", 0, 2)


def test_any_subset_of_columns_in_any_order_with_a_bom(emulator):
    data = csv_file("手机号, 帐号 ,姓名,说明", "13800000001,li,李四,ignored", "", "  13800000002 ,wang, 王五 ,",
                    bom=True)
    assert codes(result_of(emulator, submit(emulator, data))["result"]) == [0, 0]
    assert (member(emulator, "li")["name"], member(emulator, "wang")["mobile"]) == ("李四", "13800000002")


def test_a_row_of_a_member_in_the_corp_updates_the_columns_present(emulator):
    assert emulator.call("user/create", {"userid": "ZhangSan", "name": "张三", "mobile": "13800000001",
                                         "email": "z@example.com", "position": "经理", "alias": "老张"})["errcode"] == 0
    results = run(emulator, "帐号,职位,邮箱,别名,手机号", "zhangsan,总监,,,13800000009")
    assert results == [{"userid": "zhangsan", "errcode": 0, "errmsg": "ok"}]
    zhang = member(emulator, "zhangsan")
    # 帐号 without case: the member keeps its userid; a blank cell leaves the field as it is.
    assert (zhang["userid"], zhang["position"], zhang["mobile"]) == ("ZhangSan", "总监", "13800000009")
    assert (zhang["email"], zhang["alias"], zhang["name"]) == ("z@example.com", "老张", "张三")
    assert len(emulator.state()["members"]) == 1


def test_members_only_in_the_corp_are_untouched(emulator, tree):
    before = {m["userid"]: m for m in emulator.state()["members"]}
    assert codes(run(emulator, "帐号,姓名,手机号", "new,新人,13900000001")) == [0]
    after = {m["userid"]: m for m in emulator.state()["members"]}
    assert set(after) == set(before) | {"new"} and all(after[u] == before[u] for u in before)


def test_rows_failing_as_user_create_and_update_would(emulator, tree):
    results = run(emulator, "帐号,姓名,手机号,邮箱,所在部门,是否部门内领导,禁用,性别",
                  "a1,,13900000001,,,,,",                      # no 姓名
                  "a2,甲,,,,,,",                               # neither 手机号 nor 邮箱
                  "a3,乙,13900000003,,999,,,",                  # a department that does not exist
                  "a4,丙,13900000004,,2;abc,,,",                # nor does one that is not an id
                  "a5,丁,13800000001,,,,,",                     # ceo's mobile
                  "bad id!,戊,13900000006,,,,,",
                  ",己,13900000007,,,,,",                       # no 帐号
                  "a8,庚,13900000008,,2;3,1,,",                 # one leader flag for two departments
                  "a9,辛,13900000009,,,,2,",                    # 禁用 neither 0 nor 1
                  "a10,壬,13900000010,,,,,X",                   # 性别 neither 男, 女 nor 0-2
                  "ok,好,13900000011,ok@example.com,2,,,",
                  "cto,,,,999,,,")                              # an update to a department that does not exist
    assert codes(results) == [60112, 60129, 60123, 60123, 60104, 40003, 40003, 60132, 40058, 40058, 0, 60123]
    assert [row["userid"] for row in results] == ["a1", "a2", "a3", "a4", "a5", "bad id!", "", "a8", "a9", "a10",
                                                  "ok", "cto"]
    assert results[4]["errmsg"] == "mobile existed:ceo"
    assert {m["userid"] for m in emulator.state()["members"]} == {"ceo", "cto", "dev", "ok"}
    assert member(emulator, "cto")["department"] == [tree["rd"]]


def test_a_userid_twice_in_a_file_creates_then_updates(emulator):
    results = run(emulator, "帐号,姓名,手机号,职位", "li,李四,13800000001,工程师", "LI,,,经理")
    assert codes(results) == [0, 0]
    assert (member(emulator, "li")["name"], member(emulator, "li")["position"]) == ("李四", "经理")


def test_custom_field_columns(emulator):
    emulator.faults(custom_fields=["工号", "主页:web"])
    results = run(emulator, "帐号,姓名,手机号,工号,主页,未定义",
                  "li,李四,13800000001,A01,博客；https://li.example.com,x",
                  "wang,王五,13800000002,,,",
                  "zhao,赵六,13800000003,B02,https://no-title.example.com,",
                  "sun,孙七,13800000004,C03,标题;http://sun.example.com,")
    assert codes(results) == [0, 0, 40058, 0]
    attrs = member(emulator, "li")["extattr"]["attrs"]
    assert attrs == [{"type": 0, "name": "工号", "text": {"value": "A01"}},
                     {"type": 1, "name": "主页", "web": {"url": "https://li.example.com", "title": "博客"}}]
    assert member(emulator, "sun")["extattr"]["attrs"][1]["web"]["title"] == "标题"
    # A blank custom cell leaves the field; a present one sets it.
    assert codes(run(emulator, "帐号,工号,主页", "li,A02,")) == [0]
    attrs = member(emulator, "li")["extattr"]["attrs"]
    assert (attrs[0]["text"]["value"], attrs[1]["web"]["title"]) == ("A02", "博客")


def test_the_department_column_takes_ids_separated_by_semicolons(emulator, tree):
    rd, gz = tree["rd"], tree["gz"]
    results = run(emulator, "帐号,姓名,手机号,所在部门,排序", f"li,李四,13800000009, {gz} ; {rd} ;,3;4")
    assert codes(results) == [0]
    li = member(emulator, "li")
    assert (li["department"], li["order"], li["main_department"]) == ([gz, rd], [3, 4], gz)


# ---- batch/getresult and the jobs --------------------------------------------------------------------------

def test_unknown_jobid_answers_40088(emulator):
    assert_error(emulator.call("batch/getresult", jobid="jobid_nope"), 40088, "jobid not found")
    assert emulator.call("batch/getresult")["errcode"] == 40088


def test_only_the_latest_5_jobs_results_are_kept(emulator):
    jobids = [submit(emulator, csv_file("帐号,姓名,手机号", f"u{i},成员,1380000000{i}")) for i in range(6)]
    assert all(result_of(emulator, jobid)["status"] == 3 for jobid in jobids[1:])
    assert_error(emulator.call("batch/getresult", jobid=jobids[0]), 40089, "job result expired")
    assert [result_of(emulator, j)["result"][0]["userid"] for j in jobids[1:]] == ["u1", "u2", "u3", "u4", "u5"]
    assert len(emulator.state()["members"]) == 6  # the first job ran all the same
    jobids.append(submit(emulator, csv_file("帐号,姓名,手机号", "u6,成员,13800000006")))
    assert result_of(emulator, jobids[6])["status"] == 3  # once it has a result, the oldest kept one goes
    assert emulator.call("batch/getresult", jobid=jobids[1])["errcode"] == 40089


def test_progress_is_watched_while_a_job_runs_at_its_pace(emulator):
    emulator.faults(batch_rows_per_second=40)
    jobid = submit(emulator, csv_file("帐号,姓名,手机号", *[f"u{i},成员,139{i:08d}" for i in range(40)]))
    started = time.monotonic()
    seen = []
    while (answer := emulator.call("batch/getresult", jobid=jobid))["status"] != 3:
        assert answer["errcode"] == 0 and "result" not in answer  # results only once done
        assert (answer["type"], answer["total"]) == ("sync_user", 40)
        seen.append((answer["status"], answer["percentage"]))
        time.sleep(0.05)
    assert time.monotonic() - started > 0.7  # 40 rows at 40 a second
    assert any(status == 2 and 0 < percentage < 100 for status, percentage in seen)
    assert [p for _, p in seen] == sorted(p for _, p in seen)
    assert (answer["percentage"], len(answer["result"])) == (100, 40)
    assert [row["userid"] for row in answer["result"]] == [f"u{i}" for i in range(40)]


def test_jobs_run_one_at_a_time_in_submission_order(emulator):
    emulator.faults(batch_rows_per_second=100)
    first = submit(emulator, csv_file("帐号,姓名,手机号,职位", *[f"u{i},成员,139{i:08d},一" for i in range(20)]))
    second = submit(emulator, csv_file("帐号,职位", *[f"u{i},二" for i in range(20)]))
    assert emulator.call("batch/getresult", jobid=second)["status"] == 1  # queued behind the first
    while emulator.call("batch/getresult", jobid=first)["status"] != 3:
        assert emulator.call("batch/getresult", jobid=second)["percentage"] == 0
        time.sleep(0.02)
    assert codes(result_of(emulator, second)["result"]) == [0] * 20
    assert {m["position"] for m in emulator.state()["members"]} == {"二"}


def test_the_pace_of_a_running_job_follows_the_setting(emulator):
    emulator.faults(batch_rows_per_second=2)
    jobid = submit(emulator, csv_file("帐号,姓名,手机号", *[f"u{i},成员,139{i:08d}" for i in range(200)]))
    time.sleep(0.3)
    assert emulator.call("batch/getresult", jobid=jobid)["status"] in (1, 2)
    emulator.faults(batch_rows_per_second=0)  # as fast as it can
    assert result_of(emulator, jobid, timeout=10)["status"] == 3


def test_a_reset_forgets_jobs_and_media(emulator):
    emulator.faults(batch_rows_per_second=5)
    media_id = upload(emulator, csv_file("帐号,姓名,手机号", "li,李四,13800000001"))["media_id"]
    jobid = submit(emulator, csv_file("帐号,姓名,手机号", *[f"u{i},成员,139{i:08d}" for i in range(50)]))
    emulator.reset()
    assert emulator.call("batch/getresult", jobid=jobid)["errcode"] == 40088
    assert emulator.call("batch/syncuser", {"media_id": media_id})["errcode"] == 40007
    time.sleep(0.3)
    assert emulator.state()["members"] == []


def test_a_restarted_emulator_finishes_the_jobs_it_had(start_emulator, tmp_path):
    db = tmp_path / "batch.db"
    first = start_emulator(db=db, batch_rows_per_second=50)
    kept_media = upload(first, csv_file("帐号,姓名,手机号", "late,晚到,13700000000"))["media_id"]
    running = submit(first, csv_file("帐号,姓名,手机号", *[f"u{i},成员,139{i:08d}" for i in range(100)]))
    queued = submit(first, csv_file("帐号,职位", *[f"u{i},二" for i in range(100)]))
    while first.call("batch/getresult", jobid=running)["percentage"] < 10:
        time.sleep(0.02)
    first.server.stop()
    stopped_at = len(first.server.corp.jobs[running].results)
    assert 0 < stopped_at < 100

    second = start_emulator(db=db, batch_rows_per_second=0)
    answer = result_of(second, running)
    assert answer["status"] == 3 and codes(answer["result"]) == [0] * 100
    assert [row["userid"] for row in answer["result"]] == [f"u{i}" for i in range(100)]
    assert codes(result_of(second, queued)["result"]) == [0] * 100
    members = second.state()["members"]
    assert len(members) == 100 and {m["position"] for m in members} == {"二"}
    assert second.call("batch/syncuser", {"media_id": kept_media})["errcode"] == 0


def test_the_job_is_one_call_of_batch_syncuser_for_the_rate_limit(emulator):
    token = emulator.token()
    emulator.faults(rate_limit=1, block_seconds=60)
    media = upload(emulator, csv_file("帐号,姓名,手机号", *[f"u{i},成员,139{i:08d}" for i in range(30)]), token=token)
    jobid = emulator.call("batch/syncuser", {"media_id": media["media_id"]}, token=token)["jobid"]
    deadline = time.monotonic() + 10
    while len(emulator.state()["members"]) < 30 and time.monotonic() < deadline:  # not a call of the API
        time.sleep(0.02)
    answer = emulator.call("batch/getresult", jobid=jobid, token=token)
    assert answer["status"] == 3 and codes(answer["result"]) == [0] * 30
    # The rows wrote 30 members without using user/create's or user/update's minute.
    create = {"userid": "x", "name": "x", "mobile": "13700000000"}
    assert emulator.call("user/create", create, token=token)["errcode"] == 0
    assert emulator.call("user/update", {"userid": "u1", "position": "p"}, token=token)["errcode"] == 0
    assert emulator.call("batch/syncuser", {"media_id": media["media_id"]}, token=token)["errcode"] == 45009
    stats = emulator.stats()
    assert stats["calls"] == {"gettoken": 1, "media/upload": 1, "batch/syncuser": 2, "batch/getresult": 1,
                              "user/create": 1, "user/update": 1}
    assert stats["errors"] == {"45009": 1}


# ---- the hourly quota --------------------------------------------------------------------------------------

def simplelist(emulator, token: str) -> int:
    return emulator.call("department/simplelist", token=token)["errcode"]


def test_the_first_call_over_the_hourly_quota_answers_45009_and_blocks_the_api(emulator):
    token = emulator.token()
    emulator.faults(rate_limit_per_hour=3, hour_block_seconds=0.5)
    assert [simplelist(emulator, token) for _ in range(3)] == [0, 0, 0]
    assert_error(emulator.call("department/simplelist", token=token), 45009, "api freq out of limit")
    assert simplelist(emulator, token) == 45009
    assert emulator.call("user/simplelist", token=token, department_id=1)["errcode"] == 0  # per API
    time.sleep(0.6)
    assert simplelist(emulator, token) == 0
    stats = emulator.stats()
    assert (stats["calls"]["department/simplelist"], stats["ok"]["department/simplelist"]) == (6, 4)
    assert stats["errors"] == {"45009": 2}


def test_the_hourly_quota_counts_calls_within_hour_seconds(emulator):
    token = emulator.token()
    emulator.faults(rate_limit_per_hour=2, hour_seconds=1, hour_block_seconds=60)
    assert [simplelist(emulator, token) for _ in range(2)] == [0, 0]
    time.sleep(1.1)  # the two calls have left the window
    assert [simplelist(emulator, token) for _ in range(3)] == [0, 0, 45009]
    time.sleep(1.1)
    assert simplelist(emulator, token) == 45009  # blocked for hour_block_seconds, not the window


def test_the_minute_and_the_hour_limits_both_hold_and_both_are_counted(emulator):
    token = emulator.token()
    emulator.faults(rate_limit=3, block_seconds=0.3, rate_limit_per_hour=5, hour_block_seconds=60)
    assert [simplelist(emulator, token) for _ in range(4)] == [0, 0, 0, 45009]  # the minute's
    time.sleep(0.4)
    # The refused call used neither quota: 3 of the hour's 5 are used.
    assert [simplelist(emulator, token) for _ in range(3)] == [0, 0, 45009]  # the hour's
    time.sleep(0.4)
    assert simplelist(emulator, token) == 45009
    assert emulator.stats()["errors"] == {"45009": 3}
    emulator.faults(rate_limit_per_hour=None)  # changing the quota lifts its block
    assert simplelist(emulator, token) == 0


@pytest.mark.parametrize("setting, value", [
    ("rate_limit_per_hour", -1), ("rate_limit_per_hour", 1.5), ("hour_block_seconds", 86_401),
    ("hour_seconds", 0), ("batch_rows_per_second", -1), ("batch_rows_per_second", True), ("media_ttl", "3d"),
])
def test_new_settings_out_of_bounds_answer_400(emulator, setting, value):
    response = requests.post(f"{emulator.url}/_emulator/faults", json={setting: value}, timeout=10)
    assert response.status_code == 400 and setting in response.json()["error"]


def test_the_new_settings_are_read_and_changed_with_the_others(emulator):
    settings = emulator.faults(rate_limit_per_hour=150_000, hour_block_seconds=5, hour_seconds=10,
                               batch_rows_per_second=100, media_ttl=60)
    assert {k: settings[k] for k in ("rate_limit_per_hour", "hour_block_seconds", "hour_seconds",
                                     "batch_rows_per_second", "media_ttl")} == {
        "rate_limit_per_hour": 150_000, "hour_block_seconds": 5, "hour_seconds": 10,
        "batch_rows_per_second": 100, "media_ttl": 60}
