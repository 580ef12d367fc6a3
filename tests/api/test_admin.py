"""系统管理 and 三员分立: each administrator does its own job and none can become another.

Every attack from issue #15 point 1 has a test here: the 系统管理员 obtaining a token for someone
else, creating a 安全保密管理员 to raise its own clearance, resetting passwords without the old
one, giving roles on the web admin page; the 安全保密管理员 granting above its own clearance.
"""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from lantai.domain.roles import Role
from tests.api.conftest import INTERNAL_ID, PASSWORD, PUBLIC_ID, SECRET_ID, World

NEW_PASSWORD = "Changed#Pass2026"


def _login_web(world: World, username: str, password: str = PASSWORD) -> tuple[TestClient, str]:
    client = TestClient(world.app, raise_server_exceptions=False)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    client.post("/login", data={"username": username, "password": password, "csrf_token": token},
                follow_redirects=False)
    page = client.get("/account")
    return client, re.search(r'"X-CSRF-Token": "([^"]+)"', page.text).group(1)


def _first_login(world: World, username: str, initial: str) -> TestClient:
    """Log in with an initial password and change it, as a new user must."""
    client = world.session_client(username, initial)
    assert client.get("/api/v1/items").json()["code"] == "password_change_required"
    changed = client.put("/api/v1/me/password", json={"old_password": initial, "new_password": NEW_PASSWORD},
                         headers={"X-CSRF-Token": client.csrf})
    assert changed.status_code == 200, changed.text
    return client


def test_sysadmin_manages_accounts_but_not_roles_or_clearance(world: World) -> None:
    admin = world.client("sysadmin")
    created = admin.post("/api/v1/users", json={"username": "newreader", "password": PASSWORD,
                                                 "display_name": "新读者", "roles": ["利用者"]})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["clearance"] == "公开" and body["roles"] == [] and body["pending_roles"] == ["利用者"]
    assert body["must_change_password"] is True
    assert admin.post("/api/v1/users", json={"username": "newreader", "password": PASSWORD}).status_code == 409
    assert admin.get("/api/v1/users/newreader").json()["display_name"] == "新读者"
    assert admin.get("/api/v1/users/ghost").status_code == 404
    assert admin.put("/api/v1/users/newreader/roles", json={"roles": ["利用者"]}).status_code == 403
    assert admin.patch("/api/v1/users/newreader", json={"roles": ["利用者"]}).status_code == 422
    assert admin.put("/api/v1/users/newreader/clearance", json={"clearance": "秘密"}).status_code == 403
    assert admin.post("/api/v1/users/newreader/approve").status_code == 403
    approved = world.client("secadmin").post("/api/v1/users/newreader/approve")
    assert approved.status_code == 200 and approved.json()["roles"] == ["利用者"]


def test_sysadmin_reads_no_records_and_no_audit(world: World) -> None:
    admin = world.client("sysadmin")
    for path in ("/api/v1/items", f"/api/v1/items/{PUBLIC_ID}", f"/api/v1/items/{PUBLIC_ID}/content?path=content/正文.pdf",
                 f"/api/v1/items/{PUBLIC_ID}/package", "/api/v1/search?q=通知", "/api/v1/audit", "/api/v1/statistics",
                 "/api/v1/export/catalogue.csv"):
        assert admin.get(path).status_code == 403, path


def test_sysadmin_cannot_get_a_token_for_anyone_else(world: World) -> None:
    admin = world.client("sysadmin")
    for victim in ("archivist", "auditor", "secadmin"):
        response = admin.post("/api/v1/tokens", json={"username": victim, "name": "x", "scopes": ["read"]})
        assert response.status_code == 403, (victim, response.text)
    # Not from a token either: a token never mints tokens, not even its owner's.
    assert admin.post("/api/v1/tokens", json={"name": "own", "scopes": ["read"]}).status_code == 403
    web, csrf = _login_web(world, "sysadmin")
    refused = web.post("/admin/tokens", data={"username": "archivist", "name": "x", "csrf_token": csrf})
    assert refused.status_code == 403 and 'id="new-token"' not in refused.text


def test_sysadmin_cannot_make_an_administrator_alone(world: World) -> None:
    admin = world.client("sysadmin")
    made = admin.post("/api/v1/users", json={"username": "sec2", "password": PASSWORD, "roles": [Role.SECADMIN.value]})
    assert made.status_code == 201 and made.json()["roles"] == [] and made.json()["pending_roles"] == [Role.SECADMIN.value]
    # The new account cannot grant anything before a second administrator approves it.
    web = _first_login(world, "sec2", PASSWORD)
    refused = web.put("/api/v1/users/sysadmin/clearance", json={"clearance": "绝密"}, headers={"X-CSRF-Token": web.csrf})
    assert refused.status_code == 403
    assert admin.post("/api/v1/users/sec2/approve").status_code == 403
    assert world.client("auditor").post("/api/v1/users/sec2/approve").status_code == 403
    assert world.client("secadmin").post("/api/v1/users/sec2/approve").json()["roles"] == [Role.SECADMIN.value]
    # Approved, it may grant clearance to others (up to its own, 公开) — and never to itself.
    own = web.put("/api/v1/users/sec2/clearance", json={"clearance": "公开"}, headers={"X-CSRF-Token": web.csrf})
    assert own.status_code == 403


def test_administrator_roles_are_held_alone(world: World) -> None:
    admin = world.client("sysadmin")
    for roles in ([Role.SYSADMIN.value, Role.AUDITOR.value], [Role.SECADMIN.value, Role.ARCHIVIST.value]):
        response = admin.post("/api/v1/users", json={"username": "both", "password": PASSWORD, "roles": roles})
        assert response.status_code == 400 and "三员分立" in response.json()["message"]
    sec = world.client("secadmin")
    assert sec.put("/api/v1/users/clerk/roles", json={"roles": [Role.AUDITOR.value]}).status_code == 403
    assert sec.put("/api/v1/users/auditor/roles", json={"roles": [Role.READER.value]}).status_code == 403


def test_nobody_changes_their_own_roles_or_clearance(world: World) -> None:
    sec = world.client("secadmin")
    assert sec.put("/api/v1/users/secadmin/clearance", json={"clearance": "绝密"}).status_code == 403
    assert sec.put("/api/v1/users/secadmin/roles", json={"roles": ["档案管理员"]}).status_code == 403
    assert world.client("sysadmin").put("/api/v1/users/sysadmin/clearance", json={"clearance": "绝密"}).status_code == 403


def test_secadmin_grants_roles_and_clearance_up_to_its_own(world: World) -> None:
    world.client("sysadmin").post("/api/v1/users", json={"username": "promoted", "password": PASSWORD})
    world.client("sysadmin").post("/api/v1/users", json={"username": "lowsec2", "password": PASSWORD,
                                                          "roles": [Role.SECADMIN.value]})
    sec = world.client("secadmin")
    assert sec.put("/api/v1/users/promoted/roles", json={"roles": ["利用者"]}).json()["roles"] == ["利用者"]
    granted = sec.put("/api/v1/users/promoted/clearance", json={"clearance": "秘密"})
    assert granted.status_code == 200 and granted.json()["clearance"] == "秘密"
    assert sec.put("/api/v1/users/promoted/clearance", json={"clearance": "最高"}).status_code == 400
    assert sec.post("/api/v1/users", json={"username": "x-by-sec", "password": PASSWORD}).status_code == 403
    assert sec.patch("/api/v1/users/promoted", json={"active": False}).status_code == 403
    assert sec.get("/api/v1/audit").status_code == 403
    sec.post("/api/v1/users/lowsec2/approve")
    sec.put("/api/v1/users/lowsec2/clearance", json={"clearance": "内部"})
    low = _first_login(world, "lowsec2", PASSWORD)
    above = low.put("/api/v1/users/promoted/clearance", json={"clearance": "机密"}, headers={"X-CSRF-Token": low.csrf})
    assert above.status_code == 403  # above its own 内部, and promoted already holds 秘密


def test_web_admin_page_cannot_give_roles_it_does_not_own(world: World) -> None:
    web, csrf = _login_web(world, "sysadmin")
    page = web.get("/admin")
    assert "新建用户" in page.text and "保存角色" not in page.text
    refused = web.post("/admin/users/clerk/roles", data={"roles": [Role.SECADMIN.value], "csrf_token": csrf})
    assert refused.status_code == 403
    sec, sec_csrf = _login_web(world, "secadmin")
    refused = sec.post("/admin/users/clerk/roles", data={"roles": [Role.SECADMIN.value], "csrf_token": sec_csrf})
    assert refused.status_code == 403 and "管理员角色" in refused.text
    assert world.client("clerk").get("/api/v1/me").json()["roles"] == [Role.CLERK.value]


def test_password_reset_is_initial_and_kills_tokens_and_sessions(world: World) -> None:
    from lantai.services import users

    world.client("sysadmin").post("/api/v1/users", json={"username": "victim", "password": PASSWORD})
    world.client("secadmin").post("/api/v1/users/victim/approve")
    session = _first_login(world, "victim", PASSWORD)
    issued = session.post("/api/v1/tokens", json={"name": "mine", "days": 30, "scopes": ["read"]},
                          headers={"X-CSRF-Token": session.csrf})
    assert issued.status_code == 201, issued.text
    token = world.client()
    token.headers["Authorization"] = f"Bearer {issued.json()['token']}"
    assert token.get("/api/v1/me").status_code == 200
    admin = world.client("sysadmin")
    assert admin.put("/api/v1/users/sysadmin/password", json={"password": "Own#Reset2026x"}).status_code == 403
    assert admin.put("/api/v1/users/victim/password", json={"password": "Initial#Pass2026"}).status_code == 200
    assert session.get("/api/v1/me").status_code == 401 and token.get("/api/v1/me").status_code == 401
    again = world.session_client("victim", "Initial#Pass2026")
    assert again.get("/api/v1/items").status_code == 403  # must change the initial password first
    assert users.get_user(world.archive, "victim")["must_change_password"] is True


def test_password_change_ends_other_sessions_and_tokens(world: World) -> None:
    world.client("sysadmin").post("/api/v1/users", json={"username": "changer", "password": PASSWORD})
    world.client("secadmin").post("/api/v1/users/changer/approve")
    first = _first_login(world, "changer", PASSWORD)
    other = world.session_client("changer", NEW_PASSWORD)
    issued = first.post("/api/v1/tokens", json={"name": "t", "days": 7, "scopes": ["read"]},
                        headers={"X-CSRF-Token": first.csrf}).json()["token"]
    bad = first.put("/api/v1/me/password", json={"old_password": "wrong", "new_password": "Other#Pass2027"},
                    headers={"X-CSRF-Token": first.csrf})
    assert bad.status_code == 400
    ok = first.put("/api/v1/me/password", json={"old_password": NEW_PASSWORD, "new_password": "Other#Pass2027"},
                   headers={"X-CSRF-Token": first.csrf})
    assert ok.status_code == 200
    assert first.get("/api/v1/me").status_code == 200
    assert other.get("/api/v1/me").status_code == 401
    token = world.client()
    token.headers["Authorization"] = f"Bearer {issued}"
    assert token.get("/api/v1/me").status_code == 401


def test_tokens_expire_and_carry_scopes(world: World) -> None:
    me = world.session_client("archivist")
    headers = {"X-CSRF-Token": me.csrf}
    assert me.post("/api/v1/tokens", json={"name": "x", "days": 366, "scopes": ["read"]}, headers=headers).status_code == 422
    assert me.post("/api/v1/tokens", json={"name": "x", "days": 10, "scopes": ["everything"]},
                   headers=headers).status_code == 400
    issued = me.post("/api/v1/tokens", json={"name": "oa", "days": 10, "scopes": ["submit"]}, headers=headers).json()
    assert issued["expires_at"] and issued["scopes"] == ["submit"]
    token = world.client()
    token.headers["Authorization"] = f"Bearer {issued['token']}"
    assert token.get("/api/v1/submissions").status_code == 200
    assert token.get("/api/v1/items").status_code == 403
    assert token.get(f"/api/v1/items/{SECRET_ID}/content", params={"path": "content/正文.pdf"}).status_code == 403
    listed = me.get("/api/v1/tokens").json()
    assert {t["username"] for t in listed} == {"archivist"} and all("token" not in t for t in listed)
    assert me.delete(f"/api/v1/tokens/{issued['id']}", headers=headers).status_code == 200
    assert token.get("/api/v1/submissions").status_code == 401


def test_service_account_tokens_need_the_security_administrators_approval(world: World) -> None:
    admin, sec = world.client("sysadmin"), world.session_client("secadmin")
    headers = {"X-CSRF-Token": sec.csrf}
    created = admin.post("/api/v1/users", json={"username": "oa-system", "service": True, "roles": [Role.CLERK.value]})
    assert created.status_code == 201 and created.json()["service"] is True
    early = sec.post("/api/v1/tokens", json={"username": "oa-system", "name": "OA", "scopes": ["submit"]}, headers=headers)
    assert early.status_code == 403
    assert sec.post("/api/v1/users/oa-system/approve", headers=headers).json()["service_approved"] is True
    assert admin.post("/api/v1/tokens", json={"username": "oa-system", "scopes": ["submit"]}).status_code == 403
    issued = sec.post("/api/v1/tokens", json={"username": "oa-system", "name": "OA", "days": 365, "scopes": ["submit"]},
                      headers=headers)
    assert issued.status_code == 201, issued.text
    oa = world.client()
    oa.headers["Authorization"] = f"Bearer {issued.json()['token']}"
    assert oa.get("/api/v1/me").json()["roles"] == [Role.CLERK.value]
    assert world.client().post("/api/v1/auth/login", json={"username": "oa-system", "password": "x"}).status_code == 401


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
    assert auditor.put("/api/v1/users/clerk/clearance", json={"clearance": "公开"}).status_code == 403


def test_administrative_acts_are_audited(world: World) -> None:
    world.client("sysadmin").post("/api/v1/users", json={"username": "audited", "password": PASSWORD})
    entries = world.client("auditor").get("/api/v1/audit", params={"actor": "sysadmin", "action": "user.created"}).json()
    assert any(e["target"] == "audited" for e in entries["entries"])


def test_audit_views_mask_titles_above_the_auditors_clearance(world: World) -> None:
    from tests.api.conftest import SECRET_TITLE

    world.client("archivist").get(f"/api/v1/items/{SECRET_ID}")
    world.client("archivist").get(f"/api/v1/items/{PUBLIC_ID}")
    entries = world.client("auditor").get("/api/v1/audit", params={"action": "item.viewed", "page_size": 100}).json()
    by_target = {e["target"]: e for e in entries["entries"]}
    assert by_target[SECRET_ID]["title"] != SECRET_TITLE and "隐藏" in by_target[SECRET_ID]["title"]
    assert by_target[PUBLIC_ID]["title"] == "关于做好2025年度电子文件归档工作的通知"
    page = world.client("auditor").get("/audit", params={"action": "item.viewed"})
    assert SECRET_ID in page.text and SECRET_TITLE not in page.text


def test_audit_export_masks_titles_above_the_auditors_clearance_and_keeps_other_lines_verbatim(world: World) -> None:
    import json

    from tests.api.conftest import SECRET_TITLE

    public_title = "关于做好2025年度电子文件归档工作的通知"
    world.archive.audit.append("archivist", "test.titled", SECRET_ID, {"title": SECRET_TITLE, "note": "kept"})
    world.archive.audit.append("archivist", "test.titled", PUBLIC_ID, {"title": public_title})
    exported = world.client("auditor").get("/api/v1/audit/export")
    assert exported.status_code == 200
    assert SECRET_TITLE not in exported.text
    entries = [json.loads(line) for line in exported.text.splitlines()]
    secret = next(e for e in entries if e["action"] == "test.titled" and e["target"] == SECRET_ID)
    assert secret["redacted"] == ["title"] and secret["details"]["note"] == "kept" and "隐藏" in secret["details"]["title"]
    assert secret["hash"] and secret["prev_hash"] and secret["mac"]
    public = next(e for e in entries if e["action"] == "test.titled" and e["target"] == PUBLIC_ID)
    assert public["details"]["title"] == public_title and "redacted" not in public
    journal = world.archive.settings.audit_journal.read_bytes().splitlines()
    exported_lines = exported.content.splitlines()
    differing = [i for i, (a, b) in enumerate(zip(journal, exported_lines, strict=False)) if a != b]
    # Only entries about items above 公开 (the 内部 and 秘密 seeds: their ingest ``source`` too) differ.
    assert {entries[i]["target"] for i in differing} == {INTERNAL_ID, SECRET_ID}
    assert all(entries[i].get("redacted") for i in differing) and len(exported_lines) == len(journal)
