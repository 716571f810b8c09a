"""`bulkdir doctor` and `bulkdir sandbox`: checking the connection, and the local sandbox."""

from __future__ import annotations

import sys

import click

from bulkdir.cli.app import cli, lang_option
from bulkdir.cli.options import Connection, connection_options
from bulkdir.errors import ExitStatus


@cli.command()
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON on stdout.")
@lang_option(expose=False)
def doctor(connection: Connection, as_json: bool) -> None:
    """Check the corp id, secrets, write rights, detail reads (48009), private fields and speed.

    Changes nothing in the directory. Exit 0 when an import can run, 1 when not (with what to fix).

    \b
    Example:
      BULKDIR_CORP_ID=ww... BULKDIR_SECRET=... bulkdir doctor
    """
    import json

    from bulkdir.doctor import run_doctor

    report = run_doctor(connection.client(max_attempts=3))  # a diagnosis should not wait long on a dead host
    if as_json:
        click.echo(json.dumps(report.to_dict(), ensure_ascii=False, indent=2))
    else:
        marks = {"ok": "ok", "warn": "WARN", "fail": "FAIL", "info": "-"}
        width = max(len(check.name) for check in report.checks)
        for check in report.checks:
            click.echo(f"{check.name:<{width}}  {marks[check.status]:<4}  {check.result}")
        fixes = [check for check in report.checks if check.fix and check.status in ("fail", "warn")]
        for check in fixes:
            click.echo(f"\n{check.name}: {check.fix}\n{check.name}：{check.fix.zh}")
        click.echo("\nAn import can run. (可以导入。)" if report.ready
                   else "\nAn import cannot run until the failed checks are fixed. (请先修复失败的检查项。)")
    sys.exit(ExitStatus.OK if report.ready else ExitStatus.PROBLEMS)


@cli.group()
def sandbox() -> None:
    """The local sandbox that `--sandbox` uses (an emulator kept in the user's data folder).

    \b
    Example:
      bulkdir import samples/staff.xlsx --sandbox --yes
      bulkdir sandbox reset
    """


@sandbox.command("reset")
@lang_option(expose=False)
def sandbox_reset() -> None:
    """Empty the sandbox: only the root department stays.

    \b
    Example:
      bulkdir sandbox reset
    """
    from bulkdir.sandbox import reset_sandbox

    click.echo(f"Sandbox emptied (沙箱已清空): {reset_sandbox()}", err=True)
