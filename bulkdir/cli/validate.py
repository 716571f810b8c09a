"""`bulkdir validate`: every problem of a sheet, as a table, JSON or a report file."""

from __future__ import annotations

import sys

import click

from bulkdir.cli.app import cli, lang_option
from bulkdir.cli.options import SheetOptions, sheet_options
from bulkdir.errors import ExitStatus
from bulkdir.sheets import display_width, pad


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sheet", default=None, help="Read this sheet (default: 成员列表/members and 部门/departments, "
              "else the first sheet).")
@click.option("--encoding", default=None, help="Encoding of a CSV file (default: UTF-8, else GBK/GB18030).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Write the problems beside the original rows to this .xlsx or .csv file.")
@lang_option()
@click.option("--force", is_flag=True, help="Replace an existing --report file.")
@sheet_options()
@click.option("--profile", "profile", metavar="NAME", help="Use the mapping of [profiles.NAME] of bulkdir.toml.")
def validate(file: str, sheet: str | None, encoding: str | None, as_json: bool, report_path: str | None,
             lang: str, force: bool, sheet_options: SheetOptions, profile: str | None) -> None:
    """Check a members (and departments) spreadsheet without touching the directory.

    Reads .xlsx/.xlsm/.csv/.tsv, including the admin console's template and GBK CSVs, and
    reports every problem by the row and column the spreadsheet shows. Exit 0 when valid
    (warnings allowed), 1 when there are problems, 2 when the file cannot be read.

    \b
    Example:
      bulkdir validate staff.xlsx --report problems.xlsx
      bulkdir validate staff.csv --json --lang zh
      bulkdir validate onboarding.xlsx --mapping beisen --make-userid pinyin
    """
    import json

    from bulkdir.errors import SheetError
    from bulkdir.report import check_output_path
    from bulkdir.validation import unreadable_document, validate_file, write_report

    if report_path:
        check_output_path(report_path, force=force, protect=[file], option="--report")
    mapping, maker = sheet_options.mapping(profile), sheet_options.maker()
    try:
        result = validate_file(file, sheet=sheet, encoding=encoding, mapping=mapping, maker=maker)
    except SheetError as error:
        if not as_json:
            raise
        # A script asked for JSON: it gets a document saying why, as well as the line on stderr.
        click.echo(json.dumps(unreadable_document(error, lang), ensure_ascii=False, indent=2))
        click.echo(f"{'错误' if lang == 'zh' else 'Error'}: {error.message.in_lang(lang)}", err=True)
        sys.exit(ExitStatus.USAGE)
    if report_path:
        write_report(result, report_path, lang)
    if as_json:
        click.echo(json.dumps(result.to_json(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(_problem_table(result, lang))
    sys.exit(ExitStatus.OK if result.valid else ExitStatus.PROBLEMS)


def _problem_table(result, lang: str) -> str:
    zh = lang == "zh"
    lines = []
    if result.problems:
        rows = [("行" if zh else "Row", "列" if zh else "Column", "值" if zh else "Value",
                 "问题" if zh else "Problem")]
        for p in result.problems:
            value = (p.value or "").replace("\n", " ")
            value = value if len(value) <= 30 else value[:29] + "…"
            mark = ("（警告）" if zh else "(warning) ") if p.severity == "warning" else ""
            sheet = f"{p.sheet}!" if len(result.tables) > 1 and p.sheet else ""
            rows.append((sheet + ("" if p.row is None else str(p.row)), p.column or "", value,
                         mark + p.message.in_lang(lang)))
        widths = [max(display_width(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            lines.append("  ".join(pad(r[i], widths[i]) for i in range(3)) + "  " + r[3])
        lines.append("")
    errors = sum(p.severity == "error" for p in result.problems)
    warnings = len(result.problems) - errors
    bad_rows = len({(p.sheet, p.row) for p in result.problems if p.row is not None and p.severity == "error"})
    if zh:
        lines.append(f"共读取 {result.rows} 行：{errors} 个错误，{warnings} 个警告，{bad_rows} 行有错误。"
                     + ("表格有效。" if result.valid else ""))
    else:
        lines.append(f"{result.rows} rows read: {errors} error(s), {warnings} warning(s), "
                     f"{bad_rows} row(s) with errors." + (" The sheet is valid." if result.valid else ""))
    return "\n".join(lines)
