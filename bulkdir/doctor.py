"""`bulkdir doctor`: check the configuration end to end, without changing the directory.

    credentials     gettoken with the contacts-sync secret (and the app secret, when set)
    writes          whether the contacts-sync secret may write (48002 when it is in fact an app secret)
    detail reads    whether member and department details can be read: with the sync secret, or, after
                    48009 (a new IP since 2022-08-15), with the app secret
    private fields  whether mobile and email come back (the 2022 change empties them for new apps)
    rate, workers   what the client is configured for
    round trip      the fastest of three small calls

An import can run when the credentials work, the sync secret may write and details can be read.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from itertools import islice
from typing import Literal

from bulkdir.errors import Text, WeComError
from bulkdir.wecom import codes
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.directory import private_fields_hidden

Status = Literal["ok", "warn", "fail", "info"]


@dataclass
class Check:
    """One line of the doctor's table, and what to do when it is not ok (English and Chinese)."""

    name: str
    status: Status
    result: str
    fix: Text = field(default_factory=Text)


@dataclass
class DoctorReport:
    checks: list[Check] = field(default_factory=list)

    @property
    def ready(self) -> bool:
        """True when an import can run: no check failed."""
        return all(check.status != "fail" for check in self.checks)

    def to_dict(self) -> dict:
        """The `bulkdir doctor --json` document; each fix in both languages."""
        return {"ready": self.ready, "checks": [{**asdict(check), "fix": check.fix.en, "fix_zh": check.fix.zh}
                                                for check in self.checks]}


def run_doctor(client: WeComClient) -> DoctorReport:
    """Check what `client`'s settings allow; change nothing in the directory.

    >>> report = run_doctor(WeComClient(settings))
    >>> report.ready, [c.status for c in report.checks]
    (True, ['ok', 'ok', 'ok', 'ok', 'ok', 'info', 'info'])
    """
    report = DoctorReport()
    add = report.checks.append
    settings = client.settings

    started = time.perf_counter()
    try:
        client.gettoken("sync")
    except WeComError as error:
        result = (f"contacts-sync secret refused ({_code(error)})" if error.errcode is not None
                  else f"no answer from {settings.base_url} ({error.errmsg})")
        add(Check("credentials", "fail", result, error.hint))
        return report
    add(Check("credentials", "ok", f"corp {settings.corp_id}: the contacts-sync secret gets a token "
                                   f"({_ms(time.perf_counter() - started)})"))

    app_ok = False
    if settings.app_secret:
        try:
            client.gettoken("app")
            app_ok = True
            add(Check("app secret", "ok", "the app secret gets a token"))
        except WeComError as error:
            add(Check("app secret", "fail", f"app secret refused ({_code(error)})", error.hint))
    else:
        add(Check("app secret", "info", "not set (needed only when detail reads answer 48009)"))

    # Writes are checked with a department/update of the root that names no field to change: the
    # platform checks the secret's right to write (48002) before anything else, and an update changes
    # only the fields it is given, so nothing in the directory changes (not even the root's name, which
    # a rename to "the current name" could get wrong if the name were read stale or with the app secret).
    try:
        client.department_update({"id": 1})
        add(Check("writes", "ok", "the contacts-sync secret may create, change and delete"))
    except WeComError as error:
        if error.errcode == codes.NOT_ALLOWED:
            add(Check("writes", "fail", "refused (48002): this secret only reads", error.hint))
        else:
            add(Check("writes", "fail", f"refused ({_code(error)})", error.hint))

    reader: Literal["sync", "app"] | None = None
    try:
        client.department_get(1, secret="sync")
        reader = "sync"
        add(Check("detail reads", "ok", "allowed with the contacts-sync secret"))
    except WeComError as error:
        if error.errcode != codes.DETAIL_READS_REFUSED:
            add(Check("detail reads", "fail", f"refused ({_code(error)})", error.hint))
        elif app_ok:
            try:
                client.department_get(1, secret="app")
                reader = "app"
                add(Check("detail reads", "ok", "48009 for the contacts-sync secret (a new IP); "
                                                "the app secret reads details instead"))
            except WeComError as app_error:
                add(Check("detail reads", "fail", f"48009, and the app secret is refused ({_code(app_error)})",
                          app_error.hint))
        else:
            add(Check("detail reads", "fail", "48009: the contacts-sync secret may not read details from this IP",
                      error.hint))

    if reader is not None:
        add(_private_fields(client, reader))

    add(Check("rate", "info", f"{settings.rate:,} calls per minute per API, {settings.workers} workers, "
                              f"timeout {settings.timeout:g} s"))
    times = []
    for _ in range(3):
        started = time.perf_counter()
        try:
            client.department_simplelist(1)
        except WeComError:
            break
        times.append(time.perf_counter() - started)
    add(Check("round trip", "info", _ms(min(times)) if times else "not measured (department/simplelist failed)"))
    return report


def _private_fields(client: WeComClient, reader: Literal["sync", "app"]) -> Check:
    """Read a few members' details with the secret that may, and see whether mobile and email came back."""
    try:
        userids = list(dict.fromkeys(row["userid"] for row in islice(client.user_list_id(limit=100), 100)))[:5]
        members = [client.user_get(userid, secret=reader) for userid in userids]
    except WeComError as error:
        return Check("private fields", "warn", f"not checked ({_code(error)})", error.hint)
    if not members:
        return Check("private fields", "info", "no members yet: cannot tell whether mobile and email come back")
    if not private_fields_hidden(members):
        return Check("private fields", "ok", "mobile and email come back")
    return Check(
        "private fields", "warn",
        f"hidden: mobile and email come back empty for {len(members)} of {len(members)} members read",
        Text("Apps created after 2022-06-20 get mobile, email, gender, avatar and address back empty. The import "
             "still writes them, but cannot compare them with the sheet; run from an IP where the contacts-sync "
             "secret may read details (add it to 企业可信IP) to see them.",
             "2022-06-20 之后创建的应用读取不到手机、邮箱、性别、头像和地址。导入仍可写入这些字段，但无法与表格比对；"
             "如需读取，请在通讯录同步 Secret 可读取详情的 IP 上运行（将其加入企业可信IP）。"))


def _code(error: WeComError) -> str:
    return f"error {error.errcode}" if error.errcode is not None else error.errmsg


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
