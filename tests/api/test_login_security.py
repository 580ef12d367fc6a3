"""Login throttling (atomic, per account and per client, not reset by success), trusted proxies, Secure cookies."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from lantai.errors import LantaiError
from lantai.services import users
from tests.api.conftest import PASSWORD, World


def _account(world: World, username: str) -> None:
    users.create_user(world.archive, "cli", username, PASSWORD, roles=["利用者"], bootstrap=True)


def _attempt(world: World, username: str, password: str, client: str) -> str:
    try:
        users.login(world.archive, username, password, client)
    except users.Throttled:
        return "throttled"
    except LantaiError:
        return "refused"
    return "ok"


def test_concurrent_failures_check_at_most_five_passwords(world: World) -> None:
    _account(world, "raced")
    results: list[str] = []
    barrier = threading.Barrier(10)

    def worker(n: int) -> None:
        barrier.wait()
        results.append(_attempt(world, "raced", "wrong-password", f"10.9.0.{n}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["refused"] * 5 + ["throttled"] * 5
    assert _attempt(world, "raced", PASSWORD, "10.9.1.1") == "throttled"


def test_a_success_does_not_reset_the_account_counter(world: World) -> None:
    _account(world, "resetter")
    for _ in range(4):
        assert _attempt(world, "resetter", "wrong", "10.8.0.1") == "refused"
    assert _attempt(world, "resetter", PASSWORD, "10.8.0.1") == "ok"
    assert _attempt(world, "resetter", "wrong", "10.8.0.1") == "refused"
    assert _attempt(world, "resetter", PASSWORD, "10.8.0.1") == "throttled"


def test_a_success_does_not_reset_the_client_counter(world: World) -> None:
    _account(world, "spray-known")
    for n in range(19):
        assert _attempt(world, f"spray-{n}", "wrong", "10.7.0.1") == "refused"
    assert _attempt(world, "spray-known", PASSWORD, "10.7.0.1") == "ok"
    assert _attempt(world, "spray-19", "wrong", "10.7.0.1") == "refused"
    assert _attempt(world, "spray-20", "wrong", "10.7.0.1") == "throttled"
    assert _attempt(world, "spray-known", PASSWORD, "10.7.0.1") == "throttled"
    assert _attempt(world, "spray-known", PASSWORD, "10.7.0.2") == "ok"  # another client is not affected


@pytest.fixture
def behind_proxy(world: World, monkeypatch: pytest.MonkeyPatch) -> World:
    monkeypatch.setattr(world.archive.settings, "trusted_proxies", "192.0.2.0/24")
    return world


def test_forwarded_for_counts_only_from_a_trusted_proxy(behind_proxy: World) -> None:
    world = behind_proxy
    _account(world, "proxied")
    proxy = TestClient(world.app, raise_server_exceptions=False, client=("192.0.2.10", 4000))
    for n in range(20):
        proxy.post("/api/v1/auth/login", json={"username": f"nobody-{n}", "password": "x"},
                   headers={"X-Forwarded-For": "203.0.113.66"})
    # The attacker behind the proxy is throttled; a colleague behind the same proxy is not.
    blocked = proxy.post("/api/v1/auth/login", json={"username": "proxied", "password": PASSWORD},
                         headers={"X-Forwarded-For": "203.0.113.66"})
    assert blocked.status_code == 429
    colleague = proxy.post("/api/v1/auth/login", json={"username": "proxied", "password": PASSWORD},
                           headers={"X-Forwarded-For": "203.0.113.7"})
    assert colleague.status_code == 200
    # From an untrusted peer the header is ignored: spoofing it does not escape the peer's own counter.
    direct = TestClient(world.app, raise_server_exceptions=False, client=("198.51.100.9", 4000))
    for n in range(20):
        direct.post("/api/v1/auth/login", json={"username": f"nobody-{n}", "password": "x"},
                    headers={"X-Forwarded-For": f"203.0.113.{n}"})
    spoofed = direct.post("/api/v1/auth/login", json={"username": "proxied", "password": PASSWORD},
                          headers={"X-Forwarded-For": "203.0.113.200"})
    assert spoofed.status_code == 429


def _session_cookie(response) -> str:  # type: ignore[no-untyped-def]
    return next(v for k, v in response.headers.multi_items() if k == "set-cookie" and "lantai_session" in v).lower()


def test_cookies_are_secure_over_https_directly_or_via_trusted_proxy(behind_proxy: World,
                                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    world = behind_proxy
    body = {"username": "reader", "password": PASSWORD}
    plain = TestClient(world.app, raise_server_exceptions=False, client=("198.51.100.1", 1))
    assert "secure" not in _session_cookie(plain.post("/api/v1/auth/login", json=body))
    spoof = plain.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-Proto": "https"})
    assert "secure" not in _session_cookie(spoof)
    https = TestClient(world.app, base_url="https://testserver", raise_server_exceptions=False, client=("198.51.100.1", 1))
    assert "secure" in _session_cookie(https.post("/api/v1/auth/login", json=body))
    proxy = TestClient(world.app, raise_server_exceptions=False, client=("192.0.2.10", 1))
    assert "secure" in _session_cookie(proxy.post("/api/v1/auth/login", json=body, headers={"X-Forwarded-Proto": "https"}))
    monkeypatch.setattr(world.archive.settings, "secure_cookies", True)
    assert "secure" in _session_cookie(plain.post("/api/v1/auth/login", json=body))


def test_password_max_age_forces_a_change(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from sqlalchemy import update

    from lantai.catalog.models import User

    _account(world, "old-password")
    with world.archive.session() as session:
        session.execute(update(User).where(User.username == "old-password")
                        .values(password_changed_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=100)))
    client = world.session_client("old-password")
    assert client.get("/api/v1/items").status_code == 200
    monkeypatch.setattr(world.archive.settings, "password_max_age_days", 90)
    refused = client.get("/api/v1/items")
    assert refused.status_code == 403 and refused.json()["code"] == "password_change_required"
    assert client.get("/api/v1/me").json()["must_change_password"] is True
