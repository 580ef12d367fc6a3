"""审计: the audit chain with its verification status, filters and exports (安全审计员 only)."""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import FileResponse, Response, StreamingResponse
from starlette.background import BackgroundTask

from lantai.domain.roles import Permission
from lantai.errors import BadInput
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import audit_views
from lantai.services.audit_views import AuditFilter
from lantai.web.app import render

router = APIRouter()
Auditor = Allowed(Permission.AUDIT_READ)


def audit_filter(action: Annotated[str, Query(max_length=64)] = "", actor: Annotated[str, Query(max_length=128)] = "",
                 target: Annotated[str, Query(max_length=200)] = "",
                 date_from: Annotated[str, Query(max_length=10)] = "",
                 date_to: Annotated[str, Query(max_length=10)] = "") -> AuditFilter:
    """The filter form's fields; an empty date field (the form always sends it) means no bound."""
    return AuditFilter(action, actor, _date(date_from, "起始日期"), _date(date_to, "截止日期"), target)


def _date(text: str, label: str) -> dt.date | None:
    if not text:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput(f"{label}格式应为 年-月-日（如 2025-01-14）", f"{label}: expected YYYY-MM-DD") from exc


Filter = Annotated[AuditFilter, Depends(audit_filter)]


@router.get("/audit")
def audit_page(principal: Auditor, request: Request, archive: ArchiveDep, where: Filter,
               page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
    chain = audit_views.audit_verify(archive, principal)
    entries = audit_views.audit_page(archive, principal, page=page, page_size=50, where=where)
    pages = max(1, -(-entries["total"] // 50))
    query = urlencode({k: v for k, v in where.to_dict().items() if v})
    return render(request, "audit.html", {"chain": chain, "entries": entries, "pages": pages, "where": where.to_dict(),
                                          "query": query})


@router.get("/audit/export")
def audit_export(principal: Auditor, archive: ArchiveDep) -> StreamingResponse:
    return StreamingResponse(audit_views.audit_export(archive, principal), media_type="application/x-ndjson",
                             headers={"Content-Disposition": "attachment; filename=audit-chain.jsonl"})


@router.get("/audit/export.{kind}")
def audit_export_table(principal: Auditor, archive: ArchiveDep, where: Filter, kind: str) -> FileResponse:
    """The filtered entries as a printable table (XLSX fit to A4 landscape, or PDF)."""
    target, media = audit_views.audit_download(archive, principal, where, kind)
    return FileResponse(target, media_type=media, filename=target.name,
                        background=BackgroundTask(shutil.rmtree, target.parent, ignore_errors=True),
                        headers={"Cache-Control": "no-store"})
