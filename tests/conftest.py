"""Fixtures shared by the whole suite: a real emulator over real HTTP, and a private BULKDIR_HOME.

    emulator         a running emulator, reset to an empty directory with default faults before each
                     test: .url .corp_id .secret .app_secret; .reset() .stats() .faults(**settings)
                     .expire_tokens() .state(); .token(app=False) gives an access_token;
                     .call(api, body=None, app=False, token=None, **params) calls /cgi-bin/<api>
    start_emulator   start_emulator(**options) starts a server of its own (options as EmulatorOptions:
                     db=, restrict_details=True, rate_limit=...), stopped at teardown
    tree             a small tree on the `emulator`: 研发中心 > 广州, a member in each of the root, 研发中心 and 广州
    bulkdir_home     (autouse) BULKDIR_HOME points at a fresh folder for every test
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
import requests

from bulkdir.emulator.options import EmulatorOptions, default_faults
from bulkdir.emulator.server import EmulatorServer


class EmulatorHandle:
    """A running emulator as tests see it: its address, credentials and control endpoints."""

    def __init__(self, server: EmulatorServer):
        self.server = server
        self.url = server.url
        self.corp_id = server.corp_id
        self.secret = server.secret
        self.app_secret = server.app_secret
        self.http = requests.Session()

    def _control(self, method: str, name: str, body: dict | None = None) -> Any:
        response = self.http.request(method, f"{self.url}/_emulator/{name}", json=body, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self) -> None:
        """An empty directory (the root department only), tokens forgotten, counters zeroed."""
        self._control("POST", "reset")

    def stats(self) -> dict:
        """`{"calls": {api: n}, "ok": {api: n}, "errors": {errcode: n}}` since start or reset."""
        return self._control("GET", "stats")

    def faults(self, **settings: Any) -> dict:
        """Changes fault and limit settings (e.g. `fail_rate=0.2, rate_limit=600`); returns them all."""
        return self._control("POST", "faults", settings)

    def expire_tokens(self) -> None:
        """Every token issued so far now answers 42001."""
        self._control("POST", "expire-tokens")

    def state(self) -> dict:
        """The whole directory: `{"corp_id", "corp_name", "departments": [...], "members": [...]}`."""
        return self._control("GET", "state")

    def token(self, app: bool = False) -> str:
        """An access_token for the contacts-sync secret, or for the app secret with `app=True`."""
        answer = self.http.get(f"{self.url}/cgi-bin/gettoken", timeout=10, params={
            "corpid": self.corp_id, "corpsecret": self.app_secret if app else self.secret}).json()
        assert answer["errcode"] == 0, answer["errcode"]
        return answer["access_token"]

    def call(self, api: str, body: dict | None = None, *, app: bool = False, token: str | None = None,
             **params: Any) -> dict:
        """Calls `/cgi-bin/<api>` as an SDK does: GET with `params`, or POST with the JSON `body`.

        The access_token is fetched for the contacts-sync secret (the app secret with `app=True`)
        unless `token` is given. Example: `emulator.call("user/get", userid="zhangsan")`.
        """
        params["access_token"] = token if token is not None else self.token(app=app)
        url = f"{self.url}/cgi-bin/{api}"
        if body is None:
            response = self.http.get(url, params=params, timeout=10)
        else:
            response = self.http.post(url, params=params, json=body, timeout=10)
        return response.json()

    def __repr__(self) -> str:
        return f"EmulatorHandle(url={self.url!r}, corp_id={self.corp_id!r})"


@pytest.fixture(scope="session")
def _shared_emulator() -> Iterator[EmulatorServer]:
    server = EmulatorServer(EmulatorOptions()).start()
    yield server
    server.stop()


@pytest.fixture
def emulator(_shared_emulator: EmulatorServer) -> Iterator[EmulatorHandle]:
    """The session's emulator, reset to an empty directory and default faults for this test."""
    handle = EmulatorHandle(_shared_emulator)
    handle.faults(**default_faults())
    handle.reset()
    yield handle
    handle.http.close()


@pytest.fixture
def start_emulator() -> Iterator[Callable[..., EmulatorHandle]]:
    """A factory: `start_emulator(db=path, restrict_details=True)` starts a server of its own."""
    servers: list[EmulatorServer] = []
    handles: list[EmulatorHandle] = []

    def start(**options: Any) -> EmulatorHandle:
        if "db" in options and options["db"] is not None:
            options["db"] = str(options["db"])
        server = EmulatorServer(EmulatorOptions(**options)).start()
        servers.append(server)
        handles.append(EmulatorHandle(server))
        return handles[-1]

    yield start
    for handle in handles:
        handle.http.close()
    for server in servers:
        server.stop()


@pytest.fixture
def tree(emulator: EmulatorHandle) -> dict[str, int]:
    """研发中心 (under the root) > 广州; ceo in the root, cto in 研发中心, dev in 广州. Returns {"rd", "gz"}."""
    rd = emulator.call("department/create", {"name": "研发中心", "parentid": 1})["id"]
    gz = emulator.call("department/create", {"name": "广州", "parentid": rd})["id"]
    for userid, mobile, department in (("ceo", "13800000001", [1]), ("cto", "13800000002", [rd]),
                                       ("dev", "13800000003", [gz])):
        answer = emulator.call("user/create", {"userid": userid, "name": "张三", "mobile": mobile,
                                               "department": department})
        assert answer["errcode"] == 0, answer
    return {"rd": rd, "gz": gz}


@pytest.fixture(autouse=True)
def bulkdir_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Keeps bulkdir's config, token cache, sandbox and journal inside this test's tmp folder."""
    home = tmp_path / "bulkdir-home"
    home.mkdir()
    monkeypatch.setenv("BULKDIR_HOME", str(home))
    return home
