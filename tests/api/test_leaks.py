"""No count leaks, endpoint by endpoint (issue #15): every total, facet, statistic, export and listing a
user gets equals what is computed from the catalogue rows that user may see — checked at every
clearance after a batch of mixed 密级, after 密级 changes both ways and after arrangement.

The expected figures come from the raw ``items`` table and :func:`lantai.domain.roles.may_see`, never
from the code under test, so a count computed over all items (or a stale index) fails here.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.domain.roles import may_see
from tests.api.conftest import World, make_account, pdf_bytes
from tests.api.test_admin import _login_web
from tests.sipfactory import SipSpec, write_batch, zip_item

CLEARANCES = ("公开", "内部", "秘密", "机密")
BATCH = [("Z109-WS-2025-L0001", "公开", "关于漏洞测试公开事项的通知", "甲乙丙丁戊己庚"),
         ("Z109-WS-2025-L0002", "秘密", "关于漏洞测试秘密事项的通知", "辛壬癸子丑寅卯"),
         ("Z109-WS-2025-L0003", "机密", "关于漏洞测试机密事项的通知", "辰巳午未申酉戌"),
         ("Z109-WS-2025-L0004", "内部", "关于漏洞测试内部事项的通知", "亥金木水火土日")]


def _client(world: World, token: str) -> TestClient:
    client = world.client()
    client.headers["Authorization"] = f"Bearer {token}"
    return client


@pytest.fixture(scope="module")
def viewers(world: World) -> dict[str, TestClient]:
    """One 档案管理员 (the widest read rights) per clearance."""
    return {level: _client(world, make_account(world.archive, f"leak-{i}", ["档案管理员"], level))
            for i, level in enumerate(CLEARANCES)}


def _catalogue(world: World) -> list[tuple[str, str, str, str, int]]:
    with world.archive.sessions() as session:
        return [tuple(row) for row in session.execute(select(Item.record_id, Item.security_classification,
                                                             Item.document_number, Item.fonds_code, Item.year))]


def _all_pages(client: TestClient, url: str, **params: Any) -> tuple[int, list[str]]:
    """The reported total and every record id over all pages."""
    ids: list[str] = []
    page, total = 1, 0
    while True:
        body = client.get(url, params={**params, "page": page, "page_size": 100}).json()
        total = body["total"]
        ids += [i["record_id"] for i in body["items"]]
        if page >= body["pages"]:
            return total, ids
        page += 1


def _assert_no_leaks(world: World, viewers: dict[str, TestClient], stage: str) -> None:
    rows = _catalogue(world)
    for clearance, client in viewers.items():
        visible = {r[0] for r in rows if may_see(clearance, r[1])}
        where = f"{stage}, clearance {clearance}"
        total, ids = _all_pages(client, "/api/v1/items")
        assert total == len(ids) == len(visible) and set(ids) == visible, where

        facets = client.get("/api/v1/items/facets").json()
        expected_fonds = Counter(r[3] for r in rows if r[0] in visible)
        assert {v["value"]: v["count"] for v in facets["values"]} == dict(expected_fonds), where

        stats = client.get("/api/v1/statistics").json()
        assert stats["items"] == len(visible), where
        for facet in ("year", "security_classification"):
            assert sum(v["count"] for v in stats["facets"][facet]["values"]) == len(visible), (where, facet)
        assert {v["value"] for v in stats["facets"]["security_classification"]["values"]} \
            == {r[1] for r in rows if r[0] in visible}, where

        exported = client.get("/api/v1/export/catalogue.csv")
        exported_ids = {row[1] for row in list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))[1:]}
        assert exported_ids == visible, where

        for record_id, _level, number, _fonds, _year in rows:
            found_total, found = _all_pages(client, "/api/v1/search", q=number)
            assert found_total == len(found) and set(found) <= visible, (where, number)
            assert (record_id in found) == (record_id in visible), (where, record_id)
        for record_id, _level, _title, phrase in BATCH:
            found_total, found = _all_pages(client, "/api/v1/search", q=phrase)
            assert found_total == len(found) == (1 if record_id in visible else 0), (where, phrase)

        submissions = client.get("/api/v1/submissions", params={"page_size": 100}).json()["items"]
        assert all(may_see(clearance, s["security"]) for s in submissions), where


def test_counts_follow_visibility_through_batches_classification_changes_and_arrangement(
        world: World, viewers: dict[str, TestClient]) -> None:
    specs = [SipSpec(record_id=rid, security=level, title=title, document_number=f"漏测〔2025〕{rid[-2:]}号",
                     files={"正文.pdf": pdf_bytes(f"{title}。{phrase}")}) for rid, level, title, phrase in BATCH]
    batch = write_batch(world.tmp / "leak-batch", specs)
    created = world.client("archivist").post("/api/v1/batches", headers={"Idempotency-Key": "leak-batch-1"},
                                             files={"package": ("b.zip", zip_item(batch).read_bytes(), "application/zip")})
    assert created.status_code == 201, created.text
    assert created.json()["security"] == "机密"
    _assert_no_leaks(world, viewers, "after a mixed batch")

    sec = world.client("secadmin")
    for record_id, level in (("Z109-WS-2025-L0001", "机密"), ("Z109-WS-2025-L0003", "内部")):
        changed = sec.put(f"/api/v1/items/{record_id}/classification", json={"level": level, "reason": "定密复核"})
        assert changed.status_code == 200, changed.text
    _assert_no_leaks(world, viewers, "after 密级 changes")

    web, csrf = _login_web(world, "archivist")
    visible = [r[0] for r in _catalogue(world) if may_see("机密", r[1])]
    confirmed = web.post("/arrange/Z109/2025/confirm", data={"record_ids": visible, "csrf_token": csrf})
    assert confirmed.status_code == 200, confirmed.text
    assert "已整理" in confirmed.text
    with world.archive.sessions() as session:
        assert session.scalar(select(Item.archival_code).where(Item.record_id == "Z109-WS-2025-L0003"))
    _assert_no_leaks(world, viewers, "after arrangement")
