"""Benchmark `bulkdir serve` in headless Chromium against the command line doing the same job.

(a) A 100,000-row members sheet (xlsx, the rows of bench/validate.py) with 1,000 problems in it: the time
    from the file chosen in the page's `sheet-input` to the problems page painted (`problem-count-errors`
    shown, two animation frames later), beside `bulkdir validate FILE` (the whole process: start-up,
    imports, reading, output). Target: the page takes at most 1.5x the CLI's time plus 1 s.
(b) 5,000 new members into 50 departments on the emulator under a per-API rate limit (bulkdir's --rate at
    98% of it, so the import takes tens of seconds): the page's wall time from the file chosen to the
    results shown (upload, problems, plan, confirm, run until `run-state` is `finished`) beside
    `bulkdir import FILE --yes` (the whole process). Each run gets a fresh emulator and a fresh BULKDIR_HOME.
    Target: the page within 5% of the CLI.

    python bench/serve.py                                  # full size: about 5 minutes; prints a table
    python bench/serve.py --rows 10000 --members 500 --repeat 1   # a quicker look

`bulkdir serve` runs as the real process (`--no-browser --port 0`), on the sandbox for (a) and pointed at
the emulator for (b); the browser is Debian's chromium and chromedriver, as the browser tests use
(tests/web_browser_support.py). Times are medians of `--repeat` runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Callable

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "tests"))
sys.path.insert(0, str(HERE))

from emulator_process import CORP_ID, SECRET, start_emulator  # noqa: E402

from web_browser_support import (  # noqa: E402
    Served,
    browser_missing,
    by_testid,
    go_to_next_page,
    start_browser,
    upload,
    wait_for,
    wait_until,
)

OUT = HERE / "out"
PAINTED = "const done = arguments[0]; requestAnimationFrame(() => requestAnimationFrame(() => done(true)));"


# ---------------------------------------------------------------------------------------------
# the sheets

def sheet_with_problems(rows: int, problems: int, out: Path) -> Path:
    """The members xlsx of bench/validate.py with `problems` bad cells, spread evenly: every other one an
    email without an @, the others a mobile of five digits."""
    import csv

    import validate
    from openpyxl import Workbook

    path = out / f"members-{rows}-{problems}-problems.xlsx"
    if path.exists():
        return path
    _, members_csv = validate.generate(rows, out)
    every = max(1, rows // problems) if problems else 0
    book = Workbook(write_only=True)
    sheet = book.create_sheet("成员列表")
    with open(members_csv, encoding="utf-8-sig", newline="") as handle:
        reader = csv.reader(handle)
        header = next(reader)
        email, mobile = header.index("个人邮箱"), header.index("手机")
        sheet.append(header)
        bad = 0
        for index, row in enumerate(reader):
            if every and index % every == every // 2 and bad < problems:
                if bad % 2:
                    row[mobile] = "12345"
                else:
                    row[email] = row[email].replace("@", "#")
                bad += 1
            sheet.append(row)
    book.save(path)
    return path


def members_sheet(members: int, departments: int, out: Path) -> Path:
    """`members` new members (b00000...) into `departments` departments under the root, as xlsx."""
    from openpyxl import Workbook

    path = out / f"import-{members}-{departments}.xlsx"
    if path.exists():
        return path
    book = Workbook(write_only=True)
    sheet = book.create_sheet("成员列表")
    sheet.append(["帐号", "姓名", "手机", "部门", "职务"])
    for n in range(members):
        sheet.append([f"b{n:05d}", f"成员{n}", f"139{n:08d}", f"部门{n % departments:02d}", "工程师"])
    book.save(path)
    return path


# ---------------------------------------------------------------------------------------------
# measuring

def fresh_home() -> dict[str, str]:
    return dict(os.environ, BULKDIR_HOME=tempfile.mkdtemp(prefix="bulkdir-bench-serve-"))


def timed(command: list[str], env: dict[str, str], expect: tuple[int, ...]) -> float:
    started = time.perf_counter()
    done = subprocess.run(command, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode not in expect:
        raise SystemExit(f"{' '.join(command)} exited {done.returncode}:\n{done.stderr[-2000:]}")
    return seconds


def page_to_problems(browser: Any, served: Served, sheet: Path) -> tuple[float, int]:
    """Seconds from the file chosen to the problems page painted, and the errors it shows."""
    browser.get(served.base + "/")
    wait_for(browser, "sheet-input")
    started = time.perf_counter()
    upload(browser, sheet)
    errors = wait_for(browser, "problem-count-errors", timeout=600)
    browser.execute_async_script(PAINTED)
    seconds = time.perf_counter() - started
    return seconds, int(errors.text)


def click(browser: Any, testid: str, timeout: float = 600) -> None:
    element = wait_for(browser, testid, timeout)
    go_to_next_page(browser, element.click, timeout)


def page_import(browser: Any, served: Served, sheet: Path) -> tuple[float, dict[str, int]]:
    """Seconds from the file chosen to the run's results shown, and those results."""
    browser.get(served.base + "/")
    wait_for(browser, "sheet-input")
    started = time.perf_counter()
    upload(browser, sheet)
    wait_for(browser, "problem-count-errors", 600)
    click(browser, "plan-button")
    click(browser, "confirm-button")
    click(browser, "run-button")

    def ended(b: Any) -> bool:
        state = b.find_elements(*by_testid("run-state"))
        return bool(state and state[0].get_attribute("data-state") in ("finished", "interrupted", "failed")
                    and b.find_elements(*by_testid("result-created")))

    wait_until(browser, ended, 3600, "the run did not end", every=0.1)
    seconds = time.perf_counter() - started
    state = browser.find_element(*by_testid("run-state")).get_attribute("data-state")
    counts = {name: int(browser.find_element(*by_testid(f"result-{name}")).text)
              for name in ("created", "failed")}
    if state != "finished":
        raise SystemExit(f"the page's run ended {state}: {counts}")
    return seconds, counts



def emulator_calls(url: str) -> dict[str, Any]:
    import requests

    stats: dict[str, Any] = requests.get(f"{url}/_emulator/stats", timeout=30).json()
    return stats


def on_emulator(rate_limit: int, rate: int, workers: int, job: Callable[[dict[str, str], str], Any]) -> Any:
    """`job(env, url)` with a fresh emulator and BULKDIR_HOME."""
    process, url = start_emulator("--rate-limit", str(rate_limit))
    env = dict(fresh_home(), BULKDIR_CORP_ID=CORP_ID, BULKDIR_SECRET=SECRET, BULKDIR_BASE_URL=url,
               BULKDIR_RATE=str(rate), BULKDIR_WORKERS=str(workers))
    try:
        return job(env, url)
    finally:
        process.terminate()
        process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the sheet of (a)")
    parser.add_argument("--problems", type=int, default=1_000, help="bad cells in the sheet of (a)")
    parser.add_argument("--members", type=int, default=5_000, help="members imported in (b)")
    parser.add_argument("--departments", type=int, default=50)
    parser.add_argument("--rate-limit", type=int, default=12_000, help="the emulator's calls/min per API in (b)")
    parser.add_argument("--share", type=float, default=0.98, help="bulkdir's --rate as a share of the limit")
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each measurement (the median is shown)")
    parser.add_argument("--skip-validate", action="store_true", help="skip (a)")
    parser.add_argument("--skip-import", action="store_true", help="skip (b)")
    args = parser.parse_args()
    missing = browser_missing()
    if missing:
        raise SystemExit(missing)
    OUT.mkdir(parents=True, exist_ok=True)
    browser = start_browser(Path(tempfile.mkdtemp(prefix="bulkdir-bench-downloads-")))
    print(f"bulkdir serve in headless Chromium {browser.capabilities.get('browserVersion', '?')} vs the CLI; "
          f"median of {args.repeat}; Python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    print()
    print("| measurement | CLI (s) | page (s) | page / CLI | target | met |")
    print("|---|---:|---:|---:|---|---|", flush=True)
    runs: list[str] = []
    try:
        if not args.skip_validate:
            sheet = sheet_with_problems(args.rows, args.problems, OUT)
            from bulkdir.validation import validate_file

            expected = validate_file(sheet)
            errors = sum(p.severity == "error" for p in expected.problems)
            cli = [timed([sys.executable, "-m", "bulkdir", "validate", str(sheet), "--json"], fresh_home(), (0, 1))
                   for _ in range(args.repeat)]
            served = Served.start(fresh_home(), "--sandbox")
            try:
                served.log_in(browser)
                page = []
                for _ in range(args.repeat):
                    seconds, shown = page_to_problems(browser, served, sheet)
                    if shown != errors:
                        raise SystemExit(f"the page shows {shown} errors; bulkdir validate finds {errors}")
                    page.append(seconds)
            finally:
                served.stop()
            cli_s, page_s = statistics.median(cli), statistics.median(page)
            target = 1.5 * cli_s + 1
            print(f"| (a) {args.rows:,} rows, {len(expected.problems):,} problems "
                  f"({sheet.stat().st_size / 2**20:.1f} MB xlsx): upload to problems page painted | "
                  f"{cli_s:.2f} (`bulkdir validate`) | {page_s:.2f} | {page_s / cli_s:.2f}x | "
                  f"≤ {target:.2f} s (1.5x + 1 s) | {'yes' if page_s <= target else 'NO'} |", flush=True)
            runs.append(f"(a) CLI {', '.join(f'{x:.2f}' for x in cli)}; page {', '.join(f'{x:.2f}' for x in page)}")
        if not args.skip_import:
            sheet = members_sheet(args.members, args.departments, OUT)
            rate = int(args.rate_limit * args.share)

            def cli_job(env: dict[str, str], url: str) -> tuple[float, dict]:
                seconds = timed([sys.executable, "-m", "bulkdir", "import", str(sheet), "--yes",
                                 "--report", str(Path(env["BULKDIR_HOME"]) / "result.xlsx")], env, (0,))
                return seconds, emulator_calls(url)

            def page_job(env: dict[str, str], url: str) -> tuple[float, dict]:
                served = Served.start(env)
                try:
                    served.log_in(browser)
                    seconds, counts = page_import(browser, served, sheet)
                finally:
                    served.stop()
                if counts != {"created": args.members, "failed": 0}:
                    raise SystemExit(f"the page's run: {counts}")
                return seconds, emulator_calls(url)

            cli, page = [], []
            for _ in range(args.repeat):  # alternately, so that a slower minute of the machine hits both
                cli.append(on_emulator(args.rate_limit, rate, args.workers, cli_job))
                page.append(on_emulator(args.rate_limit, rate, args.workers, page_job))
            cli_s = statistics.median(s for s, _ in cli)
            page_s = statistics.median(s for s, _ in page)
            blocked = sum(stats["errors"].get("45009", 0) for _, stats in cli + page)
            print(f"| (b) {args.members:,} members into {args.departments} departments, emulator limit "
                  f"{args.rate_limit:,}/min per API, --rate {rate:,}, {args.workers} workers: "
                  f"upload to results shown | {cli_s:.2f} (`bulkdir import --yes`) | {page_s:.2f} | "
                  f"{page_s / cli_s:.3f}x ({(page_s / cli_s - 1):+.1%}) | within 5% | "
                  f"{'yes' if abs(page_s / cli_s - 1) <= 0.05 else 'NO'} |", flush=True)
            runs.append(f"(b) CLI {', '.join(f'{x:.2f}' for x, _ in cli)}; "
                        f"page {', '.join(f'{x:.2f}' for x, _ in page)}")
            if blocked:
                print(f"|  (45009 answers over all runs of (b): {blocked}) | | | | | |")
    finally:
        browser.quit()
    print()
    print("Each run (s): " + "; ".join(runs))

if __name__ == "__main__":
    main()
