"""Statistics within the caller's clearance."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import statistics

router = APIRouter(tags=["统计"], responses=ERRORS)


@router.get("/statistics", response_model=dict[str, Any], summary="统计")
def get_statistics(principal: Allowed(Permission.STATISTICS), archive: ArchiveDep) -> dict:
    return statistics.statistics(archive, principal)
