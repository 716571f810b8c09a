"""Saved plans (`bulkdir import --plan-out`, `bulkdir apply`): written with a keyed check, read back only
when the check holds and every operation is one bulkdir could have planned.

A plan file is JSON a person may open and read, which is also what makes it easy to edit: a delete added
by hand, a userid changed, an id pointed at another department. So the file carries an HMAC-SHA256 of
its content under a key kept in the user's data folder (`plan-key`, readable by its owner only): `apply`
refuses a plan changed after it was saved, before any call. A plan whose check holds is still read
strictly (`check_plan_document`): known operation kinds only, keys that match their targets, fields of
the right types and sizes, deletes only where the plan's options asked for them.

    {"format": "bulkdir-plan/1", "source", "source_hash", "corp_id", "options", "plan", "check"}
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import stat
from pathlib import Path
from typing import Any

from bulkdir.errors import PlanRefusedError

PLAN_FORMAT = "bulkdir-plan/1"
MAX_PLAN_BYTES = 512 * 1024 * 1024  # a plan of 100,000 members is about 60 MB
_USERID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}\Z")
_MAX_TEXT = 2048
_MAX_ID = 2**31 - 1
_MAX_ORDER = 2**32 - 1
_SHEETS = ("members", "departments", "deletes")

# The phase each kind runs in (see bulkdir.plan) and the body fields it may carry.
_MEMBER_FIELDS = {"userid", "name", "alias", "position", "department", "main_department", "gender", "mobile",
                  "telephone", "email", "biz_mail", "address", "is_leader_in_dept", "direct_leader", "order",
                  "enable", "external_position", "nickname", "to_invite", "extattr"}
_KINDS: dict[str, tuple[int, set[str]]] = {
    "department_create": (0, {"id", "name", "parentid", "order", "name_en"}),
    "department_update": (0, {"id", "name", "parentid", "order", "name_en"}),
    "member_create": (1, _MEMBER_FIELDS),
    "member_update": (1, _MEMBER_FIELDS),
    "member_leaders": (2, {"userid", "direct_leader"}),
    "member_delete": (3, {"userid"}),
    "member_disable": (3, {"userid", "enable"}),
    "department_delete": (4, {"id"}),
}
_OPERATION_KEYS = {"key", "kind", "phase", "target", "body", "rows", "needs", "before", "depth"}


def _key_path() -> Path:
    from bulkdir.config import user_dirs

    return Path(user_dirs().data) / "plan-key"


def _plan_key() -> bytes:
    """The user's key for plan checks, made on first use (0600)."""
    path = _key_path()
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_bytes()
    with os.fdopen(descriptor, "wb") as handle:
        handle.write(secrets.token_bytes(32))
    return path.read_bytes()


def _check_of(document: dict[str, Any]) -> str:
    content = {k: v for k, v in document.items() if k != "check"}
    text = json.dumps(content, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hmac.new(_plan_key(), text.encode("utf-8"), hashlib.sha256).hexdigest()


def sign(document: dict[str, Any]) -> dict[str, Any]:
    """The document with its keyed check."""
    return {**document, "check": _check_of(document)}


def read_plan_document(path: Path) -> tuple[dict[str, Any], str]:
    """A saved plan as written and the SHA-256 of its bytes (the journal knows an apply by it); refused
    (PlanRefusedError) when it is not a file, not JSON, not a plan, or changed since it was saved."""
    name = path.name
    try:
        if not stat.S_ISREG(path.stat().st_mode):
            raise PlanRefusedError(f"{name} is not a regular file", f"{name} 不是普通文件")
        with open(path, "rb") as handle:
            data = handle.read(MAX_PLAN_BYTES + 1)
        if len(data) > MAX_PLAN_BYTES:
            raise PlanRefusedError(f"{name} is larger than any plan bulkdir writes ({MAX_PLAN_BYTES >> 20} MB)",
                                   f"{name} 超过 bulkdir 计划文件的大小上限")
        document = json.loads(data.decode("utf-8"))
    except FileNotFoundError:
        raise PlanRefusedError(f"{path} does not exist", f"{path} 不存在") from None
    except (OSError, UnicodeDecodeError, ValueError, RecursionError) as error:
        reason = getattr(error, "strerror", None) or type(error).__name__
        raise PlanRefusedError(f"{name} is not a plan written by `bulkdir import --plan-out` ({reason})",
                               f"{name} 不是 bulkdir import --plan-out 保存的计划") from None
    if not isinstance(document, dict) or document.get("format") != PLAN_FORMAT:
        raise PlanRefusedError(f"{name} is not a plan written by `bulkdir import --plan-out`",
                               f"{name} 不是 bulkdir import --plan-out 保存的计划")
    check = document.get("check")
    if not isinstance(check, str) or not hmac.compare_digest(check, _check_of(document)):
        raise PlanRefusedError(
            f"{name} was changed after it was saved (or saved by another user or on another machine): its check "
            "does not match, so nothing in it is applied. Plan again with `bulkdir import --plan-out`.",
            f"{name} 保存后被修改过（或由其他用户、其他电脑保存），校验不符，未执行任何操作；"
            "请重新运行 bulkdir import --plan-out 生成计划。")
    return document, hashlib.sha256(data).hexdigest()


def check_plan_document(document: dict[str, Any], corp_id: str | None, endpoint: str | None) -> list[str]:
    """Everything wrong with a saved plan, in words naming the operation; empty when it can be applied here."""
    problems: list[str] = []
    if document.get("corp_id") != corp_id:
        problems.append(f"it was planned for corp {document.get('corp_id')!r}, not {corp_id!r}")
    options = document.get("options")
    if not isinstance(options, dict):
        return problems + ["its options are missing"]
    if options.get("endpoint") not in (None, endpoint):
        problems.append(f"it was planned against {options.get('endpoint')}, not {endpoint}")
    if options.get("command") != "import":
        problems.append(f"it was planned by {options.get('command')!r}, not by `bulkdir import`")
    given = options.get("delete")
    delete: dict[str, Any] = given if isinstance(given, dict) else {}
    plan = document.get("plan")
    if not isinstance(plan, dict) or not isinstance(plan.get("operations"), list):
        return problems + ["it holds no list of operations"]
    operations: list[Any] = plan["operations"]
    keys = {op.get("key") for op in operations if isinstance(op, dict)}
    for index, op in enumerate(operations, 1):
        problems += [f"operation {index} ({_name(op)}): {text}" for text in _operation_problems(op, delete, keys)]
    for name in ("unchanged", "invalid", "skipped"):
        if not isinstance(plan.get(name, []), list):
            problems.append(f"its {name} list is not a list")
    identities = plan.get("identities", [])
    if not isinstance(identities, list) or not all(
            isinstance(item, list) and len(item) == 5 and item[0] in _SHEETS and _whole(item[1], 1, 10**7)
            and isinstance(item[2], str) and _USERID.match(item[2]) and item[3] in _HOW and isinstance(item[4], bool)
            for item in identities):
        problems.append("its list of how rows were matched is malformed")
    if not isinstance(plan.get("delete_scope"), (int, type(None))) or isinstance(plan.get("delete_scope"), bool):
        problems.append("its delete scope is not a whole number")
    return problems


_HOW = ("mobile", "email", "biz_mail", "userid", "made")


def _name(op: Any) -> str:
    return str(op.get("key"))[:80] if isinstance(op, dict) else "not an object"


def _operation_problems(op: Any, delete: dict[str, Any], keys: set[Any]) -> list[str]:
    if not isinstance(op, dict):
        return ["not an object"]
    if set(op) - _OPERATION_KEYS:
        return ["unknown parts " + ", ".join(sorted(map(str, set(op) - _OPERATION_KEYS)))]
    kind, body, target = op.get("kind"), op.get("body"), op.get("target")
    if kind not in _KINDS:
        return [f"unknown operation kind {str(kind)[:40]!r}"]
    phase, allowed = _KINDS[kind]
    if not isinstance(body, dict) or not isinstance(target, str) or len(target) > _MAX_TEXT:
        return ["its body or target is malformed"]
    problems = []
    if op.get("phase") != phase or not _whole(op.get("depth", 0), 0, 64):
        problems.append("its phase or depth is wrong for its kind")
    if set(body) - allowed:
        problems.append(f"{kind} does not take " + ", ".join(sorted(map(str, set(body) - allowed))))
    problems += _key_problems(op, kind, body, target)
    problems += _body_problems(body)
    rows = op.get("rows", [])
    if not isinstance(rows, list) or not all(isinstance(r, list) and len(r) == 2 and r[0] in _SHEETS
                                             and _whole(r[1], 1, 10**7) for r in rows):
        problems.append("its rows are malformed")
    needs = op.get("needs", [])
    if not isinstance(needs, list) or not all(isinstance(n, str) and n in keys for n in needs):
        problems.append("it needs operations the plan does not hold")
    if kind in ("member_delete", "member_disable") and not delete.get("delete_missing"):
        problems.append("a removal of a member, but the plan was made without --delete-missing")
    elif kind == "member_delete" and delete.get("disable_instead"):
        problems.append("a delete, but the plan was made with --disable-instead")
    elif kind == "member_disable" and not delete.get("disable_instead"):
        problems.append("a disable, but the plan was made without --disable-instead")
    if kind in ("member_delete", "member_disable") and rows:
        problems.append("a member the sheet lists is never removed as missing")
    if kind == "member_disable" and body.get("enable") != 0:
        problems.append("a disable must set enable to 0")
    if kind == "department_delete" and not delete.get("prune_departments"):
        problems.append("a department delete, but the plan was made without --prune-departments")
    return problems


def _key_problems(op: dict[str, Any], kind: str, body: dict[str, Any], target: str) -> list[str]:
    """Each kind's key follows from its target: a changed userid or id shows as a key that no longer matches."""
    key = op.get("key")
    if kind.startswith("member_"):
        userid = body.get("userid")
        if not isinstance(userid, str) or not _USERID.match(userid):
            return ["its userid is not a valid userid"]
        prefix = {"member_create": "member:", "member_update": "member:", "member_leaders": "leaders:",
                  "member_delete": "delete:", "member_disable": "disable:"}[kind]
        if userid != target or key != prefix + userid.lower():
            return ["its key, target and userid disagree"]
        return []
    if not _whole(body.get("id"), 2, _MAX_ID):
        return ["its department id is not a whole number from 2 to 2147483647"]
    if kind == "department_delete":
        return [] if key == f"prune:{body['id']}" else ["its key and department id disagree"]
    name = body.get("name")
    if key != "department:" + target or (name is not None and target.split("/")[-1] != name):
        return ["its key, target and name disagree"]
    if kind == "department_create" and (not isinstance(name, str) or not _whole(body.get("parentid"), 1, _MAX_ID)):
        return ["a department create needs a name and a parent id"]
    return []


def _body_problems(body: dict[str, Any]) -> list[str]:
    problems = []
    for name, value in body.items():
        if name in ("id", "parentid", "main_department"):
            ok = _whole(value, 1, _MAX_ID)
        elif name == "order":
            ok = _whole(value, 0, _MAX_ORDER) or (isinstance(value, list) and len(value) <= 100
                                                   and all(_whole(v, 0, _MAX_ORDER) for v in value))
        elif name == "department":
            ok = isinstance(value, list) and 1 <= len(value) <= 100 and all(_whole(v, 1, _MAX_ID) for v in value)
        elif name == "is_leader_in_dept":
            ok = isinstance(value, list) and len(value) <= 100 and all(_whole(v, 0, 1) for v in value)
        elif name == "direct_leader":
            ok = isinstance(value, list) and len(value) <= 5 and all(isinstance(v, str) and _USERID.match(v)
                                                                     for v in value)
        elif name == "enable":
            ok = _whole(value, 0, 1)
        elif name == "gender":
            ok = value in ("0", "1", "2", 0, 1, 2) and not isinstance(value, bool)
        elif name == "to_invite":
            ok = isinstance(value, bool)
        elif name == "extattr":
            ok = isinstance(value, dict) and len(json.dumps(value, ensure_ascii=False)) <= 64 * _MAX_TEXT
        else:
            ok = isinstance(value, str) and len(value) <= _MAX_TEXT
        if not ok:
            problems.append(f"{name} has a value of the wrong type or size")
    return problems


def _whole(value: Any, low: int, high: int) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and low <= value <= high
