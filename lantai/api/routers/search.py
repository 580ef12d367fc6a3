"""Search (full text when the index is installed, else the catalogue), within clearance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from lantai.api.schemas import ERRORS, SearchPage
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.http.params import Search, SearchWords
from lantai.services import browse, catalogue_search, exports

router = APIRouter(tags=["检索"], responses=ERRORS)


@router.get("/search", response_model=SearchPage, summary="检索（全文、相关度或日期排序、分面筛选、摘要高亮）")
def search(principal: Allowed(Permission.ITEM_READ), archive: ArchiveDep, q: SearchWords, options: Search,
           page: Annotated[int, Query(ge=1, le=10_000)] = 1,
           page_size: Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE)] = 20) -> dict:
    return catalogue_search.search(archive, principal, q, page=page, page_size=page_size, sort=options.sort,
                                   filters=options.filters)


@router.get("/search/export.csv", summary="导出检索结果（CSV，前 5000 条）", responses={200: {"content": {"text/csv": {}}}})
def search_export(principal: Allowed(Permission.EXPORT), archive: ArchiveDep, q: SearchWords,
                  options: Search) -> StreamingResponse:
    rows = exports.export_search(archive, principal, q, sort=options.sort, filters=options.filters)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": "attachment; filename*=UTF-8''search.csv"})
