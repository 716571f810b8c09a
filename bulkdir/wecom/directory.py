"""A snapshot of what the corp holds now: the department tree and every member, fetched the cheapest
way the credentials allow.

    mode "detail"      department/list + user/list (from the root with fetch_child, or department by
                       department when the answer would be too large, 45029) with the contacts-sync secret
    mode "app-secret"  the same reads with the app secret, because the sync secret answered 48009
    mode "ids-only"    department/simplelist + user/list_id (+ user/simplelist for names when allowed):
                       no detail reads are allowed, and `missing` says in words what is absent

Since 2022 new apps get private fields (mobile, email, gender, avatar, address, biz_mail) back empty.
Every member needs a mobile or an email, so when the app secret's answers give neither for every member,
the fields are hidden, not absent: `private_fields_hidden` is set and `missing` says so.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Callable, Collection, Literal

from bulkdir.collector import collector_paused
from bulkdir.errors import IncompleteSnapshotError, WeComError
from bulkdir.wecom import codes
from bulkdir.wecom.client import WeComClient

log = logging.getLogger("bulkdir.wecom")

ROOT_ID = 1
Mode = Literal["detail", "app-secret", "ids-only"]
PRIVATE_FIELDS = ("mobile", "email", "gender", "avatar", "address", "biz_mail")
# Fields of user/list's answer that no column, check or report of bulkdir reads: left out of the
# snapshot, which a corp of 100,000 members would otherwise hold some 60 MB more of (and fewer fields
# make each member's dict smaller).
UNUSED_FIELDS = ("avatar", "thumb_avatar", "qr_code", "open_userid", "external_profile")


@dataclass
class DirDepartment:
    """One department as the corp holds it. `name` is None when it could not be read (ids-only mode);
    `path` holds the names below the root (the root's path is ()), None for an unknown name."""

    id: int
    name: str | None
    parentid: int
    order: int = 0
    name_en: str | None = None
    department_leader: list[str] = field(default_factory=list)
    path: tuple[str | None, ...] = ()


@dataclass
class Directory:
    """The corp's departments and members at one moment.

    >>> directory = fetch_directory(client)
    >>> directory.id_of(("研发中心", "广州"))
    3
    >>> directory.path_of(3)
    ('研发中心', '广州')
    >>> sorted(m["userid"] for m in directory.members_in(2))
    ['lisi', 'zhangsan']
    """

    departments: dict[int, DirDepartment]
    members: dict[str, dict]  # lower-cased userid -> the member object as user/list answers it, but UNUSED_FIELDS
    mode: Mode = "detail"
    missing: list[str] = field(default_factory=list)
    private_fields_hidden: bool = False
    strategy: str = ""  # how the members were read, in words (said with --debug and kept in the journal)
    _ids_by_path: dict[tuple, int] | None = field(default=None, repr=False, compare=False)
    _children: dict[int, list[int]] | None = field(default=None, repr=False, compare=False)
    _custom_fields: dict[str, str] | None = field(default=None, repr=False, compare=False)

    @property
    def root_name(self) -> str | None:
        """The corp's name, as the root department carries it."""
        root = self.departments.get(ROOT_ID)
        return root.name if root else None

    def path_of(self, id: int) -> tuple[str | None, ...] | None:
        """The names below the root leading to department `id`; None for an unknown id."""
        department = self.departments.get(id)
        return department.path if department else None

    def id_of(self, path: tuple[str, ...]) -> int | None:
        """The id of the department at `path` (names below the root); () is the root; None if absent."""
        if self._ids_by_path is None:
            self._ids_by_path = {d.path: d.id for d in self.departments.values() if None not in d.path}
        return self._ids_by_path.get(tuple(path))

    def children_of(self, id: int) -> list[DirDepartment]:
        """The departments directly below `id`, in the platform's order (larger `order` first)."""
        return [self.departments[child] for child in self._children_of().get(id, [])]

    def tree_order(self, top: int = ROOT_ID) -> list[int]:
        """`top` and every department below it, parents first, siblings in the platform's order."""
        children = self._children_of()
        found: list[int] = []
        seen: set[int] = set()
        stack = [top]
        while stack:
            current = stack.pop()
            if current in seen or current not in self.departments:
                continue
            seen.add(current)
            found.append(current)
            stack.extend(reversed(children.get(current, [])))
        return found

    def subtree(self, id: int) -> set[int]:
        """`id` and every department below it."""
        return set(self.tree_order(id))

    def _children_of(self) -> dict[int, list[int]]:
        if self._children is None:
            self._children = {}
            for department in self.departments.values():
                if department.id != department.parentid:
                    self._children.setdefault(department.parentid, []).append(department.id)
            for ids in self._children.values():
                ids.sort(key=lambda i: (-self.departments[i].order, i))
        return self._children

    def members_in(self, department_id: int, recursive: bool = True) -> list[dict]:
        """Members of a department (and, with `recursive`, of those below it), each once."""
        wanted = self.subtree(department_id) if recursive else {department_id}
        return [m for m in self.members.values() if wanted & set(m.get("department") or [])]

    def to_frame(self, kind: Literal["members", "departments"] = "members") -> Any:
        """The members (every field the platform answered but those in UNUSED_FIELDS, which the snapshot
        leaves out: avatar, thumb_avatar, qr_code, open_userid, external_profile) or the departments (id,
        name, parentid, order, path) as a pandas DataFrame.

        >>> directory.to_frame("departments").columns.tolist()    # doctest: +SKIP
        ['id', 'name', 'parentid', 'order', 'path']
        """
        import pandas

        if kind == "departments":
            ordered = [self.departments[i] for i in self.tree_order()]
            rows = [{"id": d.id, "name": d.name, "parentid": d.parentid, "order": d.order,
                     "path": "/".join(str(p) for p in d.path)} for d in ordered]
            return pandas.DataFrame(rows, columns=["id", "name", "parentid", "order", "path"])
        return pandas.DataFrame(list(self.members.values()))

    def custom_fields(self) -> dict[str, str]:
        """The corp's custom fields (自定义字段), name -> "text" | "web", in the platform's order: learned from
        the members, since user/list shows every defined field for each of them (wecom-api.md A8). Empty when
        no member shows any (an empty corp, or ids-only reads).

        >>> Directory({}, {"a": {"extattr": {"attrs": [{"type": 1, "name": "主页", "web": {}}]}}}).custom_fields()
        {'主页': 'web'}
        """
        if self._custom_fields is None:
            found: dict[str, str] = {}
            for member in self.members.values():
                for attr in (member.get("extattr") or {}).get("attrs") or []:
                    if isinstance(attr, dict) and isinstance(attr.get("name"), str):
                        found.setdefault(attr["name"], "web" if attr.get("type") == 1 or "web" in attr else "text")
            self._custom_fields = found
        return dict(self._custom_fields)

    def shows_custom_fields(self) -> bool:
        """Whether `custom_fields()` is the corp's whole set: members read in detail each show every defined
        field, so one that none shows is one the corp does not have. Not so for an empty corp or ids-only reads.

        >>> Directory({}, {"a": {"extattr": {"attrs": []}}}).shows_custom_fields()
        True
        """
        return bool(self.members) and self.mode != "ids-only"

    def member(self, userid: str) -> dict | None:
        """A member by userid, compared without case like the platform."""
        return self.members.get(userid.lower())


Progress = Callable[[int, int], None]  # (departments read, departments to read)


def private_fields_hidden(members: Collection[dict]) -> bool:
    """Whether the platform hides private fields from these answers: every member has a mobile or an
    email, so members that all come back with neither have them hidden (apps created after 2022-06-20).

    >>> private_fields_hidden([{"userid": "zhangsan", "mobile": ""}]), private_fields_hidden([])
    (True, False)
    """
    return bool(members) and not any(m.get("mobile") or m.get("email") for m in members)


# user/list_id is refused to secrets other than the contacts-sync one (48002), or outside the visible range.
_NOT_ALLOWED = frozenset({codes.NOT_ALLOWED, codes.NO_PRIVILEGE})
# Members that list reads left out are looked up one by one (a member deleted while the snapshot was read
# is fine); past this many the snapshot is refused without asking about each.
_RECHECK_AT_MOST = 20


def fetch_directory(client: WeComClient, *, progress: Progress | None = None) -> Directory:
    """Read the corp's departments and members, the cheapest way the credentials allow, and prove the
    member list complete; IncompleteSnapshotError (exit 2) when it is not.

    Where the contacts-sync secret may call user/list_id, one user/list of the whole tree (fetch_child)
    is checked against it; when that read lacks members (the platform ignores fetch_child, 45029, or
    hides members), the members are read department by department and checked again. Without
    user/list_id, the members are read department by department. `strategy` says which was used.

    >>> directory = fetch_directory(WeComClient(settings))
    >>> directory.mode, directory.missing, directory.strategy
    ('detail', [], 'one user/list of the whole tree (fetch_child), checked against user/list_id')
    """
    with collector_paused():
        return _fetch(client, progress)


def _fetch(client: WeComClient, progress: Progress | None) -> Directory:
    try:
        raw_departments = client.department_list()
    except WeComError as error:
        if error.errcode != codes.DETAIL_READS_REFUSED:
            raise
        return _ids_only(client, progress)
    departments = _tree(raw_departments)
    expected = _listed_userids(client)
    members, strategy = _members(client, departments, expected, progress)
    mode: Mode = "app-secret" if client.details_via_app else "detail"
    if expected is not None:
        _check_complete(client, members, expected, mode)
    directory = Directory(departments, members, mode, strategy=strategy)
    log.info("snapshot: %d members, %d departments; %s", len(members), len(departments), strategy)
    if mode == "app-secret" and private_fields_hidden(members.values()):
        directory.private_fields_hidden = True
        directory.missing.append(
            "private fields of every member (mobile, email, gender, avatar, address, biz_mail): the app "
            "secret's answers leave them empty (apps created after 2022-06-20); read them with the "
            "contacts-sync secret from a trusted IP, or leave those columns blank to keep them as they are")
    return directory


def _listed_userids(client: WeComClient) -> dict[str, str] | None:
    """Every member's userid by its lower-cased form, from user/list_id; None where the secret may not call it."""
    try:
        return {_key(row["userid"]): row["userid"] for row in client.user_list_id()}
    except WeComError as error:
        if error.errcode in _NOT_ALLOWED:
            return None
        raise


def _members(client: WeComClient, departments: dict[int, DirDepartment], expected: dict[str, str] | None,
             progress: Progress | None) -> tuple[dict[str, dict], str]:
    """Every member with every field, and in words how they were read."""
    top = ROOT_ID if ROOT_ID in departments else min(departments, default=ROOT_ID)
    visible_tops = [d.id for d in departments.values() if d.parentid not in departments] or [top]
    members: dict[str, dict] = {}
    if expected is None:
        _read_each(client, sorted(departments), members, progress)
        return members, ("department by department (this secret may not call user/list_id, so one "
                         "user/list of the whole tree could not be checked)")
    try:
        for index, department_id in enumerate(visible_tops, 1):
            for member in client.user_list(department_id, fetch_child=True, without=UNUSED_FIELDS):
                members.setdefault(_key(member["userid"]), member)
            if progress:
                progress(index, len(visible_tops))
    except WeComError as error:
        if error.errcode != codes.TOO_LARGE:
            raise
        members.clear()
        _read_each(client, sorted(departments), members, progress)
        return members, ("department by department (one user/list of the whole tree was too large, 45029), "
                         "checked against user/list_id")
    if expected.keys() <= members.keys():
        return members, "one user/list of the whole tree (fetch_child), checked against user/list_id"
    lacking = len(expected.keys() - members.keys())
    log.info("user/list with fetch_child lacks %d of the %d members user/list_id lists: reading department "
             "by department", lacking, len(expected))
    # The tops' own members are in the answer whether or not fetch_child was honoured: not read again.
    _read_each(client, sorted(set(departments) - set(visible_tops)), members, progress)
    return members, (f"department by department (one user/list with fetch_child lacked {lacking} of "
                     f"{len(expected)} members), checked against user/list_id")


def _read_each(client: WeComClient, ids: list[int], members: dict[str, dict], progress: Progress | None) -> None:
    """The own members of each department, read concurrently within the client's rate limit; a member in
    several departments is kept once."""
    done = 0
    with ThreadPoolExecutor(max_workers=max(1, client.settings.workers)) as pool:
        for listed in pool.map(lambda department_id: client.user_list(department_id, without=UNUSED_FIELDS), ids):
            for member in listed:
                members.setdefault(_key(member["userid"]), member)
            done += 1
            if progress:
                progress(done, len(ids))


def _key(userid: str) -> str:
    """The lower-cased userid the snapshot is keyed by: the userid itself when it is lower case already,
    rather than a copy of it for every member (100,000 copies are some 6 MB)."""
    lowered = userid.lower()
    return userid if lowered == userid else lowered


def _check_complete(client: WeComClient, members: dict[str, dict], expected: dict[str, str], mode: Mode) -> None:
    """Refuse a snapshot that lacks members user/list_id names, but for members deleted while it was read."""
    lacking = sorted(expected.keys() - members.keys())
    if not lacking:
        return
    if len(lacking) <= _RECHECK_AT_MOST:
        still = []
        for key in lacking:
            try:
                client.user_get(expected[key])
                still.append(key)
            except WeComError as error:
                if error.errcode != codes.USERID_NOT_FOUND:  # 60111: deleted since user/list_id answered
                    still.append(key)
        lacking = still
        if not lacking:
            return
    shown = ", ".join(expected[key] for key in lacking[:5]) + (" …" if len(lacking) > 5 else "")
    if mode == "app-secret":
        why_en = ("the app secret reads details here (48009 for the contacts-sync secret), and the app's visible "
                  "range (可见范围) does not cover them: widen it to the whole directory")
        why_zh = ("通讯录同步 Secret 无法读取详情（48009），改用应用 Secret 读取，但应用的可见范围未覆盖这些成员："
                  "请将可见范围设为全部通讯录")
    else:
        why_en = ("the platform's list reads (user/list) left them out although user/list_id lists them; "
                  "try again later, and report it if it stays")
        why_zh = "平台的成员列表接口（user/list）漏掉了 user/list_id 列出的成员；请稍后重试，如持续出现请反馈"
    raise IncompleteSnapshotError(
        f"the directory could not be read whole: {len(lacking)} of the {len(expected)} members are missing "
        f"from the snapshot ({shown}); {why_en}. Nothing was changed: a partial snapshot would create members "
        "who exist, miss deletes and write short exports.",
        f"无法完整读取通讯录：{len(expected)} 名成员中有 {len(lacking)} 名未读到（{shown}）；{why_zh}。"
        "未做任何修改：不完整的快照会导致重复创建、漏删和导出不全。")


def _ids_only(client: WeComClient, progress: Progress | None) -> Directory:
    """No detail reads: ids, parents and memberships, plus names where user/simplelist answers."""
    missing = ["department names (department/list answered 48009 to the contacts-sync secret; set an app "
               "secret with --app-secret or BULKDIR_APP_SECRET to read them)"]
    departments = _tree(client.department_simplelist())
    members: dict[str, dict] = {}
    for row in client.user_list_id():
        member = members.setdefault(row["userid"].lower(), {"userid": row["userid"], "department": []})
        if row.get("department") is not None and row["department"] not in member["department"]:
            member["department"].append(row["department"])
    try:
        named = _names(client, departments, members)
        missing.append("member details other than userid, name and departments (mobile, email, "
                       "position, leaders, ...)")
    except WeComError:
        named = 0
        missing.append("member details other than userid and departments (names, mobile, email, "
                       "position, leaders, ...)")
    if progress:
        progress(1, 1)
    strategy = "user/list_id (ids only)" + (f", names from user/simplelist for {named}" if named else "")
    return Directory(departments, members, "ids-only", missing, strategy=strategy)


def _names(client: WeComClient, departments: dict[int, DirDepartment], members: dict[str, dict]) -> int:
    """Names from user/simplelist: of the whole tree at once, or department by department where that
    answer lacks some (the platform may ignore fetch_child). Returns how many members got a name."""
    def take(listed: list[dict]) -> None:
        for row in listed:
            member = members.get(row["userid"].lower())
            if member is not None:
                member["name"] = row.get("name")

    take(client.user_simplelist(ROOT_ID, fetch_child=True))
    if any("name" not in member for member in members.values()):
        with ThreadPoolExecutor(max_workers=max(1, client.settings.workers)) as pool:
            for listed in pool.map(lambda department_id: client.user_simplelist(department_id),
                                   sorted(set(departments) - {ROOT_ID})):
                take(listed)
    return sum("name" in member for member in members.values())


def _tree(raw: list[dict]) -> dict[int, DirDepartment]:
    """Departments by id, each with the path of names from the root."""
    departments = {
        int(d["id"]): DirDepartment(
            id=int(d["id"]), name=d.get("name"), parentid=int(d.get("parentid") or 0),
            order=int(d.get("order") or 0), name_en=d.get("name_en") or None,
            department_leader=list(d.get("department_leader") or []))
        for d in raw
    }
    for department in departments.values():
        names: list[str | None] = []
        current, seen = department, set()
        while current.id != ROOT_ID and current.id not in seen:
            seen.add(current.id)
            names.append(current.name)
            parent = departments.get(current.parentid)
            if parent is None:  # above the app's visible range: the path starts here
                break
            current = parent
        department.path = tuple(reversed(names))
    return departments
