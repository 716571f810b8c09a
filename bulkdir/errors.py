"""The exceptions bulkdir raises, in one tree.

    BulkdirError                 a run cannot go on; the CLI prints one line and exits with `exit_status`
    ├── ConfigError              a setting is missing or wrong (exit 2)
    ├── SheetError               a file cannot be read as a spreadsheet (exit 2)
    ├── runlock.RunLockedError   another run holds the corp's lock (exit 75: try again later)
    ├── wecom.directory.IncompleteSnapshotError
    │                            the directory could not be read whole (exit 2); never used
    └── wecom.client.WeComError  the platform answered a non-zero errcode (exit 1), see bulkdir/wecom/client.py

A bad row is never an exception: it is a Problem (bulkdir/problems.py). A failed call during an
import is an OpResult, not an exception that stops the run.
"""

from __future__ import annotations

from enum import IntEnum


class ExitStatus(IntEnum):
    """Process exit codes, the same for every command."""

    OK = 0
    PROBLEMS = 1  # problems found, or operations failed
    USAGE = 2  # usage or configuration error, unreadable file
    TEMPFAIL = 75  # another run holds the corp's lock: try again later (EX_TEMPFAIL, which cron wrappers retry)
    INTERRUPTED = 130


class BulkdirError(Exception):
    """Base of every error bulkdir raises on purpose. Its message is one line a person can act on;
    `message_zh` is the same line in Chinese when there is one (`str()` stays English).

    >>> error = SheetError("staff.xlsx is empty", "staff.xlsx 是空文件")
    >>> str(error), error.message_in("zh")
    ('staff.xlsx is empty', 'staff.xlsx 是空文件')
    """

    exit_status = ExitStatus.PROBLEMS

    def __init__(self, message: str = "", message_zh: str | None = None):
        super().__init__(message)
        self.message_zh = message_zh

    def message_in(self, lang: str) -> str:
        """The message in "zh" when there is a Chinese one, else in English."""
        return self.message_zh if lang == "zh" and self.message_zh else str(self)


class ConfigError(BulkdirError):
    """A setting is missing or invalid. The message names the flag, the variable and the file key."""

    exit_status = ExitStatus.USAGE


class SheetError(BulkdirError):
    """A file cannot be read as a spreadsheet: not a spreadsheet, encrypted, no header row, ..."""

    exit_status = ExitStatus.USAGE
