"""The exceptions bulkdir raises, in one tree, and `Text`, the one type of every text in two languages.

    BulkdirError                 a run cannot go on; the CLI prints its message (in --lang) and exits with `exit_status`
    ├── ConfigError              a setting is missing or wrong (exit 2)
    │   ├── MappingError         a column mapping that does not fit: an unknown field, two columns onto one,
    │   │                        a column the sheet lacks (exit 2)
    │   └── UseridMakerError     a --make-userid template or --userid-from column that cannot work (exit 2)
    ├── SheetError               a file cannot be read as a spreadsheet (exit 2)
    ├── RefusedError             the plan is refused before anything is sent: a mass delete past the brake,
    │                            --strict with invalid rows, --delete-missing without a members sheet (exit 2)
    ├── PlanRefusedError         a saved plan changed since it was saved, or not one bulkdir could have planned (exit 2)
    ├── ConflictError            `apply`: the directory changed since the plan was made (exit 1)
    │   └── AlreadyAppliedError  `apply` of a plan whose run already finished (exit 1)
    ├── IncompleteSnapshotError  the directory could not be read whole; the snapshot is never used (exit 2)
    ├── RunLockedError           another run holds the corp's lock (exit 75: try again later)
    ├── ReportInterruptedError   a second Ctrl-C while the report was written (exit 130)
    └── WeComError               the platform answered a non-zero errcode (exit 1; 2 for the setup's codes)
        └── WeComNetworkError    no usable answer after every attempt (timeouts, refused connections, HTTP errors)

A bad row is never an exception: it is a Problem (bulkdir/problems.py). A failed call during an
import is an OpResult, not an exception that stops the run.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any


class ExitStatus(IntEnum):
    """Process exit codes, the same for every command."""

    OK = 0
    PROBLEMS = 1  # problems found, or operations failed
    USAGE = 2  # usage or configuration error, unreadable file
    TEMPFAIL = 75  # another run holds the corp's lock: try again later (EX_TEMPFAIL, which cron wrappers retry)
    INTERRUPTED = 130


class Text(str):
    """Words for a person, in English and Chinese. The string itself is the English, so a Text goes
    wherever text goes (logs, JSON, `in`, ==); `.zh` is the Chinese, and `in_lang(lang)` the one asked for.

    >>> text = Text("staff.xlsx is empty", "staff.xlsx 是空文件")
    >>> text == "staff.xlsx is empty", text.zh, text.in_lang("zh"), Text("only English").in_lang("zh")
    (True, 'staff.xlsx 是空文件', 'staff.xlsx 是空文件', 'only English')
    """

    zh: str

    def __new__(cls, en: str = "", zh: str | None = None) -> "Text":
        text = super().__new__(cls, en)
        text.zh = zh if zh else (en.zh if isinstance(en, Text) else str(en))
        return text

    @property
    def en(self) -> str:
        return str.__str__(self)

    def in_lang(self, lang: str) -> str:
        """The Chinese for "zh", else the English."""
        return self.zh if lang == "zh" else self.en

    def __reduce__(self) -> tuple[Any, ...]:
        return (Text, (self.en, self.zh))


class BulkdirError(Exception):
    """Base of every error bulkdir raises on purpose. Its `message` is one line a person can act on, a Text
    in English and Chinese (`str()` is the English).

    >>> error = SheetError("staff.xlsx is empty", "staff.xlsx 是空文件")
    >>> str(error), error.message.in_lang("zh")
    ('staff.xlsx is empty', 'staff.xlsx 是空文件')
    """

    exit_status = ExitStatus.PROBLEMS

    def __init__(self, message: str = "", message_zh: str | None = None):
        self.message = Text(message, message_zh)
        super().__init__(self.message.en)


class ConfigError(BulkdirError):
    """A setting is missing or invalid. The message names the flag, the variable and the file key."""

    exit_status = ExitStatus.USAGE


class MappingError(ConfigError):
    """A column mapping that cannot be used: an unknown field, two columns onto one field, a column the sheet
    lacks, or a mapping file that cannot be read (bulkdir/mapping.py)."""


class UseridMakerError(ConfigError):
    """A --make-userid template or --userid-from column that cannot work for this sheet (bulkdir/matching.py)."""


class SheetError(BulkdirError):
    """A file cannot be read as a spreadsheet. `slug` says why, as a Problem's type would (`empty-file`,
    `not-a-spreadsheet`, `encrypted`, `no-header-row`, `too-large`, `not-a-file`, `no-such-file`, ...), so
    that `validate --json` can answer with a document even for a file it cannot read."""

    exit_status = ExitStatus.USAGE

    def __init__(self, message: str = "", message_zh: str | None = None, *, slug: str = "unreadable-file"):
        super().__init__(message, message_zh)
        self.slug = slug


class RefusedError(BulkdirError):
    """The plan is refused before anything is sent (mass delete, --strict with invalid rows, ...)."""

    exit_status = ExitStatus.USAGE


class PlanRefusedError(BulkdirError):
    """A saved plan that `apply` will not run: changed after it was saved, or not one bulkdir wrote."""

    exit_status = ExitStatus.USAGE


class ConflictError(BulkdirError):
    """`bulkdir apply`: the directory changed since the plan was made, in a way the plan would overwrite."""

    exit_status = ExitStatus.PROBLEMS


class AlreadyAppliedError(ConflictError):
    """`bulkdir apply` of a plan whose run already finished: applying it again would meet its own work."""


class IncompleteSnapshotError(BulkdirError):
    """The directory could not be read whole: list reads left out members that user/list_id names.

    A snapshot that lacks members would turn into creates of members who exist, deletes that are
    missed and exports that are silently short, so it is never used.
    """

    exit_status = ExitStatus.USAGE


class RunLockedError(BulkdirError):
    """Another run holds the corp's lock (exit 75: try again later)."""

    exit_status = ExitStatus.TEMPFAIL


class ReportInterruptedError(BulkdirError):
    """A second Ctrl-C while the report was written: the run stopped without it (exit 130)."""

    exit_status = ExitStatus.INTERRUPTED


class WeComError(BulkdirError):
    """The platform answered a non-zero errcode. `str()` is one line with the English hint, no secret;
    `hint` is a Text (bulkdir/wecom/codes.py has one per documented code).

    >>> error = WeComError(60104, "mobile existed:zhangsan", "user/create")
    >>> error.errcode, error.hint, error.hint.zh
    (60104, 'Another member already has this mobile: zhangsan.', '该手机号已被其他成员使用：zhangsan。')
    """

    def __init__(self, errcode: int | None, errmsg: str, api: str, *, hint: Text | None = None,
                 attempts: int = 1, answer_lost: bool = False) -> None:
        if hint is None and errcode is not None:
            from bulkdir.wecom.codes import hint_for  # the catalogue of codes is the wecom package's

            hint = hint_for(errcode, errmsg)
        self.errcode = errcode
        self.errmsg = errmsg
        self.api = api
        self.hint = hint or Text("")
        self.attempts = attempts
        # An earlier attempt of this call got no answer, so it may have been applied: a create that now
        # answers 60102 or a delete that answers 60111 may be this call's own earlier attempt.
        self.answer_lost = answer_lost
        super().__init__(*self._line())

    def _line(self) -> tuple[str, str]:
        short = self.errmsg.split(", hint:")[0].strip() or "no message"  # the tail repeats what the hint says
        return (f"{self.api}: WeCom error {self.errcode} ({short}). {self.hint}",
                f"{self.api}：企业微信错误 {self.errcode}（{short}）。{self.hint.zh}")

    @property
    def exit_status(self) -> ExitStatus:  # type: ignore[override]
        """2 for a wrong corp id, secret or IP (the setup is wrong), else 1."""
        from bulkdir.wecom.codes import CONFIGURATION

        return ExitStatus.USAGE if self.errcode in CONFIGURATION else ExitStatus.PROBLEMS

    def __repr__(self) -> str:
        return f"{type(self).__name__}(errcode={self.errcode!r}, api={self.api!r}, errmsg={self.errmsg!r})"

    def __reduce__(self) -> tuple[Any, ...]:  # picklable across process pools, keeping every field
        return (_rebuild_error, (type(self), self.__dict__.copy()))


class WeComNetworkError(WeComError):
    """No usable answer after every attempt: timeouts, refused or dropped connections, HTTP errors."""

    def _line(self) -> tuple[str, str]:
        return (f"{self.api}: no answer from WeCom ({self.errmsg}). {self.hint}",
                f"{self.api}：企业微信没有可用的应答（{self.errmsg}）。{self.hint.zh}")


class QuotaBlockedError(WeComError):
    """An API WeCom keeps refusing (45009) longer than a run may wait for it (`max_wait`); `hourly` when it
    was still refused after a minute's block had ended, so its hourly quota is used up. A run stops on it as
    Ctrl-C stops it (journalled, the report written) and goes on when run again; `free_at` is when the API
    should be free again (`HH:MM`, local time)."""

    def __init__(self, api: str, errmsg: str, *, waited: float, max_wait: float, free_at: str,
                 hourly: bool) -> None:
        self.waited, self.max_wait, self.free_at, self.hourly = waited, max_wait, free_at, hourly
        super().__init__(45009, errmsg, api)

    def _line(self) -> tuple[str, str]:
        waited, allowed = _duration(self.waited), _duration(self.max_wait)
        why = ("; its hourly quota is used up", "：该接口每小时的调用额度已用完") if self.hourly else ("", "")
        return (f"{self.api} is blocked by WeCom (45009): refused for {waited}, past the {allowed} a run may wait "
                f"(--max-wait){why[0]}. It should be free again by {self.free_at}; run the same command again "
                "then to go on (finished rows are not repeated).",
                f"{self.api} 被企业微信限制调用（45009）：已持续 {waited}，超过运行可等待的 {allowed}（--max-wait）"
                f"{why[1]}。预计 {self.free_at} 前恢复；届时再次运行同一命令即可继续（已完成的行不会重复）。")

    @property
    def exit_status(self) -> ExitStatus:  # type: ignore[override]
        return ExitStatus.TEMPFAIL  # try again later, as for a corp another run holds


def _duration(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds >= 120 else f"{seconds:.0f} s"


def _rebuild_error(cls: type[WeComError], state: dict[str, Any]) -> WeComError:
    error = cls.__new__(cls)
    error.__dict__.update(state)
    Exception.__init__(error, state["message"].en)
    return error
