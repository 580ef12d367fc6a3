"""Numbered search pages past the first 500 hits, through the REST API and the 检索 page, on both
catalogue backends; a page past the result window is refused with a message saying why."""

from __future__ import annotations

import re

import pytest

from lantai.services import search_index
from tests.api.conftest import World

MANY = 610  # 30 full pages of 20 and a last one of 10
QUERY = "分页样本"


@pytest.fixture(scope="module")
def many(world: World) -> list[str]:
    """Every record id matching QUERY, in the order the index returns them (followed by cursor).

    The items are written straight to the catalogue and the index: ingesting 610 items would
    take minutes and test nothing here.
    """
    from lantai.catalog.models import Item
    from lantai.search import open_index

    items = [Item(record_id=f"Z109-WS-2024-P{n:04d}", title=f"关于第{n}批{QUERY}的通知", author="青禾区档案馆",
                  date="2024-05-01", year=2024, retention="30年", organisation="办公室", fonds_code="Z109",
                  document_type="通知", security_classification="公开") for n in range(MANY)]
    with world.archive.sessions.begin() as session:
        session.add_all(items)
        session.flush()
        conn = session.connection()
        open_index(conn).upsert(conn, [search_index.entry_for(i, f"{QUERY}正文。") for i in items])
    order, cursor = [], None
    while True:
        result = search_index.search(world.archive, QUERY, clearance="内部", limit=500, cursor=cursor)
        order += [h.record_id for h in result.hits]
        cursor = result.next_cursor
        if cursor is None:
            break
    assert sorted(order) == sorted(i.record_id for i in items)
    return order


def _api_page(world: World, page: int, page_size: int = 20) -> dict:
    response = world.client("reader").get("/api/v1/search", params={"q": QUERY, "page": page, "page_size": page_size})
    assert response.status_code == 200, response.text
    return response.json()


def _ids(body: dict) -> list[str]:
    return [i["record_id"] for i in body["items"]]


def test_api_pages_past_500_hits_hold_their_own_items(world: World, many: list[str]) -> None:
    page26 = _api_page(world, 26)
    assert _ids(page26) == many[500:520]
    assert (page26["total"], page26["total_exact"], page26["pages"], page26["engine"]) == (MANY, True, 31, "full_text")
    assert page26["max_page"] == 500
    assert _ids(_api_page(world, 30)) == many[580:600]
    assert _ids(_api_page(world, 31)) == many[600:] and len(many[600:]) == 10
    past_the_end = _api_page(world, 32)  # clamped to the last page, and says so
    assert past_the_end["page"] == 31 and _ids(past_the_end) == many[600:]
    assert _ids(_api_page(world, 7, page_size=100)) == many[600:]


def test_api_page_past_the_result_window_is_refused(world: World, many: list[str]) -> None:
    assert _api_page(world, 500)["page"] == 31  # the last page that can be asked for: clamped to the last result
    response = world.client("reader").get("/api/v1/search", params={"q": QUERY, "page": 501, "page_size": 20})
    assert response.status_code == 400
    error = response.json()
    assert error["code"] == "bad_input" and "前 10000 条" in error["message"]
    assert (error["details"]["max_page"], error["details"]["max_results"]) == (500, 10000)
    assert world.client("reader").get("/api/v1/search", params={"q": QUERY, "page": 101,
                                                                "page_size": 100}).status_code == 400


def _web_ids(html: str) -> list[str]:
    return re.findall(r'<a href="/items/([^"]+)">', html)


def _pager(html: str) -> str:
    found = re.search(r'<div class="pager">.*?</div>', html, re.S)
    return found.group(0) if found else ""


def test_search_page_pager_with_an_exact_total(world: World, many: list[str]) -> None:
    client = world.session_client("reader")
    page30 = client.get("/search", params={"q": QUERY, "page": 30})
    assert page30.status_code == 200 and f"共 {MANY} 件" in page30.text
    assert _web_ids(page30.text) == many[580:600]
    pager = _pager(page30.text)
    assert "30 / 31" in pager and "page=29\">上一页" in pager and "page=31\">下一页" in pager
    last = client.get("/search", params={"q": QUERY, "page": 31})
    assert _web_ids(last.text) == many[600:] and "下一页" not in _pager(last.text)


def test_search_page_pager_with_an_at_least_total(world: World, many: list[str], monkeypatch) -> None:
    monkeypatch.setattr(world.archive.settings, "search_count_window", 100)
    client = world.session_client("reader")
    page4 = client.get("/search", params={"q": QUERY, "page": 4})
    assert "≥ 100 件" in page4.text and "第 4 页" in _pager(page4.text) and "page=5\">下一页" in _pager(page4.text)
    page5 = client.get("/search", params={"q": QUERY, "page": 5})
    assert len(_web_ids(page5.text)) == 20 and "下一页" not in _pager(page5.text)


def test_search_page_past_the_result_window_says_so(world: World, many: list[str], monkeypatch) -> None:
    client = world.session_client("reader")
    refused = client.get("/search", params={"q": QUERY, "page": 501})
    assert refused.status_code == 400
    assert "最多可翻阅前 10000 条" in refused.text and f'value="{QUERY}"' in refused.text
    assert 'page=500">转到第 500 页' in refused.text
    monkeypatch.setattr("lantai.search.model.MAX_RESULT_WINDOW", 200)  # a window the 610 items pass
    page10 = client.get("/search", params={"q": QUERY, "page": 10})
    pager = _pager(page10.text)
    assert _web_ids(page10.text) == many[180:200]
    assert "10 / 31" in pager and "下一页" not in pager and "只能翻阅前 200 条" in pager
    assert client.get("/search", params={"q": QUERY, "page": 11}).status_code == 400
