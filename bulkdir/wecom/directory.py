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

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable, Collection, Literal

from bulkdir.wecom.client import WeComClient, WeComError

ROOT_ID = 1
Mode = Literal["detail", "app-secret", "ids-only"]
PRIVATE_FIELDS = ("mobile", "email", "gender", "avatar", "address", "biz_mail")


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
    >>> [m["userid"] for m in directory.members_in(2)]
    ['zhangsan']
    """

    departments: dict[int, DirDepartment]
    members: dict[str, dict]  # lower-cased userid -> the member object as user/list answers it
    mode: Mode = "detail"
    missing: list[str] = field(default_factory=list)
    private_fields_hidden: bool = False
    _ids_by_path: dict[tuple, int] | None = field(default=None, repr=False, compare=False)
    _children: dict[int, list[int]] | None = field(default=None, repr=False, compare=False)

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
        children = [d for d in self.departments.values() if d.parentid == id and d.id != id]
        return sorted(children, key=lambda d: (-d.order, d.id))

    def subtree(self, id: int) -> set[int]:
        """`id` and every department below it."""
        if self._children is None:
            self._children = {}
            for department in self.departments.values():
                self._children.setdefault(department.parentid, []).append(department.id)
        found, todo = set(), [id]
        while todo:
            current = todo.pop()
            if current not in found:
                found.add(current)
                todo.extend(self._children.get(current, []))
        return found

    def members_in(self, department_id: int, recursive: bool = True) -> list[dict]:
        """Members of a department (and, with `recursive`, of those below it), each once."""
        wanted = self.subtree(department_id) if recursive else {department_id}
        return [m for m in self.members.values() if wanted & set(m.get("department") or [])]

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


def fetch_directory(client: WeComClient, *, progress: Progress | None = None) -> Directory:
    """Read the corp's departments and members, the cheapest way the credentials allow.

    >>> directory = fetch_directory(WeComClient(settings))
    >>> directory.mode, directory.missing
    ('detail', [])
    """
    try:
        raw_departments = client.department_list()
    except WeComError as error:
        if error.errcode != 48009:
            raise
        return _ids_only(client, progress)
    departments = _tree(raw_departments)
    members = _members(client, departments, progress)
    mode: Mode = "app-secret" if client.details_via_app else "detail"
    directory = Directory(departments, members, mode)
    if mode == "app-secret" and private_fields_hidden(members.values()):
        directory.private_fields_hidden = True
        directory.missing.append(
            "private fields of every member (mobile, email, gender, avatar, address, biz_mail): the app "
            "secret's answers leave them empty (apps created after 2022-06-20); read them with the "
            "contacts-sync secret from a trusted IP, or leave those columns blank to keep them as they are")
    return directory


def _members(client: WeComClient, departments: dict[int, DirDepartment],
             progress: Progress | None) -> dict[str, dict]:
    """Every member with every field: one user/list of the whole tree, or one per department."""
    top = ROOT_ID if ROOT_ID in departments else min(departments, default=ROOT_ID)
    visible_tops = [d.id for d in departments.values() if d.parentid not in departments] or [top]
    members: dict[str, dict] = {}
    try:
        for index, department_id in enumerate(visible_tops, 1):
            for member in client.user_list(department_id, fetch_child=True):
                members.setdefault(member["userid"].lower(), member)
            if progress:
                progress(index, len(visible_tops))
        return members
    except WeComError as error:
        if error.errcode != 45029:  # the answer would be too large: read department by department
            raise
    members.clear()
    ids = sorted(departments)
    done = 0
    with ThreadPoolExecutor(max_workers=client.settings.workers) as pool:
        for listed in pool.map(lambda department_id: client.user_list(department_id), ids):
            for member in listed:
                members.setdefault(member["userid"].lower(), member)
            done += 1
            if progress:
                progress(done, len(ids))
    return members


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
        for listed in client.user_simplelist(ROOT_ID, fetch_child=True):
            member = members.get(listed["userid"].lower())
            if member is not None:
                member["name"] = listed.get("name")
        missing.append("member details other than userid, name and departments (mobile, email, "
                       "position, leaders, ...)")
    except WeComError:
        missing.append("member details other than userid and departments (names, mobile, email, "
                       "position, leaders, ...)")
    if progress:
        progress(1, 1)
    return Directory(departments, members, "ids-only", missing)


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
