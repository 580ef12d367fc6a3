"""Search (full text when the index is installed, else the catalogue), within clearance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from lantai.api.deps import Allowed, ArchiveDep
from lantai.api.schemas import ERRORS, SearchPage
from lantai.domain.roles import Permission
from lantai.services import browse, catalogue_search

router = APIRouter(tags=["检索"], responses=ERRORS)


@router.get("/search", response_model=SearchPage, summary="检索")
def search(principal: Allowed(Permission.ITEM_READ), archive: ArchiveDep,
           q: Annotated[str, Query(min_length=1, max_length=200, description="检索词")],
           page: Annotated[int, Query(ge=1, le=10_000)] = 1,
           page_size: Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE)] = 20) -> dict:
    return catalogue_search.search(archive, principal, q, page=page, page_size=page_size)
