"""检索: full text within clearance, with excerpts and highlights, facet filters, sort orders, an
advanced form that writes the query language, paging that never runs off the end, and export."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from lantai.domain.roles import Permission
from lantai.domain.search import compose_query
from lantai.errors import BadInput
from lantai.http.deps import Allowed, ArchiveDep
from lantai.http.params import Search, SearchWords
from lantai.services import catalogue_search, exports
from lantai.web.app import render

router = APIRouter()
Text = Annotated[str, Query(max_length=200)]


@router.get("/search")
def search_page(principal: Allowed(Permission.ITEM_READ), request: Request, archive: ArchiveDep, options: Search,
                q: Text = "", page: Annotated[int, Query(ge=1, le=10_000)] = 1,
                adv_words: Text = "", adv_title: Text = "", adv_docno: Text = "", adv_author: Text = "",
                adv_from: Annotated[str, Query(max_length=10)] = "",
                adv_to: Annotated[str, Query(max_length=10)] = "") -> Response:
    template = "_search_results.html" if request.headers.get("HX-Request") else "search.html"
    context: dict[str, Any] = {"q": q, "result": None, "sort": options.sort, "sorts": catalogue_search.SORTS}
    try:
        if not q.strip() and any((adv_words, adv_title, adv_docno, adv_author, adv_from, adv_to)):
            try:
                q = compose_query(words=adv_words, title=adv_title, document_number=adv_docno, author=adv_author,
                                  date_from=adv_from, date_to=adv_to)
            except ValueError as exc:
                raise BadInput(str(exc), "dates must be YYYY-MM-DD") from exc
            context["q"] = q
        if q.strip():
            result = catalogue_search.search(archive, principal, q, page=page, page_size=20, sort=options.sort,
                                             filters=options.filters)
            context.update(result=result, links=_links(q, options.sort, result["filters"]))
    except BadInput as exc:  # a malformed query, a bad date, a page past the window: say so by the box
        context.update(error=exc.message_zh, max_page=exc.details.get("max_page"))
        return render(request, template, context, status_code=400)
    return render(request, template, context)


@router.get("/search/export.csv")
def search_export(principal: Allowed(Permission.EXPORT), archive: ArchiveDep, q: SearchWords,
                  options: Search) -> StreamingResponse:
    rows = exports.export_search(archive, principal, q, sort=options.sort, filters=options.filters)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": "attachment; filename*=UTF-8''search.csv"})


def _links(q: str, sort: str, filters: dict[str, Any]) -> dict[str, Any]:
    """Query strings for the pager, the sort choices and each facet value (toggling it)."""
    def url(**changes: Any) -> str:
        params = {"q": q, "sort": sort, **filters, **changes}
        return urlencode({k: v for k, v in params.items() if v not in (None, "")})

    return {"page": lambda n: url(page=n), "sort": lambda s: url(sort=s),
            "facet": lambda field, value: url(**{field: None if filters.get(field) == value else value}),
            "export": url()}
