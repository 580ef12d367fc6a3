"""Refusals are audit entries (issue #15 point 4): 401, 403, CSRF failures and probes of hidden items,
rate-limited per client and action so that probing cannot flood the journal."""

from __future__ import annotations

from lantai.services.audit import AuditRecord, DenialLimiter
from tests.api.conftest import SECRET_ID, World


def _entries(world: World, action: str, target: str) -> list[AuditRecord]:
    return [r for r in world.archive.audit.iter_journal()
            if isinstance(r, AuditRecord) and r.action == action and r.target == target]


def test_unauthenticated_request_is_journalled(world: World) -> None:
    assert world.client().get("/api/v1/items?page=1").status_code == 401
    [entry] = _entries(world, "access.unauthenticated", "/api/v1/items")[-1:]
    assert entry.actor == "-" and entry.details["status"] == 401 and entry.details["client"] == "testclient"


def test_forbidden_request_is_journalled_under_the_caller(world: World) -> None:
    assert world.client("reader").get("/api/v1/users").status_code == 403
    [entry] = _entries(world, "access.denied", "/api/v1/users")[-1:]
    assert entry.actor == "reader" and entry.details == {"status": 403, "method": "GET", "client": "testclient",
                                                         "code": "permission_denied"}


def test_csrf_failure_is_journalled(world: World) -> None:
    client = world.session_client("archivist")
    path = "/api/v1/items/Z109-WS-2025-00001/checks"
    assert client.post(path).status_code == 403
    [entry] = _entries(world, "access.csrf_failed", path)[-1:]
    assert entry.actor == "archivist" and entry.details["method"] == "POST"


def test_login_form_csrf_failure_is_journalled(world: World) -> None:
    response = world.client().post("/login", data={"username": "reader", "password": "x", "csrf_token": "forged"})
    assert response.status_code == 400
    [entry] = _entries(world, "access.csrf_failed", "/login")[-1:]
    assert entry.actor == "reader"


def test_probe_of_a_hidden_item_is_journalled_on_api_and_web(world: World) -> None:
    reader = world.client("reader")  # 内部 clearance; the item is 秘密
    assert reader.get(f"/api/v1/items/{SECRET_ID}").status_code == 404
    assert _entries(world, "access.not_found", f"/api/v1/items/{SECRET_ID}")[-1].actor == "reader"
    assert reader.get(f"/items/{SECRET_ID}").status_code == 404
    assert _entries(world, "access.not_found", f"/items/{SECRET_ID}")[-1].actor == "reader"


def test_unknown_routes_are_not_journalled(world: World) -> None:
    assert world.client("reader").get("/api/v1/no-such-route").status_code == 404
    assert _entries(world, "access.not_found", "/api/v1/no-such-route") == []


def test_probing_is_rate_limited_to_n_entries_and_one_summary(world: World) -> None:
    original, now = world.archive.audit.denials, [0.0]
    world.archive.audit.denials = DenialLimiter(3, window=60.0, clock=lambda: now[0])
    try:
        reader = world.client("reader")
        path = f"/api/v1/items/{SECRET_ID}/files"
        for _ in range(10):
            assert reader.get(path).status_code == 404
        assert len(_entries(world, "access.not_found", path)) == 3
        now[0] = 61.0  # the window closes; the next denial reports how many were left out
        assert reader.get(path).status_code == 404
        [summary] = _entries(world, "access.denials_suppressed", "testclient")
        assert summary.details["suppressed"] == 7 and summary.details["action"] == "access.not_found"
        assert len(_entries(world, "access.not_found", path)) == 4
    finally:
        world.archive.audit.denials = original
    assert world.archive.audit.verify().ok


def test_limiter_counts_per_client_and_action() -> None:
    limiter = DenialLimiter(2, window=60.0)
    assert [limiter.admit("a", "x", now=0)[0] for _ in range(3)] == [True, True, False]
    assert limiter.admit("b", "x", now=1)[0] and limiter.admit("a", "y", now=1)[0]
    admitted, summaries = limiter.admit("c", "x", now=61)
    assert admitted and summaries == [("a", "x", 1, 61)]
