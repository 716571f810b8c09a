"""`bulkdir sync NAME`: the unattended run of a `[sync.NAME]` table (bulkdir/sync.py), for cron and timers."""

from __future__ import annotations

import click

from bulkdir.cli.app import cli, lang_option
from bulkdir.cli.options import Connection, connection_options


@cli.command("sync")
@click.argument("name")
@connection_options
@click.option("--config", "config", type=click.Path(dir_okay=False), default=None,
              help="The config file with the [sync.NAME] table [default: ./bulkdir.toml, then the user's].")
@click.option("--dry-run", is_flag=True, help="Plan, notify the plan's summary, and write nothing.")
@click.option("--force", is_flag=True, help="Run even when the source's content is the last run's (or older).")
@click.option("--wait", "wait", type=click.FloatRange(0), default=0, show_default=True, metavar="SECONDS",
              help="When another run is changing the corp, wait this long for it before giving up (exit 75).")
@click.option("--allow-mass-delete", is_flag=True,
              help="Past the platform's own brake, only when the table says allow_mass_delete = true too.")
@click.option("--notify", "notify", multiple=True, metavar="TARGET",
              help="robot:NAME or app:USERID|USERID, besides the table's notify list.")
@click.option("--notify-on", type=click.Choice(["always", "failure"]), default=None,
              help="When to notify [default: the table's notify_on, always].")
@click.option("--journal", "journal", type=click.Path(dir_okay=False), default=None,
              help="Journal file (SQLite) [default: journal.sqlite3 in the user's data folder].")
@lang_option()
def sync_command(name: str, connection: Connection, config: str | None, dry_run: bool, force: bool, wait: float,
                 allow_mass_delete: bool, notify: tuple[str, ...], notify_on: str | None, journal: str | None,
                 lang: str) -> None:
    """Bring the directory in line with the newest export an HR system dropped, as a [sync.NAME] table of
    bulkdir.toml says, without asking anything. The same content as the last run makes no call. What needs
    a person (a missing, unfinished or older source, too many invalid rows, a brake) stops it before any write.
    Exit 0 done or nothing to do, 1 rows failed or invalid, 2 configuration or source problem, 75 another run
    holds the corp, 130 interrupted.

    \b
    Example:
      bulkdir sync nightly --sandbox --dry-run
      bulkdir sync nightly --profile prod
    """
    from pathlib import Path

    from bulkdir.cli.imports import message_lang, tell
    from bulkdir.notify import parse_target, run_message
    from bulkdir.sync import load_job, run_sync

    job = load_job(name, Path(config) if config else None)
    targets = list(job.notify) + list(notify)
    for target in targets:
        parse_target(target)
    if job.profile and connection.profile is None:
        connection.profile = job.profile
    client = connection.client()
    outcome = run_sync(job, client, dry_run=dry_run, force=force, wait=wait, allow_mass_delete=allow_mass_delete,
                       lang=lang, journal=journal)
    title = f"bulkdir sync {name}"
    if outcome.state == "unchanged":
        click.echo(f"{title}: {outcome.source} is the source of the last run (same content): nothing to do, "
                   "no call made (--force runs it anyway).")
        click.get_current_context().exit(0)
    if outcome.state == "stopped":
        click.echo(f"{title}: stopped, nothing was changed: {outcome.stopped.in_lang(lang)}", err=True)  # type: ignore
    elif outcome.state == "planned":
        for line in outcome.plan.plan.summary_lines(lang=lang) + outcome.plan.path_lines(lang):
            click.echo(line)
        click.echo(f"{title}: dry run of {outcome.source}: nothing was sent.")
    else:
        result = outcome.result
        counts = result.summary()
        shown = ("created", "updated", "unchanged", "deleted", "disabled", "failed", "invalid")
        click.echo(f"{title}: {outcome.source}: run {result.run_id}: " + ", ".join(f"{counts[k]} {k}" for k in shown))
        if result.results_path:
            click.echo(f"Results: {result.results_path}")
        if result.stopped_by is not None:
            click.echo(f"Stopped: {result.stopped_by.in_lang(lang)}", err=True)
    failed = outcome.status != 0
    when = notify_on or job.notify_on
    if targets and (when == "always" or failed):
        message = run_message(outcome.result, title=title, lang=message_lang(lang), stopped=outcome.stopped,
                              planned=outcome.plan if outcome.state == "planned" else None)
        attachment = outcome.result.errors_path if outcome.result is not None else None
        tell(targets, message, client, lang, attachment=attachment, config=job.config_dir / job.config_name,
             journal=journal, run_id=outcome.result.run_id if outcome.result is not None else None,
             stopped=(f"sync:{name}", str(outcome.source or job.source)))
    click.get_current_context().exit(int(outcome.status))
