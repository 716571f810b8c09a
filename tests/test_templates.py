"""`bulkdir template`: blank member and department templates, and the copies kept in templates/."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from bulkdir.cli import cli
from bulkdir.problems import flatten
from bulkdir.schema import DEPARTMENT_HEADERS, MEMBER_HEADERS
from bulkdir.sheets import normalise_header
from bulkdir.templates import (
    DEPARTMENT_TEMPLATE,
    MEMBER_TEMPLATE,
    TEMPLATE_FILES,
    header_text,
    template_kind,
    write_template,
)
from bulkdir.validation import validate_file
from workbook_snapshot import snapshot

REPO_TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def run(*args: str):
    return CliRunner().invoke(cli, list(args), catch_exceptions=False)


@pytest.mark.parametrize("name,kind,headers", TEMPLATE_FILES)
def test_templates_folder_is_what_the_command_writes(tmp_path: Path, name: str, kind: str, headers: str) -> None:
    written = tmp_path / name
    result = run("template", str(written), "--kind", kind, "--headers", headers)
    assert result.exit_code == 0, result.output
    kept = REPO_TEMPLATES / name
    assert kept.exists(), f"templates/{name} is missing; regenerate with write_all_templates('templates')"
    assert snapshot(written) == snapshot(kept), (
        f"templates/{name} differs from `bulkdir template`; regenerate: "
        "python -c \"from bulkdir.templates import write_all_templates; write_all_templates('templates')\"")


def test_templates_folder_holds_nothing_else() -> None:
    assert sorted(p.name for p in REPO_TEMPLATES.iterdir()) == sorted(name for name, _, _ in TEMPLATE_FILES)


@pytest.mark.parametrize("name,kind", [("members.xlsx", "members"), ("departments.xlsx", "departments"),
                                       ("new-depts.csv", "departments"), ("部门.xlsx", "departments"),
                                       ("onboarding.csv", "members")])
def test_kind_follows_the_file_name(tmp_path: Path, name: str, kind: str) -> None:
    assert template_kind(name) == kind
    result = run("template", str(tmp_path / name))
    assert result.exit_code == 0
    assert f"blank {kind} template" in result.output
    first = (MEMBER_TEMPLATE if kind == "members" else DEPARTMENT_TEMPLATE)[0]
    written = tmp_path / name
    if written.suffix == ".csv":
        header = written.read_text(encoding="utf-8-sig").splitlines()[0]
    else:
        header = load_workbook(written).active["A1"].value
    assert header.startswith(header_text(first, "zh"))


def test_kind_flag_overrides_the_name(tmp_path: Path) -> None:
    assert run("template", str(tmp_path / "departments.xlsx"), "--kind", "members").exit_code == 0
    assert load_workbook(tmp_path / "departments.xlsx").active.title == "成员列表"


def test_member_xlsx_marks_notes_lists_and_formats(tmp_path: Path) -> None:
    path = write_template(tmp_path / "members.xlsx")
    sheet = load_workbook(path)["成员列表"]
    headers = {cell.value: cell for cell in sheet[1]}
    letter = {column.field: sheet.cell(row=1, column=i).column_letter for i, column in enumerate(MEMBER_TEMPLATE, 1)}
    # required columns: a * and red; the others black
    assert [h for h, c in headers.items() if c.font.color.rgb.endswith("FF0000")] == ["*帐号", "*姓名"]
    # a note on every header, in Chinese
    assert all(c.comment is not None and len(c.comment.text) > 5 for c in headers.values())
    assert "手机和邮箱至少填一项" in headers["手机"].comment.text
    # drop-down lists for gender and enable, over the whole column below the header
    lists = {str(v.sqref): v.formula1 for v in sheet.data_validations.dataValidation}
    assert lists == {f"{letter['gender']}2:{letter['gender']}1048576": '"男,女"',
                     f"{letter['enable']}2:{letter['enable']}1048576": '"是,否"'}
    # phone and id columns are text, so Excel keeps every digit; the others are not
    for field in ("userid", "mobile", "telephone"):
        assert sheet.column_dimensions[letter[field]].number_format == "@"
        assert sheet[f"{letter[field]}2"].number_format == "@"
    assert sheet.column_dimensions[letter["name"]].number_format == "General"
    # one example row, marked as such
    assert sheet.max_row == 2
    assert sheet[f"{letter['name']}2"].value.endswith("（示例）")


def test_english_headers_and_lists(tmp_path: Path) -> None:
    path = write_template(tmp_path / "m.xlsx", "members", "en")
    sheet = load_workbook(path)["members"]
    assert [c.value for c in sheet[1]][:3] == ["*userid", "*name", "alias"]
    assert sorted(v.formula1 for v in sheet.data_validations.dataValidation) == ['"male,female"', '"yes,no"']
    assert sheet["A1"].comment.text.startswith("Required.")


def test_department_xlsx_has_text_id_column(tmp_path: Path) -> None:
    sheet = load_workbook(write_template(tmp_path / "d.xlsx", "departments"))["部门"]
    assert [c.value for c in sheet[1]] == ["*部门名称", "上级部门", "部门ID", "排序", "英文名称"]
    assert sheet.column_dimensions["C"].number_format == "@"
    assert all(c.comment is not None for c in sheet[1])


@pytest.mark.parametrize("kind,table", [("members", MEMBER_HEADERS), ("departments", DEPARTMENT_HEADERS)])
@pytest.mark.parametrize("headers", ["zh", "en"])
def test_every_header_is_one_the_reader_takes(kind: str, table: dict, headers: str) -> None:
    for column in (MEMBER_TEMPLATE if kind == "members" else DEPARTMENT_TEMPLATE):
        found = table.get(normalise_header(header_text(column, headers)))
        assert found is not None and found.field == column.field, header_text(column, headers)


@pytest.mark.parametrize("name", ["members.xlsx", "members.csv", "members_en.xlsx", "members_en.csv"])
def test_blank_member_template_reads_as_no_members_and_one_example(name: str) -> None:
    result = validate_file(REPO_TEMPLATES / name)
    assert result.valid
    assert result.members == []
    assert flatten(result.problems) == [(2, "name", "example-row")]


@pytest.mark.parametrize("name", ["departments.xlsx", "departments.csv", "departments_en.xlsx",
                                  "departments_en.csv"])
def test_blank_department_template_reads_as_no_departments(name: str) -> None:
    result = validate_file(REPO_TEMPLATES / name)
    assert result.departments == []
    assert flatten(result.problems) == [(2, "name", "example-row")]


def test_filled_template_validates(tmp_path: Path) -> None:
    path = write_template(tmp_path / "onboarding.xlsx")
    book = load_workbook(path)
    sheet = book["成员列表"]
    fields = [c.field for c in MEMBER_TEMPLATE]
    row = {"userid": "lisi", "name": "李四", "department": "示例企业/研发中心", "gender": "女",
           "mobile": "13900001111", "enable": "是"}
    for field, value in row.items():
        sheet.cell(row=3, column=fields.index(field) + 1, value=value)
    book.save(path)
    result = validate_file(path)
    assert result.valid, flatten(result.problems)
    [member] = result.members
    assert member.row == 3
    assert member.values == {"userid": "lisi", "name": "李四", "gender": "2", "mobile": "13900001111", "enable": 1}
    assert member.departments == [("研发中心",)]


def test_existing_file_is_kept_without_force(tmp_path: Path) -> None:
    path = tmp_path / "members.xlsx"
    path.write_bytes(b"mine")
    result = run("template", str(path))
    assert result.exit_code == 2
    assert "already exists" in result.output and "--force" in result.output
    assert path.read_bytes() == b"mine"
    assert run("template", str(path), "--force").exit_code == 0
    assert load_workbook(path).active.title == "成员列表"


def test_other_suffix_is_a_usage_error(tmp_path: Path) -> None:
    result = run("template", str(tmp_path / "members.txt"))
    assert result.exit_code == 2
    assert result.output.count("\n") == 1 and ".xlsx or .csv" in result.output
    assert not (tmp_path / "members.txt").exists()


def test_csv_template_is_header_and_example(tmp_path: Path) -> None:
    path = write_template(tmp_path / "members.csv", headers="en")
    lines = path.read_text(encoding="utf-8-sig").splitlines()
    assert lines[0] == ",".join(header_text(c, "en") for c in MEMBER_TEMPLATE)
    assert len(lines) == 2 and "张三（示例）" in lines[1]
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, so Excel opens it as UTF-8


def test_readme_template_examples_print_what_they_show(emulator, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    """The README's examples, those with --from-directory against a corp with the custom fields 工号 and
    主页 (a web field), as the README says."""
    import re
    import shlex

    readme = (REPO_TEMPLATES.parent / "README.md").read_text(encoding="utf-8")
    section = re.search(r"<!-- section:template -->\n(.*?)<!-- /section:template -->", readme, re.S).group(1)
    shown = re.findall(r"^    \$ (bulkdir template .*)\n    (.*)$", section, re.M)
    assert len([command for command, _ in shown if "--from-directory" not in command]) == 2
    with_fields(emulator, ["工号", "主页:web"])
    monkeypatch.chdir(tmp_path)
    for command, output in shown:
        result = run_on(emulator, *shlex.split(command)[1:])
        assert result.exit_code == 0, result.output
        assert result.stdout.strip() == output


# ---------------------------------------------------------------------------------------------
# --from-directory: the corp's custom fields as columns


def run_on(emulator, *args: str):
    """`bulkdir ARGS` configured for the emulator through the environment, as a person's config would."""
    env = {"BULKDIR_CORP_ID": emulator.corp_id, "BULKDIR_SECRET": emulator.secret, "BULKDIR_BASE_URL": emulator.url,
           "BULKDIR_RATE": "600000"}
    return CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)


def with_fields(emulator, fields: list[str]) -> None:
    """Custom fields defined in the emulator, and one member to show them (the directory learns them so)."""
    emulator.faults(custom_fields=fields)
    emulator.call("department/create", {"name": "研发中心", "parentid": 1, "id": 2})
    answer = emulator.call("user/create", {"userid": "boss", "name": "老板", "mobile": "13800000000",
                                           "department": [1]})
    assert answer["errcode"] == 0, answer


def test_from_directory_adds_a_column_per_custom_field(emulator, tmp_path: Path) -> None:
    with_fields(emulator, ["工号", "主页:web", "职务"])
    path = tmp_path / "onboarding.xlsx"
    result = run_on(emulator, "template", str(path), "--from-directory")
    assert result.exit_code == 0, result.output
    assert result.stdout.strip() == (f"Wrote a blank members template to {path}, sheet 成员列表, with the custom "
                                     "fields 工号, 主页, 职务 (已生成空白模板).")
    sheet = load_workbook(path)["成员列表"]
    usual = [header_text(c, "zh") for c in MEMBER_TEMPLATE]
    headers = [c.value for c in sheet[1]]
    # after the usual columns, in the corp's order; 职务 is position's header, so that field is extattr:职务
    assert headers == usual + ["工号", "主页", "extattr:职务"]
    custom = {c.value: c for c in sheet[1][len(usual):]}
    assert "自定义字段“工号”" in custom["工号"].comment.text
    assert "标题；网址" in custom["主页"].comment.text
    assert "--map extattr:职务=extattr:职务" in custom["extattr:职务"].comment.text
    for cell in custom.values():
        assert sheet.column_dimensions[cell.column_letter].number_format == "@"  # a 工号 like 00123 stays
    assert [sheet.cell(row=2, column=c.column).value for c in custom.values()] == [None, "个人主页；https://example.com",
                                                                                 None]
    csv_path = tmp_path / "onboarding.csv"
    assert run_on(emulator, "template", str(csv_path), "--from-directory", "--headers", "en").exit_code == 0
    header = csv_path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header == [header_text(c, "en") for c in MEMBER_TEMPLATE] + ["工号", "主页", "extattr:职务"]


def test_a_filled_template_with_custom_fields_imports_them(emulator, tmp_path: Path) -> None:
    with_fields(emulator, ["工号", "主页:web"])
    path = tmp_path / "onboarding.xlsx"
    assert run_on(emulator, "template", str(path), "--from-directory").exit_code == 0
    book = load_workbook(path)
    sheet = book["成员列表"]
    headers = [c.value for c in sheet[1]]
    row = {"*帐号": "lisi", "*姓名": "李四", "手机": "13900001111", "部门": "研发中心", "工号": "00123",
           "主页": "博客；https://e.com/ls"}
    for header, value in row.items():
        sheet.cell(row=3, column=headers.index(header) + 1, value=value)
    book.save(path)
    result = run_on(emulator, "import", str(path), "--yes")
    assert result.exit_code == 0, result.output + result.stderr
    attrs = emulator.call("user/get", userid="lisi")["extattr"]["attrs"]
    assert attrs == [{"type": 0, "name": "工号", "text": {"value": "00123"}},
                     {"type": 1, "name": "主页", "web": {"url": "https://e.com/ls", "title": "博客"}}]


def test_from_directory_on_a_corp_without_custom_fields_says_so(emulator, tmp_path: Path) -> None:
    with_fields(emulator, [])
    path = tmp_path / "onboarding.csv"
    result = run_on(emulator, "template", str(path), "--from-directory")
    assert result.exit_code == 0
    assert "no custom fields" in result.stderr
    assert result.stdout.strip() == f"Wrote a blank members template to {path} (已生成空白模板)."
    assert path.read_text(encoding="utf-8-sig").splitlines()[0] == ",".join(header_text(c, "zh")
                                                                            for c in MEMBER_TEMPLATE)


def test_from_directory_refuses_a_departments_template_or_a_bad_name_before_any_call(emulator,
                                                                                     tmp_path: Path) -> None:
    with_fields(emulator, ["工号"])
    emulator.reset()
    (tmp_path / "kept.xlsx").write_bytes(b"mine")
    for args in (["departments.xlsx"], ["staff.txt"], ["kept.xlsx"]):
        result = run_on(emulator, "template", str(tmp_path / args[0]), "--from-directory")
        assert result.exit_code == 2, args
    assert "members' fields" in run_on(emulator, "template", str(tmp_path / "d.xlsx"), "--kind", "departments",
                                       "--from-directory").stderr
    assert sum(emulator.stats()["calls"].values()) == 0
    assert (tmp_path / "kept.xlsx").read_bytes() == b"mine"


def test_without_from_directory_nothing_is_read(emulator, tmp_path: Path) -> None:
    with_fields(emulator, ["工号"])
    emulator.reset()
    result = run_on(emulator, "template", str(tmp_path / "onboarding.xlsx"))
    assert result.exit_code == 0
    assert sum(emulator.stats()["calls"].values()) == 0
    assert [c.value for c in load_workbook(tmp_path / "onboarding.xlsx").active[1]] == [
        header_text(c, "zh") for c in MEMBER_TEMPLATE]


def test_the_library_takes_custom_fields_as_names_or_kinds(tmp_path: Path) -> None:
    from bulkdir.errors import ConfigError

    path = write_template(tmp_path / "m.csv", headers="en", custom_fields=["工号", "mobile"])
    header = path.read_text(encoding="utf-8-sig").splitlines()[0].split(",")
    assert header[-2:] == ["工号", "extattr:mobile"]
    path = write_template(tmp_path / "m.xlsx", custom_fields={"主页": "web"})
    cell = load_workbook(path).active[1][-1]
    assert cell.value == "主页" and "标题；网址" in cell.comment.text
    with pytest.raises(ConfigError, match="members' fields"):
        write_template(tmp_path / "d.xlsx", "departments", custom_fields=["工号"])


@pytest.mark.parametrize("headers", ["zh", "en"])
def test_drop_down_choices_are_values_the_reader_takes(headers: str) -> None:
    parsed = {}
    for column in MEMBER_TEMPLATE:
        choices = column.choices_zh if headers == "zh" else column.choices_en
        if choices:
            parse = MEMBER_HEADERS[normalise_header(header_text(column, headers))].parse
            parsed[column.field] = [parse(choice) for choice in choices]
    assert parsed == {"gender": ["1", "2"], "enable": [1, 0]}
    for column in MEMBER_TEMPLATE:
        choices = column.choices_zh if headers == "zh" else column.choices_en
        assert not choices or column.example_for(headers) in choices  # the example obeys its own list
