"""Rows without a userid: which member each one is, or the userid a new hire gets.

An HR system's sheet names people by mobile and email; WeCom names members by userid. `identify` settles
every row of a sheet that has no userid, in this order:

1. matched to an existing member by mobile, then by email (the row's email against the members' personal
   email, then their 企业邮箱; the row's 企业邮箱 against theirs), read from the snapshot;
   when the snapshot cannot show those fields (48009 with no app secret, or private fields hidden), looked
   up with user/getuserid and user/get_userid_by_email, never past the platform's limit of failed lookups
   (wecom-api.md A8: more than 20% of the corp's members in a day blocks the API);
2. a match whose name differs from the row's name (or, for a delete, a row without a name), or rows that
   point at two members, or two rows that point at one, are problems: not acted on. A name alone never
   matches;
3. only a row that matches nobody gets a new userid (`UseridMaker`: pinyin of the name, a template, or a
   column such as 工号), numbered past every userid the corp and the sheet already have.

So the same sheet imported twice finds, the second time, the members it created the first time.

    >>> maker = UseridMaker.from_options("pinyin", None)
    >>> rows = [Member(2, {"name": "张伟", "mobile": "13900000001"}), Member(3, {"name": "张伟", "email": "zw@x.cn"})]
    >>> from bulkdir.wecom.directory import Directory
    >>> outcome = identify(rows, Directory({}, {}), maker=maker)
    >>> outcome.found[2], rows[1].values["userid"]
    (Identified(userid='zhangwei', how='made', lookup=False), 'zhangwei2')
"""

from __future__ import annotations

import math
import re
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable, Sequence

from bulkdir.errors import Text, UseridMakerError, WeComError
from bulkdir.fields import MEMBER_LABELS, mobile_key
from bulkdir.schema import Member
from bulkdir.userids import Allocator, UseridError, check_template, pinyin_userid, render_template

if TYPE_CHECKING:  # bulkdir.wecom loads the HTTP client, which validating a sheet does not need
    from bulkdir.wecom.directory import Directory

# how a row was identified -> the words of the plan and the report
HOW_WORDS: dict[str, Text] = {
    "mobile": Text("matched by mobile", "按手机匹配"),
    "email": Text("matched by email", "按邮箱匹配"),
    "biz_mail": Text("matched by 企业邮箱", "按企业邮箱匹配"),
    "userid": Text("matched by userid", "按帐号匹配"),
    "made": Text("new userid", "新建帐号"),
}
# the fields a row is matched by, in the order they are tried, with the lookup's email_type (A8)
MATCH_FIELDS = ("mobile", "email", "biz_mail")
# a row's field -> the members' fields it is compared with, in order: an HR sheet's 邮箱 is often the work address
COMPARED_WITH = {"mobile": ("mobile",), "email": ("email", "biz_mail"), "biz_mail": ("biz_mail",)}
_EMAIL_TYPE = {"email": 2, "biz_mail": 1}
NOT_FOUND = 46004
LOOKUP_APIS = {"mobile": "user/getuserid", "email": "user/get_userid_by_email",
               "biz_mail": "user/get_userid_by_email"}


@dataclass(frozen=True)
class UseridMaker:
    """How new hires get userids: `template` (bulkdir.userids: `{pinyin}`, `{initials}`, `{column:工号}`);
    `numbered` says whether a taken one gets 2, 3, ... (a column's value, `--userid-from`, is never
    changed: a taken one is a problem)."""

    template: str
    numbered: bool = True
    option: str = "--make-userid"

    @classmethod
    def from_options(cls, make_userid: str | None, userid_from: str | None) -> "UseridMaker | None":
        """The maker of `--make-userid pinyin|initials|TEMPLATE` or `--userid-from COLUMN`; None for neither.

        >>> UseridMaker.from_options(None, "工号")
        UseridMaker(template='{column:工号}', numbered=False, option='--userid-from')
        """
        if make_userid and userid_from:
            raise UseridMakerError("give --make-userid or --userid-from, not both",
                                   "--make-userid 与 --userid-from 只能选一个")
        if userid_from:
            if "{" in userid_from or "}" in userid_from:
                raise UseridMakerError(f"--userid-from takes a column's header, not a template: {userid_from!r}",
                                       f"--userid-from 应为列名，而不是模板：{userid_from}")
            return cls("{column:" + userid_from.strip() + "}", numbered=False, option="--userid-from")
        if make_userid:
            words = {"pinyin": "{pinyin}", "initials": "{initials}"}
            return cls(words.get(make_userid.strip().lower(), make_userid.strip()))
        return None

    def columns(self) -> list[str]:
        """The headers the template takes cells from."""
        return re.findall(r"\{column:([^{}]*)\}", self.template)

    def check(self, headers: Sequence[str]) -> None:
        """UseridMakerError when the template cannot work with this sheet's headers."""
        try:
            check_template(self.template, [h.strip() for h in headers])
        except UseridError as error:
            raise UseridMakerError(*_template_words(self.option, self.template, error)) from None

    def base(self, member: Member, cells: dict[str, str]) -> str:
        """The userid the template gives this row (before numbering). UseridError when it gives none."""
        if self.template == "{pinyin}":  # the common case, without the template's machinery
            return pinyin_userid(str(member.values.get("name") or ""))
        return render_template(self.template, str(member.values.get("name") or ""), cells)


def _template_words(option: str, template: str, error: UseridError) -> tuple[str, str]:
    if error.slug == "no-such-column":
        return (f"{option} {template!r} takes column {error.detail!r}, which the sheet does not have",
                f"{option} “{template}”引用的列“{error.detail}”在表格中不存在")
    return (f"{option} {template!r} cannot make userids ({error.slug}: {error.detail!r}); use pieces "
            "{pinyin}, {initials}, {column:HEADER} and letters, digits, _ . @ - between them",
            f"{option} “{template}”无法生成帐号（{error.slug}：{error.detail}）；可用 {{pinyin}}、{{initials}}、"
            "{column:列名} 及字母、数字、_ . @ -")


# ---------------------------------------------------------------------------------------------
# the outcome


@dataclass(frozen=True)
class Identified:
    """Who a row is: the userid, how it was found ("mobile", "email", "biz_mail", "userid", "made"), and
    whether through a lookup call rather than the snapshot."""

    userid: str
    how: str
    lookup: bool = False

    def words(self) -> Text:
        words = HOW_WORDS[self.how]
        if self.lookup:
            return Text(f"{words} (looked up)", f"{words.zh}（接口查询）")
        return words


@dataclass
class Identification:
    """What `identify` settled: rows identified, rows not acted on with the reason, and notes for the plan."""

    found: dict[int, Identified] = field(default_factory=dict)  # spreadsheet row -> who
    problems: dict[int, Text] = field(default_factory=dict)  # spreadsheet row -> why it is not acted on
    unmatched: dict[int, Text] = field(default_factory=dict)  # rows that match nobody (deletes: skipped)
    notes: list[Text] = field(default_factory=list)
    work_mail: set[int] = field(default_factory=set)  # rows whose email is their member's 企业邮箱

    def counts(self) -> dict[str, int]:
        counted: dict[str, int] = {}
        for item in self.found.values():
            counted[item.how] = counted.get(item.how, 0) + 1
        return counted


def identify(members: Sequence[Member], directory: Directory, *, client: Any = None,
             maker: UseridMaker | None = None, cells: Callable[[int], dict[str, str]] | None = None,
             deleting: bool = False, spent: dict[str, int] | None = None,
             taken: Iterable[str] = (), settled: dict[int, Identified] | None = None,
             on_failed_lookup: Callable[[str], None] | None = None) -> Identification:
    """Settle every member row without a userid (see the module's docstring); the found userid is written
    into the row's values, so the planner treats it like a row that had it. `cells(row)` gives a row's
    cells by header, for templates with `{column:...}`; `client` makes the lookups when the snapshot
    cannot show mobiles and emails, `spent` (API -> lookups that found nobody in the last day, by earlier
    runs) what is already gone of their budget, and `on_failed_lookup(api)` is told of each lookup that
    finds nobody as it happens; `taken` the userids of the sheet's rows left out (rows with problems), never
    made for another row; `settled` (row -> who) the rows an interrupted run of the same sheet settled, taken
    as it settled them; `deleting` leaves unmatched rows in `unmatched` instead of making userids or calling
    them problems, and wants a name on each row found by mobile or email."""
    outcome = Identification()
    wanted = [m for m in members if not m.values.get("userid")]
    if not wanted:
        return outcome
    for member in wanted:
        if settled and member.row in settled:
            outcome.found[member.row] = settled[member.row]
    pending = [m for m in wanted if m.row not in outcome.found]
    if maker is not None and not maker.numbered:
        pending = _by_column_userid(pending, directory, maker, cells, outcome)
    if not directory.members:
        unmatched = pending  # an empty corp (or validate's stand-in for one): nobody to match
    elif shows_contacts(directory):
        unmatched = _match_in_snapshot(pending, directory, outcome)
    elif client is not None:
        unmatched = _look_up(pending, directory, client, outcome, spent or {}, on_failed_lookup)
    else:
        unmatched = pending
        outcome.notes.append(Text("Note: the directory does not show mobiles or emails, and no lookups can be made.",
                                  "注意：通讯录中看不到手机和邮箱，且无法调用查询接口。"))
    _check_names(members, directory, outcome, deleting)
    _one_row_per_member(members, outcome)
    rest = [m for m in unmatched if m.row not in outcome.problems]
    if deleting:
        for member in rest:
            outcome.unmatched[member.row] = _matches_nobody(member)
    else:
        _make(rest, members, directory, maker, cells, outcome, taken)
    for member in members:
        found = outcome.found.get(member.row)
        if found is not None and member.row not in outcome.problems:
            member.values["userid"] = found.userid
            if member.row in outcome.work_mail:
                # the address is the member's 企业邮箱: written as the personal email, it would replace that one
                member.values.pop("email", None)
    kept = sorted(row for row in outcome.work_mail if row not in outcome.problems)
    if kept and not deleting:
        shown = ", ".join(map(str, kept[:10])) + (" …" if len(kept) > 10 else "")
        outcome.notes.append(Text(f"Note: rows {shown}: the email (邮箱) is the member's 企业邮箱, so it is not "
                                  "written as the personal email.",
                                  f"注意：第 {shown} 行的邮箱是该成员的企业邮箱，不会写入个人邮箱。"))
    return outcome


def shows_contacts(directory: Directory) -> bool:
    """Whether the snapshot shows the members' mobiles and emails (not with ids only, or private fields hidden)."""
    return directory.mode != "ids-only" and not directory.private_fields_hidden


def _by_column_userid(pending: list[Member], directory: Directory, maker: UseridMaker,
                      cells: Callable[[int], dict[str, str]] | None, outcome: Identification) -> list[Member]:
    """--userid-from: a row whose column value is a member's userid is that member."""
    rest = []
    for member in pending:
        try:
            userid = maker.base(member, cells(member.row) if cells else {})
        except UseridError:
            rest.append(member)  # the problem is told when a userid is made for it
            continue
        if userid.lower() in directory.members:
            outcome.found[member.row] = Identified(directory.members[userid.lower()].get("userid") or userid, "userid")
        else:
            rest.append(member)
    return rest


def _contact(member: Member, name: str) -> str | None:
    value = member.values.get(name)
    if not value:
        return None
    return mobile_key(value) if name == "mobile" else str(value).strip().lower()


def _match_in_snapshot(pending: list[Member], directory: Directory, outcome: Identification) -> list[Member]:
    index: dict[str, dict[str, list[str]]] = {name: {} for name in MATCH_FIELDS}
    for key, held in directory.members.items():
        for name in MATCH_FIELDS:
            value = held.get(name)
            if value:
                shown = mobile_key(value) if name == "mobile" else str(value).strip().lower()
                index[name].setdefault(shown, []).append(held.get("userid") or key)
    unmatched: list[Member] = []
    for member in pending:
        hits: list[tuple[str, str]] = []  # (the member's field, userid)
        work_mail_of: set[str] = set()  # the members whose 企业邮箱 the row's email is
        for name in MATCH_FIELDS:
            value = _contact(member, name)
            if value is None:
                continue
            for against in COMPARED_WITH[name]:
                for userid in index[against].get(value, []):
                    hits.append((against, userid))
                    if name == "email" and against == "biz_mail":
                        work_mail_of.add(userid)
        userids = list(dict.fromkeys(userid for _, userid in hits))
        if not userids:
            unmatched.append(member)
        elif len(userids) > 1:
            outcome.problems[member.row] = _two_members(member, hits)
        else:
            outcome.found[member.row] = Identified(userids[0], hits[0][0])
            if userids[0] in work_mail_of:
                outcome.work_mail.add(member.row)
    return unmatched


def lookup_budget(directory: Directory) -> int:
    """How many lookups may find nobody before the platform blocks the API: 20% of the corp's members, at
    least 1 (A8). bulkdir stops at that number, before the next failure would cross it.

    >>> from bulkdir.wecom.directory import Directory
    >>> lookup_budget(Directory({}, {f"u{i}": {} for i in range(57)}))
    11
    """
    return max(1, math.floor(0.2 * len(directory.members)))


def _look_up(pending: list[Member], directory: Directory, client: Any, outcome: Identification,
             spent: dict[str, int], on_failed_lookup: Callable[[str], None] | None) -> list[Member]:
    """Find the rows' members with the lookup APIs, a few at a time, never letting an API's failed lookups
    pass the budget: a lookup starts only while that API's failures so far plus its lookups in flight are
    below it. A row is new only when every field it has was looked up and found nobody; a row with a field
    left unlooked (the budget spent, or the platform's 45009) stays unmatched and is said to be."""
    from bulkdir.wecom import codes

    whole = lookup_budget(directory)
    failures = dict.fromkeys(set(LOOKUP_APIS.values()), 0)
    budget = {api: max(0, whole - spent.get(api, 0)) for api in failures}
    in_flight = dict.fromkeys(failures, 0)
    closed: set[str] = set()  # APIs at their budget or blocked by the platform
    todo = {m.row: _lookups(m) for m in pending}
    unlooked: set[int] = set()  # rows with a field that could not be looked up
    waiting = list(pending)
    not_found: list[Member] = []
    workers = max(1, int(getattr(client.settings, "workers", 4)))

    def call(held: str, value: str) -> tuple[str | None, int | None]:
        try:
            if held == "mobile":
                return client.user_getuserid(value), None
            return client.user_get_userid_by_email(value, _EMAIL_TYPE[held]), None
        except WeComError as error:
            return None, error.errcode

    with ThreadPoolExecutor(max_workers=workers) as pool:
        running: dict[Future, tuple[Member, str, str, str]] = {}
        while waiting or running:
            still: list[Member] = []
            for member in waiting:
                lookups = todo[member.row]
                while lookups and LOOKUP_APIS[lookups[0][0]] in closed:
                    lookups.pop(0)
                    unlooked.add(member.row)
                if not lookups:
                    if member.row not in unlooked:
                        not_found.append(member)
                    continue
                api = LOOKUP_APIS[lookups[0][0]]
                if len(running) < workers and failures[api] + in_flight[api] < budget[api]:
                    in_flight[api] += 1
                    held, value = lookups.pop(0)
                    running[pool.submit(call, held, value)] = (member, api, held, value)
                else:
                    still.append(member)
            waiting = still
            for api in failures:
                if failures[api] >= budget[api]:
                    closed.add(api)  # spent: the next failure would cross the platform's limit
            if not running:
                continue
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                member, api, held, value = running.pop(future)
                in_flight[api] -= 1
                userid, errcode = future.result()
                if userid:
                    outcome.found[member.row] = Identified(_canonical(directory, userid), held, lookup=True)
                    if held == "biz_mail" and value == str(member.values.get("email") or "").strip():
                        outcome.work_mail.add(member.row)
                    todo[member.row] = []
                    continue
                if errcode == codes.BLOCKED:
                    closed.add(api)  # failures of earlier runs today count too
                    unlooked.add(member.row)
                elif errcode == NOT_FOUND:
                    failures[api] += 1
                    if on_failed_lookup is not None:
                        on_failed_lookup(api)  # kept at once: a run killed now has spent it all the same
                else:
                    outcome.problems[member.row] = Text(
                        f"not matched: a lookup of it was refused (WeCom error {errcode})",
                        f"未匹配：查询被拒绝（企业微信错误 {errcode}）")
                    todo[member.row] = []
                    continue
                waiting.append(member)
    left = sorted(row for row in unlooked if row not in outcome.found and row not in outcome.problems)
    if left:
        earlier = max(spent.values(), default=0)
        already = Text(f" ({earlier} of them by earlier runs in the last day)" if earlier else "",
                       f"（其中 {earlier} 次为过去一天内之前的运行所用）" if earlier else "")
        reason = Text(
            f"not matched: WeCom allows about {whole} failed lookups a day for this corp (20% of its members){already} "
            "and bulkdir stopped before that, so whether this member exists is not known; run again tomorrow, or "
            "set an app secret whose reads show mobiles and emails",
            f"未匹配：企业微信每天只允许约 {whole} 次查询失败（成员数的 20%）{already.zh}，bulkdir 已在此之前停止，"
            "无法确定该成员是否存在；请明天再运行，或设置能读取手机和邮箱的应用 Secret")
        for row in left:
            outcome.problems[row] = reason
        outcome.notes.append(Text(
            f"Note: lookups by mobile and email stopped before the platform's limit of failed lookups ({whole}); "
            f"{len(left)} row(s) were left unmatched and are not imported.",
            f"注意：按手机和邮箱查询已在平台的失败次数限制（{whole}）之前停止；{len(left)} 行未匹配，不会导入。"))
    return [m for m in not_found if m.row not in outcome.found and m.row not in outcome.problems]


def _lookups(member: Member) -> list[tuple[str, str]]:
    """The lookups that may find a row's member, in order: (the member field looked up, the row's value)."""
    lookups: list[tuple[str, str]] = []
    for name in MATCH_FIELDS:
        value = str(member.values.get(name) or "").strip()
        for held in COMPARED_WITH[name] if value else ():
            if not any(h == held and v.lower() == value.lower() for h, v in lookups):  # 邮箱 = 企业邮箱
                lookups.append((held, value))
    return lookups


def _canonical(directory: Directory, userid: str) -> str:
    member = directory.members.get(userid.lower())
    return str(member.get("userid") or userid) if member else userid


def _normal_name(name: Any) -> str:
    return "".join(str(name or "").split()).casefold()


def _check_names(members: Sequence[Member], directory: Directory, outcome: Identification, deleting: bool) -> None:
    """A match whose name differs from the row's is not acted on: the mobile or email may have passed to
    someone else, or the row may be wrong. A delete wants the name: without one, nothing shows it is them."""
    if not outcome.found:
        return  # no row matched or settled (a sheet of new hires, or validating one): none to look at
    for member in members:
        found = outcome.found.get(member.row)
        if found is None or found.how == "made" or member.row in outcome.problems:
            continue
        sheet_name = member.values.get("name")
        have = (directory.members.get(found.userid.lower()) or {}).get("name")
        if deleting and not sheet_name:
            words = HOW_WORDS[found.how]
            outcome.problems[member.row] = Text(
                f"{words} to {found.userid}, but the row has no name (姓名) to confirm it is them; add the name",
                f"{words.zh}到 {found.userid}，但该行没有姓名，无法确认是同一人；请填写姓名")
            continue
        if sheet_name and have and _normal_name(sheet_name) != _normal_name(have):
            words = HOW_WORDS[found.how]
            outcome.problems[member.row] = Text(
                f"{words} to {have} ({found.userid}), whose name is not {sheet_name}: not acted on; correct the "
                "row or the directory",
                f"{words.zh}到 {have}（{found.userid}），但其姓名不是 {sheet_name}：未处理；请改正表格或通讯录")


def _one_row_per_member(members: Sequence[Member], outcome: Identification) -> None:
    """Two rows that are one member: the later one is not acted on."""
    if not outcome.found:
        return  # no row matched or settled, as on a sheet of new hires: none can be another's
    first: dict[str, int] = {}
    for member in members:
        userid = member.values.get("userid")
        if userid:
            first.setdefault(str(userid).lower(), member.row)
    for member in members:
        found = outcome.found.get(member.row)
        if found is None or member.row in outcome.problems:
            continue
        earlier = first.setdefault(found.userid.lower(), member.row)
        if earlier != member.row:
            outcome.problems[member.row] = Text(
                f"is the same member as row {earlier} ({found.userid}, {HOW_WORDS[found.how]}): not acted on",
                f"与第 {earlier} 行是同一成员（{found.userid}，{HOW_WORDS[found.how].zh}）：未处理")


def _two_members(member: Member, hits: list[tuple[str, str]]) -> Text:
    parts = [f"its {name} is {userid}'s" for name, userid in dict((n, u) for n, u in hits).items()]
    parts_zh = [f"{MEMBER_LABELS[name]}属于 {userid}" for name, userid in dict((n, u) for n, u in hits).items()]
    return Text("points at two members (" + ", ".join(parts) + "): not acted on; correct the row",
                "指向两个成员（" + "，".join(parts_zh) + "）：未处理；请改正该行")


def _matches_nobody(member: Member) -> Text:
    given = [f"{name} {member.values[name]}" for name in MATCH_FIELDS if member.values.get(name)]
    given_zh = [f"{MEMBER_LABELS[name]} {member.values[name]}" for name in MATCH_FIELDS if member.values.get(name)]
    return Text("matches no member (" + ", ".join(given) + ")", "没有匹配的成员（" + "，".join(given_zh) + "）")


def _make(rest: Iterable[Member], members: Sequence[Member], directory: Directory, maker: UseridMaker | None,
          cells: Callable[[int], dict[str, str]] | None, outcome: Identification, taken: Iterable[str]) -> None:
    """New userids for the rows that match nobody, in row order, past every userid already taken: the corp's,
    the sheet's and `taken`."""
    rest = list(rest)
    if not rest:
        return
    if maker is None:
        for member in rest:
            outcome.problems[member.row] = Text(
                f"{_matches_nobody(member)} and has no userid: give it one, or choose --make-userid pinyin or "
                "--userid-from COLUMN to create the member",
                f"{_matches_nobody(member).zh}，且没有帐号：请填写帐号，或使用 --make-userid pinyin 或 "
                "--userid-from 列名 新建成员")
        return
    allocator = Allocator(taken=[*directory.members, *taken])
    for member in members:
        if member.values.get("userid"):
            allocator.reserve(str(member.values["userid"]))
    for item in outcome.found.values():
        allocator.reserve(item.userid)
    no_cells: dict[str, str] = {}
    takes_cells = cells is not None and bool(maker.columns())
    for member in rest:
        if not member.values.get("name"):
            outcome.problems[member.row] = Text(
                f"{_matches_nobody(member)}, so it is a new member, and a new member needs a name (姓名)",
                f"{_matches_nobody(member).zh}，因此是新成员，而新成员须填写姓名")
            continue
        try:
            base = maker.base(member, cells(member.row) if takes_cells and cells else no_cells)
            if maker.numbered:
                userid = allocator.take(base, checked=True)
            elif base in allocator:
                outcome.problems[member.row] = Text(
                    f"{maker.option} gives userid {base}, which another row or member already has",
                    f"{maker.option} 得到的帐号 {base} 已被其他行或成员使用")
                continue
            else:
                allocator.reserve(base)
                userid = base
        except UseridError as error:
            outcome.problems[member.row] = cannot_make(error, maker)
            continue
        outcome.found[member.row] = Identified(userid, "made")


_WHY_NOT = {
    "name-not-pinyin": ("the name has characters with no pinyin: {detail}", "姓名中有无法转为拼音的字符：{detail}"),
    "name-empty": ("the name has no letters to make it from", "姓名中没有可用的字符"),
    "userid-too-long": ("it would be longer than 64 characters", "生成的帐号超过 64 个字符"),
    "invalid-userid": ("{detail!r} is not a valid userid", "“{detail}”不是有效的帐号"),
    "empty-column-cell": ("the row's {detail} cell is empty", "该行的“{detail}”为空"),
    "no-such-column": ("the sheet has no {detail} column", "表格没有“{detail}”列"),
    "unknown-template-piece": ("the template has an unknown piece {detail!r}", "模板中有未知的部分“{detail}”"),
}


def cannot_make(error: UseridError, maker: UseridMaker) -> Text:
    """Why no userid could be made for a row, in words."""
    en, zh = _WHY_NOT.get(error.slug, ("{detail}", "{detail}"))
    return Text(f"no userid can be made ({maker.option}): " + en.format(detail=error.detail),
                f"无法生成帐号（{maker.option}）：" + zh.format(detail=error.detail))
