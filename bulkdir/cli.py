"""The command line. Each command parses its options, calls one library function, renders the
result and sets the exit code (see bulkdir.errors.ExitStatus). Library code never prints."""

from __future__ import annotations

import sys
import traceback

import click

from bulkdir import __version__
from bulkdir.errors import BulkdirError, ExitStatus


class BulkdirGroup(click.Group):
    """Turns errors into one line and an exit code; `--debug` adds the traceback."""

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except BulkdirError as error:
            _fail(ctx, str(error), error.exit_status)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # a bug: say so in one line, the traceback only with --debug
            _fail(ctx, f"internal error: {type(error).__name__}: {error}"
                  " (run again with --debug for the traceback)", ExitStatus.PROBLEMS)


def _fail(ctx: click.Context, message: str, status: int) -> None:
    if ctx.find_root().params.get("debug"):
        traceback.print_exc(file=sys.stderr)
    click.echo(f"Error: {message}", err=True)
    ctx.exit(status)


@click.group(cls=BulkdirGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bulkdir")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors.")
def cli(debug: bool) -> None:
    """Keep a WeCom (企业微信) contacts directory in step with spreadsheets.

    \b
    Example, on the local sandbox:
      bulkdir validate samples/staff_with_errors.xlsx
      bulkdir import samples/staff.xlsx --sandbox --yes

    Exit codes: 0 all good; 1 problems found or operations failed;
    2 usage or configuration error; 130 interrupted.
    """


# Commands are added below, one section per command. (Add new commands above this line.)


def main() -> None:
    cli(prog_name="bulkdir")
