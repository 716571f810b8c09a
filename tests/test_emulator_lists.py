"""Reading a large directory (wecom-api.md Part A7): ignore_fetch_child, max_list_members, a member
hidden from list reads, the legacy `status` parameter. Over real HTTP, asserting errcodes and answers."""

from __future__ import annotations

import pytest

from test_emulator_members import assert_error

LISTS = ["user/simplelist", "user/list"]




def userids(answer: dict) -> list[str]:
    assert answer["errcode"] == 0, answer
    return [row["userid"] for row in answer["userlist"]]


# ---- ignore_fetch_child ----------------------------------------------------------------------------------

@pytest.mark.parametrize("api", LISTS)
def test_ignore_fetch_child_answers_the_departments_own_members_only(emulator, tree, api):
    emulator.faults(ignore_fetch_child=True)
    assert userids(emulator.call(api, department_id=tree["rd"], fetch_child=1)) == ["cto"]
    assert userids(emulator.call(api, department_id=1, fetch_child=1)) == ["ceo"]


@pytest.mark.parametrize("api", LISTS)
def test_fetch_child_is_honoured_again_once_ignore_fetch_child_is_off(emulator, tree, api):
    emulator.faults(ignore_fetch_child=True)
    emulator.faults(ignore_fetch_child=False)
    assert userids(emulator.call(api, department_id=tree["rd"], fetch_child=1)) == ["cto", "dev"]


def test_ignore_fetch_child_from_startup_options(start_emulator):
    emulator = start_emulator(ignore_fetch_child=True)
    rd = emulator.call("department/create", {"name": "研发中心", "parentid": 1})["id"]
    emulator.call("user/create", {"userid": "cto", "name": "CTO", "mobile": "13800000002", "department": [rd]})
    assert userids(emulator.call("user/list", department_id=1, fetch_child=1)) == []
    assert emulator.faults()["ignore_fetch_child"] is True


# ---- max_list_members ------------------------------------------------------------------------------------

def test_user_list_of_more_members_than_max_list_members_answers_45029(emulator, tree):
    emulator.faults(max_list_members=2)
    assert_error(emulator.call("user/list", department_id=1, fetch_child=1), 45029, "response size too large")


def test_user_list_of_exactly_max_list_members_answers(emulator, tree):
    emulator.faults(max_list_members=3)
    assert userids(emulator.call("user/list", department_id=1, fetch_child=1)) == ["ceo", "cto", "dev"]


def test_a_smaller_department_answers_under_max_list_members(emulator, tree):
    emulator.faults(max_list_members=2)
    assert userids(emulator.call("user/list", department_id=tree["rd"], fetch_child=1)) == ["cto", "dev"]


def test_max_list_members_does_not_limit_simplelist(emulator, tree):
    emulator.faults(max_list_members=1)
    assert userids(emulator.call("user/simplelist", department_id=1, fetch_child=1)) == ["ceo", "cto", "dev"]


def test_max_list_members_from_startup_options(start_emulator):
    emulator = start_emulator(max_list_members=1)
    for index in range(2):
        emulator.call("user/create", {"userid": f"m{index}", "name": "成员", "mobile": f"1380000000{index}"})
    assert_error(emulator.call("user/list", department_id=1), 45029, "response size too large")


def test_max_list_members_null_lifts_the_limit(emulator, tree):
    emulator.faults(max_list_members=1)
    emulator.faults(max_list_members=None)
    assert len(userids(emulator.call("user/list", department_id=1, fetch_child=1))) == 3


# ---- hidden_from_lists -----------------------------------------------------------------------------------

@pytest.mark.parametrize("api", LISTS)
def test_hidden_member_is_left_out_of_list_reads(emulator, tree, api):
    emulator.faults(hidden_from_lists=["dev"])
    assert userids(emulator.call(api, department_id=1, fetch_child=1)) == ["ceo", "cto"]
    assert userids(emulator.call(api, department_id=tree["gz"])) == []


def test_hidden_from_lists_compares_userids_case_insensitively(emulator, tree):
    emulator.faults(hidden_from_lists=["DEV", "Cto"])
    assert userids(emulator.call("user/list", department_id=1, fetch_child=1)) == ["ceo"]


def test_hidden_member_is_still_shown_by_user_get_and_list_id(emulator, tree):
    emulator.faults(hidden_from_lists=["dev"])
    assert emulator.call("user/get", userid="dev")["errcode"] == 0
    rows = emulator.call("user/list_id", {"limit": 10000})["dept_user"]
    assert ("dev", tree["gz"]) in [(row["userid"], row["department"]) for row in rows]


def test_hidden_from_lists_from_startup_options(start_emulator):
    emulator = start_emulator(hidden_from_lists=["ghost"])
    emulator.call("user/create", {"userid": "ghost", "name": "幽灵", "mobile": "13800000001"})
    assert userids(emulator.call("user/simplelist", department_id=1)) == []
    assert emulator.faults()["hidden_from_lists"] == ["ghost"]


# ---- the legacy status parameter -------------------------------------------------------------------------

@pytest.mark.parametrize("api", LISTS)
@pytest.mark.parametrize("status", ["0", "1", "4", "junk"])
def test_legacy_status_parameter_is_accepted_and_ignored(emulator, tree, api, status):
    assert userids(emulator.call(api, department_id=1, fetch_child=1, status=status)) == ["ceo", "cto", "dev"]
