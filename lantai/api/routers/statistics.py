"""Statistics within the caller's clearance."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import statistics

router = APIRouter(tags=["统计"], responses=ERRORS)


@router.get("/statistics", response_model=dict[str, Any], summary="统计")
def get_statistics(principal: Allowed(Permission.STATISTICS), archive: ArchiveDep,
                   date_from: Annotated[str | None, Query(max_length=10, description="接收日期起（YYYY-MM-DD，北京时间）")] = None,
                   date_to: Annotated[str | None, Query(max_length=10, description="接收日期止（含）")] = None) -> dict:
    return statistics.statistics(archive, principal, date_from=date_from, date_to=date_to)


@router.get("/statistics/annual", response_model=dict[str, Any], summary="档案室基本情况年报")
def get_annual(principal: Allowed(Permission.STATISTICS), archive: ArchiveDep,
               year: Annotated[int, Query(ge=1900, le=9998)]) -> dict:
    return statistics.annual_report(archive, principal, year)
