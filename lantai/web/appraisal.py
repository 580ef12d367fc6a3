"""鉴定 and 销毁 pages: campaigns worked in pages with bulk decisions, the 鉴定小组's approvals,
execution, phase 2 of a destruction, and holds (冻结).

Forms post to routes that declare their own action; refusals are shown on the page with the
status they deserve. The item table of a campaign pages with htmx (the table alone is swapped).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import FileResponse, Response

from lantai.domain.appraisal import CONTROL_REASONS, DECISIONS, Kind
from lantai.domain.roles import Permission
from lantai.errors import BadInput, LantaiError
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import appraisal, appraisal_reminders, destruction, holds
from lantai.services.users import Principal
from lantai.web.app import render

router = APIRouter()
P = Permission
Reader = Allowed(*appraisal.READERS)
Manager = Allowed(P.APPRAISE, P.ITEM_CLASSIFY)
HoldKeeper = Allowed(P.HOLD)
PAGE_SIZE = 50


def _home(request: Request, archive: ArchiveDep, principal: Principal, message: str = "", ok: bool = True,
          status_code: int = 200) -> Response:
    kinds = [k.value for k in Kind if k is not Kind.SECRECY or principal.can(P.ITEM_CLASSIFY)]
    context = {"dashboard": appraisal_reminders.dashboard(archive, principal),
               "campaigns": appraisal.list_campaigns(archive, principal), "kinds": kinds,
               "can_manage": principal.can(P.APPRAISE) or principal.can(P.ITEM_CLASSIFY),
               "message": message, "ok": ok}
    return render(request, "appraisal.html", context, status_code=status_code)


@router.get("/appraisal")
def home(principal: Reader, request: Request, archive: ArchiveDep) -> Response:
    """鉴定: reminders (到期提醒), campaigns, and the form that opens one."""
    return _home(request, archive, principal)


@router.post("/appraisal/campaigns")
def open_campaign(principal: Manager, request: Request, archive: ArchiveDep,
                  kind: Annotated[str, Form(max_length=8)], year: Annotated[int, Form(ge=1900, le=9998)],
                  fonds: Annotated[str, Form(max_length=32)] = "",
                  note: Annotated[str, Form(max_length=1000)] = "") -> Response:
    try:
        campaign = appraisal.open_campaign(archive, principal, kind, year, fonds=fonds, note=note)
    except LantaiError as exc:
        return _home(request, archive, principal, exc.message_zh, ok=False, status_code=exc.http_status)
    return _campaign_page(request, archive, principal, campaign["id"],
                          message=f"鉴定任务 {campaign['id']} 已开启，列出 {campaign['items']} 件应鉴定的档案。")


def _campaign_page(request: Request, archive: ArchiveDep, principal: Principal, campaign_id: int, *, page: int = 1,
                   state: str = "", message: str = "", ok: bool = True, status_code: int = 200,
                   fragment: bool = False) -> Response:
    campaign = appraisal.get_campaign(archive, principal, campaign_id, page=page, page_size=PAGE_SIZE, state=state)
    kind = Kind(campaign["kind"])
    manager = principal.can(P.ITEM_CLASSIFY) if kind is Kind.SECRECY else principal.can(P.APPRAISE)
    context = {"c": campaign, "decisions": [d.value for d in DECISIONS[kind]], "control_reasons": CONTROL_REASONS,
               "can_manage": manager, "can_approve": principal.username in campaign["committee"]
               and principal.username != campaign["proposer"],
               "can_destroy": principal.can(P.DESTROY), "state": state, "message": message, "ok": ok,
               "pages": max(1, -(-campaign["total"] // PAGE_SIZE))}
    return render(request, "_appraisal_items.html" if fragment else "appraisal_campaign.html", context,
                  status_code=status_code)


@router.get("/appraisal/campaigns/{campaign_id}")
def campaign_page(principal: Reader, request: Request, archive: ArchiveDep, campaign_id: int,
                  page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                  state: Annotated[str, Query(max_length=8)] = "") -> Response:
    """One campaign: its items page by page (htmx swaps the table alone), decisions, approvals."""
    fragment = bool(request.headers.get("HX-Request"))
    return _campaign_page(request, archive, principal, campaign_id, page=page, state=state, fragment=fragment)


def _act(request: Request, archive: ArchiveDep, principal: Principal, campaign_id: int, action: Callable[[], Any],
         success: str, page: int = 1) -> Response:
    try:
        action()
    except LantaiError as exc:
        return _campaign_page(request, archive, principal, campaign_id, page=page, message=exc.message_zh, ok=False,
                              status_code=exc.http_status)
    return _campaign_page(request, archive, principal, campaign_id, page=page, message=success)


@router.post("/appraisal/campaigns/{campaign_id}/decisions")
def decide(principal: Manager, request: Request, archive: ArchiveDep, campaign_id: int,
           decision: Annotated[str, Form(max_length=8)], reason: Annotated[str, Form(max_length=500)] = "",
           value: Annotated[str, Form(max_length=32)] = "",
           record_ids: Annotated[list[str] | None, Form()] = None,
           page_ids: Annotated[list[str] | None, Form()] = None, whole_page: Annotated[str, Form(max_length=1)] = "",
           page: Annotated[int, Form(ge=1, le=100_000)] = 1) -> Response:
    """Bulk decision: the ticked items, or every item of the page shown."""
    chosen = (page_ids if whole_page == "1" else record_ids) or []

    def act() -> Any:
        if not chosen:
            raise BadInput("请勾选档案，或选择“本页全部”", "select items or the whole page")
        return appraisal.decide(archive, principal, campaign_id, chosen, decision, reason, value=value)

    return _act(request, archive, principal, campaign_id, act, f"{len(chosen)} 件档案已鉴定为“{decision}”。", page)


@router.post("/appraisal/campaigns/{campaign_id}/submit")
def submit(principal: Manager, request: Request, archive: ArchiveDep, campaign_id: int,
           approvers: Annotated[str, Form(max_length=1000)]) -> Response:
    names = [a.strip() for a in approvers.replace("，", ",").replace("、", ",").split(",") if a.strip()]
    return _act(request, archive, principal, campaign_id,
                lambda: appraisal.submit(archive, principal, campaign_id, names), "已提交鉴定小组审批。")


@router.post("/appraisal/campaigns/{campaign_id}/approval")
def approve(principal: Allowed(P.APPRAISE_APPROVE), request: Request, archive: ArchiveDep, campaign_id: int,
            approve: Annotated[str, Form(max_length=1)], comment: Annotated[str, Form(max_length=1000)] = "") -> Response:
    agreed = approve == "1"
    return _act(request, archive, principal, campaign_id,
                lambda: appraisal.approve(archive, principal, campaign_id, agreed, comment),
                "已同意。" if agreed else "已驳回，鉴定任务退回草稿。")


@router.post("/appraisal/campaigns/{campaign_id}/execute")
def execute(principal: Manager, request: Request, archive: ArchiveDep, campaign_id: int) -> Response:
    return _act(request, archive, principal, campaign_id, lambda: appraisal.execute(archive, principal, campaign_id),
                "鉴定意见已执行；销毁意见的档案已待销毁，销毁清册已生成。")


@router.get("/appraisal/campaigns/{campaign_id}/register")
def register(principal: Reader, archive: ArchiveDep, campaign_id: int,
             format: Literal["pdf", "xlsx"] = "pdf") -> Response:
    target = destruction.register_file(archive, principal, campaign_id, format)
    media = "application/pdf" if format == "pdf" else \
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return FileResponse(target, media_type=media, filename=f"销毁清册-{campaign_id}.{format}",
                        headers={"Cache-Control": "no-store"})


# --- 销毁 -------------------------------------------------------------------------------------------
def _destruction_page(request: Request, archive: ArchiveDep, principal: Principal, message: str = "",
                      ok: bool = True, status_code: int = 200) -> Response:
    campaigns = [c for c in appraisal.list_campaigns(archive, principal)
                 if c["kind"] == Kind.EXPIRY.value and c["status"] in ("已执行", "已销毁") and c["register_sm3"]]
    can_hold = principal.can(P.HOLD)
    context = {"campaigns": campaigns, "holds": holds.list_holds(archive, principal) if can_hold else [],
               "waiting": appraisal_reminders.dashboard(archive, principal)["waiting"],
               "wait_days": archive.settings.destruction_wait_days, "can_destroy": principal.can(P.DESTROY),
               "can_hold": can_hold, "message": message, "ok": ok}
    return render(request, "destruction.html", context, status_code=status_code)


@router.get("/destruction")
def destruction_page(principal: Allowed(P.DESTROY, P.HOLD), request: Request, archive: ArchiveDep) -> Response:
    """销毁: campaigns in phase 1 and destroyed ones, items waiting and why, holds."""
    return _destruction_page(request, archive, principal)


def _destruction_act(request: Request, archive: ArchiveDep, principal: Principal, action: Callable[[], Any],
                     success: Callable[[Any], str]) -> Response:
    try:
        result = action()
    except LantaiError as exc:
        return _destruction_page(request, archive, principal, exc.message_zh, ok=False, status_code=exc.http_status)
    return _destruction_page(request, archive, principal, success(result))


@router.post("/destruction/campaigns/{campaign_id}")
def destroy(principal: Allowed(P.DESTROY), request: Request, archive: ArchiveDep, campaign_id: int) -> Response:
    """Phase 2 (the waiting period always applies here)."""
    return _destruction_act(request, archive, principal, lambda: destruction.destroy(archive, principal, campaign_id),
                            lambda r: f"鉴定任务 {campaign_id}：销毁 {r['destruction']['destroyed']} 件，"
                                      f"销毁清册已归档为 {r['register_record_id']}。")


@router.post("/destruction/holds")
def place_hold(principal: HoldKeeper, request: Request, archive: ArchiveDep,
               reason: Annotated[str, Form(max_length=1000)], record_id: Annotated[str, Form(max_length=128)] = "",
               fonds_code: Annotated[str, Form(max_length=32)] = "", year: Annotated[str, Form(max_length=4)] = "",
               until: Annotated[str, Form(max_length=10)] = "") -> Response:
    import datetime as dt

    def act() -> Any:
        try:
            day = dt.date.fromisoformat(until) if until else None
            year_value = int(year) if year else None
        except ValueError as exc:
            raise BadInput("年度或截止日期格式不正确", "bad year or date") from exc
        return holds.place_hold(archive, principal, reason, record_id=record_id, fonds_code=fonds_code,
                                year=year_value, until=day)

    return _destruction_act(request, archive, principal, act, lambda h: f"冻结 {h['id']} 已生效。")


@router.post("/destruction/holds/{hold_id}/lift")
def lift_hold(principal: HoldKeeper, request: Request, archive: ArchiveDep, hold_id: int,
              reason: Annotated[str, Form(max_length=1000)] = "") -> Response:
    return _destruction_act(request, archive, principal, lambda: holds.lift_hold(archive, principal, hold_id, reason),
                            lambda _h: f"冻结 {hold_id} 已解除。")
