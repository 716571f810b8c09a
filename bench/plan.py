"""Planning: a dry run of a 100,000-row sheet against a directory of the same 100,000 members, 1% of the
rows changed, beside its two limits measured in the same run: the snapshot alone and validating the sheet
alone. Each is a whole `bulkdir` process against one emulator process (seeded through the batch import).

    python bench/plan.py                    # 100,000 members in 1,000 departments
    python bench/plan.py --members 20000 --departments 200
"""

from __future__ import annotations

import argparse
import csv
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from emulator_process import CORP_ID, SECRET, start_emulator


def write_sheet(path: Path, members: int, departments: int, changed: int = 0) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["帐号", "姓名", "手机", "邮箱", "部门", "职务", "性别"])
        for n in range(members):
            title = "高级工程师" if n < changed else "工程师"
            writer.writerow([f"s{n:06d}", f"成员{n}", f"139{n:08d}", f"s{n:06d}@example.com",
                             f"中心{n % 10}/部门{n % departments:04d}", title, "男" if n % 2 else "女"])
    return path


def bulkdir(url: str, home: Path, *args: str) -> tuple[float, float, int]:
    env = dict(os.environ, BULKDIR_HOME=str(home), BULKDIR_CORP_ID=CORP_ID, BULKDIR_SECRET=SECRET,
               BULKDIR_BASE_URL=url, BULKDIR_RATE="1000000", BULKDIR_WORKERS="8", BULKDIR_TIMEOUT="120")
    started = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-m", "bulkdir", *args], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - started, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--departments", type=int, default=1_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    emulator, url = start_emulator("--batch-rows-per-second", "0")
    try:
        with tempfile.TemporaryDirectory() as name:
            folder = Path(name)
            seed = write_sheet(folder / "seed.csv", args.members, args.departments)
            seconds, _, code = bulkdir(url, folder / "home", "import", str(seed), "--yes", "--quiet", "--via",
                                       "batch")
            assert code == 0, code
            changed = write_sheet(folder / "changed.csv", args.members, args.departments, args.members // 100)
            runs: dict[str, list[tuple[float, float, int]]] = {"snapshot": [], "validate": [], "dry run": []}
            for _ in range(args.repeat):
                runs["snapshot"].append(bulkdir(url, folder / "home", "export", str(folder / "out.json"),
                                                "--format", "json", "--force"))
                runs["validate"].append(bulkdir(url, folder / "home", "validate", str(changed), "--json"))
                runs["dry run"].append(bulkdir(url, folder / "home", "import", str(changed), "--dry-run",
                                               "--quiet"))
    finally:
        emulator.kill()
    median = {k: statistics.median(s for s, _, _ in v) for k, v in runs.items()}
    peak = {k: max(m for _, m, _ in v) for k, v in runs.items()}
    print(f"\nPlanning: {args.members:,} rows against {args.members:,} members in {args.departments:,} departments, "
          f"1% changed (medians of {args.repeat} whole processes)\n")
    print("| stage | wall s | peak RSS MB | exit |")
    print("|---|---:|---:|---:|")
    for stage in ("snapshot", "validate", "dry run"):
        print(f"| {stage} | {median[stage]:.2f} | {peak[stage]:.0f} | {runs[stage][-1][2]} |")
    limit = median["snapshot"] + median["validate"]
    print(f"\nThe dry run takes {median['dry run'] / limit:.2f}x snapshot + validate ({limit:.2f} s); target 1.2x.")


if __name__ == "__main__":
    main()
