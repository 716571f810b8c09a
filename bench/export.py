"""How long `bulkdir export` takes on a large directory, how many API calls it makes, and its peak memory.

    python bench/export.py [--members 100000] [--departments 1000] [--latency-ms 30] [--formats xlsx,csv]

The emulator runs in a process of its own (so the exporter's memory is its own). It is seeded
directly through its models (`Corp.department_create` / `Corp.user_create`, the same rules as the HTTP
API, without 101,000 HTTP calls): a three-level tree of departments, members spread evenly over them,
one in ten in a second department, leaders, positions, emails. Only then is `--latency-ms` switched on,
so every call the export makes waits that long.

Each export is `python -m bulkdir export FILE --quiet` as a real process; its peak memory is the
process's maximum resident set (wait4). For comparison, `snapshot only` is a process that only takes
the Directory snapshot (`fetch_directory`) and writes nothing: the export should not need much more.
API calls are the emulator's own count (/_emulator/stats) during each run.

A second table times the xlsx write alone: the exported members and departments (read back from the
CSV export, so the same rows) written by bulkdir's `write_xlsx`, and beside it by the writers it could
be built on, each keeping every property our files promise (every cell a text cell, the bold frozen
header with an autofilter, sized columns, both sheets): openpyxl's write-only mode (what it used first),
and when they are installed (neither is a dependency) XlsxWriter in constant-memory mode (what it used
next) and rustpy-xlsxwriter, a Rust-backed writer (`pip install xlsxwriter rustpy-xlsxwriter`). Each writer
runs once per round in a fresh process, the rounds interleaved (`--writer-rounds`, default 3), and the best
of its rounds is shown; `--writers-only` times the writers alone on an earlier run's CSV export.

Targets (issue 16): the xlsx export within 1.5x the CSV export, the write within 2x the fastest writer,
peak memory of the export under 500 MB.
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

from bulkdir.exporting import departments_csv_path

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


WRITE = """
import csv, sys, time
members_csv, departments_csv, writer, target = sys.argv[1:5]

def read(path):
    with open(path, encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    return rows[0], rows[1:]

sheets = [("members", *read(members_csv)), ("departments", *read(departments_csv))]
if writer == "bulkdir write_xlsx":  # each writer imported before the clock starts
    from bulkdir.sheets import OutSheet, write_xlsx
elif writer == "xlsxwriter":
    import xlsxwriter
elif writer == "openpyxl write-only":
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Font
elif writer == "rustpy-xlsxwriter":
    from rustpy_xlsxwriter import write_worksheets
started = time.perf_counter()
if writer == "bulkdir write_xlsx":
    write_xlsx(target, [OutSheet(name, headers, rows) for name, headers, rows in sheets])
elif writer == "xlsxwriter":
    book = xlsxwriter.Workbook(target, {"constant_memory": True})
    text = book.add_format({"num_format": "@"})
    bold = book.add_format({"bold": True, "pattern": 1, "bg_color": "#DDEBF7", "num_format": "@"})
    for name, headers, rows in sheets:
        sheet = book.add_worksheet(name)
        sheet.set_column(0, len(headers) - 1, 14, text)
        sheet.freeze_panes(1, 0)
        sheet.autofilter(0, 0, 0, len(headers) - 1)
        sheet.write_row(0, 0, headers, bold)
        for number, row in enumerate(rows, 1):
            for column, value in enumerate(row):
                if value:
                    sheet.write_string(number, column, value)
    book.close()
elif writer == "openpyxl write-only":
    book = Workbook(write_only=True)
    for name, headers, rows in sheets:
        sheet = book.create_sheet(name)
        sheet.freeze_panes = "A2"
        sheet.auto_filter.ref = f"A1:{chr(64 + len(headers))}1"
        for index in range(len(headers)):
            sheet.column_dimensions[chr(65 + index)].width = 14
        cells = []
        for header in headers:
            cell = WriteOnlyCell(sheet, value=header)
            cell.font = Font(bold=True)
            cells.append(cell)
        sheet.append(cells)
        for row in rows:
            sheet.append([value or None for value in row])  # data_type stays "s": no formula is made
    book.save(target)
elif writer == "rustpy-xlsxwriter":
    names = [name for name, _, _ in sheets]
    write_worksheets([(name, (dict(zip(headers, row)) for row in rows)) for name, headers, rows in sheets], target,
                     freeze_panes={name: {"row": 1, "col": 0} for name in names}, bold_headers=True,
                     autofilter={name: True for name in names}, column_width={name: 14 for name in names})
print(time.perf_counter() - started)
"""

WRITERS = ("bulkdir write_xlsx", "xlsxwriter", "openpyxl write-only", "rustpy-xlsxwriter")
OPTIONAL_WRITERS = {"xlsxwriter": "xlsxwriter", "rustpy-xlsxwriter": "rustpy_xlsxwriter"}  # writer: its module


def time_writers(members_csv: Path, departments_csv: Path, out: Path,
                 rounds: int = 3) -> list[tuple[str, float, int, bool]]:
    """Each writer once per round, in a process of its own, the rounds interleaved so that a machine that
    drifts weighs on every writer alike: (writer, best seconds writing, peak RSS KiB, every cell text)."""
    import importlib.util

    from openpyxl import load_workbook

    writers = [writer for writer in WRITERS
               if writer not in OPTIONAL_WRITERS or importlib.util.find_spec(OPTIONAL_WRITERS[writer]) is not None]
    best: dict[str, tuple[float, int]] = {}
    for _ in range(rounds):
        for writer in writers:
            target = out / f"write-{writer.split()[0]}.xlsx"
            process = subprocess.Popen([sys.executable, "-c", WRITE, str(members_csv), str(departments_csv), writer,
                                        str(target)], stdout=subprocess.PIPE, text=True)
            output = process.stdout.read() if process.stdout else ""
            _, status, usage = os.wait4(process.pid, 0)
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"{writer} failed")
            seconds, rss = best.get(writer, (float("inf"), 0))
            best[writer] = (min(seconds, float(output)), max(rss, usage.ru_maxrss))
    timed = []
    for writer in writers:
        book = load_workbook(out / f"write-{writer.split()[0]}.xlsx", read_only=True)
        first = list(next(book.worksheets[0].iter_rows(min_row=2, max_row=2)))
        all_text = all(cell.data_type == "s" for cell in first if cell.value is not None)
        book.close()
        timed.append((writer, *best[writer], all_text))
    return timed


def print_writers(timed: list[tuple[str, float, int, bool]], rounds: int) -> None:
    fastest = min(seconds for _, seconds, _, text in timed if text)
    print(f"\nWriting the same rows (the csv export's members and departments) as xlsx, best of {rounds} rounds, "
          "each writer once per round in its own process:\n")
    print("| writer               | write s | / fastest | peak RSS MB | every cell text |")
    print("|----------------------|---------|-----------|-------------|-----------------|")
    for writer, seconds, rss, text in timed:
        print(f"| {writer:<20} | {seconds:>7.2f} | {seconds / fastest:>8.2f}x | {rss / 1024:>11.0f} | "
              f"{'yes' if text else 'no':<15} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=1000)
    parser.add_argument("--latency-ms", type=float, default=30)
    parser.add_argument("--formats", default="xlsx,csv", help="comma-separated: xlsx,csv,json")
    parser.add_argument("--out", default=str(HERE / "out"), help="folder for the exported files")
    parser.add_argument("--writer-rounds", type=int, default=3, help="rounds of the writers alone; the best is shown")
    parser.add_argument("--writers-only", action="store_true",
                        help="time only the writers, on the rows of an earlier run's csv export")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.members, args.departments)
        return
    if args.writers_only:
        members_csv = Path(args.out) / f"export-{args.members}.csv"
        if not members_csv.exists():
            raise SystemExit(f"{members_csv} is not there: run the whole benchmark once first")
        print_writers(time_writers(members_csv, departments_csv_path(members_csv), Path(args.out),
                                   args.writer_rounds), args.writer_rounds)
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
            export = [sys.executable, "-m", "bulkdir", "export", str(target), "--quiet", "--force"]
            wall, rss, stderr = run_measured(export, env)
            made = {k: v - before.get(k, 0) for k, v in calls().items() if v - before.get(k, 0)}
            siblings = out.glob(f"export-{args.members}-departments.csv") if format == "csv" else []
            size = target.stat().st_size + sum(p.stat().st_size for p in siblings)
            rows.append((f"export {format}", wall, made, rss, size))
    finally:
        if emulator.stdin:
            emulator.stdin.close()
        emulator.wait(timeout=60)
    members_csv = out / f"export-{args.members}.csv"
    timed = time_writers(members_csv, departments_csv_path(members_csv), out, args.writer_rounds) \
        if members_csv.exists() else []

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
    walls = {name: wall for name, wall, *_ in rows}
    if "export xlsx" in walls and "export csv" in walls:
        print(f"\nxlsx export / csv export: {walls['export xlsx'] / walls['export csv']:.2f}x (target at most 1.5x)")
    if timed:
        print_writers(timed, args.writer_rounds)


if __name__ == "__main__":
    main()
