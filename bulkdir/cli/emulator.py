"""`bulkdir emulator`: a local WeCom for tests, demos and rehearsals."""

from __future__ import annotations

import sys

import click

from bulkdir.cli.app import cli, lang_option


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
@click.option("--rate-limit-per-hour", type=click.IntRange(0), default=None,
              help="Calls per hour per API; the first over answers 45009 and blocks that API. Default: none.")
@click.option("--hour-block-seconds", default=3600.0, show_default=True, type=click.FloatRange(0),
              help="How long an API stays blocked after going over --rate-limit-per-hour.")
@click.option("--hour-seconds", default=3600.0, show_default=True, type=click.FloatRange(0.1),
              help="The length of --rate-limit-per-hour's hour (shorter to rehearse an hourly quota quickly).")
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
@click.option("--custom-field", "custom_fields", multiple=True, metavar="NAME[:web]",
              help="A custom field (自定义字段) of the corp: NAME for text, NAME:web for a web link. Repeatable; "
                   "members show them in this order.")
@click.option("--batch-rows-per-second", default=2000, show_default=True, type=click.IntRange(0),
              help="The pace of batch/syncuser jobs, in rows a second (0: as fast as it can).")
@click.option("--media-ttl", default=259200.0, show_default=True, type=click.FloatRange(0),
              help="Seconds a media_id from media/upload stays valid (the platform: 3 days).")
@click.option("--webhook-key", "webhook_keys", multiple=True, metavar="KEY",
              help="A group robot's webhook key that webhook/send and webhook/upload_media accept. Repeatable; "
                   "answers name the robots robot 1, robot 2, ... in this order, never by their keys.")
@click.option("--agent-id", default=1000002, show_default=True, type=click.IntRange(1, 2**31 - 1),
              help="The agentid of the app that message/send sends for (any other answers 40056).")
@lang_option(expose=False)
def emulator(host: str, port: int, **options: object) -> None:
    """Run a local WeCom contacts API for tests, demos and rehearsals.

    It speaks the platform's HTTP API (gettoken, user/*, department/*, the async batch
    import: media/upload, batch/syncuser, batch/getresult, and messages: message/send,
    webhook/send, webhook/upload_media) with its rules and errcodes, and control endpoints
    under /_emulator/ (reset, stats, faults, expire-tokens, state, messages). Stop it with Ctrl-C.

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
