"""鉴定任务: open a campaign, decide its items, submit it to the 鉴定小组, approve, execute.

* **open** — an archivist (到期, 开放) or the 安全保密管理员 (密级) opens a campaign for a year;
  Lantai proposes every item due by the end of that year and not yet appraised
  (:mod:`lantai.services.appraisal_due`), copied into the campaign in one INSERT … SELECT.
* **decide** — decisions with reasons, one item or many at once; the kind allows its own decisions
  and 密级 decisions are the 安全保密管理员's alone; a held item cannot be decided 销毁.
* **submit** — every item decided; the 鉴定小组 is named: at least two approvers, never the
  proposer, each allowed to approve that kind and cleared for every item's 密级.
* **approve** — each named approver approves or rejects with a comment; one rejection sends the
  campaign back to 草稿 (a new round), all approvals make it 已批准.
* **execute** — only an approved campaign: each decision becomes a new OCFL version through the
  one change path (:mod:`lantai.services.appraisal_changes`), in groups, with the campaign items'
  states set in the same catalogue transaction, so an interrupted execution is simply run again.
  Destroy decisions are phase 1 of a destruction (:mod:`lantai.services.destruction`).

Every step is appended to the audit chain with what an auditor needs to reconstruct it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import bindparam, func, insert, literal, select, update
from sqlalchemy.orm import Session

from lantai.catalog.appraisal import AppraisalApproval, AppraisalCampaign, AppraisalItem
from lantai.catalog.models import Item, User
from lantai.domain import appraisal as rules
from lantai.domain.appraisal import Decision, ItemState, Kind, Status
from lantai.domain.permissions import Permission
from lantai.domain.roles import may_see, parse_roles, permissions_of, rank
from lantai.errors import BadInput, Conflict, NotFound, PermissionDenied
from lantai.services import appraisal_due, appraisal_execute, authz, holds
from lantai.services.browse import iso
from lantai.services.users import Principal, now

if TYPE_CHECKING:
    from lantai.services.archive import Archive

MANAGERS = (Permission.APPRAISE, Permission.ITEM_CLASSIFY)
READERS = (*MANAGERS, Permission.APPRAISE_APPROVE, Permission.DESTROY)
EXECUTE_GROUP = 200
MAX_PAGE = 500


def rule_error(exc: rules.AppraisalRuleError, cls: type = BadInput) -> Exception:
    return cls(exc.message_zh, exc.message_en)


def kind_of(text: str) -> Kind:
    try:
        return rules.parse_kind(text)
    except rules.AppraisalRuleError as exc:
        raise rule_error(exc) from None


def require_manager(principal: Principal, kind: Kind) -> None:
    """到期/开放鉴定: appraisal.manage (档案管理员); 密级鉴定: item.classify (安全保密管理员) alone."""
    if kind is Kind.SECRECY:
        if not principal.can(Permission.ITEM_CLASSIFY):
            raise PermissionDenied("密级鉴定只能由安全保密管理员进行", "only the security administrator appraises 密级")
        return
    authz.require(principal, Permission.APPRAISE)


# --- reading ---------------------------------------------------------------------------------------
def load(session: Session, campaign_id: int) -> AppraisalCampaign:
    campaign = session.get(AppraisalCampaign, campaign_id)
    if campaign is None:
        raise NotFound(f"没有编号为 {campaign_id} 的鉴定任务", f"no appraisal campaign {campaign_id}")
    return campaign


def _counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(select(AppraisalItem.state, func.count(AppraisalItem.id))
                           .where(AppraisalItem.campaign_id == campaign_id).group_by(AppraisalItem.state)).all()
    return {state: n for state, n in rows}


def _decision_counts(session: Session, campaign_id: int) -> dict[str, int]:
    rows = session.execute(select(AppraisalItem.decision, func.count(AppraisalItem.id))
                           .where(AppraisalItem.campaign_id == campaign_id, AppraisalItem.decision != "")
                           .group_by(AppraisalItem.decision)).all()
    return {decision: n for decision, n in rows}


def committee_of(campaign: AppraisalCampaign) -> list[str]:
    return [a for a in campaign.committee.split(",") if a]


def current_round(session: Session, campaign_id: int) -> int:
    rejections = session.scalar(select(func.count(AppraisalApproval.id)).where(
        AppraisalApproval.campaign_id == campaign_id, AppraisalApproval.approve.is_(False))) or 0
    return rejections + 1


def campaign_public(session: Session, campaign: AppraisalCampaign) -> dict[str, Any]:
    approvals = session.scalars(select(AppraisalApproval).where(AppraisalApproval.campaign_id == campaign.id)
                                .order_by(AppraisalApproval.id)).all()
    counts = _counts(session, campaign.id)
    return {"id": campaign.id, "kind": campaign.kind, "label": rules.KIND_LABELS[Kind(campaign.kind)],
            "year": campaign.year, "fonds_code": campaign.fonds_code or None, "status": campaign.status,
            "proposer": campaign.proposer, "committee": committee_of(campaign), "note": campaign.note,
            "created_at": iso(campaign.created_at), "submitted_at": iso(campaign.submitted_at),
            "approved_at": iso(campaign.approved_at), "executed_at": iso(campaign.executed_at),
            "executed_by": campaign.executed_by or None, "destroyed_at": iso(campaign.destroyed_at),
            "destroyed_by": campaign.destroyed_by or None, "register_sm3": campaign.register_sm3 or None,
            "register_record_id": campaign.register_record_id or None,
            "items": sum(counts.values()), "states": counts, "decisions": _decision_counts(session, campaign.id),
            "round": current_round(session, campaign.id),
            "approvals": [{"round": a.round, "approver": a.approver, "approve": a.approve, "comment": a.comment,
                           "at": iso(a.at)} for a in approvals]}


def item_public(row: AppraisalItem, principal: Principal) -> dict[str, Any]:
    """One campaign item; above the caller's clearance only its 电子文件号, 密级 and state are shown."""
    if not may_see(principal.clearance, row.security_classification):
        return {"record_id": row.record_id, "archival_code": "", "title": "（高于您的密级权限）", "document_number": "",
                "date": "", "page_count": None, "retention": row.retention,
                "security_classification": row.security_classification, "fonds_code": row.fonds_code,
                "year": row.year, "decision": row.decision or None, "new_value": None, "reason": None,
                "decided_by": row.decided_by or None, "state": row.state, "error": None, "above_clearance": True}
    return {"record_id": row.record_id, "archival_code": row.archival_code, "title": row.title,
            "document_number": row.document_number, "date": row.date, "page_count": row.page_count,
            "retention": row.retention, "security_classification": row.security_classification,
            "fonds_code": row.fonds_code, "year": row.year, "decision": row.decision or None,
            "new_value": row.new_value or None, "reason": row.reason or None, "decided_by": row.decided_by or None,
            "state": row.state, "error": row.error or None}


def _may_read(principal: Principal, campaign: AppraisalCampaign) -> None:
    """Campaign lists name items: 密级 campaigns only for holders of item.classify or their committee."""
    authz.require_any(principal, *READERS)
    if campaign.kind == Kind.SECRECY.value and not principal.can(Permission.ITEM_CLASSIFY) \
            and principal.username not in committee_of(campaign):
        raise NotFound(f"没有编号为 {campaign.id} 的鉴定任务", f"no appraisal campaign {campaign.id}")


def get_campaign(archive: Archive, principal: Principal, campaign_id: int, *, page: int = 1,
                 page_size: int = 50, state: str = "") -> dict[str, Any]:
    """A campaign with one page of its items (filtered by ``state``), in 档号 order."""
    page, page_size = max(1, page), max(1, min(page_size, MAX_PAGE))
    with archive.sessions() as session:
        campaign = load(session, campaign_id)
        _may_read(principal, campaign)
        query = select(AppraisalItem).where(AppraisalItem.campaign_id == campaign_id)
        if state:
            query = query.where(AppraisalItem.state == state)
        total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
        rows = session.scalars(query.order_by(AppraisalItem.archival_code, AppraisalItem.record_id)
                               .limit(page_size).offset((page - 1) * page_size)).all()
        return {**campaign_public(session, campaign), "page": page, "page_size": page_size, "total": total,
                "rows": [item_public(r, principal) for r in rows]}


def list_campaigns(archive: Archive, principal: Principal, *, status: str = "") -> list[dict[str, Any]]:
    authz.require_any(principal, *READERS)
    query = select(AppraisalCampaign).order_by(AppraisalCampaign.id.desc()).limit(500)
    if status:
        query = query.where(AppraisalCampaign.status == status)
    with archive.sessions() as session:
        result = []
        for campaign in session.scalars(query).all():
            try:
                _may_read(principal, campaign)
            except NotFound:
                continue
            result.append(campaign_public(session, campaign))
        return result


# --- open ------------------------------------------------------------------------------------------
_COPIED = ("record_id", "archival_code", "title", "document_number", "date", "page_count", "retention",
           "security_classification", "fonds_code", "year")


def open_campaign(archive: Archive, principal: Principal, kind_text: str, year: int, *, fonds: str = "",
                  note: str = "") -> dict[str, Any]:
    """Open a campaign and propose every item due by the end of ``year`` (not yet appraised)."""
    kind = kind_of(kind_text)
    require_manager(principal, kind)
    if not 1900 <= year <= 9998:
        raise BadInput("年度超出范围", "year out of range", year=year)
    fonds = (fonds or "").strip()
    with archive.session() as session:
        campaign = AppraisalCampaign(kind=kind.value, year=year, fonds_code=fonds, status=Status.DRAFT.value,
                                     proposer=principal.username, committee="", note=(note or "").strip()[:1000],
                                     created_at=now(), executed_by="", register_path="", register_sm3="",
                                     register_record_id="", destroyed_by="")
        session.add(campaign)
        session.flush()
        proposed = propose(session, archive, campaign.id, kind, year, fonds)
        campaign_id = campaign.id
    archive.audit.append(principal.username, "appraisal.opened", f"campaign:{campaign_id}",
                         {"kind": kind.value, "year": year, "fonds_code": fonds, "proposed": proposed,
                          "via": principal.via})
    return get_campaign(archive, principal, campaign_id)


def propose(session: Session, archive: Archive, campaign_id: int, kind: Kind, year: int, fonds: str) -> int:
    """Copy every due item into the campaign (one INSERT … SELECT); returns how many."""
    due = appraisal_due.due_condition(session, archive.settings, kind, year, fonds)
    columns = [getattr(Item, c) for c in _COPIED]
    source = select(literal(campaign_id), *columns, literal(""), literal(""), literal(""), literal(""),
                    literal(ItemState.PROPOSED.value), literal("")).where(due)
    target = ["campaign_id", *_COPIED, "decision", "new_value", "reason", "decided_by", "state", "error"]
    session.execute(insert(AppraisalItem).from_select(target, source))
    return session.scalar(select(func.count(AppraisalItem.id)).where(AppraisalItem.campaign_id == campaign_id)) or 0


# --- decide ----------------------------------------------------------------------------------------
def decide(archive: Archive, principal: Principal, campaign_id: int, record_ids: list[str], decision_text: str,
           reason: str, *, value: str = "") -> dict[str, Any]:
    """Record one decision for one or many items of a draft campaign (bulk decisions of the web page)."""
    wanted = sorted({r.strip() for r in record_ids if r and r.strip()})
    if not wanted:
        raise BadInput("请至少选择一件档案", "select at least one item")
    try:
        decision = rules.parse_decision(decision_text)
    except rules.AppraisalRuleError as exc:
        raise rule_error(exc) from None
    with archive.session() as session:
        campaign = load(session, campaign_id)
        kind = Kind(campaign.kind)
        require_manager(principal, kind)
        _require_status(campaign, Status.DRAFT, "只有草稿状态的鉴定任务可以作出鉴定意见", "only a draft campaign can be decided")
        rows = {r.record_id: r for r in session.scalars(select(AppraisalItem).where(
            AppraisalItem.campaign_id == campaign_id, AppraisalItem.record_id.in_(wanted)))}
        missing = [r for r in wanted if r not in rows or not may_see(principal.clearance, rows[r].security_classification)]
        if missing:
            raise NotFound(f"以下档案不在鉴定任务 {campaign_id} 中：{'、'.join(missing[:10])}",
                           "items not in this campaign", record_ids=missing[:50])
        held = holds.held_record_ids(session, wanted)
        moment, decided = now(), []
        for record_id in wanted:
            row = rows[record_id]
            checked = _checked(kind, decision, row, value, reason, record_id in held)
            row.decision, row.new_value, row.reason = checked.decision.value, checked.value, checked.reason
            row.decided_by, row.decided_at, row.state = principal.username, moment, ItemState.DECIDED.value
            decided.append({"record_id": record_id, "archival_code": row.archival_code, "title": row.title})
    archive.audit.append(principal.username, "appraisal.decided", f"campaign:{campaign_id}",
                         {"decision": decision.value, "value": checked.value, "reason": checked.reason,
                          "items": decided, "via": principal.via})
    return {"campaign_id": campaign_id, "decision": decision.value, "value": checked.value or None,
            "decided": len(decided)}


def _checked(kind: Kind, decision: Decision, row: AppraisalItem, value: str, reason: str,
             held: bool) -> rules.CheckedDecision:
    facts = rules.ItemFacts(retention=row.retention, security=row.security_classification)
    try:
        return rules.check_decision(kind, decision, facts, value=value, reason=reason, held=held)
    except rules.AppraisalRuleError as exc:
        cls = Conflict if held else BadInput
        raise cls(f"{row.record_id}：{exc.message_zh}", f"{row.record_id}: {exc.message_en}") from None


def _require_status(campaign: AppraisalCampaign, status: Status, zh: str, en: str) -> None:
    if campaign.status != status.value:
        raise Conflict(f"{zh}（鉴定任务 {campaign.id} 当前为 {campaign.status}）", en, status=campaign.status)


# --- submit and approve ----------------------------------------------------------------------------
def submit(archive: Archive, principal: Principal, campaign_id: int, approvers: list[str]) -> dict[str, Any]:
    """Send a fully decided draft to its 鉴定小组 (see :func:`lantai.domain.appraisal.committee_problem`)."""
    with archive.session() as session:
        campaign = load(session, campaign_id)
        kind = Kind(campaign.kind)
        require_manager(principal, kind)
        _require_status(campaign, Status.DRAFT, "只有草稿状态的鉴定任务可以提交审批", "only a draft campaign can be submitted")
        counts = _counts(session, campaign_id)
        if not counts:
            raise Conflict("鉴定任务中没有档案，无需提交", "the campaign has no items")
        if counts.get(ItemState.PROPOSED.value):
            raise Conflict(f"还有 {counts[ItemState.PROPOSED.value]} 件档案未作出鉴定意见",
                           "some items have no decision yet", undecided=counts[ItemState.PROPOSED.value])
        named = list(dict.fromkeys(a.strip() for a in approvers if a and a.strip()))
        problem = rules.committee_problem(kind, campaign.proposer, named,
                                          rules.parse_committee(archive.settings.appraisal_committee or ""),
                                          archive.settings.appraisal_min_approvers)
        if problem is not None:
            raise rule_error(problem)
        _check_approvers(session, campaign_id, named)
        campaign.committee, campaign.status, campaign.submitted_at = ",".join(named), Status.SUBMITTED.value, now()
        decisions = _decision_counts(session, campaign_id)
    archive.audit.append(principal.username, "appraisal.submitted", f"campaign:{campaign_id}",
                         {"committee": named, "decisions": decisions, "via": principal.via})
    return get_campaign(archive, principal, campaign_id)


def _check_approvers(session: Session, campaign_id: int, named: list[str]) -> None:
    """Each approver: an active account allowed to approve, cleared for the campaign's most secret item."""
    levels = session.scalars(select(AppraisalItem.security_classification).distinct()
                             .where(AppraisalItem.campaign_id == campaign_id)).all()
    top = max((rank(level) for level in levels), default=0)
    users = {u.username: u for u in session.scalars(select(User).where(User.username.in_(named), User.active.is_(True)))}
    for name in named:
        user = users.get(name)
        if user is None or Permission.APPRAISE_APPROVE not in permissions_of(parse_roles(user.roles)):
            raise BadInput(f"{name} 不是可审批鉴定的启用账号", f"{name} is not an active account that may approve")
        if rank(user.clearance) < top:
            raise BadInput(f"{name} 的密级权限低于鉴定任务中档案的密级，不能审批",
                           f"{name}'s clearance is below the campaign's most secret item")


def approve(archive: Archive, principal: Principal, campaign_id: int, agree: bool, comment: str) -> dict[str, Any]:
    """One 鉴定小组 member's answer; a rejection (with a comment) sends the campaign back to 草稿."""
    authz.require(principal, Permission.APPRAISE_APPROVE)
    comment = (comment or "").strip()[:1000]
    if not agree and not comment:
        raise BadInput("驳回鉴定须说明意见", "a rejection needs a comment")
    with archive.session() as session:
        campaign = load(session, campaign_id)
        if campaign.proposer == principal.username:
            raise PermissionDenied("不能审批本人提出的鉴定任务", "you cannot approve your own campaign")
        if principal.username not in committee_of(campaign):
            raise PermissionDenied("您不是该鉴定任务的鉴定小组成员", "you are not on this campaign's committee")
        _require_status(campaign, Status.SUBMITTED, "只有待审批的鉴定任务可以审批", "only a submitted campaign can be approved")
        round_ = current_round(session, campaign_id)
        answered = session.scalar(select(AppraisalApproval.id).where(
            AppraisalApproval.campaign_id == campaign_id, AppraisalApproval.round == round_,
            AppraisalApproval.approver == principal.username))
        if answered is not None:
            raise Conflict("您已审批过本轮鉴定", "you already answered this round")
        session.add(AppraisalApproval(campaign_id=campaign_id, round=round_, approver=principal.username,
                                      approve=agree, comment=comment, at=now()))
        session.flush()
        agreed = set(session.scalars(select(AppraisalApproval.approver).where(
            AppraisalApproval.campaign_id == campaign_id, AppraisalApproval.round == round_,
            AppraisalApproval.approve.is_(True))))
        if not agree:
            campaign.status, campaign.submitted_at = Status.DRAFT.value, None
        elif agreed >= set(committee_of(campaign)):
            campaign.status, campaign.approved_at = Status.APPROVED.value, now()
        status = campaign.status
    archive.audit.append(principal.username, "appraisal.approved" if agree else "appraisal.rejected",
                         f"campaign:{campaign_id}", {"round": round_, "comment": comment, "status": status,
                                                      "via": principal.via})
    return get_campaign(archive, principal, campaign_id)


# --- execute ---------------------------------------------------------------------------------------
Progress = Callable[[int], None]


def execute(archive: Archive, principal: Principal, campaign_id: int, *, progress: Progress | None = None,
            on_total: Callable[[int], None] | None = None) -> dict[str, Any]:
    """Apply an approved campaign's decisions as new versions; run again to finish an interrupted one."""

    with archive.session() as session:
        campaign = load(session, campaign_id)
        require_manager(principal, Kind(campaign.kind))
        _require_status(campaign, Status.APPROVED, "只有已批准的鉴定任务可以执行", "only an approved campaign can be executed")
        levels = session.scalars(select(AppraisalItem.security_classification).distinct()
                                 .where(AppraisalItem.campaign_id == campaign_id)).all()
        if any(not may_see(principal.clearance, level) for level in levels):
            raise PermissionDenied("鉴定任务中有档案的密级高于您的密级权限，不能执行",
                                   "an item of the campaign is above your clearance")
        if campaign.executed_at is None:
            campaign.executed_at, campaign.executed_by = now(), principal.username  # fixes the event time
        elif campaign.executed_by != principal.username:
            campaign.executed_by = principal.username
    outcome = appraisal_execute.apply_decisions(archive, campaign_id, progress=progress, on_total=on_total)
    with archive.sessions() as session:
        remaining = session.scalar(select(func.count(AppraisalItem.id)).where(
            AppraisalItem.campaign_id == campaign_id, AppraisalItem.state == ItemState.DECIDED.value)) or 0
    if not remaining and outcome["destroy"]:  # the register first: a campaign 已执行 always has it
        from lantai.services import destruction

        outcome["register"] = destruction.write_register(archive, campaign_id)
    if not remaining:
        with archive.session() as session:
            load(session, campaign_id).status = Status.EXECUTED.value
    archive.audit.append(principal.username, "appraisal.executed", f"campaign:{campaign_id}",
                         {**{k: v for k, v in outcome.items() if k != "errors"}, "errors": outcome["errors"][:50],
                          "complete": not remaining, "via": principal.via})
    return {**get_campaign(archive, principal, campaign_id), "execution": outcome}


def mark_states(session: Session, campaign_id: int, states: dict[str, tuple[str, str]]) -> None:
    """Set campaign items' states (and errors) — in the caller's transaction."""
    if not states:
        return
    table = AppraisalItem.__table__
    statement = (update(table).where(table.c.campaign_id == campaign_id, table.c.record_id == bindparam("rid"))
                 .values(state=bindparam("new_state"), error=bindparam("new_error")))
    session.execute(statement, [{"rid": r, "new_state": state, "new_error": error[:1000]}
                                for r, (state, error) in states.items()])
