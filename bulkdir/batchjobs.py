"""The platform's async batch import (wecom-api.md A6, A9), for the member writes of a large import.

Per call, 100,000 creates take from ten minutes to an hour at the platform's per-minute limits, and can
spend an API's hourly quota. The platform has its own engine for this: a CSV file uploaded with
media/upload, one batch/syncuser job, a result per row. Only writes whose result does not depend on
what the platform does with a blank cell go in a file (`batch_safe`): a member in the file is created
or has the columns present updated, and a blank cell leaves its field as it is, so a write meant to
clear a field, and fields the file has no column for, go through the per-call path after the job.

A job is journalled as soon as its jobid is known and is followed to its end, never submitted twice: a
run stopped during a job (Ctrl-C, kill -9) leaves it in the journal, and the next import on the corp
follows it first (`finish_pending_jobs`), before it reads the directory. A job whose result the platform
no longer keeps (40089: only the latest 5 are kept) is judged by reading each member back.
"""

from __future__ import annotations

import csv
import io
import logging
import threading
import time
from typing import TYPE_CHECKING, Any, Callable, Iterable

from bulkdir.errors import Text, WeComError
from bulkdir.executor import FAILED, SKIPPED, OpResult, read_back
from bulkdir.plan import Operation
from bulkdir.wecom import codes

if TYPE_CHECKING:
    from bulkdir.journal import Journal
    from bulkdir.wecom.client import WeComClient

log = logging.getLogger("bulkdir.batch")

# The member file's columns (A6) and the user/create field each carries, 帐号 (the key) first.
COLUMNS: list[tuple[str, str]] = [
    ("帐号", "userid"), ("姓名", "name"), ("手机号", "mobile"), ("邮箱", "email"), ("所在部门", "department"),
    ("职位", "position"), ("性别", "gender"), ("是否部门内领导", "is_leader_in_dept"), ("排序", "order"),
    ("别名", "alias"), ("地址", "address"), ("座机", "telephone"), ("禁用", "enable")]
_CARRIED = {name for _, name in COLUMNS}
_PER_DEPARTMENT = ("is_leader_in_dept", "order")  # one value per department of 所在部门
MAX_FILE_BYTES = 20 * 2**20  # the platform's cap on an uploaded file
DEFAULT_THRESHOLD = 2000  # `auto`: the batch path from this many batch-safe member writes
POLL_SECONDS = 1.0
GONE = (codes.JOB_NOT_FOUND, codes.JOB_RESULT_GONE)  # 40088 unknown jobid, 40089 result no longer kept

Recorder = Any  # the executor's _Recorder: journals results and tells the progress callback


def batch_safe(op: Operation, leaders: set[str]) -> bool:
    """Whether a member write has the same result in a batch file as per call: a create or update of
    fields the file carries, none of them blank (a blank cell leaves a field as it is, so a clear would
    not clear), no invitation, and not a member that other rows of the run name as their leader. A main
    department is carried only as a new member's only department (an update that moves it goes per call),
    and an update that could create the member (姓名 with 手机号 or 邮箱) goes per call too, where a member
    deleted since the snapshot fails instead of coming back."""
    if op.kind not in ("member_create", "member_update"):
        return False
    body = op.body
    if body.get("to_invite"):
        return False
    for name, value in body.items():
        if name == "to_invite":
            continue
        if name == "main_department" and op.kind == "member_create" and value == (body.get("department") or [None])[0]:
            continue  # a new member's main department is the first of 所在部门
        if name not in _CARRIED or _blank(value):
            return False
    if any(name in body for name in _PER_DEPARTMENT) and "department" not in body:
        return False  # their values belong to the departments in the same row
    if op.kind == "member_create" and len(body.get("department") or []) > 1:
        return False  # the file has no column for the main department: with several, which one is left open
    if op.kind == "member_update" and "name" in body and ("mobile" in body or "email" in body):
        return False  # a row that could create the member: one deleted since the snapshot would come back
    return not (op.kind == "member_create" and str(body["userid"]).lower() in leaders)


def _blank(value: Any) -> bool:
    if isinstance(value, list):
        return not value
    return value is None or str(value).strip() == ""


def leaders_of(operations: Iterable[Operation]) -> set[str]:
    """The userids the run's rows name as a direct leader (their links follow the members' writes)."""
    return {str(userid).lower() for op in operations for userid in op.body.get("direct_leader") or []}


def _cell(name: str, value: Any) -> str:
    if name == "enable":
        return "0" if int(value) else "1"  # the file says 禁用 (disabled): 1 is enable 0
    if isinstance(value, list):
        return ";".join(str(int(v)) if isinstance(v, bool) else str(v) for v in value)
    return str(value)


def batch_files(operations: list[Operation], max_bytes: int = MAX_FILE_BYTES) -> list[tuple[list[Operation], bytes]]:
    """The operations in UTF-8 CSV files of the platform's layout, each at most `max_bytes`, in plan order:
    (the operations of a file, in its row order; the file)."""
    used = {name for op in operations for name in op.body}
    columns = [(header, name) for header, name in COLUMNS if name in used]

    def line(cells: list[str]) -> bytes:
        buffer = io.StringIO()
        csv.writer(buffer, lineterminator="\r\n").writerow(cells)
        return buffer.getvalue().encode("utf-8")

    header = line([title for title, _ in columns])
    files: list[tuple[list[Operation], bytes]] = []
    chunk: list[Operation] = []
    lines: list[bytes] = []
    size = len(header)
    for op in operations:
        row = line([_cell(name, op.body[name]) if name in op.body else "" for _, name in columns])
        if chunk and size + len(row) > max_bytes:
            files.append((chunk, header + b"".join(lines)))
            chunk, lines, size = [], [], len(header)
        chunk.append(op)
        lines.append(row)
        size += len(row)
    if chunk:
        files.append((chunk, header + b"".join(lines)))
    return files


def run_jobs(operations: list[Operation], client: WeComClient, recorder: Recorder, stop: threading.Event, *,
             max_bytes: int = MAX_FILE_BYTES, poll: float = POLL_SECONDS) -> None:
    """Send the operations as batch jobs, one file at a time (each job's result is read before the next is
    submitted, so none is lost to the platform keeping only the latest 5), and record a result for each.
    Once `stop` is set no new job starts, and the job in progress is left to the next run to follow."""
    for number, (chunk, data) in enumerate(batch_files(operations, max_bytes), start=1):
        if stop.is_set():
            return
        keys = [op.key for op in chunk]
        recorder.started(keys)
        try:
            media_id = client.media_upload(data, f"bulkdir-{recorder.run_id or 'run'}-{number}.csv")
            jobid = client.batch_syncuser(media_id)
        except Exception:
            # refused or unanswered before a jobid: the rows are not done (a rerun plans them again), and are
            # not read back one by one for the report
            recorder.record_all([OpResult(op.key, SKIPPED, None, _NOT_SENT) for op in chunk])
            raise
        if recorder.journal is not None and recorder.run_id is not None:
            recorder.journal.note_job(recorder.run_id, jobid, keys, client.settings.corp_id or "", client.endpoint)
        log.info("batch job %s: %d members (file %d, %d bytes)", jobid, len(chunk), number, len(data))
        size = len(chunk)

        def along(share: float) -> None:
            recorder.partly(size * share)

        results = follow_job(jobid, chunk, client, stop, poll, along)
        if results is None:  # stopped while the job runs: the next run follows it
            return
        recorder.record_all(results)
        if recorder.journal is not None and recorder.run_id is not None:
            recorder.journal.job_done(recorder.run_id, jobid)


def follow_job(jobid: str, chunk: list[Operation], client: WeComClient, stop: threading.Event | None = None,
               poll: float = POLL_SECONDS, progress: Callable[[float], None] | None = None) -> list[OpResult] | None:
    """Poll a job until it is done and map its per-row results back to the operations (None when `stop` was
    set first). A job whose result is gone (40088, 40089) is judged by reading each member back."""
    while True:
        try:
            answer = client.batch_getresult(jobid)
        except WeComError as error:
            if error.errcode not in GONE:
                raise
            log.warning("batch job %s: its result is no longer kept (%s); reading the members back", jobid,
                        error.errcode)
            return [read_back(op, client) or OpResult(op.key, FAILED, error.errcode, _gone_message(jobid))
                    for op in chunk]
        if int(answer.get("status") or 0) == 3:
            break
        if progress is not None:
            progress(min(1.0, float(answer.get("percentage") or 0) / 100))
        if stop is not None and stop.wait(poll):
            return None
        if stop is None:
            time.sleep(poll)
    by_userid: dict[str, dict] = {}
    for row in answer.get("result") or []:
        by_userid.setdefault(str(row.get("userid", "")).lower(), row)
    results: list[OpResult] = []
    for op in chunk:
        row = by_userid.get(str(op.body["userid"]).lower())
        if row is None:
            results.append(read_back(op, client) or OpResult(op.key, FAILED, None, _gone_message(jobid)))
        elif int(row.get("errcode") or 0) == 0:
            results.append(OpResult(op.key, op.outcome))
        else:
            refused = WeComError(int(row["errcode"]), str(row.get("errmsg") or ""), "batch/syncuser")
            results.append(OpResult(op.key, FAILED, refused.errcode, refused.message))
    return results


_NOT_SENT = Text("not done: the batch file could not be submitted; run the same command again to send it",
                 "未完成：批量文件未能提交；再次运行同一命令即可重新发送")


def _gone_message(jobid: str) -> Text:
    return Text(f"batch job {jobid} gave no result for this member, and the directory does not show the write "
                "done: run the same command again to send it",
                f"批量任务 {jobid} 未给出该成员的结果，通讯录中也未见写入：请再次运行同一命令重新发送")


def finish_pending_jobs(journal: Journal, client: WeComClient, poll: float = POLL_SECONDS) -> int:
    """Follow to its end every job an earlier run on this corp left running (stopped or killed during it),
    recording its rows' results in that run's journal, before anything reads the directory. How many."""
    pending = journal.pending_jobs(client.settings.corp_id or "", client.endpoint)
    for run_id, jobid, keys in pending:
        records = journal.operations(run_id)
        chunk = [Operation(key, records[key].kind, 1, records[key].target or "", records[key].body)
                 for key in keys if key in records]
        log.info("following batch job %s of run %s (%d members) before reading the directory", jobid, run_id,
                 len(chunk))
        for result in follow_job(jobid, chunk, client, None, poll) or []:
            journal.mark_done(run_id, result.key, result.outcome, result.errcode, result.message)
        journal.job_done(run_id, jobid)
    return len(pending)
