"""Unattended runs: `bulkdir sync NAME` brings the directory in line with the newest export an HR system
dropped, on a schedule, and never asks anyone anything.

A `[sync.NAME]` table of bulkdir.toml says where the source is (a file, or the newest file a glob
matches), how to read it, what to do with members it no longer lists, the brake, where results go and
whom to tell. What needs a person stops the run before any write and says why (`SyncStopped`): the
source missing or unreadable, still being written, older than the last run's, too many invalid rows, a
brake tripped. The same content as the last successful run makes no call at all.
"""

from __future__ import annotations

import datetime as dt
import glob
import json
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from bulkdir.errors import BulkdirError, ConfigError, ExitStatus, RefusedError, RunLockedError, Text

MISSING_CHOICES = ("keep", "disable", "delete")
SETTLE_SECONDS = 3.0  # a source unchanged in size and time this long is no longer being written (at most 10)
_TABLE_KEYS = {
    "source": "a file, or a glob whose newest match is used (folder/*.xlsx)",
    "sheet": "the sheet to read", "encoding": "a CSV file's encoding", "mapping": "a [mappings.NAME] or a file",
    "make_userid": "pinyin or a template", "userid_from": "a column",
    "scope": "sheet or all", "missing": "keep, disable or delete",
    "max_deletes": "at most this many members deleted or disabled in a run",
    "max_delete_share": "at most this share (0-1) of the members in scope deleted or disabled",
    "allow_mass_delete": "past the platform's own rule too, when --allow-mass-delete is also given",
    "max_invalid_share": "stop when more than this share (0-1) of the rows is invalid",
    "results": "the folder results go to", "keep_days": "days old results are kept",
    "notify": "a list such as [\"robot:hr\", \"app:zhangsan|lisi\"]", "notify_on": "always or failure",
    "profile": "the connection profile", "via": "auto, api or batch", "settle_seconds": "0 to 10",
}


class SyncStopped(BulkdirError):
    """The run stopped before any write because something needs a person; the message says what."""

    def __init__(self, message: str, message_zh: str, *, status: ExitStatus = ExitStatus.USAGE):
        super().__init__(message, message_zh)
        self.status = status

    @property
    def exit_status(self) -> ExitStatus:  # type: ignore[override]
        return self.status


@dataclass(frozen=True)
class SyncJob:
    """One `[sync.NAME]` table, checked."""

    name: str
    source: str
    config_dir: Path
    config_name: str = "bulkdir.toml"  # the config file the table is in (its mappings and robots are looked up there)
    sheet: str | None = None
    encoding: str | None = None
    mapping: str | None = None
    make_userid: str | None = None
    userid_from: str | None = None
    scope: str = "sheet"
    missing: str = "keep"
    max_deletes: int | None = None
    max_delete_share: float | None = None
    allow_mass_delete: bool = False
    max_invalid_share: float = 0.2
    results: Path | None = None
    keep_days: int = 30
    notify: tuple[str, ...] = ()
    notify_on: str = "always"
    profile: str | None = None
    via: str = "auto"
    settle_seconds: float = SETTLE_SECONDS

    @property
    def results_folder(self) -> Path:
        from bulkdir.config import user_dirs

        return self.results or user_dirs().data / "sync" / self.name


def sync_tables(config: Path) -> dict[str, Any]:
    """The `[sync.NAME]` tables of one config file."""
    try:
        data = tomllib.loads(config.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"cannot read {config}: {error}", f"无法读取 {config}：{error}") from None
    tables = data.get("sync", {})
    return tables if isinstance(tables, dict) else {}


def load_job(name: str, config: Path | None = None) -> SyncJob:
    """The sync `name` of `config` (else ./bulkdir.toml, then the user's), every key checked."""
    from bulkdir.config import config_files

    files = [config] if config is not None else [f for f in config_files() if f.is_file()]
    for path in files:
        if path is None or not path.is_file():
            raise ConfigError(f"no config file {path}", f"找不到配置文件 {path}")
        tables = sync_tables(path)
        if name in tables:
            return _job(name, tables[name], path)
    defined = sorted({n for path in files if path is not None and path.is_file() for n in sync_tables(path)})
    known = f" (defined: {', '.join(defined)})" if defined else ""
    raise ConfigError(f"no [sync.{name}] table in {', '.join(str(f) for f in files) or './bulkdir.toml'}{known}",
                      f"配置中没有 [sync.{name}] 表{known}")


def _job(name: str, table: Any, path: Path) -> SyncJob:
    where = f"[sync.{name}] in {path}"
    if not isinstance(table, dict):
        raise ConfigError(f"{where} must be a table", f"{where} 必须是表")
    unknown = sorted(set(table) - set(_TABLE_KEYS))
    if unknown:
        raise ConfigError(f"{where}: unknown key {unknown[0]!r} (known keys: {', '.join(_TABLE_KEYS)})",
                          f"{where}：未知的键“{unknown[0]}”（可用的键：{', '.join(_TABLE_KEYS)}）")
    if not isinstance(table.get("source"), str) or not table["source"].strip():
        raise ConfigError(f"{where}: source is required ({_TABLE_KEYS['source']})",
                          f"{where}：缺少 source（文件，或匹配最新文件的通配符）")

    def text(key: str) -> str | None:
        value = table.get(key)
        if value is not None and not isinstance(value, str):
            raise ConfigError(f"{where}: {key} must be text ({_TABLE_KEYS[key]})", f"{where}：{key} 必须是文本")
        return value

    def choice(key: str, choices: tuple[str, ...], default: str) -> str:
        value = text(key) or default
        if value not in choices:
            raise ConfigError(f"{where}: {key} must be one of {', '.join(choices)}, not {value!r}",
                              f"{where}：{key} 须为 {'、'.join(choices)} 之一，而不是“{value}”")
        return value

    def number(key: str, low: float, high: float, whole: bool = False) -> Any:
        value = table.get(key)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high or (
                whole and not isinstance(value, int)):
            kind = "a whole number" if whole else "a number"
            raise ConfigError(f"{where}: {key} must be {kind} from {low:g} to {high:g} ({_TABLE_KEYS[key]})",
                              f"{where}：{key} 须为 {low:g} 到 {high:g} 之间的数")
        return value

    notify = table.get("notify", [])
    if isinstance(notify, str):
        notify = [notify]
    if not isinstance(notify, list) or not all(isinstance(n, str) for n in notify):
        raise ConfigError(f"{where}: notify must be a list of text ({_TABLE_KEYS['notify']})",
                          f"{where}：notify 须为文本列表")
    for target in notify:
        from bulkdir.notify import parse_target

        parse_target(target)
    allow = table.get("allow_mass_delete", False)
    if not isinstance(allow, bool):
        raise ConfigError(f"{where}: allow_mass_delete must be true or false", f"{where}：allow_mass_delete 须为布尔值")
    results = text("results")
    base = path.parent
    return SyncJob(
        name=name, source=str(table["source"]).strip(), config_dir=base, config_name=path.name, sheet=text("sheet"),
        encoding=text("encoding"), mapping=text("mapping"), make_userid=text("make_userid"),
        userid_from=text("userid_from"), scope=choice("scope", ("sheet", "all"), "sheet"),
        missing=choice("missing", MISSING_CHOICES, "keep"), max_deletes=number("max_deletes", 0, 10**7, True),
        max_delete_share=number("max_delete_share", 0, 1), allow_mass_delete=allow,
        max_invalid_share=_or(number("max_invalid_share", 0, 1), 0.2),
        results=(base / results).resolve() if results else None, keep_days=_or(number("keep_days", 0, 3650, True), 30),
        notify=tuple(notify), notify_on=choice("notify_on", ("always", "failure"), "always"),
        profile=text("profile"), via=choice("via", ("auto", "api", "batch"), "auto"),
        settle_seconds=_or(number("settle_seconds", 0, 10), SETTLE_SECONDS))


def _or(value: Any, default: Any) -> Any:
    return default if value is None else value


# ---------------------------------------------------------------------------------------------
# the source

def _pattern(job: SyncJob) -> Path:
    """The source as a path, relative to the config file the table is in."""
    pattern = Path(job.source).expanduser()
    return pattern if pattern.is_absolute() else job.config_dir / pattern


def find_source(job: SyncJob) -> Path:
    """The file to read: the source itself, or the newest file its glob matches (SyncStopped when none)."""
    pattern = _pattern(job)
    if glob.has_magic(str(pattern)):
        matches = [Path(p) for p in glob.glob(str(pattern))  # not Excel's lock file of an open workbook (~$)
                   if Path(p).is_file() and not Path(p).name.startswith(("~$", "."))]
        if not matches:
            raise SyncStopped(f"no file matches the source {job.source} of sync {job.name}: nothing was done",
                              f"同步 {job.name} 的来源 {job.source} 没有匹配的文件：未做任何操作")
        return max(matches, key=lambda p: (p.stat().st_mtime, p.name))
    if not pattern.is_file():
        raise SyncStopped(f"the source {pattern} of sync {job.name} is missing: nothing was done",
                          f"同步 {job.name} 的来源文件 {pattern} 不存在：未做任何操作")
    return pattern


def settled(path: Path, seconds: float, sleep: Callable[[float], None] = time.sleep) -> None:
    """SyncStopped when the file is still being written: its size or time changes within `seconds`, or an
    xlsx is not yet a whole zip."""
    first = path.stat()
    if seconds > 0:
        sleep(min(seconds, 10.0))
        now = path.stat()
        if (now.st_size, now.st_mtime_ns) != (first.st_size, first.st_mtime_ns):
            raise SyncStopped(f"{path.name} is still being written (it changed in the last {seconds:g} s): it was "
                              "not used; the next run takes it once it is whole",
                              f"{path.name} 仍在写入（{seconds:g} 秒内有变化）：本次未使用，下次运行时再处理")
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        import zipfile

        if not zipfile.is_zipfile(path):
            raise SyncStopped(f"{path.name} does not open as a workbook (half-written, or not an xlsx): it was not "
                              "used", f"{path.name} 无法作为工作簿打开（未写完，或不是 xlsx）：本次未使用")


# ---------------------------------------------------------------------------------------------
# what the last successful run left

def _state_path(job: SyncJob) -> Path:
    return job.results_folder / f"last-run-{job.name}.json"  # syncs may share a results folder


def last_run(job: SyncJob) -> dict[str, Any]:
    try:
        data = json.loads(_state_path(job).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _remember(job: SyncJob, source: Path, source_hash: str, run_id: str) -> None:
    from bulkdir.sheets import atomic_file

    state = {"source": str(source), "hash": source_hash, "mtime": source.stat().st_mtime, "run": run_id,
             "finished_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")}
    with atomic_file(_state_path(job)) as temporary:
        temporary.write_text(json.dumps(state, ensure_ascii=False), encoding="utf-8")


def _results_path(job: SyncJob) -> Path:
    """`NAME-YYYYMMDD-HHMMSS.result.xlsx` in the results folder; a second run in the same second gets `-2`
    and so on, so that it never replaces the results of the run before it."""
    stem = f"{job.name}-{dt.datetime.now().strftime('%Y%m%d-%H%M%S')}"
    path, number = job.results_folder / f"{stem}.result.xlsx", 2
    while path.exists() or path.with_name(f"{path.stem}.errors.xlsx").exists():
        path, number = job.results_folder / f"{stem}-{number}.result.xlsx", number + 1
    return path


def prune_results(job: SyncJob, now: float | None = None) -> int:
    """Remove results older than `keep_days`; how many files."""
    cutoff = (now or time.time()) - job.keep_days * 86400
    removed = 0
    own = re.compile(rf"{re.escape(job.name)}-\d{{8}}-\d{{6}}(-\d+)?\.result(\.errors)?\.xlsx\Z")  # what runs wrote
    for path in job.results_folder.glob(f"{glob.escape(job.name)}-*"):  # a name is no pattern
        if path.is_file() and own.match(path.name) and path.stat().st_mtime < cutoff:
            path.unlink(missing_ok=True)
            removed += 1
    return removed


# ---------------------------------------------------------------------------------------------
# the run

@dataclass
class SyncOutcome:
    """What a sync did: `state` is "done", "unchanged" (the same content as the last run: no call made),
    "planned" (--dry-run) or "stopped" (nothing written; `stopped` says why)."""

    job: SyncJob
    state: str
    source: Path | None = None
    result: Any = None  # the ImportResult when it ran
    plan: Any = None  # the ImportPlan when it planned
    stopped: Text | None = None
    status: ExitStatus = ExitStatus.OK
    notices: list[Text] = field(default_factory=list)  # notifications that could not be sent


def run_sync(job: SyncJob, client: Any, *, dry_run: bool = False, force: bool = False, wait: float = 0.0,
             allow_mass_delete: bool = False, lang: str = "zh", progress: Any = None,
             journal: str | Path | None = None) -> SyncOutcome:
    """One sync: the source found and checked, then (unless its content is the last run's) planned against
    the directory and run under the corp's lock, results into the job's folder. What needs a person stops
    it before any write: the outcome says why (and its status is the exit code)."""
    from bulkdir.importer import ImportOptions, prepare_import, run_import
    from bulkdir.matching import UseridMaker
    from bulkdir.plan import DeleteOptions
    from bulkdir.runlock import CorpLock

    try:
        source = find_source(job)
        source_hash = _content_key(job, source)
        _fresh(job, source, source_hash, force)  # before the lock: an unchanged source makes no call at all
        settled(source, job.settle_seconds)
        folder = job.results_folder
        if _inside(folder, _watched_root(job)):
            raise SyncStopped(f"sync {job.name}: its results folder {folder} is inside the watched folder "
                              f"{_watched_root(job)}; a results file there would become the next source",
                              f"同步 {job.name} 的结果文件夹 {folder} 位于来源文件夹 {_watched_root(job)} 中："
                              "结果文件会被当作下一次的来源")
        delete = DeleteOptions(delete_missing=job.missing != "keep", scope=job.scope,
                               allow_mass_delete=job.allow_mass_delete and allow_mass_delete,
                               disable_instead=job.missing == "disable")
        options = ImportOptions(delete=delete, sheet=job.sheet, encoding=job.encoding, mapping=job_mapping(job),
                                maker=UseridMaker.from_options(job.make_userid, job.userid_from),
                                workers=client.settings.workers, journal=journal, lang=lang, progress=progress,
                                via=job.via)
        with CorpLock(client.settings.corp_id or "", "sync").acquire(wait) as lock:
            _fresh(job, source, source_hash, force)  # again: a run that held the lock may have just done it
            options.report = _results_path(job)  # under the lock: no other run of this sync picks the same name
            try:
                prepared = prepare_import(source, client, options)
            except RefusedError as error:  # the platform's rule of the brake
                raise SyncStopped(error.message.en, error.message.zh) from None
            _own_brake(job, prepared)
            _invalid_share(job, prepared)
            if dry_run:
                status = ExitStatus.PROBLEMS if prepared.plan.invalid else ExitStatus.OK
                return SyncOutcome(job, "planned", source, plan=prepared, status=status)
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            result = run_import(prepared, lock=lock)
        if result.exit_status == ExitStatus.OK:  # failed rows are tried again next time, whatever the source
            _remember(job, source, source_hash, result.run_id)
        prune_results(job)
        return SyncOutcome(job, "done", source, result=result, plan=prepared, status=result.exit_status)
    except _Unchanged as unchanged:
        return SyncOutcome(job, "unchanged", unchanged.source)
    except RunLockedError:
        raise  # exit 75: not something a person needs to act on
    except SyncStopped as stop:
        return SyncOutcome(job, "stopped", None, stopped=stop.message, status=stop.exit_status)
    except BulkdirError as error:  # an unreadable source, an unknown mapping, ...: stopped, said and notified
        return SyncOutcome(job, "stopped", None, stopped=error.message, status=error.exit_status)


class _Unchanged(Exception):
    def __init__(self, source: Path):
        self.source = source


def _content_key(job: SyncJob, source: Path) -> str:
    """The source's content with the table's settings that shape the plan: either changed, the sync runs."""
    import hashlib

    from bulkdir.importer import _hash

    shaping = {name: getattr(job, name) for name in ("sheet", "encoding", "mapping", "make_userid", "userid_from",
                                                      "scope", "missing", "max_deletes", "max_delete_share",
                                                      "allow_mass_delete", "max_invalid_share", "via")}
    return hashlib.sha256((_hash(source) + json.dumps(shaping, sort_keys=True)).encode()).hexdigest()


def _fresh(job: SyncJob, source: Path, source_hash: str, force: bool) -> None:
    """_Unchanged when the last successful run had this content; SyncStopped when the source is older."""
    if force:
        return
    previous = last_run(job)
    if previous.get("hash") == source_hash:
        raise _Unchanged(source)
    if previous.get("mtime") and source.stat().st_mtime < float(previous["mtime"]):
        raise SyncStopped(f"{source.name} is older than the source of the last run ({previous.get('source')}): "
                          "it was not used (--force uses it)",
                          f"{source.name} 比上次运行的来源更旧：本次未使用（--force 可强制使用）")


def _watched_root(job: SyncJob) -> Path:
    """The folder the source is looked for in: a glob's part before its first wildcard, or the file's folder."""
    pattern = _pattern(job)
    if not glob.has_magic(str(pattern)):
        return pattern.parent
    parts = []
    for part in pattern.parts:
        if glob.has_magic(part):
            break
        parts.append(part)
    root = Path(*parts)
    return root if parts[-1:] != [pattern.name] else root.parent


def job_mapping(job: SyncJob) -> Any:
    """The table's mapping: a [mappings.NAME] of the table's own config file first, a file relative to it,
    else as `--mapping` finds it."""
    from bulkdir.mapping import Mapping, _mapping_tables, load_mapping

    if not job.mapping:
        return Mapping()
    config = job.config_dir / job.config_name
    tables = _mapping_tables(config) if config.is_file() else {}
    if job.mapping in tables:
        return Mapping.from_table(tables[job.mapping], job.mapping, str(config))
    relative = job.config_dir / job.mapping
    if relative.is_file():
        return load_mapping(str(relative))
    return load_mapping(job.mapping)


def _inside(folder: Path, watched: Path) -> bool:
    folder, watched = folder.resolve(), watched.resolve()
    return folder == watched or watched in folder.parents


def _own_brake(job: SyncJob, prepared: Any) -> None:
    """The table's thresholds, tighter than the platform's rule: checked on the plan, before any write."""
    counts = prepared.counts()
    removals = counts.get("member_delete", 0) + counts.get("member_disable", 0)
    scope = prepared.plan.delete_scope or len(prepared.directory.members) or 1
    if job.max_deletes is not None and removals > job.max_deletes:
        raise SyncStopped(f"the plan removes {removals} members, more than max_deletes = {job.max_deletes} of sync "
                          f"{job.name}: nothing was done. Check the source, or run it by hand.",
                          f"计划移除 {removals} 名成员，超过同步 {job.name} 的 max_deletes = {job.max_deletes}："
                          "未做任何操作。请检查来源，或手动运行。")
    if job.max_delete_share is not None and removals / scope > job.max_delete_share:
        raise SyncStopped(f"the plan removes {removals} of the {scope} members in scope, more than max_delete_share "
                          f"= {job.max_delete_share:g} of sync {job.name}: nothing was done.",
                          f"计划移除范围内 {scope} 名成员中的 {removals} 名，超过同步 {job.name} 的 max_delete_share = "
                          f"{job.max_delete_share:g}：未做任何操作。")


def _invalid_share(job: SyncJob, prepared: Any) -> None:
    rows = len(prepared.records.members) + len(prepared.plan.invalid) if prepared.records else 0
    invalid = len(prepared.plan.invalid)
    if rows and invalid / rows > job.max_invalid_share:
        raise SyncStopped(f"{invalid} of the {rows} rows are invalid, more than max_invalid_share = "
                          f"{job.max_invalid_share:g} of sync {job.name}: nothing was done. Fix the source "
                          "(`bulkdir validate` lists every problem).",
                          f"{rows} 行中有 {invalid} 行无效，超过同步 {job.name} 的 max_invalid_share = "
                          f"{job.max_invalid_share:g}：未做任何操作。请修正来源（`bulkdir validate` 列出所有问题）。",
                          status=ExitStatus.PROBLEMS)
