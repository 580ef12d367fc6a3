"""Arrangement (整理): applying a plan of retention, class, 件号 and 档号 to catalogued items.

How a run works, and why:

1. **Decide, in one catalogue transaction.** The first statement takes the row lock of the
   (fonds, category, year) scope, so two processes arranging the same year queue instead of
   racing (PostgreSQL row lock; SQLite's write lock). The plan (:mod:`.arrange_plan`) is computed
   from the catalogue, every item is checked (metadata the 档号 needs, organisation codes,
   retention, the rule's widths), and only when *nothing* is wrong are the arrangement rows
   written — all or nothing. Unique constraints on (class, 件号) and on 档号 back this up. The
   items' catalogue columns (档号, 件号 …) are not written here: like the search index they follow
   the store, and change when the decision is published (step 2). Filed (归档) items never move here; they change only through
   :func:`correct_arrangement`.
2. **Publish to the store** (:mod:`.arrange_publish`). Each changed item gets a new OCFL version
   whose ``元数据.xml`` carries the new 档号 and whose ``lantai/arrangement.json`` records how it
   was decided, then an audit entry — in groups, like ingest's group commit. Rows waiting for this
   are ``pending`` (an outbox): a crash between 1 and 2 loses nothing.

``lantai rebuild`` recreates the arrangement tables from those records (:mod:`.arrange_restore`).
Reference data lives in :mod:`.arrange_reference`, the catalogue outputs and the 归档章 in
:mod:`.arrange_outputs`; their public names are importable from here too.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import utcnow
from lantai.domain.archival_code import CodeError, CodeParts
from lantai.domain.retention import ScheduleError, normalise_retention
from lantai.errors import BadInput, Conflict, ValidationFailed
from lantai.services.arrange_outputs import catalogue_entries, export_catalogue, export_note, stamp_item
from lantai.services.arrange_plan import (
    ArrangementPlan,
    PlannedItem,
    Scope,
    arrangement_of,
    build_plan,
    load_scope,
    plan_errors,
    suggest_retention,
)
from lantai.services.arrange_publish import (
    ARRANGEMENT_PATH,
    METADATA_PATH,
    pending_count,
    publish_pending,
    rewrite_archival_code,
)
from lantai.services.arrange_reference import (
    DOMAIN_ERRORS,
    current_reference,
    default_reference_text,
    export_fonds,
    import_fonds,
    lock,
    reference_versions,
    save_reference,
    translate,
)

if TYPE_CHECKING:
    from lantai.services.archive import Archive

__all__ = ["ARRANGEMENT_PATH", "METADATA_PATH", "ArrangementPlan", "PlannedItem", "arrange", "build_plan",
           "catalogue_entries", "correct_arrangement", "current_reference", "default_reference_text",
           "export_catalogue", "export_fonds", "export_note", "file_arrangement", "import_fonds", "override_retention", "pending_count",
           "publish_pending", "reference_versions", "rewrite_archival_code", "save_reference", "stamp_item",
           "suggest_retention", "translate"]


def arrange(archive: Archive, fonds: str, year: int, *, category: str = "WS", dry_run: bool = False,
            actor: str = "system", publish: bool = True, overrides: dict[str, str] | None = None,
            only: frozenset[str] | None = None, progress: Callable[[str], None] | None = None) -> ArrangementPlan:
    """Propose retention, classify and number one year of a fonds. All or nothing.

    ``dry_run`` returns the plan (with its problems) and changes nothing. Otherwise any problem
    raises :class:`ValidationFailed` and leaves every item as it was. ``only`` takes in just those
    of the unarranged items (see :func:`~lantai.services.arrange_plan.build_plan`).
    """
    scope = load_scope(archive, fonds, year, category)
    if dry_run:
        with archive.sessions() as session:
            return build_plan(session, scope, overrides, only)
    try:
        with archive.session() as session:
            lock(session, scope.lock_key)
            plan = build_plan(session, scope, overrides, only)
            if plan_errors(plan):
                raise ValidationFailed(f"整理失败：{len(plan_errors(plan))} 件文件有问题，未做任何修改",
                                       f"arrangement refused: {len(plan_errors(plan))} problems; nothing was changed",
                                       problems=plan_errors(plan))
            _apply(session, scope, plan)
    except SqlIntegrityError as exc:
        raise Conflict("档号或件号与已有记录冲突，未做任何修改", f"code or item number conflicts; nothing changed: {exc.orig}") from exc
    if plan.changes:
        archive.audit.append(actor, "arrange.applied", f"{fonds}-{category}·{year}",
                             {"changed": len(plan.changes), "items": len(plan.items), "reference_version": scope.reference_version})
    if publish:
        publish_pending(archive, actor=actor, scope=(fonds, category, year), progress=progress)
    return plan


def _apply(session: Session, scope: Scope, plan: ArrangementPlan) -> None:
    changes = plan.changes
    if not changes:
        return
    now = utcnow()
    renumbered = [p.record_id for p in changes if p.change != "assigned"]
    existing: dict[str, int] = {}
    for start in range(0, len(renumbered), 5000):
        existing.update(session.execute(select(Arrangement.record_id, Arrangement.id).where(
            Arrangement.record_id.in_(renumbered[start:start + 5000]))).tuples().all())
    if existing:  # step aside first so swaps inside a class never trip the unique constraints
        session.execute(update(Arrangement), [{"id": i, "item_number": -i, "archival_code": f"~{i}"} for i in existing.values()])
    rows = [_arrangement_values(scope, p, now) for p in changes]
    updates = [{**r, "id": existing[r["record_id"]]} for r in rows if r["record_id"] in existing]
    inserts = [r for r in rows if r["record_id"] not in existing]
    if updates:
        session.execute(update(Arrangement), updates)
    if inserts:
        session.execute(insert(Arrangement), inserts)
    session.flush()


def _arrangement_values(scope: Scope, p: PlannedItem, now: dt.datetime) -> dict[str, Any]:
    return {"record_id": p.record_id, "fonds_code": scope.fonds.code, "category": scope.category, "year": scope.year,
            "class_key": p.class_key, "item_number": p.item_number, "archival_code": p.archival_code,
            "retention": p.retention, "retention_source": p.retention_source, "organisation": p.organisation,
            "state": p.state, "reference_version": scope.reference_version, "pending": True, "published_version": None,
            "change": p.change, "previous_code": p.previous_code if p.previous_code != p.archival_code else "",
            "updated_at": now}



# -- filing, overrides and corrections ----------------------------------------------------------

def file_arrangement(archive: Archive, fonds: str, year: int, *, category: str = "WS", actor: str = "system") -> int:
    """归档: fix the 件号 of every arranged item of the year. After this only corrections change them."""
    scope = load_scope(archive, fonds, year, category)
    with archive.session() as session:
        lock(session, scope.lock_key)
        plan = build_plan(session, scope)
        if plan_errors(plan) or plan.changes:
            raise Conflict("该年度尚有未整理或需重新编号的文件，请先运行 lantai arrange",
                           "some items are unarranged or need renumbering; run lantai arrange first",
                           problems=plan_errors(plan), changes=len(plan.changes))
        result = session.execute(update(Arrangement).where(
            Arrangement.fonds_code == fonds, Arrangement.category == category, Arrangement.year == year,
            Arrangement.state == "draft").values(state="filed", pending=True, change="filed", previous_code=""))
        count = result.rowcount or 0
    archive.audit.append(actor, "arrange.filed_year", f"{fonds}-{category}·{year}", {"items": count})
    publish_pending(archive, actor=actor, scope=(fonds, category, year))
    return count


def override_retention(archive: Archive, record_id: str, retention: str, *, reason: str, actor: str) -> ArrangementPlan:
    """The archivist's decision on 保管期限 for a draft item; the year is renumbered in the same transaction."""
    if not reason.strip():
        raise BadInput("修改保管期限须说明理由", "a reason is required")
    try:
        code = normalise_retention(retention)
    except ScheduleError as exc:
        raise translate(exc) from exc
    a = arrangement_of(archive, record_id)
    if a.state == "filed":
        raise Conflict(f"{record_id} 已归档，档号只能通过更正记录修改（lantai arrange correct）",
                       f"{record_id} is filed; its code changes only through a recorded correction")
    archive.audit.append(actor, "retention.overridden", record_id, {"from": a.retention, "to": code, "reason": reason})
    return arrange(archive, a.fonds_code, a.year, category=a.category, actor=actor, overrides={record_id: code})



def correct_arrangement(archive: Archive, record_id: str, *, reason: str, actor: str, retention: str | None = None,
                        organisation: str | None = None) -> dict[str, Any]:
    """A recorded correction of a filed item: it moves to the end of its new class; the old number stays vacant."""
    if not reason.strip():
        raise BadInput("更正须说明理由", "a correction needs a reason")
    a = arrangement_of(archive, record_id)
    if a.state != "filed":
        raise Conflict(f"{record_id} 尚未归档：请修改元数据或保管期限后重新整理", f"{record_id} is not filed; re-arrange instead")
    scope = load_scope(archive, a.fonds_code, a.year, a.category)
    try:
        new_retention = normalise_retention(retention) if retention else a.retention
        org = scope.fonds.organisation(organisation) if organisation else (
            scope.fonds.organisation(a.organisation) if a.organisation else None)
    except DOMAIN_ERRORS as exc:
        raise translate(exc) from exc
    levels = {"year": str(a.year), "retention": new_retention, "organisation": org.code if org else ""}
    class_key = "|".join([a.fonds_code, a.category, *[levels[level] for level in scope.fonds.scheme]])
    if class_key == a.class_key:
        raise BadInput("更正后分类与原分类相同，档号不变", "the correction does not change the class")
    with archive.session() as session:
        lock(session, scope.lock_key)
        number = (session.scalar(select(func.max(Arrangement.item_number)).where(Arrangement.class_key == class_key)) or 0) + 1
        try:
            code = scope.rule.format(CodeParts(a.fonds_code, a.category, a.year, new_retention, number,
                                               organisation=org.code if org else "", organisation_name=org.name if org else ""))
        except CodeError as exc:
            raise translate(exc) from exc
        row = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
        session.add(ArrangementCorrection(record_id=record_id, old_code=row.archival_code, new_code=code, reason=reason, actor=actor))
        row.previous_code, row.archival_code, row.class_key, row.item_number = row.archival_code, code, class_key, number
        row.retention, row.retention_source, row.organisation = new_retention, "archivist", org.code if org else ""
        row.change, row.pending, row.updated_at = "corrected", True, utcnow()
    archive.audit.append(actor, "arrange.correction_recorded", record_id, {"from": a.archival_code, "to": code, "reason": reason})
    publish_pending(archive, actor=actor, record_ids=[record_id])
    return {"record_id": record_id, "from": a.archival_code, "to": code, "reason": reason}

