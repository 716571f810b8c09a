"""Messages (wecom-api.md A10): a group robot's webhook/send and webhook/upload_media, keyed by a secret
webhook key, and an app's message/send; what they received at GET /_emulator/messages. All over real HTTP."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
import requests

from bulkdir.emulator import gate
from bulkdir.emulator.options import EmulatorOptions

KEY = "693a91f6-7b3c-4bc4-97a0-0ec2sifa5aaa"
OTHER_KEY = "0f1e2d3c-robot-two"
MB = 1024 * 1024


@pytest.fixture
def robots(emulator):
    """The shared emulator with two robots (reset to none after the test by the `emulator` fixture)."""
    emulator.faults(webhook_keys=[KEY, OTHER_KEY])
    return emulator


def send(emulator, body, key=KEY) -> requests.Response:
    return emulator.http.post(f"{emulator.url}/cgi-bin/webhook/send", params={"key": key}, json=body, timeout=10)


def text(content: str) -> dict:
    return {"msgtype": "text", "text": {"content": content}}


def markdown(content: str) -> dict:
    return {"msgtype": "markdown", "markdown": {"content": content}}


def upload(emulator, data: bytes, key=KEY, filename="report.csv", media_type="file") -> requests.Response:
    return emulator.http.post(f"{emulator.url}/cgi-bin/webhook/upload_media", params={"key": key, "type": media_type},
                              files={"media": (filename, data)}, timeout=30)


def messages(emulator) -> list[dict]:
    response = emulator.http.get(f"{emulator.url}/_emulator/messages", timeout=10)
    assert response.status_code == 200
    assert KEY not in response.text and OTHER_KEY not in response.text
    return response.json()["messages"]


def app_send(emulator, body, token=None) -> dict:
    return emulator.call("message/send", {"agentid": 1000002, **body}, token=token or emulator.token(app=True))


def sized(size: int) -> str:
    """A text of exactly `size` bytes of UTF-8, mostly 3-byte characters (so far fewer characters than bytes)."""
    return "汉" * (size // 3) + "a" * (size % 3)


# ---- the group robot ------------------------------------------------------------------------------


def test_a_robot_text_message_is_sent_and_listed_by_the_robots_label(robots):
    before = int(time.time())
    response = send(robots, text("导入完成：新增 3 人"))
    assert response.json() == {"errcode": 0, "errmsg": "ok"}
    assert KEY not in response.text
    [message] = messages(robots)
    assert message.pop("time") >= before
    assert message == {"channel": "robot", "robot": "robot 1", "msgtype": "text", "content": "导入完成：新增 3 人"}
    send(robots, markdown("**done**"), key=OTHER_KEY)
    assert [(m["robot"], m["msgtype"]) for m in messages(robots)] == [("robot 1", "text"), ("robot 2", "markdown")]


def test_no_access_token_is_needed_and_a_token_is_no_key(robots):
    token = robots.token()
    response = robots.http.post(f"{robots.url}/cgi-bin/webhook/send", params={"access_token": token},
                                json=text("hi"), timeout=10)
    assert response.json()["errcode"] == 93000


@pytest.mark.parametrize("params", [{"key": "not-a-robot"}, {"key": ""}, {}, {"key": KEY[:-1]}, {"key": KEY + "x"}])
def test_an_unknown_or_missing_key_answers_93000_without_echoing_it(robots, params):
    for api in ("send", "upload_media"):
        response = robots.http.post(f"{robots.url}/cgi-bin/webhook/{api}", params={**params, "type": "file"},
                                    json=text("hi"), timeout=10)
        answer = response.json()
        assert answer["errcode"] == 93000, api
        assert "not-a-robot" not in response.text and KEY[:-1] not in response.text
    assert messages(robots) == []


def test_without_webhook_keys_every_key_is_unknown(emulator):
    assert send(emulator, text("hi")).json()["errcode"] == 93000


@pytest.mark.parametrize(("kind", "limit"), [("text", 2048), ("markdown", 4096)])
def test_content_is_limited_in_bytes_of_utf8_not_characters(robots, kind, limit):
    body = text if kind == "text" else markdown
    assert send(robots, body(sized(limit))).json()["errcode"] == 0
    over = sized(limit + 1)
    assert len(over) < limit  # far fewer characters than the limit: bytes are what count
    answer = send(robots, body(over)).json()
    assert answer["errcode"] == 40058 and f"at most {limit}" in answer["errmsg"]
    assert [len(m["content"].encode()) for m in messages(robots)] == [limit]


def test_markdown_has_room_a_text_does_not(robots):
    assert send(robots, text(sized(3000))).json()["errcode"] == 40058
    assert send(robots, markdown(sized(3000))).json()["errcode"] == 0


@pytest.mark.parametrize("body", [{"msgtype": "image", "image": {"base64": "x"}}, {"msgtype": "text"},
                                  {"msgtype": "text", "text": {"content": ""}}, {"msgtype": "text", "text": "hi"},
                                  {"msgtype": "text", "text": {"content": 5}}, {"text": {"content": "hi"}},
                                  {"msgtype": ["text"], "text": {"content": "hi"}}])
def test_other_message_types_and_missing_content_answer_40058(robots, body):
    assert send(robots, body).json()["errcode"] == 40058
    assert messages(robots) == []


def test_a_malformed_body_answers_40058(robots):
    response = robots.http.post(f"{robots.url}/cgi-bin/webhook/send", params={"key": KEY}, data=b"{not json",
                                timeout=10)
    assert response.json()["errcode"] == 40058


def test_webhook_send_must_be_a_post(robots):
    response = robots.http.get(f"{robots.url}/cgi-bin/webhook/send", params={"key": KEY}, timeout=10)
    assert response.json()["errcode"] == 40058 and KEY not in response.text


def test_at_most_20_messages_a_minute_per_robot(robots):
    for number in range(20):
        assert send(robots, text(f"message {number}")).json()["errcode"] == 0
    response = send(robots, text("one too many"))
    assert response.json()["errcode"] == 45009 and KEY not in response.text
    assert send(robots, text("still too many")).json()["errcode"] == 45009
    # The minute is counted per robot: the other robot has its own 20.
    for number in range(20):
        assert send(robots, text(f"other {number}"), key=OTHER_KEY).json()["errcode"] == 0
    assert send(robots, text("other over"), key=OTHER_KEY).json()["errcode"] == 45009
    assert len(messages(robots)) == 40  # refused messages are not kept
    assert robots.stats()["errors"]["45009"] == 3


def test_the_robots_minute_ends_and_it_sends_again(robots, monkeypatch):
    monkeypatch.setattr(gate, "ROBOT_MINUTE_SECONDS", 0.5)
    for number in range(20):
        assert send(robots, text(f"message {number}")).json()["errcode"] == 0
    assert send(robots, text("over")).json()["errcode"] == 45009
    time.sleep(0.6)
    assert send(robots, text("a new minute")).json()["errcode"] == 0


def test_the_robot_limit_counts_messages_not_uploads(robots):
    for _ in range(25):
        assert upload(robots, b"hello").json()["errcode"] == 0
    assert send(robots, text("first message")).json()["errcode"] == 0


def test_reset_lifts_the_robots_limit(robots):
    for number in range(20):
        send(robots, text(f"message {number}"))
    assert send(robots, text("over")).json()["errcode"] == 45009
    robots.reset()
    assert send(robots, text("after reset")).json()["errcode"] == 0


# ---- the robot's files ------------------------------------------------------------------------------


def test_a_file_message_takes_a_media_id_from_upload_media(robots):
    uploaded = upload(robots, "帐号,姓名\nzs,张三\n".encode(), filename="导入报告.csv")
    answer = uploaded.json()
    assert answer["errcode"] == 0 and answer["type"] == "file" and answer["created_at"].isdigit()
    assert KEY not in uploaded.text
    sent = send(robots, {"msgtype": "file", "file": {"media_id": answer["media_id"]}})
    assert sent.json() == {"errcode": 0, "errmsg": "ok"}
    [message] = messages(robots)
    assert message["msgtype"] == "file"
    assert message["file"] == {"name": "导入报告.csv", "size": len("帐号,姓名\nzs,张三\n".encode())}


@pytest.mark.parametrize(("size", "errcode"), [(4, 40006), (5, 0), (20 * MB, 0), (20 * MB + 1, 40006)])
def test_a_robots_file_is_5_bytes_to_20_mb(robots, size, errcode):
    assert upload(robots, b"x" * size).json()["errcode"] == errcode


def test_upload_media_takes_type_file_and_a_media_part(robots):
    assert upload(robots, b"hello", media_type="image").json()["errcode"] == 40005
    response = robots.http.post(f"{robots.url}/cgi-bin/webhook/upload_media", params={"key": KEY, "type": "file"},
                                files={"file": ("a.csv", b"hello")}, timeout=10)
    assert response.json()["errcode"] == 41005


def test_a_media_id_is_the_uploading_robots_only(robots):
    media_id = upload(robots, b"hello").json()["media_id"]
    answer = send(robots, {"msgtype": "file", "file": {"media_id": media_id}}, key=OTHER_KEY).json()
    assert answer["errcode"] == 40007
    app_media = robots.http.post(f"{robots.url}/cgi-bin/media/upload", timeout=10,
                                 params={"access_token": robots.token(app=True), "type": "file"},
                                 files={"media": ("a.csv", b"hello world")}).json()["media_id"]
    assert send(robots, {"msgtype": "file", "file": {"media_id": app_media}}).json()["errcode"] == 40007
    for file in ({"media_id": "3nothing"}, {}, {"media_id": 5}):
        assert send(robots, {"msgtype": "file", "file": file}).json()["errcode"] == 40007
    assert messages(robots) == []


def test_a_robots_media_id_expires_with_media_ttl(robots):
    media_id = upload(robots, b"hello").json()["media_id"]
    robots.faults(media_ttl=0)
    assert send(robots, {"msgtype": "file", "file": {"media_id": media_id}}).json()["errcode"] == 40007


# ---- the app ------------------------------------------------------------------------------------------


def test_an_app_message_reports_unknown_users_in_invaliduser_and_is_kept(emulator):
    emulator.call("user/create", {"userid": "ZhangSan", "name": "张三", "mobile": "13800000000"})
    answer = app_send(emulator, {"touser": "zhangsan|nobody|ghost", "msgtype": "text",
                                 "text": {"content": "导入完成"}})
    assert answer["errcode"] == 0
    assert (answer["invaliduser"], answer["invalidparty"], answer["invalidtag"]) == ("nobody|ghost", "", "")
    [message] = messages(emulator)
    assert message["channel"] == "app" and message["agentid"] == 1000002
    assert message["touser"] == ["zhangsan", "nobody", "ghost"] and message["invaliduser"] == "nobody|ghost"
    assert (message["msgtype"], message["content"]) == ("text", "导入完成")


def test_an_app_message_to_nobody_known_is_still_not_refused(emulator):
    answer = app_send(emulator, {"touser": "nobody", "msgtype": "text", "text": {"content": "hi"}})
    assert (answer["errcode"], answer["invaliduser"]) == (0, "nobody")


def test_an_app_message_to_departments_and_everyone(emulator):
    answer = app_send(emulator, {"toparty": "1|99|x", "totag": "7", "msgtype": "markdown",
                                 "markdown": {"content": "**done**"}})
    assert (answer["errcode"], answer["invalidparty"], answer["invalidtag"]) == (0, "99|x", "7")
    assert app_send(emulator, {"touser": "@all", "msgtype": "text", "text": {"content": "hi"}})["invaliduser"] == ""
    assert app_send(emulator, {"toparty": 1, "msgtype": "text", "text": {"content": "hi"}})["invalidparty"] == ""


def test_an_app_message_needs_a_recipient(emulator):
    assert app_send(emulator, {"msgtype": "text", "text": {"content": "hi"}})["errcode"] == 40058
    assert app_send(emulator, {"touser": "", "msgtype": "text", "text": {"content": "hi"}})["errcode"] == 40058


def test_the_contacts_sync_secret_may_not_send_messages(emulator):
    answer = app_send(emulator, {"touser": "@all", "msgtype": "text", "text": {"content": "hi"}},
                      token=emulator.token())
    assert answer["errcode"] == 48002
    assert messages(emulator) == []


@pytest.mark.parametrize("agentid", [1, 1000003, "abc", None, True])
def test_an_unknown_agentid_answers_40056(emulator, agentid):
    answer = app_send(emulator, {"agentid": agentid, "touser": "@all", "msgtype": "text",
                                 "text": {"content": "hi"}})
    assert answer["errcode"] == 40056


def test_the_agentid_is_agent_id_and_may_be_a_string(start_emulator):
    emulator = start_emulator(agent_id=1000017)
    body = {"touser": "@all", "msgtype": "text", "text": {"content": "hi"}}
    assert app_send(emulator, body)["errcode"] == 40056  # 1000002 is not this emulator's app
    assert app_send(emulator, {**body, "agentid": 1000017})["errcode"] == 0
    assert app_send(emulator, {**body, "agentid": "1000017"})["errcode"] == 0


def test_the_agent_id_is_a_setting(emulator):
    assert emulator.faults(agent_id=42)["agent_id"] == 42
    body = {"agentid": 42, "touser": "@all", "msgtype": "text", "text": {"content": "hi"}}
    assert emulator.call("message/send", body, app=True)["errcode"] == 0
    for value in (0, -1, 2**31, "42", None, True):
        response = requests.post(f"{emulator.url}/_emulator/faults", json={"agent_id": value}, timeout=10)
        assert response.status_code == 400 and response.json()["error"].startswith("agent_id must be ")


@pytest.mark.parametrize(("kind", "limit"), [("text", 2048), ("markdown", 2048)])
def test_an_app_messages_content_is_limited_in_bytes(emulator, kind, limit):
    body = {"touser": "@all", "msgtype": kind}
    assert app_send(emulator, {**body, kind: {"content": sized(limit)}})["errcode"] == 0
    assert app_send(emulator, {**body, kind: {"content": sized(limit + 1)}})["errcode"] == 40058


def test_an_app_file_message_takes_a_media_id_from_media_upload(emulator):
    data = b"name,result\nzs,created\n"
    media = emulator.http.post(f"{emulator.url}/cgi-bin/media/upload", timeout=10,
                               params={"access_token": emulator.token(app=True), "type": "file"},
                               files={"media": ("结果.csv", data)}).json()
    answer = app_send(emulator, {"touser": "@all", "msgtype": "file", "file": {"media_id": media["media_id"]}})
    assert answer["errcode"] == 0
    assert messages(emulator)[0]["file"] == {"name": "结果.csv", "size": len(data)}
    unknown = app_send(emulator, {"touser": "@all", "msgtype": "file", "file": {"media_id": "3nothing"}})
    assert unknown["errcode"] == 40007


def test_an_app_message_needs_an_app_token(emulator):
    url = f"{emulator.url}/cgi-bin/message/send"
    body = {"agentid": 1000002, "touser": "@all", "msgtype": "text", "text": {"content": "hi"}}
    assert emulator.http.post(url, json=body, timeout=10).json()["errcode"] == 41001
    assert emulator.http.post(url, params={"access_token": "nope"}, json=body, timeout=10).json()["errcode"] == 40014


# ---- the list, reset and the key's secrecy -----------------------------------------------------------------


def test_messages_from_both_channels_are_listed_in_order_and_reset_empties_them(robots):
    send(robots, text("robot first"))
    app_send(robots, {"touser": "@all", "msgtype": "text", "text": {"content": "app second"}})
    assert [(m["channel"], m["content"]) for m in messages(robots)] == [("robot", "robot first"),
                                                                        ("app", "app second")]
    media_id = upload(robots, b"hello").json()["media_id"]
    robots.reset()
    assert messages(robots) == []
    assert send(robots, {"msgtype": "file", "file": {"media_id": media_id}}).json()["errcode"] == 40007
    assert send(robots, text("the keys are settings: kept by a reset")).json()["errcode"] == 0


def test_only_the_latest_messages_are_kept(robots, monkeypatch):
    from bulkdir.emulator import models

    monkeypatch.setattr(models, "KEPT_MESSAGES", 3)
    for number in range(5):
        send(robots, text(f"message {number}"), key=[KEY, OTHER_KEY][number % 2])
    assert [m["content"] for m in messages(robots)] == ["message 2", "message 3", "message 4"]


def test_the_key_appears_in_no_answer(robots):
    answers = [send(robots, text("hi")), send(robots, text("")), upload(robots, b"hello"), upload(robots, b"hi"),
               send(robots, text("hi"), key="wrong"),
               robots.http.get(f"{robots.url}/_emulator/faults", timeout=10),
               robots.http.get(f"{robots.url}/_emulator/stats", timeout=10),
               robots.http.get(f"{robots.url}/_emulator/state", timeout=10),
               robots.http.get(f"{robots.url}/_emulator/messages", timeout=10),
               robots.http.post(f"{robots.url}/_emulator/faults", json={"webhook_keys": [KEY, KEY]}, timeout=10),
               robots.http.post(f"{robots.url}/_emulator/faults", json={"webhook_keys": [KEY, "has space"]},
                                timeout=10)]
    for answer in answers:
        assert KEY not in answer.text and "has space" not in answer.text, answer.text
    assert answers[5].json()["webhook_keys"] == ["robot 1", "robot 2"]  # the settings show labels
    assert [answer.status_code for answer in answers[-2:]] == [400, 400]
    assert robots.faults()["webhook_keys"] == ["robot 1", "robot 2"]  # nothing changed


@pytest.mark.parametrize("value", ["k", [""], [5], ["a" * 129], ["tab\tkey"], ["中文"]])
def test_webhook_keys_refuse_bad_values_with_400(emulator, value):
    response = requests.post(f"{emulator.url}/_emulator/faults", json={"webhook_keys": value}, timeout=10)
    assert response.status_code == 400 and response.json()["error"].startswith("webhook_keys must ")


def test_keys_set_while_running_take_effect_and_their_labels_follow_their_order(emulator):
    assert send(emulator, text("hi")).json()["errcode"] == 93000
    assert emulator.faults(webhook_keys=[OTHER_KEY, KEY])["webhook_keys"] == ["robot 1", "robot 2"]
    assert send(emulator, text("hi")).json()["errcode"] == 0
    assert messages(emulator)[0]["robot"] == "robot 2"
    emulator.faults(webhook_keys=[])
    assert send(emulator, text("hi")).json()["errcode"] == 93000


def test_the_options_never_show_the_keys():
    options = EmulatorOptions(webhook_keys=[KEY])
    assert KEY not in repr(options)
    with pytest.raises(ValueError, match="robot 2's key") as error:
        EmulatorOptions(webhook_keys=[KEY, "bad key"])
    assert "bad key" not in str(error.value)


def test_a_bad_webhook_key_flag_is_a_usage_error_that_does_not_show_it():
    result = subprocess.run([sys.executable, "-m", "bulkdir", "emulator", "--port", "0",
                             "--webhook-key", KEY, "--webhook-key", KEY],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "webhook_keys must give each key once" in result.stderr
    assert KEY not in result.stderr + result.stdout and "Traceback" not in result.stderr


def test_an_uploaded_files_name_is_kept_with_db_and_an_older_db_gets_the_column(start_emulator, tmp_path):
    import sqlite3

    old = tmp_path / "old.db"
    with sqlite3.connect(old) as db:  # a database from before media kept their file names
        db.execute("CREATE TABLE media (media_id TEXT PRIMARY KEY, type TEXT NOT NULL, created_at REAL NOT NULL, "
                   "data BLOB NOT NULL)")
        db.execute("INSERT INTO media VALUES ('3old', 'file', ?, ?)", (time.time(), b"older file"))
    db.close()
    first = start_emulator(db=old)
    media_id = first.http.post(f"{first.url}/cgi-bin/media/upload", timeout=10,
                               params={"access_token": first.token(app=True), "type": "file"},
                               files={"media": ("结果.csv", b"kept across restarts")}).json()["media_id"]
    first.server.stop()
    again = start_emulator(db=old)
    for media, file in ((media_id, {"name": "结果.csv", "size": 20}), ("3old", {"name": "", "size": 10})):
        answer = app_send(again, {"touser": "@all", "msgtype": "file", "file": {"media_id": media}})
        assert answer["errcode"] == 0
        assert messages(again)[-1]["file"] == file
