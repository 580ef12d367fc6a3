"""Searching (检索) for people: full text through the search index, the catalogue when the index
cannot answer; every hit and every count limited by the caller's clearance, every search audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, or_, select

from lantai.catalog.models import Item
from lantai.domain.roles import Permission
from lantai.errors import BadInput, LantaiError
from lantai.search import model as search_model
from lantai.services import search_index
from lantai.services.access import require, visible
from lantai.services.archive import Archive
from lantai.services.browse import Page, item_summary, page_bounds
from lantai.services.users import Principal


def search(archive: Archive, principal: Principal, query: str, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Full-text search when ``lantai.search`` is installed, else a catalogue search; always cleared.

    Pages reach the first ``lantai.search.model.MAX_RESULT_WINDOW`` hits; ``max_page`` is the
    last page that can be asked for, and a later one is BadInput saying so.
    """
    require(principal, Permission.ITEM_READ)
    page, page_size = page_bounds(page, page_size)
    query = (query or "").strip()
    if not query or len(query) > 200:
        raise BadInput("请输入 1–200 个字的检索词", "query must be 1-200 characters")
    max_page = _last_search_page(page, page_size)
    engine = "catalogue"
    full_text = _full_text_search(archive, principal, query, page, page_size)
    if full_text is not None:
        result, engine = full_text, "full_text"
    else:
        result = _catalogue_search(archive, principal, query, page, page_size)
    archive.audit.append(principal.username, "search", query[:200],
                         {"engine": engine, "total": result.total, "page": page})
    return {**result.to_dict(), "query": query, "engine": engine, "max_page": max_page}


def _last_search_page(page: int, page_size: int) -> int:
    """The last page of ``page_size`` hits within the result window; BadInput when ``page`` is past it."""
    last = max(1, search_model.MAX_RESULT_WINDOW // page_size)
    if page > last:
        window = search_model.MAX_RESULT_WINDOW
        raise BadInput(f"检索结果最多可翻阅前 {window} 条（每页 {page_size} 条，即前 {last} 页）；请增加检索词缩小范围",
                       f"only the first {window} results can be paged through ({last} pages of {page_size}); "
                       "narrow the query", page=page, max_page=last, max_results=window)
    return last


def _catalogue_search(archive: Archive, principal: Principal, query: str, page: int, page_size: int) -> Page:
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    match = or_(*(col.like(pattern, escape="\\") for col in (Item.title, Item.document_number, Item.author,
                                                            Item.record_id, Item.archival_code)))
    with archive.sessions() as session:
        total = session.scalar(select(func.count(Item.id)).where(visible(principal), match)) or 0
        rows = session.scalars(select(Item).where(visible(principal), match).order_by(Item.archived_at.desc(), Item.id)
                               .limit(page_size).offset((page - 1) * page_size))
        return Page([item_summary(i) for i in rows], total, page, page_size)


def _full_text_search(archive: Archive, principal: Principal, query: str, page: int, page_size: int) -> Page | None:
    """Adapter over ``lantai.search``; the clearance is passed down *and* re-checked here."""
    try:
        result = search_index.search(archive, query, clearance=principal.clearance, limit=page_size,
                        offset=(page - 1) * page_size)
    except LantaiError:
        return None  # e.g. a query the index cannot parse: fall back to the catalogue match
    if result.stale or (result.total == 0 and not result.hits):
        return None if result.stale else Page([], 0, page, page_size)
    ids = [hit.record_id for hit in result.hits]
    total = int(result.total)
    with archive.sessions() as session:
        rows = {i.record_id: i for i in session.scalars(select(Item).where(Item.record_id.in_(ids), visible(principal)))}
    return Page([item_summary(rows[i]) for i in ids if i in rows], total, page, page_size, bool(result.total_exact))
