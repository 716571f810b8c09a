"""Doctests of the package (collected with --doctest-modules, see pyproject.toml). Examples that need a
live WeCom run against an emulator started here with a small directory, in a folder of their own:

    client     a WeComClient of a corp holding 研发中心 (id 2) > 广州 (id 3), zhangsan (张三, in 广州) and
               lisi (李四, in 研发中心)
    settings   the Settings that client was made with (both secrets)
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any, Iterator

import pytest

ROOT = Path(__file__).parent


@pytest.fixture(scope="session")
def _doctest_emulator() -> Iterator[Any]:
    from bulkdir.emulator import EmulatorOptions, EmulatorServer

    server = EmulatorServer(EmulatorOptions()).start()
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _doctest_corp(request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not isinstance(request.node, pytest.DoctestItem):
        return
    from bulkdir.config import Settings
    from bulkdir.wecom.client import WeComClient

    server = request.getfixturevalue("_doctest_emulator")
    namespace = request.getfixturevalue("doctest_namespace")
    monkeypatch.setenv("BULKDIR_HOME", str(tmp_path / "bulkdir-home"))
    monkeypatch.chdir(tmp_path)
    for sample in ("staff.xlsx", "leavers.csv"):
        shutil.copy(ROOT / "samples" / sample, tmp_path / sample)
    import requests

    requests.post(f"{server.url}/_emulator/reset", timeout=10).raise_for_status()
    settings = Settings(corp_id=server.corp_id, secret=server.secret, app_secret=server.app_secret,
                        base_url=server.url, rate=600_000)
    client = WeComClient(settings, backoff=0.01)
    client.department_create({"name": "研发中心", "parentid": 1, "id": 2})
    client.department_create({"name": "广州", "parentid": 2, "id": 3})
    client.user_create({"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [3]})
    client.user_create({"userid": "lisi", "name": "李四", "email": "lisi@example.com", "department": [2]})
    namespace.update(client=client, settings=settings)
    request.addfinalizer(client.close)
