"""Planning an arrangement (整理方案): retention, class, 件号 and 档号 of one (fonds, category, year).

Pure reading: :func:`build_plan` computes the plan from the catalogue and the reference data and
writes nothing; applying it is :mod:`lantai.services.arrange`. Filed (归档) items keep their
numbers; new items of a class follow the highest filed number, gap-free, in the fonds' order
(date, then 文件编号 by default).
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement
from lantai.catalog.models import Item
from lantai.domain.archival_code import CodeError, CodeParts, CodeRule
from lantai.domain.reference import Fonds, ReferenceDataError
from lantai.domain.retention import (
    RecordFacts,
    RetentionSchedule,
    ScheduleError,
    metadata_label,
    normalise_retention,
)
from lantai.errors import NotFound
from lantai.services.arrange_reference import DOMAIN_ERRORS, current_reference, translate

if TYPE_CHECKING:
    from lantai.services.archive import Archive


@dataclass
class PlannedItem:
    record_id: str
    item_id: int
    class_key: str
    item_number: int
    archival_code: str
    retention: str
    retention_text: str
    retention_source: str
    organisation: str
    state: str
    previous_code: str
    change: str  # "" when unchanged

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k not in ("item_id", "retention_text")}


@dataclass
class ArrangementPlan:
    fonds: str
    category: str
    year: int
    reference_version: int
    items: list[PlannedItem] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    skipped: int = 0
    deferred: int = 0  # unarranged items left out because the archivist confirmed others only

    @property
    def changes(self) -> list[PlannedItem]:
        return [p for p in self.items if p.change]

    def to_dict(self, *, limit: int | None = None) -> dict[str, Any]:
        classes: dict[str, int] = defaultdict(int)
        for p in self.items:
            classes[p.class_key] += 1
        changes = self.changes
        return {"fonds": self.fonds, "category": self.category, "year": self.year,
                "reference_version": self.reference_version, "items": len(self.items), "changed": len(changes),
                "skipped_other_categories": self.skipped, "classes": dict(sorted(classes.items())),
                "problems": self.problems, "changes": [p.to_dict() for p in changes[:limit]]}


@dataclass(frozen=True)
class Scope:
    fonds: Fonds
    category: str
    year: int
    rule: CodeRule
    schedule: RetentionSchedule
    reference_version: int

    @property
    def lock_key(self) -> str:
        return f"{self.fonds.code}|{self.category}|{self.year}"


ITEM_COLUMNS = (Item.id, Item.record_id, Item.title, Item.document_number, Item.author, Item.date, Item.retention,
                 Item.organisation, Item.category, Item.document_type, Item.archival_code, Item.item_number)


def load_scope(archive: Archive, fonds: str, year: int, category: str) -> Scope:
    reference, version = current_reference(archive)
    try:
        f = reference.get_fonds(fonds)
        return Scope(f, category, year, reference.code_rule(f, category), reference.schedule(f), version)
    except ReferenceDataError as exc:
        raise translate(exc) from exc


def _natural(text: str) -> tuple[tuple[int, Any], ...]:
    """文件编号 in human order: 〔2025〕3号 before 〔2025〕12号."""
    return tuple((1, int(part)) if part.isdigit() else (0, part) for part in re.split(r"(\d+)", text or "") if part)


def _order_key(fonds: Fonds, row: Any) -> tuple[Any, ...]:
    values = {"date": re.sub(r"\D", "", row.date or "")[:8], "document_number": _natural(row.document_number),
              "title": row.title or "", "record_id": row.record_id}
    return (*[values[k] for k in fonds.ordering], row.record_id)


def _problem(row: Any, kind: str, zh: str, en: str) -> dict[str, Any]:
    return {"record_id": row.record_id, "problem": kind, "message": zh, "message_en": en}


def _retention_of(scope: Scope, row: Any, arrangement: Arrangement | None,
                  overrides: dict[str, str]) -> tuple[str, str]:
    if row.record_id in overrides:
        return overrides[row.record_id], "archivist"
    if arrangement is not None and arrangement.retention_source == "archivist":
        return arrangement.retention, "archivist"
    if row.retention:
        return normalise_retention(row.retention), "metadata"
    suggestion = scope.schedule.suggest(_facts(row))
    return suggestion.retention, f"rule:{suggestion.rule_id}"


def _facts(row: Any) -> RecordFacts:
    return RecordFacts(row.title or "", row.document_type or "", row.author or "", row.organisation or "")


def _classify(scope: Scope, row: Any, arrangement: Arrangement | None, overrides: dict[str, str]) -> dict[str, Any]:
    """Class of one item, or raise a domain error that names what is missing."""
    retention, source = _retention_of(scope, row, arrangement, overrides)
    org = None
    if scope.fonds.uses_organisation:
        if not row.organisation:
            raise ReferenceDataError("缺少生成档号所需的机构(问题)", "missing organisation, needed by the classification scheme")
        org = scope.fonds.organisation(row.organisation)
    elif row.organisation:
        org = next((o for o in scope.fonds.organisations if o.answers_to(row.organisation)), None)
    if not re.sub(r"\D", "", row.date or ""):
        raise ReferenceDataError("缺少日期，无法排列件号", "missing date, needed to order items")
    levels = {"year": str(scope.year), "retention": retention, "organisation": org.code if org else ""}
    class_key = "|".join([scope.fonds.code, scope.category, *[levels[level] for level in scope.fonds.scheme]])
    text = row.retention if row.retention and same_retention(row.retention, retention) else metadata_label(retention)
    return {"retention": retention, "source": source, "org": org, "class_key": class_key, "retention_text": text}


def same_retention(text: str, code: str) -> bool:
    try:
        return normalise_retention(text) == code
    except ScheduleError:
        return False


def build_plan(session: Session, scope: Scope, overrides: dict[str, str] | None = None,
               only: frozenset[str] | None = None) -> ArrangementPlan:
    """Compute the arrangement of one (fonds, category, year) from the catalogue. Writes nothing.

    ``only`` limits the not-yet-arranged items taken in to those ids (the archivist confirmed a
    selection): items arranged before stay in the plan, so their classes stay gap-free, and the
    rest wait (``deferred``) for a later run, which numbers them in among the drafts.
    """
    overrides = overrides or {}
    plan = ArrangementPlan(scope.fonds.code, scope.category, scope.year, scope.reference_version)
    existing = {a.record_id: a for a in session.scalars(select(Arrangement).where(
        Arrangement.fonds_code == scope.fonds.code, Arrangement.category == scope.category, Arrangement.year == scope.year))}
    rows = session.execute(select(*ITEM_COLUMNS).where(Item.fonds_code == scope.fonds.code, Item.year == scope.year)).all()
    classes: dict[str, list[tuple[Any, dict[str, Any]]]] = defaultdict(list)
    filed: dict[str, list[Arrangement]] = defaultdict(list)
    for row in rows:
        if row.category not in ("", scope.category):
            plan.skipped += 1
            continue
        arrangement = existing.get(row.record_id)
        if only is not None and arrangement is None and row.record_id not in only:
            plan.deferred += 1
            continue
        if arrangement is not None and arrangement.state == "filed":
            filed[arrangement.class_key].append(arrangement)
            plan.items.append(_unchanged(row, arrangement))
            continue
        try:
            info = _classify(scope, row, arrangement, overrides)
        except DOMAIN_ERRORS as exc:
            plan.problems.append(_problem(row, "metadata", exc.message_zh, exc.message_en))
            continue
        classes[info["class_key"]].append((row, info))
    for class_key in sorted(set(classes) | set(filed)):
        _number_class(plan, scope, classes.get(class_key, []), filed.get(class_key, []), existing)
    _check_unique(plan)
    return plan


def _unchanged(row: Any, a: Arrangement) -> PlannedItem:
    return PlannedItem(row.record_id, row.id, a.class_key, a.item_number, a.archival_code, a.retention, row.retention,
                       a.retention_source, a.organisation, a.state, a.archival_code, "")


def _number_class(plan: ArrangementPlan, scope: Scope, members: list[tuple[Any, dict[str, Any]]],
                  filed: list[Arrangement], existing: dict[str, Arrangement]) -> None:
    """Gap-free 件号 after the filed items, in the fonds' order (date, then 文件编号 by default)."""
    numbers = sorted(a.item_number for a in filed)
    if numbers != list(range(1, len(numbers) + 1)):
        plan.problems.append({"record_id": filed[0].record_id, "problem": "gap",
                              "message": f"类别 {filed[0].class_key} 已归档件号不连续（有更正记录），新件接续最大件号",
                              "message_en": "filed numbers of this class have gaps (corrections); new items follow the highest"})
        plan.problems[-1]["severity"] = "warning"
    next_number = (numbers[-1] if numbers else 0) + 1
    for row, info in sorted(members, key=lambda m: _order_key(scope.fonds, m[0])):
        org = info["org"]
        parts = CodeParts(scope.fonds.code, scope.category, scope.year, info["retention"], next_number,
                          organisation=org.code if org else "", organisation_name=org.name if org else "")
        try:
            code = scope.rule.format(parts)
        except CodeError as exc:
            plan.problems.append(_problem(row, "code", exc.message_zh, exc.message_en))
            continue
        plan.items.append(_planned(row, info, next_number, code, existing.get(row.record_id)))
        next_number += 1


def _planned(row: Any, info: dict[str, Any], number: int, code: str, a: Arrangement | None) -> PlannedItem:
    org = info["org"].code if info["org"] else ""
    previous = a.archival_code if a else (row.archival_code or "")
    if a is None:
        change = "assigned"
    elif (a.archival_code, a.item_number, a.retention, a.organisation, a.retention_source) != (
            code, number, info["retention"], org, info["source"]):
        change = "renumbered"
    elif not a.pending and (row.archival_code != code or row.item_number != number):
        change = "renumbered"  # catalogue columns drifted from a published decision
    else:
        change = ""
    return PlannedItem(row.record_id, row.id, info["class_key"], number, code, info["retention"], info["retention_text"],
                       info["source"], org, "draft", previous, change)


def _check_unique(plan: ArrangementPlan) -> None:
    seen: dict[str, str] = {}
    for p in plan.items:
        if p.archival_code in seen:
            plan.problems.append({"record_id": p.record_id, "problem": "duplicate_code",
                                  "message": f"档号 {p.archival_code} 与 {seen[p.archival_code]} 重复：档号规则无法区分",
                                  "message_en": f"code {p.archival_code} is not unique under the rule"})
        seen[p.archival_code] = p.record_id


def plan_errors(plan: ArrangementPlan) -> list[dict[str, Any]]:
    return [p for p in plan.problems if p.get("severity") != "warning"]



def arrangement_of(archive: Archive, record_id: str) -> Arrangement:
    with archive.sessions() as session:
        a = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
    if a is None:
        raise NotFound(f"{record_id} 尚未整理（先运行 lantai arrange）", f"{record_id} has not been arranged")
    return a


def suggest_retention(archive: Archive, record_id: str) -> dict[str, Any]:
    with archive.sessions() as session:
        row = session.execute(select(*ITEM_COLUMNS, Item.fonds_code).where(Item.record_id == record_id)).first()
    if row is None:
        raise NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item with record id {record_id}")
    reference, version = current_reference(archive)
    try:
        schedule = reference.schedule(reference.get_fonds(row.fonds_code))
    except ReferenceDataError as exc:
        raise translate(exc) from exc
    suggestion = schedule.suggest(_facts(row)).to_dict()
    current = row.retention or ""
    agrees = same_retention(current, suggestion["retention"]) if current else None
    return {"record_id": record_id, "title": row.title, "current": current, "suggestion": suggestion,
            "agrees": agrees, "schedule": schedule.name, "reference_version": version}

