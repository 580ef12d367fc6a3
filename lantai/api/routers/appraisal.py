"""鉴定与处置: appraisal campaigns (``/appraisals``) and holds (``/holds``), mirroring ``lantai appraise``.

Phase 2 of a destruction (``POST /appraisals/{id}/destroy``) always honours the waiting period;
only the command line can skip it, for tests.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field

from lantai.api.schemas import ERRORS
from lantai.domain.appraisal import CONTROL_REASONS, Decision, Kind
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import appraisal, appraisal_reminders, destruction, holds

router = APIRouter(tags=["鉴定与处置"], responses=ERRORS)
P = Permission
Manager = Allowed(P.APPRAISE, P.ITEM_CLASSIFY)
Reader = Allowed(*appraisal.READERS)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]
MEDIA = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


class CampaignIn(BaseModel):
    type: str = Field(description="鉴定类型: " + "、".join(k.value for k in Kind))
    year: int = Field(ge=1900, le=9998, description="列出截至该年底应鉴定且尚未鉴定的档案")
    fonds: str = Field("", max_length=32)
    note: str = Field("", max_length=1000)


class DecisionIn(BaseModel):
    record_ids: list[Annotated[str, Field(max_length=128)]] = Field(min_length=1, max_length=5000)
    decision: str = Field(description="鉴定意见: " + "、".join(d.value for d in Decision))
    reason: str = Field(max_length=500)
    value: str = Field("", max_length=32,
                       description="延长：新保管期限；降密：新密级；控制：控制使用理由（" + "、".join(CONTROL_REASONS) + "）")


class SubmitIn(BaseModel):
    approvers: list[Annotated[str, Field(max_length=64)]] = Field(min_length=1, max_length=20)


class ApprovalIn(BaseModel):
    approve: bool
    comment: str = Field("", max_length=1000)


class HoldIn(BaseModel):
    reason: str = Field(max_length=1000)
    record_id: str = Field("", max_length=128)
    fonds_code: str = Field("", max_length=32)
    year: int | None = Field(None, ge=1900, le=9998)
    until: dt.date | None = None


class LiftIn(BaseModel):
    reason: str = Field(max_length=1000)


@router.get("/appraisals", summary="鉴定任务列表")
def list_campaigns(principal: Reader, archive: ArchiveDep,
                   status: Annotated[str, Query(max_length=16)] = "") -> list[dict[str, Any]]:
    return appraisal.list_campaigns(archive, principal, status=status)


@router.post("/appraisals", status_code=status.HTTP_201_CREATED, summary="开启鉴定任务并列出应鉴定的档案")
def open_campaign(body: CampaignIn, principal: Manager, archive: ArchiveDep) -> dict[str, Any]:
    return appraisal.open_campaign(archive, principal, body.type, body.year, fonds=body.fonds, note=body.note)


@router.get("/appraisals/due", summary="到期提醒：按类型、全宗、年度的应鉴定件数")
def due(principal: Allowed(*appraisal_reminders.VIEWERS), archive: ArchiveDep,
        year: Annotated[int, Query(ge=1900, le=9998)],
        fonds: Annotated[str, Query(max_length=32)] = "") -> list[dict[str, Any]]:
    return appraisal_reminders.due(archive, principal, year, fonds=fonds)


@router.get("/appraisals/{campaign_id}", summary="鉴定任务及其档案（分页）")
def get_campaign(campaign_id: Id, principal: Reader, archive: ArchiveDep,
                 page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                 page_size: Annotated[int, Query(ge=1, le=appraisal.MAX_PAGE)] = 50,
                 state: Annotated[str, Query(max_length=8)] = "") -> dict[str, Any]:
    return appraisal.get_campaign(archive, principal, campaign_id, page=page, page_size=page_size, state=state)


@router.post("/appraisals/{campaign_id}/decisions", summary="作出鉴定意见（可批量）")
def decide(campaign_id: Id, body: DecisionIn, principal: Manager, archive: ArchiveDep) -> dict[str, Any]:
    return appraisal.decide(archive, principal, campaign_id, body.record_ids, body.decision, body.reason,
                            value=body.value)


@router.post("/appraisals/{campaign_id}/submit", summary="提交鉴定小组审批（至少两名，不含提出人）")
def submit(campaign_id: Id, body: SubmitIn, principal: Manager, archive: ArchiveDep) -> dict[str, Any]:
    return appraisal.submit(archive, principal, campaign_id, body.approvers)


@router.post("/appraisals/{campaign_id}/approval", summary="鉴定小组成员审批（同意或驳回）")
def approve(campaign_id: Id, body: ApprovalIn, principal: Allowed(P.APPRAISE_APPROVE),
            archive: ArchiveDep) -> dict[str, Any]:
    return appraisal.approve(archive, principal, campaign_id, body.approve, body.comment)


@router.post("/appraisals/{campaign_id}/execute", summary="执行已批准的鉴定任务（销毁进入第一阶段）")
def execute(campaign_id: Id, principal: Manager, archive: ArchiveDep) -> dict[str, Any]:
    return appraisal.execute(archive, principal, campaign_id)


@router.post("/appraisals/{campaign_id}/destroy", summary="销毁第二阶段（等待期满后，由提出人、执行人以外的监销人）")
def destroy(campaign_id: Id, principal: Allowed(P.DESTROY), archive: ArchiveDep) -> dict[str, Any]:
    return destruction.destroy(archive, principal, campaign_id)


@router.get("/appraisals/{campaign_id}/register", summary="销毁清册（PDF 或 XLSX）",
            responses={200: {"content": {m: {} for m in MEDIA.values()}}})
def register(campaign_id: Id, principal: Reader, archive: ArchiveDep,
             format: Literal["pdf", "xlsx"] = "pdf") -> FileResponse:
    target = destruction.register_file(archive, principal, campaign_id, format)
    return FileResponse(target, media_type=MEDIA[format], filename=f"销毁清册-{campaign_id}.{format}",
                        headers={"Cache-Control": "no-store"})


@router.get("/holds", summary="冻结列表")
def list_holds(principal: Allowed(P.HOLD, P.APPRAISE, P.APPRAISE_APPROVE), archive: ArchiveDep,
               active: bool = False) -> list[dict[str, Any]]:
    return holds.list_holds(archive, principal, active_only=active)


@router.post("/holds", status_code=status.HTTP_201_CREATED, summary="冻结一件档案或一个全宗（年度）")
def place_hold(body: HoldIn, principal: Allowed(P.HOLD), archive: ArchiveDep) -> dict[str, Any]:
    return holds.place_hold(archive, principal, body.reason, record_id=body.record_id, fonds_code=body.fonds_code,
                            year=body.year, until=body.until)


@router.post("/holds/{hold_id}/lift", summary="解除冻结")
def lift_hold(hold_id: Id, body: LiftIn, principal: Allowed(P.HOLD), archive: ArchiveDep) -> dict[str, Any]:
    return holds.lift_hold(archive, principal, hold_id, body.reason)
