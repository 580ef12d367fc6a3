"""Executing an approved campaign: each decision as a new OCFL version through the one change path.

Decisions are applied in groups: each group is prepared (a new ``元数据.xml`` when the decision
changes metadata, the 过程信息 event, the 待销毁 mark for 销毁) and committed as one recoverable
unit by :func:`lantai.services.changes.commit_changes`, whose ``finish`` sets the campaign items'
states in the same catalogue transaction. A crash leaves the group's intent for start-up recovery
and the items still 已鉴定; running the execution again prepares them again — the event carries
an identifier, so an item whose version did reach the store gets no second one.

An item under a hold (冻结) when its 销毁 decision is executed is not withdrawn: it becomes 冻结中
and is proposed again by a later 到期鉴定 once the hold is lifted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lantai.catalog.appraisal import AppraisalApproval, AppraisalCampaign, AppraisalItem
from lantai.domain.appraisal import Decision, ItemState
from lantai.domain.clock import in_beijing
from lantai.services import holds
from lantai.services.appraisal_changes import AppraisalChange
from lantai.services.changes import ChangeResult, PreparedChange, commit_changes, prepared_groups

if TYPE_CHECKING:
    from lantai.services.archive import Archive

GROUP = 200


def _approvers(session: Session, campaign_id: int) -> tuple[str, ...]:
    """Who approved the campaign: the approvals of its last round, in order."""
    rows = session.execute(select(AppraisalApproval.round, AppraisalApproval.approver)
                           .where(AppraisalApproval.campaign_id == campaign_id, AppraisalApproval.approve.is_(True))
                           .order_by(AppraisalApproval.id)).all()
    last = max((r for r, _a in rows), default=0)
    return tuple(a for r, a in rows if r == last)


def _pending(archive: Archive, campaign_id: int) -> tuple[AppraisalCampaign, tuple[str, ...], list[AppraisalItem]]:
    with archive.sessions() as session:
        campaign = session.get(AppraisalCampaign, campaign_id)
        rows = session.scalars(select(AppraisalItem).where(AppraisalItem.campaign_id == campaign_id,
                                                           AppraisalItem.state == ItemState.DECIDED.value)
                               .order_by(AppraisalItem.record_id)).all()
        approvers = _approvers(session, campaign_id)
        session.expunge_all()
    return campaign, approvers, list(rows)


def change_for(campaign: AppraisalCampaign, approvers: tuple[str, ...], row: AppraisalItem) -> AppraisalChange:
    """The change one decision makes (its audit entry says the same as its event)."""
    when = in_beijing(campaign.executed_at).strftime("%Y-%m-%dT%H:%M:%S") if campaign.executed_at else ""
    details = {"campaign": campaign.id, "kind": campaign.kind, "decision": row.decision, "value": row.new_value,
               "reason": row.reason, "approvers": list(approvers)}
    message = f"{campaign.kind}鉴定（任务 {campaign.id}）：{row.decision}" + (f" {row.new_value}" if row.new_value else "")
    return AppraisalChange(row.record_id, campaign.executed_by, "item.appraised", message, details=details,
                           campaign_id=campaign.id, kind=campaign.kind, decision=row.decision, value=row.new_value,
                           reason=row.reason, approvers=approvers, when=when)


def apply_decisions(archive: Archive, campaign_id: int, *, progress: Callable[[int], None] | None = None,
                    on_total: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Apply every decided item of the campaign; returns counts per outcome and the errors.

    Groups are prepared on the worker pool (as arrangement's are) while earlier ones commit.
    """
    campaign, approvers, rows = _pending(archive, campaign_id)
    if on_total:
        on_total(len(rows))
    outcome: dict[str, Any] = {"applied": 0, "destroy": 0, "held": 0, "failed": 0, "errors": []}
    groups = [rows[start:start + GROUP] for start in range(0, len(rows), GROUP)]
    held = _held(archive, rows)
    changes = ([change_for(campaign, approvers, r) for r in group if r.record_id not in held] for group in groups)
    for group, (_changes, prepared) in zip(groups, prepared_groups(archive, changes), strict=True):
        _commit_group(archive, campaign, group, prepared, held, outcome)
        if progress:
            progress(len(group))
    with archive.sessions() as session:
        outcome["destroy"] = len(session.scalars(select(AppraisalItem.id).where(
            AppraisalItem.campaign_id == campaign_id,
            AppraisalItem.state == ItemState.PENDING_DESTRUCTION.value)).all())
    return outcome


def _held(archive: Archive, rows: list[AppraisalItem]) -> set[str]:
    """Items decided 销毁 that a hold in force covers now: they are not withdrawn."""
    with archive.sessions() as session:
        return holds.held_record_ids(session, [r.record_id for r in rows if r.decision == Decision.DESTROY.value])


def _commit_group(archive: Archive, campaign: AppraisalCampaign, rows: list[AppraisalItem],
                  prepared: list[PreparedChange], held: set[str], outcome: dict[str, Any]) -> None:
    from lantai.services.appraisal import mark_states

    decisions = {r.record_id: r.decision for r in rows}
    group_held = {r.record_id for r in rows if r.record_id in held}

    def finish(session: Session, results: list[ChangeResult]) -> None:
        states = {r: (ItemState.HELD.value, "冻结中：未执行销毁") for r in group_held}
        for result in results:
            if result.error is not None:
                states[result.record_id] = (ItemState.DECIDED.value, result.error.message_zh)
                outcome["failed"] += 1
                outcome["errors"].append({"record_id": result.record_id, **result.error.to_dict()})
                continue
            destroy = decisions[result.record_id] == Decision.DESTROY.value
            states[result.record_id] = (ItemState.PENDING_DESTRUCTION.value if destroy else ItemState.APPLIED.value, "")
            outcome["applied"] += 1
        mark_states(session, campaign.id, states)

    failed_early = [p for p in prepared if p.error is not None]
    for p in failed_early:
        outcome["errors"].append({"record_id": p.record_id, **(p.error or {})})
    outcome["failed"] += len(failed_early)
    outcome["held"] += len(group_held)
    commit_changes(archive, prepared, kind="appraisal", finish=finish)
