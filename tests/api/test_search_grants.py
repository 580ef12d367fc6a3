"""Full-text search admits exactly what the one visibility predicate admits: a reader's 利用 grant in
force makes its item found by 文号, title and body words, counted in totals and facets; an item of
the same 密级 without a grant stays absent from hits, totals, facets and excerpts; expiry and
revocation take effect at the next search. Both index backends (the world runs on SQLite and
PostgreSQL), with the catalogue fallback compared where the index is not used.
"""

from __future__ import annotations

import datetime as dt
import itertools

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from lantai.catalog.models import Item
from lantai.catalog.use import UseGrant
from lantai.domain.permissions import Role
from tests.api.conftest import World, _ingest
from tests.api.test_use import U, account, approved

WORD = "檩椽斗拱"  # a word only this module's items carry
_n = itertools.count(701)  # 文号 …〔2025〕7xx号: unlike the world's items


def _item(world: World, level: str, label: str) -> tuple[str, str]:
    """(record id, 文号) of a new item whose title and body carry WORD and ``label``."""
    record_id = f"Z109-WS-2025-G{next(_n):04d}"
    _ingest(world, record_id, level, f"关于{WORD}{label}事项的通知")
    with world.archive.sessions() as session:
        number = session.scalar(select(Item.document_number).where(Item.record_id == record_id))
    return record_id, str(number)


def _search(client: TestClient, q: str, **params: object) -> dict:
    response = client.get(f"{U}/search", params={"q": q, **params})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(body: dict) -> set[str]:
    return {i["record_id"] for i in body["items"]}


def _facet_total(body: dict, field: str) -> int:
    return sum(v["count"] for f in body["facets"] if f["field"] == field for v in f["values"])


@pytest.fixture(scope="module")
def items(world: World) -> dict[str, tuple[str, str]]:
    return {"open": _item(world, "公开", "房梁"), "granted": _item(world, "秘密", "椽头"),
            "other": _item(world, "秘密", "飞檐"), "top": _item(world, "机密", "藻井")}


def test_granted_item_is_found_and_counted_and_the_rest_stay_hidden(world: World, items: dict) -> None:
    reader = account(world, Role.READER, "内部")
    before = _search(reader, WORD)
    assert before["engine"] == "full_text" and _ids(before) == {items["open"][0]} and before["total"] == 1
    approved(world, reader, items["granted"][0])
    body = _search(reader, WORD)
    assert _ids(body) == {items["open"][0], items["granted"][0]} and body["total"] == 2
    assert _facet_total(body, "year") == 2 and _facet_total(body, "fonds") == 2
    for hidden in ("other", "top"):  # neither in hits, excerpts nor titles
        assert "飞檐" not in str(body) and "藻井" not in str(body), hidden
    by_number = _search(reader, items["granted"][1])
    assert _ids(by_number) == {items["granted"][0]}
    assert _search(reader, f"{WORD} 椽头")["total"] == 1  # body/title words of the granted item
    for hidden in ("other", "top"):
        refused = _search(reader, items[hidden][1])
        assert refused["total"] == 0 and refused["items"] == [] and refused["facets"] == [], hidden
    assert _search(reader, f"{WORD} 飞檐")["total"] == 0
    narrowed = _search(reader, WORD, year=2025)
    assert narrowed["total"] == 2  # a filter keeps the grant
    by_date = _search(reader, WORD, sort="date")
    assert [i["record_id"] for i in by_date["items"]] and _ids(by_date) == _ids(body)


def test_another_reader_and_the_web_page_see_only_their_own(world: World, items: dict) -> None:
    holder = account(world, Role.READER, "公开")
    approved(world, holder, items["top"][0])
    stranger = account(world, Role.READER, "公开")
    assert _ids(_search(holder, WORD)) == {items["open"][0], items["top"][0]}
    assert _ids(_search(stranger, WORD)) == {items["open"][0]}
    name = holder.username  # type: ignore[attr-defined]
    page = world.session_client(name).get("/search", params={"q": WORD})
    assert page.status_code == 200 and "藻井" in page.text and "飞檐" not in page.text and "共 2 件" in page.text


def test_expiry_and_revocation_stop_finding_at_once(world: World, items: dict) -> None:
    reader = account(world, Role.READER, "内部")
    expiring = approved(world, reader, items["other"][0])["grant_id"]
    revoked = approved(world, reader, items["top"][0])["grant_id"]
    assert _search(reader, WORD)["total"] == 3
    with world.archive.session() as session:
        session.execute(update(UseGrant).where(UseGrant.id == expiring)
                        .values(valid_until=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)))
    after_expiry = _search(reader, WORD)
    assert _ids(after_expiry) == {items["open"][0], items["top"][0]} and after_expiry["total"] == 2
    assert _search(reader, items["other"][1])["total"] == 0
    response = world.client("archivist").delete(f"{U}/grants/{revoked}", params={"reason": "项目结束"})
    assert response.status_code == 200
    after_revocation = _search(reader, WORD)
    assert _ids(after_revocation) == {items["open"][0]} and after_revocation["total"] == 1
    assert _facet_total(after_revocation, "year") == 1 and "藻井" not in str(after_revocation)


def test_export_of_results_follows_the_grants(world: World, items: dict) -> None:
    archivist = account(world, Role.ARCHIVIST, "内部")
    approved(world, archivist, items["granted"][0])
    response = archivist.get(f"{U}/search/export.csv", params={"q": WORD})
    assert response.status_code == 200
    assert items["granted"][0] in response.text and items["other"][0] not in response.text
    assert items["top"][0] not in response.text


def test_only_items_beyond_the_clearance_are_handed_to_the_index(world: World, items: dict) -> None:
    from lantai.services import users, visibility

    reader = account(world, Role.READER, "内部")
    request = {"items": [{"record_id": items["open"][0]}], "purpose": "工作查考", "methods": ["下载"],
               "until": (dt.date.today() + dt.timedelta(days=5)).isoformat()}
    asked = reader.post(f"{U}/requests", json=request).json()
    assert world.client("archivist").post(f"{U}/requests/{asked['id']}/decision",
                                          json={"approve": True, "reason": "同意"}).json()["status"] == "已批准"
    approved(world, reader, items["granted"][0])
    principal = users.resolve_token(world.archive, reader.headers["Authorization"].split()[1])
    with world.archive.sessions() as session:
        assert visibility.granted_now(session, principal) == (items["granted"][0],)
    assert _ids(_search(reader, WORD)) == {items["open"][0], items["granted"][0]}
