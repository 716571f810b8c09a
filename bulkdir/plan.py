"""Compare sheet records with a Directory snapshot and produce the ordered Operations of an import.

    sheet records (Member, Department) + Directory snapshot ──► Plan
        Plan.operations   what to send, in phases: departments (parents first), members (create and
                          update, concurrently), leader links, member deletes, department deletes
        Plan.unchanged    rows that need no call
        Plan.invalid      rows that will not be imported, with their Problems

Every Operation carries a `key` that stays the same when the same sheet is planned again against a
later snapshot ("member:zhangsan", "department:研发中心/广州"): the journal matches operations of an
interrupted run with the new plan through it. New departments get their ids here (the sheet's id, or
the next free one), so a plan is complete before anything is sent and can be saved and applied later.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Iterable, Sequence

from bulkdir.errors import RefusedError, Text
from bulkdir.fields import PRIVATE_FIELDS, ROOT_ID, mobile_key
from bulkdir.mapping import EXTATTR
from bulkdir.parsers import custom_value_text, path_text
from bulkdir.wecom.directory import Directory

# Phases, run in this order. Departments must exist before members enter them; members leave a
# department before it is deleted; deletes come last so nothing needed by a later step is gone.
PHASE_DEPARTMENTS = 0
PHASE_MEMBERS = 1
PHASE_LEADERS = 2
PHASE_DELETES = 3
PHASE_PRUNE = 4

LIST_FIELDS = ("direct_leader", "order", "is_leader_in_dept", "department")
# operation kind -> the result word its rows get when it succeeds
OUTCOME = {"department_create": "created", "department_update": "updated", "department_delete": "deleted",
           "member_create": "created", "member_update": "updated", "member_leaders": "updated",
           "member_delete": "deleted", "member_disable": "disabled"}


@dataclass
class Operation:
    """One call (or one member's share of a batch call) of the import.

    `rows` are ("members" | "departments" | "deletes", spreadsheet row) pairs the result belongs to;
    `needs` are keys of operations that must succeed first; `before` is what the target looked like
    when planned (compared again by `bulkdir apply`).
    """

    key: str
    kind: str  # department_create | department_update | member_create | member_update
    #            | member_leaders | member_delete | member_disable | department_delete
    phase: int
    target: str
    body: dict[str, Any]
    rows: list[tuple[str, int]] = field(default_factory=list)
    needs: list[str] = field(default_factory=list)
    before: dict[str, Any] | None = None
    depth: int = 0

    @property
    def outcome(self) -> str:
        """The result word this operation gives its rows when it succeeds."""
        return OUTCOME[self.kind]

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["rows"] = [list(r) for r in self.rows]
        return data

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Operation":
        data = dict(data)
        data["rows"] = [tuple(r) for r in data.get("rows", [])]
        return cls(**data)


@dataclass
class Unchanged:
    """A sheet row whose member or department already matches: no call."""

    key: str
    target: str
    rows: list[tuple[str, int]]


@dataclass
class Plan:
    """The ordered operations of an import and what the sheet's rows will get."""

    operations: list[Operation] = field(default_factory=list)
    unchanged: list[Unchanged] = field(default_factory=list)
    # row ref -> one-line reason; rows that are not imported (result `invalid`)
    invalid: dict[tuple[str, int], str] = field(default_factory=dict)
    # rows whose target is absent and nothing needs doing (a delete of a userid not in the directory)
    skipped: dict[tuple[str, int], str] = field(default_factory=dict)
    skipped_targets: dict[tuple[str, int], str] = field(default_factory=dict)  # row -> userid
    notes: list[Text] = field(default_factory=list)
    mode: str = "detail"
    delete_scope: int | None = None  # members in scope of --delete-missing when planned (for apply's brake)
    # rows without a userid -> (userid, how: "mobile" | "email" | "biz_mail" | "userid" | "made", by lookup)
    identities: dict[tuple[str, int], tuple[str, str, bool]] = field(default_factory=dict)

    def ordered(self) -> list[Operation]:
        """Operations in the order they must start: by phase; departments parents first; prunes children first."""
        def sort_key(op: Operation) -> tuple[int, int]:
            depth = -op.depth if op.phase == PHASE_PRUNE else op.depth
            return (op.phase, depth)
        return sorted(self.operations, key=sort_key)

    def counts(self) -> dict[str, int]:
        """How many of each kind, e.g. {"member_create": 3, "member_unchanged": 2, ...}."""
        counts: dict[str, int] = {}
        for op in self.operations:
            counts[op.kind] = counts.get(op.kind, 0) + 1
        for item in self.unchanged:
            kind = "department_unchanged" if item.key.startswith("department:") else "member_unchanged"
            counts[kind] = counts.get(kind, 0) + 1
        return counts

    def summary_lines(self, first: int = 5, lang: str = "en") -> list[str]:
        """The plan in words for a person: counts per kind and the first targets of each; the reasons and
        notes in `lang`."""
        counts = self.counts()
        zh = lang == "zh"
        c = {kind: counts.get(kind, 0) for kind in ("department_create", "department_update", "department_unchanged",
                                                    "department_delete", "member_create", "member_update",
                                                    "member_unchanged", "member_delete", "member_disable")}
        if zh:
            lines = ["部门：新建 {department_create}，更新 {department_update}，不变 {department_unchanged}，"
                     "删除 {department_delete}".format(**c),
                     "成员：新建 {member_create}，更新 {member_update}，不变 {member_unchanged}，删除 {member_delete}，"
                     "禁用 {member_disable}".format(**c)]
        else:
            lines = ["Departments: {department_create} to create, {department_update} to update, "
                     "{department_unchanged} unchanged, {department_delete} to delete".format(**c),
                     "Members: {member_create} to create, {member_update} to update, {member_unchanged} unchanged, "
                     "{member_delete} to delete, {member_disable} to disable".format(**c)]
        row_word = "第 {} 行" if zh else "row {}"
        for rows, heading, more in ((self.invalid, ("Rows not imported because of problems", "因有问题未导入的行"),
                                     ("more rows with problems", "行有问题")),
                                    (self.skipped, ("Rows skipped", "跳过的行"), ("more rows skipped", "行被跳过"))):
            if not rows:
                continue
            lines.append(f"{heading[zh]}: {len(rows)}" if not zh else f"{heading[zh]}：{len(rows)}")
            for (_, row), reason in sorted(rows.items())[:first]:
                lines.append(f"  {row_word.format(row)}: {Text(reason).in_lang(lang)}")
            if len(rows) > first:
                lines.append(f"  ... and {len(rows) - first} {more[0]}" if not zh
                             else f"  ……另有 {len(rows) - first} {more[1]}")
        labels = {"department_create": ("create department", "新建部门"), "department_update": ("update department",
                                                                                              "更新部门"),
                  "member_create": ("create", "新建"), "member_update": ("update", "更新"),
                  "member_delete": ("delete", "删除"), "member_disable": ("disable", "禁用"),
                  "department_delete": ("delete department", "删除部门")}
        for kind, (label, label_zh) in labels.items():
            ops = [op for op in self.operations if op.kind == kind]
            for op in ops[:first]:
                where = ", ".join(row_word.format(r) for _, r in op.rows[:3])
                detail = ""
                if kind == "member_update":
                    detail = " (" + ", ".join(k for k in op.body if k != "userid") + ")"
                lines.append(f"  {label_zh if zh else label} {op.target}{detail}" + (f"  [{where}]" if where else ""))
            if len(ops) > first:
                lines.append(f"  ……另有 {len(ops) - first} 个{label_zh}" if zh
                             else f"  ... and {len(ops) - first} more to {label}")
        lines += self._identity_lines(lang)
        lines.extend(note.in_lang(lang) for note in self.notes)
        return lines

    def _identity_lines(self, lang: str, shown: int = 50) -> list[str]:
        """How the rows without a userid were matched, and every made userid (up to `shown`; the rest are in
        the results file and the saved plan)."""
        from bulkdir.matching import HOW_WORDS

        if not self.identities:
            return []
        zh = lang == "zh"
        tally: dict[str, int] = {}
        for _, how, lookup in self.identities.values():
            tally[how] = tally.get(how, 0) + 1
        made_count = tally.pop("made", 0)
        parts = [f"{count} {HOW_WORDS[how].in_lang(lang)}" for how, count in sorted(tally.items())]
        if made_count:
            parts.append(f"{made_count} 个新建帐号" if zh else f"{made_count} given a new userid")
        words = ", ".join(parts)
        lines = [("无帐号的行：" if zh else "Rows without a userid: ") + words]
        made = [(ref, userid) for ref, (userid, how, _) in sorted(self.identities.items()) if how == "made"]
        for (_, row), userid in made[:shown]:
            lines.append(f"  第 {row} 行 → 新帐号 {userid}" if zh else f"  row {row}: new userid {userid}")
        if len(made) > shown:
            lines.append(f"  … 另有 {len(made) - shown} 个新帐号（见结果文件）" if zh
                         else f"  ... and {len(made) - shown} more new userids (all in the results file)")
        matched = [(ref, item) for ref, item in sorted(self.identities.items()) if item[1] != "made"]
        for (_, row), (userid, how, lookup) in matched[:5]:
            extra = ("（接口查询）" if zh else " (looked up)") if lookup else ""
            lines.append(f"  第 {row} 行：{HOW_WORDS[how].zh}{extra} → {userid}" if zh
                         else f"  row {row}: {HOW_WORDS[how]}{extra}: {userid}")
        if len(matched) > 5:
            more = len(matched) - 5
            lines.append(f"  … 另有 {more} 行已匹配" if zh else f"  ... and {more} more matched")
        return lines

    def to_json(self) -> dict[str, Any]:
        return {
            "mode": self.mode,
            "notes": self.notes,
            "operations": [op.to_json() for op in self.ordered()],
            "unchanged": [{"key": u.key, "target": u.target, "rows": [list(r) for r in u.rows]}
                          for u in self.unchanged],
            "invalid": [[sheet, row, reason] for (sheet, row), reason in sorted(self.invalid.items())],
            "skipped": [[sheet, row, reason] for (sheet, row), reason in sorted(self.skipped.items())],
            "delete_scope": self.delete_scope,
            "identities": [[sheet, row, userid, how, lookup]
                           for (sheet, row), (userid, how, lookup) in sorted(self.identities.items())],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> "Plan":
        return cls(
            operations=[Operation.from_json(op) for op in data.get("operations", [])],
            unchanged=[Unchanged(u["key"], u["target"], [tuple(r) for r in u["rows"]])
                       for u in data.get("unchanged", [])],
            invalid={(s, r): reason for s, r, reason in data.get("invalid", [])},
            skipped={(s, r): reason for s, r, reason in data.get("skipped", [])},
            notes=[Text(note) for note in data.get("notes", [])],
            mode=data.get("mode", "detail"),
            delete_scope=data.get("delete_scope"),
            identities={(sheet, row): (userid, how, bool(lookup))
                        for sheet, row, userid, how, lookup in data.get("identities", [])},
        )


@dataclass
class DeleteOptions:
    """How members the sheet does not list are treated (`--delete-missing` and friends)."""

    delete_missing: bool = False
    scope: str = "sheet"  # "sheet": the departments the sheet covers; "all": the whole corp
    allow_mass_delete: bool = False
    disable_instead: bool = False
    prune_departments: bool = False


@dataclass
class InvalidRowNames:
    """Who and what the rows that cannot be imported still name. Such a row is in the sheet, so the
    member it names is never "missing" (`--delete-missing` keeps it) and the department it names is
    never pruned; `unidentified` are member rows that name no userid, mobile or email, so that the
    member they stand for cannot be told apart from those the sheet leaves out (so are rows that name one by
    mobile or email only, when the snapshot does not show those)."""

    userids: set[str] = field(default_factory=set)  # lower-cased
    mobiles: set[str] = field(default_factory=set)  # compared as `same_value` compares mobiles
    emails: set[str] = field(default_factory=set)  # lower-cased
    department_ids: set[int] = field(default_factory=set)
    department_paths: set[tuple[str, ...]] = field(default_factory=set)
    unidentified: list[int] = field(default_factory=list)  # spreadsheet rows

    def name(self, member: dict[str, Any]) -> bool:
        """Whether an invalid row names this member (by userid, mobile or email)."""
        if str(member.get("userid") or "").lower() in self.userids:
            return True
        mobile, email = member.get("mobile"), member.get("email")
        return bool((mobile and mobile_key(mobile) in self.mobiles) or (email and str(email).lower() in self.emails))

    def add_mobile(self, text: str) -> None:
        if text.strip():
            self.mobiles.add(mobile_key(text))


def member_key(userid: str) -> str:
    return "member:" + userid.lower()


def department_key(path: Sequence[str]) -> str:
    return "department:" + path_text(path, root="/")


# ---------------------------------------------------------------------------------------------
# Comparing values


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def same_value(name: str, want: Any, have: Any) -> bool:
    """Whether a sheet value equals the directory's, the way the platform stores them.

    >>> same_value("direct_leader", ["LiSi"], ["lisi"]), same_value("gender", "1", 1)
    (True, True)
    >>> same_value("mobile", "13800000009", "+86 13800000009")
    True
    """
    if _empty(want) and _empty(have):
        return True
    if name == "direct_leader":
        return [str(x).lower() for x in (want or [])] == [str(x).lower() for x in (have or [])]
    if name in ("order", "is_leader_in_dept", "department"):
        try:
            return [int(x) for x in (want or [])] == [int(x) for x in (have or [])]
        except (TypeError, ValueError):
            return False
    if name == "mobile":
        # the platform keeps a mobile as typed (`+86 138...`); the reader normalises the sheet's
        return mobile_key(want or "") == mobile_key(have or "")
    if name == "extattr":
        return (json.dumps(want, sort_keys=True, ensure_ascii=False)
                == json.dumps(have, sort_keys=True, ensure_ascii=False))
    if isinstance(want, (list, dict)) or isinstance(have, (list, dict)):
        return want == have
    return str(want).strip() == ("" if have is None else str(have).strip())


def _current(member: dict[str, Any], name: str) -> Any:
    value = member.get(name)
    if name == "enable" and value is None:
        # user/list may leave `enable` out; status 2 means disabled (platform page 90196)
        return 0 if member.get("status") == 2 else 1
    return value


def _cleared(name: str) -> Any:
    return [] if name in LIST_FIELDS else ""


# ---------------------------------------------------------------------------------------------
# Planning


@dataclass
class _DepartmentTree:
    """The department tree as it will be once the plan's department operations are done."""

    by_path: dict[tuple[str, ...], int]
    parent: dict[int, int]
    next_id: int
    ops: dict[tuple[str, ...], Operation] = field(default_factory=dict)  # path -> its create or update
    # ids an interrupted run of the same sheet gave its new departments, by department key: a resumed run
    # gives them the same ids, so that the directory ends as an uninterrupted run would leave it
    reserved: dict[str, int] = field(default_factory=dict)

    def allocate(self, path: tuple[str, ...]) -> int:
        """The id a new department at `path` gets: the one an interrupted run chose, while no other
        department holds it, else the next free one."""
        reserved = self.reserved.get(department_key(path))
        if reserved is not None and reserved not in self.parent:
            return reserved
        self.next_id += 1
        while self.next_id in self.parent or self.next_id in self.reserved.values():
            self.next_id += 1
        return self.next_id

    def ensure(self, path: tuple[str, ...], plan: Plan) -> tuple[int, list[str]]:
        """The id `path` will have, planning a create for each missing level (parents first);
        and the keys of the department operations a member placed there must wait for."""
        needs: list[str] = []
        for depth in range(1, len(path) + 1):
            prefix = path[:depth]
            if prefix not in self.by_path:
                parent_id = self.by_path[prefix[:-1]]
                parent_op = self.ops.get(prefix[:-1])
                self.add(Operation(key=department_key(prefix), kind="department_create", phase=PHASE_DEPARTMENTS,
                                   target=path_text(prefix, root="/"),
                                   body={"name": prefix[-1], "parentid": parent_id, "id": self.allocate(prefix)},
                                   needs=[parent_op.key] if parent_op else [], before={"exists": False},
                                   depth=depth), prefix, plan)
            if prefix in self.ops:
                needs.append(self.ops[prefix].key)
        return self.by_path[path], needs

    def add(self, op: Operation, path: tuple[str, ...], plan: Plan) -> None:
        """Plan a department create or update; the tree then shows `path` where the operation puts it."""
        plan.operations.append(op)
        self.ops[path] = op
        if op.kind == "department_create":
            self.by_path[path] = op.body["id"]
            self.parent[op.body["id"]] = op.body["parentid"]


def _snapshot_paths(directory: Directory) -> dict[tuple[str, ...], int]:
    paths: dict[tuple[str, ...], int] = {(): ROOT_ID}
    for dep_id, dep in directory.departments.items():
        path = tuple(dep.path)
        if dep_id == ROOT_ID:
            continue
        if path and None not in path:  # a department whose name is unknown (ids only) matches no path
            paths[tuple(str(name) for name in path)] = dep_id
    return paths


def build_plan(members: Iterable[Any], departments: Iterable[Any], directory: Directory,
                invalid_rows: dict[tuple[str, int], str] | None = None,
                deletes: DeleteOptions | None = None, *, named_by_invalid: InvalidRowNames | None = None,
                recent: RecentRemovals | None = None, reserved_ids: dict[str, int] | None = None) -> Plan:
    """Diff sheet records against a Directory snapshot into a Plan.

    `members` and `departments` are bulkdir.schema records (rows with problems already left out);
    `invalid_rows` maps ("members" | "departments", row) to the reason the row is not imported, and
    `named_by_invalid` says whom those rows name (never deleted, never pruned); `recent` is what was
    removed on the corp in the brake's window; `reserved_ids` the ids an interrupted run of the same sheet
    gave its new departments (by department key), given again.

    Example:
        >>> plan = build_plan(records.members, records.departments, fetch_directory(client))  # doctest: +SKIP
        >>> plan.counts()  # doctest: +SKIP
        {'department_create': 2, 'member_create': 40, 'member_unchanged': 3}
    """
    deletes = deletes or DeleteOptions()
    named_by_invalid = named_by_invalid or InvalidRowNames()
    recent = recent or RecentRemovals()
    plan = Plan(mode=directory.mode, invalid=dict(invalid_rows or {}))
    members = list(members)
    departments = list(departments)
    hidden = directory.private_fields_hidden
    if plan.mode == "ids-only":
        plan.notes.append(Text(
            "Note: the directory could be read by userid only (the secret may not read details, 48009, and no "
            "app secret is set): every member already in the corp will be updated with every field of its row.",
            "注意：只能按帐号读取通讯录（该 Secret 不能读取详情，48009，且未设置应用 Secret）：已有成员将按表格"
            "更新每一个字段。"))
        by_path = any(not isinstance(ref, int) for m in members for ref in m.departments or [])
        if len(directory.departments) > 1 and by_path:
            plan.notes.append(Text(
                "Note: department names cannot be read either, so department paths cannot be matched with the "
                "existing departments: use department ids (a 所在部门/department_id column) or set an app secret.",
                "注意：部门名称也无法读取，部门路径无法与现有部门对应：请使用部门 ID（所在部门列）或设置应用 Secret。"))
    elif hidden:
        plan.notes.append(Text(
            "Note: private fields (" + ", ".join(PRIVATE_FIELDS) + ") come back empty for this secret, so they "
            "cannot be compared: they are sent for new members only, never for members already in the corp "
            "(a changed mobile or email there is not applied).",
            "注意：隐私字段（手机、邮箱等）无法读取、无法比较：只对新成员发送，已有成员的这些字段保持不变。"))

    known_ids = set(directory.departments) | {ROOT_ID}
    sheet_ids = {d.id for d in departments if d.id}
    tree = _DepartmentTree(by_path=_snapshot_paths(directory),
                           parent={i: d.parentid for i, d in directory.departments.items()},
                           next_id=max(known_ids | sheet_ids | {ROOT_ID}), reserved=dict(reserved_ids or {}))

    _plan_department_sheet(plan, departments, directory, tree)

    sheet_userids = {str(m.values.get("userid", "")).lower() for m in members}
    created_userids = {uid for uid in sheet_userids if uid not in directory.members}
    final_departments: dict[str, list[int]] = {}

    for member in members:
        ref = ("members", member.row)
        values = dict(member.values)
        userid = str(values.pop("userid", ""))
        values.pop("department", None)
        values.pop("main_department", None)
        needs: list[str] = []
        dep_ids: list[int] = []
        problem = None
        for dep_ref in member.departments or []:
            dep_id, dep_needs = _resolve(dep_ref, tree, known_ids, plan)
            if dep_id is None:
                problem = f"department {dep_ref} does not exist in the corp or the departments sheet"
                break
            dep_ids.append(dep_id)
            needs.extend(dep_needs)
        main_id = None
        if problem is None and member.main_department is not None:
            main_id, dep_needs = _resolve(member.main_department, tree, known_ids, plan)
            needs.extend(dep_needs)
        if problem:
            plan.invalid[ref] = problem
            continue
        current = directory.members.get(userid.lower())
        custom = {name: values.pop(name) for name in [k for k in values if k.startswith(EXTATTR)]}
        cleared = {name for name in member.clear if name.startswith(EXTATTR)}
        leaders = values.pop("direct_leader", None)
        deferred_leaders = bool(leaders) and any(str(x).lower() in created_userids and str(x).lower() != userid.lower()
                                                 for x in leaders)
        if current is None:
            body: dict[str, Any] = {"userid": userid, **values}
            if dep_ids:
                body["department"] = dep_ids
            if main_id is not None:
                body["main_department"] = main_id
            if leaders and not deferred_leaders:
                body["direct_leader"] = list(leaders)
            if custom:
                body["extattr"] = {"attrs": list(custom.values())}
            op = Operation(key=member_key(userid), kind="member_create", phase=PHASE_MEMBERS, target=userid,
                           body=body, rows=[ref], needs=_unique(needs), before={"exists": False})
            plan.operations.append(op)
            final_departments[userid.lower()] = dep_ids or [ROOT_ID]
        else:
            changes = _member_changes(values, member.clear - cleared, dep_ids, main_id, current, plan.mode, hidden)
            extattr = _custom_field_changes(custom, cleared, current, plan.mode == "ids-only")
            if extattr is not None:
                changes["extattr"] = extattr
            leaders_differ = not same_value("direct_leader", leaders, current.get("direct_leader"))
            if leaders and not deferred_leaders and (plan.mode == "ids-only" or leaders_differ):
                changes["direct_leader"] = list(leaders)
            final_departments[userid.lower()] = dep_ids or list(current.get("department") or [])
            if changes:
                before = {"exists": True, "fields": {k: current.get(k) for k in changes}}
                op = Operation(key=member_key(userid), kind="member_update", phase=PHASE_MEMBERS, target=userid,
                               body={"userid": userid, **changes}, rows=[ref], needs=_unique(needs), before=before)
                plan.operations.append(op)
            else:
                plan.unchanged.append(Unchanged(member_key(userid), userid, [ref]))
        if deferred_leaders:
            if current is not None and same_value("direct_leader", leaders, current.get("direct_leader")):
                continue
            needs = [member_key(userid)] + [member_key(str(x)) for x in leaders if str(x).lower() in created_userids]
            plan.operations.append(Operation(
                key="leaders:" + userid.lower(), kind="member_leaders", phase=PHASE_LEADERS, target=userid,
                body={"userid": userid, "direct_leader": list(leaders)}, rows=[ref], needs=_unique(needs)))

    if deletes.delete_missing:
        _plan_missing(plan, members, departments, directory, tree, sheet_userids, deletes, final_departments,
                      named_by_invalid, recent)
    if deletes.prune_departments:
        _plan_prune(plan, members, departments, directory, final_departments, named_by_invalid)
        prunes = sum(op.kind == "department_delete" for op in plan.operations)
        if not deletes.allow_mass_delete:
            enforce_delete_brake(prunes, len(directory.departments) - 1, "below the root", False,
                                 recent.departments_deleted, what="departments")
    return plan


def _unique(items: list[str]) -> list[str]:
    return list(dict.fromkeys(items))


def _resolve(ref: Any, tree: _DepartmentTree, known_ids: set[int], plan: Plan) -> tuple[int | None, list[str]]:
    if isinstance(ref, int):
        return (ref if ref in known_ids or ref in tree.parent else None), []
    return tree.ensure(tuple(ref), plan)


def _member_changes(values: dict[str, Any], clear: set[str] | None, dep_ids: list[int], main_id: int | None,
                    current: dict[str, Any], mode: str, hidden: bool) -> dict[str, Any]:
    """The fields of an update: only those that differ (every field when the directory gave ids only)."""
    full = mode == "ids-only"
    changes: dict[str, Any] = {}
    aligned: dict[str, Any] = {k: values.pop(k) for k in ("order", "is_leader_in_dept") if k in values}
    for name, want in values.items():
        if name == "to_invite":  # a create-time choice, not a member field
            continue
        if hidden and name in PRIVATE_FIELDS and not full:
            continue  # read back empty, so unknown: sending it on every run would be a write that may change nothing
        if full or not same_value(name, want, _current(current, name)):
            changes[name] = want
    for name in sorted(clear or ()):
        if name in ("userid", "name", "department"):
            continue
        if full or not _empty(current.get(name)):
            changes[name] = _cleared(name)
    if dep_ids:
        have = list(current.get("department") or [])
        moved = full or sorted(dep_ids) != sorted(int(x) for x in have)
        if not moved:
            for name, want in aligned.items():
                have_by_dep = dict(zip((int(x) for x in have), current.get(name) or []))
                if [have_by_dep.get(d) for d in dep_ids] != [int(x) for x in want]:
                    moved = True
        if moved:
            changes["department"] = dep_ids
            changes.update(aligned)
    if main_id is not None and (full or not same_value("main_department", main_id, current.get("main_department"))):
        changes["main_department"] = main_id
    return changes


def _custom_field_changes(custom: dict[str, dict[str, Any]], cleared: set[str], current: dict[str, Any],
                          full: bool) -> dict[str, Any] | None:
    """The `extattr` of an update, None when the sheet's custom fields already hold what the member has.

    Sent whole (wecom-api.md A8): every custom field the member shows, at its current value, with the
    sheet's values in place, so the result is the same whether the platform merges or replaces.

    >>> have = {"extattr": {"attrs": [{"type": 0, "name": "工号", "text": {"value": "E1"}},
    ...                               {"type": 0, "name": "职级", "text": {"value": "P5"}}]}}
    >>> sheet = {"extattr:职级": {"type": 0, "name": "职级", "text": {"value": "P6"}}}
    >>> [attr["text"]["value"] for attr in _custom_field_changes(sheet, set(), have, False)["attrs"]]
    ['E1', 'P6']
    """
    if not custom and not cleared:
        return None
    attrs: dict[str, dict[str, Any]] = {}
    for attr in (current.get("extattr") or {}).get("attrs") or []:
        if isinstance(attr, dict) and isinstance(attr.get("name"), str):
            attrs[attr["name"]] = attr
    changed = full
    for key in sorted(cleared):
        name = key[len(EXTATTR):]
        have = attrs.get(name)
        if custom_value_text(have) or full:  # with ids only, what the member holds is unknown: cleared all the same
            web = have is not None and (have.get("type") == 1 or "web" in have)
            attrs[name] = ({"type": 1, "name": name, "web": {"url": "", "title": ""}} if web
                           else {"type": 0, "name": name, "text": {"value": ""}})
            changed = True
    for attr in custom.values():
        if custom_value_text(attr) != custom_value_text(attrs.get(attr["name"])):
            changed = True
        attrs[attr["name"]] = attr
    return {"attrs": list(attrs.values())} if changed else None


def _plan_department_sheet(plan: Plan, departments: list[Any], directory: Directory, tree: _DepartmentTree) -> None:
    """Departments sheet rows: matched by id when given, else by path; parents before children."""
    for record in sorted(departments, key=lambda d: len(_record_path(d, directory))):
        ref = ("departments", record.row)
        path = _record_path(record, directory)
        if not path:
            if record.parent_id is not None:
                plan.invalid[ref] = f"parent department id {record.parent_id} does not exist in the corp"
            continue
        parent_path = path[:-1]
        # a parent that is neither in the corp nor earlier in the sheet: its missing levels are created
        parent_id, _ = tree.ensure(parent_path, plan)
        if record.id:
            existing_id = record.id if record.id in directory.departments else None
            if existing_id is None and path in tree.by_path:
                shown = path_text(path, root="/")
                plan.invalid[ref] = (f"department {shown} already exists with id {tree.by_path[path]}, "
                                     f"not {record.id}")
                continue
        else:
            existing_id = tree.by_path.get(path)
        needs = [tree.ops[parent_path].key] if parent_path in tree.ops else []
        if existing_id is None or existing_id not in directory.departments:
            new_id = record.id or tree.allocate(path)
            body: dict[str, Any] = {"name": path[-1], "parentid": parent_id, "id": new_id}
            if record.order is not None:
                body["order"] = record.order
            if record.name_en:
                body["name_en"] = record.name_en
            tree.add(Operation(key=department_key(path), kind="department_create", phase=PHASE_DEPARTMENTS,
                               target=path_text(path, root="/"), body=body, rows=[ref], needs=needs,
                               before={"exists": False}, depth=len(path)), path, plan)
            continue
        current = directory.departments[existing_id]
        old_path = tuple(current.path)
        changes: dict[str, Any] = {}
        if current.name != path[-1]:
            changes["name"] = path[-1]
        if current.parentid != parent_id:
            changes["parentid"] = parent_id
        if record.order is not None and current.order != record.order:
            changes["order"] = record.order
        if record.name_en and current.name_en != record.name_en:
            changes["name_en"] = record.name_en
        if old_path != path and old_path and None not in old_path:
            # renamed or moved: the departments below it move along, under their new paths
            for known, known_id in list(tree.by_path.items()):
                if known[:len(old_path)] == old_path:
                    del tree.by_path[known]
                    tree.by_path[path + known[len(old_path):]] = known_id
        tree.by_path[path] = existing_id
        tree.parent[existing_id] = parent_id
        if changes:
            before = {"exists": True, "fields": {k: getattr(current, k, None) for k in changes}}
            tree.add(Operation(key=department_key(path), kind="department_update", phase=PHASE_DEPARTMENTS,
                               target=path_text(path, root="/"), body={"id": existing_id, **changes}, rows=[ref],
                               needs=needs, before=before, depth=len(path)), path, plan)
        else:
            plan.unchanged.append(Unchanged(department_key(path), path_text(path, root="/"), [ref]))


def _record_path(record: Any, directory: Directory) -> tuple[str, ...]:
    """A departments-sheet row's path; a row that names its parent by id only is placed under that id."""
    path = tuple(record.path)
    parent_id = record.parent_id
    if not path and parent_id is not None and record.name:
        parent = () if parent_id == ROOT_ID else directory.path_of(parent_id)
        if parent is not None and None not in parent:
            return tuple(str(name) for name in parent) + (record.name,)
    return path


def covered_departments(members: list[Any], departments: list[Any], tree_by_path: dict[tuple[str, ...], int],
                        ) -> set[int]:
    """The department ids the sheet names: on its member rows and its departments rows."""
    covered: set[int] = set()
    for member in members:
        for ref in member.departments or []:
            dep_id = ref if isinstance(ref, int) else tree_by_path.get(tuple(ref))
            if dep_id is not None:
                covered.add(dep_id)
    for record in departments:
        dep_id = record.id or tree_by_path.get(tuple(record.path))
        if dep_id is not None:
            covered.add(dep_id)
    return covered


def check_delete_brake(deletes: int, in_scope: int) -> bool:
    """Whether deleting `deletes` of the `in_scope` members is a mass delete, refused unless asked for.

    The platform's own rule for batch/replaceuser (more than 50 and more than 20%, or more than 80% when
    fewer than 50 are in scope) has a gap at 50: 50 of 51 passes it. Closed here: never all of them, never
    80% or more, and past 50 never more than 20%.

    >>> check_delete_brake(50, 200), check_delete_brake(51, 200), check_delete_brake(51, 300)
    (False, True, False)
    >>> check_delete_brake(7, 10), check_delete_brake(8, 10), check_delete_brake(50, 51), check_delete_brake(1, 1)
    (False, True, True, True)
    """
    if deletes <= 0:
        return False
    if deletes >= in_scope or deletes >= 0.8 * in_scope:
        return True
    return deletes > 50 and deletes > 0.2 * in_scope


@dataclass
class RecentRemovals:
    """What was already deleted (or disabled) on the corp in the brake's window (the last 24 hours, from
    the journal), so that a mass delete split into several runs meets the brake all the same."""

    members_deleted: int = 0
    members_disabled: int = 0
    departments_deleted: int = 0

    @classmethod
    def from_journal(cls, counts: dict[str, int]) -> "RecentRemovals":
        return cls(counts.get("member_delete", 0), counts.get("member_disable", 0),
                   counts.get("department_delete", 0))


def enforce_delete_brake(count: int, in_scope: int, where: str, disable: bool, recent: int = 0,
                         what: str = "members") -> None:
    """Refuse a mass delete (or disable) before anything is sent. Removals made in the window count as if
    they were made now, out of a scope that still held them."""
    if count <= 0 or not check_delete_brake(count + recent, in_scope + recent):
        return  # a run that removes nothing is never braked by what others removed
    verb, verb_zh = ("disable", "禁用") if disable else ("delete", "删除")
    noun_zh = "个部门" if what == "departments" else "名成员"
    earlier = (f", after {recent} {what} {verb}d on this corp in the last 24 hours" if recent else "")
    earlier_zh = f"（过去 24 小时内已{verb_zh} {recent} {noun_zh[1:]}）" if recent else ""
    raise RefusedError(
        f"refusing to {verb} {count} of the {in_scope} {what} {where}{earlier}: more than the safety limit "
        "(never all of them, never 80% or more, and past 50 never more than 20%). Check the sheet, or add "
        "--allow-mass-delete if this is intended.",
        f"拒绝{verb_zh} {count}{noun_zh}（共 {in_scope}{noun_zh[0]}）{earlier_zh}：超过安全上限（不能全部删除，"
        "不能达到 80%，超过 50 时不能超过 20%）。请检查表格，如确需请加 --allow-mass-delete。")


def _plan_missing(plan: Plan, members: list[Any], departments: list[Any], directory: Directory, tree: _DepartmentTree,
                  sheet_userids: set[str], options: DeleteOptions, final_departments: dict[str, list[int]],
                  named_by_invalid: InvalidRowNames, recent: RecentRemovals) -> None:
    if options.scope == "all":
        in_scope = dict(directory.members)
    else:
        covered = covered_departments(members, departments, tree.by_path)
        in_scope = {uid: m for uid, m in directory.members.items()
                    if covered & {int(d) for d in (m.get("department") or [ROOT_ID])}}
    plan.delete_scope = len(in_scope)
    missing = sorted(uid for uid in in_scope if uid not in sheet_userids)
    verb, verb_zh = ("disabled", "禁用") if options.disable_instead else ("deleted", "删除")
    kept = [uid for uid in missing if named_by_invalid.name(directory.members[uid])]
    if kept:
        missing = [uid for uid in missing if uid not in set(kept)]
        shown = ", ".join(kept[:5]) + (" …" if len(kept) > 5 else "")
        plan.notes.append(Text(f"Kept {len(kept)} member(s) that rows with problems name ({shown}): a row that "
                               "cannot be imported is never taken as missing.",
                               f"有问题的行所对应的 {len(kept)} 名成员（{shown}）不会被{verb_zh}："
                               "无法导入的行不算缺少。"))
    if named_by_invalid.unidentified and missing:
        rows = ", ".join(map(str, named_by_invalid.unidentified[:10]))
        plan.notes.append(Text(
            f"No member is {verb}: rows {rows} have problems and name no userid (nor a mobile or email the "
            "directory shows), so the members they stand for cannot be told from those the sheet leaves out. Fix "
            "them and run again.",
            f"本次不{verb_zh}任何成员：第 {rows} 行有问题，且没有帐号（也没有通讯录中可见的手机或邮箱），"
            "无法判断对应哪位成员；请修正后重新运行。"))
        return
    if options.disable_instead:
        missing = [uid for uid in missing if _current(directory.members[uid], "enable") != 0]
    if not options.allow_mass_delete:
        done_before = recent.members_disabled if options.disable_instead else recent.members_deleted
        enforce_delete_brake(len(missing), len(in_scope), "in scope", options.disable_instead, done_before)
    for uid in missing:
        plan.operations.append(_removal(str(directory.members[uid].get("userid") or uid), options.disable_instead))
        if not options.disable_instead:
            final_departments[uid] = []


def _removal(userid: str, disable: bool, rows: list[tuple[str, int]] | None = None) -> Operation:
    """The delete (or with --disable-instead, the enable=0 update) of a member, as the directory spells its userid."""
    uid = userid.lower()
    if disable:
        return Operation(key="disable:" + uid, kind="member_disable", phase=PHASE_DELETES, target=userid,
                         body={"userid": userid, "enable": 0}, rows=rows or [], before={"exists": True})
    return Operation(key="delete:" + uid, kind="member_delete", phase=PHASE_DELETES, target=userid,
                     body={"userid": userid}, rows=rows or [], before={"exists": True})


def build_delete_plan(rows: Iterable[tuple[int, str]], directory: Directory, allow_mass_delete: bool = False,
                disable_instead: bool = False, recent: RecentRemovals | None = None) -> Plan:
    """Plan `bulkdir delete FILE`: each (row, userid) is deleted (or disabled) when it is in the directory.

    Example:
        >>> plan = build_delete_plan([(2, "zhangsan"), (3, "lisi")], fetch_directory(client))  # doctest: +SKIP
        >>> [op.kind for op in plan.operations]  # doctest: +SKIP
        ['member_delete', 'member_delete']
    """
    plan = Plan(mode=directory.mode)
    seen: set[str] = set()
    for row, userid in rows:
        ref = ("deletes", row)
        uid = userid.strip().lower()
        if not uid:
            plan.invalid[ref] = "no userid on this row"
            continue
        current = directory.members.get(uid)
        if current is None:
            plan.skipped[ref] = "not in the directory"
            plan.skipped_targets[ref] = userid.strip()
            continue
        if uid in seen:
            plan.skipped[ref] = "the same userid is on an earlier row"
            continue
        seen.add(uid)
        stored = str(current.get("userid") or userid)
        if disable_instead and _current(current, "enable") == 0:
            plan.unchanged.append(Unchanged("disable:" + uid, stored, [ref]))
            continue
        plan.operations.append(_removal(stored, disable_instead, [ref]))
    if not allow_mass_delete:
        recent = recent or RecentRemovals()
        enforce_delete_brake(len(plan.operations), len(directory.members), "of the corp", disable_instead,
                             recent.members_disabled if disable_instead else recent.members_deleted)
    return plan


def _plan_prune(plan: Plan, members: list[Any], departments: list[Any], directory: Directory,
                final_departments: dict[str, list[int]], named_by_invalid: InvalidRowNames) -> None:
    """Departments the sheet does not list that end up empty: deleted children first."""
    listed: set[int] = {ROOT_ID} | (named_by_invalid.department_ids & set(directory.departments))

    def list_path(path: Sequence[str]) -> None:
        for depth in range(1, len(path) + 1):
            dep_id = directory.id_of(tuple(path[:depth]))
            if dep_id is not None:
                listed.add(dep_id)

    for record in departments:
        list_path(record.path)
        if record.id:
            listed.add(record.id)
    for member in members:
        for ref in member.departments or []:
            if isinstance(ref, int):
                listed.add(ref)
            else:
                list_path(ref)
    for path in named_by_invalid.department_paths:
        list_path(path)
    occupied: set[int] = set()
    for uid, member in directory.members.items():
        for dep_id in final_departments.get(uid, member.get("department") or []):
            occupied.add(int(dep_id))
    kept = occupied | listed

    for dep_id, dep in directory.departments.items():
        if dep_id == ROOT_ID or dep_id in listed:
            continue
        path = tuple(name or f"#{dep_id}" for name in dep.path)  # a name unknown (ids only): shown by id
        if not kept & directory.subtree(dep_id):
            plan.operations.append(Operation(key=f"prune:{dep_id}", kind="department_delete", phase=PHASE_PRUNE,
                                             target=path_text(path, root="/"), body={"id": dep_id},
                                             before={"exists": True},
                                             depth=len(path)))
        elif dep_id in occupied:
            shown = path_text(path, root="/")
            plan.notes.append(Text(f"Department {shown} is not in the sheet but still holds members: kept.",
                                   f"部门 {shown} 不在表格中，但仍有成员：已保留。"))
