"""Telling HR what a run did, where they already read (wecom-api.md A10): a group robot (`robot:NAME`, its
webhook key a secret of the config, `[robots] NAME = "..."`, or of the environment, BULKDIR_ROBOT_NAME)
or an app message to some members (`app:zhangsan|lisi`, with the app secret and `agent_id`).

A message that cannot be sent never changes the run's outcome: `send` returns what failed, in words
that never hold the key, and the caller says so and journals it.
"""

from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bulkdir.errors import BulkdirError, ConfigError, Text

TEXT_BYTES = 2048  # the platform's cap on a text message's content
SHOWN_FAILURES = 5


@dataclass(frozen=True)
class Target:
    kind: str  # robot | app
    name: str  # the robot's name, or the members (a|b)


def parse_target(text: str) -> Target:
    """`robot:NAME` or `app:userid1|userid2`; ConfigError naming the expected shape otherwise."""
    kind, _, name = text.partition(":")
    kind, name = kind.strip().lower(), name.strip()
    if kind not in ("robot", "app") or not name or (kind == "robot" and not name.replace("_", "").replace("-", "")
                                                     .isalnum()):
        raise ConfigError(f"notify target {text!r} is not robot:NAME or app:USERID|USERID",
                          f"通知对象“{text}”应为 robot:名称 或 app:帐号|帐号")
    return Target(kind, name)


def robot_key(name: str, config: Path | None = None) -> str:
    """The webhook key of robot `name`: BULKDIR_ROBOT_NAME, else `[robots]` of `config` (a sync's --config
    file), of ./bulkdir.toml or of the user's."""
    from bulkdir.config import config_files

    variable = "BULKDIR_ROBOT_" + name.upper().replace("-", "_")
    if os.environ.get(variable):
        return os.environ[variable].strip()
    for config in ([config] if config is not None else []) + config_files():
        if config.is_file():
            try:
                robots = tomllib.loads(config.read_text(encoding="utf-8")).get("robots", {})
            except (OSError, tomllib.TOMLDecodeError):
                continue
            if isinstance(robots, dict) and isinstance(robots.get(name), str):
                return robots[name].strip()
    raise ConfigError(f"no key for robot {name}: set {variable}, or {name} = \"...\" in a [robots] table of "
                      "bulkdir.toml",
                      f"找不到机器人 {name} 的 key：请设置 {variable}，或在 bulkdir.toml 的 [robots] 中配置")


def cut(text: str, limit: int = TEXT_BYTES) -> str:
    """Text within `limit` UTF-8 bytes, cut with "…" rather than refused."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    room = limit - len("…".encode("utf-8"))
    return data[:room].decode("utf-8", "ignore") + "…"


def send(targets: list[str], message: str, client: Any, attachment: Path | None = None,
         config: Path | None = None) -> list[Text]:
    """Send `message` to every target (a robot also gets `attachment` as a file message); what failed.
    `config`: a config file to look robots' keys up in first."""
    failed: list[Text] = []
    for text in targets:
        target = parse_target(text)
        try:
            if target.kind == "robot":
                key = robot_key(target.name, config)
                client.webhook_send(key, {"msgtype": "text", "text": {"content": cut(message)}})
                if attachment is not None and attachment.is_file():
                    media_id = client.webhook_upload(key, attachment.read_bytes(), attachment.name)
                    client.webhook_send(key, {"msgtype": "file", "file": {"media_id": media_id}})
            else:
                if not client.settings.agent_id:
                    raise ConfigError("an app message needs the app's agent_id (--agent-id, BULKDIR_AGENT_ID)",
                                      "应用消息需要应用的 AgentId（--agent-id、BULKDIR_AGENT_ID）")
                answer = client.message_send({"touser": target.name, "msgtype": "text",
                                              "agentid": client.settings.agent_id,
                                              "text": {"content": cut(message)}})
                if answer.get("invaliduser"):
                    failed.append(Text(f"app message: not delivered to {answer['invaliduser']}",
                                       f"应用消息：未送达 {answer['invaliduser']}"))
        except BulkdirError as error:
            failed.append(Text(f"{target.kind}:{target.name}: {error.message.en}",
                               f"{target.kind}:{target.name}：{error.message.zh}"))
    return failed


def run_message(result: Any, *, title: str, lang: str = "zh", stopped: Text | None = None,
                planned: Any = None) -> str:
    """The message of a run: its outcome in one line, the counts, the first failures by row, what stopped
    it, the run id."""
    zh = lang == "zh"
    lines = []
    if stopped is not None:
        lines.append(f"{title}：已停止，未做任何修改" if zh else f"{title}: stopped, nothing was changed")
        lines.append(stopped.in_lang(lang))
        return "\n".join(lines)
    if planned is not None:
        lines.append(f"{title}：计划（未执行）" if zh else f"{title}: plan (not run)")
        lines += planned.plan.summary_lines(first=3, lang=lang)[:8]
        return "\n".join(lines)
    counts = result.counts
    bad = counts.get("failed", 0) + counts.get("invalid", 0)
    if zh:
        verdict = "完成" if not bad and not result.interrupted else ("已中断" if result.interrupted else "完成，有失败")
        lines.append(f"{title}：{verdict}")
        words = {"created": "新建", "updated": "更新", "unchanged": "不变", "deleted": "删除", "disabled": "禁用",
                 "failed": "失败", "invalid": "无效"}
        lines.append("，".join(f"{word} {counts.get(key, 0)}" for key, word in words.items()))
    else:
        verdict = "done" if not bad and not result.interrupted else ("interrupted" if result.interrupted
                                                                     else "done, with failures")
        lines.append(f"{title}: {verdict}")
        lines.append(", ".join(f"{counts.get(k, 0)} {k}" for k in ("created", "updated", "unchanged", "deleted",
                                                                   "disabled", "failed", "invalid")))
    shown = 0
    for (_, row), outcome in sorted(result.rows.items()):
        if outcome.result in ("failed", "invalid") and shown < SHOWN_FAILURES:
            lines.append(f"第 {row} 行：{Text(outcome.message).zh}" if zh else f"row {row}: {Text(outcome.message).en}")
            shown += 1
    if bad > shown:
        lines.append(f"……另有 {bad - shown} 行" if zh else f"... and {bad - shown} more rows")
    if result.stopped_by is not None:
        lines.append(result.stopped_by.in_lang(lang))
    lines.append(f"运行 {result.run_id}" if zh else f"run {result.run_id}")
    return "\n".join(lines)
