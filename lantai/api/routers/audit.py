"""The audit chain: read, verify and export — 安全审计员 only."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse

from lantai.api.schemas import ERRORS, AuditPage, ChainReportOut
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import audit_views, browse

router = APIRouter(prefix="/audit", tags=["审计"], responses=ERRORS)
Auditor = Allowed(Permission.AUDIT_READ)


@router.get("", response_model=AuditPage, summary="审计记录（最新在前）")
def entries(principal: Auditor, archive: ArchiveDep, page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
            page_size: Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE)] = 50,
            action: Annotated[str | None, Query(max_length=64)] = None,
            actor: Annotated[str | None, Query(max_length=128)] = None) -> dict:
    return audit_views.audit_page(archive, principal, page=page, page_size=page_size, action=action, actor=actor)


@router.get("/verify", response_model=ChainReportOut, summary="校验审计链")
def verify(principal: Auditor, archive: ArchiveDep) -> dict:
    return audit_views.audit_verify(archive, principal)


@router.get("/export", summary="导出审计链（JSON Lines）", responses={200: {"content": {"application/x-ndjson": {}}}})
def export(principal: Auditor, archive: ArchiveDep) -> StreamingResponse:
    return StreamingResponse(audit_views.audit_export(archive, principal), media_type="application/x-ndjson",
                             headers={"Content-Disposition": "attachment; filename=audit-chain.jsonl"})
