"""`bulkdir template`: a blank sheet to fill in."""

from __future__ import annotations

import click

from bulkdir.cli.app import cli, lang_option


@cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["members", "departments"]), default=None,
              help="Which template [default: departments when the file name says so "
                   "(department, dept, 部门), else members].")
@click.option("--headers", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Chinese headers (the admin console's) or English field names.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@lang_option(expose=False)
def template_command(file: str, kind: str | None, headers: str, force: bool) -> None:
    """Write a blank members or departments template (.xlsx or .csv) to fill in and import.

    The xlsx has required columns marked with * (in red), a note on each header saying what it
    takes, drop-down lists for gender and enable, phone and id columns formatted as text, and
    one example row (name ending in （示例）) that bulkdir skips. A CSV has the header and the
    example row only.

    \b
    Example:
      bulkdir template onboarding.xlsx
      bulkdir template departments.csv --headers en
    """
    from bulkdir.templates import sheet_name, template_kind, write_template

    chosen = kind or template_kind(file)
    path = write_template(file, chosen, headers, overwrite=force)  # type: ignore[arg-type]
    where = "" if path.suffix.lower() == ".csv" else f", sheet {sheet_name(chosen, headers)}"  # type: ignore[arg-type]
    click.echo(f"Wrote a blank {chosen} template to {path}{where} (已生成空白模板).")
