"""利用申请 → 审批 → 授权: access requests, their one- or two-step approval, and grants.

A reader names items by 电子文件号, 档号 or 文号 as typed. The request stores the text only and
answers the same whether it names a visible item, a hidden one or nothing at all, so a request
form never confirms that a record exists. Approvers resolve the references when they decide:
the 档案管理员 first, then — for items whose 密级 is in ``use_two_step_levels`` — the 安全保密管理员.
Nobody approves their own request, nor a request naming an item above their own clearance.
An approved request becomes a grant (items × 利用方式 × date) that
:func:`lantai.services.visibility.visible_to` honours until it expires or is revoked. Every act
is appended to the audit chain.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item, User
from lantai.catalog.use import UseDecision, UseGrant, UseGrantItem, UseRequest, UseRequestItem
from lantai.domain import use as rules
from lantai.domain.clock import BEIJING
from lantai.domain.permissions import Permission
from lantai.domain.use import Status
from lantai.errors import BadInput, Conflict, NotFound, PermissionDenied
from lantai.services import authz
from lantai.services.users import Principal, principal_of
from lantai.services.visibility import visible_to

if TYPE_CHECKING:
    from lantai.services.archive import Archive

APPROVERS = (Permission.USE_APPROVE, Permission.USE_SECURITY_APPROVE)


@dataclass(frozen=True)
class Reference:
    """An item as the reader typed it: ``kind`` is record_id, archival_code, document_number or auto."""

    kind: str
    value: str


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _aware(value: dt.datetime | None) -> dt.datetime | None:
    return value if value is None or value.tzinfo else value.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    value = _aware(value)
    return value.isoformat() if value else None


# --- validation -----------------------------------------------------------------------------------
def _references(items: list[Reference]) -> list[Reference]:
    cleaned = [Reference(r.kind, r.value.strip()) for r in items if r.value and r.value.strip()]
    if not cleaned:
        raise BadInput("请至少填写一件档案（电子文件号、档号或文号）", "name at least one item")
    if len(cleaned) > rules.MAX_ITEMS_PER_REQUEST:
        raise BadInput(f"一次最多申请 {rules.MAX_ITEMS_PER_REQUEST} 件", "too many items in one request")
    for ref in cleaned:
        if ref.kind not in (*rules.REFERENCE_KINDS, "auto"):
            raise BadInput(f"未知的条目标识类型：{ref.kind}", f"unknown reference kind {ref.kind}")
        if len(ref.value) > 128:
            raise BadInput("条目标识过长（最多 128 字）", "reference too long")
    return list(dict.fromkeys(cleaned))


def _purpose(purpose: str, detail: str) -> tuple[str, str]:
    if purpose not in rules.PURPOSES:
        raise BadInput(f"利用目的须为：{'、'.join(rules.PURPOSES)}", "unknown purpose", purpose=purpose)
    detail = (detail or "").strip()
    if purpose == rules.OTHER_PURPOSE and not detail:
        raise BadInput("利用目的为“其他”时请说明具体目的", "purpose 其他 needs a description")
    return purpose, detail[:500]


def _methods(methods: list[str]) -> str:
    unknown = [m for m in methods if m not in rules.METHODS]
    if unknown or not methods:
        raise BadInput(f"利用方式须为：{'、'.join(rules.METHODS)}", "unknown or missing method", methods=unknown)
    return rules.method_text(methods)


def end_of_day(day: dt.date) -> dt.datetime:
    """A grant ``until`` a date lasts to the end of that day, Beijing time."""
    return dt.datetime.combine(day, dt.time(23, 59, 59), BEIJING).astimezone(dt.UTC)


def _until(day: dt.date) -> dt.datetime:
    today = now().astimezone(BEIJING).date()
    if day < today:
        raise BadInput("利用期限不能早于今天", "the period must not end in the past")
    if (day - today).days > rules.MAX_GRANT_DAYS:
        raise BadInput(f"利用期限最长 {rules.MAX_GRANT_DAYS} 天", "period too long")
    return end_of_day(day)


# --- requests -------------------------------------------------------------------------------------
def create_request(archive: Archive, principal: Principal, items: list[Reference], purpose: str, methods: list[str],
                   until: dt.date, *, purpose_detail: str = "", note: str = "") -> dict[str, Any]:
    """File a request. The answer never depends on whether the named items exist or are visible."""
    authz.require(principal, Permission.USE_REQUEST)
    refs = _references(items)
    purpose, detail = _purpose(purpose, purpose_detail)
    method_text, valid_until = _methods(methods), _until(until)
    with archive.session() as session:
        request = UseRequest(requester=principal.username, purpose=purpose, purpose_detail=detail,
                             methods=method_text, valid_until=valid_until, note=(note or "").strip()[:1000],
                             status=Status.PENDING.value, two_step=False, created_at=now())
        session.add(request)
        session.flush()
        session.add_all(UseRequestItem(request_id=request.id, kind=r.kind, reference=r.value) for r in refs)
        request_id = request.id
    archive.audit.append(principal.username, "use.requested", f"request:{request_id}",
                         {"items": [[r.kind, r.value] for r in refs], "purpose": purpose,
                          "methods": rules.method_list(method_text), "until": valid_until.isoformat(),
                          "via": principal.via})
    return get_request(archive, principal, request_id)


def _match(ref_kind: str, value: str) -> Any:
    columns = {"record_id": Item.record_id, "archival_code": Item.archival_code,
               "document_number": Item.document_number}
    if ref_kind == "auto":
        return or_(*(column == value for column in columns.values()))
    return columns[ref_kind] == value


def _resolve(session: Session, row: UseRequestItem) -> list[Item]:
    """Every catalogue item the typed reference names (a 文号 may name several)."""
    return list(session.scalars(select(Item).where(_match(row.kind, row.reference)).order_by(Item.record_id)
                                .limit(50)))


def _is_approver(principal: Principal) -> bool:
    return any(principal.can(p) for p in APPROVERS)


def _load(session: Session, principal: Principal, request_id: int) -> UseRequest:
    """The request if the caller filed it or may decide requests; otherwise the same NotFound."""
    request = session.get(UseRequest, request_id)
    if request is None or (request.requester != principal.username and not _is_approver(principal)):
        raise NotFound(f"没有编号为 {request_id} 的利用申请", f"no access request {request_id}")
    return request


def _item_view(session: Session, principal: Principal, row: UseRequestItem, reviewer: bool) -> dict[str, Any]:
    """One requested item as this caller may see it: titles only of items visible to the caller.

    A reader learns nothing of a hidden or missing item; an approver also sees what it resolves to,
    and the 密级 of items above its own clearance (so it knows it cannot approve them).
    """
    entry: dict[str, Any] = {"kind": row.kind, "reference": row.reference, "items": []}
    matches = _resolve(session, row)
    visible = set(session.scalars(select(Item.record_id).where(
        Item.record_id.in_([m.record_id for m in matches]), visible_to(principal)))) if matches else set()
    for item in matches:
        if item.record_id in visible:
            entry["items"].append({"record_id": item.record_id, "title": item.title, "archival_code": item.archival_code,
                                   "security_classification": item.security_classification})
        elif reviewer:
            entry["items"].append({"record_id": None, "title": None, "archival_code": None,
                                   "security_classification": item.security_classification, "above_clearance": True})
    if reviewer:
        entry["found"] = bool(matches)
    return entry


def _public(session: Session, principal: Principal, request: UseRequest) -> dict[str, Any]:
    reviewer = _is_approver(principal) and request.requester != principal.username
    rows = session.scalars(select(UseRequestItem).where(UseRequestItem.request_id == request.id)
                           .order_by(UseRequestItem.id)).all()
    decisions = session.scalars(select(UseDecision).where(UseDecision.request_id == request.id)
                                .order_by(UseDecision.id)).all()
    grant = session.scalar(select(UseGrant.id).where(UseGrant.request_id == request.id))
    return {"id": request.id, "requester": request.requester, "purpose": request.purpose,
            "purpose_detail": request.purpose_detail, "methods": rules.method_list(request.methods),
            "until": _iso(request.valid_until), "note": request.note, "status": request.status,
            "two_step": request.two_step, "created_at": _iso(request.created_at), "decided_at": _iso(request.decided_at),
            "items": [_item_view(session, principal, row, reviewer) for row in rows],
            "decisions": [{"step": d.step, "by": d.decided_by, "approve": d.approve, "reason": d.reason,
                           "at": _iso(d.decided_at)} for d in decisions],
            "grant_id": grant, "effect": request.effect, "effect_note": request.effect_note,
            "effect_at": _iso(request.effect_at)}


def record_effect(archive: Archive, principal: Principal, request_id: int, effect: str, note: str = "") -> dict[str, Any]:
    """The reader's 利用效果 on their own approved request (changeable; every report journalled).

    Only the requester reports it, and only once the request was approved: the effect of a use
    that never happened is not a figure the 利用登记簿 should carry."""
    authz.require(principal, Permission.USE_REQUEST)
    if effect not in rules.EFFECTS:
        raise BadInput(f"利用效果应为：{'、'.join(rules.EFFECTS)}", f"effect must be one of {', '.join(rules.EFFECTS)}")
    with archive.session() as session:
        request = session.get(UseRequest, request_id)
        if request is None or request.requester != principal.username:
            raise NotFound(f"没有利用申请 {request_id}", f"no use request {request_id}")
        if session.scalar(select(UseGrant.id).where(UseGrant.request_id == request_id)) is None:
            raise Conflict("只有已批准的利用申请才能登记利用效果", "only an approved request has a use effect")
        request.effect, request.effect_note, request.effect_at = effect, note.strip()[:1000], now()
        archive.audit.append(principal.username, "use.effect", f"request:{request_id}",
                             {"effect": effect, "note": request.effect_note}, session=session)
        return _public(session, principal, request)


def get_request(archive: Archive, principal: Principal, request_id: int) -> dict[str, Any]:
    authz.require_any(principal, Permission.USE_REQUEST, *APPROVERS)
    with archive.sessions() as session:
        return _public(session, principal, _load(session, principal, request_id))


def list_requests(archive: Archive, principal: Principal, *, mine: bool = False, status: str | None = None,
                  limit: int = 200) -> list[dict[str, Any]]:
    """One's own requests; approvers (unless ``mine``) see every request, newest first."""
    authz.require_any(principal, Permission.USE_REQUEST, *APPROVERS)
    query = select(UseRequest).order_by(UseRequest.id.desc()).limit(max(1, min(limit, 1000)))
    if mine or not _is_approver(principal):
        query = query.where(UseRequest.requester == principal.username)
    if status:
        query = query.where(UseRequest.status == status)
    with archive.sessions() as session:
        return [_public(session, principal, r) for r in session.scalars(query).all()]


# --- decisions ------------------------------------------------------------------------------------
def _step_for(principal: Principal, request: UseRequest) -> str:
    """Which step the caller can take now: 档案管理员 first, then 安全保密管理员."""
    if request.status == Status.PENDING.value:
        authz.require(principal, Permission.USE_APPROVE)
        return "archivist"
    if request.status == Status.SECURITY_PENDING.value:
        authz.require(principal, Permission.USE_SECURITY_APPROVE)
        return "security"
    raise Conflict(f"利用申请 {request.id} 已审结（{request.status}）", "request already decided",
                   status=request.status)


def _approvable_items(session: Session, principal: Principal, request: UseRequest) -> list[Item]:
    """The items an approval would grant, refusing when the approver's clearance is below any of them."""
    rows = session.scalars(select(UseRequestItem).where(UseRequestItem.request_id == request.id)).all()
    items = {i.record_id: i for row in rows for i in _resolve(session, row)}
    if not items:
        raise Conflict("申请中的档案均未找到，无法批准，请驳回并说明", "none of the requested items exists")
    levels = [i.security_classification for i in items.values()]
    if not rules.may_approve_levels(principal.clearance, levels):
        raise PermissionDenied("申请中有档案的密级高于您的密级权限，不能审批", "an item is above your clearance",
                               clearance=principal.clearance)
    return list(items.values())


def decide(archive: Archive, principal: Principal, request_id: int, approve: bool, reason: str) -> dict[str, Any]:
    """Approve or refuse one step of a request; the last approval creates the grant."""
    authz.require_any(principal, *APPROVERS)
    reason = (reason or "").strip()[:1000]
    if not approve and not reason:
        raise BadInput("驳回申请须说明理由", "a refusal needs a reason")
    two_step_levels = rules.parse_levels(archive.settings.use_two_step_levels)
    with archive.session() as session:
        request = _load(session, principal, request_id)
        if request.requester == principal.username:
            raise PermissionDenied("不能审批本人提出的利用申请", "you cannot decide your own request")
        step = _step_for(principal, request)
        moment = now()
        grant_id, items = None, []
        if approve:
            items = _approvable_items(session, principal, request)
            request.two_step = rules.needs_security_step([i.security_classification for i in items], two_step_levels)
        if not approve:
            request.status = Status.REJECTED.value
        elif step == "archivist" and request.two_step:
            request.status = Status.SECURITY_PENDING.value
        else:
            request.status = Status.APPROVED.value
            grant_id = _grant(session, request, [i.record_id for i in items], moment)
        if request.status != Status.SECURITY_PENDING.value:
            request.decided_at = moment
        session.add(UseDecision(request_id=request.id, step=step, decided_by=principal.username, approve=approve,
                                reason=reason, decided_at=moment))
        status, requester = request.status, request.requester
    archive.audit.append(principal.username, "use.decided", f"request:{request_id}",
                         {"step": step, "approve": approve, "reason": reason, "status": status,
                          "requester": requester, "via": principal.via})
    if grant_id is not None:
        archive.audit.append(principal.username, "use.granted", f"grant:{grant_id}",
                             {"request": request_id, "grantee": requester,
                              "items": sorted(i.record_id for i in items)})
    return get_request(archive, principal, request_id)


def _grant(session: Session, request: UseRequest, record_ids: list[str], moment: dt.datetime) -> int:
    grant = UseGrant(request_id=request.id, grantee=request.requester, methods=request.methods,
                     valid_until=request.valid_until, created_at=moment, revoked_by="", revoke_reason="")
    session.add(grant)
    session.flush()
    session.add_all(UseGrantItem(grant_id=grant.id, record_id=r) for r in sorted(set(record_ids)))
    return grant.id


# --- grants ---------------------------------------------------------------------------------------
def grant_state(grant: UseGrant, moment: dt.datetime | None = None) -> str:
    if grant.revoked_at is not None:
        return "已撤销"
    return "有效" if _aware(grant.valid_until) > (moment or now()) else "已过期"


def _grant_public(session: Session, principal: Principal, grant: UseGrant) -> dict[str, Any]:
    record_ids = list(session.scalars(select(UseGrantItem.record_id).where(UseGrantItem.grant_id == grant.id)
                                      .order_by(UseGrantItem.record_id)))
    titles = dict(session.execute(select(Item.record_id, Item.title).where(Item.record_id.in_(record_ids),
                                                                           visible_to(principal))).all())
    return {"id": grant.id, "request_id": grant.request_id, "grantee": grant.grantee,
            "methods": rules.method_list(grant.methods), "until": _iso(grant.valid_until),
            "created_at": _iso(grant.created_at), "state": grant_state(grant), "revoked_at": _iso(grant.revoked_at),
            "revoked_by": grant.revoked_by, "revoke_reason": grant.revoke_reason,
            "items": [{"record_id": r if r in titles else None, "title": titles.get(r)} for r in record_ids]}


def list_grants(archive: Archive, principal: Principal, *, mine: bool = False) -> list[dict[str, Any]]:
    """One's own grants; approvers (unless ``mine``) see every grant. Titles only of visible items."""
    authz.require_any(principal, Permission.USE_REQUEST, *APPROVERS)
    query = select(UseGrant).order_by(UseGrant.id.desc()).limit(500)
    if mine or not _is_approver(principal):
        query = query.where(UseGrant.grantee == principal.username)
    with archive.sessions() as session:
        return [_grant_public(session, principal, g) for g in session.scalars(query).all()]


def revoke_grant(archive: Archive, principal: Principal, grant_id: int, reason: str = "") -> dict[str, Any]:
    """End a grant now; the next query of its holder no longer sees its items."""
    authz.require_any(principal, *APPROVERS)
    with archive.session() as session:
        grant = session.get(UseGrant, grant_id)
        if grant is None:
            raise NotFound(f"没有编号为 {grant_id} 的利用授权", f"no grant {grant_id}")
        if grant.revoked_at is not None:
            raise Conflict(f"利用授权 {grant_id} 已撤销", "grant already revoked")
        grant.revoked_at, grant.revoked_by = now(), principal.username
        grant.revoke_reason = (reason or "").strip()[:1000]
        grantee = grant.grantee
    archive.audit.append(principal.username, "use.revoked", f"grant:{grant_id}",
                         {"grantee": grantee, "reason": reason, "via": principal.via})
    with archive.sessions() as session:
        return _grant_public(session, principal, session.get(UseGrant, grant_id))


def parse_reference(text: str) -> Reference:
    """CLI/web helper: ``档号:…``, ``文号:…``, ``电子文件号:…`` or a bare value (matched against all three)."""
    prefixes = {"电子文件号": "record_id", "档号": "archival_code", "文号": "document_number",
                "record_id": "record_id", "archival_code": "archival_code", "document_number": "document_number"}
    head, sep, rest = text.partition(":")
    if not sep:
        head, sep, rest = text.partition("：")
    if sep and head.strip() in prefixes:
        return Reference(prefixes[head.strip()], rest.strip())
    return Reference("auto", text.strip())


def acting_as(archive: Archive, username: str) -> Principal:
    """``lantai use --user NAME``: the active account as a CLI principal, with its roles and clearance."""

    with archive.sessions() as session:
        user = session.scalar(select(User).where(User.username == username, User.active.is_(True)))
        if user is None:
            raise NotFound(f"没有启用的账号 {username}", f"no active account {username}")
        return principal_of(user, via="cli", max_age_days=archive.settings.password_max_age_days)
