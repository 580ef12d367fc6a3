"""利用 pages: 申请利用 and 我的利用 (readers), 审批 (档案管理员, 安全保密管理员), the register export,
and the optional public page of 开放 items (``/open``, setting ``public_open_page``).

Forms post to routes that declare their own action; refusals are shown on the page with the
status they deserve. The request form answers the same for hidden, missing and visible items.
"""

from __future__ import annotations

import datetime as dt
import shutil
from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.background import BackgroundTask

from lantai.domain.roles import Permission
from lantai.domain.use import EFFECTS, METHODS, OTHER_PURPOSE, PURPOSES
from lantai.errors import BadInput, LantaiError
from lantai.http.deps import Allowed, ArchiveDep, declared
from lantai.services import open_records, use, use_register
from lantai.services.users import Principal
from lantai.web.app import render

router = APIRouter()
P = Permission
APPROVERS = (P.USE_APPROVE, P.USE_SECURITY_APPROVE)
Requester = Allowed(P.USE_REQUEST)
Approver = Allowed(*APPROVERS)


def _my_page(request: Request, archive: ArchiveDep, principal: Principal, message: str = "", ok: bool = True,
             items: str = "", status_code: int = 200) -> Response:
    context = {"requests": use.list_requests(archive, principal, mine=True),
               "grants": use.list_grants(archive, principal, mine=True), "purposes": PURPOSES, "methods": METHODS,
               "other": OTHER_PURPOSE, "effects": EFFECTS, "message": message, "ok": ok, "items_text": items,
               "default_until": (dt.date.today() + dt.timedelta(days=30)).isoformat()}
    return render(request, "use.html", context, status_code=status_code)


@router.get("/use")
def my_use(principal: Requester, request: Request, archive: ArchiveDep,
           items: Annotated[list[str] | None, Query(max_length=128)] = None) -> Response:
    """我的利用, with the request form (prefilled with ``items`` from a search result)."""
    return _my_page(request, archive, principal, items="\n".join(items or []))


def _lines(text: str) -> list[use.Reference]:
    return [use.parse_reference(line) for line in text.replace("，", "\n").splitlines() if line.strip()]


@router.post("/use/requests")
def create_request(principal: Requester, request: Request, archive: ArchiveDep,
                   items: Annotated[str, Form(max_length=30_000)], purpose: Annotated[str, Form(max_length=16)],
                   until: Annotated[str, Form(max_length=10)],
                   methods: Annotated[list[str] | None, Form()] = None,
                   purpose_detail: Annotated[str, Form(max_length=500)] = "",
                   note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        day = _date(until)
        created = use.create_request(archive, principal, _lines(items), purpose, methods or [], day,
                                     purpose_detail=purpose_detail, note=note)
    except LantaiError as exc:
        return _my_page(request, archive, principal, exc.message_zh, ok=False, items=items, status_code=exc.http_status)
    return _my_page(request, archive, principal, f"利用申请 {created['id']} 已提交，等待审批。")


@router.post("/use/requests/{request_id}/effect")
def record_effect(principal: Requester, request: Request, archive: ArchiveDep, request_id: int,
                  effect: Annotated[str, Form(max_length=16)], note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        use.record_effect(archive, principal, request_id, effect, note)
    except LantaiError as exc:
        return _my_page(request, archive, principal, exc.message_zh, ok=False, status_code=exc.http_status)
    return _my_page(request, archive, principal, f"利用申请 {request_id} 的利用效果已登记。")


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise BadInput("利用期限须为日期（如 2026-12-31）", "until must be a date") from exc


def _review_page(request: Request, archive: ArchiveDep, principal: Principal, message: str = "", ok: bool = True,
                 status_code: int = 200) -> Response:
    requests = use.list_requests(archive, principal)
    context = {"open": [r for r in requests if r["status"] in ("待审批", "待保密审核")],
               "done": [r for r in requests if r["status"] not in ("待审批", "待保密审核")][:50],
               "grants": use.list_grants(archive, principal), "message": message, "ok": ok,
               "can_register": principal.can(P.USE_REGISTER), "year": dt.date.today().year}
    return render(request, "use_review.html", context, status_code=status_code)


@router.get("/approvals")
def review(principal: Approver, request: Request, archive: ArchiveDep) -> Response:
    """审批: open requests first, each with what it resolves to for this approver, then the grants."""
    return _review_page(request, archive, principal)


def _act(request: Request, archive: ArchiveDep, principal: Principal, action: Callable[[], Any],
         success: str) -> Response:
    try:
        action()
    except LantaiError as exc:
        return _review_page(request, archive, principal, exc.message_zh, ok=False, status_code=exc.http_status)
    return _review_page(request, archive, principal, success)


@router.post("/approvals/{request_id}/decision")
def decide(principal: Approver, request: Request, archive: ArchiveDep, request_id: int,
           approve: Annotated[str, Form(max_length=1)], reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    agreed = approve == "1"
    return _act(request, archive, principal, lambda: use.decide(archive, principal, request_id, agreed, reason),
                f"利用申请 {request_id} 已{'同意' if agreed else '驳回'}。")


@router.post("/approvals/grants/{grant_id}/revoke")
def revoke(principal: Approver, request: Request, archive: ArchiveDep, grant_id: int,
           reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    return _act(request, archive, principal, lambda: use.revoke_grant(archive, principal, grant_id, reason),
                f"利用授权 {grant_id} 已撤销，立即生效。")


@router.get("/approvals/register")
def register(principal: Allowed(P.USE_REGISTER), archive: ArchiveDep, year: Annotated[int, Query(ge=1900, le=9998)],
             format: Literal["xlsx", "pdf"] = "xlsx") -> Response:
    """利用登记簿 of one year, as the API exports it."""
    target, media = use_register.register_download(archive, principal, year, format)
    return FileResponse(target, media_type=media, filename=target.name,
                        background=BackgroundTask(shutil.rmtree, target.parent, ignore_errors=True),
                        headers={"Cache-Control": "no-store"})


@router.get("/open", dependencies=[declared(P.PUBLIC)])
def open_page(request: Request, archive: ArchiveDep, q: Annotated[str, Query(max_length=200)] = "",
              page: Annotated[int, Query(ge=1, le=10_000)] = 1) -> Response:
    """开放档案: read-only, no login, 开放 items only — or the login page when the archive has it off."""
    if not archive.settings.public_open_page:
        return RedirectResponse("/login", status_code=303)
    result = open_records.search_open(archive, q, page=page)
    return render(request, "open.html", {"q": q, "result": result})
