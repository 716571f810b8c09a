"""Directories of 100,000: the async batch import beside the per-call path, and the snapshot and export with
and without `--ignore-fetch-child`. Each run is a whole `bulkdir` process against an emulator process of
its own (reset before each run); wall time, the emulator's call counts, 45009s and the run's peak RSS.

    python bench/scale.py                         # the issue's sizes: about 10 minutes
    python bench/scale.py --members 2000 --big 10000 --departments 40 --big-departments 100   # a quick look

(a) `--members` new members into `--departments` departments, emulator `--latency-ms 30 --rate-limit 2000
    --batch-rows-per-second 2000`, per call (`--via api`) and through the batch import (`--via batch`).
(b) `--big` new members into `--big-departments` departments through the batch import; its lower bound is
    the emulator's pace (members / 2,000 rows a second) plus the departments at the rate limit; then a
    rerun, which must make no write call.
(c) the snapshot (`bulkdir export --format json`) of that directory, with and without the emulator's
    `--ignore-fetch-child`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests
from emulator_process import CORP_ID, SECRET, start_emulator

WRITES = ("user/create", "user/update", "batch/syncuser", "department/create")



def control(url: str, name: str, method: str = "POST", body: dict | None = None) -> dict:
    return requests.request(method, f"{url}/_emulator/{name}", json=body, timeout=60).json()


def write_sheet(path: Path, members: int, departments: int) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["帐号", "姓名", "手机", "部门", "职务"])
        for n in range(members):
            writer.writerow([f"s{n:06d}", f"成员{n}", f"139{n:08d}", f"部门{n % departments:04d}", "工程师"])
    return path


def bulkdir(url: str, home: Path, *args: str, rate: int) -> tuple[float, int, float, str]:
    """A whole `bulkdir` process: (seconds, exit code, peak RSS in MB, its last line)."""
    env = dict(os.environ, BULKDIR_HOME=str(home), BULKDIR_CORP_ID=CORP_ID, BULKDIR_SECRET=SECRET,
               BULKDIR_BASE_URL=url, BULKDIR_RATE=str(rate), BULKDIR_WORKERS="8", BULKDIR_TIMEOUT="60")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", *args], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    out = process.stdout.read() if process.stdout else ""
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    lines = out.strip().splitlines()
    return seconds, os.waitstatus_to_exitcode(status), usage.ru_maxrss / 1024, lines[-1] if lines else ""


def calls_text(stats: dict) -> str:
    calls = stats.get("calls", {})
    shown = [f"{api} {calls[api]:,}" for api in ("user/create", "user/update", "media/upload", "batch/syncuser",
                                                  "batch/getresult", "department/create", "user/list",
                                                  "user/simplelist", "user/list_id") if calls.get(api)]
    return ", ".join(shown)


class _Skip(Exception):
    pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=10_000)
    parser.add_argument("--departments", type=int, default=200)
    parser.add_argument("--big", type=int, default=100_000)
    parser.add_argument("--big-departments", type=int, default=1_000)
    parser.add_argument("--rate-limit", type=int, default=2000)
    parser.add_argument("--rows-per-second", type=int, default=2000)
    parser.add_argument("--latency-ms", type=int, default=30)
    parser.add_argument("--skip-per-call", action="store_true", help="leave out (a)'s per-call run (the longest)")
    parser.add_argument("--only-snapshot", action="store_true", help="run (c) only")
    parser.add_argument("--snapshot-rate-limit", type=int, default=None,
                        help="(c)'s emulator limit per API per minute [default: --rate-limit]; the department-by-"
                             "department read makes one call per department, so this limit bounds it")
    args = parser.parse_args()
    rate = int(args.rate_limit * 0.98)
    rows: list[list[str]] = []
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        big = write_sheet(work / "big.csv", args.big, args.big_departments)
        bound = args.big / args.rows_per_second + args.big_departments * 60 / rate
        emulator, url = start_emulator("--latency-ms", str(args.latency_ms), "--rate-limit", str(args.rate_limit),
                                       "--batch-rows-per-second", str(args.rows_per_second))
        try:
            if args.only_snapshot:
                raise _Skip
            small = write_sheet(work / "small.csv", args.members, args.departments)
            for via in ("api", "batch"):
                if via == "api" and args.skip_per_call:
                    continue
                control(url, "reset")
                seconds, code, rss, last = bulkdir(url, work / f"home-{via}", "import", str(small), "--yes", "--json",
                                                   "--quiet", "--via", via, rate=rate)
                stats = control(url, "stats", "GET")
                summary = json.loads(last) if last.startswith("{") else {}
                rows.append([f"(a) {args.members:,} new members, --via {via}", f"{seconds:.1f}", str(code),
                             str(summary.get("created", "?")), calls_text(stats),
                             str(stats.get("errors", {}).get("45009", 0)), f"{rss:.0f}"])
            control(url, "reset")
            home = work / "home-big"
            seconds, code, rss, last = bulkdir(url, home, "import", str(big), "--yes", "--json", "--quiet",
                                               "--via", "batch", rate=rate)
            stats = control(url, "stats", "GET")
            summary = json.loads(last) if last.startswith("{") else {}
            rows.append([f"(b) {args.big:,} new members, --via batch", f"{seconds:.1f}", str(code),
                         str(summary.get("created", "?")), calls_text(stats),
                         str(stats.get("errors", {}).get("45009", 0)), f"{rss:.0f}"])
            before = stats.get("calls", {})
            seconds, code, rss, last = bulkdir(url, home, "import", str(big), "--yes", "--json", "--quiet",
                                               "--via", "batch", rate=rate)
            after = control(url, "stats", "GET")
            writes = sum(after["calls"].get(api, 0) - before.get(api, 0) for api in WRITES)
            summary = json.loads(last) if last.startswith("{") else {}
            rows.append([f"(b) rerun of the {args.big:,}", f"{seconds:.1f}", str(code),
                         f"{summary.get('unchanged', '?')} unchanged", f"{writes} write calls", "", f"{rss:.0f}"])
        except _Skip:
            pass
        finally:
            emulator.kill()
        snapshot_rows = []
        snapshot_limit = args.snapshot_rate_limit or args.rate_limit
        snapshot_rate = int(snapshot_limit * 0.98)
        for flags in ((), ("--ignore-fetch-child",)):
            emulator, url = start_emulator("--latency-ms", str(args.latency_ms), "--rate-limit", str(snapshot_limit),
                                           "--batch-rows-per-second", "0", *flags)
            try:
                control(url, "reset")
                seconds, code, rss, last = bulkdir(url, work / "home-seed", "import", str(big), "--yes", "--quiet",
                                                   "--via", "batch", rate=rate)
                assert code == 0, last
                before = control(url, "stats", "GET")["calls"]
                seconds, code, rss, _ = bulkdir(url, work / "home-export", "export", str(work / "out.json"),
                                                "--format", "json", "--force", rate=snapshot_rate)
                calls = control(url, "stats", "GET")["calls"]
                made = {api: n - before.get(api, 0) for api, n in calls.items() if n - before.get(api, 0)}
                snapshot_rows.append((" ".join(flags) or "(fetch_child honoured)", seconds, code, made, rss))
            finally:
                emulator.kill()
    if rows:
        _print_runs(args, rate, rows, bound)
    _print_snapshots(args, snapshot_limit, snapshot_rate, snapshot_rows)


def _print_runs(args: argparse.Namespace, rate: int, rows: list[list[str]], bound: float) -> None:
    print(f"\nScale (emulator --latency-ms {args.latency_ms} --rate-limit {args.rate_limit} "
          f"--batch-rows-per-second {args.rows_per_second}; bulkdir --rate {rate}, 8 workers)\n")
    print("| run | wall s | exit | created | calls | 45009 | peak RSS MB |")
    print("|---|---:|---:|---:|---|---:|---:|")
    for row in rows:
        print("| " + " | ".join(row) + " |")
    print(f"\n(b)'s lower bound: {args.big:,} rows at {args.rows_per_second:,}/s plus {args.big_departments:,} "
          f"departments at {rate:,}/min = {bound:.1f} s")


def _print_snapshots(args: argparse.Namespace, snapshot_limit: int, snapshot_rate: int, snapshot_rows: list) -> None:
    print(f"\nSnapshot: `bulkdir export --format json` of {args.big:,} members in {args.big_departments:,} "
          f"departments (emulator --rate-limit {snapshot_limit}, bulkdir --rate {snapshot_rate})\n")
    print("| emulator | wall s | exit | calls | peak RSS MB |")
    print("|---|---:|---:|---|---:|")
    for name, seconds, code, made, rss in snapshot_rows:
        print(f"| {name} | {seconds:.1f} | {code} | {', '.join(f'{k} {v:,}' for k, v in sorted(made.items()))} "
              f"| {rss:.0f} |")
    if len(snapshot_rows) == 2:
        print(f"\nWith --ignore-fetch-child: {snapshot_rows[1][1] / snapshot_rows[0][1]:.2f}x the time without it.")


if __name__ == "__main__":
    main()
