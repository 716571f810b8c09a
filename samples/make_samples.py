"""Regenerate the sample spreadsheets in this folder, the same on every run (a fixed seed).

    python samples/make_samples.py            # writes into samples/
    python samples/make_samples.py OUT_DIR    # writes elsewhere (the tests compare the two)

The people are made up: mobiles are in the 1390000xxxx / 1380000xxxx ranges and emails at
example.com, so nothing here reaches a real person.

- staff.xlsx                 40 new hires in a three-level tree under 示例企业, some in two departments,
                             with department leaders and direct leaders; headers of `bulkdir template`.
- departments.xlsx           that tree, with ids and order.
- leavers.csv                a few userids of staff.xlsx, for `bulkdir delete`.
- staff_with_errors.xlsx     good rows plus, once each: a duplicate mobile, a bad email, a missing name,
                             a mobile Excel turned into the number 1.39123E+10, an unknown leader.
- admin_console_template.xlsx  the admin console's layout: sheet 成员列表, notes merged over rows 1-8,
                             headers on row 9, the example row 张三（示例） on row 10, then real rows.
- hr_onboarding.xlsx         an HR system's onboarding export (its own headers, no userids, 工号 and
                             入职日期 for custom fields, 性别 as M/F, 在职状态 in words): six new hires, two
                             of them 陈伟 like one of staff.xlsx, and 胡倩 of staff.xlsx with a new position.
- hr_mapping.toml            the mapping that reads it ([mappings.beisen]).
- hr_leavers.xlsx            leavers by 姓名 and 手机 only, as an HR system lists them: two of staff.xlsx and
                             one who is nobody in the corp. New hires' mobiles are in 1390001xxxx.
"""

from __future__ import annotations

import random
import sys
from dataclasses import dataclass
from pathlib import Path

from bulkdir.sheets import OutSheet, write_csv, write_xlsx
from bulkdir.templates import DEPARTMENT_TEMPLATE, MEMBER_TEMPLATE, header_text, sheet_name

SEED = 20261122
ROOT = "示例企业"
DOMAIN = "example.com"

# (path below the root, id, order); parents before children. Larger order comes first in WeCom.
DEPARTMENTS: list[tuple[tuple[str, ...], int, int]] = [
    (("研发中心",), 2, 400),
    (("研发中心", "广州研发部"), 3, 300),
    (("研发中心", "北京研发部"), 4, 200),
    (("研发中心", "测试部"), 5, 100),
    (("市场部",), 6, 300),
    (("市场部", "华南市场组"), 7, 200),
    (("市场部", "华北市场组"), 8, 100),
    (("人力行政部",), 9, 200),
    (("人力行政部", "招聘组"), 10, 100),
    (("财务部",), 11, 100),
]

# department path -> (the leader's position, the others' positions, how many members)
STAFFING: dict[tuple[str, ...], tuple[str, tuple[str, ...], int]] = {
    ("研发中心",): ("研发总监", ("技术顾问",), 2),
    ("研发中心", "广州研发部"): ("技术经理", ("后端工程师", "前端工程师", "算法工程师", "后端工程师"), 8),
    ("研发中心", "北京研发部"): ("技术经理", ("后端工程师", "移动端工程师", "数据工程师"), 6),
    ("研发中心", "测试部"): ("测试经理", ("测试工程师", "自动化测试工程师"), 4),
    ("市场部",): ("市场总监", ("品牌经理",), 2),
    ("市场部", "华南市场组"): ("市场经理", ("市场专员", "渠道专员"), 5),
    ("市场部", "华北市场组"): ("市场经理", ("市场专员",), 4),
    ("人力行政部",): ("人力行政总监", ("行政专员", "HRBP"), 3),
    ("人力行政部", "招聘组"): ("招聘主管", ("招聘专员",), 3),
    ("财务部",): ("财务经理", ("会计", "出纳"), 3),
}

SURNAMES = [("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen"), ("杨", "yang"),
            ("黄", "huang"), ("赵", "zhao"), ("吴", "wu"), ("周", "zhou"), ("徐", "xu"), ("孙", "sun"),
            ("马", "ma"), ("朱", "zhu"), ("胡", "hu"), ("郭", "guo"), ("何", "he"), ("林", "lin"),
            ("罗", "luo"), ("高", "gao"), ("梁", "liang"), ("郑", "zheng"), ("谢", "xie"), ("宋", "song"),
            ("唐", "tang"), ("韩", "han"), ("冯", "feng"), ("邓", "deng"), ("曹", "cao"), ("彭", "peng")]
GIVEN_MALE = [("伟", "wei"), ("强", "qiang"), ("磊", "lei"), ("军", "jun"), ("洋", "yang"), ("勇", "yong"),
              ("杰", "jie"), ("涛", "tao"), ("明", "ming"), ("超", "chao"), ("浩然", "haoran"),
              ("子轩", "zixuan"), ("俊杰", "junjie"), ("建国", "jianguo"), ("志强", "zhiqiang"),
              ("宇航", "yuhang"), ("文博", "wenbo"), ("嘉豪", "jiahao"), ("晨阳", "chenyang"), ("鹏", "peng")]
GIVEN_FEMALE = [("芳", "fang"), ("娜", "na"), ("敏", "min"), ("静", "jing"), ("丽", "li"), ("婷", "ting"),
                ("雪", "xue"), ("欣怡", "xinyi"), ("雨涵", "yuhan"), ("思琪", "siqi"), ("梓涵", "zihan"),
                ("晓燕", "xiaoyan"), ("佳怡", "jiayi"), ("秀英", "xiuying"), ("慧敏", "huimin"),
                ("诗涵", "shihan"), ("颖", "ying"), ("倩", "qian"), ("玉兰", "yulan"), ("梦瑶", "mengyao")]

# Members who also belong to a second department (by their index in the staff list) and the path.
SECOND_DEPARTMENT = {14: ("研发中心", "广州研发部"), 24: ("市场部", "华北市场组"), 36: ("人力行政部",)}

STAFF_FIELDS = ["userid", "name", "position", "department", "gender", "mobile", "telephone", "email",
                "is_leader_in_dept", "direct_leader"]
ADMIN_HEADERS = ["姓名", "帐号", "别名", "职务", "部门", "性别", "手机", "座机", "个人邮箱", "地址", "企业简称"]
ADMIN_NOTES = (
    "填写须知：\n"
    "1. 请勿修改表格结构，不要增加、删除或重命名列；\n"
    "2. 红色字段为必填字段，黑色字段为选填字段；手机和个人邮箱至少填写一项；\n"
    "3. 帐号：成员在企业中的唯一标识，由 1-32 个字母、数字、“.”、“-”、“_”组成；相同帐号将覆盖原成员信息；\n"
    "4. 部门：上下级部门间用“/”隔开，从最上级部门开始写，例如“示例企业/研发中心/广州研发部”；"
    "多个部门用“；”隔开，第一个为主部门；\n"
    "5. 手机：大陆手机号直接填写，其他地区须写“+国家码”，例如 +852 91234567；\n"
    "6. 性别：填写“男”或“女”；\n"
    "7. 第 10 行为示例，导入时会被忽略。")


@dataclass
class Person:
    userid: str
    name: str
    gender: str  # 男 / 女
    mobile: str
    email: str
    position: str = ""
    departments: tuple[tuple[str, ...], ...] = ()
    leads: tuple[bool, ...] = ()
    direct_leader: str = ""
    telephone: str = ""

    def department_text(self) -> str:
        return "；".join("/".join((ROOT, *path)) for path in self.departments)

    def leader_text(self) -> str:
        return "；".join("是" if lead else "否" for lead in self.leads)


def people(count: int, rng: random.Random) -> list[Person]:
    """`count` made-up people with distinct names, userids, mobiles and emails."""
    names: set[str] = set()
    userids: set[str] = set()
    numbers = rng.sample(range(10000), count)
    result = []
    while len(result) < count:
        surname, surname_pinyin = rng.choice(SURNAMES)
        female = rng.random() < 0.45
        given, given_pinyin = rng.choice(GIVEN_FEMALE if female else GIVEN_MALE)
        name = surname + given
        if name in names:
            continue
        names.add(name)
        userid = surname_pinyin + given_pinyin
        suffix = 2
        while userid in userids:
            userid, suffix = f"{surname_pinyin}{given_pinyin}{suffix}", suffix + 1
        userids.add(userid)
        prefix = "1390000" if len(result) % 2 == 0 else "1380000"
        mobile = f"{prefix}{numbers[len(result)]:04d}"
        result.append(Person(userid, name, "女" if female else "男", mobile, f"{userid}@{DOMAIN}"))
    return result


def staff(rng: random.Random) -> list[Person]:
    """The 40 new hires of staff.xlsx, placed in departments with their leaders."""
    crowd = people(sum(size for _, _, size in STAFFING.values()), rng)
    heads: dict[tuple[str, ...], str] = {}
    index = 0
    for path, (head_position, positions, size) in STAFFING.items():
        for place in range(size):
            person = crowd[index]
            person.departments = (path,)
            person.leads = (place == 0,)
            if place == 0:
                person.position = head_position
                heads[path] = person.userid
                parent = heads.get(path[:-1]) if len(path) > 1 else None
                person.direct_leader = parent or ""
            else:
                person.position = positions[(place - 1) % len(positions)]
                person.direct_leader = heads[path]
            if path[0] == "研发中心" and rng.random() < 0.4:
                area = "010" if "北京研发部" in path else "020"
                person.telephone = f"{area}-8888{rng.randrange(10000):04d}"
            index += 1
    for index, second in SECOND_DEPARTMENT.items():
        person = crowd[index]
        person.departments += (second,)
        person.leads += (False,)
    return crowd


def member_row(person: Person) -> list[str]:
    values = {"userid": person.userid, "name": person.name, "position": person.position,
              "department": person.department_text(), "gender": person.gender, "mobile": person.mobile,
              "telephone": person.telephone, "email": person.email, "is_leader_in_dept": person.leader_text(),
              "direct_leader": person.direct_leader}
    return [values[field] for field in STAFF_FIELDS]


def member_headers() -> list[str]:
    by_field = {column.field: column for column in MEMBER_TEMPLATE}
    return [header_text(by_field[field], "zh") for field in STAFF_FIELDS]


def write_staff(folder: Path, crowd: list[Person]) -> None:
    write_xlsx(folder / "staff.xlsx",
               OutSheet(sheet_name("members", "zh"), member_headers(), [member_row(p) for p in crowd]))


def write_departments(folder: Path) -> None:
    headers = [header_text(column, "zh") for column in DEPARTMENT_TEMPLATE[:4]]
    rows = [[path[-1], "/".join((ROOT, *path[:-1])), str(id_), str(order)] for path, id_, order in DEPARTMENTS]
    write_xlsx(folder / "departments.xlsx", OutSheet(sheet_name("departments", "zh"), headers, rows))


def write_leavers(folder: Path, crowd: list[Person]) -> None:
    leaving = [p for p in crowd if not any(p.leads) and len(p.departments) == 1][-3:]
    write_csv(folder / "leavers.csv", ["帐号", "姓名", "手机"], [[p.userid, p.name, p.mobile] for p in leaving])


# The mistakes of staff_with_errors.xlsx: (spreadsheet row, field, problem type as `bulkdir validate`
# reports it). Without a directory at hand an unknown leader is a warning (it might exist in the corp);
# `bulkdir import` makes it an error once the directory shows it does not.
ERROR_ROWS = {
    "duplicate mobile": 5,
    "bad email": 7,
    "missing name": 9,
    "mangled mobile": 11,
    "unknown leader": 13,
}
MANGLED_MOBILE = 13912300000.0  # what Excel keeps of 13912345678 after it showed it as 1.39123E+10
UNKNOWN_LEADER = "zhaoliu"
EXPECTED_ERRORS = [
    (ERROR_ROWS["duplicate mobile"], "mobile", "duplicate-value"),
    (ERROR_ROWS["bad email"], "email", "invalid-email"),
    (ERROR_ROWS["missing name"], "name", "missing-required"),
    (ERROR_ROWS["mangled mobile"], "mobile", "lost-digits"),
    (ERROR_ROWS["unknown leader"], "direct_leader", "leader-not-in-sheet"),
]


def write_staff_with_errors(folder: Path, crowd: list[Person]) -> None:
    from openpyxl import load_workbook

    # The first 15 of 研发中心 (with their leaders): good rows around the mistakes.
    rows = [member_row(p) for p in crowd if p.departments[0][0] == "研发中心"][:15]
    headers = member_headers()
    column = {field: STAFF_FIELDS.index(field) for field in STAFF_FIELDS}

    def at(row: int) -> list[str]:
        return rows[row - 2]  # spreadsheet row 2 is the first data row

    at(ERROR_ROWS["duplicate mobile"])[column["mobile"]] = at(3)[column["mobile"]]
    email = at(ERROR_ROWS["bad email"])
    email[column["email"]] = email[column["email"]].replace("@", "#", 1)
    at(ERROR_ROWS["missing name"])[column["name"]] = ""
    at(ERROR_ROWS["unknown leader"])[column["direct_leader"]] = UNKNOWN_LEADER
    path = folder / "staff_with_errors.xlsx"
    write_xlsx(path, OutSheet(sheet_name("members", "zh"), headers, rows))
    # Excel turns a long number typed into a General cell into a float and shows 1.39123E+10; saved
    # through CSV and opened again, only those six digits are left. Write that float as Excel would.
    book = load_workbook(path)
    cell = book.active.cell(row=ERROR_ROWS["mangled mobile"], column=column["mobile"] + 1)
    cell.value = MANGLED_MOBILE
    cell.number_format = "0.00000E+00"
    book.save(path)


def write_admin_template(folder: Path, crowd: list[Person]) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    book = Workbook()
    sheet = book.active
    sheet.title = "成员列表"
    sheet.merge_cells(start_row=1, start_column=1, end_row=8, end_column=len(ADMIN_HEADERS))
    sheet.cell(row=1, column=1, value=ADMIN_NOTES).alignment = Alignment(wrap_text=True, vertical="top")
    for index, header in enumerate(ADMIN_HEADERS, start=1):
        cell = sheet.cell(row=9, column=index, value=header)
        cell.font = Font(bold=True, color="FF0000" if header in ("姓名", "帐号", "部门") else "000000")
    example = ["张三（示例）", "zhangsan", "Sam", "产品经理", "示例企业/研发中心/广州研发部", "男", "13800000000",
               "020-88880000", "zhangsan@example.com", "广州市海珠区示例路 1 号", ""]
    rows = [example]
    for person in crowd:
        rows.append([person.name, person.userid, "", person.position, person.department_text(), person.gender,
                     person.mobile, person.telephone, person.email, "", ""])
    for offset, values in enumerate(rows):
        for index, value in enumerate(values, start=1):
            cell = sheet.cell(row=10 + offset, column=index, value=value or None)
            cell.number_format = "@"
    book.save(folder / "admin_console_template.xlsx")


def admin_people(rng: random.Random, taken: list[Person]) -> list[Person]:
    """Eight more hires, entered through the admin console's template (not in staff.xlsx)."""
    used = {p.userid for p in taken} | {p.name for p in taken} | {p.mobile for p in taken}
    fresh = [p for p in people(40, rng) if not {p.userid, p.name, p.mobile} & used][:8]
    places = [("市场部", "华南市场组"), ("市场部", "华北市场组"), ("财务部",), ("研发中心", "测试部")]
    positions = ["市场专员", "市场专员", "会计", "测试工程师"]
    for index, person in enumerate(fresh):
        person.departments = (places[index % len(places)],)
        person.position = positions[index % len(positions)]
    return fresh


HR_HEADERS = ["工号", "姓名", "性别", "手机", "邮箱", "所属部门", "职位", "入职日期", "职级", "在职状态"]
HR_HIRES = [  # 工号, name, gender, mobile, department, position, start date
    ("E2001", "陈伟", "M", "13900011001", "研发中心/广州研发部", "后端工程师", "2026-12-01"),
    ("E2002", "陈伟", "M", "13900011002", "研发中心/北京研发部", "数据工程师", "2026-12-01"),
    ("E2003", "单晓燕", "F", "13900011003", "市场部/华南市场组", "市场专员", "2026-12-01"),
    ("E2004", "吕思琪", "F", "13900011004", "财务部", "会计", "2026-12-08"),
    ("E2005", "欧阳娜娜", "F", "13900011005", "人力行政部/招聘组", "招聘专员", "2026-12-08"),
    ("E2006", "阿依古丽·买买提", "F", "13900011006", "研发中心/测试部", "测试工程师", "2026-12-08"),
]
HR_MAPPING = """\
# How bulkdir reads the onboarding export of the HR system (see README, "Sheets from an HR system").
[mappings.beisen]
"工号" = "extattr:工号"            # a custom field (自定义字段) of the corp
"所属部门" = "department"
"职位" = "position"
"入职日期" = "extattr:入职日期"
"职级" = "-"                       # not kept in WeCom: read as nothing, without a warning
"性别" = { field = "gender", values = { "M" = "男", "F" = "女" } }
"在职状态" = { field = "enable", values = { "在职" = 1, "离职" = 0 } }
"""


def write_hr_onboarding(folder: Path, crowd: list[Person]) -> None:
    rows = [[number, name, gender, mobile, f"{mobile}@{DOMAIN}".replace("139000", "hire", 1), department, position,
             start, "P4", "在职"] for number, name, gender, mobile, department, position, start in HR_HIRES]
    moved = crowd[1]  # 胡倩: in the corp already, found by her mobile; the HR system has her new position
    rows.insert(2, ["E1002", moved.name, "F" if moved.gender == "女" else "M", moved.mobile, moved.email,
                    "/".join(moved.departments[0]), "首席技术顾问", "2021-03-15", "P8", "在职"])
    write_xlsx(folder / "hr_onboarding.xlsx", OutSheet("员工信息", HR_HEADERS, rows))
    (folder / "hr_mapping.toml").write_text(HR_MAPPING, encoding="utf-8")


def write_hr_leavers(folder: Path, crowd: list[Person]) -> None:
    leaving = [p for p in crowd if not any(p.leads) and len(p.departments) == 1][-3:-1]
    rows = [[p.name, p.mobile, "2026-11-30", "个人原因"] for p in leaving]
    rows.append(["李雷", "13900019999", "2026-11-30", "合同到期"])  # nobody in the corp has this mobile
    write_xlsx(folder / "hr_leavers.xlsx", OutSheet("离职人员", ["姓名", "手机", "离职日期", "离职原因"], rows))


def make_samples(folder: str | Path) -> list[Path]:
    """Write every sample into `folder`; the same content on every run."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    rng = random.Random(SEED)
    crowd = staff(rng)
    write_staff(folder, crowd)
    write_departments(folder)
    write_leavers(folder, crowd)
    write_staff_with_errors(folder, crowd)
    write_admin_template(folder, admin_people(rng, crowd))
    write_hr_onboarding(folder, crowd)
    write_hr_leavers(folder, crowd)
    return sorted(folder.glob("*.xlsx")) + sorted(folder.glob("*.csv")) + sorted(folder.glob("*.toml"))


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    for written in make_samples(target):
        print(written)
