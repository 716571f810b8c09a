"""The thread that runs the async batch import's jobs (wecom-api.md A9) in the background.

Jobs run one at a time, in submission order, at `batch_rows_per_second` rows a second (read at
every step, so POST /_emulator/faults changes the pace of a running job), so that a client can watch
a job's progress. The rules of a job's rows are the corp's (models.py `Corp.run_batch_rows`); this only
paces them. The runner starts with the server and picks up the jobs a restarted emulator had (`db`).
"""

from __future__ import annotations

import threading
import time

from bulkdir.emulator.models import Corp
from bulkdir.emulator.options import EmulatorOptions

STEP_SECONDS = 0.01  # the wait between steps while the pace allows no row yet, and while idle
MAX_ROWS_PER_STEP = 500  # rows run under the corp's lock at once, so that other calls are not held up


class JobRunner:
    """Runs queued batch jobs in a background thread until `stop`.

    Example:
        >>> options = EmulatorOptions()
        >>> runner = JobRunner(Corp(options), options).start()
        >>> runner.stop()
    """

    def __init__(self, corp: Corp, options: EmulatorOptions):
        self.corp = corp
        self.options = options
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="bulkdir-emulator-jobs", daemon=True)

    def start(self) -> JobRunner:
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stops after the step in progress (whose rows are stored whole); the job goes on at a restart."""
        self._stopping.set()
        if self._thread.is_alive():
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stopping.is_set():
            jobid = self.corp.next_batch_job()
            if jobid is None:
                self._stopping.wait(STEP_SECONDS)
            else:
                self._run_job(jobid)

    def _run_job(self, jobid: str) -> None:
        # A token bucket: rows are earned at the pace, at most a step's worth kept, and spent a step at a time.
        earned, last = 0.0, time.monotonic()
        while not self._stopping.is_set():
            now = time.monotonic()
            pace = self.options.batch_rows_per_second
            earned = min(earned + (now - last) * pace, MAX_ROWS_PER_STEP) if pace else MAX_ROWS_PER_STEP
            last = now
            if earned < 1:
                self._stopping.wait(STEP_SECONDS)
                continue
            ran = self.corp.run_batch_rows(jobid, int(earned))
            if not ran:  # done, or gone with a reset
                return
            earned -= ran
