"""利用 security as role × action × 密级 cases (issue #19, "Bad input and security"):

* a request for an item the requester may not see answers exactly as one for a missing item, at
  every 密级, by 电子文件号 and by 文号;
* an approver (档案管理员 first step, 安全保密管理员 second) decides only items within their own
  clearance, at every pair of item 密级 × approver clearance; the second step is needed exactly for
  the configured levels;
* a grant widens only the named item and the named 利用方式 — not its siblings of the same 密级,
  not another method — and the reader's clearance stays as it was;
* nobody decides their own request, and roles without the right neither decide nor revoke;
* every decision, grant, revocation and refused attempt is in the audit chain.

Expected outcomes come from the rank order written here, not from the code under test.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from lantai.catalog.models import AuditEntry, Item
from lantai.domain.permissions import Role
from tests.api.conftest import World
from tests.api.test_use import CONTENT, U, _shape, account, ask, decide, secret_item

LEVELS = ("公开", "内部", "秘密", "机密", "绝密")
RANK = {level: n for n, level in enumerate(LEVELS)}
TWO_STEP = {"秘密", "机密", "绝密"}  # LANTAI_USE_TWO_STEP_LEVELS' default


@pytest.fixture(scope="module")
def items(world: World) -> dict[str, tuple[str, str]]:
    """Two items per 密级 (one to grant, one sibling that must stay hidden): level → (id, sibling id)."""
    return {level: (secret_item(world, level), secret_item(world, level)) for level in LEVELS}


def _number(world: World, record_id: str) -> str:
    with world.archive.sessions() as session:
        return str(session.scalar(select(Item.document_number).where(Item.record_id == record_id)))


def _actions(world: World, actor: str) -> list[str]:
    with world.archive.sessions() as session:
        return list(session.scalars(select(AuditEntry.action).where(AuditEntry.actor == actor)
                                    .order_by(AuditEntry.seq)))


@pytest.mark.parametrize("level", LEVELS)
def test_a_request_reveals_nothing_about_an_item_it_may_not_see(world: World, items, level: str) -> None:
    reader = account(world, Role.READER, "公开")
    record_id = items[level][0]
    asked = ask(reader, [{"record_id": record_id}])
    by_number = ask(reader, [f"文号:{_number(world, record_id)}"])
    missing = ask(reader, [{"record_id": "Z109-WS-2025-NOPE9"}])
    missing_number = ask(reader, ["文号:X政办发〔2025〕999号"])
    if level == "公开":
        assert [i["record_id"] for i in asked["items"][0]["items"]] == [record_id]
        return
    assert _shape(asked) | {"items": None} == _shape(missing) | {"items": None}
    assert [(i["kind"], i["items"]) for i in asked["items"]] == [("record_id", [])]
    assert [(i["kind"], i["items"]) for i in by_number["items"]] == [(i["kind"], i["items"]) for i in missing_number["items"]]
    assert level not in str(asked) + str(by_number)


@pytest.mark.parametrize("level", LEVELS)
@pytest.mark.parametrize("clearance", ("内部", "秘密", "机密", "绝密"))
def test_the_archivist_decides_only_within_their_clearance(world: World, items, level: str, clearance: str) -> None:
    reader = account(world, Role.READER, "公开")
    archivist = account(world, Role.ARCHIVIST, clearance)
    request = ask(reader, [{"record_id": items[level][0]}])
    response = decide(archivist, request["id"])
    if RANK[level] > RANK[clearance]:
        assert response.status_code == 403 and "密级" in response.json()["message"], response.text
        assert "access.denied" in _actions(world, archivist.username)  # type: ignore[attr-defined]
        assert reader.get(f"{U}/items/{items[level][0]}").status_code == (200 if level == "公开" else 404)
        return
    assert response.status_code == 200, response.text
    assert response.json()["status"] == ("待保密审核" if level in TWO_STEP else "已批准")
    assert "use.decided" in _actions(world, archivist.username)  # type: ignore[attr-defined]


@pytest.mark.parametrize("level", sorted(TWO_STEP, key=RANK.get))
@pytest.mark.parametrize("clearance", ("秘密", "机密", "绝密"))
def test_the_security_step_decides_only_within_clearance_and_the_grant_is_narrow(
        world: World, items, level: str, clearance: str) -> None:
    reader = account(world, Role.READER, "内部")
    security = account(world, Role.SECADMIN, clearance)
    granted, sibling = items[level]
    request = ask(reader, [{"record_id": granted}], ("在线阅览",))
    assert decide(account(world, Role.ARCHIVIST, "绝密"), request["id"]).json()["status"] == "待保密审核"
    response = decide(security, request["id"])
    name = security.username  # type: ignore[attr-defined]
    if RANK[level] > RANK[clearance]:
        assert response.status_code == 403 and "access.denied" in _actions(world, name)
        assert reader.get(f"{U}/items/{granted}").status_code == 404
        return
    result = response.json()
    assert result["status"] == "已批准" and result["grant_id"]
    assert {"use.decided", "use.granted"} <= set(_actions(world, name))
    assert reader.get(f"{U}/items/{granted}").status_code == 200
    assert reader.get(f"{U}/items/{sibling}").status_code == 404  # same 密级, not named
    assert reader.get(f"{U}/items/{granted}/content", params=CONTENT | {"disposition": "inline"}).status_code == 200
    assert reader.get(f"{U}/items/{granted}/content", params=CONTENT).status_code == 404  # 下载 not named
    found = reader.get(f"{U}/search", params={"q": _number(world, granted)}).json()
    assert [i["record_id"] for i in found["items"]] == [granted]
    assert reader.get(f"{U}/search", params={"q": _number(world, sibling)}).json()["total"] == 0
    assert reader.get(f"{U}/me").json()["clearance"] == "内部"


@pytest.mark.parametrize("role", (Role.READER, Role.CLERK, Role.AUDITOR, Role.SYSADMIN))
def test_roles_without_the_right_neither_decide_nor_revoke(world: World, items, role: Role) -> None:
    reader = account(world, Role.READER, "公开")
    actor = account(world, role, "绝密" if role is not Role.READER else "公开")
    pending = ask(reader, [{"record_id": items["内部"][0]}])
    assert decide(actor, pending["id"]).status_code == 403
    granted = ask(reader, [{"record_id": items["内部"][1]}])
    grant_id = decide(account(world, Role.ARCHIVIST, "机密"), granted["id"]).json()["grant_id"]
    assert actor.delete(f"{U}/grants/{grant_id}").status_code == 403
    assert reader.delete(f"{U}/grants/{grant_id}").status_code == 403  # the grantee neither
    assert reader.get(f"{U}/items/{items['内部'][1]}").status_code == 200  # still in force
    assert _actions(world, actor.username).count("access.denied") >= 1  # type: ignore[attr-defined]


@pytest.mark.parametrize("level", ("公开", "秘密"))
def test_nobody_decides_their_own_request(world: World, items, level: str) -> None:
    archivist = account(world, Role.ARCHIVIST, "绝密")
    request = ask(archivist, [{"record_id": items[level][0]}])
    response = decide(archivist, request["id"])
    assert response.status_code == 403 and "本人" in response.json()["message"]
    if level in TWO_STEP:  # after another archivist's first step, the second is still not theirs
        assert decide(account(world, Role.ARCHIVIST, "绝密"), request["id"]).json()["status"] == "待保密审核"
        assert decide(archivist, request["id"]).status_code == 403
