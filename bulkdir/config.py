"""Settings: where bulkdir finds the corp id, the secrets and the knobs of the client.

Each setting is resolved in this order, the first that has it wins:

    1. a command-line flag            --corp-id, --secret, --app-secret, --base-url, --rate, --rate-per-hour,
                                      --max-wait, --workers, --timeout, --mapping
    2. the environment                BULKDIR_CORP_ID, BULKDIR_SECRET, BULKDIR_APP_SECRET, BULKDIR_BASE_URL,
                                      BULKDIR_RATE, BULKDIR_RATE_PER_HOUR, BULKDIR_MAX_WAIT, BULKDIR_WORKERS,
                                      BULKDIR_TIMEOUT, BULKDIR_MAPPING
    3. ./bulkdir.toml                 (the folder the command runs in)
    4. <config dir>/bulkdir.toml      (see `user_dirs()`)

A config file holds a default section and named profiles; keys are named like the settings:

    [default]
    corp_id = "ww0123456789abcdef"
    rate = 1800

    [profiles.prod]
    secret = "..."            # the contacts-sync (通讯录同步) secret
    app_secret = "..."        # a self-built app's secret, for detail reads (48009)
    mapping = "beisen"        # the column mapping of this corp's HR sheets, a [mappings.beisen] table

`--profile prod` (or BULKDIR_PROFILE) picks a profile; inside one file the profile's keys win over the
default section's. Secrets never appear in a repr, a message or a file bulkdir writes (the token cache
holds tokens, never secrets, and only its owner can read it).
"""

from __future__ import annotations

import math
import os
import tomllib
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping, NamedTuple

import platformdirs

from bulkdir.errors import ConfigError, Text

DEFAULT_BASE_URL = "https://qyapi.weixin.qq.com"
# 1,800 calls per minute per API stays under both published limits (2,000 on the older page,
# 10,000 on the current one); `--rate` raises it for corps that know their limit.
DEFAULT_RATE = 1800
# The platform's current page allows 150,000 calls an hour per API; stay a little under it.
DEFAULT_RATE_PER_HOUR = 140_000
DEFAULT_MAX_WAIT = 600.0  # seconds a run waits for a blocked API (an hourly block) before it stops cleanly
DEFAULT_WORKERS = 4  # the platform documents no concurrency limit; a few writers in flight never trip 45033
DEFAULT_TIMEOUT = 15.0
CONFIG_FILE_NAME = "bulkdir.toml"


@dataclass(frozen=True)
class UserDirs:
    """The per-user folders bulkdir keeps its files in."""

    config: Path
    data: Path
    cache: Path


def user_dirs() -> UserDirs:
    """The config, data and cache folders: under `$BULKDIR_HOME` when it is set, else the platform's.

    The folders are not created here; whoever writes into one creates it.

    >>> import os; os.environ["BULKDIR_HOME"] = "/tmp/bh"
    >>> user_dirs().cache
    PosixPath('/tmp/bh/cache')
    """
    home = os.environ.get("BULKDIR_HOME")
    if home:
        root = Path(home).expanduser()
        return UserDirs(config=root / "config", data=root / "data", cache=root / "cache")
    return UserDirs(
        config=platformdirs.user_config_path("bulkdir"),
        data=platformdirs.user_data_path("bulkdir"),
        cache=platformdirs.user_cache_path("bulkdir"),
    )


@dataclass(frozen=True)
class Settings:
    """Everything the WeCom client needs. `repr` never shows a secret.

    >>> Settings(corp_id="ww1", secret="s3cret")
    Settings(corp_id='ww1', secret=<set>, app_secret=None, base_url='https://qyapi.weixin.qq.com', ...)
    """

    corp_id: str | None = None
    secret: str | None = None  # the contacts-sync (通讯录同步) secret: writes and, where allowed, detail reads
    app_secret: str | None = None  # a self-built app's secret: detail reads when the sync secret gets 48009
    base_url: str = DEFAULT_BASE_URL  # the host root, without /cgi-bin
    rate: int = DEFAULT_RATE  # calls per minute per API
    workers: int = DEFAULT_WORKERS
    timeout: float = DEFAULT_TIMEOUT  # seconds, for every HTTP call
    mapping: str | None = None  # the column mapping sheets are read with: a [mappings.NAME] or a file (mapping.py)
    rate_per_hour: int = DEFAULT_RATE_PER_HOUR  # calls per hour per API
    max_wait: float = DEFAULT_MAX_WAIT  # seconds to wait for an API WeCom keeps blocking, then stop the run
    agent_id: int | None = None  # the self-built app that sends app messages (--notify app:...)

    def __repr__(self) -> str:
        def show(name: str) -> str:
            value = getattr(self, name)
            if name in SECRET_SETTINGS:
                return "None" if value is None else "<set>"
            return repr(value)

        inner = ", ".join(f"{f.name}={show(f.name)}" for f in fields(self))
        return f"Settings({inner})"

    __str__ = __repr__

    def require(self, *names: str) -> None:
        """Raise ConfigError naming the flag, the variable and the file key of the first missing setting.

        >>> Settings(corp_id="ww1").require("corp_id", "secret")
        Traceback (most recent call last):
        bulkdir.errors.ConfigError: missing contacts-sync secret (通讯录同步 Secret): pass --secret, ...
        """
        for name in names:
            if not getattr(self, name):
                raise ConfigError(missing_setting_message(name))


SECRET_SETTINGS = frozenset({"secret", "app_secret"})

class SettingSource(NamedTuple):
    """Where a setting comes from besides the config file, and what it is called for a person."""

    flag: str
    variable: str
    words: Text


SETTINGS_SOURCES: dict[str, SettingSource] = {
    "corp_id": SettingSource("--corp-id", "BULKDIR_CORP_ID", Text("corp id", "企业ID")),
    "secret": SettingSource("--secret", "BULKDIR_SECRET", Text("contacts-sync secret", "通讯录同步 Secret")),
    "app_secret": SettingSource("--app-secret", "BULKDIR_APP_SECRET", Text("app secret", "自建应用 Secret")),
    "base_url": SettingSource("--base-url", "BULKDIR_BASE_URL", Text("base URL", "接口地址")),
    "rate": SettingSource("--rate", "BULKDIR_RATE", Text("rate (calls per minute per API)", "每个接口每分钟调用次数")),
    "rate_per_hour": SettingSource("--rate-per-hour", "BULKDIR_RATE_PER_HOUR",
                                   Text("hourly rate (calls per hour per API)", "每个接口每小时调用次数")),
    "max_wait": SettingSource("--max-wait", "BULKDIR_MAX_WAIT",
                              Text("longest wait for a blocked API (seconds)", "接口被限制时的最长等待（秒）")),
    "workers": SettingSource("--workers", "BULKDIR_WORKERS", Text("workers", "并发数")),
    "timeout": SettingSource("--timeout", "BULKDIR_TIMEOUT", Text("timeout (seconds)", "超时（秒）")),
    "mapping": SettingSource("--mapping", "BULKDIR_MAPPING", Text("column mapping", "列映射")),
    "agent_id": SettingSource("--agent-id", "BULKDIR_AGENT_ID", Text("app agentid", "自建应用 AgentId")),
}


def config_files(cwd: Path | None = None) -> list[Path]:
    """The config files bulkdir reads, the one that wins first: ./bulkdir.toml, then the user's."""
    return [(cwd or Path.cwd()) / CONFIG_FILE_NAME, user_dirs().config / CONFIG_FILE_NAME]


def missing_setting_message(name: str) -> Text:
    """One line telling a person the three ways to set `name`."""
    flag, variable, words = SETTINGS_SOURCES[name]
    local, user = config_files()
    return Text(f"missing {words} ({words.zh}): pass {flag}, set {variable}, or add {name} = \"...\" "
                f"to ./{local.name} or {user}",
                f"缺少{words.zh}：请使用 {flag}、设置环境变量 {variable}，"
                f"或在 ./{local.name} 或 {user} 中写 {name} = \"...\"")


def resolve_settings(
    flags: Mapping[str, Any] | None = None,
    *,
    profile: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Settings:
    """Resolve every setting: flag > environment > ./bulkdir.toml > user config file.

    `flags` maps setting names to flag values (None means "not given"). Settings nobody gives keep their
    defaults; corp id and secret may stay None here (`Settings.require` or the client complain).

    >>> resolve_settings({"corp_id": "ww1", "rate": 600}, env={}).rate
    600
    """
    env = os.environ if env is None else env
    profile = profile or env.get("BULKDIR_PROFILE") or None
    values: dict[str, Any] = {}
    profile_found = profile is None
    for path in reversed(config_files(cwd)):  # the user file first, so that ./bulkdir.toml overrides it
        layer, found = _read_config_file(path, profile)
        values.update(layer)
        profile_found = profile_found or found
    if not profile_found:
        raise ConfigError(f"unknown profile {profile!r}: add a [profiles.{profile}] section to "
                          f"./{CONFIG_FILE_NAME} or {config_files(cwd)[1]}")
    for name, (_, variable, _) in SETTINGS_SOURCES.items():
        if env.get(variable):
            values[name] = _parse(name, env[variable], variable)
    for name, value in (flags or {}).items():
        if value is not None:
            values[name] = _parse(name, value, SETTINGS_SOURCES[name][0])
    return Settings(**values)


def _read_config_file(path: Path, profile: str | None) -> tuple[dict[str, Any], bool]:
    """The settings one file gives for `profile`, and whether it holds that profile."""
    if not path.is_file():
        return {}, False
    try:
        with path.open("rb") as handle:
            data = tomllib.load(handle)
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {path}: {error}") from None
    # [mappings.NAME] are column mappings (bulkdir/mapping.py), [sync.NAME] unattended runs (bulkdir/sync.py),
    # [robots] the group robots' webhook keys (bulkdir/notify.py)
    top = {key: value for key, value in data.items()
           if key not in ("default", "profiles", "mappings", "sync", "robots")}
    layers = [top, data.get("default", {})]
    profiles = data.get("profiles", {})
    found = profile is not None and profile in profiles
    if found:
        layers.append(profiles[profile])
    values: dict[str, Any] = {}
    for layer in layers:
        if not isinstance(layer, dict):
            raise ConfigError(f"{path}: a section must be a table of settings")
        for key, value in layer.items():
            if key not in SETTINGS_SOURCES:
                known = ", ".join(SETTINGS_SOURCES)
                raise ConfigError(f"{path}: unknown key {key!r} (known keys: {known})")
            values[key] = _parse(key, value, f"{key} in {path}")
    return values, found


def _parse(name: str, value: Any, source: str) -> Any:
    """Check and convert one setting's value; `source` names where it came from, for the message."""
    try:
        if name in ("rate", "rate_per_hour"):
            number = int(value)
            if number < 1:
                raise ValueError
            return number
        if name == "agent_id":
            number = int(value)
            if number < 1:
                raise ValueError
            return number
        if name == "max_wait":
            seconds = float(value)
            if not (seconds >= 0 and math.isfinite(seconds)):
                raise ValueError
            return seconds
        if name == "workers":
            number = int(value)
            if not 1 <= number <= 64:
                raise ValueError
            return number
        if name == "timeout":
            seconds = float(value)
            if not (seconds > 0 and math.isfinite(seconds)):
                raise ValueError
            return seconds
    except (TypeError, ValueError):
        limits = {"rate": "a whole number of calls per minute, at least 1",
                  "rate_per_hour": "a whole number of calls per hour, at least 1",
                  "max_wait": "a number of seconds, 0 or more",
                  "agent_id": "the app's AgentId, a whole number",
                  "workers": "a whole number from 1 to 64",
                  "timeout": "a number of seconds above 0"}[name]
        shown = "" if name in SECRET_SETTINGS else f" {value!r}"
        raise ConfigError(f"invalid {name}{shown} from {source}: expected {limits}") from None
    if not isinstance(value, str):
        raise ConfigError(f"invalid {name} from {source}: expected text")
    value = value.strip()
    if name == "base_url":
        if not value.startswith(("http://", "https://")):
            raise ConfigError(f"invalid base_url {value!r} from {source}: expected http(s)://host[:port]")
        value = value.rstrip("/")
        if value.endswith("/cgi-bin"):  # the base URL is the host root (README, "Connecting")
            value = value[: -len("/cgi-bin")]
    return value or None

