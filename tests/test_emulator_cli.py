"""`bulkdir emulator` as a process: one ready line with the URL, its flags, a clean stop on SIGTERM/SIGINT."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys

import pytest
import requests


def start(*flags: str) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", "emulator", "--port", "0", *flags],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    return process, line


def stop(process: subprocess.Popen) -> None:
    """Kills a process the test left running (only when an assertion failed half-way)."""
    if process.poll() is None:
        process.kill()
        process.communicate()


def url_of(line: str) -> str:
    return next(word for word in line.split() if word.startswith("http://"))


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT])
def test_prints_one_line_with_the_url_serves_and_stops_cleanly(stop_signal):
    process, line = start("--secret", "my-very-secret", "--app-secret", "my-app-secret")
    try:
        assert line.startswith("bulkdir emulator listening on http://127.0.0.1:")
        assert "my-very-secret" not in line and "my-app-secret" not in line
        answer = requests.get(f"{url_of(line)}/cgi-bin/gettoken",
                              params={"corpid": "wwsandbox", "corpsecret": "my-very-secret"}, timeout=5).json()
        assert answer["errcode"] == 0
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=10)
    finally:
        stop(process)
    assert process.returncode == 0
    assert out == ""  # exactly one line on stdout
    assert "Traceback" not in err and "my-very-secret" not in err


def test_flags_reach_the_emulator(tmp_path):
    db = tmp_path / "cli.db"
    process, line = start("--corp-id", "wwacme", "--corp-name", "Acme", "--rate-limit", "600",
                          "--block-seconds", "5", "--max-concurrency", "4", "--fail-rate", "0.1", "--seed", "3",
                          "--restrict-details", "--hide-private-fields", "--token-ttl", "60", "--db", str(db),
                          "--ignore-fetch-child", "--max-list-members", "50",
                          "--custom-field", "工号", "--custom-field", "主页:web", "--rate-limit-per-hour", "9000",
                          "--hour-block-seconds", "30", "--hour-seconds", "120", "--batch-rows-per-second", "50",
                          "--media-ttl", "600", "--webhook-key", "robot-key-one", "--webhook-key", "robot-key-two",
                          "--agent-id", "1000017")
    try:
        assert "corp id wwacme" in line and "robot-key" not in line
        url = url_of(line)
        settings = requests.get(f"{url}/_emulator/faults", timeout=5).json()
        assert settings == {"token_ttl": 60, "rate_limit": 600, "block_seconds": 5.0, "max_concurrency": 4,
                            "latency_ms": 0.0, "fail_rate": 0.1, "http_error_rate": 0.0, "seed": 3,
                            "restrict_details": True, "hide_private_fields": True, "ignore_fetch_child": True,
                            "max_list_members": 50, "hidden_from_lists": [], "custom_fields": ["工号", "主页:web"],
                            "rate_limit_per_hour": 9000, "hour_block_seconds": 30.0, "hour_seconds": 120.0,
                            "batch_rows_per_second": 50, "media_ttl": 600.0,
                            "webhook_keys": ["robot 1", "robot 2"], "agent_id": 1000017}  # labels, never the keys
        sent = requests.post(f"{url}/cgi-bin/webhook/send", params={"key": "robot-key-two"},
                             json={"msgtype": "text", "text": {"content": "hi"}}, timeout=5).json()
        assert sent == {"errcode": 0, "errmsg": "ok"}
        assert requests.get(f"{url}/_emulator/state", timeout=5).json()["corp_name"] == "Acme"
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=10)
    finally:
        stop(process)
    assert process.returncode == 0 and db.exists()
    assert "robot-key" not in out + err


def test_a_restart_on_the_same_db_serves_what_was_written_before_sigterm(tmp_path):
    db = str(tmp_path / "cli.db")
    for step in ("write", "read"):
        process, line = start("--db", db)
        try:
            url = url_of(line)
            token = requests.get(f"{url}/cgi-bin/gettoken", timeout=5,
                                 params={"corpid": "wwsandbox", "corpsecret": "sandbox-secret"}).json()["access_token"]
            if step == "write":
                answer = requests.post(f"{url}/cgi-bin/user/create", params={"access_token": token}, timeout=5,
                                       json={"userid": "zhangsan", "name": "张三", "mobile": "13800000000"}).json()
                assert answer["errcode"] == 0
            else:
                answer = requests.get(f"{url}/cgi-bin/user/get", params={"access_token": token, "userid": "zhangsan"},
                                      timeout=5).json()
                assert answer["name"] == "张三"
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=10)
        finally:
            stop(process)
        assert process.returncode == 0


def test_custom_fields_from_the_flag_show_on_every_member():
    process, line = start("--custom-field", "工号", "--custom-field", "主页:web")
    try:
        url = url_of(line)
        token = requests.get(f"{url}/cgi-bin/gettoken", timeout=5,
                             params={"corpid": "wwsandbox", "corpsecret": "sandbox-secret"}).json()["access_token"]
        requests.post(f"{url}/cgi-bin/user/create", params={"access_token": token}, timeout=5,
                      json={"userid": "zhangsan", "name": "张三", "mobile": "13800000000"})
        member = requests.get(f"{url}/cgi-bin/user/get", params={"access_token": token, "userid": "zhangsan"},
                              timeout=5).json()
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=10)
    finally:
        stop(process)
    assert [(a["name"], a["type"]) for a in member["extattr"]["attrs"]] == [("工号", 0), ("主页", 1)]


def test_a_bad_custom_field_flag_is_a_usage_error():
    result = subprocess.run([sys.executable, "-m", "bulkdir", "emulator", "--port", "0",
                             "--custom-field", "工号", "--custom-field", "工号"],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert "custom_fields must name each field once" in result.stderr and "Traceback" not in result.stderr


def test_a_port_in_use_is_a_usage_error():
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run([sys.executable, "-m", "bulkdir", "emulator", "--port", str(port)],
                                capture_output=True, text=True, timeout=20)
    assert result.returncode == 2
    assert result.stderr.startswith(f"Error: cannot listen on 127.0.0.1:{port}")
