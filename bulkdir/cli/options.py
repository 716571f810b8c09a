"""The connection options every command that talks to WeCom takes, and the client they make through
the library's `bulkdir.connect()`.

    @cli.command()
    @connection_options
    def export(path, connection: Connection):
        client = connection.client()          # resolved settings; the sandbox started if --sandbox
        directory = fetch_directory(client)

`connection.client()` resolves flag > environment > ./bulkdir.toml > user config file (see
bulkdir/config.py), raises ConfigError (exit 2, one line) for a missing corp id or secret, and closes
the client (and stops the sandbox) when the command ends. With `--sandbox` it prints one line on stderr
saying the sandbox is in use and where its state lives.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

import click

from bulkdir.config import SECRET_SETTINGS, Settings, resolve_settings

if TYPE_CHECKING:
    from bulkdir.wecom.client import WeComClient

CONNECTION_FLAGS = ("corp_id", "secret", "app_secret", "base_url", "rate", "rate_per_hour", "max_wait", "workers",
                    "timeout", "agent_id")


@dataclass
class Connection:
    """What the connection options said; `client()` turns it into a WeComClient."""

    flags: dict[str, Any] = field(default_factory=dict)  # setting name -> flag value (None: not given)
    profile: str | None = None
    sandbox: bool = False
    _client: WeComClient | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        # The flags hold the secrets as typed on the command line; a repr can end up in a traceback.
        shown = {name: ("<set>" if name in SECRET_SETTINGS and value is not None else value)
                 for name, value in self.flags.items()}
        return f"Connection(flags={shown!r}, profile={self.profile!r}, sandbox={self.sandbox!r})"

    def settings(self) -> Settings:
        """The resolved settings (without the sandbox's), e.g. for `--dry-run` messages."""
        return resolve_settings(self.flags, profile=self.profile)

    def client(self, **client_options: Any) -> WeComClient:
        """A client for these options; closed when the click command ends (or call `.close()`).

        `client_options` go to WeComClient (max_attempts, backoff, block_seconds, cache_dir). Calling
        it again returns the same client (one sandbox per process).
        """
        if self._client is not None:
            return self._client
        from bulkdir.connection import connect  # the HTTP client's imports, for the commands that call WeCom

        client = self._client = connect(self.settings(), sandbox=self.sandbox, rate=self.flags.get("rate"),
                                        **client_options)
        context = click.get_current_context(silent=True)
        if context is not None:
            context.call_on_close(client.close)
        if self.sandbox:
            from bulkdir.sandbox import sandbox_db

            click.echo(f"Using the local sandbox, not a real corp (本地沙箱); its state lives in {sandbox_db()} "
                       "(`bulkdir sandbox reset` empties it).", err=True)
        return client


def connection_options(command: Callable) -> Callable:
    """A click decorator: adds the connection options and passes `connection: Connection` to the command.

    >>> @cli.command()  # doctest: +SKIP
    ... @connection_options
    ... def export(connection: Connection) -> None:
    ...     directory = fetch_directory(connection.client())
    """
    options = [
        click.option("--corp-id", "corp_id", metavar="ID", help="Corp id (企业ID). Env BULKDIR_CORP_ID."),
        click.option("--secret", "secret", metavar="SECRET",
                     help="Contacts-sync secret (通讯录同步 Secret), for writes. Prefer env BULKDIR_SECRET or "
                          "the config file: a flag shows in the process list."),
        click.option("--app-secret", "app_secret", metavar="SECRET",
                     help="Self-built app secret, for detail reads when the contacts-sync secret gets 48009. "
                          "Env BULKDIR_APP_SECRET."),
        click.option("--base-url", "base_url", metavar="URL",
                     help="API host root, without /cgi-bin [default: https://qyapi.weixin.qq.com]. "
                          "Env BULKDIR_BASE_URL."),
        click.option("--rate", "rate", type=int, metavar="N",
                     help="Calls per minute per API [default: 1800; 60000 with --sandbox]. Env BULKDIR_RATE."),
        click.option("--rate-per-hour", "rate_per_hour", type=int, metavar="N",
                     help="Calls per hour per API [default: 140000, under the platform's 150,000]. "
                          "Env BULKDIR_RATE_PER_HOUR."),
        click.option("--max-wait", "max_wait", type=float, metavar="SECONDS",
                     help="How long a run waits for an API WeCom keeps blocking (its hourly quota) before it "
                          "stops cleanly, to go on when run again [default: 600]. Env BULKDIR_MAX_WAIT."),
        click.option("--agent-id", "agent_id", type=int, metavar="N",
                     help="The self-built app's AgentId, for --notify app:... messages. Env BULKDIR_AGENT_ID."),
        click.option("--workers", "workers", type=int, metavar="N",
                     help="Calls in flight at once [default: 4]. Env BULKDIR_WORKERS."),
        click.option("--timeout", "timeout", type=float, metavar="SECONDS",
                     help="Timeout of every HTTP call [default: 15]. Env BULKDIR_TIMEOUT."),
        click.option("--profile", "profile", metavar="NAME",
                     help="Use [profiles.NAME] of bulkdir.toml. Env BULKDIR_PROFILE."),
        click.option("--sandbox", "sandbox", is_flag=True,
                     help="Use the local sandbox (an emulator kept in the user's data folder) instead of WeCom."),
    ]

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        flags = {name: kwargs.pop(name) for name in CONNECTION_FLAGS}
        kwargs["connection"] = Connection(flags, kwargs.pop("profile"), kwargs.pop("sandbox"))
        return command(*args, **kwargs)

    for option in reversed(options):
        wrapper = option(wrapper)
    return wrapper


@dataclass
class SheetOptions:
    """How a sheet's columns are read (`--map`, `--mapping`) and how new hires get userids
    (`--make-userid`, `--userid-from`)."""

    maps: tuple[str, ...] = ()
    choice: str | None = None
    make_userid: str | None = None
    userid_from: str | None = None

    def mapping(self, profile: str | None = None) -> Any:
        """The Mapping: --mapping, else BULKDIR_MAPPING or the profile's `mapping`, with --map on top."""
        from bulkdir.mapping import load_mapping

        choice = self.choice or resolve_settings({}, profile=profile).mapping
        return load_mapping(choice, self.maps)

    def maker(self) -> Any:
        from bulkdir.matching import UseridMaker

        return UseridMaker.from_options(self.make_userid, self.userid_from)


def sheet_options(makes_userids: bool = True) -> Callable[[Callable], Callable]:
    """A click decorator: adds the mapping options (and, with `makes_userids`, the userid makers) and
    passes `sheet_options: SheetOptions` to the command."""
    options = [
        click.option("--map", "maps", multiple=True, metavar="COLUMN=FIELD",
                     help="Read a sheet column as a field: --map 工号=userid, --map 入职日期=extattr:入职日期 (a "
                          "custom field), --map 备注=- (ignore it). Repeatable; wins over --mapping."),
        click.option("--mapping", "mapping_choice", metavar="NAME|FILE",
                     help="A column mapping: a [mappings.NAME] table of bulkdir.toml, or a TOML file. Env "
                          "BULKDIR_MAPPING, or `mapping = \"NAME\"` in a profile."),
    ]
    if makes_userids:
        options += [
            click.option("--make-userid", "make_userid", metavar="pinyin|TEMPLATE",
                         help="Give rows that match no member a new userid: pinyin of the name (张三 → zhangsan), "
                              "or a template of {pinyin}, {initials}, {column:HEADER}, "
                              "e.g. \"{pinyin}.{column:工号}\"."),
            click.option("--userid-from", "userid_from", metavar="COLUMN",
                         help="Give rows that match no member the userid in this column (e.g. 工号)."),
        ]

    def decorate(command: Callable) -> Callable:
        @functools.wraps(command)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            kwargs["sheet_options"] = SheetOptions(kwargs.pop("maps"), kwargs.pop("mapping_choice"),
                                                   kwargs.pop("make_userid", None), kwargs.pop("userid_from", None))
            return command(*args, **kwargs)

        for option in reversed(options):
            wrapper = option(wrapper)
        return wrapper
    return decorate
