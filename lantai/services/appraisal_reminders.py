"""Reminders (到期提醒): what is due for appraisal, and what waits in a campaign or a destruction.

``lantai appraise due --year Y`` and the dashboard block of the 鉴定 page both read here: items
due by the end of a year per kind, 全宗 and 年度 (:mod:`lantai.services.appraisal_due`), the
campaigns that wait for someone (to be decided, approved, executed, destroyed — with the date
phase 2 may start), and items whose destruction waits, with the reason (a hold, an error).
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.appraisal import AppraisalCampaign, AppraisalItem
from lantai.domain.appraisal import ItemState, Kind, Status
from lantai.domain.clock import BEIJING, in_beijing
from lantai.domain.permissions import Permission
from lantai.errors import BadInput
from lantai.services import appraisal_due, authz
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

VIEWERS = (Permission.APPRAISE, Permission.ITEM_CLASSIFY, Permission.APPRAISE_APPROVE, Permission.DESTROY)


def due(archive: Archive, principal: Principal, year: int, *, fonds: str = "") -> list[dict[str, Any]]:
    """Items due by the end of ``year`` per kind, 全宗 and 年度; 密级 rows only for the 安全保密管理员."""
    authz.require_any(principal, *VIEWERS)
    if not 1900 <= year <= 9998:
        raise BadInput("年度超出范围", "year out of range", year=year)
    with archive.sessions() as session:
        rows = appraisal_due.due_counts(session, archive.settings, year, (fonds or "").strip())
    if not principal.can(Permission.ITEM_CLASSIFY):
        rows = [r for r in rows if r["kind"] != Kind.SECRECY.value]
    return rows


def _waiting_for(campaign: AppraisalCampaign, principal: Principal, wait_days: int) -> str:
    """What the campaign waits for, said to this caller ('' when nothing)."""
    if campaign.status == Status.DRAFT.value:
        return "待作出鉴定意见并提交审批"
    if campaign.status == Status.SUBMITTED.value:
        mine = principal.username in campaign.committee.split(",")
        return "待您审批" if mine else "待鉴定小组审批"
    if campaign.status == Status.APPROVED.value:
        return "已批准，待执行"
    if campaign.status == Status.EXECUTED.value and campaign.kind == Kind.EXPIRY.value and campaign.register_path:
        executed = campaign.executed_at if campaign.executed_at.tzinfo else campaign.executed_at.replace(tzinfo=dt.UTC)
        ready = in_beijing(executed + dt.timedelta(days=wait_days)).strftime("%Y-%m-%d")
        return f"待销毁（第二阶段），{ready} 起可由监销人执行"
    return ""


def dashboard(archive: Archive, principal: Principal) -> dict[str, Any]:
    """The 鉴定 page's reminder block: due this year (Beijing), open campaigns, waiting destructions."""
    authz.require_any(principal, *VIEWERS)
    year = dt.datetime.now(BEIJING).year
    rows = due(archive, principal, year)
    totals: dict[str, int] = {}
    for row in rows:
        totals[row["label"]] = totals.get(row["label"], 0) + row["count"]
    with archive.sessions() as session:
        campaigns = session.scalars(select(AppraisalCampaign).where(
            AppraisalCampaign.status != Status.DESTROYED.value).order_by(AppraisalCampaign.id.desc()).limit(50)).all()
        open_ = [{"id": c.id, "kind": c.kind, "year": c.year, "status": c.status,
                  "waiting_for": _waiting_for(c, principal, archive.settings.destruction_wait_days)}
                 for c in campaigns if c.kind != Kind.SECRECY.value or principal.can(Permission.ITEM_CLASSIFY)]
        stuck = session.execute(select(AppraisalItem.campaign_id, AppraisalItem.record_id, AppraisalItem.error)
                                .where(AppraisalItem.state.in_((ItemState.PENDING_DESTRUCTION.value,
                                                                ItemState.HELD.value)),
                                       AppraisalItem.error != "").limit(200)).all()
    return {"year": year, "due": rows, "due_totals": totals, "campaigns": [c for c in open_ if c["waiting_for"]],
            "waiting": [{"campaign_id": c, "record_id": r, "reason": e} for c, r, e in stuck]}
