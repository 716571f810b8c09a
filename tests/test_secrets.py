"""No secret and no access token in anything bulkdir prints, logs, raises or writes.

Every command the client engineer owns runs with recognisable secrets, in success and in failure, with
--debug; then stdout, stderr, log records and every file under BULKDIR_HOME are searched for them.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
from click.testing import CliRunner

from bulkdir.cli import cli
from bulkdir.cli.options import Connection
from bulkdir.config import Settings, resolve_settings
from bulkdir.wecom.client import WeComClient, WeComError

SECRET = "S3CRET-sync-7f3a9e"
APP_SECRET = "S3CRET-app-51c0dd"
WRONG = "S3CRET-wrong-0b2e44"


@pytest.fixture
def corp(start_emulator):
    return start_emulator(secret=SECRET, app_secret=APP_SECRET)


def tokens_in_cache(home: Path) -> list[str]:
    cache = home / "cache"
    return [json.loads(p.read_text())["token"] for p in cache.glob("*.json")] if cache.exists() else []


def assert_clean(texts: list[str], home: Path, forbidden: list[str]) -> None:
    for text in texts:
        for value in forbidden:
            assert value not in text, f"{value[:6]}... leaked into output"
    for path in home.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            for value in (SECRET, APP_SECRET, WRONG):
                assert value.encode() not in data, f"a secret was written to {path}"


def test_no_secret_in_any_command_output_or_file(corp, bulkdir_home: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)  # urllib3 logs every request line at DEBUG
    env = {"BULKDIR_CORP_ID": corp.corp_id, "BULKDIR_SECRET": SECRET, "BULKDIR_APP_SECRET": APP_SECRET,
           "BULKDIR_BASE_URL": corp.url, "BULKDIR_RATE": "600000"}
    runner = CliRunner()
    runs = [
        runner.invoke(cli, ["--debug", "doctor"], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--json"], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--secret", WRONG], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--app-secret", WRONG], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--corp-id", "ww-other"], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--base-url", "http://127.0.0.1:9", "--timeout", "1"], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--secret", SECRET, "--app-secret", APP_SECRET,
                            "--rate", "nope"], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--help"], env=env),
        runner.invoke(cli, ["--debug", "doctor", "--sandbox"], env=env),
        runner.invoke(cli, ["--debug", "sandbox", "reset"], env=env),
    ]
    assert [r.exit_code for r in runs] == [0, 0, 1, 1, 1, 1, 2, 0, 0, 0], [r.output for r in runs]
    tokens = tokens_in_cache(bulkdir_home)
    assert len(tokens) >= 2  # the real tokens exist (in the 0600 cache) ...
    texts = [r.stdout + r.stderr for r in runs] + [caplog.text]
    texts += [str(r.exception) for r in runs if r.exception is not None]
    assert "corpsecret=***" in caplog.text  # ... the request lines were logged, masked
    assert_clean(texts, bulkdir_home, [SECRET, APP_SECRET, WRONG, *tokens])


def test_no_secret_in_reprs_errors_or_logs(corp, bulkdir_home: Path, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    settings = resolve_settings({"corp_id": corp.corp_id, "secret": SECRET, "app_secret": APP_SECRET,
                                 "base_url": corp.url, "rate": 600000})
    texts = [repr(settings), str(settings)]
    connection = Connection({"corp_id": corp.corp_id, "secret": SECRET, "app_secret": APP_SECRET})
    texts += [repr(connection), str(connection)]  # the command's parsed flags, as a traceback may show them
    assert "<set>" in repr(connection)
    with WeComClient(settings) as client:
        texts.append(repr(client))
        token = client.gettoken()
        for call in (lambda: client.user_get("nobody"), lambda: client.department_delete(1)):
            with pytest.raises(WeComError) as caught:
                call()
            texts += [str(caught.value), repr(caught.value), caught.value.hint.zh, caught.value.errmsg]
    wrong = Settings(corp_id=corp.corp_id, secret=WRONG, base_url=corp.url)
    with WeComClient(wrong) as client, pytest.raises(WeComError) as caught:
        client.gettoken()
    texts += [str(caught.value), repr(caught.value), caught.value.errmsg]
    texts.append(caplog.text)
    assert_clean(texts, bulkdir_home, [SECRET, APP_SECRET, WRONG, token])
