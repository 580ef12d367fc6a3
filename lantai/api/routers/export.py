"""Exports: the catalogue as CSV (归档文件目录), within clearance."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import StreamingResponse

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.http.params import Filters
from lantai.services import exports

router = APIRouter(prefix="/export", tags=["导出"], responses=ERRORS)


@router.get("/catalogue.csv", summary="导出目录（CSV）", responses={200: {"content": {"text/csv": {}}}})
def catalogue(principal: Allowed(Permission.EXPORT), archive: ArchiveDep, filters: Filters) -> StreamingResponse:
    rows = exports.export_catalogue(archive, principal, filters.values)
    return StreamingResponse(rows, media_type="text/csv; charset=utf-8",
                             headers={"Content-Disposition": "attachment; filename*=UTF-8''catalogue.csv"})
