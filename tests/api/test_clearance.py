"""An item above the caller's clearance does not exist for them: lists, counts, facets, search,
statistics, exports and its URL all agree."""

from __future__ import annotations

from tests.api.conftest import SECRET_ID, SECRET_TITLE, World, make_account


def test_under_cleared_reader_never_sees_the_secret_item(world: World) -> None:
    reader = world.client("reader")  # clearance 内部
    listing = reader.get("/api/v1/items", params={"page_size": 100}).json()
    assert SECRET_ID not in {i["record_id"] for i in listing["items"]}
    assert listing["total"] == 2
    facets = reader.get("/api/v1/items/facets").json()
    assert sum(v["count"] for v in facets["values"]) == 2
    assert reader.get("/api/v1/search", params={"q": "秘密事项"}).json()["total"] == 0
    missing = reader.get(f"/api/v1/items/{SECRET_ID}")
    nonexistent = reader.get("/api/v1/items/Z109-WS-2025-99999")
    assert missing.status_code == nonexistent.status_code == 404
    assert missing.json()["message"].replace(SECRET_ID, "X") == nonexistent.json()["message"].replace("Z109-WS-2025-99999", "X")
    for sub in ("files", "versions", "events", "checks"):
        assert reader.get(f"/api/v1/items/{SECRET_ID}/{sub}").status_code == 404
    assert reader.get(f"/api/v1/items/{SECRET_ID}/content", params={"path": "content/正文.pdf"}).status_code == 404
    assert reader.get(f"/items/{SECRET_ID}").status_code == 404


def test_cleared_archivist_sees_it_everywhere(world: World) -> None:
    archivist = world.client("archivist")  # clearance 机密
    assert archivist.get("/api/v1/items").json()["total"] >= 3
    assert archivist.get(f"/api/v1/items/{SECRET_ID}").json()["title"] == SECRET_TITLE
    assert archivist.get("/api/v1/search", params={"q": "秘密事项"}).json()["total"] == 1
    assert SECRET_ID in archivist.get("/api/v1/export/catalogue.csv").text


def test_statistics_and_exports_respect_clearance(world: World) -> None:

    token = make_account(world.archive, "lowarchivist", ["档案管理员"], "内部")
    low = world.client()
    low.headers["Authorization"] = f"Bearer {token}"
    stats = low.get("/api/v1/statistics").json()
    levels = {v["value"] for v in stats["facets"]["security_classification"]["values"]}
    assert "秘密" not in levels and stats["items"] == sum(v["count"] for v in stats["facets"]["year"]["values"])
    assert SECRET_ID not in low.get("/api/v1/export/catalogue.csv").text
    assert low.get(f"/api/v1/items/{SECRET_ID}/package").status_code == 404
    assert low.post(f"/api/v1/items/{SECRET_ID}/checks").status_code == 404


def test_secadmin_cannot_classify_above_own_clearance(world: World) -> None:

    token = make_account(world.archive, "lowsec", ["安全保密管理员"], "秘密")
    low = world.client()
    low.headers["Authorization"] = f"Bearer {token}"
    response = low.put(f"/api/v1/items/{SECRET_ID}/classification", json={"level": "绝密", "reason": "升密"})
    assert response.status_code == 403
