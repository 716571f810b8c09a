"""Benchmark `bulkdir validate` on a 100,000-row member sheet (xlsx and csv) of realistic Chinese data,
beside `pandas.read_excel(engine="calamine", dtype=str)` and a plain openpyxl read of the same xlsx, and
beside `pandas.read_csv(dtype=str, keep_default_na=False)` of the same csv.

Each measurement runs in its own subprocess, so its peak memory (ru_maxrss) is its own: once per round,
the rounds interleaved (`--repeat`, default 3), the best of its rounds shown. bulkdir's bytecode is compiled
first, as pip does when it installs a package.

    python bench/validate.py                 # 100,000 rows into bench/out/
    python bench/validate.py --rows 20000 --skip-openpyxl
    python bench/validate.py --caps          # peak memory of reading files just under bulkdir.sheets' caps

Target: validating the xlsx or the csv takes at most 1.5x the pandas read of it, and stays under 500 MB; reading a
file just under the caps stays around 1 GB or less. The same rows as an HR system exports them (its own
headers, read through a mapping; no userids, so each row gets one made from the pinyin of the name, against
an empty directory) validate within 1.3x the time of the sheet with userids.
"""

from __future__ import annotations

import argparse
import compileall
import csv
import json
import random
import subprocess
import sys
import time
from pathlib import Path

OUT = Path(__file__).parent / "out"
HEADERS = ["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址", "直属上级", "启用",
           "排序"]
SURNAMES = ("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
            "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾毛郝"
            "龚邵万钱严覃武戴莫孔向汤")
GIVEN = ("伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华玉兰萍红建华文辉力建国海燕鹏飞志强"
         "晓东子涵浩然梓萱一诺欣怡宇轩")
CENTERS = ["研发中心", "销售部", "市场部", "财务部", "人力资源部", "运营中心", "客户服务部", "法务部"]
CITIES = ["北京", "上海", "广州", "深圳", "杭州", "成都", "武汉", "西安"]
POSITIONS = ["工程师", "高级工程师", "产品经理", "销售经理", "会计", "招聘专员", "运营专员", "客服代表", "法务顾问",
             "总监"]
STREETS = ["中山路", "人民路", "解放路", "建设路", "和平路", "科技园路", "天府大道", "滨江路"]


# The members sheet's headers as an HR system writes them (the 帐号 column becomes the HR system's 工号)
HR_HEADERS = {"姓名": "员工姓名", "帐号": "工号", "别名": "英文名", "职务": "岗位", "部门": "所属部门",
              "手机": "手机号码", "个人邮箱": "邮箱", "直属上级": "直属领导", "启用": "在职状态"}
HR_MAPPING = ["员工姓名=name", "英文名=alias", "岗位=position", "所属部门=department", "手机号码=mobile",
              "邮箱=email", "在职状态=enable"]
HR_WITH_USERIDS = HR_MAPPING + ["工号=userid", "直属领导=direct_leader"]
HR_WITHOUT_USERIDS = HR_MAPPING + ["工号=-", "直属领导=-"]  # leaders are named by userid: none to name


def generate_hr(rows: int, out: Path) -> tuple[Path, Path]:
    """The members sheet of `generate` with an HR system's headers: hr-<rows>.xlsx and .csv."""
    from openpyxl import Workbook

    _, members_csv = generate(rows, out)
    xlsx, csv_path = out / f"hr-{rows}.xlsx", out / f"hr-{rows}.csv"
    if xlsx.exists() and csv_path.exists():
        return xlsx, csv_path
    book = Workbook(write_only=True)
    sheet = book.create_sheet("员工")
    with open(members_csv, encoding="utf-8-sig", newline="") as source, \
            open(csv_path, "w", encoding="utf-8-sig", newline="") as target:
        writer = csv.writer(target)
        for index, row in enumerate(csv.reader(source)):
            if index == 0:
                row = [HR_HEADERS.get(header, header) for header in row]
            writer.writerow(row)
            sheet.append(row)
    book.save(xlsx)
    return xlsx, csv_path


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
kind, path = sys.argv[1], sys.argv[2]
maps = json.loads(sys.argv[3]) if len(sys.argv) > 3 else []
if kind.startswith("bulkdir"):
    from bulkdir.mapping import Mapping
    from bulkdir.matching import UseridMaker
    from bulkdir.validation import validate_file
    mapping = Mapping.from_options(maps)
    maker = UseridMaker.from_options("pinyin", None) if kind == "bulkdir-pinyin" else None
elif kind == "pandas":
    import pandas
else:
    from openpyxl import load_workbook
start = time.perf_counter()  # imports are done above: only the work is timed
if kind.startswith("bulkdir"):
    result = validate_file(path, mapping=mapping, maker=maker)
    rows, note = result.rows, f"{len(result.problems)} problems"
    if maker is not None:
        made = [m.values.get("userid") for m in result.members]
        note += f", {sum(1 for u in made if u):,} userids made ({len(set(made)):,} distinct)"
elif kind == "pandas" and path.endswith(".csv"):
    frame = pandas.read_csv(path, dtype=str, keep_default_na=False)
    rows, note = len(frame), ""
elif kind == "pandas":
    frame = pandas.read_excel(path, engine="calamine", dtype=str)
    rows, note = len(frame), ""
else:
    book = load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in book.worksheets[0].iter_rows(values_only=True)) - 1
    note = ""
seconds = time.perf_counter() - start
print(json.dumps({"seconds": seconds, "rows": rows, "note": note,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

PROCESS_MEASURE = r"""
import json, resource, subprocess, sys, time
command = json.loads(sys.argv[1])
start = time.perf_counter()  # the whole process: start-up, imports, reading, output, exit
done = subprocess.run(command, capture_output=True, text=True)
seconds = time.perf_counter() - start
rows = json.loads(done.stdout)["rows"] if done.stdout.strip() else None
print(json.dumps({"seconds": seconds, "rows": rows, "note": f"exit {done.returncode}",
                  "peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""

PANDAS_PROCESS = ("import json, sys, pandas; frame = pandas.read_excel(sys.argv[1], engine='calamine', dtype=str); "
                  "print(json.dumps({'rows': len(frame)}))")
PANDAS_CSV_PROCESS = ("import json, sys, pandas; "
                      "frame = pandas.read_csv(sys.argv[1], dtype=str, keep_default_na=False); "
                      "print(json.dumps({'rows': len(frame)}))")


def measure(kind: str, path: Path, maps: list[str] | None = None) -> dict:
    """One run of a measurement in a fresh process: its seconds, rows, note and peak MB."""
    if kind == "cli":
        process = [sys.executable, "-m", "bulkdir", "validate", str(path), "--json"]
        command = [sys.executable, "-c", PROCESS_MEASURE, json.dumps(process)]
    elif kind == "pandas-process":
        process = [sys.executable, "-c", PANDAS_CSV_PROCESS if path.suffix == ".csv" else PANDAS_PROCESS, str(path)]
        command = [sys.executable, "-c", PROCESS_MEASURE, json.dumps(process)]
    else:
        command = [sys.executable, "-c", MEASURE, kind, str(path), json.dumps(maps or [])]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"{kind} on {path.name} failed:\n{done.stderr}")
    return json.loads(done.stdout.strip().splitlines()[-1])


READ = r"""
import json, resource, sys, time
from bulkdir.errors import SheetError
from bulkdir.sheets import read_sheet
start = time.perf_counter()
try:
    sheet = read_sheet(sys.argv[1])
    note = f"{len(sheet.rows):,} rows, {sum(map(len, sheet.rows)):,} cells read"
except SheetError as error:
    note = f"refused: {error}"
print(json.dumps({"seconds": time.perf_counter() - start, "note": note,
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def cap_files(out: Path) -> list[tuple[str, Path]]:
    """Files just under bulkdir.sheets' caps, made once: the largest member sheets accepted, and
    hostile shapes that pass the checks or are refused only after parsing."""
    import zipfile

    from bulkdir import sheets

    out.mkdir(parents=True, exist_ok=True)
    # 355,000 members: the xlsx (openpyxl writes inline strings, 73 MB of XML per 100,000) unpacks to just
    # under MAX_UNPACKED_BYTES; the CSV is cut to the rows that fit under MAX_SHEET_BYTES
    xlsx, full_csv = generate(355_000, out)
    big_csv = out / "members-under-cap.csv"
    if not big_csv.exists():
        with open(full_csv, "rb") as source, open(big_csv, "wb") as target:
            for line in source:
                if target.tell() + len(line) > sheets.MAX_SHEET_BYTES:
                    break
                target.write(line)
    sheet_xml = b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>%s</sheetData></worksheet>'

    def xlsx_of(name: str, sheet_data: bytes) -> Path:
        path = out / name
        if not path.exists():
            with zipfile.ZipFile(xlsx) as source, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as target:
                for item in source.infolist():
                    if item.filename == "xl/worksheets/sheet1.xml":
                        target.writestr(item.filename, sheet_xml % sheet_data)
                    elif not item.filename.startswith("xl/worksheets/"):
                        target.writestr(item.filename, source.read(item.filename))
        return path

    repeat = b'<c r="A1"><v>1</v></c>'
    repeated = xlsx_of("repeated-cell.xlsx", b'<row r="1">' + repeat * ((sheets.MAX_UNPACKED_BYTES - (1 << 20))
                                                                        // len(repeat)) + b"</row>")
    rows = sheets.MAX_CELLS // 26
    rectangle = xlsx_of("two-cells-rectangle.xlsx", b'<row r="1"><c r="A1"><v>1</v></c></row>'
                        b'<row r="%d"><c r="Z%d"><v>1</v></c></row>' % (rows, rows))
    short_rows = out / "short-rows.csv"  # MAX_ROWS rows of MAX_CELLS / MAX_ROWS cells
    if not short_rows.exists():
        width = sheets.MAX_CELLS // sheets.MAX_ROWS
        short_rows.write_bytes(("a" + ",a" * (width - 1) + "\n").encode() * sheets.MAX_ROWS)
    blank_lines = out / "blank-lines.csv"  # just under the count before parsing: refused only after it
    if not blank_lines.exists():
        blank_lines.write_bytes(b"a\n" + b"\n" * (2 * sheets.MAX_CELLS - 2))
    return [("members xlsx, 355,000 rows", xlsx), ("members CSV, cut under 50 MB", big_csv),
            ("xlsx: one cell repeated to the unpacked cap", repeated),
            (f"xlsx: A1 and Z{rows}, a rectangle of {rows * 26:,} cells", rectangle),
            (f"CSV: {sheets.MAX_ROWS:,} rows of {sheets.MAX_CELLS // sheets.MAX_ROWS} cells", short_rows),
            (f"CSV: {2 * sheets.MAX_CELLS - 1:,} blank lines", blank_lines)]


def caps(out: Path) -> None:
    """Peak memory of read_sheet on the files of `cap_files`, each read in a child process. The files are
    made in a child too: a process started from this one would report this one's peak as its own."""
    script = ("import json, sys; sys.path.insert(0, sys.argv[1]); import validate; "
              "print(json.dumps([(l, str(p)) for l, p in validate.cap_files(validate.Path(sys.argv[2]))]))")
    made = subprocess.run([sys.executable, "-c", script,
                           str(Path(__file__).parent), str(out)], capture_output=True, text=True)
    if made.returncode:
        raise SystemExit(f"making the files failed:\n{made.stderr}")
    from bulkdir import sheets

    print(f"caps: MAX_SHEET_BYTES {sheets.MAX_SHEET_BYTES >> 20} MB, MAX_UNPACKED_BYTES "
          f"{sheets.MAX_UNPACKED_BYTES >> 20} MB, MAX_CELLS {sheets.MAX_CELLS:,}, MAX_ROWS {sheets.MAX_ROWS:,}")
    print("\n| file | size MB | seconds | peak MB | what read_sheet did |\n|---|---|---|---|---|")
    for label, path in json.loads(made.stdout.strip().splitlines()[-1]):
        done = subprocess.run([sys.executable, "-c", READ, path], capture_output=True, text=True)
        if done.returncode:
            raise SystemExit(f"reading {path} failed:\n{done.stderr}")
        r = json.loads(done.stdout.strip().splitlines()[-1])
        size = Path(path).stat().st_size / 2**20
        print(f"| {label} | {size:.1f} | {r['seconds']:.1f} | {r['peak_mb']:.0f} | {r['note']} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--skip-openpyxl", action="store_true", help="skip the slow plain openpyxl read")
    parser.add_argument("--repeat", type=int, default=3, help="rounds of every measurement; the best is shown "
                        "(the machine is shared, the best run is the least disturbed)")
    parser.add_argument("--caps", action="store_true", help="measure the peak memory of reading files just "
                        "under bulkdir.sheets' caps instead")
    args = parser.parse_args()
    if args.caps:
        caps(args.out)
        return
    started = time.perf_counter()
    xlsx, csv_path = generate(args.rows, args.out)
    hr_xlsx, hr_csv = generate_hr(args.rows, args.out)
    print(f"data: {args.rows} rows x {len(HEADERS)} columns in {args.out} "
          f"(generated or reused in {time.perf_counter() - started:.1f} s)")
    runs = [("bulkdir validate --json (whole process)", "cli", xlsx),
            ("pandas.read_excel(calamine, dtype=str) (whole process)", "pandas-process", xlsx),
            ("validate_file() (library)", "bulkdir", xlsx),
            ("pandas.read_excel(calamine, dtype=str)", "pandas", xlsx),
            ("bulkdir validate --json (whole process)", "cli", csv_path),
            ("pandas.read_csv(dtype=str, keep_default_na=False) (whole process)", "pandas-process", csv_path),
            ("validate_file() (library)", "bulkdir", csv_path),
            ("pandas.read_csv(dtype=str, keep_default_na=False)", "pandas", csv_path),
            ("HR headers, mapping, 工号=userid", "bulkdir-mapped", hr_xlsx),
            ("HR headers, mapping, no userids, --make-userid pinyin", "bulkdir-pinyin", hr_xlsx),
            ("HR headers, mapping, 工号=userid", "bulkdir-mapped", hr_csv),
            ("HR headers, mapping, no userids, --make-userid pinyin", "bulkdir-pinyin", hr_csv)]
    if not args.skip_openpyxl:
        runs.append(("openpyxl read-only load + iter_rows", "openpyxl", xlsx))
    # bulkdir's bytecode compiled, as pip does when it installs a package: a machine that sets
    # PYTHONDONTWRITEBYTECODE would otherwise compile bulkdir's source in every process, pandas' never
    import bulkdir

    compileall.compile_dir(str(Path(bulkdir.__file__).parent), quiet=1)
    # Round by round, each measurement once in a fresh process: a machine that slows down or speeds up
    # during the run weighs on every measurement alike, and each ratio compares runs made side by side.
    best: dict[int, dict] = {}
    for round_number in range(args.repeat):
        for index, (label, kind, path) in enumerate(runs):
            if kind == "openpyxl" and round_number:
                continue
            maps = HR_WITHOUT_USERIDS if kind == "bulkdir-pinyin" else HR_WITH_USERIDS if kind == "bulkdir-mapped" \
                else None
            result = measure(kind, path, maps)
            if index in best:
                result["peak_mb"] = max(result["peak_mb"], best[index]["peak_mb"])
                if result["seconds"] > best[index]["seconds"]:
                    result = {**best[index], "peak_mb": result["peak_mb"]}
            best[index] = result
    results = [(label, kind, path.suffix[1:], best[index]) for index, (label, kind, path) in enumerate(runs)]
    print(f"\nseconds: best of {args.repeat} rounds, each measurement once per round in a fresh process (openpyxl: "
          "1 run); imports excluded except in the whole-process rows (start-up, imports, work, exit); peak MB: "
          "the process's maximum resident size, the highest of the rounds")
    print("\n| what | file | rows | seconds | peak MB | note |\n|---|---|---|---|---|---|")
    for label, _, suffix, r in results:
        print(f"| {label} | {suffix} | {r['rows']} | {r['seconds']:.2f} | {r['peak_mb']:.0f} | {r['note']} |")
    def seconds(kind: str) -> float:
        return next(r["seconds"] for _, k, suffix, r in results if k == kind and suffix == "xlsx")

    library = seconds("bulkdir") / seconds("pandas")
    process = seconds("cli") / seconds("pandas-process")
    print(f"\nxlsx: validate_file / pandas.read_excel = {library:.2f}x; "
          f"bulkdir validate / pandas, each a whole process = {process:.2f}x (target <= 1.5x, < 500 MB)")

    def by(kind: str, suffix: str) -> float:
        return next(r["seconds"] for _, k, s, r in results if k == kind and s == suffix)

    print(f"csv: validate_file / pandas.read_csv = {by('bulkdir', 'csv') / by('pandas', 'csv'):.2f}x; "
          f"bulkdir validate / pandas, each a whole process = "
          f"{by('cli', 'csv') / by('pandas-process', 'csv'):.2f}x (target <= 1.5x)")
    for suffix in ("xlsx", "csv"):
        print(f"{suffix}: HR sheet with --make-userid pinyin / the sheet with userids = "
              f"{by('bulkdir-pinyin', suffix) / by('bulkdir', suffix):.2f}x; / the HR sheet with 工号=userid = "
              f"{by('bulkdir-pinyin', suffix) / by('bulkdir-mapped', suffix):.2f}x (target <= 1.3x)")


if __name__ == "__main__":
    main()
