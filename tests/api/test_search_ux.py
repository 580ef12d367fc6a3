"""Search for readers (issue #19 point 5): excerpts with highlights, facets as filters with names,
sort orders, an advanced form that writes the query language, identifiers, clear errors for
malformed queries, paging clamped at the end, and export within visibility."""

from __future__ import annotations

import csv
import html
import io
import re

from lantai.domain.search import compose_query, segments
from tests.api.conftest import INTERNAL_ID, PUBLIC_ID, SECRET_ID, World


def _search(world: World, user: str, **params: object) -> dict:
    response = world.client(user).get("/api/v1/search", params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_hits_carry_excerpt_highlights_and_reader_fields(world: World) -> None:
    body = _search(world, "reader", q="内部工作")
    assert [i["record_id"] for i in body["items"]] == [INTERNAL_ID]
    hit = body["items"][0]
    assert hit["author"] and hit["date"] and hit["retention"]
    marked = "".join(hit["title"][a:b] for a, b in hit["title_highlights"])
    assert marked and set(marked) <= set("内部工作")


def test_facets_name_their_values_and_filter_the_results(world: World) -> None:
    body = _search(world, "archivist", q="通知")
    facets = {f["field"]: f for f in body["facets"]}
    assert {"year", "retention"} <= set(facets)
    assert {v["label"] for v in facets["year"]["values"]} == {f"{v['value']}年" for v in facets["year"]["values"]}
    assert all(v["label"] in ("永久", "定期30年", "定期10年") for v in facets["retention"]["values"])
    year = facets["year"]["values"][0]
    narrowed = _search(world, "archivist", q="通知", year=year["value"])
    assert narrowed["total"] == year["count"] and narrowed["filters"] == {"year": year["value"]}
    assert _search(world, "archivist", q="通知", year=1900)["total"] == 0
    assert sum(v["count"] for v in facets["year"]["values"]) == body["total"]


def test_sort_orders(world: World) -> None:
    newest = _search(world, "archivist", q="通知", sort="-date")["items"]
    dates = [i["date"] for i in newest]
    assert dates == sorted(dates, reverse=True)
    oldest = [i["date"] for i in _search(world, "archivist", q="通知", sort="date")["items"]]
    assert oldest == sorted(oldest)
    assert world.client("archivist").get("/api/v1/search", params={"q": "通知", "sort": "random"}).status_code == 422


def test_an_identifier_finds_its_item_but_never_a_hidden_one(world: World) -> None:
    found = _search(world, "reader", q=PUBLIC_ID)
    assert [i["record_id"] for i in found["items"]] == [PUBLIC_ID] and found["engine"] == "identifier"
    hidden = _search(world, "reader", q=SECRET_ID)  # 内部 reader, 秘密 item
    assert hidden["total"] == 0 and hidden["items"] == []


def test_a_malformed_query_says_what_is_wrong(world: World) -> None:
    response = world.client("reader").get("/api/v1/search", params={"q": "(通知 OR 通报"})
    assert response.status_code == 400 and "括号" in response.json()["message"]
    page = world.session_client("reader").get("/search", params={"q": "(通知"})
    assert page.status_code == 400 and "括号不匹配" in page.text and "尚未启用" not in page.text


def test_paging_past_the_end_is_clamped(world: World) -> None:
    body = _search(world, "archivist", q="通知", page=50, page_size=1)
    assert body["total"] >= 1 and body["page"] == body["pages"] and len(body["items"]) == 1


def test_advanced_form_writes_the_query_language(world: World) -> None:
    assert compose_query(title="内部 工作", document_number="X政办发〔2025〕1号", date_from="2025-01-01") \
        == '题名:"内部 工作" 文号:X政办发〔2025〕1号 日期:2025-01-01..'
    page = world.session_client("reader").get("/search", params={"adv_title": "内部工作"})
    assert page.status_code == 200
    assert 'value="题名:&#34;内部工作&#34;"' in page.text or html.escape('题名:"内部工作"') in page.text
    assert f"/items/{INTERNAL_ID}" in page.text and "<mark>" in page.text
    bad = world.session_client("reader").get("/search", params={"adv_from": "2025年"})
    assert bad.status_code == 400 and "年-月-日" in bad.text


def test_segments_cut_text_at_hits() -> None:
    assert segments("关于内部工作的通知", [(2, 4), (4, 6)]) == [("关于", False), ("内部", True), ("工作", True),
                                                             ("的通知", False)]
    assert segments("abc", [(5, 9)]) == [("abc", False)]


def test_export_holds_the_visible_results_only(world: World) -> None:
    low = world.client("archivist")  # 机密: sees all three seeds
    exported = low.get("/api/v1/search/export.csv", params={"q": "通知"})
    assert exported.status_code == 200
    rows = list(csv.reader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows[0][:3] == ["档号", "电子文件号", "题名"]
    searched = _search(world, "archivist", q="通知", page_size=100)
    assert [r[1] for r in rows[1:]] == [i["record_id"] for i in searched["items"]]
    assert world.client("reader").get("/api/v1/search/export.csv", params={"q": "通知"}).status_code == 403
    web = world.session_client("archivist").get("/search", params={"q": "通知"})
    assert re.search(r'href="/search/export\.csv\?[^"]*q=', web.text)
