"""The `bulkdir` group: the one place where errors become one line and an exit code (see
bulkdir.errors.ExitStatus), in the language the command was given with `--lang`."""

from __future__ import annotations

import importlib
import sys
import traceback
from typing import Any, Callable

import click

from bulkdir import __version__
from bulkdir.errors import BulkdirError, ExitStatus

LANG_KEY = "bulkdir.lang"

# Each command and the module of bulkdir.cli that defines it (with `@cli.command`), imported only when the
# command is run or `--help` lists it: `bulkdir validate` does not pay for the imports of `serve` or `import`.
COMMANDS = {
    "apply": "imports", "delete": "imports", "doctor": "doctor", "emulator": "emulator", "export": "export",
    "import": "imports", "runs": "imports", "sandbox": "doctor", "serve": "serve", "sync": "sync",
    "template": "template", "validate": "validate",
}


class BulkdirGroup(click.Group):
    """Turns errors into one line and an exit code; `--debug` adds the traceback. Loads the commands of
    COMMANDS on demand."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*COMMANDS, *self.commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.commands:
            # A name of no command loads them all, so that click's "Did you mean ...?" sees every one.
            for module in [COMMANDS[cmd_name]] if cmd_name in COMMANDS else sorted(set(COMMANDS.values())):
                importlib.import_module(f"bulkdir.cli.{module}")
        return super().get_command(ctx, cmd_name)

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except BulkdirError as error:
            fail(ctx, error.message.in_lang(language(ctx)), error.exit_status)
        except KeyboardInterrupt:
            click.echo("已中断。" if language(ctx) == "zh" else "Interrupted.", err=True)
            ctx.exit(ExitStatus.INTERRUPTED)
        except (click.exceptions.Exit, click.ClickException, click.Abort):
            raise
        except Exception as error:  # a bug: say so in one line, the traceback only with --debug
            fail(ctx, f"internal error: {type(error).__name__}: {error}"
                 " (run again with --debug for the traceback)", ExitStatus.PROBLEMS)


def fail(ctx: click.Context, message: str, status: int) -> None:
    """Print `message` as the command's one error line and exit with `status`."""
    if ctx.find_root().params.get("debug"):
        traceback.print_exc(file=sys.stderr)
    click.echo(f"{'错误' if language(ctx) == 'zh' else 'Error'}: {message}", err=True)
    ctx.exit(status)


def language(ctx: click.Context | None = None) -> str:
    """The `--lang` the running command was given ("en" when it has none)."""
    ctx = ctx or click.get_current_context(silent=True)
    return ctx.find_root().meta.get(LANG_KEY, "en") if ctx is not None else "en"


def lang_option(expose: bool = True) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """`--lang en|zh`: the language of the command's messages, its one-line errors included. With
    `expose=False` the command does not take it as a parameter (its errors are still said in it)."""
    def remember(ctx: click.Context, param: click.Parameter, value: str) -> str:
        ctx.find_root().meta[LANG_KEY] = value
        return value

    return click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
                        callback=remember, is_eager=True, expose_value=expose, help="Language of the messages.")


@click.group(cls=BulkdirGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="bulkdir")
@click.option("--debug", is_flag=True, help="Show tracebacks for errors, and how the directory was read.")
def cli(debug: bool) -> None:
    """Keep a WeCom (企业微信) contacts directory in step with spreadsheets.

    \b
    Example, on the local sandbox:
      bulkdir validate samples/staff_with_errors.xlsx
      bulkdir import samples/staff.xlsx --sandbox --yes

    Exit codes: 0 all good; 1 problems found or operations failed;
    2 usage or configuration error; 75 another run holds the corp's lock
    (try again later); 130 interrupted.
    """
    if debug:
        import logging

        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        logger = logging.getLogger("bulkdir")
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)


def main() -> None:
    cli(prog_name="bulkdir")
