"""Tokens: fetched once and shared, cached on disk for the owner only, renewed once when refused."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from bulkdir.config import Settings, user_dirs
from bulkdir.wecom.client import WeComClient, WeComError


def client_for(emulator, **changes) -> WeComClient:
    settings = dict(corp_id=emulator.corp_id, secret=emulator.secret, app_secret=emulator.app_secret,
                    base_url=emulator.url, rate=600_000, workers=8, timeout=5)
    settings.update(changes)
    return WeComClient(Settings(**settings), backoff=0.01)


def add_members(emulator, count: int) -> None:
    with client_for(emulator) as client:
        for n in range(count):
            client.user_create({"userid": f"m{n}", "name": f"成员{n}", "mobile": f"1380000{n:04d}"})


def test_many_calls_from_many_threads_fetch_one_token(emulator) -> None:
    add_members(emulator, 5)
    with client_for(emulator) as client:
        with ThreadPoolExecutor(8) as pool:
            names = list(pool.map(lambda n: client.user_get(f"m{n % 5}")["name"], range(200)))
        assert names[:5] == ["成员0", "成员1", "成员2", "成员3", "成员4"]
        assert client.token_fetches == 0  # the token of add_members came from the cache file
    stats = emulator.stats()
    assert stats["calls"]["gettoken"] == 1  # add_members' one fetch; none for the 200 reads
    assert stats["ok"]["user/get"] == 200


def test_a_second_client_reuses_the_cached_token_file(emulator) -> None:
    with client_for(emulator) as first:
        first.department_simplelist()
        assert first.token_fetches == 1
    with client_for(emulator) as second:
        second.department_simplelist()
        assert second.token_fetches == 0
    assert emulator.stats()["calls"]["gettoken"] == 1


def test_token_cache_file_is_for_its_owner_only_and_holds_no_secret(emulator) -> None:
    with client_for(emulator) as client:
        client.department_simplelist()
    files = [p for p in user_dirs().cache.iterdir() if p.suffix == ".json"]
    assert len(files) == 1
    assert stat.S_IMODE(files[0].stat().st_mode) == 0o600
    assert stat.S_IMODE(user_dirs().cache.stat().st_mode) == 0o700
    text = files[0].read_text()
    assert emulator.secret not in text and emulator.secret not in files[0].name
    assert json.loads(text)["token"]


def test_each_secret_has_its_own_token(emulator) -> None:
    with client_for(emulator) as client:
        assert client.gettoken("sync") != client.gettoken("app")
    assert len([p for p in user_dirs().cache.iterdir() if p.suffix == ".json"]) == 2


def test_tokens_expired_mid_run_are_renewed_and_the_run_finishes(emulator) -> None:
    add_members(emulator, 3)
    with client_for(emulator) as client:

        def read(n: int) -> str:
            if n == 50:
                emulator.expire_tokens()
            return client.user_get(f"m{n % 3}")["userid"]

        with ThreadPoolExecutor(4) as pool:
            assert len(list(pool.map(read, range(120)))) == 120
        fetched = client.token_fetches
    stats = emulator.stats()
    assert stats["ok"]["user/get"] == 120
    assert stats["errors"].get("42001", 0) >= 1  # the expiry was met ...
    assert 1 <= fetched <= 2 and stats["calls"]["gettoken"] <= 3  # ... and renewed once, not per thread


def test_a_token_is_renewed_before_it_expires(start_emulator) -> None:
    emulator = start_emulator(token_ttl=1)  # tokens live one second
    with client_for(emulator) as client:
        for _ in range(3):
            client.department_simplelist()
            time.sleep(1.0)
    stats = emulator.stats()
    assert stats["calls"]["gettoken"] == 3  # a new token each time the old one was about to expire
    assert "42001" not in stats["errors"]  # ... so no call met an expired one


def test_a_token_refused_again_after_renewal_is_not_fetched_in_a_loop(start_emulator) -> None:
    emulator = start_emulator(token_ttl=0)  # every token is expired when issued
    with client_for(emulator) as client:
        with pytest.raises(WeComError) as caught:
            client.department_simplelist()
    assert caught.value.errcode == 42001
    assert emulator.stats()["calls"] == {"gettoken": 2, "department/simplelist": 2}


def test_a_wrong_secret_names_which_secret_and_has_no_secret_in_it(emulator) -> None:
    with client_for(emulator, secret="wrong-secret-XYZ") as client:
        with pytest.raises(WeComError) as caught:
            client.department_simplelist()
    error = caught.value
    assert (error.errcode, error.api) == (40001, "gettoken")
    assert "--secret" in error.hint and "BULKDIR_SECRET" in error.hint
    assert error.exit_status == 2
    for text in (str(error), repr(error), error.hint.zh):
        assert "wrong-secret-XYZ" not in text
    assert emulator.stats()["calls"]["gettoken"] == 1  # a wrong secret is not retried


def test_a_wrong_corp_id(emulator) -> None:
    with client_for(emulator, corp_id="ww-nobody") as client:
        with pytest.raises(WeComError) as caught:
            client.gettoken()
    assert caught.value.errcode == 40013
    assert "企业ID" in caught.value.hint.zh


def test_processes_starting_at_once_share_one_token_through_the_file_lock(emulator, bulkdir_home) -> None:
    # Three bulkdir processes wait for the same instant, then each needs a token: the file lock lets
    # one fetch it while the others wait, then read it from the cache file.
    script = textwrap.dedent(f"""
        import time
        from bulkdir.config import Settings
        from bulkdir.wecom.client import WeComClient
        settings = Settings(corp_id={emulator.corp_id!r}, secret={emulator.secret!r}, base_url={emulator.url!r})
        with WeComClient(settings) as client:
            time.sleep(max(0.0, {time.time() + 3.0!r} - time.time()))
            client.department_simplelist()
            print(client.token_fetches)
    """)
    runs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True,
                             env={**os.environ, "BULKDIR_HOME": str(bulkdir_home)}) for _ in range(3)]
    fetches = [int(run.communicate(timeout=30)[0]) for run in runs]
    assert [run.returncode for run in runs] == [0, 0, 0]
    assert sorted(fetches) == [0, 0, 1]
    assert emulator.stats()["calls"] == {"gettoken": 1, "department/simplelist": 3}
