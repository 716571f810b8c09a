"""Directory snapshots: full details, the app secret after 48009, hidden private fields, ids only."""

from __future__ import annotations

from bulkdir.config import Settings
from bulkdir.wecom.client import WeComClient
from bulkdir.wecom.directory import fetch_directory


def client_for(emulator, **changes) -> WeComClient:
    settings = dict(corp_id=emulator.corp_id, secret=emulator.secret, app_secret=emulator.app_secret,
                    base_url=emulator.url, rate=600_000, workers=4, timeout=5)
    settings.update(changes)
    return WeComClient(Settings(**settings), backoff=0.01)


def seed(emulator) -> dict[str, int]:
    """研发中心/广州, 研发中心/北京, 市场部; three members, one in two departments."""
    with client_for(emulator) as client:
        research = client.department_create({"name": "研发中心", "parentid": 1, "order": 10})
        guangzhou = client.department_create({"name": "广州", "parentid": research})
        beijing = client.department_create({"name": "北京", "parentid": research})
        market = client.department_create({"name": "市场部", "parentid": 1})
        client.user_create({"userid": "ZhangSan", "name": "张三", "mobile": "13800000001",
                            "department": [guangzhou, market], "position": "工程师"})
        client.user_create({"userid": "lisi", "name": "李四", "email": "lisi@example.com",
                            "department": [beijing]})
        client.user_create({"userid": "wangwu", "name": "王五", "mobile": "13800000003", "department": [1]})
    return {"research": research, "guangzhou": guangzhou, "beijing": beijing, "market": market}


def test_detail_snapshot_has_the_tree_and_every_field(emulator) -> None:
    ids = seed(emulator)
    with client_for(emulator) as client:
        directory = fetch_directory(client)
    assert (directory.mode, directory.missing, directory.private_fields_hidden) == ("detail", [], False)
    assert directory.root_name == emulator.state()["corp_name"]
    assert directory.path_of(1) == ()
    assert directory.path_of(ids["guangzhou"]) == ("研发中心", "广州")
    assert directory.id_of(("研发中心", "北京")) == ids["beijing"]
    assert directory.id_of(()) == 1 and directory.id_of(("研发中心", "上海")) is None
    assert directory.departments[ids["research"]].order == 10
    assert sorted(directory.members) == ["lisi", "wangwu", "zhangsan"]  # keys are lower-cased
    zhangsan = directory.member("ZHANGSAN")
    assert (zhangsan["userid"], zhangsan["mobile"], zhangsan["position"]) == ("ZhangSan", "13800000001", "工程师")
    assert sorted(m["userid"] for m in directory.members_in(ids["research"])) == ["ZhangSan", "lisi"]
    assert [m["userid"] for m in directory.members_in(ids["research"], recursive=False)] == []
    assert len(directory.members_in(1)) == 3
    assert [d.name for d in directory.children_of(1)] == ["研发中心", "市场部"]


def test_48009_falls_back_to_the_app_secret(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True)
    ids = seed(emulator)
    with client_for(emulator) as client:
        directory = fetch_directory(client)
    assert directory.mode == "app-secret"
    assert directory.path_of(ids["guangzhou"]) == ("研发中心", "广州")
    assert directory.member("lisi")["email"] == "lisi@example.com"
    assert (directory.missing, directory.private_fields_hidden) == ([], False)
    assert emulator.stats()["errors"]["48009"] == 1  # learned once, then the app secret read the rest


def test_hidden_private_fields_are_detected(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True, hide_private_fields=True)
    seed(emulator)
    with client_for(emulator) as client:
        directory = fetch_directory(client)
    assert directory.mode == "app-secret"
    assert directory.private_fields_hidden
    assert directory.member("zhangsan")["mobile"] == "" and directory.member("zhangsan")["name"] == "张三"
    assert any("mobile" in item and "2022" in item for item in directory.missing)


def test_private_fields_come_back_with_the_sync_secret(start_emulator) -> None:
    emulator = start_emulator(hide_private_fields=True)  # hides them from apps only
    seed(emulator)
    with client_for(emulator) as client:
        directory = fetch_directory(client)
    assert directory.mode == "detail" and not directory.private_fields_hidden
    assert directory.member("wangwu")["mobile"] == "13800000003"


def test_ids_only_when_no_detail_read_is_allowed(start_emulator) -> None:
    emulator = start_emulator(restrict_details=True)
    ids = seed(emulator)
    with client_for(emulator, app_secret=None) as client:
        directory = fetch_directory(client)
    assert directory.mode == "ids-only"
    assert set(directory.departments) == {1, *ids.values()}
    assert directory.departments[ids["guangzhou"]].parentid == ids["research"]
    assert directory.departments[ids["guangzhou"]].name is None
    assert directory.path_of(ids["guangzhou"]) == (None, None)
    assert directory.id_of(("研发中心", "广州")) is None  # names are unknown: nothing matches by name
    assert sorted(directory.member("zhangsan")["department"]) == sorted([ids["guangzhou"], ids["market"]])
    assert directory.member("zhangsan")["name"] == "张三"  # user/simplelist still answers
    assert "mobile" not in directory.member("zhangsan")
    assert len(directory.missing) == 2
    assert "department names" in directory.missing[0] and "--app-secret" in directory.missing[0]
    assert "mobile" in directory.missing[1]


def test_progress_is_reported(emulator) -> None:
    seed(emulator)
    seen: list[tuple[int, int]] = []
    with client_for(emulator) as client:
        fetch_directory(client, progress=lambda done, total: seen.append((done, total)))
    assert seen and seen[-1][0] == seen[-1][1]
