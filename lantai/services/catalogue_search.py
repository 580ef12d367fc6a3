"""Searching (检索) for people: full text through the search index, the catalogue when the index
cannot answer; every hit and every count limited by the caller's clearance, every search audited.

A search carries the words (the query language of :mod:`lantai.search.querylang`), optional exact
filters taken from the facets (年度, 文种, 机构, 保管期限, 全宗) and a sort order. Results carry the
text excerpt and the highlight spans the index found, and facet counts with the names people read.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, or_, select

from lantai.catalog.models import Item
from lantai.domain import labels
from lantai.domain.retention import retention_label
from lantai.domain.roles import Permission
from lantai.domain.search import segments
from lantai.errors import BadInput, LantaiError
from lantai.search import model as search_model
from lantai.services import search_index
from lantai.services.access import require, visible
from lantai.services.arrange_reference import code_names
from lantai.services.browse import Page, item_summary, page_bounds
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

SORTS = labels.SORTS
# Facets a reader filters by, in the order shown, with the catalogue column each filter narrows.
FILTERS = {"year": ("年度", Item.year), "document_type": ("文种", Item.document_type),
           "organisation": ("机构", Item.organisation), "retention": ("保管期限", Item.retention),
           "fonds": ("全宗", Item.fonds_code)}
EXPORT_LIMIT = 5000  # rows of one result export (the result window is 10,000)


def search_filters(values: Mapping[str, Any]) -> dict[str, Any]:
    """The known, non-empty filters of ``values`` (a year as a number); BadInput for a bad year."""
    chosen = {k: str(values[k]).strip() for k in FILTERS if values.get(k) not in (None, "")}
    if "year" in chosen:
        if not chosen["year"].isdigit():
            raise BadInput(f"年度应为四位数字：{chosen['year']}", f"year must be a number: {chosen['year']!r}")
        return {**chosen, "year": int(chosen["year"])}
    return chosen


def search(archive: Archive, principal: Principal, query: str, *, page: int = 1, page_size: int = 20,
           sort: str = "relevance", filters: Mapping[str, Any] | None = None, audit: bool = True) -> dict[str, Any]:
    """Full-text search through the index, else a catalogue search; always cleared.

    Pages reach the first ``lantai.search.model.MAX_RESULT_WINDOW`` hits; ``max_page`` is the
    last page that can be asked for, and a later one is BadInput saying so. A page past the last
    result is clamped to the last one. A query the index cannot parse is BadInput naming the
    fault (never a silent fallback that would answer a different question).
    """
    require(principal, Permission.ITEM_READ)
    page, page_size = page_bounds(page, page_size)
    query = (query or "").strip()
    if not query or len(query) > 200:
        raise BadInput("请输入 1–200 个字的检索词", "query must be 1-200 characters")
    if sort not in SORTS:
        raise BadInput(f"不支持的排序方式：{sort}（可选：{'、'.join(SORTS.values())}）", f"unknown sort {sort!r}")
    chosen = search_filters(filters or {})
    max_page = _last_search_page(page, page_size)
    result, engine, facets = _run(archive, principal, query, page, page_size, sort, chosen)
    if not result.items and result.total and page > 1:  # past the end: the last page instead
        page = min(max_page, max(1, -(-result.total // page_size)))
        result, engine, facets = _run(archive, principal, query, page, page_size, sort, chosen)
    if audit:
        archive.audit.append(principal.username, "search", query[:200],
                             {"engine": engine, "total": result.total, "page": page, "sort": sort, "filters": chosen})
    return {**result.to_dict(), "query": query, "engine": engine, "max_page": max_page, "sort": sort,
            "filters": chosen, "facets": _labelled_facets(archive, facets, chosen)}


def iter_results(archive: Archive, principal: Principal, query: str, *, sort: str = "relevance",
                 filters: Mapping[str, Any] | None = None, limit: int = EXPORT_LIMIT) -> Iterator[dict[str, Any]]:
    """Every visible result of a search, up to ``limit``, for an export (audited once, as one export)."""
    require(principal, Permission.EXPORT)
    page_size, sent, page = 100, 0, 1
    archive.audit.append(principal.username, "export.search", query[:200],
                         {"sort": sort, "filters": search_filters(filters or {}), "limit": limit})
    while sent < limit:
        result = search(archive, principal, query, page=page, page_size=page_size, sort=sort, filters=filters,
                        audit=False)
        if result["page"] != page:
            return  # clamped: past the last page
        for item in result["items"][:limit - sent]:
            yield item
            sent += 1
        if page >= min(result["pages"], result["max_page"]):
            return
        page += 1


def _run(archive: Archive, principal: Principal, query: str, page: int, page_size: int, sort: str,
         filters: dict[str, Any]) -> tuple[Page, str, dict[str, list[tuple[Any, int]]]]:
    exact = _by_identifier(archive, principal, query, page, page_size)
    if exact is not None:
        return exact, "identifier", {}
    full_text = _full_text_search(archive, principal, query, page, page_size, sort, filters)
    if full_text is not None:
        return full_text[0], "full_text", full_text[1]
    return _catalogue_search(archive, principal, query, page, page_size, sort, filters), "catalogue", {}


def _by_identifier(archive: Archive, principal: Principal, query: str, page: int, page_size: int) -> Page | None:
    """A 电子文件号 or 档号 typed as the whole query finds its item (if the caller may see it)."""
    if " " in query or len(query) < 6:
        return None
    with archive.sessions() as session:
        item = session.scalar(select(Item).where(or_(Item.record_id == query, Item.archival_code == query),
                                                 visible(principal)).limit(1))
        if item is None:
            return None
        return Page([item_summary(item)] if page == 1 else [], 1, page, page_size)


def _labelled_facets(archive: Archive, facets: dict[str, list[tuple[Any, int]]],
                     chosen: dict[str, Any]) -> list[dict[str, Any]]:
    """Facets in display order, each value with the label people read (names, not codes)."""
    if not facets:
        return []
    names = _names(archive)
    out = []
    for key, (label, _column) in FILTERS.items():
        values = [{"value": v, "count": c, "label": _label(key, v, names), "chosen": chosen.get(key) == v}
                  for v, c in ((_facet_value(key, v), c) for v, c in facets.get(key, [])) if v not in (None, "")]
        if values:
            out.append({"field": key, "label": label, "values": values})
    return out


def _facet_value(key: str, value: Any) -> Any:
    """Facet values as the filters take them (a year is a number whichever backend counted it)."""
    if key == "year" and isinstance(value, str) and value.isdigit():
        return int(value)
    return value


def _names(archive: Archive) -> dict[str, dict[str, str]]:
    """Names by facet field (the index calls the 全宗 column ``fonds``)."""
    names = code_names(archive)
    return {"fonds": names["fonds_code"], "organisation": names["organisation"]}


def _label(key: str, value: Any, names: dict[str, dict[str, str]]) -> str:
    if key == "year":
        return f"{value}年"
    if key == "retention":
        try:
            return retention_label(str(value))
        except ValueError:
            return str(value)
    return names.get(key, {}).get(str(value), str(value))


def _last_search_page(page: int, page_size: int) -> int:
    """The last page of ``page_size`` hits within the result window; BadInput when ``page`` is past it."""
    last = max(1, search_model.MAX_RESULT_WINDOW // page_size)
    if page > last:
        window = search_model.MAX_RESULT_WINDOW
        raise BadInput(f"检索结果最多可翻阅前 {window} 条（每页 {page_size} 条，即前 {last} 页）；请增加检索词缩小范围",
                       f"only the first {window} results can be paged through ({last} pages of {page_size}); "
                       "narrow the query", page=page, max_page=last, max_results=window)
    return last


_CATALOGUE_ORDER = {"relevance": (Item.archived_at.desc(), Item.id), "-date": (Item.date.desc(), Item.id),
                     "date": (Item.date, Item.id), "archival_code": (Item.archival_code, Item.id)}


def _catalogue_search(archive: Archive, principal: Principal, query: str, page: int, page_size: int, sort: str,
                      filters: dict[str, Any]) -> Page:
    """The index is not built (or is being rebuilt): the words as one substring of the catalogue fields."""
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    match = or_(*(col.like(pattern, escape="\\") for col in (Item.title, Item.document_number, Item.author,
                                                            Item.record_id, Item.archival_code)))
    conditions: list[ColumnElement[bool]] = [visible(principal), match]
    conditions += [FILTERS[key][1] == value for key, value in filters.items()]
    with archive.sessions() as session:
        total = session.scalar(select(func.count(Item.id)).where(*conditions)) or 0
        rows = session.scalars(select(Item).where(*conditions).order_by(*_CATALOGUE_ORDER[sort])
                               .limit(page_size).offset((page - 1) * page_size))
        return Page([item_summary(i) for i in rows], total, page, page_size)


def _full_text_search(archive: Archive, principal: Principal, query: str, page: int, page_size: int, sort: str,
                      filters: dict[str, Any]) -> tuple[Page, dict[str, list[tuple[Any, int]]]] | None:
    """Adapter over ``lantai.search``; the clearance is passed down *and* re-checked here.

    None when the index cannot answer (not built, or stale while rebuilt); a malformed query is
    BadInput from the query parser and reaches the caller as it is.
    """
    try:
        result = search_index.search(archive, query, clearance=principal.clearance, limit=page_size,
                                     offset=(page - 1) * page_size, facets=True, sort=sort, filters=filters)
    except BadInput:
        raise
    except LantaiError:
        return None
    if result.stale:
        return None
    hits = {hit.record_id: hit for hit in result.hits}
    with archive.sessions() as session:
        rows = {i.record_id: i for i in session.scalars(select(Item).where(Item.record_id.in_(list(hits)),
                                                                           visible(principal)))}
    items = [{**item_summary(rows[r]), **_highlights(hit)} for r, hit in hits.items() if r in rows]
    page_of = Page(items, int(result.total), page, page_size, bool(result.total_exact))
    return page_of, dict(result.facets)


def _highlights(hit: Any) -> dict[str, Any]:
    """The excerpt and the hit spans (for the API), and the same cut into marked runs (for pages)."""
    return {"snippet": hit.snippet, "snippet_highlights": [list(s) for s in hit.snippet_highlights],
            "title_highlights": [list(s) for s in hit.title_highlights],
            "snippet_parts": segments(hit.snippet, hit.snippet_highlights),
            "title_parts": segments(hit.title, hit.title_highlights)}
