"""Run a Plan's operations against WeCom: phases in order, members concurrently, every outcome journalled.

    departments   one depth level at a time (parents first), the levels' departments concurrently
    members       creates and updates on a thread pool; the client's rate limiter paces every call
    leaders       direct_leader links to members created in this run
    deletes       user/batchdelete in chunks of at most 200; user/update enable=0 with --disable-instead
    prune         department/delete, children first

A failed call becomes an OpResult with its errcode and the hint, never an exception that stops the run.
Answers that may hide a success are reconciled by reading back: a create meeting 60102 (our own
earlier attempt may have landed), a delete meeting 60111 (already gone), a call whose answer was lost.

Ctrl-C (SIGINT, while `execute` runs in the main thread) stops taking new work; calls in flight finish
and are journalled; `execute` returns with `interrupted=True` so the caller can write the report.
A second Ctrl-C stops at once (KeyboardInterrupt).
"""

from __future__ import annotations

import signal
import threading
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator

from bulkdir.errors import BulkdirError, QuotaBlockedError, Text
from bulkdir.journal import Journal
from bulkdir.plan import PHASE_DELETES, PHASE_DEPARTMENTS, PHASE_PRUNE, PRIVATE_FIELDS, Operation, same_value
from bulkdir.wecom import codes
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.directory import Directory
from bulkdir.wecom.ratelimit import WaitCancelled

BATCH_DELETE_SIZE = 200  # user/batchdelete takes at most 200 userids (40032)
# department/delete of one that still holds members or sub-departments: kept, and said so
KEPT_DEPARTMENT = (codes.DEPARTMENT_HAS_MEMBERS, codes.DEPARTMENT_HAS_CHILDREN)
FAILED = "failed"
SKIPPED = "skipped"


@dataclass
class OpResult:
    """What became of one operation: an outcome word, and for failures the errcode and message (with hint)."""

    key: str
    outcome: str  # created | updated | deleted | disabled | failed | skipped
    errcode: int | None = None
    message: Text = field(default_factory=Text)

    @property
    def ok(self) -> bool:
        return self.outcome not in (FAILED, SKIPPED)


@dataclass
class Execution:
    """The results of running operations, by key."""

    results: dict[str, OpResult] = field(default_factory=dict)
    interrupted: bool = False
    stopped_by: BulkdirError | None = None  # why the run stopped by itself (an hourly block, a batch job's API)


def error_message(error: BaseException) -> Text:
    """One line for a failed call, with its hint; the client's text never holds a secret."""
    if isinstance(error, BulkdirError):
        return Text(error.message.en.splitlines()[0], error.message.zh.splitlines()[0])
    return Text((str(error).strip() or type(error).__name__).splitlines()[0])


Progress = Callable[[int, int, int], None]
"""Told (operations done, operations in all, failures so far) as each operation ends; from worker threads."""


class _Recorder:
    """Collects results, journals them, and tells the progress callback; shared by the workers."""

    def __init__(self, journal: Journal | None, run_id: str | None, progress: Progress | None, total: int):
        self.journal, self.run_id, self.progress, self.total = journal, run_id, progress, total
        self.results: dict[str, OpResult] = {}
        self.failures = 0
        self._lock = threading.Lock()
        self.stop = threading.Event()
        self.stopped_by: BulkdirError | None = None

    def quota_spent(self, error: BulkdirError) -> None:
        """An API WeCom keeps blocking: stop as Ctrl-C does. The operation that met it stays started and not
        done in the journal, so the run sent again reads it back and sends it once more if it did not land."""
        with self._lock:
            self.stopped_by = self.stopped_by or error
        self.stop.set()

    def known(self, result: OpResult) -> None:
        """A result known before the run (from the journal): counted, not sent."""
        with self._lock:
            self.results[result.key] = result
            done = len(self.results)
        if self.progress is not None:
            self.progress(done, self.total, self.failures)

    def record_all(self, results: list[OpResult]) -> None:
        """Results journalled, then told to the progress once (a batch job's: the bar never goes back)."""
        for result in results:
            if self.journal is not None and self.run_id is not None:
                self.journal.mark_done(self.run_id, result.key, result.outcome, result.errcode, result.message)
        with self._lock:
            for result in results:
                self.results[result.key] = result
                self.failures += result.outcome == FAILED
            done, failures = len(self.results), self.failures
        if self.progress is not None:
            self.progress(done, self.total, failures)

    def partly(self, share: float) -> None:
        """Operations in progress are `share` operations along (a batch job's percentage), for the progress."""
        if self.progress is not None:
            with self._lock:
                done, failures = len(self.results), self.failures
            self.progress(min(self.total, done + int(share)), self.total, failures)

    def started(self, keys: list[str]) -> None:
        if self.journal is not None and self.run_id is not None:
            self.journal.mark_started(self.run_id, keys)

    def not_sent(self, key: str) -> None:
        if self.journal is not None and self.run_id is not None:
            self.journal.mark_not_sent(self.run_id, key)

    def record(self, result: OpResult) -> None:
        self.record_all([result])


def execute(operations: list[Operation], client: WeComClient, *, workers: int = 4, journal: Journal | None = None,
            run_id: str | None = None, progress: Progress | None = None,
            done: dict[str, OpResult] | None = None, stop: threading.Event | None = None,
            batch: set[str] | None = None, batch_file_bytes: int | None = None) -> Execution:
    """Run operations in plan order and return one OpResult per operation (fewer when interrupted).

    `done` holds results already known (from the journal of an interrupted run): those operations
    are not sent again. With a journal, each operation is marked started before its call and done
    after it. `progress` is told how far the run is as each operation ends. `stop`, once set (a Stop
    button, from another thread), works as Ctrl-C does: no new work starts, the calls in flight finish.
    `batch` names member writes sent through the async batch import (bulkdir/batchjobs.py) before the
    members' per-call writes, in files of at most `batch_file_bytes`.

    Example:
        >>> plan = [Operation("member:wangwu", "member_create", 1, "wangwu",
        ...                   {"userid": "wangwu", "name": "王五", "mobile": "13800000003"})]
        >>> execution = execute(plan, client, workers=8)
        >>> [(key, result.outcome) for key, result in execution.results.items()]
        [('member:wangwu', 'created')]
    """
    recorder = _Recorder(journal, run_id, progress, len(operations))
    known = dict(done or {})
    if stop is not None:
        recorder.stop = stop
    stop = recorder.stop
    client.limits.cancel_waits_on(stop)
    try:
        with _ctrl_c_sets(stop):
            _run_phases(operations, client, recorder, workers, known, stop, batch or set(), batch_file_bytes)
    except KeyboardInterrupt:  # a second Ctrl-C: stop at once
        stop.set()
    finally:
        client.limits.cancel_waits_on(None)
    return Execution(recorder.results, interrupted=stop.is_set(), stopped_by=recorder.stopped_by)


def _run_phases(operations: list[Operation], client: WeComClient, recorder: _Recorder, workers: int,
                known: dict[str, OpResult], stop: threading.Event, batch: set[str],
                batch_file_bytes: int | None) -> None:
    for phase in sorted({op.phase for op in operations}):
        ops = [op for op in operations if op.phase == phase]
        for op in [op for op in ops if op.key in known]:
            recorder.known(known[op.key])
        ops = [op for op in ops if op.key not in known]
        in_jobs = [op for op in ops if op.key in batch]
        if in_jobs:
            if _run_batch(in_jobs, client, recorder, stop, batch_file_bytes):
                return
            ops = [op for op in ops if op.key not in batch]
        if phase == PHASE_DEPARTMENTS:
            groups = [[op for op in ops if op.depth == d] for d in sorted({op.depth for op in ops})]
        elif phase == PHASE_PRUNE:
            groups = [[op] for op in sorted(ops, key=lambda o: -o.depth)]
        else:
            groups = [ops]
        for group in groups:
            if phase == PHASE_DELETES:
                tasks = _delete_tasks(group)
            else:
                tasks = [[op] for op in group]
            if _run_tasks(tasks, client, recorder, workers, stop):
                return


def _run_batch(ops: list[Operation], client: WeComClient, recorder: _Recorder, stop: threading.Event,
               max_bytes: int | None) -> bool:
    """The batch jobs of a phase (those whose department could not be made are skipped); True when stopped."""
    from bulkdir.batchjobs import MAX_FILE_BYTES, run_jobs  # built on this module

    ready = []
    for op in ops:
        blocked = _needs_failed(op, recorder)
        if blocked is not None:
            recorder.record(blocked)
        else:
            ready.append(op)
    try:
        run_jobs(ready, client, recorder, stop, max_bytes=max_bytes or MAX_FILE_BYTES)
    except WaitCancelled:
        pass
    except BulkdirError as error:
        # an API of the batch import refused or did not answer: stop as Ctrl-C does, the report written and
        # a job already submitted left for the next run to follow
        recorder.quota_spent(error)
    return stop.is_set()


def _delete_tasks(ops: list[Operation]) -> list[list[Operation]]:
    deletes = [op for op in ops if op.kind == "member_delete"]
    others = [[op] for op in ops if op.kind != "member_delete"]
    chunks = [deletes[i:i + BATCH_DELETE_SIZE] for i in range(0, len(deletes), BATCH_DELETE_SIZE)]
    return chunks + others


def _run_tasks(tasks: list[list[Operation]], client: WeComClient, recorder: _Recorder, workers: int,
               stop: threading.Event) -> bool:
    """Run tasks, `workers` at a time; True when `stop` was set (Ctrl-C).

    Once `stop` is set no new task starts; the calls in flight finish and are journalled. With one
    worker the tasks run in this thread, one after another; with more, each worker has one more task
    queued behind the one it runs, so it never waits for this thread.
    """
    if workers <= 1:
        for task in tasks:
            if stop.is_set():
                break
            _run_task(task, client, recorder)
        return stop.is_set()
    # Each finished task frees a slot: the loop waits on that alone, not on every task in flight (waiting
    # on them all, again after each one finished, was a tenth of the client's CPU with 8 workers).
    slots = threading.Semaphore(2 * workers)
    failures: list[BaseException] = []

    def finished(future: Future) -> None:
        slots.release()
        if not future.cancelled() and future.exception() is not None:
            failures.append(future.exception())  # type: ignore[arg-type]

    in_flight: list[Future] = []
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="bulkdir") as pool:
        for task in tasks:
            while not slots.acquire(timeout=0.2):
                if stop.is_set():
                    break
            if stop.is_set() or failures:
                break
            future = pool.submit(_run_task, task, client, recorder)
            future.add_done_callback(finished)
            in_flight.append(future)
            if len(in_flight) > 4 * workers:
                in_flight = [f for f in in_flight if not f.done()]
        if stop.is_set():
            for future in in_flight:
                future.cancel()  # queued, never started
        # Waited for here, not in the pool's shutdown: a second Ctrl-C while the last tasks run then leaves
        # the with-block, whose shutdown still waits for the calls in flight (queued ones see `stop`).
        wait(in_flight)
    if failures:
        raise failures[0]  # a bug in a task must not vanish silently
    return stop.is_set()


@contextmanager
def _ctrl_c_sets(stop: threading.Event) -> Iterator[None]:
    """While running, SIGINT sets `stop` instead of raising; a second SIGINT raises KeyboardInterrupt."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _needs_failed(op: Operation, recorder: _Recorder) -> OpResult | None:
    for key in op.needs:
        result = recorder.results.get(key)
        if result is not None and not result.ok:
            kind, what = key.split(":", 1)
            reason = result.message or Text(result.outcome)
            noun_zh = "部门" if kind == "department" else "成员"
            return OpResult(op.key, SKIPPED, None,
                            Text(f"not sent: {kind} {what} had to be done first and failed ({reason})",
                                 f"未发送：需先完成的{noun_zh} {what} 未能完成（{reason.zh}）"))
    return None


def _run_task(task: list[Operation], client: WeComClient, recorder: _Recorder) -> None:
    if recorder.stop.is_set():
        return  # queued before the stop (an API blocked for the hour stops the run from a worker)
    try:
        if len(task) > 1 or task[0].kind == "member_delete":
            _batch_delete(task, client, recorder)
            return
        op = task[0]
        blocked = _needs_failed(op, recorder)
        if blocked is not None:
            recorder.record(blocked)
            return
        recorder.started([op.key])
        try:
            result = _run_one(op, client)
        except WaitCancelled as cancelled:
            if cancelled.before_sending:  # stopped while waiting for its first slot: a rerun just sends it
                recorder.not_sent(op.key)
            raise
        recorder.record(result)
    except QuotaBlockedError as error:
        recorder.quota_spent(error)
    except WaitCancelled:
        pass  # stopped while waiting for a slot; unless never sent, a rerun reads it back first


def _run_one(op: Operation, client: WeComClient) -> OpResult:
    """Send one operation, reconciling answers that may hide a success."""
    try:
        if op.kind == "department_create":
            client.department_create(dict(op.body))
        elif op.kind == "department_update":
            client.department_update(dict(op.body))
        elif op.kind == "department_delete":
            client.department_delete(op.body["id"])
        elif op.kind == "member_create":
            client.user_create(dict(op.body))
        elif op.kind in ("member_update", "member_leaders", "member_disable"):
            client.user_update(dict(op.body))
        else:
            raise ValueError(f"unknown operation kind {op.kind}")
        return OpResult(op.key, op.outcome)
    except (QuotaBlockedError, WaitCancelled):
        raise  # not this operation's failure: the run stops, and sends it again when run again
    except Exception as error:  # noqa: BLE001 - every failure becomes a result
        try:
            return _reconcile(op, client, error)
        except WaitCancelled as cancelled:  # stopped while reading back: the operation itself was sent
            cancelled.before_sending = False
            raise


def _reconcile(op: Operation, client: WeComClient, error: Exception) -> OpResult:
    errcode = getattr(error, "errcode", None)
    failed = OpResult(op.key, FAILED, errcode, error_message(error))
    # no answer, "busy" after the client's retries, or an error after an attempt whose answer was lost
    # (that attempt may have landed: a retried create can meet its own mobile, 60104, as well as 60102)
    lost = errcode is None or errcode == codes.BUSY or bool(getattr(error, "answer_lost", False))
    if op.kind == "member_create" and (errcode == codes.USERID_EXISTS or lost):
        return _member_read_back(op, client, failed, conflict_hint=errcode == codes.USERID_EXISTS)
    if op.kind in ("member_update", "member_leaders", "member_disable") and lost:
        return _member_read_back(op, client, failed)
    if op.kind == "department_create" and (errcode == codes.DEPARTMENT_EXISTS or lost):
        return _department_read_back(op, client, failed)
    if op.kind == "department_update" and lost:
        return _department_read_back(op, client, failed)
    if op.kind == "department_delete" and errcode == codes.DEPARTMENT_NOT_FOUND:
        return OpResult(op.key, "deleted")
    if op.kind == "department_delete" and errcode in KEPT_DEPARTMENT:
        failed.message = Text("kept: the department still holds members or sub-departments. " + failed.message,
                              "已保留：该部门仍有成员或子部门。" + failed.message.zh)
    return failed


def _member_read_back(op: Operation, client: WeComClient, failed: OpResult, conflict_hint: bool = False) -> OpResult:
    userid = op.body["userid"]
    try:
        current = client.user_get(userid)
    except WaitCancelled:
        raise  # stopped: neither a success nor a failure, the journal's started mark says to read it back
    except Exception as error:  # noqa: BLE001
        refused = getattr(error, "errcode", None) == codes.DETAIL_READS_REFUSED
        if refused and op.kind == "member_create" and conflict_hint:
            # details cannot be read: our earlier attempt is the likely author; bring it in line with the row
            try:
                client.user_update({k: v for k, v in op.body.items() if k not in ("to_invite",)})
                return OpResult(op.key, op.outcome)
            except WaitCancelled:
                raise
            except Exception as update_error:  # noqa: BLE001
                return OpResult(op.key, FAILED, getattr(update_error, "errcode", None), error_message(update_error))
        return failed
    differing = _differing(op, current)
    if not differing:
        return OpResult(op.key, op.outcome)
    if conflict_hint:
        failed.message = Text(f"a member with userid {userid} already exists with other values "
                              f"({', '.join(differing)}); {failed.message}",
                              f"已有帐号为 {userid} 的成员，但其 {', '.join(differing)} 与表格不同；"
                              f"{failed.message.zh}")
    return failed


def _differing(op: Operation, current: dict[str, Any]) -> list[str]:
    """The fields of a member operation that the member does not hold (private fields read back empty
    are not counted: the secret may not see them)."""
    return [name for name, want in op.body.items()
            if name not in ("userid", "to_invite")
            and not (name in PRIVATE_FIELDS and current.get(name) in (None, "", "0"))
            and not same_value(name, want, current.get(name))]


def _department_read_back(op: Operation, client: WeComClient, failed: OpResult) -> OpResult:
    try:
        current = client.department_get(op.body["id"])
    except WaitCancelled:
        raise
    except Exception:  # noqa: BLE001
        return failed
    if all(same_value(name, want, current.get(name)) for name, want in op.body.items()):
        return OpResult(op.key, op.outcome)
    return failed


def read_back(op: Operation, client: WeComClient) -> OpResult | None:
    """Whether an operation that was sent but never answered (the run was stopped hard) landed: its
    result when the directory shows it done, None when it shows it not done or cannot tell."""
    try:
        if op.kind.startswith("member_"):
            try:
                current = client.user_get(op.body["userid"])
            except Exception as error:  # noqa: BLE001
                gone = getattr(error, "errcode", None) == codes.USERID_NOT_FOUND
                return OpResult(op.key, "deleted") if gone and op.kind == "member_delete" else None
            if op.kind == "member_delete" or _differing(op, current):
                return None
            return OpResult(op.key, op.outcome)
        try:
            current = client.department_get(op.body["id"])
        except Exception as error:  # noqa: BLE001
            gone = getattr(error, "errcode", None) == codes.DEPARTMENT_NOT_FOUND
            return OpResult(op.key, "deleted") if gone and op.kind == "department_delete" else None
        if op.kind == "department_delete":
            return None
        if all(same_value(name, want, current.get(name)) for name, want in op.body.items()):
            return OpResult(op.key, op.outcome)
    except Exception:  # noqa: BLE001 - a read that fails tells nothing
        return None
    return None


def shows_done(op: Operation, directory: Directory) -> bool:
    """Whether a snapshot shows an operation's effect (a resumed `apply` does not send those again)."""
    if op.kind.startswith("member_"):
        current = directory.member(op.body["userid"])
        if op.kind == "member_delete":
            return current is None
        return current is not None and not _differing(op, current)
    department = directory.departments.get(int(op.body.get("id") or 0))
    if op.kind == "department_delete":
        return department is None
    return department is not None and all(same_value(name, want, getattr(department, name, None))
                                          for name, want in op.body.items())


def _batch_delete(chunk: list[Operation], client: WeComClient, recorder: _Recorder) -> None:
    """user/batchdelete a chunk; on 40031 (an id that does not exist) drop the ids that are gone and send the rest."""
    recorder.started([op.key for op in chunk])
    remaining = list(chunk)
    for _attempt in range(3):
        if not remaining:
            return
        try:
            client.user_batchdelete([op.body["userid"] for op in remaining])
            for op in remaining:
                recorder.record(OpResult(op.key, "deleted"))
            return
        except (QuotaBlockedError, WaitCancelled):
            raise  # the run stops; the chunk stays started, read back when the run is sent again
        except Exception as error:  # noqa: BLE001
            errcode = getattr(error, "errcode", None)
            if errcode not in (codes.USERIDS_NOT_FOUND, None, codes.BUSY):
                for op in remaining:
                    recorder.record(OpResult(op.key, FAILED, errcode, error_message(error)))
                return
            # Our own earlier attempt may have landed when its answer was lost: then the ids are gone because
            # of this run. Otherwise they were gone before it, and the row is skipped, not counted as deleted.
            ours = errcode is None or errcode == codes.BUSY or bool(getattr(error, "answer_lost", False))
            still: list[Operation] = []
            for op in remaining:
                gone, problem = _member_gone(op.body["userid"], client)
                if gone and ours:
                    recorder.record(OpResult(op.key, "deleted"))
                elif gone:
                    recorder.record(OpResult(op.key, SKIPPED, None,
                                             Text(f"{op.body['userid']} is not in the directory (already deleted)",
                                                  f"{op.body['userid']} 不在通讯录中（已被删除）")))
                elif problem is not None:
                    recorder.record(OpResult(op.key, FAILED, getattr(problem, "errcode", None), error_message(problem)))
                else:
                    still.append(op)
            remaining = still
    for op in remaining:
        recorder.record(OpResult(op.key, FAILED, None, Text("user/batchdelete kept refusing this chunk",
                                                            "批量删除多次被拒绝")))


def _member_gone(userid: str, client: WeComClient) -> tuple[bool, Exception | None]:
    """Whether a member no longer exists. Where details cannot be read (48009), delete it alone instead."""
    try:
        client.user_get(userid)
        return False, None
    except Exception as error:  # noqa: BLE001
        errcode = getattr(error, "errcode", None)
        if errcode == codes.USERID_NOT_FOUND:
            return True, None
        if errcode == codes.DETAIL_READS_REFUSED:
            try:
                client.user_delete(userid)
                return True, None
            except Exception as delete_error:  # noqa: BLE001
                if getattr(delete_error, "errcode", None) == codes.USERID_NOT_FOUND:
                    return True, None
                return False, delete_error
        return False, error
