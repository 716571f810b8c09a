"""Import throughput: 5,000 new members into 50 departments against the emulator answering in 30 ms
under a per-API rate limit, with `bulkdir import` at 1, 4, 8 and 16 workers, beside a sequential
one-call-at-a-time loop with plain requests (the way the platform's sample scripts do it).

    python bench/import.py                               # about 9 minutes; prints a table
    python bench/import.py --members 1000 --rate-limit 1000 --workers 1,8   # a quicker look

The emulator runs in its own process (so it does not share this process's GIL with the client's
threads) and is reset before each run. The client is configured at 98% of the emulator's limit: the
platform counts calls in a sliding minute, and calls spaced exactly at the limit can arrive bunched by
network jitter. Calls/min is user/create calls over the whole import's wall time (snapshot, 50
departments and the members), so the share of the limit includes every overhead. The run is longer than
the emulator's one-minute window, so the limit really binds.
"""

from __future__ import annotations

import argparse
import csv
import os
import sys
import tempfile
import time
from pathlib import Path

import requests
from emulator_process import CORP_ID, SECRET, start_emulator

from bulkdir.config import Settings
from bulkdir.importer import ImportOptions, prepare_import, run_import
from bulkdir.wecom.client import WeComClient


def write_sheet(path: Path, members: int, departments: int) -> None:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["帐号", "姓名", "手机", "部门", "职务"])
        for n in range(members):
            writer.writerow([f"b{n:05d}", f"成员{n}", f"139{n:08d}", f"部门{n % departments:02d}", "工程师"])


def control(url: str, name: str, method: str = "POST") -> dict:
    return requests.request(method, f"{url}/_emulator/{name}", timeout=30).json()


def run_bulkdir(url: str, sheet: Path, workers: int, rate: int) -> tuple[float, dict]:
    control(url, "reset")
    settings = Settings(corp_id=CORP_ID, secret=SECRET, base_url=url, rate=rate, workers=workers, timeout=30)
    options = ImportOptions(workers=workers, journal=sheet.parent / f"journal-{workers}.sqlite3",
                            report=sheet.parent / f"result-{workers}.csv")
    with WeComClient(settings) as client:
        client.gettoken()  # not part of the measure: every approach needs one token
        started = time.perf_counter()
        result = run_import(prepare_import(sheet, client, options), client, options)
        seconds = time.perf_counter() - started
    assert result.counts.get("created") == result.counts.get("created", 0) and not result.counts.get("failed"), \
        result.counts
    return seconds, control(url, "stats", "GET")


def run_sequential(url: str, members: int, departments: int) -> tuple[float, dict]:
    """What a sample script does: one call after another, stop at the first error."""
    control(url, "reset")
    session = requests.Session()
    token = session.get(f"{url}/cgi-bin/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET},
                        timeout=30).json()["access_token"]
    started = time.perf_counter()
    ids = []
    for d in range(departments):
        answer = session.post(f"{url}/cgi-bin/department/create", params={"access_token": token},
                              json={"name": f"部门{d:02d}", "parentid": 1}, timeout=30).json()
        assert answer["errcode"] == 0, answer
        ids.append(answer["id"])
    for n in range(members):
        answer = session.post(f"{url}/cgi-bin/user/create", params={"access_token": token}, timeout=30, json={
            "userid": f"b{n:05d}", "name": f"成员{n}", "mobile": f"139{n:08d}", "department": [ids[n % departments]],
            "position": "工程师"}).json()
        assert answer["errcode"] == 0, answer
    return time.perf_counter() - started, control(url, "stats", "GET")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=5000)
    parser.add_argument("--departments", type=int, default=50)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--rate-limit", type=int, default=4000, help="the emulator's calls/min per API")
    parser.add_argument("--workers", default="1,4,8,16")
    parser.add_argument("--share", type=float, default=0.98, help="client rate as a share of the limit")
    args = parser.parse_args()
    os.environ["BULKDIR_HOME"] = tempfile.mkdtemp(prefix="bulkdir-bench-")
    folder = Path(tempfile.mkdtemp(prefix="bulkdir-bench-import-"))
    sheet = folder / "staff.csv"
    write_sheet(sheet, args.members, args.departments)
    process, url = start_emulator("--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit))
    rate = int(args.rate_limit * args.share)
    rows = []
    try:
        seconds, stats = run_sequential(url, args.members, args.departments)
        rows.append(("sequential loop (requests)", seconds, stats))
        for workers in [int(w) for w in args.workers.split(",")]:
            seconds, stats = run_bulkdir(url, sheet, workers, rate)
            rows.append((f"bulkdir import, {workers} worker{'s' if workers > 1 else ''}", seconds, stats))
    finally:
        process.terminate()
        process.wait(timeout=10)
    print(f"{args.members:,} new members into {args.departments} departments; emulator latency "
          f"{args.latency_ms} ms, rate limit {args.rate_limit:,} calls/min per API; bulkdir's --rate {rate:,}; "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print("| how | wall time (s) | user/create calls | calls/min | share of the limit | 45009 |")
    print("|---|---:|---:|---:|---:|---:|")
    sequential = rows[0][1]
    for name, seconds, stats in rows:
        calls = stats["calls"].get("user/create", 0)
        per_minute = calls / seconds * 60
        blocked = stats["errors"].get("45009", 0)
        note = "" if name.startswith("sequential") else f" ({sequential / seconds:.1f}x the loop)"
        print(f"| {name} | {seconds:.1f}{note} | {calls:,} | {per_minute:,.0f} | "
              f"{per_minute / args.rate_limit:.1%} | {blocked} |")


if __name__ == "__main__":
    main()
