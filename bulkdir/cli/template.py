"""`bulkdir template`: a blank sheet to fill in."""

from __future__ import annotations

import click

from bulkdir.cli.app import cli, lang_option
from bulkdir.cli.options import Connection, connection_options


@cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["members", "departments"]), default=None,
              help="Which template [default: departments when the file name says so "
                   "(department, dept, 部门), else members].")
@click.option("--headers", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Chinese headers (the admin console's) or English field names.")
@click.option("--from-directory", "from_directory", is_flag=True,
              help="Read the corp's custom fields (自定义字段) from the directory and add a column for each "
                   "(members templates; uses the connection options).")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
@connection_options
@lang_option(expose=False)
def template_command(file: str, kind: str | None, headers: str, from_directory: bool, force: bool,
                     connection: Connection) -> None:
    """Write a blank members or departments template (.xlsx or .csv) to fill in and import.

    The xlsx has required columns marked with * (in red), a note on each header saying what it
    takes, drop-down lists for gender and enable, phone and id columns formatted as text, and
    one example row (name ending in （示例）) that bulkdir skips. A CSV has the header and the
    example row only. With --from-directory, the corp's custom fields follow as columns of their
    own; without it, nothing is read and no connection is needed.

    \b
    Example:
      bulkdir template onboarding.xlsx
      bulkdir template departments.csv --headers en
      bulkdir template onboarding.xlsx --from-directory --sandbox
    """
    from bulkdir.errors import ConfigError
    from bulkdir.templates import sheet_name, template_kind, template_target, write_template

    chosen = kind or template_kind(file)
    custom: dict[str, str] | None = None
    if from_directory:
        if chosen != "members":
            raise ConfigError("--from-directory adds the custom fields, which are members' fields: a departments "
                              "template has none (自定义字段属于成员，部门模板不需要 --from-directory)")
        template_target(file, headers, overwrite=force)  # type: ignore[arg-type]  # a bad name: before any call
        from bulkdir.wecom.directory import fetch_directory

        custom = fetch_directory(connection.client()).custom_fields()
        if not custom:
            click.echo("The directory shows no custom fields (none are defined, or no member can be read to show "
                       "them): the template has the usual columns only (通讯录中没有可见的自定义字段).", err=True)
    path = write_template(file, chosen, headers, overwrite=force, custom_fields=custom)  # type: ignore[arg-type]
    where = "" if path.suffix.lower() == ".csv" else f", sheet {sheet_name(chosen, headers)}"  # type: ignore[arg-type]
    extra = f", with the custom fields {', '.join(custom)}" if custom else ""
    click.echo(f"Wrote a blank {chosen} template to {path}{where}{extra} (已生成空白模板).")
