"""Role × action: every role against every protected action, on the API and on the web pages.

The expected answer comes from ``ROLE_PERMISSIONS``; a denied action must be 403 (or 404 where the
thing asked for is hidden, e.g. someone else's submission), never a 2xx and never a 5xx.
"""

from __future__ import annotations

import itertools

import pytest

from lantai.domain.roles import ROLE_PERMISSIONS, Permission, Role
from tests.api.conftest import ACCOUNTS, PUBLIC_ID, World, sip_zip

P = Permission
CONTENT = "content/正文.pdf"
_counter = itertools.count(100)


def _submit(world: World, client, username: str):
    record_id = f"Z109-WS-2025-M{next(_counter):04d}"
    return client.post("/api/v1/submissions", headers={"Idempotency-Key": f"matrix-{username}-{record_id}"},
                       files={"package": ("sip.zip", sip_zip(world.tmp, record_id), "application/zip")})


def _someone_elses_submission(world: World, client, username: str):
    owner = "archivist" if username != "archivist" else "clerk"
    created = _submit(world, world.client(owner), owner)
    assert created.status_code == 201, created.text
    return client.get(f"/api/v1/submissions/{created.json()['id']}")


ACTIONS = {
    P.ITEM_READ: lambda w, c, u: c.get("/api/v1/items"),
    P.ITEM_DOWNLOAD: lambda w, c, u: c.get(f"/api/v1/items/{PUBLIC_ID}/content", params={"path": CONTENT}),
    P.SUBMIT: _submit,
    P.SUBMISSION_OWN: lambda w, c, u: c.get("/api/v1/submissions"),
    P.SUBMISSION_ALL: _someone_elses_submission,
    P.CHECK_RUN: lambda w, c, u: c.post(f"/api/v1/items/{PUBLIC_ID}/checks"),
    P.ARRANGE: lambda w, c, u: c.get("/arrange"),
    P.EXPORT: lambda w, c, u: c.get("/api/v1/export/catalogue.csv"),
    P.STATISTICS: lambda w, c, u: c.get("/api/v1/statistics"),
    P.AUDIT_READ: lambda w, c, u: c.get("/api/v1/audit"),
    P.USER_MANAGE: lambda w, c, u: c.get("/api/v1/users"),
    P.TOKEN_MANAGE: lambda w, c, u: c.get("/api/v1/tokens"),
    P.CLEARANCE_GRANT: lambda w, c, u: c.put("/api/v1/users/clerk/clearance", json={"clearance": "内部"}),
    P.ITEM_CLASSIFY: lambda w, c, u: c.put(f"/api/v1/items/{PUBLIC_ID}/classification",
                                           json={"level": "公开", "reason": "密级复核，维持公开"}),
}


def test_every_permission_has_an_action() -> None:
    assert set(ACTIONS) == set(Permission)


def _allowed(username: str, permission: Permission) -> bool:
    roles = ACCOUNTS[username][0]
    if permission is P.SUBMISSION_OWN:  # the list answers anyone who may see some submissions
        return any(P.SUBMISSION_OWN in ROLE_PERMISSIONS[r] or P.SUBMISSION_ALL in ROLE_PERMISSIONS[r] for r in roles)
    return any(permission in ROLE_PERMISSIONS[r] for r in roles)


@pytest.mark.parametrize("username", list(ACCOUNTS))
def test_role_action_matrix(world: World, username: str) -> None:
    client = world.client(username)
    failures = []
    for permission, action in ACTIONS.items():
        response = action(world, client, username)
        allowed = _allowed(username, permission)
        ok = response.status_code < 300 if allowed else response.status_code in (403, 404)
        if not ok:
            failures.append((permission.value, allowed, response.status_code, response.text[:200]))
        if response.status_code == 403 and response.headers["content-type"].startswith("application/json"):
            assert response.json()["code"] == "permission_denied"
    assert not failures, failures


WEB_PAGES = {"/collect": (P.SUBMIT, P.SUBMISSION_ALL), "/arrange": (P.ARRANGE,), "/library": (P.ITEM_READ,),
             "/search": (P.ITEM_READ,), "/statistics": (P.STATISTICS,), "/audit": (P.AUDIT_READ,),
             "/admin": (P.USER_MANAGE, P.TOKEN_MANAGE, P.CLEARANCE_GRANT), f"/items/{PUBLIC_ID}": (P.ITEM_READ,)}


@pytest.mark.parametrize("username", list(ACCOUNTS))
def test_web_pages_enforce_roles_not_only_menus(world: World, username: str) -> None:
    client = world.client(username)
    roles = ACCOUNTS[username][0]
    held = set().union(*(ROLE_PERMISSIONS[r] for r in roles))
    for page, needs in WEB_PAGES.items():
        response = client.get(page)
        expected = 200 if held & set(needs) else 403
        assert response.status_code == expected, (page, response.status_code)
        if expected == 200 and page != f"/items/{PUBLIC_ID}":
            assert f'href="{page}"' in response.text  # the menu shows what the route allows


def test_three_administrators_are_separate(world: World) -> None:
    admin = world.client("sysadmin")
    response = admin.post("/api/v1/users", json={"username": "both-admins", "password": "Separate#Duty2025",
                                                  "roles": [Role.SYSADMIN.value, Role.AUDITOR.value]})
    assert response.status_code == 400
    assert "三员分立" in response.json()["message"]
