"""`bulkdir doctor` and `bulkdir sandbox reset`, run through the CLI against the emulator."""

from __future__ import annotations

import json

from click.testing import CliRunner

from bulkdir.cli import cli
from bulkdir.config import Settings, user_dirs
from bulkdir.connection import connect
from bulkdir.sandbox import sandbox_db
from bulkdir.wecom.client import WeComClient


def run(emulator, *args: str, secret: str | None = None, app_secret: str | None = "same", **env: str):
    environment = {"BULKDIR_CORP_ID": emulator.corp_id, "BULKDIR_SECRET": secret or emulator.secret,
                   "BULKDIR_BASE_URL": emulator.url, "BULKDIR_RATE": "600000", "BULKDIR_APP_SECRET": None}
    if app_secret:
        environment["BULKDIR_APP_SECRET"] = emulator.app_secret if app_secret == "same" else app_secret
    environment.update(env)
    return CliRunner().invoke(cli, ["doctor", *args], env=environment)


def rows(output: str) -> dict[str, str]:
    """The table as {check: status}."""
    table = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("ok", "WARN", "FAIL", "-"):
            table[parts[0]] = parts[1]
        elif len(parts) >= 3 and parts[2] in ("ok", "WARN", "FAIL", "-"):  # two-word names
            table[f"{parts[0]} {parts[1]}"] = parts[2]
    return table


def add_member(emulator, **fields) -> None:
    settings = Settings(corp_id=emulator.corp_id, secret=emulator.secret, base_url=emulator.url, rate=600000)
    with WeComClient(settings) as client:
        client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001", **fields})


def test_a_working_setup_exits_0(emulator) -> None:
    add_member(emulator)
    before = emulator.state()
    result = run(emulator)
    assert result.exit_code == 0, result.output
    assert rows(result.stdout) == {"credentials": "ok", "app secret": "ok", "writes": "ok",
                                   "detail reads": "ok", "private fields": "ok", "rate": "-",
                                   "round trip": "-"}
    assert "600,000 calls per minute per API" in result.stdout
    assert "An import can run" in result.stdout
    assert emulator.state() == before  # the write check changed nothing


def test_an_app_secret_given_as_the_sync_secret_cannot_write(emulator) -> None:
    result = run(emulator, secret=emulator.app_secret)
    assert result.exit_code == 1
    assert rows(result.stdout)["writes"] == "FAIL"
    assert "48002" in result.stdout and "通讯录同步" in result.stdout


def test_48009_without_an_app_secret_fails_with_the_fix(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True)
    result = run(emulator, app_secret=None)
    assert result.exit_code == 1
    assert rows(result.stdout)["detail reads"] == "FAIL"
    assert "--app-secret" in result.stdout and "BULKDIR_APP_SECRET" in result.stdout


def test_48009_with_an_app_secret_and_hidden_private_fields(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True, hide_private_fields=True)
    add_member(emulator)
    result = run(emulator, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    statuses = {check["name"]: check["status"] for check in report["checks"]}
    assert report["ready"] is True
    assert statuses["detail reads"] == "ok" and statuses["private fields"] == "warn"
    private = next(c for c in report["checks"] if c["name"] == "private fields")
    assert "hidden" in private["result"] and "2022" in private["fix"] and private["fix_zh"]


def test_a_wrong_secret_stops_at_the_credentials(emulator) -> None:
    result = run(emulator, secret="not-the-secret")
    assert result.exit_code == 1
    assert rows(result.stdout) == {"credentials": "FAIL"}
    assert "40001" in result.stdout and "BULKDIR_SECRET" in result.stdout


def test_a_missing_corp_id_is_a_usage_error_of_one_line(emulator) -> None:
    result = run(emulator, BULKDIR_CORP_ID=None)
    assert result.exit_code == 2
    assert result.stderr.strip().count("\n") == 0
    assert "--corp-id" in result.stderr and "BULKDIR_CORP_ID" in result.stderr and "corp_id =" in result.stderr


def test_doctor_on_the_sandbox(emulator) -> None:
    result = CliRunner().invoke(cli, ["doctor", "--sandbox"])
    assert result.exit_code == 0, result.output
    [line] = result.stderr.strip().splitlines()  # one line: the sandbox is in use, and where its state lives
    assert "sandbox" in line and str(sandbox_db()) in line
    assert "60,000 calls per minute" in result.stdout
    assert "wwsandbox" in result.stdout


def test_the_sandbox_keeps_its_state_until_reset() -> None:
    with connect(Settings(), sandbox=True) as client:
        client.department_create({"name": "研发中心", "parentid": 1})
        client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001"})
    with connect(Settings(), sandbox=True) as client:  # a later run sees what the first one did
        assert client.user_get("zhangsan")["name"] == "张三"
    result = CliRunner().invoke(cli, ["sandbox", "reset"])
    assert result.exit_code == 0, result.output
    assert str(sandbox_db()) in result.stderr
    with connect(Settings(), sandbox=True) as client:
        assert client.user_simplelist(1, fetch_child=True) == []
        assert [d["id"] for d in client.department_simplelist()] == [1]  # the reset token was renewed
    # Each run has a new port, yet the runs shared one cached token (of the contacts-sync secret).
    assert len(list(user_dirs().cache.glob("*.json"))) == 1
