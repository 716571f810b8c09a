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


# ---- emulator ------------------------------------------------------------------------------------


@cli.command()
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=8765, show_default=True, type=click.IntRange(0, 65535),
              help="Port to listen on (0 picks a free one).")
@click.option("--db", type=click.Path(dir_okay=False), default=None,
              help="Keep the directory in this SQLite file (kept across restarts); default: in memory.")
@click.option("--corp-id", default="wwsandbox", show_default=True, help="The corp id gettoken accepts.")
@click.option("--secret", default="sandbox-secret", show_default=True,
              help="The contacts-sync (通讯录同步) secret: reads and writes.")
@click.option("--app-secret", default="sandbox-app-secret", show_default=True,
              help="A self-built app's secret: reads only.")
@click.option("--corp-name", default="示例企业", show_default=True, help="The root department's name.")
@click.option("--token-ttl", default=7200, show_default=True, type=click.IntRange(1),
              help="Seconds an access_token lives.")
@click.option("--rate-limit", type=click.IntRange(0), default=None,
              help="Calls per minute per API; the first over answers 45009 and blocks that API. Default: none.")
@click.option("--block-seconds", default=60.0, show_default=True, type=click.FloatRange(0),
              help="How long an API stays blocked after going over --rate-limit.")
@click.option("--max-concurrency", type=click.IntRange(0), default=None,
              help="More calls than this in flight to one API answer 45033. Default: no limit.")
@click.option("--latency-ms", default=0.0, show_default=True, type=click.FloatRange(0),
              help="Every call waits this long before answering (other calls are not held up).")
@click.option("--fail-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of calls answering errcode -1 (system busy), changing nothing.")
@click.option("--http-error-rate", default=0.0, show_default=True, type=click.FloatRange(0, 1),
              help="Share of calls answering HTTP 502 with an HTML body, changing nothing.")
@click.option("--seed", type=int, default=None, help="Seed for the faults, to make a run reproducible.")
@click.option("--restrict-details", is_flag=True,
              help="Detail reads with the contacts-sync secret answer 48009 (the platform's rule for new IPs).")
@click.option("--hide-private-fields", is_flag=True,
              help="Reads with the app secret return mobile, email, gender, avatar, address empty.")
@click.option("--ignore-fetch-child", is_flag=True,
              help="user/list and user/simplelist answer the named department's own members only, as the "
                   "platform's current page describes.")
@click.option("--max-list-members", type=click.IntRange(1), default=None,
              help="A user/list answer of more members than this answers 45029 (too large). Default: no limit.")
def emulator(host: str, port: int, **options: object) -> None:
    """Run a local WeCom contacts API for tests, demos and rehearsals.

    It speaks the platform's HTTP API (gettoken, user/*, department/*) with its rules and
    errcodes, and control endpoints under /_emulator/ (reset, stats, faults, expire-tokens,
    state). Stop it with Ctrl-C.

    \b
    Example:
      bulkdir emulator --db sandbox.db --rate-limit 600
      curl 'http://127.0.0.1:8765/cgi-bin/gettoken?corpid=wwsandbox&corpsecret=sandbox-secret'
    """
    from bulkdir.emulator import EmulatorOptions, EmulatorServer
    from bulkdir.errors import ConfigError

    try:
        settings = EmulatorOptions(**options)  # type: ignore[arg-type]
    except ValueError as error:  # a setting out of its bounds (e.g. --latency-ms 1e308)
        raise ConfigError(str(error)) from None
    server = EmulatorServer(settings, host=host, port=port)
    try:
        server.start()
    except OSError as error:
        raise ConfigError(f"cannot listen on {host}:{port}: {error.strerror or error}") from None
    click.echo(f"bulkdir emulator listening on {server.url} "
               f"(corp id {server.corp_id}; Ctrl-C to stop)")
    sys.stdout.flush()
    server.serve_until_signalled()
    click.echo("bulkdir emulator stopped.", err=True)


# ---- doctor (client engineer) ----------------------------------------------------------------------

from bulkdir.connect import Connection, connection_options  # noqa: E402


@cli.command()
@connection_options
@click.option("--json", "as_json", is_flag=True, help="Print the checks as JSON on stdout.")
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
            click.echo(f"\n{check.name}: {check.fix}\n{check.name}：{check.fix_zh}")
        click.echo("\nAn import can run. (可以导入。)" if report.ready
                   else "\nAn import cannot run until the failed checks are fixed. (请先修复失败的检查项。)")
    sys.exit(ExitStatus.OK if report.ready else ExitStatus.PROBLEMS)


# ---- sandbox (client engineer) ---------------------------------------------------------------------


@cli.group()
def sandbox() -> None:
    """The local sandbox that `--sandbox` uses (an emulator kept in the user's data folder).

    \b
    Example:
      bulkdir import samples/staff.xlsx --sandbox --yes
      bulkdir sandbox reset
    """


@sandbox.command("reset")
def sandbox_reset() -> None:
    """Empty the sandbox: only the root department stays.

    \b
    Example:
      bulkdir sandbox reset
    """
    from bulkdir.sandbox import reset_sandbox

    click.echo(f"Sandbox emptied (沙箱已清空): {reset_sandbox()}", err=True)


# ---- validate (validate engineer) ------------------------------------------------------------------


@cli.command()
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--sheet", default=None, help="Read this sheet (default: 成员列表/members and 部门/departments, "
              "else the first sheet).")
@click.option("--encoding", default=None, help="Encoding of a CSV file (default: UTF-8, else GBK/GB18030).")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON on stdout.")
@click.option("--report", "report_path", type=click.Path(dir_okay=False), default=None,
              help="Write the problems beside the original rows to this .xlsx or .csv file.")
@click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Language of the messages.")
@click.option("--force", is_flag=True, help="Replace an existing --report file.")
def validate(file: str, sheet: str | None, encoding: str | None, as_json: bool, report_path: str | None,
             lang: str, force: bool) -> None:
    """Check a members (and departments) spreadsheet without touching the directory.

    Reads .xlsx/.xlsm/.csv/.tsv, including the admin console's template and GBK CSVs, and
    reports every problem by the row and column the spreadsheet shows. Exit 0 when valid
    (warnings allowed), 1 when there are problems, 2 when the file cannot be read.

    \b
    Example:
      bulkdir validate staff.xlsx --report problems.xlsx
      bulkdir validate staff.csv --json --lang zh
    """
    import json

    from bulkdir.validation import validate_file, write_report

    from bulkdir.errors import BulkdirError
    from bulkdir.report import check_output_path

    try:
        if report_path:
            check_output_path(report_path, force=force, protect=[file], option="--report")
        result = validate_file(file, sheet=sheet, encoding=encoding)
        if report_path:
            write_report(result, report_path, lang)
    except BulkdirError as error:  # said here, not by the group, which cannot see --lang
        click.echo(f"{'错误' if lang == 'zh' else 'Error'}: {error.message_in(lang)}", err=True)
        sys.exit(ExitStatus.USAGE)
    if as_json:
        click.echo(json.dumps(result.to_json(lang), ensure_ascii=False, indent=2))
    else:
        click.echo(_problem_table(result, lang))
    sys.exit(ExitStatus.OK if result.valid else ExitStatus.PROBLEMS)


def _problem_table(result, lang: str) -> str:  # type: ignore[no-untyped-def]
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
                         mark + p.message_in(lang)))
        widths = [max(_display_width(r[i]) for r in rows) for i in range(3)]
        for r in rows:
            lines.append("  ".join(_pad(r[i], widths[i]) for i in range(3)) + "  " + r[3])
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


def _display_width(text: str) -> int:
    import unicodedata

    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int) -> str:
    return text + " " * (width - _display_width(text))


# ---- import, apply, delete, runs (import engineer) -------------------------------------------------


def _import_options(command):  # type: ignore[no-untyped-def]
    """Options shared by import, apply and delete: confirmation, reports, the journal, output, the lock."""
    options = [
        click.option("--yes", "-y", is_flag=True, help="Go ahead without asking for confirmation."),
        click.option("--report", "report", type=click.Path(dir_okay=False), default=None,
                     help="Result file (.xlsx or .csv) [default: beside the input, named after it and the run]."),
        click.option("--force", is_flag=True, help="Replace an existing --report (or --plan-out) file."),
        click.option("--wait", "wait", type=click.FloatRange(0), default=0, show_default=True, metavar="SECONDS",
                     help="When another run is changing the same corp, wait this long for it before giving up "
                          "(exit 75)."),
        click.option("--journal", "journal", type=click.Path(dir_okay=False), default=None,
                     help="Journal file (SQLite) [default: journal.sqlite3 in the user's data folder]."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        click.option("--lang", type=click.Choice(["en", "zh"]), default="en", show_default=True,
                     help="Language of row messages."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_options(client, journal: str | None, report: str | None, quiet: bool, lang: str,  # type: ignore[no-untyped-def]
                 **plan_shaping):
    """ImportOptions from what `_import_options` adds to import, apply and delete, plus the command's own."""
    from bulkdir.importer import ImportOptions

    return ImportOptions(workers=client.settings.workers, journal=journal, report=report,
                         progress=not quiet and sys.stderr.isatty(), lang=lang, **plan_shaping)


def _check_files(source: str, report: str | None, plan_out: str | None, force: bool, sheet: bool = True) -> None:
    """Before connecting: the input is a file bulkdir may read, and nothing it writes would replace the input
    sheet, or another existing file without --force."""
    from pathlib import Path

    from bulkdir.report import check_output_path
    from bulkdir.sheets import check_sheet_file

    if sheet:
        check_sheet_file(source)

    if report:
        check_output_path(report, force=force, protect=[source], option="--report")
        errors = Path(report).with_name(f"{Path(report).stem}.errors{Path(report).suffix}")
        check_output_path(errors, force=force, protect=[source], option="--report (its errors file)")
    if plan_out:
        check_output_path(plan_out, force=force, protect=[source], option="--plan-out")


def _corp_lock(client, command: str, wait: float, dry_run: bool = False):  # type: ignore[no-untyped-def]
    """The corp's lock for a command that writes (none for --dry-run, which only reads)."""
    from contextlib import nullcontext

    from bulkdir.runlock import CorpLock

    if dry_run:
        return nullcontext(None)
    return CorpLock(client.settings.corp_id or "", command).acquire(wait)


def _exit_with(status: int) -> None:
    click.get_current_context().exit(int(status))


def _say(text: str, as_json: bool) -> None:
    click.echo(text, err=as_json)


def _confirm_or_stop(yes: bool, as_json: bool) -> None:
    if yes:
        return
    if not sys.stdin.isatty():
        click.echo("Error: this changes the directory and needs confirmation: run again with --yes "
                   "(stdin is not a terminal). / 需要确认：请加 --yes 重新运行。", err=True)
        _exit_with(ExitStatus.USAGE)
    if not click.confirm("Go ahead? / 确认执行？", default=False, err=as_json):
        click.echo("Nothing was changed.", err=True)
        _exit_with(ExitStatus.OK)


def _plan_then_run(prepared, client, options, yes: bool, as_json: bool,  # type: ignore[no-untyped-def]
                   dry_run: bool = False, plan_out: str | None = None, lock=None) -> None:
    """Show the plan, save it, stop for --dry-run, ask, run, and report: the tail of import, apply and delete."""
    from bulkdir.importer import run_import, save_plan

    if prepared.resuming:
        _say(f"Resuming run {prepared.resume_run} (interrupted before it finished): planned again against the "
             "directory as it is now; what it finished shows in the results.", as_json)
    for text in prepared.plan.summary_lines():
        _say(text, as_json)
    if plan_out:
        save_plan(prepared, plan_out, overwrite=True)  # --force, or no file there: checked before any call
        _say(f"Plan saved to {plan_out}; run it with `bulkdir apply {plan_out}`.", as_json)
    if dry_run:
        _exit_with(ExitStatus.PROBLEMS if prepared.plan.invalid else ExitStatus.OK)
    if prepared.plan.operations:
        _confirm_or_stop(yes, as_json)
    _finish(run_import(prepared, client, options, lock=lock), as_json)


SUMMARY_LINE = ("{created} created, {updated} updated, {unchanged} unchanged, {deleted} deleted, {disabled} disabled, "
                "{failed} failed, {invalid} invalid, {skipped} skipped; departments: {departments_created} created, "
                "{departments_updated} updated, {departments_deleted} deleted")


def _finish(result, as_json: bool) -> None:  # type: ignore[no-untyped-def]
    import json as _json

    counts = result.summary()
    _say(f"Run {result.run_id}: {SUMMARY_LINE.format(**counts)}", as_json)
    if result.results_path:
        _say(f"Results: {result.results_path}", as_json)
    if result.errors_path:
        _say(f"Rows to fix and import again: {result.errors_path}", as_json)
    if result.ctrl_c_during_report:
        _say("Ctrl-C came while the report was written: it was finished first.", as_json)
    if result.interrupted:
        _say("Interrupted: run the same command again to finish (finished rows are not repeated).", as_json)
    if as_json:
        click.echo(_json.dumps(counts, ensure_ascii=False))
    _exit_with(result.exit_status)


@cli.command("import")
@click.argument("file", type=click.Path(dir_okay=False))
@connection_options
@_import_options
@click.option("--dry-run", is_flag=True, help="Show the plan and stop.")
@click.option("--plan-out", type=click.Path(dir_okay=False), default=None,
              help="Save the plan as JSON, to review and run later with `bulkdir apply`.")
@click.option("--strict", is_flag=True, help="Refuse to import anything when any row has a problem.")
@click.option("--delete-missing", is_flag=True,
              help="Delete members the sheet does not list, within the departments the sheet covers.")
@click.option("--scope", type=click.Choice(["sheet", "all"]), default="sheet", show_default=True,
              help="With --delete-missing: the departments the sheet covers, or the whole corp.")
@click.option("--allow-mass-delete", is_flag=True, help="Let deletes past the safety limit go ahead.")
@click.option("--disable-instead", is_flag=True, help="Disable (enable=0) instead of deleting.")
@click.option("--prune-departments", is_flag=True,
              help="Delete departments the sheet does not list that end up empty.")
@click.option("--sheet", default=None, help="Read this sheet only.")
@click.option("--encoding", default=None, help="Encoding of a CSV file.")
def import_command(file: str, connection: Connection, yes: bool, report: str | None, force: bool, wait: float,
                   journal: str | None, as_json: bool, quiet: bool, lang: str, dry_run: bool, plan_out: str | None,
                   strict: bool, delete_missing: bool, scope: str, allow_mass_delete: bool, disable_instead: bool,
                   prune_departments: bool, sheet: str | None, encoding: str | None) -> None:
    """Bring the directory in line with a sheet: plan, confirm, apply, report (resumes if interrupted).

    \b
    Example:
      bulkdir import staff.xlsx --sandbox --dry-run
      bulkdir import staff.xlsx --sandbox --yes --json
    """
    from bulkdir.importer import prepare_import
    from bulkdir.plan import DeleteOptions

    _check_files(file, report, plan_out, force)
    client = connection.client()
    options = _run_options(client, journal, report, quiet, lang, strict=strict, sheet=sheet, encoding=encoding,
                           delete=DeleteOptions(delete_missing, scope, allow_mass_delete, disable_instead,
                                                prune_departments))
    with _corp_lock(client, "import", wait, dry_run) as lock:
        prepared = prepare_import(file, client, options)
        _plan_then_run(prepared, client, options, yes, as_json, dry_run, plan_out, lock)


@cli.command("apply")
@click.argument("plan_file", type=click.Path(dir_okay=False))
@connection_options
@_import_options
@click.option("--allow-mass-delete", is_flag=True, help="Let the plan's deletes go ahead past the safety limit.")
def apply_command(plan_file: str, connection: Connection, yes: bool, report: str | None, force: bool, wait: float,
                  journal: str | None, as_json: bool, quiet: bool, lang: str, allow_mass_delete: bool) -> None:
    """Apply a plan saved with `bulkdir import --plan-out`, exactly; refuse if the directory changed since.

    \b
    Example:
      bulkdir import staff.xlsx --dry-run --plan-out plan.json
      bulkdir apply plan.json --yes
    """
    from bulkdir.importer import prepare_apply
    from bulkdir.plan import DeleteOptions

    _check_files(plan_file, report, None, force, sheet=False)
    client = connection.client()
    options = _run_options(client, journal, report, quiet, lang,
                           delete=DeleteOptions(allow_mass_delete=allow_mass_delete))
    with _corp_lock(client, "apply", wait) as lock:
        _plan_then_run(prepare_apply(plan_file, client, options), client, options, yes, as_json, lock=lock)


@cli.command("delete")
@click.argument("file", type=click.Path(dir_okay=False))
@connection_options
@_import_options
@click.option("--dry-run", is_flag=True, help="Show what would be deleted and stop.")
@click.option("--allow-mass-delete", is_flag=True, help="Let deletes past the safety limit go ahead.")
@click.option("--disable-instead", is_flag=True, help="Disable (enable=0) instead of deleting.")
@click.option("--sheet", default=None, help="Read this sheet only.")
@click.option("--encoding", default=None, help="Encoding of a CSV file.")
def delete_command(file: str, connection: Connection, yes: bool, report: str | None, force: bool, wait: float,
                   journal: str | None, as_json: bool, quiet: bool, lang: str, dry_run: bool, allow_mass_delete: bool,
                   disable_instead: bool, sheet: str | None, encoding: str | None) -> None:
    """Delete (or disable) the members a sheet lists by userid.

    \b
    Example:
      bulkdir delete leavers.xlsx --sandbox --yes
    """
    from bulkdir.importer import prepare_delete
    from bulkdir.plan import DeleteOptions

    _check_files(file, report, None, force)
    client = connection.client()
    options = _run_options(client, journal, report, quiet, lang, sheet=sheet, encoding=encoding,
                           delete=DeleteOptions(False, "sheet", allow_mass_delete, disable_instead, False))
    with _corp_lock(client, "delete", wait, dry_run) as lock:
        _plan_then_run(prepare_delete(file, client, options), client, options, yes, as_json, dry_run, lock=lock)


@cli.command("runs")
@click.option("--journal", "journal", type=click.Path(dir_okay=False), default=None,
              help="Journal file [default: journal.sqlite3 in the user's data folder].")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="How many runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON on stdout.")
def runs_command(journal: str | None, limit: int, as_json: bool) -> None:
    """List past import, apply and delete runs, newest first, with their counts.

    \b
    Example:
      bulkdir runs --limit 5
      bulkdir runs --json
    """
    import json as _json
    from dataclasses import asdict

    from bulkdir.journal import Journal, default_journal_path

    records = Journal(journal or default_journal_path()).runs(limit)
    if as_json:
        click.echo(_json.dumps([asdict(r) for r in records], ensure_ascii=False))
        return
    if not records:
        click.echo("No runs yet.")
        return
    for run in records:
        counts = ", ".join(f"{k} {v}" for k, v in run.counts.items() if v) or "-"
        click.echo(f"{run.id}  {run.command:<6}  {run.status:<11}  {run.source or ''}  {counts}")
    if any(run.status == "interrupted" for run in records):
        click.echo("An interrupted run resumes when the same command is run again on the same file.")


# ---- template (templates engineer) -----------------------------------------------------------------


@cli.command("template")
@click.argument("file", type=click.Path(dir_okay=False))
@click.option("--kind", type=click.Choice(["members", "departments"]), default=None,
              help="Which template [default: departments when the file name says so "
                   "(department, dept, 部门), else members].")
@click.option("--headers", type=click.Choice(["zh", "en"]), default="zh", show_default=True,
              help="Chinese headers (the admin console's) or English field names.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
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


# ---- export (export engineer) ----------------------------------------------------------------------


@cli.command("export")
@click.argument("file", required=False, type=click.Path(dir_okay=False))
@connection_options
@click.option("--format", "format_", type=click.Choice(["xlsx", "csv", "json"]), default=None,
              help="File format [default: from FILE's extension, else xlsx].")
@click.option("--department", metavar="PATH", default=None,
              help="Only this department and those below it: a path such as 研发中心/广州, or an id.")
@click.option("--fields", metavar="LIST", default=None,
              help="Member columns, comma-separated field names (userid and name are always written), "
                   "e.g. mobile,department,position.")
@click.option("--headers", type=click.Choice(["en", "zh"]), default="en", show_default=True,
              help="Column headers: the API's English field names, or the Chinese labels.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@click.option("--force", is_flag=True, help="Replace FILE if it exists.")
def export_command(file: str | None, connection: Connection, format_: str | None, department: str | None,
                   fields: str | None, headers: str, quiet: bool, force: bool) -> None:
    """Write the directory to an xlsx, CSV or JSON file that `bulkdir import` takes back unchanged.

    xlsx holds a members sheet and a departments sheet (and a notes sheet when something could not
    be read); CSV writes the members to FILE and the departments to FILE's sibling
    `<name>-departments.csv`, UTF-8 with BOM; JSON is {"corp", "departments", "members", "notes"}.
    Without FILE: directory-<corp id>-<date>.xlsx in the current folder.

    \b
    Example:
      bulkdir export --sandbox
      bulkdir export staff.csv --department 研发中心 --headers zh
    """
    from pathlib import Path

    from bulkdir.exporting import export_directory, export_target

    if file is not None:
        export_target(Path(file), format_, force)  # a bad name, format, folder or existing file: before any call
    client = connection.client()
    with _ExportProgress(enabled=not quiet and sys.stderr.isatty()) as progress:
        summary = export_directory(client, file, format=format_, department=department, fields=fields,
                                   headers=headers, progress=progress if progress.enabled else None, force=force)
    for note in summary.notes:
        click.echo(f"Note: {note.en}\n注意：{note.zh}", err=True)
    where = str(summary.path) + (f" and {summary.departments_path}" if summary.departments_path else "")
    click.echo(f"Exported {summary.members} members and {summary.departments} departments to {where}.")


class _ExportProgress:
    """tqdm bars on stderr for the export's stages (reading the directory, writing the rows)."""

    labels = {"read": "Reading the directory", "write": "Writing members"}

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.bars: dict[str, object] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        if not self.enabled:
            return
        from tqdm import tqdm

        bar = self.bars.get(stage)
        if bar is None:
            self.__exit__()  # one bar at a time: the stage before is over
            bar = self.bars[stage] = tqdm(total=total, desc=self.labels.get(stage, stage), unit="",
                                          file=sys.stderr, leave=False)
        bar.n = done  # type: ignore[attr-defined]
        bar.refresh()  # type: ignore[attr-defined]

    def __enter__(self) -> "_ExportProgress":
        return self

    def __exit__(self, *exc: object) -> None:
        for bar in self.bars.values():
            bar.close()  # type: ignore[attr-defined]
        self.bars = {}


# Commands are added below, one section per command. (Add new commands above this line.)


def main() -> None:
    cli(prog_name="bulkdir")
