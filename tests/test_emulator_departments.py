"""The emulator's department rules (wecom-api.md Part A4), each errcode with its errmsg, over real HTTP."""

from __future__ import annotations

import pytest

from test_emulator_members import assert_error


def create(emulator, name: str, parentid: int = 1, **fields) -> dict:
    return emulator.call("department/create", {"name": name, "parentid": parentid, **fields})


def test_root_exists_with_the_corps_name(emulator):
    answer = emulator.call("department/get", id=1)
    assert answer["errcode"] == 0
    assert answer["department"] == {"id": 1, "name": "示例企业", "name_en": "", "department_leader": [],
                                     "parentid": 0, "order": 100000000}


def test_create_answers_created_with_the_next_id(emulator):
    assert create(emulator, "研发中心") == {"errcode": 0, "errmsg": "created", "id": 2}
    assert create(emulator, "销售部", id=40)["id"] == 40
    assert create(emulator, "市场部")["id"] == 41


def test_created_department_has_every_field(emulator):
    create(emulator, "研发中心", order=5, name_en="R&D")
    assert emulator.call("department/get", id=2)["department"] == {
        "id": 2, "name": "研发中心", "name_en": "R&D", "department_leader": [], "parentid": 1, "order": 5}


@pytest.mark.parametrize("name", ["", "   ", "部" * 65])
def test_create_name_empty_or_too_long_answers_60001(emulator, name):
    assert_error(create(emulator, name), 60001, "department name length invalid")


@pytest.mark.parametrize("char", list('\\:*?"<>|'))
def test_create_name_with_forbidden_character_answers_60009(emulator, char):
    assert_error(create(emulator, f"研发{char}中心"), 60009, "department name contains illegal characters")


def test_create_without_parent_answers_60004(emulator):
    assert_error(emulator.call("department/create", {"name": "研发中心"}), 60004, "parent department not found")


def test_create_under_unknown_parent_answers_60004(emulator):
    assert_error(create(emulator, "研发中心", parentid=99), 60004, "parent department not found")


def test_create_sibling_with_the_same_name_answers_60008(emulator):
    create(emulator, "研发中心")
    assert_error(create(emulator, "研发中心"), 60008, "department existed")


def test_same_name_under_another_parent_is_accepted(emulator):
    create(emulator, "研发中心")
    create(emulator, "销售部")
    assert create(emulator, "广州", parentid=2)["errcode"] == 0
    assert create(emulator, "广州", parentid=3)["errcode"] == 0


def test_create_with_a_taken_id_answers_60008(emulator):
    create(emulator, "研发中心", id=5)
    assert_error(create(emulator, "销售部", id=5), 60008, "department existed")


@pytest.mark.parametrize("given_id", [1, 0, -3, "abc", 1.5])
def test_create_with_id_not_an_integer_above_1_answers_40058(emulator, given_id):
    assert_error(create(emulator, "研发中心", id=given_id), 40058, "invalid Request Parameter")


def test_create_deeper_than_15_levels_answers_81002(emulator):
    parent = 1
    for level in range(2, 16):  # the root is level 1
        parent = create(emulator, f"第{level}级", parentid=parent)["id"]
    assert_error(create(emulator, "第16级", parentid=parent), 81002, "department level exceed limit")


# ---- update ------------------------------------------------------------------------------------------

def test_update_changes_only_the_given_fields(emulator):
    create(emulator, "研发中心", order=5)
    assert emulator.call("department/update", {"id": 2, "name": "研发部"}) == {"errcode": 0, "errmsg": "updated"}
    department = emulator.call("department/get", id=2)["department"]
    assert (department["name"], department["order"], department["parentid"]) == ("研发部", 5, 1)


def test_department_leaders_are_looked_up_without_case(emulator):
    emulator.call("user/create", {"userid": "Boss", "name": "老板", "mobile": "13800000000"})
    assert create(emulator, "研发中心", department_leader=["BOSS"])["errcode"] == 0
    assert_error(create(emulator, "销售部", department_leader=["ghost"]), 60111, "userid not found")


def test_update_unknown_id_answers_60003(emulator):
    assert_error(emulator.call("department/update", {"id": 99, "name": "x"}), 60003, "department not found")


@pytest.mark.parametrize("descendant", [False, True])
def test_update_moving_under_itself_or_a_descendant_answers_60010(emulator, descendant):
    create(emulator, "研发中心")
    create(emulator, "广州", parentid=2)
    target = 3 if descendant else 2
    assert_error(emulator.call("department/update", {"id": 2, "parentid": target}), 60010, "department circle")


def test_update_moving_to_an_unknown_parent_answers_60004(emulator):
    create(emulator, "研发中心")
    assert_error(emulator.call("department/update", {"id": 2, "parentid": 99}), 60004, "parent department not found")


def test_update_renaming_to_a_siblings_name_answers_60008(emulator):
    create(emulator, "研发中心")
    create(emulator, "销售部")
    assert_error(emulator.call("department/update", {"id": 3, "name": "研发中心"}), 60008, "department existed")


def test_update_with_a_forbidden_character_answers_60009(emulator):
    create(emulator, "研发中心")
    assert_error(emulator.call("department/update", {"id": 2, "name": "a|b"}), 60009, "department name contains")


def test_update_moving_a_subtree_too_deep_answers_81002(emulator):
    parent = 1
    for level in range(2, 16):
        parent = create(emulator, f"第{level}级", parentid=parent)["id"]
    top = create(emulator, "新部门")["id"]
    create(emulator, "新部门下", parentid=top)
    assert_error(emulator.call("department/update", {"id": top, "parentid": parent - 1}), 81002,
                 "department level exceed limit")


# ---- delete --------------------------------------------------------------------------------------------

def test_delete_answers_deleted_and_the_department_is_gone(emulator):
    create(emulator, "研发中心")
    assert emulator.call("department/delete", id=2) == {"errcode": 0, "errmsg": "deleted"}
    assert_error(emulator.call("department/get", id=2), 60003, "department not found")


def test_delete_root_answers_60007(emulator):
    assert_error(emulator.call("department/delete", id=1), 60007, "not allow to delete root department")


def test_delete_unknown_answers_60003(emulator):
    assert_error(emulator.call("department/delete", id=99), 60003, "department not found")


def test_delete_with_sub_departments_answers_60006(emulator):
    create(emulator, "研发中心")
    create(emulator, "广州", parentid=2)
    assert_error(emulator.call("department/delete", id=2), 60006, "department contains sub-department")


def test_delete_with_members_answers_60005(emulator):
    create(emulator, "研发中心")
    emulator.call("user/create", {"userid": "zs", "name": "张三", "mobile": "13800000000", "department": [2]})
    assert_error(emulator.call("department/delete", id=2), 60005, "department contains user")


# ---- reads ---------------------------------------------------------------------------------------------

@pytest.fixture
def tree(emulator) -> None:
    create(emulator, "研发中心", order=1)   # 2
    create(emulator, "销售部", order=9)     # 3
    create(emulator, "广州", parentid=2)    # 4


def test_list_without_id_answers_the_whole_tree_parents_first(emulator, tree):
    answer = emulator.call("department/list")
    assert answer["errcode"] == 0
    assert [(d["id"], d["parentid"]) for d in answer["department"]] == [(1, 0), (3, 1), (2, 1), (4, 2)]
    assert set(answer["department"][0]) == {"id", "name", "name_en", "department_leader", "parentid", "order"}


def test_list_with_id_answers_that_department_and_its_descendants(emulator, tree):
    assert [d["id"] for d in emulator.call("department/list", id=2)["department"]] == [2, 4]


def test_simplelist_answers_id_parentid_order(emulator, tree):
    answer = emulator.call("department/simplelist", id=2)
    assert answer["department_id"] == [{"id": 2, "parentid": 1, "order": 1}, {"id": 4, "parentid": 2, "order": 0}]


@pytest.mark.parametrize("api", ["department/list", "department/simplelist", "department/get"])
def test_reads_of_an_unknown_id_answer_60003(emulator, api):
    assert_error(emulator.call(api, id=99), 60003, "department not found")
