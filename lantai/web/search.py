"""检索: full text (when the index is installed) or catalogue fields, within clearance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from lantai.api.deps import Allowed, ArchiveDep
from lantai.domain.roles import Permission
from lantai.errors import BadInput
from lantai.services import catalogue_search
from lantai.web.app import render

router = APIRouter()


@router.get("/search")
def search_page(principal: Allowed(Permission.ITEM_READ), request: Request, archive: ArchiveDep,
                q: Annotated[str, Query(max_length=200)] = "",
                page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    template = "_search_results.html" if request.headers.get("HX-Request") else "search.html"
    try:
        result = catalogue_search.search(archive, principal, q, page=page, page_size=20) if q.strip() else None
    except BadInput as exc:  # e.g. a page past the result window: say so beside the search box
        context = {"q": q, "result": None, "error": exc.message_zh, "max_page": exc.details.get("max_page")}
        return render(request, template, context, status_code=400)
    return render(request, template, {"q": q, "result": result})
