"""Web pages: login form with CSRF, forms refuse a missing CSRF token, pages render in Chinese."""

from __future__ import annotations

import re

from fastapi.testclient import TestClient

from tests.api.conftest import PASSWORD, PUBLIC_ID, World


def _login(world: World, username: str) -> tuple[TestClient, str]:
    client = TestClient(world.app, raise_server_exceptions=False)
    form = client.get("/login")
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    response = client.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token,
                                           "next": "/library"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get(response.headers["location"])
    csrf = re.search(r'"X-CSRF-Token": "([^"]+)"', page.text)
    return client, csrf.group(1) if csrf else ""


def test_login_form_requires_its_csrf_cookie(world: World) -> None:
    client = TestClient(world.app, raise_server_exceptions=False)
    response = client.post("/login", data={"username": "reader", "password": PASSWORD, "csrf_token": "forged"})
    assert response.status_code == 400 and "页面已过期" in response.text


def test_anonymous_page_redirects_to_login(world: World) -> None:
    response = TestClient(world.app).get("/library?year=2025", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"].startswith("/login?next=")


def test_reader_browses_and_opens_an_item(world: World) -> None:
    client, _csrf = _login(world, "reader")
    library = client.get("/library")
    assert "档案库" in library.text and "按全宗" in library.text and 'href="/audit"' not in library.text
    year = client.get("/library?fonds_code=Z109&year=2025")
    assert "按保管期限" in year.text
    detail = client.get(f"/items/{PUBLIC_ID}")
    assert "检测报告" in detail.text and "接收检测" in detail.text and 'iframe class="pdf"' in detail.text
    view = client.get(f"/items/{PUBLIC_ID}/view", params={"path": "content/正文.pdf"})
    assert view.status_code == 200 and view.headers["content-disposition"].startswith("inline")


def test_forms_without_csrf_are_refused(world: World) -> None:
    client, csrf = _login(world, "archivist")
    assert client.post(f"/items/{PUBLIC_ID}/checks").status_code == 403
    ok = client.post(f"/items/{PUBLIC_ID}/checks", headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 200 and "校验通过" in ok.text


def test_admin_pages_and_forms(world: World) -> None:
    client, csrf = _login(world, "sysadmin")
    page = client.get("/admin")
    assert "新建用户" in page.text and "接口令牌" in page.text and "三员分立" in page.text
    created = client.post("/admin/users", data={"username": "webmade", "password": PASSWORD, "roles": ["利用者"],
                                                "csrf_token": csrf})
    assert created.status_code == 200 and "已创建用户 webmade" in created.text
    assert "待审批：利用者" in created.text
    token = client.post("/admin/tokens", data={"name": "own", "days": "10", "scopes": ["read"], "csrf_token": csrf})
    assert 'id="new-token"' in token.text  # one's own token, from the login session
    refused = client.post("/admin/users/webmade/clearance", data={"clearance": "秘密", "csrf_token": csrf})
    assert refused.status_code == 403


def test_audit_and_statistics_pages(world: World) -> None:
    auditor, _ = _login(world, "auditor")
    page = auditor.get("/audit")
    assert "审计链完整" in page.text and re.findall(r"<nav>.*?</nav>", page.text, re.S)[0].count("href") == 1
    assert auditor.get("/audit/export").status_code == 200
    archivist, _ = _login(world, "archivist")
    stats = archivist.get("/statistics")
    assert "chart-4.6.1.umd.min.js" in stats.text and 'id="stats-data"' in stats.text
    search = archivist.get("/search", params={"q": "通知"})
    assert "共" in search.text and PUBLIC_ID in search.text


def test_collect_upload_form(world: World) -> None:
    from tests.api.conftest import sip_zip

    client, csrf = _login(world, "clerk")
    response = client.post("/collect/upload", data={"kind": "item", "csrf_token": csrf},
                           files={"package": ("sip.zip", sip_zip(world.tmp, "Z109-WS-2025-W0001"), "application/zip")})
    assert response.status_code == 200 and "已接收" in response.text


def test_static_assets_are_vendored(world: World) -> None:
    client = TestClient(world.app)
    assert client.get("/static/htmx-2.0.11.min.js").status_code == 200
    assert client.get("/static/chart-4.6.1.umd.min.js").status_code == 200
    docs = client.get("/api/docs")
    assert "/static/swagger/swagger-ui-bundle.js" in docs.text and "cdn" not in docs.text.lower()


def test_broad_search_shows_an_at_least_count(world: World, monkeypatch) -> None:
    """A query matching more than the search_count_window shows ≥ N, never a made-up exact count."""
    client, _ = _login(world, "archivist")  # 机密: sees every 通知 of the world (three or more)
    exact = client.get("/search", params={"q": "通知"})
    assert re.search(r"共 [3-9] 件</span>", exact.text) and "≥" not in exact.text
    monkeypatch.setattr(world.archive.settings, "search_count_window", 2)
    broad = client.get("/search", params={"q": "通知"})
    assert "共 <span" in broad.text and "≥ 2 件" in broad.text and "共 2 件" not in broad.text
    body = world.client("archivist").get("/api/v1/search", params={"q": "通知"}).json()
    assert (body["total"], body["total_exact"], body["engine"]) == (2, False, "full_text")
    monkeypatch.setattr(world.archive.settings, "search_count_window", 5000)
    assert world.client("archivist").get("/api/v1/search", params={"q": "通知"}).json()["total_exact"] is True


def test_a_refused_change_is_an_error_status_with_the_error_panel(world: World) -> None:
    """An error is never a 200: an htmx form gets the API's status and the error panel to swap in."""
    client, csrf = _login(world, "secadmin")
    headers = {"X-CSRF-Token": csrf, "HX-Request": "true"}
    bad = client.post(f"/items/{PUBLIC_ID}/classification", data={"level": "无", "reason": "x"}, headers=headers)
    assert bad.status_code == 400 and 'class="panel error" role="alert"' in bad.text and "bad_input" in bad.text
    assert "<html" not in bad.text  # the panel alone, for htmx to put where the result would go
    page = client.get("/items/NO-SUCH-ITEM")
    assert page.status_code == 404 and "<html" in page.text and "not_found" in page.text


def test_a_refused_upload_is_an_error_status_on_the_inbox(world: World) -> None:
    from tests.api.conftest import sip_zip

    client, csrf = _login(world, "clerk")
    response = client.post("/collect/upload", data={"kind": "batch", "csrf_token": csrf},  # an item, not a batch
                           files={"package": ("sip.zip", sip_zip(world.tmp, "Z109-WS-2025-W0002"), "application/zip")})
    assert response.status_code == 400 and "提交失败" in response.text and "归档登记表" in response.text


def test_preservation_dashboard(world: World) -> None:
    archivist, _ = _login(world, "archivist")
    page = archivist.get("/preservation")
    assert page.status_code == 200 and "存储根与复制滞后" in page.text and 'id="preservation-data"' in page.text
    assert "/static/preservation.js" in page.text and "（主）" in page.text
    assert "格式迁移" in page.text and "离线载体定期检测" in page.text and 'id="chart-carriers"' in page.text
    assert TestClient(world.app).get("/static/preservation.js").status_code == 200
    sysadmin, _ = _login(world, "sysadmin")
    assert sysadmin.get("/preservation").status_code == 200
    reader, _ = _login(world, "reader")
    assert reader.get("/preservation").status_code == 403
