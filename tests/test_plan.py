"""Planning: records against a Directory snapshot, without any HTTP (the snapshot is built by hand)."""

from __future__ import annotations

import pytest

from bulkdir.plan import (
    PHASE_DELETES,
    PHASE_DEPARTMENTS,
    PHASE_LEADERS,
    PHASE_MEMBERS,
    DeleteOptions,
    Plan,
    RefusedError,
    build_plan,
    check_delete_brake,
    same_value,
)
from bulkdir.schema import Department, Member
from bulkdir.wecom.directory import DirDepartment, Directory


def directory(members: list[dict] | None = None, mode: str = "detail") -> Directory:
    departments = {
        1: DirDepartment(1, "示例企业", 0, path=()),
        2: DirDepartment(2, "研发中心", 1, order=3, path=("研发中心",)),
        3: DirDepartment(3, "广州", 2, path=("研发中心", "广州")),
    }
    return Directory(departments, {m["userid"].lower(): m for m in members or []}, mode)  # type: ignore[arg-type]


ZHANG = {"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [2], "order": [0],
         "is_leader_in_dept": [0], "main_department": 2, "position": "工程师", "alias": "Zhang", "enable": 1,
         "direct_leader": []}


def member(row: int, userid: str, departments=None, **values) -> Member:
    return Member(row, {"userid": userid, **values}, departments if departments is not None else [],
                  (departments or [None])[0], set())


def test_new_paths_are_created_parents_first_with_planned_ids() -> None:
    plan = build_plan([member(2, "a", [("华南", "广州", "天河")], name="甲", mobile="13900000001"),
                        member(3, "b", [("研发中心", "广州", "一组")], name="乙", mobile="13900000002")],
                       [], directory())
    creates = [(op.target, op.body["id"], op.body["parentid"])
               for op in plan.ordered() if op.phase == PHASE_DEPARTMENTS]
    assert creates == [("华南", 4, 1), ("华南/广州", 5, 4), ("华南/广州/天河", 6, 5), ("研发中心/广州/一组", 7, 3)]
    a = next(op for op in plan.operations if op.target == "a")
    assert a.body["department"] == [6] and a.body["main_department"] == 6
    assert set(a.needs) == {"department:华南", "department:华南/广州", "department:华南/广州/天河"}


def test_phases_departments_members_leaders_then_deletes() -> None:
    snapshot = directory([dict(ZHANG), {"userid": "old", "name": "旧", "department": [2]}])
    plan = build_plan([member(2, "zhangsan", [("研发中心",)], name="张三", direct_leader=["new"]),
                        member(3, "new", [("市场部",)], name="新", mobile="13900000003")],
                       [], snapshot, deletes=DeleteOptions(delete_missing=True, allow_mass_delete=True))
    assert [op.phase for op in plan.ordered()] == [PHASE_DEPARTMENTS, PHASE_MEMBERS, PHASE_LEADERS, PHASE_DELETES]
    assert [op.kind for op in plan.ordered()] == ["department_create", "member_create", "member_leaders",
                                                  "member_delete"]
    leaders = next(op for op in plan.operations if op.kind == "member_leaders")
    assert leaders.body == {"userid": "zhangsan", "direct_leader": ["new"]} and "member:new" in leaders.needs
    # zhangsan's own row needs nothing else: his leader link goes in the second pass
    assert plan.unchanged[0].target == "zhangsan"


def test_update_sends_only_changed_fields_and_blank_leaves_as_is() -> None:
    plan = build_plan([member(2, "ZhangSan", [("研发中心",)], name="张三", position="经理")], [],
                       directory([dict(ZHANG)]))
    [op] = plan.operations
    assert op.kind == "member_update" and op.body == {"userid": "ZhangSan", "position": "经理"}
    assert op.before == {"exists": True, "fields": {"position": "工程师"}}


def test_clear_marker_clears_only_what_is_set() -> None:
    record = member(2, "zhangsan", [], name="张三")
    record.clear = {"alias", "telephone"}
    [op] = build_plan([record], [], directory([dict(ZHANG)])).operations
    assert op.body == {"userid": "zhangsan", "alias": ""}


def test_order_and_leader_flags_go_only_together_with_department() -> None:
    same = member(2, "zhangsan", [("研发中心",)], name="张三", order=[0], is_leader_in_dept=[0])
    plan = build_plan([same], [], directory([dict(ZHANG)]))
    assert plan.operations == [] and plan.unchanged[0].target == "zhangsan"
    moved = member(2, "zhangsan", [("研发中心", "广州")], name="张三", order=[0], is_leader_in_dept=[1])
    [op] = build_plan([moved], [], directory([dict(ZHANG)])).operations
    assert op.body == {"userid": "zhangsan", "department": [3], "order": [0], "is_leader_in_dept": [1],
                       "main_department": 3}
    flag_only = member(2, "zhangsan", [("研发中心",)], name="张三", is_leader_in_dept=[1])
    [op] = build_plan([flag_only], [], directory([dict(ZHANG)])).operations
    assert op.body == {"userid": "zhangsan", "department": [2], "is_leader_in_dept": [1]}


def test_ids_only_mode_updates_every_field_and_says_so() -> None:
    snapshot = directory([{"userid": "zhangsan", "department": [2], "name": "张三"}], mode="ids-only")
    plan = build_plan([member(2, "zhangsan", [2], name="张三", mobile="13800000001")], [], snapshot)
    [op] = plan.operations
    assert op.body == {"userid": "zhangsan", "name": "张三", "mobile": "13800000001", "department": [2],
                       "main_department": 2}
    assert any("every field" in note for note in plan.notes)


def test_unknown_department_id_makes_the_row_invalid() -> None:
    plan = build_plan([member(2, "a", [99], name="甲", mobile="13900000001")], [], directory())
    assert plan.operations == [] and "99" in plan.invalid[("members", 2)]


def test_departments_sheet_matched_by_id_else_by_path() -> None:
    plan = build_plan([member(5, "a", [("研发部", "广州")], name="甲", mobile="13900000001")],
                       [Department(2, ("研发部",), 2, 3), Department(3, ("研发部", "广州"), None, 7),
                        Department(4, ("新部门",), 30, None)], directory())
    by_target = {op.target: op for op in plan.operations}
    assert by_target["研发部"].body == {"id": 2, "name": "研发部"}  # renamed, matched by id
    assert by_target["研发部/广州"].body == {"id": 3, "order": 7}  # found under its parent's new name
    assert by_target["新部门"].body == {"name": "新部门", "parentid": 1, "id": 30}
    assert by_target["a"].body["department"] == [3]
    assert len(plan.operations) == 4


def test_a_department_moved_by_id_gets_its_new_parent_after_that_parent_is_created() -> None:
    plan = build_plan([], [Department(2, ("新中心",), None, None), Department(3, ("新中心", "广州"), 3, 9)],
                       directory())
    create, move = plan.ordered()
    assert (create.kind, create.body) == ("department_create", {"name": "新中心", "parentid": 1, "id": 4})
    assert (move.kind, move.body) == ("department_update", {"id": 3, "parentid": 4, "order": 9})
    assert move.needs == ["department:新中心"] and move.depth > create.depth


# the platform's rule (more than 50 and 20%, or 80% of fewer than 50) without its gap at 50: never all
# of those in scope, never 80% or more
@pytest.mark.parametrize("deletes, in_scope, refused", [
    (50, 100, False), (51, 100, True), (51, 300, False), (61, 300, True), (60, 300, False),
    (7, 10, False), (8, 10, True), (9, 10, True), (39, 49, False), (40, 49, True), (0, 0, False),
    (50, 51, True), (50, 50, True), (1, 1, True), (1, 2, False), (45, 55, True), (43, 55, False)])
def test_the_delete_brake(deletes: int, in_scope: int, refused: bool) -> None:
    assert check_delete_brake(deletes, in_scope) is refused


def test_delete_missing_refuses_past_the_brake() -> None:
    members = [{"userid": f"u{i}", "name": "x", "department": [2]} for i in range(10)]
    with pytest.raises(RefusedError, match="refusing to delete 9 of the 10"):
        build_plan([member(2, "u0", [("研发中心",)], name="x")], [], directory(members),
                    deletes=DeleteOptions(delete_missing=True))


def test_same_value_compares_like_the_platform_stores() -> None:
    assert same_value("direct_leader", ["LiSi"], ["lisi"])
    assert same_value("gender", "1", 1) and same_value("enable", 0, "0")
    assert not same_value("position", "经理", "工程师")
    assert same_value("alias", "", None)


def test_a_plan_survives_json() -> None:
    plan = build_plan([member(2, "a", [("华南",)], name="甲", mobile="13900000001")], [], directory())
    again = Plan.from_json(plan.to_json())
    assert [op.to_json() for op in again.ordered()] == [op.to_json() for op in plan.ordered()]


def test_docstring_examples_hold():
    import doctest

    import bulkdir.plan

    failures, tried = doctest.testmod(bulkdir.plan)
    assert failures == 0 and tried > 0
