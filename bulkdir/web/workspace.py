"""What the page holds between requests: the sheets people uploaded, what checking and planning them gave,
and the run in progress. Everything it decides, it asks the library.

Uploads go to a private folder (0700) that is removed when the server stops, each under a random name
(never the name it was uploaded with, which is only shown); the upload is cut off at the size cap while it
arrives. A run goes in a thread of its own, holding the corp's lock as the command line does, journalled,
reporting its progress to the page and stoppable from it.
"""

from __future__ import annotations

import os
import secrets
import shutil
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, AsyncIterator, Iterator

from bulkdir.errors import BulkdirError, RunLockedError, Text, WeComError
from bulkdir.importer import ImportOptions, ImportPlan, ImportResult, prepare_import, run_import
from bulkdir.journal import Journal, default_journal_path
from bulkdir.mapping import Mapping, load_mapping
from bulkdir.plan import DeleteOptions
from bulkdir.runlock import CorpLock
from bulkdir.validation import ValidationResult, validate_file
from bulkdir.wecom.client import WeComClient

SHEET_SUFFIXES = (".xlsx", ".xlsm", ".csv", ".tsv")
DEFAULT_MAX_UPLOAD = 50 * 2**20  # the reader's own cap on a sheet (bulkdir.sheets.MAX_SHEET_BYTES)


class UploadError(BulkdirError):
    """An upload that is refused before it is read: too large (`status` 413), or not a kind of sheet bulkdir
    reads (400)."""

    def __init__(self, message: str, message_zh: str, *, status: int = 400):
        super().__init__(message, message_zh)
        self.status = status


@dataclass(frozen=True)
class PlanChoice:
    """The options of the plan the page offers, as `bulkdir import` has them."""

    delete_missing: bool = False
    scope: str = "sheet"
    disable_instead: bool = False
    prune_departments: bool = False
    allow_mass_delete: bool = False

    @classmethod
    def from_form(cls, values: Any) -> "PlanChoice":
        """The choice a query string or a form gives (checkboxes: present means on)."""
        def on(name: str) -> bool:
            return str(values.get(name, "")).lower() in ("1", "on", "true", "yes")

        scope = "all" if values.get("scope") == "all" else "sheet"
        return cls(on("delete_missing"), scope, on("disable_instead"), on("prune_departments"),
                   on("allow_mass_delete"))

    def query(self) -> str:
        """The choice as a query string, for links that keep it."""
        parts = [f"{name}=1" for name in ("delete_missing", "disable_instead", "prune_departments", "allow_mass_delete")
                 if getattr(self, name)]
        if self.scope == "all":
            parts.append("scope=all")
        return "&".join(parts)

    def delete_options(self) -> DeleteOptions:
        return DeleteOptions(self.delete_missing, self.scope, self.allow_mass_delete, self.disable_instead,
                             self.prune_departments)


@dataclass
class Sheet:
    """An uploaded sheet (or the file of a run to resume): where it is kept, what it was called, and what
    checking it gave."""

    id: str
    name: str  # as uploaded: shown, never used to open anything
    path: Path
    mapping_name: str | None = None
    validation: ValidationResult | None = None
    plans: dict[PlanChoice, ImportPlan] = field(default_factory=dict)


@dataclass
class Run:
    """A run started from the page: its progress as the library reports it, and how it ended."""

    id: str
    sheet: Sheet
    choice: PlanChoice
    stop: threading.Event = field(default_factory=threading.Event)
    state: str = "starting"  # starting | running | finished | interrupted | failed
    done: int = 0
    total: int = 0
    failures: int = 0
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    run_id: str | None = None  # the journal's, once the run has one
    result: ImportResult | None = None
    error: Text | None = None
    thread: threading.Thread | None = None
    lock: CorpLock | None = None

    def progress(self, done: int, total: int, failures: int) -> None:
        self.done, self.total, self.failures = done, total, failures
        if self.state == "starting":
            self.state = "running"
        if self.run_id is None and self.lock is not None:
            self.run_id = self.lock.info.get("run")

    def rate(self) -> float:
        """Operations a second so far."""
        seconds = (self.ended or time.monotonic()) - self.started
        return self.done / seconds if seconds > 0 else 0.0

    def seconds_left(self) -> float | None:
        rate = self.rate()
        if self.state != "running" or rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / rate)


@contextmanager
def _as_uploaded(sheet: Sheet) -> Iterator[None]:
    """The library's messages name the file it read; the person knows it by the name they uploaded."""
    try:
        yield
    except BulkdirError as error:
        kept, shown = sheet.path.name, sheet.name
        error.message = Text(error.message.en.replace(kept, shown), error.message.zh.replace(kept, shown))
        raise


class Workspace:
    """The page's state: one client (one corp), the uploads folder, the sheets, and the runs."""

    def __init__(self, client: WeComClient, *, folder: Path, max_upload: int = DEFAULT_MAX_UPLOAD,
                 journal: Path | None = None, sandbox: bool = False, lang: str = "zh"):
        self.client = client
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        os.chmod(folder, 0o700)
        self.max_upload = max_upload
        self.journal = journal
        self.sandbox = sandbox
        self.lang = lang
        self.sheets: dict[str, Sheet] = {}
        self.runs: dict[str, Run] = {}
        self._lock = threading.Lock()
        self._corp_name: str | None = None

    # ---- the corp

    @property
    def corp_id(self) -> str:
        return self.client.settings.corp_id or ""

    def corp_name(self) -> str:
        """The root department's name (the corp's), or "" when the secret may not read it."""
        if self._corp_name is None:
            try:
                self._corp_name = str(self.client.department_get(1).get("name") or "")
            except (WeComError, BulkdirError):
                self._corp_name = ""
        return self._corp_name

    # ---- sheets

    async def save_upload(self, name: str, chunks: AsyncIterator[bytes], declared: int | None = None) -> Sheet:
        """Keep an upload under a random name, refusing it (UploadError) past the size cap or when its name
        is not that of a sheet bulkdir reads."""
        shown = Path(name.replace("\\", "/")).name.strip() or "sheet"
        suffix = Path(shown).suffix.lower()
        if suffix not in SHEET_SUFFIXES:
            raise UploadError(f"{shown} is not a sheet bulkdir reads: choose an .xlsx, .xlsm, .csv or .tsv file",
                              f"{shown} 不是 bulkdir 能读取的表格：请选择 .xlsx、.xlsm、.csv 或 .tsv 文件")
        if declared is not None and declared > self.max_upload:
            raise self._too_large(shown)
        sheet_id = secrets.token_hex(8)
        path = self.folder / f"{sheet_id}{suffix}"
        size = 0
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > self.max_upload:
                        raise self._too_large(shown)
                    handle.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        sheet = Sheet(sheet_id, shown, path)
        with self._lock:
            self.sheets[sheet_id] = sheet
        return sheet

    def _too_large(self, name: str) -> UploadError:
        limit = f"{self.max_upload / 2**20:g} MB"
        return UploadError(f"{name} is larger than {limit}, the most this page takes; split the sheet, or start "
                           "the page with a larger --max-upload",
                           f"{name} 超过 {limit}，超出本页面可接收的大小；请拆分表格，或用更大的 --max-upload 启动",
                           status=413)

    def sheet_for_file(self, path: Path, name: str | None = None) -> Sheet:
        """A sheet for a file already on this machine (the source of a run to resume)."""
        sheet = Sheet(secrets.token_hex(8), name or path.name, path)
        with self._lock:
            self.sheets[sheet.id] = sheet
        return sheet

    def mapping(self, sheet: Sheet) -> Mapping:
        return load_mapping(sheet.mapping_name) if sheet.mapping_name else Mapping()

    def check(self, sheet: Sheet) -> ValidationResult:
        """What `bulkdir validate` says of the sheet (kept: the page shows it a page at a time)."""
        if sheet.validation is None:
            with _as_uploaded(sheet):
                sheet.validation = validate_file(sheet.path, mapping=self.mapping(sheet))
        return sheet.validation

    def forget_checks(self, sheet: Sheet) -> None:
        sheet.validation = None
        sheet.plans.clear()

    # ---- plans and runs

    def options(self, sheet: Sheet, choice: PlanChoice, **runtime: Any) -> ImportOptions:
        return ImportOptions(delete=choice.delete_options(), mapping=self.mapping(sheet),
                             workers=self.client.settings.workers, journal=self.journal, lang=self.lang, **runtime)

    def plan(self, sheet: Sheet, choice: PlanChoice) -> ImportPlan:
        """The plan of `bulkdir import` for this sheet and choice, against a fresh snapshot (RefusedError past
        the brake, as the command line refuses)."""
        with _as_uploaded(sheet):
            plan = prepare_import(sheet.path, self.client, self.options(sheet, choice))
        sheet.plans[choice] = plan
        return plan

    def active_run(self) -> Run | None:
        with self._lock:
            return next((run for run in self.runs.values() if run.state in ("starting", "running")), None)

    def start_run(self, sheet: Sheet, choice: PlanChoice, reviewed: dict[str, int]) -> Run:
        """Start the run of the plan the person reviewed, in a thread. The plan is made again first, against the
        directory as it is now; when its counts are not those reviewed, nothing is sent and the run fails
        with a message saying to review it again. RunLockedError when a run is already going."""
        with self._lock:
            running = next((run for run in self.runs.values() if run.state in ("starting", "running")), None)
            if running is not None:
                raise RunLockedError(
                    f"a run is already in progress on this corp (started from this page, run "
                    f"{running.run_id or running.id}): wait for it to finish, or stop it",
                    f"本企业已有一个运行正在进行（由本页面启动，运行 {running.run_id or running.id}）："
                    "请等待其结束，或将其停止")
            # a run of another process (the command line, a scheduled sync) is refused here, before the page
            # shows a run; the run's thread takes the lock for real (a run that starts in between fails there)
            CorpLock(self.corp_id, "serve", has_wait=False).acquire(0).release()
            run = Run(secrets.token_hex(8), sheet, choice)
            self.runs[run.id] = run
        run.thread = threading.Thread(target=self._run, args=(run, reviewed), name=f"bulkdir-run-{run.id}",
                                      daemon=True)
        run.thread.start()
        return run

    def _run(self, run: Run, reviewed: dict[str, int]) -> None:
        try:
            with CorpLock(self.corp_id, "import", has_wait=False).acquire(0) as lock:
                run.lock = lock
                options = self.options(run.sheet, run.choice, progress=run.progress, stop=run.stop)
                with _as_uploaded(run.sheet):
                    prepared = prepare_import(run.sheet.path, self.client, options)
                if prepared.counts() != reviewed:
                    run.state = "failed"
                    run.error = Text("the directory changed since the plan was reviewed: nothing was sent; review "
                                     "the plan again", "审阅计划之后通讯录已有变化：未发送任何请求；请重新审阅计划")
                    return
                run.state = "running"
                run.total = len(prepared.plan.operations)
                result = run_import(prepared, lock=lock)
                run.result, run.run_id = result, result.run_id
                run.state = "interrupted" if result.interrupted else "finished"
                run.error = result.stopped_by  # an API WeCom blocked for the hour stopped it
        except BulkdirError as error:
            run.state, run.error = "failed", error.message
        except Exception as error:  # a bug: the page says so in one line, as the command line does
            run.state = "failed"
            run.error = Text(f"internal error: {type(error).__name__}: {error}")
        finally:
            run.ended = time.monotonic()
            self.forget_kept(run)

    def stop_runs(self, wait: float = 120.0) -> None:
        """Stop every run as Ctrl-C does and wait for it to journal what it did and write its report."""
        for run in list(self.runs.values()):
            run.stop.set()
        for run in list(self.runs.values()):
            if run.thread is not None:
                run.thread.join(wait)

    def close(self) -> None:
        """Stop the runs, keep the sheets of those that were interrupted (to resume them after a restart), and
        remove the uploads folder."""
        self.stop_runs()
        for run in list(self.runs.values()):
            if run.state == "interrupted" and run.run_id and run.sheet.path.parent == self.folder:
                self._keep_for_resume(run)
        shutil.rmtree(self.folder, ignore_errors=True)

    def open_journal(self) -> Journal:
        """The journal the page's runs use (the caller closes it)."""
        return Journal(self.journal or default_journal_path())

    # ---- sheets kept for an interrupted run

    @property
    def kept(self) -> Path:
        """Where an interrupted run's sheet is kept (0700), beside the journal's data, until it is finished."""
        from bulkdir.config import user_dirs

        return user_dirs().data / "serve-resume"

    def _keep_for_resume(self, run: Run) -> None:
        self.kept.mkdir(mode=0o700, parents=True, exist_ok=True)
        target = self.kept / f"{run.run_id}{run.sheet.path.suffix}"
        shutil.move(str(run.sheet.path), target)
        os.chmod(target, 0o600)
        names = self.kept_names()
        names[str(run.run_id)] = run.sheet.name
        self._write_kept_names(names)
        journal = self.open_journal()
        try:
            journal.move_source(str(run.run_id), str(target))
        finally:
            journal.close()

    def kept_names(self) -> dict[str, str]:
        """The names the kept sheets were uploaded with, by run id (only shown)."""
        import json

        try:
            names = json.loads((self.kept / "names.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return {str(k): str(v) for k, v in names.items()} if isinstance(names, dict) else {}

    def _write_kept_names(self, names: dict[str, str]) -> None:
        import json

        from bulkdir.sheets import atomic_file

        with atomic_file(self.kept / "names.json") as temporary:
            temporary.write_text(json.dumps(names, ensure_ascii=False), encoding="utf-8")
        os.chmod(self.kept / "names.json", 0o600)

    def shown_name(self, run_id: str, source: str | None) -> str:
        """A run's sheet as the person knows it: the name it was uploaded with, else the file's name."""
        if not source:
            return ""
        path = Path(source)
        for sheet in self.sheets.values():
            if sheet.path == path:
                return sheet.name
        if path.parent == self.kept:
            return self.kept_names().get(run_id, path.name)
        return path.name

    def forget_kept(self, run: Run) -> None:
        """A kept sheet whose run has finished is no longer needed."""
        if run.sheet.path.parent == self.kept and run.state == "finished":
            run.sheet.path.unlink(missing_ok=True)
            names = self.kept_names()
            if names.pop(str(run.run_id), None) is not None:
                self._write_kept_names(names)
