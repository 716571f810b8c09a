"""How long `bulkdir export` takes on a large directory, how many API calls it makes, and its peak memory.

    python bench/export.py [--members 100000] [--departments 1000] [--latency-ms 30] [--formats xlsx,csv,json]

The emulator runs in a process of its own (so the exporter's memory is its own). It is seeded
directly through its models (`Corp.department_create` / `Corp.user_create`, the same rules as the HTTP
API, without 101,000 HTTP calls): a three-level tree of departments, members spread evenly over them,
one in ten in a second department, leaders, positions, emails. Only then is `--latency-ms` switched on,
so every call the export makes waits that long.

Each export is `python -m bulkdir export FILE --quiet` as a real process; its peak memory is the
process's maximum resident set (wait4). For comparison, `snapshot only` is a process that only takes
the Directory snapshot (`fetch_directory`) and writes nothing: the export should not need much more.
API calls are the emulator's own count (/_emulator/stats) during each run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent


def serve(members: int, departments: int) -> None:
    """The emulator process: seed through the models, print the URL, serve until stdin closes."""
    from bulkdir.emulator.models import EmulatorOptions
    from bulkdir.emulator.server import EmulatorServer

    server = EmulatorServer(EmulatorOptions())
    corp = server.corp
    started = time.perf_counter()
    ids = seed_departments(corp, departments)
    for index in range(members):
        department = ids[index % len(ids)]
        body = {"userid": f"m{index:06d}", "name": f"成员{index}", "mobile": f"139{index:08d}",
                "email": f"m{index:06d}@example.com", "department": [department],
                "position": ("工程师", "经理", "=销售", "+顾问")[index % 4], "gender": str(1 + index % 2)}
        second = ids[(index * 7) % len(ids)]
        if index % 10 == 0 and second != department:  # one in ten in a second department
            body["department"] = [department, second]
        if index >= 100 and index % 3 == 0:
            body["direct_leader"] = [f"m{index - 100:06d}"]
        corp.user_create("sync", body)
    server.start()
    print(json.dumps({"url": server.url, "seed_seconds": round(time.perf_counter() - started, 1)}), flush=True)
    sys.stdin.read()  # the benchmark closes our stdin when it is done
    server.stop()


def seed_departments(corp, count: int) -> list[int]:  # type: ignore[no-untyped-def]
    """`count` departments in three levels (about 10 x 9 x 10), ids 2 and up; returns their ids."""
    ids: list[int] = []
    next_id = 2
    level = [1]
    while len(ids) < count:
        below: list[int] = []
        fan = 10 if len(level) != 10 else 9
        for parent in level:
            for n in range(fan):
                if len(ids) >= count:
                    break
                corp.department_create("sync", {"name": f"部门{next_id}", "parentid": parent, "id": next_id,
                                                "order": n})
                ids.append(next_id)
                below.append(next_id)
                next_id += 1
        level = below
    return ids


def run_measured(command: list[str], env: dict[str, str]) -> tuple[float, int, str]:
    """Wall seconds, peak RSS in KiB, and stderr of one process."""
    started = time.perf_counter()
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - started
    stderr = process.stderr.read() if process.stderr else ""
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed ({process.returncode}):\n{stderr}")
    return wall, usage.ru_maxrss, stderr


SNAPSHOT_ONLY = """
import os
from bulkdir.config import Settings
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.directory import fetch_directory
settings = Settings(corp_id=os.environ["BULKDIR_CORP_ID"], secret=os.environ["BULKDIR_SECRET"],
                    base_url=os.environ["BULKDIR_BASE_URL"], rate=600000)
with WeComClient(settings) as client:
    directory = fetch_directory(client)
assert len(directory.members) > 0
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--formats", default="xlsx", help="comma-separated: xlsx,csv,json")
    parser.add_argument("--out", default=str(HERE / "out"), help="folder for the exported files")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.members, args.departments)
        return

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    emulator = subprocess.Popen([sys.executable, __file__, "--serve", "--members", str(args.members),
                                 "--departments", str(args.departments)],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        ready = json.loads(emulator.stdout.readline())  # type: ignore[union-attr]
        url = ready["url"]
        http = requests.Session()
        http.post(f"{url}/_emulator/faults", json={"latency_ms": args.latency_ms}, timeout=10).raise_for_status()
        env = dict(os.environ, BULKDIR_CORP_ID="wwsandbox", BULKDIR_SECRET="sandbox-secret", BULKDIR_BASE_URL=url,
                   BULKDIR_RATE="600000", BULKDIR_HOME=str(out / "home"))
        env.pop("BULKDIR_APP_SECRET", None)

        def calls() -> dict[str, int]:
            return http.get(f"{url}/_emulator/stats", timeout=30).json()["calls"]

        rows = []
        before = calls()
        wall, rss, _ = run_measured([sys.executable, "-c", SNAPSHOT_ONLY], env)
        made = {k: v - before.get(k, 0) for k, v in calls().items() if v - before.get(k, 0)}
        rows.append(("snapshot only", wall, made, rss, None))
        for format in args.formats.split(","):
            target = out / f"export-{args.members}.{format}"
            before = calls()
            wall, rss, stderr = run_measured([sys.executable, "-m", "bulkdir", "export", str(target), "--quiet"], env)
            made = {k: v - before.get(k, 0) for k, v in calls().items() if v - before.get(k, 0)}
            siblings = out.glob(f"export-{args.members}-departments.csv") if format == "csv" else []
            size = target.stat().st_size + sum(p.stat().st_size for p in siblings)
            rows.append((f"export {format}", wall, made, rss, size))
    finally:
        if emulator.stdin:
            emulator.stdin.close()
        emulator.wait(timeout=60)

    print(f"\nbulkdir export: {args.members:,} members in {args.departments:,} departments, emulator latency "
          f"{args.latency_ms:g} ms per call (seeded through the models in {ready['seed_seconds']} s)\n")
    header = f"| {'run':<14} | {'wall s':>6} | {'API calls':<52} | {'peak RSS MB':>11} | {'file MB':>7} |"
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for name, wall, made, rss, size in rows:
        total = sum(made.values())
        detail = f"{total} (" + ", ".join(f"{k} {v}" for k, v in sorted(made.items())) + ")"
        print(f"| {name:<14} | {wall:>6.1f} | {detail:<52} | {rss / 1024:>11.0f} | "
              f"{'' if size is None else f'{size / 1e6:.1f}':>7} |")


if __name__ == "__main__":
    main()
