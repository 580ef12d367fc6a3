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
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import utcnow
from lantai.domain.archival_code import CodeError, CodeParts
from lantai.domain.retention import ScheduleError, normalise_retention
from lantai.errors import BadInput, Conflict, LantaiError, ValidationFailed
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
    with archive.session() as session:
        lock(session, scope.lock_key)
        row = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
        code = _record_correction(session, scope, row, reason=reason, actor=actor, retention=retention,
                                  organisation=organisation)
    archive.audit.append(actor, "arrange.correction_recorded", record_id, {"from": a.archival_code, "to": code, "reason": reason})
    publish_pending(archive, actor=actor, record_ids=[record_id])
    return {"record_id": record_id, "from": a.archival_code, "to": code, "reason": reason}


def _record_correction(session: Session, scope: Scope, row: Arrangement, *, reason: str, actor: str,
                       retention: str | None = None, organisation: str | None = None) -> str:
    """The 更正 of a filed row, in the caller's transaction (which holds the scope's lock): the row
    moves to the end of its new class, the correction is recorded and the row waits to be published.
    Returns the new 档号; BadInput when the class (and so the 档号) stays the same."""
    try:
        new_retention = normalise_retention(retention) if retention else row.retention
        org = scope.fonds.organisation(organisation) if organisation else (
            scope.fonds.organisation(row.organisation) if row.organisation else None)
    except DOMAIN_ERRORS as exc:
        raise translate(exc) from exc
    levels = {"year": str(row.year), "retention": new_retention, "organisation": org.code if org else ""}
    class_key = "|".join([row.fonds_code, row.category, *[levels[level] for level in scope.fonds.scheme]])
    if class_key == row.class_key:
        raise BadInput("更正后分类与原分类相同，档号不变", "the correction does not change the class")
    number = (session.scalar(select(func.max(Arrangement.item_number)).where(Arrangement.class_key == class_key)) or 0) + 1
    try:
        code = scope.rule.format(CodeParts(row.fonds_code, row.category, row.year, new_retention, number,
                                           organisation=org.code if org else "", organisation_name=org.name if org else ""))
    except CodeError as exc:
        raise translate(exc) from exc
    session.add(ArrangementCorrection(record_id=row.record_id, old_code=row.archival_code, new_code=code, reason=reason,
                                      actor=actor))
    row.previous_code, row.archival_code, row.class_key, row.item_number = row.archival_code, code, class_key, number
    row.retention, row.retention_source, row.organisation = new_retention, "archivist", org.code if org else ""
    row.change, row.pending, row.updated_at = "corrected", True, utcnow()
    session.flush()
    return code


# -- a new 保管期限 decided by appraisal (延长): the 档号 follows ---------------------------------

@dataclass
class RetentionFollowUp:
    """What :func:`follow_retention` did in the caller's transaction, and what is left for after it."""

    corrected: list[dict[str, str]] = field(default_factory=list)  # filed items: 更正 recorded, to publish
    retained: list[str] = field(default_factory=list)  # filed items whose class ignores 保管期限: to publish
    scopes: dict[tuple[str, str, int], dict[str, str]] = field(default_factory=dict)  # draft years to arrange again
    failed: list[dict[str, str]] = field(default_factory=list)

    def add(self, other: RetentionFollowUp) -> None:
        self.corrected += other.corrected
        self.retained += other.retained
        self.failed += other.failed
        for scope, overrides in other.scopes.items():
            self.scopes.setdefault(scope, {}).update(overrides)


def follow_retention(session: Session, archive: Archive, retentions: dict[str, str], *, reason: str,
                     actor: str) -> RetentionFollowUp:
    """Bring the arrangement of items whose 保管期限 an approved appraisal changed into line with it.

    The 保管期限 is part of the DA/T 22 档号 (and of the class): a **filed** item gets a recorded
    更正 exactly as ``lantai arrange correct`` writes it (to the end of its new class, the old number
    left vacant); a filed item whose fonds' scheme has no 保管期限 level keeps its 档号 and records
    the new period; a **draft** (arranged, not filed) item takes the new period as the archivist's
    and its year is arranged again. Runs in the caller's catalogue transaction — so the decision's
    state and the arrangement change commit together — and never raises for one item: a failure is
    returned (the item keeps its old 档号 and can be corrected by hand). The caller then calls
    :func:`finish_follow_up` after its commit.
    """
    done = RetentionFollowUp()
    rows = session.scalars(select(Arrangement).where(Arrangement.record_id.in_(list(retentions)))
                           .order_by(Arrangement.record_id)).all()
    scopes: dict[str, Scope] = {}
    locked: set[str] = set()
    for row in rows:
        new = retentions[row.record_id]
        if row.retention == new:
            continue
        if row.state != "filed":
            row.retention, row.retention_source, row.updated_at = new, "archivist", utcnow()
            done.scopes.setdefault((row.fonds_code, row.category, row.year), {})[row.record_id] = new
            continue
        try:
            scope = _scope_for(archive, row, scopes)
            if scope.lock_key not in locked:
                lock(session, scope.lock_key)
                locked.add(scope.lock_key)
            old = row.archival_code
            try:
                code = _record_correction(session, scope, row, reason=reason, actor=actor, retention=new)
                done.corrected.append({"record_id": row.record_id, "from": old, "to": code})
            except BadInput:  # the scheme has no 保管期限 level: same class, same 档号
                row.retention, row.retention_source, row.change, row.pending = new, "archivist", "corrected", True
                done.retained.append(row.record_id)
        except LantaiError as exc:
            done.failed.append({"record_id": row.record_id, "error": exc.message_zh})
    return done


def _scope_for(archive: Archive, row: Arrangement, scopes: dict[str, Scope]) -> Scope:
    key = f"{row.fonds_code}|{row.category}|{row.year}"
    if key not in scopes:
        scopes[key] = load_scope(archive, row.fonds_code, row.year, row.category)
    return scopes[key]


def finish_follow_up(archive: Archive, done: RetentionFollowUp, *, reason: str, actor: str) -> None:
    """After the transaction of :func:`follow_retention`: journal the 更正, publish the corrected
    档号 to the store, and arrange the draft years again. What a crash interrupts here stays pending
    (the outbox) for the next ``lantai arrange publish`` or arrangement of the year."""
    if done.corrected:
        archive.audit.append_many([(actor, "arrange.correction_recorded", c["record_id"],
                                    {"from": c["from"], "to": c["to"], "reason": reason}) for c in done.corrected])
    ids = [c["record_id"] for c in done.corrected] + done.retained
    if ids:
        publish_pending(archive, actor=actor, record_ids=ids)
    for (fonds, category, year), overrides in sorted(done.scopes.items()):
        arrange(archive, fonds, year, category=category, actor=actor, overrides=overrides)
