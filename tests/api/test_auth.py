"""Sessions, tokens, CSRF, throttling, password policy, expiry — and the one JSON error shape."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import update

from lantai.catalog.access import WebSession
from lantai.services import users
from tests.api.conftest import PASSWORD, World


def test_login_sets_httponly_samesite_cookie_and_me(world: World) -> None:
    client = world.client()
    response = client.post("/api/v1/auth/login", json={"username": "reader", "password": PASSWORD})
    assert response.status_code == 200
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie
    me = client.get("/api/v1/me").json()
    assert me["username"] == "reader" and me["roles"] == ["利用者"] and me["clearance"] == "内部"
    assert me["csrf_token"]


def test_unauthenticated_is_401_with_chinese_message(world: World) -> None:
    response = world.client().get("/api/v1/items")
    assert response.status_code == 401
    body = response.json()
    assert body["code"] == "unauthenticated" and body["message"] == "请先登录" and "details" in body


def test_wrong_password_and_unknown_user_answer_the_same(world: World) -> None:
    client = world.client()
    wrong = client.post("/api/v1/auth/login", json={"username": "reader", "password": "nope"})
    unknown = client.post("/api/v1/auth/login", json={"username": "nobody-here", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"] == "用户名或密码错误"


def test_login_throttled_after_five_failures(world: World) -> None:
    users.create_user(world.archive, "cli", "throttled-user", PASSWORD, roles=["利用者"], bootstrap=True)
    client = world.client()
    for _ in range(5):
        assert client.post("/api/v1/auth/login", json={"username": "throttled-user", "password": "x"}).status_code == 401
    locked = client.post("/api/v1/auth/login", json={"username": "throttled-user", "password": PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "throttled"
    assert world.client("sysadmin").post("/api/v1/users/throttled-user/unlock").status_code == 200
    assert client.post("/api/v1/auth/login", json={"username": "throttled-user", "password": PASSWORD}).status_code == 200


def test_cookie_session_needs_csrf_on_unsafe_methods(world: World) -> None:
    client = world.session_client("archivist")
    without = client.post("/api/v1/items/Z109-WS-2025-00001/checks")
    assert without.status_code == 403 and "CSRF" in without.json()["message"]
    with_token = client.post("/api/v1/items/Z109-WS-2025-00001/checks", headers={"X-CSRF-Token": client.csrf})
    assert with_token.status_code == 200


def test_session_idle_expiry_and_logout(world: World) -> None:
    client = world.session_client("reader")
    assert client.get("/api/v1/me").status_code == 200
    stale = dt.datetime.now(dt.UTC) - users.SESSION_IDLE - dt.timedelta(minutes=1)
    with world.archive.session() as session:
        session.execute(update(WebSession).values(last_seen=stale))
    assert client.get("/api/v1/me").status_code == 401
    fresh = world.session_client("reader")
    assert fresh.post("/api/v1/auth/logout", headers={"X-CSRF-Token": fresh.csrf}).status_code == 200
    assert fresh.get("/api/v1/me").status_code == 401


def test_token_auth_and_revocation(world: World) -> None:
    me = world.session_client("clerk")
    issued = me.post("/api/v1/tokens", json={"name": "OA", "days": 30, "scopes": ["submit"]},
                     headers={"X-CSRF-Token": me.csrf})
    assert issued.status_code == 201
    body = issued.json()
    token = body["token"]
    assert token.startswith("lt_") and body["prefix"] == token[:10]
    oa = world.client()
    oa.headers["Authorization"] = f"Bearer {token}"
    assert oa.get("/api/v1/me").json()["via"] == "token"
    listed = world.client("secadmin").get("/api/v1/tokens").json()
    assert all("token" not in t for t in listed) and any(t["id"] == body["id"] for t in listed)
    assert world.client("reader").delete(f"/api/v1/tokens/{body['id']}").status_code == 403
    assert world.client("secadmin").delete(f"/api/v1/tokens/{body['id']}").status_code == 200
    assert oa.get("/api/v1/me").status_code == 401
    assert world.client("secadmin").delete("/api/v1/tokens/999999").status_code == 404


def test_bad_token_is_401(world: World) -> None:
    client = world.client()
    client.headers["Authorization"] = "Bearer lt_not-a-real-token"
    assert client.get("/api/v1/me").status_code == 401


def test_password_policy(world: World) -> None:
    admin = world.client("sysadmin")
    for weak in ("short", "alllowercaseletters", "Password12", "P@ssw0rd2026", "Qwerty#123456"):
        response = admin.post("/api/v1/users", json={"username": "weakling", "password": weak})
        assert response.status_code == 400 and "密码" in response.json()["message"], weak
    assert admin.post("/api/v1/users", json={"username": "weakling", "password": "Lantai#2025demo"}).status_code == 201


def test_disabled_user_loses_sessions(world: World) -> None:
    admin = world.client("sysadmin")
    admin.post("/api/v1/users", json={"username": "leaver", "password": PASSWORD, "roles": ["利用者"]})
    session = world.session_client("leaver")  # still on its initial password: /me works
    assert admin.patch("/api/v1/users/leaver", json={"active": False}).json()["active"] is False
    assert session.get("/api/v1/me").status_code == 401
    assert world.client().post("/api/v1/auth/login", json={"username": "leaver", "password": PASSWORD}).status_code == 401


def test_error_shape_for_unknown_route_and_validation(world: World) -> None:
    missing = world.client("reader").get("/api/v1/no-such-thing")
    assert missing.status_code == 404 and missing.json()["message"] == "资源不存在"
    invalid = world.client("reader").get("/api/v1/items", params={"page": "zero"})
    assert invalid.status_code == 422
    body = invalid.json()
    assert body["code"] == "bad_input" and body["message"] == "请求参数无效" and body["details"]["errors"]
