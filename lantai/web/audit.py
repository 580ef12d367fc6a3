"""审计: the audit chain with its verification status (安全审计员 only)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response, StreamingResponse

from lantai.api.deps import Allowed, ArchiveDep
from lantai.domain.roles import Permission
from lantai.services import audit_views
from lantai.web.app import render

router = APIRouter()
Auditor = Allowed(Permission.AUDIT_READ)


@router.get("/audit")
def audit_page(principal: Auditor, request: Request, archive: ArchiveDep,
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
               action: Annotated[str, Query(max_length=64)] = "", actor: Annotated[str, Query(max_length=128)] = "") -> Response:
    chain = audit_views.audit_verify(archive, principal)
    entries = audit_views.audit_page(archive, principal, page=page, page_size=50, action=action or None,
                                actor=actor or None)
    pages = max(1, -(-entries["total"] // 50))
    return render(request, "audit.html", {"chain": chain, "entries": entries, "pages": pages, "action": action,
                                          "actor": actor})


@router.get("/audit/export")
def audit_export(principal: Auditor, archive: ArchiveDep) -> StreamingResponse:
    return StreamingResponse(audit_views.audit_export(archive, principal), media_type="application/x-ndjson",
                             headers={"Content-Disposition": "attachment; filename=audit-chain.jsonl"})
