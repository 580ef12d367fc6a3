"""Holds (冻结): items, or a whole 全宗 (optionally one 年度), kept from destruction and shorter retention.

An archivist or the 安全保密管理员 places a hold for a litigation, an audit or an inspection, with
a reason and an optional last day. While it is in force (not lifted, its day not past — checked
at the moment of use, so an expired hold needs no job) a held item cannot be decided 销毁, cannot
be destroyed in phase 2 (it waits, 冻结中), and cannot have its retention shortened. Holds are
listed and lifted with a record; every act is in the audit chain.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, and_, or_, select
from sqlalchemy.orm import Session

from lantai.catalog.appraisal import Hold
from lantai.catalog.models import Item
from lantai.domain.clock import BEIJING
from lantai.domain.permissions import Permission
from lantai.errors import BadInput, Conflict, NotFound
from lantai.services import authz
from lantai.services.browse import iso
from lantai.services.users import Principal, aware, now

if TYPE_CHECKING:
    from lantai.services.archive import Archive


def in_force(moment: dt.datetime | None = None) -> ColumnElement[bool]:
    """SQL condition on ``Hold``: not lifted and not past its last day."""
    moment = moment or now()
    return and_(Hold.lifted_at.is_(None), or_(Hold.until.is_(None), Hold.until > moment))


def held_record_ids(session: Session, record_ids: Iterable[str]) -> set[str]:
    """Which of these items a hold in force covers (by 电子文件号, or by their 全宗/年度)."""
    wanted = sorted({r for r in record_ids if r})
    holds = session.scalars(select(Hold).where(in_force())).all()
    if not holds or not wanted:
        return set()
    by_item = {h.record_id for h in holds if h.record_id}
    scopes = [(h.fonds_code, h.year) for h in holds if not h.record_id]
    held = {r for r in wanted if r in by_item}
    if scopes:
        for start in range(0, len(wanted), 500):
            chunk = wanted[start:start + 500]
            rows = session.execute(select(Item.record_id, Item.fonds_code, Item.year)
                                   .where(Item.record_id.in_(chunk))).all()
            held |= {r for r, fonds, year in rows if any(f == fonds and (y is None or y == year) for f, y in scopes)}
    return held


def _until(day: dt.date | None) -> dt.datetime | None:
    if day is None:
        return None
    if day < dt.datetime.now(BEIJING).date():
        raise BadInput("冻结截止日期不能早于今天", "a hold cannot end in the past")
    return dt.datetime.combine(day, dt.time(23, 59, 59), BEIJING).astimezone(dt.UTC)


def place_hold(archive: Archive, principal: Principal, reason: str, *, record_id: str = "", fonds_code: str = "",
               year: int | None = None, until: dt.date | None = None) -> dict[str, Any]:
    """Place a hold on one item (``record_id``) or on a 全宗 (``fonds_code``, optionally ``year``)."""
    authz.require(principal, Permission.HOLD)
    reason, record_id, fonds_code = (reason or "").strip()[:1000], (record_id or "").strip(), (fonds_code or "").strip()
    if not reason:
        raise BadInput("冻结须说明理由（如诉讼、审计、检查）", "a hold needs a reason")
    if bool(record_id) == bool(fonds_code):
        raise BadInput("请指定一件档案（电子文件号）或一个全宗（可加年度），二者选一",
                       "name either one item or one fonds (optionally with a year)")
    if year is not None and not fonds_code:
        raise BadInput("按年度冻结须同时指定全宗", "a year hold needs a fonds")
    with archive.session() as session:
        if record_id and session.scalar(select(Item.id).where(Item.record_id == record_id)) is None:
            raise NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item with record id {record_id}")
        hold = Hold(record_id=record_id, fonds_code=fonds_code, year=year, reason=reason,
                    placed_by=principal.username, placed_at=now(), until=_until(until), lifted_by="", lift_reason="")
        session.add(hold)
        session.flush()
        hold_id = hold.id
    archive.audit.append(principal.username, "hold.placed", f"hold:{hold_id}",
                         {"record_id": record_id, "fonds_code": fonds_code, "year": year, "reason": reason,
                          "until": until.isoformat() if until else None, "via": principal.via})
    return get_hold(archive, hold_id)


def get_hold(archive: Archive, hold_id: int) -> dict[str, Any]:
    with archive.sessions() as session:
        hold = session.get(Hold, hold_id)
        if hold is None:
            raise NotFound(f"没有编号为 {hold_id} 的冻结", f"no hold {hold_id}")
        return hold_public(hold)


def hold_state(hold: Hold, moment: dt.datetime | None = None) -> str:
    if hold.lifted_at is not None:
        return "已解除"
    until = aware(hold.until) if hold.until else None
    return "已到期" if until is not None and until <= (moment or now()) else "冻结中"


def hold_public(hold: Hold) -> dict[str, Any]:
    until = aware(hold.until) if hold.until else None
    return {"id": hold.id, "record_id": hold.record_id or None, "fonds_code": hold.fonds_code or None,
            "year": hold.year, "reason": hold.reason, "placed_by": hold.placed_by,
            "placed_at": iso(hold.placed_at),
            "until": until.astimezone(BEIJING).date().isoformat() if until else None, "state": hold_state(hold),
            "lifted_at": iso(hold.lifted_at),
            "lifted_by": hold.lifted_by or None, "lift_reason": hold.lift_reason or None}


def list_holds(archive: Archive, principal: Principal, *, active_only: bool = False) -> list[dict[str, Any]]:
    """Every hold, newest first (those in force only, with ``active_only``)."""
    authz.require_any(principal, Permission.HOLD, Permission.APPRAISE, Permission.APPRAISE_APPROVE)
    query = select(Hold).order_by(Hold.id.desc()).limit(1000)
    if active_only:
        query = query.where(in_force())
    with archive.sessions() as session:
        return [hold_public(h) for h in session.scalars(query).all()]


def lift_hold(archive: Archive, principal: Principal, hold_id: int, reason: str) -> dict[str, Any]:
    """Lift a hold now, with the reason recorded; held items may be destroyed again afterwards."""
    authz.require(principal, Permission.HOLD)
    reason = (reason or "").strip()[:1000]
    if not reason:
        raise BadInput("解除冻结须说明理由", "lifting a hold needs a reason")
    with archive.session() as session:
        hold = session.get(Hold, hold_id)
        if hold is None:
            raise NotFound(f"没有编号为 {hold_id} 的冻结", f"no hold {hold_id}")
        if hold.lifted_at is not None:
            raise Conflict(f"冻结 {hold_id} 已解除", "hold already lifted")
        hold.lifted_at, hold.lifted_by, hold.lift_reason = now(), principal.username, reason
        scope = {"record_id": hold.record_id, "fonds_code": hold.fonds_code, "year": hold.year}
    archive.audit.append(principal.username, "hold.lifted", f"hold:{hold_id}",
                         {**scope, "reason": reason, "via": principal.via})
    return get_hold(archive, hold_id)
