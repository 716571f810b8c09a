"""The emulator's settings: `EmulatorOptions`, given at startup, and the checks of the ones that may
change while it runs.

FAULT_SETTINGS names the limits and faults POST /_emulator/faults may change; `validate_faults`
checks their types and bounds, both when the options are made (so an absurd `--latency-ms` fails
at startup, naming the option) and when gate.py's `Gate.configure` changes them while running.

This module imports nothing of the emulator's: models.py (the corp) and gate.py (the limits and
faults) both read the options, and neither imports the other's half.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any, Literal

# The settings POST /_emulator/faults may change while running.
FAULT_SETTINGS = ("token_ttl", "rate_limit", "block_seconds", "rate_limit_per_hour", "hour_block_seconds",
                  "hour_seconds", "max_concurrency", "latency_ms", "fail_rate", "http_error_rate", "seed",
                  "restrict_details", "hide_private_fields", "ignore_fetch_child", "max_list_members",
                  "hidden_from_lists", "custom_fields", "batch_rows_per_second", "media_ttl", "webhook_keys",
                  "agent_id")


@dataclass
class EmulatorOptions:
    """Startup options; the names match `bulkdir emulator`'s flags.

    Example:
        >>> EmulatorOptions(rate_limit=600, block_seconds=1).corp_id
        'wwsandbox'
        >>> EmulatorOptions(fail_rate=2)
        Traceback (most recent call last):
        ...
        ValueError: fail_rate must be a number from 0 to 1, not 2
    """

    corp_id: str = "wwsandbox"
    secret: str = field(default="sandbox-secret", repr=False)
    app_secret: str = field(default="sandbox-app-secret", repr=False)
    corp_name: str = "示例企业"
    token_ttl: int = 7200
    rate_limit: int | None = None  # calls per minute per API; None or 0 = no limit
    block_seconds: float = 60
    rate_limit_per_hour: int | None = None  # calls per hour per API; None or 0 = no limit
    hour_block_seconds: float = 3600  # how long the hourly quota blocks an API (the platform: an hour)
    # The hourly quota's window. An hour on the platform; tests shorten it so that a quota fills and
    # empties again within a test.
    hour_seconds: float = 3600
    max_concurrency: int | None = None  # calls in flight per API; None or 0 = no limit
    latency_ms: float = 0
    fail_rate: float = 0.0
    http_error_rate: float = 0.0
    seed: int | None = None
    restrict_details: bool = False
    hide_private_fields: bool = False
    # platform page 90201 no longer lists fetch_child: user/list and user/simplelist answer the named
    # department's own members only
    ignore_fetch_child: bool = False
    max_list_members: int | None = None  # a user/list of more members answers 45029; None or 0 = no limit
    # A fault for tests: these userids are left out of user/list and user/simplelist answers (as a
    # platform that silently drops members would), while user/get and user/list_id still show them.
    hidden_from_lists: list[str] = field(default_factory=list)
    # The corp's custom fields (自定义字段), defined in the admin console on the platform: "NAME" for a
    # text field, "NAME:web" for a web link, in the order members show them (see `custom_fields`).
    custom_fields: list[str] = field(default_factory=list)
    # The async batch import (wecom-api.md A9): rows a second a job runs at, so that its progress can be
    # watched (None or 0: as fast as it can), and how long an uploaded media_id stays valid (3 days).
    batch_rows_per_second: int | None = 2000
    media_ttl: float = 3 * 24 * 3600
    # Messages (wecom-api.md A10): the group robots' webhook keys, secrets like the corp's (never shown:
    # answers name a robot by its label, `robot_labels`), and the agentid of the app message/send is for.
    webhook_keys: list[str] = field(default_factory=list, repr=False)
    agent_id: int = 1000002
    db: str | None = None

    def __post_init__(self) -> None:
        # The same bounds as POST /_emulator/faults: an absurd value fails here, naming the option,
        # instead of breaking every call later (time.sleep(inf) in the middle of a request).
        for name, value in validate_faults({name: getattr(self, name) for name in FAULT_SETTINGS}).items():
            setattr(self, name, value)


def default_faults() -> dict[str, Any]:
    """The fault and limit settings of a fresh `EmulatorOptions()`.

    Example:
        >>> default_faults()["fail_rate"]
        0.0
    """
    defaults = EmulatorOptions()
    return {name: getattr(defaults, name) for name in FAULT_SETTINGS}


# Bounds of the settings: large enough for any test or rehearsal, small enough that a typo (or
# 1e308) cannot stall every call or overflow time.sleep. (name: (smallest, largest))
NUMBER_BOUNDS = {"fail_rate": (0, 1), "http_error_rate": (0, 1), "latency_ms": (0, 60_000),
                 "block_seconds": (0, 86_400), "hour_block_seconds": (0, 86_400), "hour_seconds": (0.1, 86_400),
                 "token_ttl": (0, 10_000_000), "media_ttl": (0, 10_000_000)}
WHOLE_BOUNDS = {"rate_limit": 1_000_000, "rate_limit_per_hour": 1_000_000, "max_concurrency": 100_000,
                "max_list_members": 10_000_000, "batch_rows_per_second": 1_000_000,
                "seed": 2**64}  # whole numbers from 0 to this, or null (0 and null: no limit)
FLAGS = ("restrict_details", "hide_private_fields", "ignore_fetch_child")
MAX_AGENT_ID = 2**31 - 1
MAX_WEBHOOK_KEY = 128  # characters of a webhook key (the platform's are 36: a UUID)
_WEBHOOK_KEY_RE = re.compile(r"[\x21-\x7e]+\Z")  # printable ASCII, no spaces: it travels in the query string


def robot_labels(keys: list[str]) -> list[str]:
    """How answers name the robots of `keys`: by their place among them, never by the key, a secret.

    Example:
        >>> robot_labels(["693a91f6-7b3c-4bc4-97a0-0ec2sifa5aaa", "b2"])
        ['robot 1', 'robot 2']
    """
    return [f"robot {index}" for index in range(1, len(keys) + 1)]


def _webhook_keys(value: Any) -> list[str]:
    """The checked keys; a ValueError that never quotes one (they are secrets), only its place."""
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
        raise ValueError("webhook_keys must be a list of webhook keys (strings)")
    for index, key in enumerate(value, 1):
        if not 1 <= len(key) <= MAX_WEBHOOK_KEY or not _WEBHOOK_KEY_RE.match(key):
            raise ValueError(f"webhook_keys must each be 1 to {MAX_WEBHOOK_KEY} printable ASCII characters "
                             f"without spaces; robot {index}'s key is not")
        if key in value[:index - 1]:
            raise ValueError(f"webhook_keys must give each key once, not robot {index}'s again")
    return list(value)


MAX_CUSTOM_FIELD_NAME = 32  # characters of a custom field's name

CustomFieldKind = Literal["text", "web"]


def custom_fields(definitions: Any) -> list[tuple[str, CustomFieldKind]]:
    """The custom fields `definitions` ("NAME" or "NAME:web" each) define, in order: (name, kind).

    Raises ValueError naming the setting for anything else: names are 1 to 32 characters, hold no
    `:` (so that a mistyped "主页:Web" is refused rather than taken as a text field of that name) and
    are given once.

    Example:
        >>> custom_fields(["工号", "主页:web"])
        [('工号', 'text'), ('主页', 'web')]
        >>> custom_fields(["工号", "工号:web"])
        Traceback (most recent call last):
        ...
        ValueError: custom_fields must name each field once, not '工号' twice
    """
    if not isinstance(definitions, (list, tuple)) or not all(isinstance(v, str) for v in definitions):
        raise ValueError(f'custom_fields must be a list of "NAME" or "NAME:web" strings, not {_brief(definitions)}')
    out: list[tuple[str, CustomFieldKind]] = []
    for definition in definitions:
        kind: CustomFieldKind = "web" if definition.endswith(":web") else "text"
        name = definition.removesuffix(":web")
        if not name.strip() or len(name) > MAX_CUSTOM_FIELD_NAME or ":" in name:
            raise ValueError(f'custom_fields must be "NAME" or "NAME:web", the name 1 to {MAX_CUSTOM_FIELD_NAME} '
                             f"characters without ':', not {_brief(definition)}")
        if any(name == seen for seen, _ in out):
            raise ValueError(f"custom_fields must name each field once, not {_brief(name)} twice")
        out.append((name, kind))
    return out


def _brief(value: Any) -> str:
    """A refused value as the error message shows it: at most 60 characters."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def validate_faults(changes: dict[str, Any]) -> dict[str, Any]:
    """Checks types and ranges of fault settings; raises ValueError naming the setting.

    Names it does not know are left out of the answer (Gate.configure refuses them first).

    Example:
        >>> validate_faults({"fail_rate": 1, "rate_limit": None})
        {'fail_rate': 1.0, 'rate_limit': None}
        >>> validate_faults({"latency_ms": float("inf")})
        Traceback (most recent call last):
        ...
        ValueError: latency_ms must be a number from 0 to 60000, not inf
    """
    out: dict[str, Any] = {}
    for name, value in changes.items():
        if name in NUMBER_BOUNDS:
            low, high = NUMBER_BOUNDS[name]
            number = isinstance(value, (int, float)) and not isinstance(value, bool)
            if not number or not math.isfinite(value) or not low <= value <= high:
                raise ValueError(f"{name} must be a number from {low} to {high}, not {_brief(value)}")
            out[name] = float(value) if name in ("fail_rate", "http_error_rate") else value
        elif name in WHOLE_BOUNDS:
            high = WHOLE_BOUNDS[name]
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                      or not 0 <= value <= high):
                raise ValueError(f"{name} must be a whole number from 0 to {high}, or null, "
                                 f"not {_brief(value)}")
            out[name] = value
        elif name in FLAGS:
            if not isinstance(value, bool):
                raise ValueError(f"{name} must be true or false, not {_brief(value)}")
            out[name] = value
        elif name == "hidden_from_lists":
            if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
                raise ValueError(f"hidden_from_lists must be a list of userids (strings), "
                                 f"not {_brief(value)}")
            out[name] = list(value)
        elif name == "custom_fields":
            custom_fields(value)
            out[name] = list(value)
        elif name == "webhook_keys":
            out[name] = _webhook_keys(value)
        elif name == "agent_id":
            if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_AGENT_ID:
                raise ValueError(f"agent_id must be a whole number from 1 to {MAX_AGENT_ID}, not {_brief(value)}")
            out[name] = value
    return out
