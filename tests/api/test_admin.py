"""系统管理 routes and the separation of the three administrators."""

from __future__ import annotations

from tests.api.conftest import PASSWORD, World


def test_sysadmin_manages_accounts_but_not_clearances(world: World) -> None:
    admin = world.client("sysadmin")
    created = admin.post("/api/v1/users", json={"username": "newreader", "password": PASSWORD,
                                                 "display_name": "新读者", "roles": ["利用者"]})
    assert created.status_code == 201 and created.json()["clearance"] == "公开"
    assert admin.post("/api/v1/users", json={"username": "newreader", "password": PASSWORD}).status_code == 409
    assert admin.get("/api/v1/users/newreader").json()["display_name"] == "新读者"
    assert admin.get("/api/v1/users/ghost").status_code == 404
    assert admin.patch("/api/v1/users/newreader", json={"roles": ["利用者", "文书"]}).json()["roles"] == ["文书", "利用者"]
    assert admin.put("/api/v1/users/newreader/password", json={"password": "Reset#Pass2026"}).status_code == 200
    assert admin.put("/api/v1/users/newreader/clearance", json={"clearance": "秘密"}).status_code == 403
    assert any(u["username"] == "newreader" for u in admin.get("/api/v1/users").json())


def test_nobody_changes_their_own_roles_or_clearance(world: World) -> None:
    assert world.client("sysadmin").patch("/api/v1/users/sysadmin", json={"roles": ["系统管理员", "档案管理员"]}).status_code == 403
    assert world.client("secadmin").put("/api/v1/users/secadmin/clearance", json={"clearance": "绝密"}).status_code == 403


def test_secadmin_grants_clearance_but_cannot_manage_accounts(world: World) -> None:
    sec = world.client("secadmin")
    world.client("sysadmin").post("/api/v1/users", json={"username": "promoted", "password": PASSWORD, "roles": ["利用者"]})
    granted = sec.put("/api/v1/users/promoted/clearance", json={"clearance": "秘密"})
    assert granted.status_code == 200 and granted.json()["clearance"] == "秘密"
    assert sec.put("/api/v1/users/promoted/clearance", json={"clearance": "最高"}).status_code == 400
    assert sec.post("/api/v1/users", json={"username": "x-by-sec", "password": PASSWORD}).status_code == 403
    assert sec.patch("/api/v1/users/promoted", json={"active": False}).status_code == 403
    assert sec.get("/api/v1/audit").status_code == 403


def test_auditor_reads_verifies_and_exports_the_chain_only(world: World) -> None:
    auditor = world.client("auditor")
    page = auditor.get("/api/v1/audit", params={"page_size": 5})
    assert page.status_code == 200 and len(page.json()["entries"]) == 5
    assert page.json()["entries"][0]["seq"] > page.json()["entries"][-1]["seq"]
    verified = auditor.get("/api/v1/audit/verify").json()
    assert verified["ok"] is True and verified["entries"] > 10
    exported = auditor.get("/api/v1/audit/export")
    assert exported.status_code == 200 and exported.text.count("\n") >= verified["entries"]
    filtered = auditor.get("/api/v1/audit", params={"action": "user.created"}).json()
    assert filtered["total"] >= 6 and {e["action"] for e in filtered["entries"]} == {"user.created"}
    for forbidden in ("/api/v1/items", "/api/v1/users", "/api/v1/statistics", "/api/v1/search?q=通知"):
        assert auditor.get(forbidden).status_code == 403, forbidden


def test_administrative_acts_are_audited(world: World) -> None:
    world.client("sysadmin").post("/api/v1/users", json={"username": "audited", "password": PASSWORD})
    entries = world.client("auditor").get("/api/v1/audit", params={"actor": "sysadmin", "action": "user.created"}).json()
    assert any(e["target"] == "audited" for e in entries["entries"])
