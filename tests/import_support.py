"""Helpers for the import, delete, journal and report tests: sheets built in tmp folders, the CLI run
against the emulator (in process with CliRunner, or as a real subprocess), and readers of the results."""

from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Sequence

from click.testing import CliRunner

from bulkdir.cli import cli
from bulkdir.config import Settings
from bulkdir.wecom.client import WeComClient

WRITE_APIS = ("user/create", "user/update", "user/delete", "user/batchdelete",
              "department/create", "department/update", "department/delete")
MEMBER_HEADER = ["帐号", "姓名", "手机", "部门", "职务"]


def write_sheet(path: Path, header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Path:
    """A CSV (UTF-8) or xlsx member sheet, every cell text."""
    path = Path(path)
    if path.suffix == ".xlsx":
        from openpyxl import Workbook

        book = Workbook()
        sheet = book.active
        sheet.title = "成员列表"
        sheet.append(list(header))
        for row in rows:
            sheet.append([None if v is None else str(v) for v in row])
        for line in sheet.iter_rows():
            for cell in line:
                if isinstance(cell.value, str) and cell.value.startswith("="):
                    cell.data_type = "s"  # text that looks like a formula, as HR sometimes types it
        book.save(path)
        return path
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for row in rows:
            writer.writerow(["" if v is None else v for v in row])
    return path


def member_rows(count: int, department: str = "研发中心", start: int = 0, prefix: str = "m") -> list[list[str]]:
    """`count` valid member rows: userid m0000…, a unique mobile, the given department path."""
    return [[f"{prefix}{i:04d}", f"成员{i}", f"139{i:08d}", department, "工程师"] for i in range(start, start + count)]


def env_for(emulator: Any, **extra: str) -> dict[str, str]:
    return {"BULKDIR_CORP_ID": emulator.corp_id, "BULKDIR_SECRET": emulator.secret,
            "BULKDIR_BASE_URL": emulator.url, "BULKDIR_RATE": "600000", "BULKDIR_WORKERS": "8", **extra}


def run_cli(emulator: Any, *args: str, input: str | None = None, **env: str):  # type: ignore[no-untyped-def]
    """`bulkdir ARGS` in process against the emulator; the result has exit_code, stdout, stderr."""
    runner = CliRunner()
    return runner.invoke(cli, list(args), env=env_for(emulator, **env), input=input, catch_exceptions=False)


def run_json(emulator: Any, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    result = run_cli(emulator, *args, "--json", **env)
    return result.exit_code, json.loads(result.stdout.strip().splitlines()[-1])


def subprocess_import(emulator: Any, *args: str, **env: str) -> subprocess.Popen:
    """`python -m bulkdir import ...` as a real process (for SIGKILL and SIGINT)."""
    full_env = dict(os.environ, **env_for(emulator, **env))
    return subprocess.Popen([sys.executable, "-m", "bulkdir", *args], env=full_env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(condition: Any, timeout: float = 60.0, every: float = 0.02) -> None:
    """Poll `condition()` until it holds; fail the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(every)


def client_for(emulator: Any, **settings: Any) -> WeComClient:
    values = {"corp_id": emulator.corp_id, "secret": emulator.secret, "base_url": emulator.url,
              "rate": 600000, "workers": 8, **settings}
    return WeComClient(Settings(**values), backoff=0.05)


def seed_corp(emulator: Any, departments: Iterable[dict[str, Any]] = (),
              members: Iterable[dict[str, Any]] = ()) -> None:
    """Put departments (department/create bodies) and then members (user/create bodies) in the corp."""
    client = client_for(emulator)
    for department in departments:
        client.department_create(department)
    for member in members:
        client.user_create(member)
    client.close()


def attrs_of(member: dict) -> dict[str, str]:
    """A member's custom fields as the emulator keeps them, name -> text (or title；url)."""
    out = {}
    for attr in (member.get("extattr") or {}).get("attrs", []):
        if "web" in attr:
            out[attr["name"]] = f"{attr['web']['title']}；{attr['web']['url']}" if attr["web"]["url"] else ""
        else:
            out[attr["name"]] = attr["text"]["value"]
    return out


def calls(emulator: Any, since: dict[str, int] | None = None) -> dict[str, int]:
    """The calls the emulator answered (since an earlier count)."""
    now = emulator.stats()["calls"]
    return {api: n - (since or {}).get(api, 0) for api, n in now.items() if n - (since or {}).get(api, 0)}


def members_of(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["userid"]: m for m in state["members"]}


def departments_by_path(state: dict[str, Any]) -> dict[tuple[str, ...], dict[str, Any]]:
    by_id = {d["id"]: d for d in state["departments"]}
    out = {}
    for department in state["departments"]:
        path: list[str] = []
        current = department
        while current["id"] != 1:
            path.insert(0, current["name"])
            current = by_id[current["parentid"]]
        out[tuple(path)] = department
    return out


def writes(stats: dict[str, Any]) -> dict[str, int]:
    """Calls received by each write API (faults included)."""
    return {api: n for api, n in stats["calls"].items() if api in WRITE_APIS and n}


def read_results(path: str | Path) -> list[dict[str, str]]:
    """A result file (.csv or .xlsx) as dicts by header."""
    path = Path(path)
    if path.suffix == ".csv":
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return list(csv.DictReader(handle))
    from openpyxl import load_workbook

    sheet = load_workbook(path).worksheets[0]
    rows = [[("" if c is None else str(c)) for c in row] for row in sheet.iter_rows(values_only=True)]
    return [dict(zip(rows[0], row)) for row in rows[1:]]


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    """The directory without what differs between two equal runs (open_userid and qr_code are per-create)."""
    members = []
    for member in state["members"]:
        members.append({k: v for k, v in member.items() if k not in ("open_userid", "qr_code")})
    return {"departments": sorted(state["departments"], key=lambda d: d["id"]),
            "members": sorted(members, key=lambda m: m["userid"])}
