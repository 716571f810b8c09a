"""The executor's own cost: client CPU per created member, with the emulator answering at once (no latency,
no limit) in a process of its own, beside a plain `requests.Session` loop making the same calls.

    python bench/executor.py                  # 20,000 creates each way
    python bench/executor.py --members 3000   # a quicker look

CPU is this process's user + system time (the emulator's is not counted; it shares the 2 cores). bulkdir
runs the whole import (snapshot, plan, journal: each operation committed started before its call and done
after it) with 1 and 8 workers; the loop does nothing but the calls, in one thread and in 8 threads with a
session each (threads sharing 2 cores cost CPU of their own: switching, and waiting on each other for
the interpreter). Each bulkdir run is set beside the loop with as many threads. Target (issue 16):
bulkdir's own CPU per row within 1.2x of the loop.
"""

from __future__ import annotations

import argparse
import csv
import resource
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests
from emulator_process import CORP_ID, SECRET, start_emulator

from bulkdir.config import Settings
from bulkdir.importer import ImportOptions, prepare_import, run_import
from bulkdir.wecom.client import WeComClient


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reset(url: str) -> None:
    requests.post(f"{url}/_emulator/reset", timeout=30)


def plain_loop(url: str, members: int, threads: int = 1) -> tuple[float, float]:
    reset(url)
    token = requests.get(f"{url}/cgi-bin/gettoken", params={"corpid": CORP_ID, "corpsecret": SECRET},
                         timeout=30).json()["access_token"]

    def create(numbers: range) -> None:
        session = requests.Session()
        for n in numbers:
            answer = session.post(f"{url}/cgi-bin/user/create", params={"access_token": token}, timeout=30,
                                  json={"userid": f"p{n:06d}", "name": f"成员{n}", "mobile": f"139{n:08d}",
                                        "department": [1]}).json()
            assert answer["errcode"] == 0, answer

    started, used = time.perf_counter(), cpu()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(create, [range(start, members, threads) for start in range(threads)]))
    return time.perf_counter() - started, cpu() - used


def bulkdir_import(url: str, sheet: Path, workers: int, folder: Path) -> tuple[float, float]:
    reset(url)
    settings = Settings(corp_id=CORP_ID, secret=SECRET, base_url=url, rate=10**6, workers=workers, timeout=30)
    options = ImportOptions(workers=workers, journal=folder / f"journal-{workers}.sqlite3",
                            report=folder / f"result-{workers}.csv", via="api")
    with WeComClient(settings) as client:
        client.gettoken()
        started, used = time.perf_counter(), cpu()
        result = run_import(prepare_import(sheet, client, options), client, options)
        seconds, spent = time.perf_counter() - started, cpu() - used
    assert result.counts.get("created") and not result.counts.get("failed"), result.counts
    return seconds, spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=20_000)
    args = parser.parse_args()
    emulator, url = start_emulator()
    rows = []
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            sheet = folder / "staff.csv"
            with open(sheet, "w", encoding="utf-8", newline="") as handle:
                writer = csv.writer(handle)
                writer.writerow(["帐号", "姓名", "手机", "部门"])
                for n in range(args.members):
                    writer.writerow([f"b{n:06d}", f"成员{n}", f"139{n:08d}", ""])
            for workers in (1, 8):
                seconds, spent = plain_loop(url, args.members, workers)
                loop_cpu = spent / args.members * 1e6
                rows.append((f"plain requests.Session loop, {workers} thread(s)", seconds, spent, loop_cpu, loop_cpu))
                seconds, spent = bulkdir_import(url, sheet, workers, folder)
                rows.append((f"bulkdir import, {workers} worker(s)", seconds, spent, spent / args.members * 1e6,
                             loop_cpu))
    finally:
        emulator.kill()
    print(f"\nExecutor: {args.members:,} creates, emulator without latency or limit (its own process)\n")
    print("| run | wall s | creates/s | client CPU s | CPU µs per row | × the loop with as many threads |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, spent, per_row, loop_cpu in rows:
        print(f"| {name} | {seconds:.1f} | {args.members / seconds:,.0f} | {spent:.1f} | {per_row:,.0f} | "
              f"{per_row / loop_cpu:.2f} |")


if __name__ == "__main__":
    main()
