"""`bulkdir import`, `apply`, `delete` and `runs`: the plan shown, confirmed, run and reported."""

from __future__ import annotations

import sys

import click

from bulkdir.cli.app import cli, lang_option, language
from bulkdir.cli.options import Connection, SheetOptions, connection_options, sheet_options
from bulkdir.cli.progress import RunBar
from bulkdir.errors import ExitStatus


def _remember_option(ctx: click.Context, param: click.Parameter, value):
    """Options the tail of every run reads (`--notify`), kept out of each command's own parameters."""
    if param.name == "notify":
        from bulkdir.notify import parse_target

        for target in value:
            parse_target(target)  # a wrong target is refused before anything is read or sent
    ctx.meta[f"bulkdir.{param.name}"] = value
    return value


def _import_options(command):
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
        click.option("--notify", "notify", multiple=True, metavar="TARGET", expose_value=False,
                     callback=_remember_option, help="Tell robot:NAME (a group robot) or app:USERID|USERID (an app "
                     "message) how the run went; repeatable."),
        click.option("--notify-on", "notify_on", type=click.Choice(["always", "failure"]), default="failure",
                     show_default=True, expose_value=False, callback=_remember_option,
                     help="When to notify: every run, or only one with failed or invalid rows."),
        click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout."),
        click.option("--quiet", "-q", is_flag=True, help="No progress bar."),
        lang_option(),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _via_options(command):
    """How import and apply send the member writes: per call, or through the platform's async batch import."""
    options = [
        click.option("--via", type=click.Choice(["auto", "api", "batch"]), default="auto", show_default=True,
                     help="The member writes: per call (api), through the platform's async batch import (batch: "
                          "CSV files and batch jobs, for large imports), or auto: batch from --batch-threshold "
                          "writes a batch file can carry."),
        click.option("--batch-threshold", type=click.IntRange(1), default=2000, show_default=True, metavar="N",
                     envvar="BULKDIR_BATCH_THRESHOLD",
                     help="With --via auto: the batch import from this many member writes a batch file can carry. "
                          "Env BULKDIR_BATCH_THRESHOLD."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_options(client, journal: str | None, report: str | None, quiet: bool, lang: str, via: str = "auto",
                 batch_threshold: int = 2000, **plan_shaping):
    """ImportOptions from what `_import_options` adds to import, apply and delete, plus the command's own."""
    from bulkdir.importer import ImportOptions

    def hourly_pause(remaining: int) -> float:  # the member writes are the long part of a run
        return max(client.limits.for_api(api).hourly_pause(remaining) for api in ("user/create", "user/update"))

    bar = RunBar(hourly_pause) if not quiet and sys.stderr.isatty() else None
    return ImportOptions(workers=client.settings.workers, journal=journal, report=report, progress=bar, lang=lang,
                         via=via, batch_threshold=batch_threshold, **plan_shaping)


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


def _corp_lock(client, command: str, wait: float, dry_run: bool = False):
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


def _plan_then_run(prepared, client, options, yes: bool, as_json: bool,
                   dry_run: bool = False, plan_out: str | None = None, lock=None) -> None:
    """Show the plan, save it, stop for --dry-run, ask, run, and report: the tail of import, apply and delete."""
    from bulkdir.importer import run_import, save_plan

    if prepared.resuming:
        _say(f"Resuming run {prepared.resume_run} (interrupted before it finished): planned again against the "
             "directory as it is now; what it finished shows in the results.", as_json)
    for text in prepared.plan.summary_lines(lang=options.lang) + prepared.path_lines():
        _say(text, as_json)
    if plan_out:
        save_plan(prepared, plan_out, overwrite=True)  # --force, or no file there: checked before any call
        _say(f"Plan saved to {plan_out}; run it with `bulkdir apply {plan_out}`.", as_json)
    if dry_run:
        _exit_with(ExitStatus.PROBLEMS if prepared.plan.invalid else ExitStatus.OK)
    if prepared.plan.operations:
        _confirm_or_stop(yes, as_json)
    try:
        result = run_import(prepared, client, options, lock=lock)
    finally:
        if options.progress is not None:
            options.progress.close()
    _finish(result, as_json, client, options.lang)


SUMMARY_LINE = ("{created} created, {updated} updated, {unchanged} unchanged, {deleted} deleted, {disabled} disabled, "
                "{failed} failed, {invalid} invalid, {skipped} skipped; departments: {departments_created} created, "
                "{departments_updated} updated, {departments_deleted} deleted")


def _notify(result, client, lang: str) -> None:
    """--notify: the run's summary to a robot or app members, when --notify-on says so."""
    ctx = click.get_current_context()
    targets = list(ctx.meta.get("bulkdir.notify") or ())
    failed = result.counts.get("failed", 0) + result.counts.get("invalid", 0) or result.interrupted
    if not targets or (ctx.meta.get("bulkdir.notify_on") != "always" and not failed):
        return
    from bulkdir.notify import run_message

    message = run_message(result, title=f"bulkdir {ctx.info_name}", lang=message_lang(lang))
    tell(targets, message, client, lang, attachment=result.errors_path, journal=ctx.params.get("journal"),
         run_id=result.run_id)


def message_lang(lang: str) -> str:
    """The language of a notification: Chinese, HR's group chat's, unless --lang was given."""
    explicit = click.get_current_context().get_parameter_source("lang") == click.core.ParameterSource.COMMANDLINE
    return lang if explicit else "zh"


def tell(targets: list[str], message: str, client, lang: str, *, attachment=None, config=None,
         journal: str | None = None, run_id: str | None = None, stopped: tuple[str, str] | None = None) -> None:
    """Send a notification. One that cannot be sent is said on stderr and kept in the journal, on the run
    `run_id` (or on a run recorded as `stopped` = (command, source), when none was made), and never changes
    the exit code."""
    from bulkdir.journal import Journal, default_journal_path
    from bulkdir.notify import send

    problems = send(targets, message, client, attachment, config)
    for problem in problems:
        click.echo(f"Notification not sent: {problem.in_lang(lang)}", err=True)
    if not problems or (run_id is None and stopped is None):
        return
    record = Journal(journal or default_journal_path())
    try:
        if run_id is None and stopped is not None:  # journalled as a run, so `bulkdir runs` shows it
            run_id = record.start_run(stopped[0], stopped[1], None, {"corp_id": client.settings.corp_id,
                                                                      "endpoint": client.endpoint})
            record.finish_run(run_id, "stopped", {})
        record.note_notices(str(run_id), [str(p) for p in problems])
    finally:
        record.close()


def _finish(result, as_json: bool, client=None, lang: str = "en") -> None:
    import json as _json

    counts = result.summary()
    _say(f"Run {result.run_id}: {SUMMARY_LINE.format(**counts)}", as_json)
    if result.results_path:
        _say(f"Results: {result.results_path}", as_json)
    if result.errors_path:
        _say(f"Rows to fix and import again: {result.errors_path}", as_json)
    if result.ctrl_c_during_report:
        _say("Ctrl-C came while the report was written: it was finished first.", as_json)
    if result.stopped_by is not None:
        _say(f"Stopped: {result.stopped_by.in_lang(language())}", as_json)
    elif result.interrupted:
        _say("Interrupted: run the same command again to finish (finished rows are not repeated).", as_json)
    if client is not None:
        _notify(result, client, lang)
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
@sheet_options()
@_via_options
def import_command(file: str, connection: Connection, yes: bool, report: str | None, force: bool, wait: float,
                   journal: str | None, as_json: bool, quiet: bool, lang: str, dry_run: bool, plan_out: str | None,
                   strict: bool, delete_missing: bool, scope: str, allow_mass_delete: bool, disable_instead: bool,
                   prune_departments: bool, sheet: str | None, encoding: str | None,
                   sheet_options: SheetOptions, via: str, batch_threshold: int) -> None:
    """Bring the directory in line with a sheet: plan, confirm, apply, report (resumes if interrupted).

    \b
    Example:
      bulkdir import staff.xlsx --sandbox --dry-run
      bulkdir import staff.xlsx --sandbox --yes --json
      bulkdir import onboarding.xlsx --mapping beisen --make-userid pinyin --sandbox
    """
    from bulkdir.importer import prepare_import
    from bulkdir.plan import DeleteOptions

    _check_files(file, report, plan_out, force)
    mapping, maker = sheet_options.mapping(connection.profile), sheet_options.maker()
    client = connection.client()
    options = _run_options(client, journal, report, quiet, lang, via, batch_threshold, strict=strict, sheet=sheet,
                           encoding=encoding, delete=DeleteOptions(delete_missing, scope, allow_mass_delete,
                                                                   disable_instead, prune_departments),
                           mapping=mapping, maker=maker)
    with _corp_lock(client, "import", wait, dry_run) as lock:
        prepared = prepare_import(file, client, options)
        _plan_then_run(prepared, client, options, yes, as_json, dry_run, plan_out, lock)


@cli.command("apply")
@click.argument("plan_file", type=click.Path(dir_okay=False))
@connection_options
@_import_options
@click.option("--allow-mass-delete", is_flag=True, help="Let the plan's deletes go ahead past the safety limit.")
@_via_options
def apply_command(plan_file: str, connection: Connection, yes: bool, report: str | None, force: bool, wait: float,
                  journal: str | None, as_json: bool, quiet: bool, lang: str, allow_mass_delete: bool, via: str,
                  batch_threshold: int) -> None:
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
    options = _run_options(client, journal, report, quiet, lang, via, batch_threshold,
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
@sheet_options(makes_userids=False)
def delete_command(file: str, connection: Connection, yes: bool, report: str | None, force: bool, wait: float,
                   journal: str | None, as_json: bool, quiet: bool, lang: str, dry_run: bool, allow_mass_delete: bool,
                   disable_instead: bool, sheet: str | None, encoding: str | None,
                   sheet_options: SheetOptions) -> None:
    """Delete (or disable) the members a sheet lists: by userid, or by mobile or email (with the name, which
    must agree). Rows that match nobody are skipped, with the reason.

    \b
    Example:
      bulkdir delete leavers.xlsx --sandbox --yes
    """
    from bulkdir.importer import prepare_delete
    from bulkdir.plan import DeleteOptions

    _check_files(file, report, None, force)
    mapping = sheet_options.mapping(connection.profile)
    client = connection.client()
    options = _run_options(client, journal, report, quiet, lang, sheet=sheet, encoding=encoding, mapping=mapping,
                           delete=DeleteOptions(False, "sheet", allow_mass_delete, disable_instead, False))
    with _corp_lock(client, "delete", wait, dry_run) as lock:
        _plan_then_run(prepare_delete(file, client, options), client, options, yes, as_json, dry_run, lock=lock)


@cli.command("runs")
@click.option("--journal", "journal", type=click.Path(dir_okay=False), default=None,
              help="Journal file [default: journal.sqlite3 in the user's data folder].")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1), help="How many runs to list.")
@click.option("--json", "as_json", is_flag=True, help="Print the runs as JSON on stdout.")
@lang_option(expose=False)
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
        for notice in run.notices:
            click.echo(f"    notification not sent: {notice}")
    if any(run.status == "interrupted" for run in records):
        click.echo("An interrupted run resumes when the same command is run again on the same file.")
