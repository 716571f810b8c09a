"""Reliability sweep: bulkdir under faults, kill -9 at every phase, secrets and formulas, checked end to end.

    python bench/sweep.py                  # the full sweep: 15 fault trials, 36 kill -9 trials (about 5 minutes)
    python bench/sweep.py --quick          # 5 fault trials, one kill -9 trial per phase (about 1.5 minutes)
    python bench/sweep.py --keep           # keep the work folder (sheets, journals, reports, logs) afterwards
    python bench/sweep.py --only kill-05   # only the trials whose name holds this (repeatable)

It is run by hand and prints tables; it is not part of the tests. Everything is real: emulators over real
HTTP (in this process, or `bulkdir emulator --db` subprocesses where one must be killed and restarted) and
`python -m bulkdir import` as real subprocesses, each with its own BULKDIR_HOME and journal.

The sheets. Sheet A (xlsx, 301 rows) creates 11 departments up to three levels deep (some named =财务,
+海外组, @结算, -销售部), 260 new members (risky positions and aliases, a few +852 mobiles, direct leaders
naming members on later rows, so the leader-link phase runs), updates 25 of 40 members seeded beforehand and
has one invalid row. Sheet B (CSV, 283 rows) is run after A with `--delete-missing --scope all
--prune-departments --allow-mass-delete`: it moves and updates members, creates 10 more, deletes 68 (30
seeded leavers, 3 contractors, 35 of A's) and prunes the 4 departments that end up empty.

The reference. A clean, uninterrupted run of each sheet (A on the seeded corp, B on the corp A left) gives
the directory every trial must end with (GET /_emulator/state without open_userid and qr_code), the result
word of every row, and how many members are created.

What every trial checks, after each run that finished and at the end:
  converged      rerun the same command (at most 3 runs in all) until it exits 0 or 1 with no row failed,
                 skipped or interrupted
  == clean run   the final directory equals the clean run's
  truthful       every row of the result file reported created/updated/unchanged holds the row's values,
                 no row reported failed/skipped/invalid is in fact done, every deleted member is gone, the
                 --json counts match the file; after a kill the final report gives each row the word the
                 clean run gave it (a member the killed run created still reads `created`)
  duplicates     successful user/create calls (summed over emulator restarts) minus the members created:
                 a member must never be created twice
  resumed        (kill -9) the rerun prints "Resuming run" whenever the killed run had been journalled

Fault trials (faults through POST /_emulator/faults, kept on for the reruns): errcode -1 at 20%, HTTP 502
at 10%, both, tokens expired mid-run (POST /_emulator/expire-tokens), lost answers (the emulator's latency
above bulkdir's --timeout for a while, so the write lands after the client gave up; or a proxy in front of
the emulator that closes the connection instead of passing the answer on), and the emulator killed with
SIGKILL and restarted on the same port and db while bulkdir runs (new calls are held in a 60 s latency first,
so that its counters, read just before the kill, are exact: a held call dies unapplied with the process).

Kill -9 trials: bulkdir is killed while it plans, during department creates, member creates and updates,
direct-leader links, deletes, department prunes and while it writes the report (the hidden
`.result….partial` file beside the report). The phase is read from the journal (sqlite `runs` and
`operations`), from the emulator's counters, or from a proxy that holds one chosen answer back, so that the
kill lands after a write and before its answer.

Secrets: every run's stdout and stderr, every file under each BULKDIR_HOME but its token cache (cache/),
every journal and every result, errors, plan, export and validate report (xlsx unzipped) are searched for the
corp secret, the app secret and every access token the emulators issued (their db's `tokens` table).

Formulas: in every xlsx bulkdir wrote, the cells starting with = + - @ tab or CR and how many are stored as
formulas (openpyxl, data_only=False, data_type "f"); in every CSV, how many such cells lack the leading '.

Each trial folder holds the sheet's emulator db copy, the journal, every run's stdout and stderr and the
result files (kept with --keep). Exit status 0 when every check held, 1 when any failed (the tables say
which, and why, under "Failures").
"""

from __future__ import annotations

import argparse
import csv
import http.client
import json
import os
import random
import re
import secrets
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections import Counter
from contextlib import closing
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlsplit

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import requests  # noqa: E402
from openpyxl import Workbook, load_workbook  # noqa: E402

from bulkdir.emulator import EmulatorOptions, EmulatorServer  # noqa: E402
from bulkdir.sheets import read_sheet  # noqa: E402

CORP_ID = "wwsweep5f3c9a17e2"
SECRET = "sweep-SECRET-sync-" + secrets.token_hex(16)
APP_SECRET = "sweep-SECRET-app-" + secrets.token_hex(16)
ROOT = "示例企业"
RISKY = ("=", "+", "-", "@", "\t", "\r")
WRITE_APIS = ("user/create", "user/update", "user/batchdelete", "user/delete",
              "department/create", "department/update", "department/delete")
B_OPTIONS = ["--delete-missing", "--scope", "all", "--prune-departments", "--allow-mass-delete"]
HEADER = ["帐号", "姓名", "手机", "邮箱", "部门", "职务", "别名", "直属上级"]
FIELDS = {"帐号": "userid", "姓名": "name", "手机": "mobile", "邮箱": "email", "部门": "department",
          "职务": "position", "别名": "alias", "直属上级": "direct_leader"}


# ================================================================================================
# The sheets and the seeded corp

A_DEPARTMENTS = ["总部", "总部/研发中心", "总部/研发中心/平台组", "总部/研发中心/应用组", "总部/市场部",
                 "总部/市场部/华东", "=财务", "=财务/+海外组", "=财务/+海外组/@结算", "分公司", "分公司/-销售部"]
# where A's 260 new members go, in this order
PLACES = ([("总部/研发中心/平台组", 60), ("总部/研发中心/应用组", 50), ("总部/市场部", 30), ("总部/市场部/华东", 20),
           ("=财务/+海外组", 25), ("=财务/+海外组/@结算", 10), ("分公司/-销售部", 40), ("总部", 10), ("分公司", 15)])
RISKY_POSITIONS = ["=1+1", "+高级", "-实习", "@外派", "\t资深"]
RISKY_ALIASES = ["=A{}", "+a{}", "-b{}", "@c{}", "\td{}"]
NEW = 260
SEEDED = 40


def new_members() -> list[dict[str, str]]:
    """A's 260 new members as sheet values (text as typed)."""
    places = [place for place, count in PLACES for _ in range(count)]
    members = []
    for i in range(NEW):
        position = RISKY_POSITIONS[(i // 25) % 5] if i % 25 == 3 else ["工程师", "经理", "设计师"][i % 3]
        alias = RISKY_ALIASES[(i // 20) % 5].format(i) if i % 20 == 11 else ""
        members.append({
            "userid": f"u{i:03d}", "name": f"成员{i:03d}",
            "mobile": f"+852 9{i:07d}" if i % 50 == 7 else f"139{i:08d}",
            "email": f"u{i:03d}@example.com" if i % 3 == 0 else "",
            "department": places[i], "position": position, "alias": alias,
            # a leader on a later row: the link is made after both exist
            "direct_leader": f"u{i + 7:03d}" if i % 5 == 0 and i + 7 < NEW else ("old01" if i % 17 == 4 else ""),
        })
    return members


def seeded(j: int) -> dict[str, str]:
    return {"userid": f"old{j:02d}", "name": f"老员工{j:02d}", "mobile": f"137{j:08d}", "email": "",
            "department": "老部门", "position": "工程师", "alias": "", "direct_leader": ""}


def sheet_a_rows() -> list[dict[str, str]]:
    rows = []
    for j in range(SEEDED):
        row = seeded(j)
        if j < 15:
            row["position"] = "高级工程师"
        elif j < 25:
            row["department"] = "总部/研发中心"
        rows.append(row)
    members = new_members()
    rows += members[:110]
    rows.append({"userid": "bad001", "name": "坏行", "mobile": "12345", "email": "", "department": "总部",
                 "position": '=HYPERLINK("http://evil.example","x")', "alias": "@SUM(1+1)", "direct_leader": ""})
    rows += members[110:]
    return rows


def b_removed(i: int, place: str) -> bool:
    """Which of A's members sheet B leaves out (so --delete-missing deletes them)."""
    if place == "=财务/+海外组/@结算":
        return True
    if place == "总部/市场部/华东":
        return i % 2 == 1
    return i % 15 == 14


def sheet_b_rows() -> list[dict[str, str]]:
    rows = []
    for row in sheet_a_rows()[:SEEDED]:
        row = dict(row)
        j = int(row["userid"][3:])
        if j == 5:
            row.update(email="bad#mail", position="不应生效")  # invalid: old05 is kept, and not changed
        elif 10 <= j < 15:
            row["position"] = "主管"
        rows.append(row)
    for i, member in enumerate(new_members()):
        if b_removed(i, member["department"]):
            continue
        row = dict(member, direct_leader="")
        if member["department"] == "总部/市场部/华东":
            row["department"] = "总部/市场部"
        elif member["department"] == "总部/研发中心/平台组" and i % 3 == 0:
            row["department"] = "分公司/-销售部"
        rows.append(row)
    for k in range(10):
        rows.append({"userid": f"n{k:02d}", "name": f"新人{k:02d}", "mobile": f"136{k:08d}", "email": "",
                     "department": "分公司/-销售部", "position": "销售", "alias": "",
                     "direct_leader": f"n{k + 1:02d}" if k < 9 else ""})
    return rows


def write_xlsx_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    book = Workbook()
    sheet = book.active
    sheet.title = "成员列表"
    sheet.append(HEADER)
    for row in rows:
        sheet.append([row[FIELDS[h]] or None for h in HEADER])
    for line in sheet.iter_rows(min_row=2):
        for cell in line:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.data_type = "s"  # text that looks like a formula, as HR types it
    book.save(path)
    return path


def write_csv_sheet(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADER)
        for row in rows:
            writer.writerow([row[FIELDS[h]] for h in HEADER])
    return path


def seed_corp(url: str) -> None:
    """The corp before sheet A: 老部门 (40 members), 老部门/旧项目组 (30 leavers), 外包 (3 contractors)."""
    http = requests.Session()
    token = http.get(f"{url}/cgi-bin/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET},
                     timeout=10).json()["access_token"]

    def call(api: str, body: dict[str, Any]) -> None:
        answer = http.post(f"{url}/cgi-bin/{api}", params={"access_token": token}, json=body, timeout=10).json()
        assert answer["errcode"] == 0, (api, body, answer)

    call("department/create", {"name": "老部门", "parentid": 1, "id": 2})
    call("department/create", {"name": "外包", "parentid": 1, "id": 3})
    call("department/create", {"name": "旧项目组", "parentid": 2, "id": 4})
    for j in range(SEEDED):
        call("user/create", {"userid": f"old{j:02d}", "name": f"老员工{j:02d}", "mobile": f"137{j:08d}",
                             "department": [2], "position": "工程师"})
    for j in range(30):
        call("user/create", {"userid": f"leave{j:02d}", "name": f"离职{j:02d}", "mobile": f"135{j:08d}",
                             "department": [4], "position": "工程师"})
    for j in range(3):
        call("user/create", {"userid": f"ext{j:02d}", "name": f"外包{j:02d}", "mobile": f"134{j:08d}",
                             "department": [3]})
    http.close()


# ================================================================================================
# Emulators and a proxy that loses answers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Emulator:
    """One trial's emulator on its own copy of a template db: in this process, or (`process=True`) a
    `bulkdir emulator --db` subprocess that can be killed with SIGKILL and restarted on the same port."""

    def __init__(self, db: Path, process: bool = False, **options: Any):
        self.db = db
        self.process_mode = process
        self.options = options
        self.server: EmulatorServer | None = None
        self.process: subprocess.Popen | None = None
        self.http = requests.Session()
        self.past_ok: Counter = Counter()  # successful calls counted by emulators since killed
        self.past_errors: Counter = Counter()
        self.past_calls: Counter = Counter()
        self.kills = 0
        self.down = 0.0  # seconds the emulator was down
        if process:
            self.port = free_port()
            self._spawn()
        else:
            self.server = EmulatorServer(EmulatorOptions(corp_id=CORP_ID, secret=SECRET, app_secret=APP_SECRET,
                                                         db=str(db), **options)).start()
            self.url = self.server.url

    def _spawn(self) -> None:
        command = [sys.executable, "-m", "bulkdir", "emulator", "--port", str(self.port), "--db", str(self.db),
                   "--corp-id", CORP_ID, "--secret", SECRET, "--app-secret", APP_SECRET]
        for name, value in self.options.items():
            command += [f"--{name.replace('_', '-')}", str(value)]
        deadline = time.monotonic() + 30
        while True:  # the port may still be held for a moment after a kill
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                                            env=dict(os.environ, PYTHONPATH=str(REPO)))
            line = self.process.stdout.readline() if self.process.stdout else ""
            if "listening on" in line:
                self.url = f"http://127.0.0.1:{self.port}"
                return
            self.process.wait()
            if time.monotonic() > deadline:
                raise RuntimeError(f"the emulator did not start again on port {self.port}: {line!r}")
            time.sleep(0.2)

    def kill(self) -> None:
        """SIGKILL the subprocess. First every new call is held (latency 60 s), so that the counters read
        just before the kill are exact: a call held in the latency dies with the process, never applied."""
        assert self.process is not None
        self.faults(latency_ms=60000)
        time.sleep(0.05)
        stats = self.stats()
        self.past_ok.update(stats["ok"])
        self.past_errors.update(stats["errors"])
        self.past_calls.update(stats["calls"])
        self.process.send_signal(signal.SIGKILL)
        self.process.wait()
        self.kills += 1
        self._killed_at = time.monotonic()

    def restart(self) -> None:
        self._spawn()
        self.down += time.monotonic() - self._killed_at

    def control(self, method: str, name: str, body: dict | None = None) -> Any:
        answer = self.http.request(method, f"{self.url}/_emulator/{name}", json=body, timeout=30)
        answer.raise_for_status()
        return answer.json()

    def stats(self) -> dict[str, dict[str, int]]:
        return self.control("GET", "stats")

    def quick_stats(self) -> dict[str, dict[str, int]]:
        """The same counters, read without HTTP when the emulator runs in this process (for polling)."""
        return self.server.gate.stats() if self.server is not None else self.stats()

    def ok_total(self, api: str) -> int:
        """Successful calls of an API over every life of this emulator."""
        return self.past_ok[api] + self.stats()["ok"].get(api, 0)

    def writes_sent(self) -> int:
        """Calls of the write APIs received over every life of this emulator (faults and refusals included)."""
        calls = self.past_calls + Counter(self.stats()["calls"])
        return sum(calls[api] for api in WRITE_APIS)

    def errors_total(self) -> Counter:
        """Answers by errcode (and "http-502") over every life of this emulator."""
        return self.past_errors + Counter(self.stats()["errors"])

    def state(self) -> dict[str, Any]:
        return self.control("GET", "state")

    def faults(self, **settings: Any) -> dict[str, Any]:
        return self.control("POST", "faults", settings)

    def expire_tokens(self) -> None:
        self.control("POST", "expire-tokens")

    def tokens(self) -> set[str]:
        """Every access token this emulator issued (kept in its db, so also those of killed processes)."""
        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True, timeout=5)) as db:
            return {row[0] for row in db.execute("SELECT token FROM tokens")}

    def stop(self) -> None:
        self.http.close()
        if self.server is not None:
            self.server.stop()
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class AnswerProxy:
    """An HTTP proxy between bulkdir and an emulator that passes every request on and may lose answers:
    `drop_rates` ({api: share}) closes the connection instead of passing the answer on (the write has
    landed, the answer never arrives); `hold` ((api, n, seconds)) keeps the answer of the n-th call of that
    API back for a while and sets `holding`, so that bulkdir can be killed between a write and its answer."""

    def __init__(self, upstream: str, seed: int = 0):
        parts = urlsplit(upstream)
        self.upstream = (parts.hostname or "127.0.0.1", parts.port or 80)
        self.drop_rates: dict[str, float] = {}
        self.hold: tuple[str, int, float] | None = None
        self.holding = threading.Event()
        self.seen: Counter = Counter()
        self.dropped: Counter = Counter()
        self.random = random.Random(seed)
        self.lock = threading.Lock()
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            upstream_connection: http.client.HTTPConnection | None = None

            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                proxy.forward(self)

            do_POST = do_GET

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.server.handle_error = lambda request, address: None  # a client killed mid-request is expected
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.thread.start()

    def forward(self, handler: BaseHTTPRequestHandler) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else None
        api = urlsplit(handler.path).path.removeprefix("/cgi-bin/")
        with self.lock:
            self.seen[api] += 1
            drop = self.random.random() < self.drop_rates.get(api, 0.0)
            rule = self.hold
            hold_for = rule[2] if rule is not None and rule[0] == api and rule[1] == self.seen[api] else 0.0
        try:
            if handler.upstream_connection is None:  # type: ignore[attr-defined]
                handler.upstream_connection = http.client.HTTPConnection(*self.upstream, timeout=120)  # type: ignore
            connection = handler.upstream_connection  # type: ignore[attr-defined]
            headers = {"Content-Type": handler.headers.get("Content-Type") or "application/json"}
            connection.request(handler.command, handler.path, body=body, headers=headers)
            answer = connection.getresponse()
            data = answer.read()
        except (OSError, http.client.HTTPException):
            handler.upstream_connection = None  # type: ignore[attr-defined]
            handler.close_connection = True
            return
        if drop:
            with self.lock:
                self.dropped[api] += 1
            handler.close_connection = True  # no answer: the connection just closes
            return
        if hold_for:
            self.holding.set()
            time.sleep(hold_for)
        try:
            handler.send_response(answer.status)
            handler.send_header("Content-Type", answer.getheader("Content-Type") or "application/json")
            handler.send_header("Content-Length", str(len(data)))
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            handler.close_connection = True  # the client is gone (killed while the answer was held)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


# ================================================================================================
# Auditing every run's output: secrets and formulas


class Audit:
    """What every run printed and wrote, searched for secrets and tokens, and every xlsx and CSV bulkdir
    wrote, counted for risky cells."""

    def __init__(self) -> None:
        self.tokens: set[str] = set()
        self.texts: list[tuple[str, str]] = []  # (label, stdout + stderr), searched at the end
        self.files_seen: set[tuple[str, int, int]] = set()
        self.files_searched = 0
        self.leaks: list[str] = []
        self.formula_seen: set[tuple[str, int, int]] = set()
        # (format, what the file is) -> files, risky cells, live ones (xlsx: formulas; CSV: no leading ')
        self.cells: dict[tuple[str, str], Counter] = {}
        self.prefixes: Counter = Counter()  # risky cells by their first character
        self.formula_failures: list[str] = []
        self.cache_hits = 0  # known tokens found in the token caches (the search looks for the real ones)

    def forbidden(self) -> list[tuple[str, str]]:
        return [("the corp secret", SECRET), ("the app secret", APP_SECRET)] + [
            (f"token {t[:6]}…", t) for t in sorted(self.tokens)]

    def add_text(self, label: str, text: str) -> None:
        self.texts.append((label, text))

    def search_files(self, folder: Path, skip: tuple[Path, ...] = ()) -> None:
        """Every file below `folder` (but `skip`): raw bytes, and each member of a zip (xlsx) unpacked."""
        forbidden = [(name, value.encode()) for name, value in self.forbidden()]
        for path in sorted(folder.rglob("*")):
            if not path.is_file() or any(path.is_relative_to(s) for s in skip):
                continue
            info = path.stat()
            key = (str(path), info.st_mtime_ns, info.st_size)
            if key in self.files_seen:
                continue
            self.files_seen.add(key)
            self.files_searched += 1
            blobs = [path.read_bytes()]
            if zipfile.is_zipfile(path):
                with zipfile.ZipFile(path) as archive:
                    blobs += [archive.read(name) for name in archive.namelist()]
            for name, value in forbidden:
                if any(value in blob for blob in blobs):
                    self.leaks.append(f"{name} in {path}")

    def search_texts(self) -> None:
        for label, text in self.texts:
            for name, value in self.forbidden():
                if value in text:
                    self.leaks.append(f"{name} in the output of {label}")

    def search_caches(self, folder: Path) -> None:
        """Count the known tokens the token cache holds: were none there, the tokens searched for would be wrong."""
        if folder.exists():
            for path in folder.rglob("*"):
                if path.is_file():
                    data = path.read_bytes()
                    self.cache_hits += sum(token.encode() in data for token in self.tokens)

    def count_formulas(self, folder: Path) -> None:
        """Every xlsx and CSV directly in `folder` (what bulkdir wrote there), each version once."""
        for path in sorted(folder.iterdir()):
            if path.name.startswith(".") or path.suffix.lower() not in (".xlsx", ".csv") or not path.is_file():
                continue
            info = path.stat()
            key = (str(path), info.st_mtime_ns, info.st_size)
            if key in self.formula_seen:
                continue
            self.formula_seen.add(key)
            name = path.name
            what = ("errors files" if ".errors" in name else "results" if name.startswith("result-") else
                    "exports" if name.startswith("export") else "validate reports" if name.startswith("problems")
                    else "other")
            fmt = path.suffix.lower()[1:]
            counts = self.cells.setdefault((fmt, what), Counter())
            counts["files"] += 1
            (self._xlsx if fmt == "xlsx" else self._csv)(path, counts)

    def _risky(self, text: str, counts: Counter) -> None:
        counts["risky"] += 1
        self.prefixes["tab" if text[0] == "\t" else "CR" if text[0] == "\r" else text[0]] += 1

    def _xlsx(self, path: Path, counts: Counter) -> None:
        book = load_workbook(path, data_only=False)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if cell.data_type == "f":
                        self._risky(str(cell.value), counts)
                        counts["live"] += 1
                        self.formula_failures.append(f"{path.name}!{cell.coordinate} is a formula: {cell.value!r}")
                    elif isinstance(cell.value, str) and cell.value.startswith(RISKY):
                        self._risky(cell.value, counts)
        book.close()

    def _csv(self, path: Path, counts: Counter) -> None:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            for number, row in enumerate(csv.reader(handle), 1):
                for cell in row:
                    if cell.lstrip("'").startswith(RISKY):
                        self._risky(cell.lstrip("'"), counts)
                        if cell.startswith(RISKY):
                            counts["live"] += 1
                            self.formula_failures.append(f"{path.name} line {number}: {cell!r} has no leading '")

    def total(self, fmt: str) -> Counter:
        return sum((c for (f, _), c in self.cells.items() if f == fmt), Counter())


AUDIT = Audit()


# ================================================================================================
# Running bulkdir


@dataclass
class Run:
    """One `bulkdir` process: its exit code (negative: killed by that signal), output and summary."""

    label: str
    code: int
    stdout: str
    stderr: str
    seconds: float
    killed: bool = False
    at_kill: str = ""
    words: list[tuple[str, str]] | None = None  # (userid, result) of each result row, once checked

    @property
    def summary(self) -> dict[str, Any] | None:
        for line in reversed(self.stdout.strip().splitlines()):
            if line.startswith("{"):
                try:
                    return json.loads(line)
                except ValueError:
                    return None
        return None

    @property
    def resumed(self) -> bool:
        return "Resuming run" in self.stderr

    @property
    def settled(self) -> bool:
        """Exit 0 or 1 with nothing left to do: no row failed, skipped or interrupted."""
        summary = self.summary
        return (self.code in (0, 1) and summary is not None and not summary.get("interrupted")
                and summary.get("failed", 0) == 0 and summary.get("skipped", 0) == 0)


def run_bulkdir(args: list[str], env: dict[str, str], cwd: Path, label: str,
                kill_when: Callable[[], bool] | None = None, observe: Callable[[], str] | None = None,
                timeout: float = 300) -> Run:
    """`python -m bulkdir ARGS` as a real process; with `kill_when`, SIGKILL it the moment that holds."""
    out, err = cwd / f"{label}.stdout", cwd / f"{label}.stderr"
    started = time.monotonic()
    with open(out, "w") as stdout, open(err, "w") as stderr:
        process = subprocess.Popen([sys.executable, "-m", "bulkdir", *args], env=env, cwd=cwd,
                                   stdout=stdout, stderr=stderr)
        killed, at_kill = False, ""
        if kill_when is not None:
            while process.poll() is None:
                if kill_when():
                    process.send_signal(signal.SIGKILL)
                    killed = True
                    break
                time.sleep(0.001)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if killed and observe is not None:
            at_kill = observe()
    run = Run(label, process.returncode, out.read_text(), err.read_text(), time.monotonic() - started,
              killed and process.returncode == -signal.SIGKILL, at_kill)
    AUDIT.add_text(f"{cwd.name}/{label}", run.stdout + run.stderr)
    return run


def journal_progress(path: Path, unfinished: bool = False) -> tuple[int, Counter]:
    """(runs, Counter of (kind, state)) read from a journal another process is writing; (0, {}) before it
    exists. With `unfinished`, only runs not marked finished are counted (a rerun resumes those)."""
    if not path.exists():
        return 0, Counter()
    try:
        with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=0.2)) as db:
            runs = db.execute("SELECT COUNT(*) FROM runs" + (" WHERE status != 'finished'" if unfinished else "")
                              ).fetchone()[0]
            ops = Counter({(kind, state): n for kind, state, n in
                           db.execute("SELECT kind, state, COUNT(*) FROM operations GROUP BY kind, state")})
        return runs, ops
    except sqlite3.Error:
        return 0, Counter()


# ================================================================================================
# Checking a run: the directory, and the truth of its result file


def comparable(state: dict[str, Any]) -> dict[str, Any]:
    members = [{k: v for k, v in m.items() if k not in ("open_userid", "qr_code")} for m in state["members"]]
    return {"departments": sorted(state["departments"], key=lambda d: d["id"]),
            "members": sorted(members, key=lambda m: m["userid"].lower())}


def state_diff(got: dict[str, Any], want: dict[str, Any]) -> str:
    """A short account of how two directories differ."""
    got_c, want_c = comparable(got), comparable(want)
    if got_c == want_c:
        return ""
    notes = []
    got_d = {d["id"]: d for d in got_c["departments"]}
    want_d = {d["id"]: d for d in want_c["departments"]}
    for dep_id in sorted(set(got_d) | set(want_d)):
        if got_d.get(dep_id) != want_d.get(dep_id):
            notes.append(f"department {dep_id}: {got_d.get(dep_id)} != clean {want_d.get(dep_id)}")
    got_m = {m["userid"].lower(): m for m in got_c["members"]}
    want_m = {m["userid"].lower(): m for m in want_c["members"]}
    for key in sorted(set(got_m) | set(want_m)):
        a, b = got_m.get(key), want_m.get(key)
        if a != b:
            if a is None or b is None:
                notes.append(f"member {key}: {'missing' if a is None else 'extra'}")
            else:
                fields = [f for f in sorted(set(a) | set(b)) if a.get(f) != b.get(f)]
                notes.append(f"member {key}: " + ", ".join(f"{f} {a.get(f)!r} != clean {b.get(f)!r}" for f in fields))
    text = f"{len(notes)} differences: " + "; ".join(notes[:4])
    if by_path(got) == by_path(want):
        got_ids, want_ids = department_ids(got), department_ids(want)
        moved = [f"{'/'.join(path)} {got_ids[path]} (clean {want_ids[path]})" for path in sorted(want_ids)
                 if got_ids.get(path) != want_ids[path]]
        text = (f"the same tree and members, but other department ids: {', '.join(moved)}; so {len(notes)} "
                "departments and members differ")
    return text


def by_path(state: dict[str, Any]) -> dict[str, Any]:
    """A directory with every department id replaced by the department's path (to tell id-only differences)."""
    paths = {dep_id: "/".join(path) for path, dep_id in department_ids(state).items()}
    departments = sorted((paths[d["id"]], paths.get(d["parentid"], ""), d.get("order"), d.get("name_en"),
                          tuple(d.get("department_leader") or ())) for d in state["departments"])
    members = {}
    for member in comparable(state)["members"]:
        member = dict(member)
        member["department"] = [paths.get(i, i) for i in member.get("department") or []]
        member["main_department"] = paths.get(member.get("main_department"), member.get("main_department"))
        members[member["userid"].lower()] = member
    return {"departments": departments, "members": members}


def department_ids(state: dict[str, Any]) -> dict[tuple[str, ...], int]:
    by_id = {d["id"]: d for d in state["departments"]}
    paths: dict[tuple[str, ...], int] = {}
    for department in state["departments"]:
        path: list[str] = []
        current = department
        while current["id"] != 1:
            path.insert(0, current["name"])
            current = by_id[current["parentid"]]
        paths[tuple(path)] = department["id"]
    return paths


def norm_mobile(text: str) -> str:
    digits = re.sub(r"[\s-]", "", text)
    return digits[3:] if digits.startswith("+86") else digits


def unheld(row: dict[str, str], member: dict[str, Any] | None, paths: dict[tuple[str, ...], int]) -> list[str]:
    """The fields of a sheet row the member does not hold (all of them when it does not exist)."""
    values = {FIELDS[h]: (row.get(h) or "").strip() for h in HEADER if (row.get(h) or "").strip()}
    if member is None:
        return sorted(values)
    differ = []
    for name, text in values.items():
        have = member.get(name)
        if name == "mobile":
            same = norm_mobile(text) == norm_mobile(have or "")
        elif name == "email":
            same = text.lower() == (have or "").lower()
        elif name == "userid":
            same = text.lower() == (have or "").lower()
        elif name == "department":
            wanted = []
            for part in re.split(r"[;；]", text):
                names = [p.strip() for p in part.split("/") if p.strip()]
                if names and names[0] == ROOT:
                    names = names[1:]
                wanted.append(paths.get(tuple(names), -1))
            same = wanted == list(have or [])
        elif name == "direct_leader":
            same = [u.strip().lower() for u in re.split(r"[;；,，]", text) if u.strip()] == \
                   [u.lower() for u in have or []]
        else:
            same = text == (have or "")
        if not same:
            differ.append(f"{name}={have!r}")
    return differ


def check_report(path: Path, sheet_rows: list[dict[str, str]], initial: dict[str, Any], before: dict[str, Any],
                 after: dict[str, Any], summary: dict[str, Any] | None) -> tuple[list[str], list[tuple[str, str]]]:
    """The lies in a result file, read against the directory before and after its run (and at the start of
    the trial: a member an interrupted earlier run created is `created` in the rerun's report); and
    (userid, word) for every row, the sheet's rows first, then the rows added below."""
    lies: list[str] = []
    if not path.exists():
        return [f"no result file {path.name}"], []
    rows = read_sheet(path).rows
    header, data = rows[0], [dict(zip(rows[0], r)) for r in rows[1:] if any(c.strip() for c in r)]
    if "result" not in header:
        return [f"{path.name} has no result column"], []
    members_after = {m["userid"].lower(): m for m in after["members"]}
    members_before = {m["userid"].lower(): m for m in before["members"]}
    members_initial = {m["userid"].lower() for m in initial["members"]}
    paths_after, paths_before = department_ids(after), department_ids(before)
    words: list[tuple[str, str]] = []
    tally: Counter = Counter()
    if len(data) < len(sheet_rows):
        lies.append(f"{len(data)} result rows for {len(sheet_rows)} sheet rows")
    for index, row in enumerate(data):
        userid = (row.get("帐号") or "").strip()
        word, message = row.get("result", ""), row.get("message", "")
        where = f"row {index + 2} ({userid or 'no userid'}) {word}"
        words.append((userid.lower(), word))
        on_sheet = index < len(sheet_rows)
        if on_sheet and userid.lower() != sheet_rows[index]["userid"].lower():
            lies.append(f"{where}: result row {index + 2} is not the sheet's row for {sheet_rows[index]['userid']}")
        if not userid:  # a row added below for a department the prune kept
            if "kept:" not in message:
                tally[word] += 1
            name = re.match(r"department (\S+):", message)
            if word == "failed" and "kept:" in message and name and department_ids(after).get(
                    tuple(name.group(1).split("/"))) is None:
                lies.append(f"{where}: says the department was kept, but it is gone")
            continue
        tally[word] += 1
        member = members_after.get(userid.lower())
        if not on_sheet or word == "deleted":
            if word == "deleted" and member is not None:
                lies.append(f"{where}: reported deleted, but the member is still in the directory")
            elif word == "disabled" and (member is None or member.get("enable") != 0):
                lies.append(f"{where}: reported disabled, but it is not")
            elif word not in ("deleted", "disabled", "skipped", "failed"):
                lies.append(f"{where}: unexpected result for a row added below the sheet")
            continue
        missing = unheld(row, member, paths_after)
        if word in ("created", "updated", "unchanged"):
            if missing:
                lies.append(f"{where}: the directory does not hold {', '.join(missing[:4])}")
            if word == "created" and userid.lower() in members_initial:
                lies.append(f"{where}: reported created, but the member was there before the trial")
        elif word in ("failed", "skipped"):
            done = member is not None and not missing
            was_done = userid.lower() in members_before and not unheld(
                row, members_before.get(userid.lower()), paths_before)
            if done and not was_done:
                lies.append(f"{where}: reported {word} but it was done ({message[:80]!r})")
        elif word == "invalid":
            old = members_before.get(userid.lower())
            if old is None and member is not None:
                lies.append(f"{where}: reported invalid, but the member was created")
            elif old is not None and member is not None:
                changed = [f for f in ("name", "mobile", "email", "department", "position", "alias", "direct_leader")
                           if old.get(f) != member.get(f)]
                if changed:
                    lies.append(f"{where}: reported invalid, but {', '.join(changed)} changed")
        else:
            lies.append(f"{where}: unknown result word")
    if summary is not None:
        for name in ("created", "updated", "unchanged", "deleted", "failed", "invalid", "skipped"):
            if summary.get(name, 0) != tally.get(name, 0):
                lies.append(f"--json says {summary.get(name, 0)} {name}, the result file has {tally.get(name, 0)}")
    return lies, words


# ================================================================================================
# The sweep: templates, clean runs, trials


@dataclass
class Sheet:
    """A sheet and what its clean run produced."""

    name: str  # "A" or "B"
    path: Path
    rows: list[dict[str, str]]
    options: list[str]
    template: Path  # the emulator db the sheet is run on
    clean_state: dict[str, Any] = field(default_factory=dict)
    clean_words: list[tuple[str, str]] = field(default_factory=list)
    writes: int = 0  # write calls the clean run sent
    totals: Counter = field(default_factory=Counter)  # operations of the clean run by kind


@dataclass
class Outcome:
    """One row of a trial table."""

    kind: str
    name: str
    what: str
    codes: list[int] = field(default_factory=list)
    converged: bool = False
    equal: bool = False
    truthful: bool = False
    duplicates: int = 0
    seconds: float = 0.0
    resumed: str = "-"
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return (self.converged and self.equal and self.truthful and self.duplicates == 0
                and self.resumed != "NO" and not self.problems)


class Trial:
    """One trial: a folder, a BULKDIR_HOME, a journal, an emulator on a copy of the sheet's template db,
    and the same `bulkdir import` command run until it settles."""

    def __init__(self, sweep: "Sweep", name: str, sheet: Sheet, *, process: bool = False, proxy: bool = False,
                 workers: int = 4, report_suffix: str | None = None, extra: list[str] | None = None,
                 **emulator_options: Any):
        self.sweep, self.name, self.sheet = sweep, name, sheet
        self.dir = sweep.work / "trials" / name
        (self.dir / "emulator").mkdir(parents=True)
        self.home = self.dir / "home"
        self.home.mkdir()
        self.journal = self.dir / "journal.sqlite3"
        self.report = self.dir / f"result-{sheet.name}{report_suffix or ('.xlsx' if sheet.name == 'A' else '.csv')}"
        db = self.dir / "emulator" / "corp.sqlite3"
        shutil.copyfile(sheet.template, db)
        self.emulator = Emulator(db, process=process, **emulator_options)
        self.proxy = AnswerProxy(self.emulator.url) if proxy else None
        self.workers = workers
        self.extra = extra or []
        self.runs: list[Run] = []
        self.lies: list[str] = []
        self.initial = self.emulator.state()

    @property
    def url(self) -> str:
        return self.proxy.url if self.proxy else self.emulator.url

    def args(self) -> list[str]:
        return ["import", str(self.sheet.path), "--yes", "--json", "--quiet", "--force", "--journal",
                str(self.journal), "--report", str(self.report), *self.sheet.options, *self.extra]

    def env(self) -> dict[str, str]:
        return dict(os.environ, PYTHONPATH=str(REPO), BULKDIR_CORP_ID=CORP_ID, BULKDIR_SECRET=SECRET,
                    BULKDIR_APP_SECRET=APP_SECRET, BULKDIR_BASE_URL=self.url, BULKDIR_HOME=str(self.home),
                    BULKDIR_RATE="600000", BULKDIR_WORKERS=str(self.workers))

    def run(self, kill_when: Callable[[], bool] | None = None, observe: Callable[[], str] | None = None,
            after: Callable[[], None] | None = None) -> Run:
        """One run of the command; its result file is checked against the directory before and after it.
        `after` is called once the process has ended, before anything is read (a watcher is stopped)."""
        before = self.emulator.state()
        run = run_bulkdir(self.args(), self.env(), self.dir, f"run{len(self.runs) + 1}", kill_when, observe)
        if after is not None:
            after()
        self.runs.append(run)
        self.audit_outputs()
        if not run.killed and run.summary is not None and run.code in (0, 1):
            lies, words = check_report(self.report, self.sheet.rows, self.initial, before, self.emulator.state(),
                                       run.summary)
            self.lies += [f"run {len(self.runs)}: {lie}" for lie in lies]
            run.words = words
        return run

    def settle(self, limit: int = 3) -> bool:
        """Rerun the same command until a run settles; at most `limit` runs in all."""
        while len(self.runs) < limit:
            if self.runs and self.runs[-1].settled:
                return True
            self.run()
        return bool(self.runs) and self.runs[-1].settled

    def audit_outputs(self) -> None:
        AUDIT.tokens |= self.emulator.tokens()
        AUDIT.count_formulas(self.dir)
        AUDIT.search_files(self.dir, skip=(self.dir / "emulator", self.home / "cache"))

    def finish(self, outcome: Outcome, started: float, compare_words: bool = False) -> Outcome:
        """The end of a trial: the directory against the clean run's, duplicate creates, the lies found."""
        try:
            final = self.emulator.state()
        except requests.RequestException as error:
            outcome.problems.append(f"the final directory could not be read: {error}")
            outcome.seconds = time.monotonic() - started
            self.stop()
            return outcome
        outcome.codes = [r.code for r in self.runs]
        outcome.converged = bool(self.runs) and self.runs[-1].settled
        diff = state_diff(final, self.sheet.clean_state)
        outcome.equal = not diff
        if diff:
            outcome.problems.append(f"directory != clean run: {diff}")
        before = {m["userid"].lower() for m in self.initial["members"]}
        created = len({m["userid"].lower() for m in final["members"]} - before)
        outcome.duplicates = self.emulator.ok_total("user/create") - created
        if outcome.duplicates:
            outcome.problems.append(f"{self.emulator.ok_total('user/create')} successful user/create for {created} "
                                    "new members")
        lies = list(self.lies)
        last = self.runs[-1] if self.runs else None
        if compare_words and last is not None and last.words is not None:
            words = last.words
            sheet_part, clean_part = words[:len(self.sheet.rows)], self.sheet.clean_words[:len(self.sheet.rows)]
            for index, (got, want) in enumerate(zip(sheet_part, clean_part)):
                if got != want:
                    lies.append(f"final report row {index + 2} ({got[0]}): {got[1]}, the clean run said {want[1]}")
            if Counter(words[len(self.sheet.rows):]) != Counter(self.sheet.clean_words[len(self.sheet.rows):]):
                lies.append("final report: the rows added below differ from the clean run's "
                            f"({Counter(w for _, w in words[len(self.sheet.rows):])} vs "
                            f"{Counter(w for _, w in self.sheet.clean_words[len(self.sheet.rows):])})")
        outcome.truthful = not lies and last is not None and last.words is not None
        if lies:
            outcome.problems.append(f"{len(lies)} untrue report rows: " + "; ".join(lies[:3]))
        elif not outcome.truthful:
            outcome.problems.append("no result file was checked")
        outcome.seconds = time.monotonic() - started
        self.stop()
        AUDIT.search_files(self.dir, skip=(self.dir / "emulator", self.home / "cache"))
        AUDIT.search_caches(self.home / "cache")
        return outcome

    def stop(self) -> None:
        if self.proxy is not None:
            self.proxy.stop()
        self.emulator.stop()


class Sweep:
    """The whole sweep: prepare the sheets and the clean runs, run every trial, print the tables."""

    def __init__(self, work: Path, quick: bool, only: list[str] | None = None):
        self.work = work
        self.quick = quick
        self.only = only
        self.sheets: dict[str, Sheet] = {}
        self.outcomes: list[Outcome] = []

    # ---- preparation ----------------------------------------------------------------------------

    def prepare(self) -> None:
        """The sheets, the seeded corp, and the clean run of each sheet (whose end state is B's template)."""
        folder = self.work / "sheets"
        folder.mkdir(parents=True)
        seed_db = folder / "seeded.sqlite3"
        server = EmulatorServer(EmulatorOptions(corp_id=CORP_ID, secret=SECRET, app_secret=APP_SECRET,
                                                db=str(seed_db))).start()
        seed_corp(server.url)
        server.stop()
        a = Sheet("A", write_xlsx_sheet(folder / "staff-A.xlsx", sheet_a_rows()), sheet_a_rows(), [], seed_db)
        b = Sheet("B", write_csv_sheet(folder / "staff-B.csv", sheet_b_rows()), sheet_b_rows(), B_OPTIONS,
                  folder / "after-A.sqlite3")
        self.sheets = {"A": a, "B": b}
        for sheet in (a, b):
            trial = Trial(self, f"clean-{sheet.name}", sheet, workers=8)
            run = trial.run()
            assert run.settled, f"the clean run of sheet {sheet.name} did not succeed: {run.code} {run.stderr[-2000:]}"
            assert not trial.lies, f"the clean run of sheet {sheet.name} reported untruly: {trial.lies[:5]}"
            sheet.clean_state = trial.emulator.state()
            sheet.clean_words = run.words or []
            sheet.writes = trial.emulator.writes_sent()
            _, ops = journal_progress(trial.journal)
            for (kind, _state), n in ops.items():
                sheet.totals[kind] += n
            trial.stop()
            if sheet is a:
                shutil.copyfile(trial.emulator.db, b.template)
        print(f"clean runs: A {a.totals['member_create']} creates, {a.totals['member_update']} updates, "
              f"{a.totals['member_leaders']} leader links, {a.totals['department_create']} departments; "
              f"B {b.totals['member_delete']} deletes, {b.totals['department_delete']} prunes, "
              f"{b.totals['member_update']} updates, {b.totals['member_create']} creates", flush=True)

    # ---- fault trials ---------------------------------------------------------------------------

    def fault_trials(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(name, sheet, what, how) for each fault trial."""
        trials = [
            ("busy-A", "A", "errcode -1 on 20% of calls", {"faults": {"fail_rate": 0.2, "seed": 11}}),
            ("busy-B", "B", "errcode -1 on 20% of calls", {"faults": {"fail_rate": 0.2, "seed": 12}}),
            ("502-A", "A", "HTTP 502 on 10% of calls", {"faults": {"http_error_rate": 0.1, "seed": 13}}),
            ("502-B", "B", "HTTP 502 on 10% of calls", {"faults": {"http_error_rate": 0.1, "seed": 14}}),
            ("busy+502-A", "A", "-1 on 20% and 502 on 10%",
             {"faults": {"fail_rate": 0.2, "http_error_rate": 0.1, "seed": 15}}),
            ("busy+502-B", "B", "-1 on 20% and 502 on 10%",
             {"faults": {"fail_rate": 0.2, "http_error_rate": 0.1, "seed": 16}}),
            ("tokens-A", "A", "tokens expired 3 times mid-run, -1 on 5%",
             {"faults": {"fail_rate": 0.05, "seed": 17}, "during": self._expire_tokens}),
            ("tokens-B", "B", "tokens expired twice mid-run (updates, deletes)", {"during": self._expire_tokens}),
            ("lost-timeout-A", "A", "latency 1.5 s > --timeout 1 for 2 s of member creates",
             {"latency": 5, "extra": ["--timeout", "1"], "during": self._slow_window("user/create", 60)}),
            ("lost-timeout-leaders-A", "A", "latency 1.5 s > --timeout 1 for 2 s of leader links",
             {"latency": 5, "extra": ["--timeout", "1"], "during": self._slow_window("leaders", 10)}),
            ("lost-dropped-A", "A", "proxy drops 30% of write answers (write landed)",
             {"proxy_drop": 0.3}),
            ("lost-dropped-B", "B", "proxy drops 30% of write answers (write landed)",
             {"proxy_drop": 0.3}),
            ("emu-killed-A", "A", "emulator SIGKILLed mid member creates, restarted",
             {"process": True, "during": self._kill_emulator([("user/create", 100)])}),
            ("emu-killed-twice-A", "A", "emulator SIGKILLed in dept creates and leader links",
             {"process": True, "during": self._kill_emulator([("department/create", 4), ("leaders", 15)])}),
            ("emu-killed-B", "B", "emulator SIGKILLed at the deletes and in the prunes",
             {"process": True, "during": self._kill_emulator([("user/batchdelete", 0), ("department/delete", 2)])}),
        ]
        if self.quick:
            keep = {"busy+502-A", "tokens-B", "lost-timeout-A", "lost-dropped-B", "emu-killed-A"}
            trials = [t for t in trials if t[0] in keep]
        return trials

    def run_fault_trial(self, name: str, sheet_name: str, what: str, how: dict[str, Any]) -> Outcome:
        started = time.monotonic()
        sheet = self.sheets[sheet_name]
        options: dict[str, Any] = {}
        if how.get("latency"):
            options["latency_ms"] = how["latency"]
        trial = Trial(self, name, sheet, process=how.get("process", False), proxy="proxy_drop" in how,
                      workers=8, extra=how.get("extra"), **options)
        outcome = Outcome("fault", name, f"{sheet_name}: {what}")
        try:
            if how.get("faults"):
                trial.emulator.faults(**how["faults"])
            if trial.proxy is not None:
                trial.proxy.drop_rates = {api: how["proxy_drop"] for api in WRITE_APIS}
            stop = threading.Event()
            watcher = None
            if how.get("during"):
                watcher = threading.Thread(target=how["during"], args=(trial, stop, outcome), daemon=True)
                watcher.start()

            def stop_watcher() -> None:
                stop.set()
                if watcher is not None:
                    watcher.join()
            trial.run(after=stop_watcher)
            trial.settle()
            if trial.proxy is not None:
                outcome.what += f" [{sum(trial.proxy.dropped.values())} answers dropped]"
            if trial.emulator.kills:
                outcome.what += f" [{trial.emulator.kills} kills, down {trial.emulator.down:.1f} s]"
            errors = trial.emulator.errors_total()
            met = ", ".join(f"{code}×{errors[code]}" for code in ("-1", "http-502", "42001", "60102", "60104", "40031",
                                                                  "60008", "60111") if errors[code])
            outcome.what += (f" [met: {met or 'no errcode'}; {trial.emulator.writes_sent() - sheet.writes} writes "
                             "more than the clean run]")
        except Exception as error:  # noqa: BLE001 - a trial that breaks is a failed row, not a crashed sweep
            outcome.problems.append(f"the trial broke: {type(error).__name__}: {error}")
        return trial.finish(outcome, started)

    # things done while the first run of a fault trial runs

    @staticmethod
    def _reached(trial: Trial, point: str, count: int) -> bool:
        if point == "leaders":
            _, ops = journal_progress(trial.journal)
            return ops[("member_leaders", "done")] + ops[("member_leaders", "started")] >= max(count, 1)
        stats = trial.emulator.quick_stats()
        if count == 0:
            return stats["calls"].get(point, 0) >= 1
        return stats["ok"].get(point, 0) >= count

    def _expire_tokens(self, trial: Trial, stop: threading.Event, outcome: Outcome) -> None:
        points = ([("user/create", 40), ("user/create", 150), ("leaders", 10)] if trial.sheet.name == "A"
                  else [("user/update", 10), ("user/batchdelete", 0)])
        expired = 0
        for point, count in points:
            while not stop.is_set() and not self._reached(trial, point, count):
                stop.wait(0.002)
            if stop.is_set():
                break
            trial.emulator.expire_tokens()
            expired += 1
        outcome.what += f" [{expired} expiries]"

    def _slow_window(self, point: str, count: int) -> Callable[[Trial, threading.Event, Outcome], None]:
        def window(trial: Trial, stop: threading.Event, outcome: Outcome) -> None:
            while not stop.is_set() and not self._reached(trial, point, count):
                stop.wait(0.002)
            if stop.is_set():
                outcome.problems.append(f"the run ended before {point} reached {count}")
                return
            trial.emulator.faults(latency_ms=1500)
            stop.wait(2.0)
            trial.emulator.faults(latency_ms=5)
        return window

    def _kill_emulator(self, points: list[tuple[str, int]]) -> Callable[[Trial, threading.Event, Outcome], None]:
        def kill(trial: Trial, stop: threading.Event, outcome: Outcome) -> None:
            for point, count in points:
                while not stop.is_set() and not self._reached(trial, point, count):
                    stop.wait(0.005)
                if stop.is_set():
                    outcome.problems.append(f"the run ended before {point} reached {count}")
                    return
                trial.emulator.kill()
                time.sleep(0.5)
                trial.emulator.restart()
        return kill

    # ---- kill -9 trials -------------------------------------------------------------------------

    def kill_points(self) -> list[tuple[str, str, str, dict[str, Any]]]:
        """(phase, sheet, kill point, how) for each kill -9 trial, spread over the run."""
        a, b = self.sheets["A"].totals, self.sheets["B"].totals
        creates, updates, leaders = a["member_create"], a["member_update"], a["member_leaders"]
        pct = lambda total, share: max(1, round(total * share))  # noqa: E731
        points = [
            ("plan", "A", "first call (gettoken), nothing read", {"calls": ("*", 1)}),
            ("plan", "A", "snapshot read (user/list answered)", {"ok": ("user/list", 1)}),
            ("plan", "A", "run journalled, before the first write", {"journal_runs": 1}),
            ("plan", "B", "snapshot read (department/list answered)", {"ok": ("department/list", 1)}),
            ("departments", "A", "1st create sent, not yet applied", {"calls": ("department/create", 1)}),
            ("departments", "A", "first level done (3 created)", {"ok": ("department/create", 3)}),
            ("departments", "A", "7 created", {"ok": ("department/create", 7)}),
            ("departments", "A", "5th create landed, its answer held", {"hold": ("department/create", 5)}),
            ("members", "A", "5% of creates landed", {"ok": ("user/create", pct(creates, 0.05))}),
            ("members", "A", "25% of creates landed", {"ok": ("user/create", pct(creates, 0.25))}),
            ("members", "A", "50% of creates landed", {"ok": ("user/create", pct(creates, 0.5))}),
            ("members", "A", "75% of creates landed", {"ok": ("user/create", pct(creates, 0.75))}),
            ("members", "A", "all creates landed", {"ok": ("user/create", creates)}),
            ("members", "A", f"half the {updates} updates landed", {"ok": ("user/update", pct(updates, 0.5))}),
            ("members", "A", "100th create landed, its answer held", {"hold": ("user/create", 100)}),
            ("members", "B", "20 updates landed", {"ok": ("user/update", 20)}),
            ("leaders", "A", "first link started", {"journal": ("member_leaders", ("started", "done"), 1)}),
            ("leaders", "A", "25% of links done", {"journal": ("member_leaders", ("done",), pct(leaders, 0.25))}),
            ("leaders", "A", "60% of links done", {"journal": ("member_leaders", ("done",), pct(leaders, 0.6))}),
            ("leaders", "A", "a link landed, its answer held", {"hold": ("user/update", updates + pct(leaders, 0.4))}),
            ("leaders", "A", "every link done", {"journal": ("member_leaders", ("done",), leaders)}),
            ("deletes", "B", "leader links done, before the batchdelete",
             {"journal_done": ("member_leaders", b["member_leaders"])}),
            ("deletes", "B", "batchdelete sent, not yet applied", {"journal": ("member_delete", ("started",), 1)}),
            ("deletes", "B", "batchdelete applied, its answer held", {"hold": ("user/batchdelete", 1)}),
            ("deletes", "B", "batchdelete applied (emulator count)", {"ok": ("user/batchdelete", 1)}),
            ("deletes", "B", "batchdelete answered and journalled",
             {"journal": ("member_delete", ("done",), b["member_delete"])}),
            ("prunes", "B", "1st prune sent, not yet applied", {"calls": ("department/delete", 1)}),
            ("prunes", "B", "1st prune applied, its answer held", {"hold": ("department/delete", 1)}),
            ("prunes", "B", "2 prunes applied", {"ok": ("department/delete", 2)}),
            ("prunes", "B", "3rd prune applied, its answer held", {"hold": ("department/delete", 3)}),
            ("prunes", "B", "every prune applied", {"ok": ("department/delete", b["department_delete"])}),
            ("report", "A", "results file being written", {"partial": ("results", 0.0)}),
            ("report", "A", "results file in place, before the errors file", {"report_exists": True}),
            ("report", "A", "errors file being written", {"partial": ("errors", 0.0)}),
            ("report", "B", "results file being written", {"partial": ("results", 0.0)}),
            ("report", "B", "errors file being written", {"partial": ("errors", 0.0)}),
        ]
        if self.quick:
            chosen = {"run journalled, before the first write", "7 created", "50% of creates landed",
                      "a link landed, its answer held", "batchdelete applied, its answer held",
                      "2 prunes applied", "results file being written"}
            points = [p for p in points if p[2] in chosen and (p[0], p[1]) != ("report", "B")]
        return points

    def trigger(self, trial: Trial, how: dict[str, Any]) -> Callable[[], bool]:
        """A predicate that holds once the run reached the kill point."""
        if "hold" in how:
            api, n = how["hold"]
            assert trial.proxy is not None
            trial.proxy.hold = (api, n, 3.0)
            return trial.proxy.holding.is_set
        if "partial" in how:
            which, delay = how["partial"]
            prefix = (f".{trial.report.name}." if which == "results"
                      else f".{trial.report.stem}.errors{trial.report.suffix}.")
            seen: list[float] = []

            def partial() -> bool:
                if not seen and any(n.startswith(prefix) and n.endswith(".partial") for n in os.listdir(trial.dir)):
                    seen.append(time.monotonic())
                return bool(seen) and time.monotonic() - seen[0] >= delay
            return partial
        if "report_exists" in how:
            return trial.report.exists
        if "journal_runs" in how:
            return lambda: journal_progress(trial.journal)[0] >= how["journal_runs"]
        if "journal" in how:
            kind, states, count = how["journal"]
            return lambda: sum(journal_progress(trial.journal)[1][(kind, s)] for s in states) >= count
        if "journal_done" in how:
            kind, count = how["journal_done"]
            return lambda: journal_progress(trial.journal)[1][(kind, "done")] >= count
        group, (api, count) = ("calls", how["calls"]) if "calls" in how else ("ok", how["ok"])

        def reached() -> bool:
            counts = trial.emulator.quick_stats()[group]
            return (sum(counts.values()) if api == "*" else counts.get(api, 0)) >= count
        return reached

    def observe(self, trial: Trial) -> Callable[[], str]:
        def seen() -> str:
            runs, ops = journal_progress(trial.journal)
            open_runs = journal_progress(trial.journal, unfinished=True)[0]
            ok = trial.emulator.stats()["ok"]
            landed = ", ".join(f"{api.split('/')[1] if api.startswith('user') else 'dept ' + api.split('/')[1]} "
                               f"{ok[api]}" for api in WRITE_APIS if ok.get(api))
            started = sum(n for (_, state), n in ops.items() if state == "started")
            run_state = "no run" if not runs else ("run unfinished" if open_runs else "run finished")
            return f"landed: {landed or 'no write'}; journal: {run_state}, {started} ops started"
        return seen

    def run_kill_trial(self, number: int, phase: str, sheet_name: str, point: str, how: dict[str, Any]) -> Outcome:
        started = time.monotonic()
        sheet = self.sheets[sheet_name]
        outcome = Outcome("kill", f"kill-{number:02d}-{phase}", f"{sheet_name} {phase}: {point}")
        trial = None
        compare_words = True
        try:
            for attempt in range(3):  # a kill point a fast run slipped past is tried again
                # xlsx reports for both sheets: a CSV report is written too fast to be caught half-way
                trial = Trial(self, f"{outcome.name}{'-' + str(attempt) if attempt else ''}", sheet, proxy=True,
                              latency_ms=15 if sheet_name == "A" else 30, report_suffix=".xlsx")
                first = trial.run(kill_when=self.trigger(trial, how), observe=self.observe(trial))
                if first.killed:
                    break
                trial.stop()
                trial = None
            if trial is None:
                outcome.problems.append("the kill point was never reached (the run finished first, 3 times)")
                outcome.seconds = time.monotonic() - started
                return outcome
            if trial.proxy is not None:
                trial.proxy.hold = None
            journalled = journal_progress(trial.journal, unfinished=True)[0] > 0
            outcome.what += f" ({first.at_kill})"
            compare_words = journalled  # a run killed after it finished its journal is not resumed
            trial.settle(limit=4)  # the killed run and at most 3 reruns
            if len(trial.runs) > 1:
                resumed = trial.runs[1].resumed
                outcome.resumed = "yes" if resumed else ("NO" if journalled else "n/a")
                if journalled and not resumed:
                    outcome.problems.append("the rerun did not say 'Resuming run' though the killed run was journalled")
        except Exception as error:  # noqa: BLE001
            outcome.problems.append(f"the trial broke: {type(error).__name__}: {error}")
        if trial is None:
            outcome.seconds = time.monotonic() - started
            return outcome
        return trial.finish(outcome, started, compare_words=compare_words)

    # ---- formulas: imports in the other format, exports, validate reports --------------------------

    def formula_runs(self) -> Outcome:
        """Sheet A as CSV and B as xlsx (each must end like the clean run), a saved plan (--plan-out), exports
        to xlsx, CSV (Chinese headers) and JSON, and validate --report in both formats."""
        started = time.monotonic()
        outcome = Outcome("formulas", "formats", "A as CSV, B as xlsx, --plan-out, exports, validate --report")
        a, b = self.sheets["A"], self.sheets["B"]
        folder = self.work / "sheets"
        other = [Sheet("A", write_csv_sheet(folder / "staff-A.csv", a.rows), a.rows, [], a.template,
                       a.clean_state, a.clean_words),
                 Sheet("B", write_xlsx_sheet(folder / "staff-B.xlsx", b.rows), b.rows, B_OPTIONS, b.template,
                       b.clean_state, b.clean_words)]

        def tool(trial: Trial, *args: str, expect: tuple[int, ...] = (0,)) -> None:
            run = run_bulkdir(list(args), trial.env(), trial.dir, f"{args[0]}-{len(outcome.codes) + 1}")
            outcome.codes.append(run.code)
            if run.code not in expect:
                outcome.problems.append(f"`bulkdir {' '.join(args[:2])}` exited {run.code}: {run.stderr[-300:]}")

        for sheet in other:
            trial = Trial(self, f"formats-{sheet.name}", sheet, workers=8,
                          report_suffix=".csv" if sheet.name == "A" else ".xlsx")
            tool(trial, "import", str(sheet.path), "--dry-run", "--plan-out", "plan.json", "--force", *sheet.options,
                 expect=(0, 1))
            tool(trial, "validate", str(sheet.path), "--report", "problems.xlsx", expect=(1,))
            tool(trial, "validate", str(sheet.path), "--report", "problems.csv", expect=(1,))
            trial.run()
            trial.settle()
            outcome.codes += [r.code for r in trial.runs]
            tool(trial, "export", "export-en.xlsx")
            tool(trial, "export", "export-zh.csv", "--headers", "zh")
            tool(trial, "export", "export.json")
            trial.audit_outputs()
            sub = trial.finish(Outcome("formulas", sheet.name, ""), started, compare_words=True)
            outcome.problems += [f"{sheet.name} as {sheet.path.suffix}: {p}" for p in sub.problems]
        outcome.converged = outcome.equal = outcome.truthful = not outcome.problems
        outcome.seconds = time.monotonic() - started
        return outcome

    # ---- the whole sweep ------------------------------------------------------------------------

    def chosen(self, name: str) -> bool:
        return not self.only or any(part in name for part in self.only)

    def run(self) -> int:
        began = time.monotonic()
        self.prepare()
        print(f"prepared in {time.monotonic() - began:.0f} s; work folder {self.work}", flush=True)
        for name, sheet, what, how in self.fault_trials():
            if not self.chosen(name):
                continue
            outcome = self.run_fault_trial(name, sheet, what, how)
            self.outcomes.append(outcome)
            print(f"  fault {name}: {'ok' if outcome.ok else 'FAILED'} ({outcome.seconds:.1f} s)", flush=True)
        for number, (phase, sheet, point, how) in enumerate(self.kill_points(), 1):
            if not self.chosen(f"kill-{number:02d}-{phase}"):
                continue
            outcome = self.run_kill_trial(number, phase, sheet, point, how)
            self.outcomes.append(outcome)
            print(f"  kill {outcome.name}: {'ok' if outcome.ok else 'FAILED'} ({outcome.seconds:.1f} s)", flush=True)
        formats = self.formula_runs() if self.chosen("formats") else Outcome("formulas", "formats", "not run",
                                                                             converged=True, equal=True, truthful=True)
        AUDIT.search_texts()
        failed = self.print_tables(formats)
        print(f"\nTotal: {time.monotonic() - began:.0f} s")
        return 1 if failed else 0

    def print_tables(self, formats: Outcome) -> bool:
        faults = [o for o in self.outcomes if o.kind == "fault"]
        kills = [o for o in self.outcomes if o.kind == "kill"]
        yes = lambda v: "yes" if v else "NO"  # noqa: E731
        for title, rows, resumed in (("Fault trials", faults, False), ("kill -9 trials", kills, True)):
            print(f"\n{title}\n")
            head = "| trial | what was done | runs | exit codes |" + (" resumed |" if resumed else "") + \
                   " == clean run | report truthful | duplicate creates | seconds |"
            print(head)
            print("|" + "---|" * (head.count("|") - 1))
            for o in rows:
                print(f"| {o.name} | {o.what} | {len(o.codes)} | {','.join(map(str, o.codes))} |"
                      + (f" {o.resumed} |" if resumed else "")
                      + f" {yes(o.equal)} | {yes(o.truthful)} | {o.duplicates} | {o.seconds:.1f} |")
        problems = [o for o in self.outcomes + [formats] if not o.ok or o.problems]
        if problems:
            print("\nFailures\n")
            for o in problems:
                print(f"- {o.name} ({o.what}), exit codes {o.codes}:")
                for problem in o.problems:
                    print(f"    {problem}")
        print("\nFormulas (every xlsx and CSV bulkdir wrote; each version of a file once)\n")
        print("| files | count | risky cells (= + - @ tab CR) | live: xlsx formulas / CSV cells without ' |")
        print("|---|---:|---:|---:|")
        for (fmt, what), counts in sorted(AUDIT.cells.items()):
            print(f"| {fmt} {what} | {counts['files']} | {counts['risky']} | {counts['live']} |")
        print("\nrisky cells by first character: " + ", ".join(f"{k} {v}" for k, v in sorted(AUDIT.prefixes.items())))
        for failure in AUDIT.formula_failures[:10]:
            print(f"    {failure}")
        print("\nSecrets\n")
        print(f"searched {len(AUDIT.texts)} runs' stdout+stderr and {AUDIT.files_searched} files "
              f"(BULKDIR_HOME but cache/, journals, results, errors, plans, exports, validate reports, run logs) for "
              f"2 secrets and {len(AUDIT.tokens)} access tokens: {len(AUDIT.leaks)} leaks "
              f"(the token caches, not searched, hold {AUDIT.cache_hits} of those tokens: the search looks for real "
              "ones)")
        for leak in AUDIT.leaks[:10]:
            print(f"    {leak}")

        def line(check: str, items: list[bool]) -> list[Any]:
            return [check, len(items), sum(items), len(items) - sum(items)]

        xlsx, csv_ = AUDIT.total("xlsx"), AUDIT.total("csv")
        summary = [
            line("fault trials: converged in at most 3 runs", [o.converged for o in faults]),
            line("fault trials: directory == clean run", [o.equal for o in faults]),
            line("fault trials: report truthful", [o.truthful for o in faults]),
            line("fault trials: no member created twice", [o.duplicates == 0 for o in faults]),
            line("kill -9 trials: resumed (journalled runs)", [o.resumed != "NO" for o in kills]),
            line("kill -9 trials: converged", [o.converged for o in kills]),
            line("kill -9 trials: directory == clean run", [o.equal for o in kills]),
            line("kill -9 trials: report truthful (and as the clean run's)", [o.truthful for o in kills]),
            line("kill -9 trials: no member created twice", [o.duplicates == 0 for o in kills]),
            line("kill -9 trials: the kill point was reached", [not any("never reached" in p for p in o.problems)
                                                              for o in kills]),
            line("formats: A as CSV and B as xlsx end like the clean runs", [formats.ok]),
            ["secrets: runs and files searched, leaks", len(AUDIT.texts) + AUDIT.files_searched,
             len(AUDIT.texts) + AUDIT.files_searched - len({leak.split(" in ", 1)[1] for leak in AUDIT.leaks}),
             len({leak.split(" in ", 1)[1] for leak in AUDIT.leaks})],
            ["formulas: risky xlsx cells stored as text", xlsx["risky"], xlsx["risky"] - xlsx["live"], xlsx["live"]],
            ["formulas: risky CSV cells guarded with '", csv_["risky"], csv_["risky"] - csv_["live"], csv_["live"]],
        ]
        print("\nSummary\n")
        print("| check | trials / items | held | failed |")
        print("|---|---:|---:|---:|")
        for row in summary:
            print(f"| {row[0]} | {row[1]} | {row[2]} | {row[3]} |")
        return any(row[3] for row in summary) or bool(problems)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="one trial per fault kind and per phase (~3 minutes)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    parser.add_argument("--only", action="append", metavar="NAME",
                        help="run only the trials whose name holds NAME (e.g. busy-A, kill-05, formats); repeatable")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bulkdir-sweep-"))
    try:
        status = Sweep(work, args.quick, args.only).run()
    finally:
        if args.keep:
            print(f"work folder kept: {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    return status


if __name__ == "__main__":
    sys.exit(main())
