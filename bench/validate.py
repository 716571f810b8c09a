"""Benchmark `bulkdir validate` on a 100,000-row member sheet (xlsx and csv) of realistic Chinese data,
beside `pandas.read_excel(engine="calamine", dtype=str)` and a plain openpyxl read of the same xlsx.

Each measurement runs in its own subprocess, so its peak memory (ru_maxrss) is its own.

    python bench/validate.py                 # 100,000 rows into bench/out/
    python bench/validate.py --rows 20000 --skip-openpyxl

Target: validating the xlsx takes at most 1.5x the pandas read, and stays under 500 MB.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
HEADERS = ["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址", "直属上级", "启用", "排序"]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝龚邵万钱严覃武戴莫孔向汤"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建华文辉力建国海燕鹏飞志强晓东子涵浩然梓萱一诺欣怡宇轩"
CENTERS = ["研发中心", "销售部", "市场部", "财务部", "人力资源部", "运营中心", "客户服务部", "法务部"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安"]
POSITIONS = ["工程师", "高级工程师", "产品经理", "销售经理", "会计", "招聘专员", "运营专员", "客服代表", "法务顾问", "总监"]
STREETS = ["中山路", "人民路", "解放路", "建设路", "和平路", "科技园路", "天府大道", "滨江路"]


def generate(rows: int, out: Path, seed: int = 7) -> tuple[Path, Path]:
    """Write members.xlsx and members.csv (UTF-8 with BOM) with `rows` members; return their paths."""
    from openpyxl import Workbook

    rng = random.Random(seed)
    out.mkdir(parents=True, exist_ok=True)
    xlsx, csv_path = out / f"members-{rows}.xlsx", out / f"members-{rows}.csv"
    if xlsx.exists() and csv_path.exists():
        return xlsx, csv_path
    book = Workbook(write_only=True)
    sheet = book.create_sheet("成员列表")
    sheet.append(HEADERS)
    with open(csv_path, "w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for i in range(rows):
            name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
            userid = f"u{i:06d}"
            mobile = 13000000000 + (i * 7919) % 6999999999
            department = f"示例企业/{rng.choice(CENTERS)}/{rng.choice(CITIES)}"
            if rng.random() < 0.1:
                department += f";{rng.choice(CENTERS)}"
            row = [name, userid, "", rng.choice(POSITIONS), department, rng.choice("男女"),
                   mobile,  # a number, as Excel stores phone numbers typed without care
                   f"0{rng.randint(10, 999)}-{rng.randint(1000000, 99999999)}",
                   f"{userid}@example.com", f"{rng.choice(CITIES)}市{rng.choice(STREETS)}{rng.randint(1, 999)}号",
                   f"u{rng.randrange(max(1, i)):06d}" if i else "", "是", rng.randint(0, 1000)]
            if ";" in department:
                row[12] = f"{row[12]};0"
            sheet.append(row)
            writer.writerow(row)
    book.save(xlsx)
    return xlsx, csv_path


MEASURE = r"""
import json, resource, sys, time
kind, path, repeat = sys.argv[1], sys.argv[2], int(sys.argv[3])
if kind == "bulkdir":
    from bulkdir.validate import validate_file
elif kind == "pandas":
    import pandas
else:
    from openpyxl import load_workbook
best = None
for _ in range(repeat):  # imports are done above: only the work is timed, best of `repeat`
    start = time.perf_counter()
    if kind == "bulkdir":
        result = validate_file(path)
        rows, note = result.rows, f"{len(result.problems)} problems"
    elif kind == "pandas":
        frame = pandas.read_excel(path, engine="calamine", dtype=str)
        rows, note = len(frame), ""
    else:
        book = load_workbook(path, read_only=True, data_only=True)
        rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
        note = ""
    seconds = time.perf_counter() - start
    best = seconds if best is None else min(best, seconds)
    result = frame = book = None
print(json.dumps({"seconds": best, "rows": rows, "note": note,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PROCESS_MEASURE = r"""
import json, resource, subprocess, sys, time
command, repeat = json.loads(sys.argv[1]), int(sys.argv[2])
best = None
for _ in range(repeat):  # the whole process: start-up, imports, reading, output, exit
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    best = seconds if best is None else min(best, seconds)
rows = json.loads(done.stdout)["rows"] if done.stdout.strip() else None
print(json.dumps({"seconds": best, "rows": rows, "note": f"exit {done.returncode}",
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

PANDAS_PROCESS = ("import json, sys, pandas; frame = pandas.read_excel(sys.argv[1], engine='calamine', dtype=str); "
                  "print(json.dumps({'rows': len(frame)}))")


def measure(kind: str, path: Path, repeat: int) -> dict:
    if kind == "cli":
        process = [sys.executable, "-m", "bulkdir", "validate", str(path), "--json"]
        command = [sys.executable, "-c", PROCESS_MEASURE, json.dumps(process), str(repeat)]
    elif kind == "pandas-process":
        process = [sys.executable, "-c", PANDAS_PROCESS, str(path)]
        command = [sys.executable, "-c", PROCESS_MEASURE, json.dumps(process), str(repeat)]
    else:
        command = [sys.executable, "-c", MEASURE, kind, str(path), str(repeat)]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} on {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--skip-openpyxl", action="store_true", help="skip the slow plain openpyxl read")
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is shown "
                        "(the machine is shared, the best run is the least disturbed)")
    args = parser.parse_args()
    started = time.perf_counter()
    xlsx, csv_path = generate(args.rows, args.out)
    print(f"data: {args.rows} rows x {len(HEADERS)} columns in {args.out} "
          f"(generated or reused in {time.perf_counter() - started:.1f} s)")
    runs = [("bulkdir validate --json (whole process)", "cli", xlsx),
            ("pandas.read_excel(calamine, dtype=str) (whole process)", "pandas-process", xlsx),
            ("validate_file() (library)", "bulkdir", xlsx),
            ("pandas.read_excel(calamine, dtype=str)", "pandas", xlsx),
            ("bulkdir validate --json (whole process)", "cli", csv_path),
            ("validate_file() (library)", "bulkdir", csv_path)]
    if not args.skip_openpyxl:
        runs.append(("openpyxl read-only load + iter_rows", "openpyxl", xlsx))
    results = []
    for label, kind, path in runs:
        result = measure(kind, path, 1 if kind == "openpyxl" else args.repeat)
        results.append((label, kind, path.suffix[1:], result))
    print(f"\nseconds: best of {args.repeat} (openpyxl: 1 run); imports excluded except in the whole-process rows "
          "(start-up, imports, work, exit); peak MB: the process's maximum resident size")
    print(f"\n| what | file | rows | seconds | peak MB | note |\n|---|---|---|---|---|---|")
    for label, _, suffix, r in results:
        print(f"| {label} | {suffix} | {r['rows']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['note']} |")
    def seconds(kind: str) -> float:
        return next(r["seconds"] for _, k, suffix, r in results if k == kind and suffix == "xlsx")

    library = seconds("bulkdir") / seconds("pandas")
    process = seconds("cli") / seconds("pandas-process")
    print(f"\nxlsx: validate_file / pandas.read_excel = {library:.2f}x; "
          f"bulkdir validate / pandas, each a whole process = {process:.2f}x (target <= 1.5x, < 500 MB)")


if __name__ == "__main__":
    main()
