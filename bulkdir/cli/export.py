"""`bulkdir export`: the directory to xlsx, CSV or JSON."""

from __future__ import annotations

import sys

import click

from bulkdir.cli.app import cli, lang_option
from bulkdir.cli.options import Connection, SheetOptions, connection_options, sheet_options
from bulkdir.cli.progress import StageBars


@cli.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@connection_options
@click.option("--format", "format_", type=click.Choice(["xlsx", "csv", "json"]), default=None,
              help="File format [default: from FILE's extension, else xlsx].")
@click.option("--department", metavar="PATH", default=None,
              help="Only this department and those below it: a path such as 研发中心/广州, or an id.")
@click.option("--fields", metavar="LIST", default=None,
              help="Member columns, comma-separated field names (userid and name are always written), "
                   "e.g. mobile,department,position; custom fields by name or extattr:NAME "
                   "[default: every field, and every custom field].")
@click.option("--headers", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column headers: the API's English field names, or the Chinese labels.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@sheet_options(makes_userids=False)
@lang_option(expose=False)
def export_command(file: str | None, connection: Connection, format_: str | None, department: str | None,
                   fields: str | None, headers: str, quiet: bool, force: bool, sheet_options: SheetOptions) -> None:
    """Write the directory to an xlsx, CSV or JSON file that `bulkdir import` takes back unchanged.

    xlsx holds a members sheet and a departments sheet (and a notes sheet when something could not
    be read); CSV writes the members to FILE and the departments to FILE's sibling
    `<name>-departments.csv`, UTF-8 with BOM; JSON is {"corp", "departments", "members", "notes"}.
    Without FILE: directory-<corp id>-<date>.xlsx in the current folder. The corp's custom fields
    follow the standard columns, one column each. With --map or --mapping, the columns the mapping
    names get the HR system's headers and words, so that the file imports back through it.

    \b
    Example:
      bulkdir export --sandbox
      bulkdir export staff.csv --department 研发中心 --headers zh
      bulkdir export beisen.xlsx --mapping beisen
    """
    from pathlib import Path

    from bulkdir.exporting import export_directory, export_target

    if file is not None:
        export_target(Path(file), format_, force)  # a bad name, format, folder or existing file: before any call
    mapping = sheet_options.mapping(connection.profile)  # a mapping that cannot work: before any call too
    client = connection.client()
    with StageBars(enabled=not quiet and sys.stderr.isatty()) as progress:
        summary = export_directory(client, file, format=format_, department=department, fields=fields,
                                   headers=headers, progress=progress if progress.enabled else None, force=force,
                                   mapping=mapping)
    for note in summary.notes:
        click.echo(f"Note: {note}\n注意：{note.zh}", err=True)
    where = str(summary.path) + (f" and {summary.departments_path}" if summary.departments_path else "")
    click.echo(f"Exported {summary.members} members and {summary.departments} departments to {where}.")
