"""Arrangement (整理): retention, classification, 件号 and 档号 for catalogued items, and its outputs.

How a run works, and why:

1. **Decide, in one catalogue transaction.** The first statement takes the row lock of the
   (fonds, category, year) scope, so two processes arranging the same year queue instead of
   racing (PostgreSQL row lock; SQLite's write lock). The plan is computed from the catalogue,
   every item is checked (metadata the 档号 needs, organisation codes, retention, the rule's
   widths), and only when *nothing* is wrong are the arrangement rows and the items' catalogue
   columns written — all or nothing. Unique constraints on (class, 件号) and on 档号 back this up.
   Filed (归档) items never move here; they change only through :func:`correct_arrangement`.
2. **Publish to the store.** Each changed item gets a new OCFL version whose ``元数据.xml`` carries
   the new 档号 and whose ``lantai/arrangement.json`` records how it was decided, then an audit
   entry. Rows waiting for this are ``pending`` (an outbox): a crash between 1 and 2 loses
   nothing — the next run, or :func:`publish_pending`, finishes the job, and publishing the same
   state twice writes no second version.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from lxml import etree
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import IntegrityError as SqlIntegrityError
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection, ArrangementLock, ReferenceVersion
from lantai.catalog.models import Item, ItemFile, ItemVersion, utcnow
from lantai.crypto.digests import sm3_hex
from lantai.domain.archival_code import CodeError, CodeParts, CodeRule
from lantai.domain.composition import CompositionError
from lantai.domain.reference import Fonds, ReferenceData, ReferenceDataError, dump_reference, parse_reference
from lantai.domain.retention import (
    RecordFacts,
    RetentionSchedule,
    ScheduleError,
    metadata_label,
    normalise_retention,
    retention_label,
    retention_rank,
)
from lantai.errors import BadInput, Conflict, LantaiError, NotFound, StorageError, ValidationFailed
from lantai.services.archive import Archive
from lantai.storage.ocfl import PreparedVersion

METADATA_PATH = "metadata/元数据.xml"
ARRANGEMENT_PATH = "lantai/arrangement.json"
PUBLISH_CHUNK = 200
DOMAIN_ERRORS = (CodeError, ReferenceDataError, ScheduleError, CompositionError)


def translate(exc: Exception) -> BadInput:
    """Domain rule errors → the caller-facing BadInput (exit 2, HTTP 400)."""
    return BadInput(exc.message_zh, exc.message_en, **exc.details)  # type: ignore[attr-defined]


# -- reference data -----------------------------------------------------------------------------

def default_reference_text() -> str:
    return resources.files("lantai.domain").joinpath("data/reference.toml").read_text(encoding="utf-8")


def current_reference(archive: Archive) -> tuple[ReferenceData, int]:
    """The newest saved reference data; the shipped default is saved as the first version on first use."""
    with archive.session() as session:
        row = session.scalar(select(ReferenceVersion).order_by(ReferenceVersion.version.desc()).limit(1))
        if row is None:
            text = default_reference_text()
            _insert_reference(session, 1, text, "system", "默认参考数据")
            return _parse(text), 1
        return _parse(row.document), row.version


def _parse(text: str) -> ReferenceData:
    try:
        return parse_reference(text)
    except ReferenceDataError as exc:
        raise translate(exc) from exc


def _insert_reference(session: Session, version: int, text: str, actor: str, note: str) -> None:
    values = {"version": version, "document": text, "sm3": sm3_hex(text.encode("utf-8")), "note": note,
              "actor": actor, "created_at": utcnow()}
    session.execute(_insert_ignore(session, ReferenceVersion).values(**values))


def _insert_ignore(session: Session, model: type) -> Any:
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as dialect_insert
    else:
        from sqlalchemy.dialects.sqlite import insert as dialect_insert
    return dialect_insert(model).on_conflict_do_nothing()


def save_reference(archive: Archive, text: str, *, actor: str, note: str = "") -> int:
    """Check and save a new version of the reference data; returns its version number."""
    data = _parse(text)
    current_reference(archive)
    with archive.session() as session:
        version = (session.scalar(select(func.max(ReferenceVersion.version))) or 0) + 1
        document = dump_reference(ReferenceData(version, data.note, data.categories, data.code_rules, data.schedules, data.fonds))
        _insert_reference(session, version, document, actor, note)
    archive.audit.append(actor, "reference.saved", f"v{version}", {"note": note, "sm3": sm3_hex(document.encode())})
    return version


def reference_versions(archive: Archive) -> list[dict[str, Any]]:
    current_reference(archive)
    with archive.sessions() as session:
        rows = session.scalars(select(ReferenceVersion).order_by(ReferenceVersion.version))
        return [{"version": r.version, "note": r.note, "actor": r.actor, "sm3": r.sm3, "created_at": r.created_at.isoformat()}
                for r in rows]


# -- planning -----------------------------------------------------------------------------------

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
class _Scope:
    fonds: Fonds
    category: str
    year: int
    rule: CodeRule
    schedule: RetentionSchedule
    reference_version: int

    @property
    def lock_key(self) -> str:
        return f"{self.fonds.code}|{self.category}|{self.year}"


_ITEM_COLUMNS = (Item.id, Item.record_id, Item.title, Item.document_number, Item.author, Item.date, Item.retention,
                 Item.organisation, Item.category, Item.document_type, Item.archival_code, Item.item_number)


def _scope(archive: Archive, fonds: str, year: int, category: str) -> _Scope:
    reference, version = current_reference(archive)
    try:
        f = reference.get_fonds(fonds)
        return _Scope(f, category, year, reference.code_rule(f, category), reference.schedule(f), version)
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


def _retention_of(scope: _Scope, row: Any, arrangement: Arrangement | None,
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


def _classify(scope: _Scope, row: Any, arrangement: Arrangement | None, overrides: dict[str, str]) -> dict[str, Any]:
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
    text = row.retention if row.retention and _same_retention(row.retention, retention) else metadata_label(retention)
    return {"retention": retention, "source": source, "org": org, "class_key": class_key, "retention_text": text}


def _same_retention(text: str, code: str) -> bool:
    try:
        return normalise_retention(text) == code
    except ScheduleError:
        return False


def build_plan(session: Session, scope: _Scope, overrides: dict[str, str] | None = None) -> ArrangementPlan:
    """Compute the arrangement of one (fonds, category, year) from the catalogue. Writes nothing."""
    overrides = overrides or {}
    plan = ArrangementPlan(scope.fonds.code, scope.category, scope.year, scope.reference_version)
    existing = {a.record_id: a for a in session.scalars(select(Arrangement).where(
        Arrangement.fonds_code == scope.fonds.code, Arrangement.category == scope.category, Arrangement.year == scope.year))}
    rows = session.execute(select(*_ITEM_COLUMNS).where(Item.fonds_code == scope.fonds.code, Item.year == scope.year)).all()
    classes: dict[str, list[tuple[Any, dict[str, Any]]]] = defaultdict(list)
    filed: dict[str, list[Arrangement]] = defaultdict(list)
    for row in rows:
        if row.category not in ("", scope.category):
            plan.skipped += 1
            continue
        arrangement = existing.get(row.record_id)
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


def _number_class(plan: ArrangementPlan, scope: _Scope, members: list[tuple[Any, dict[str, Any]]],
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
    elif row.archival_code != code or row.item_number != number:
        change = "renumbered"  # catalogue columns drifted (e.g. a rebuild before publication)
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


def _errors(plan: ArrangementPlan) -> list[dict[str, Any]]:
    return [p for p in plan.problems if p.get("severity") != "warning"]


# -- applying -----------------------------------------------------------------------------------

def _lock(session: Session, key: str) -> None:
    """Must be the transaction's first statement: it takes the write lock on both backends."""
    session.execute(_insert_ignore(session, ArrangementLock).values(key=key, touched_at=utcnow()))
    session.execute(update(ArrangementLock).where(ArrangementLock.key == key).values(touched_at=utcnow()))


def arrange(archive: Archive, fonds: str, year: int, *, category: str = "WS", dry_run: bool = False,
            actor: str = "system", publish: bool = True, overrides: dict[str, str] | None = None,
            progress: Callable[[str], None] | None = None) -> ArrangementPlan:
    """Propose retention, classify and number one year of a fonds. All or nothing.

    ``dry_run`` returns the plan (with its problems) and changes nothing. Otherwise any problem
    raises :class:`ValidationFailed` and leaves every item as it was.
    """
    scope = _scope(archive, fonds, year, category)
    if dry_run:
        with archive.sessions() as session:
            return build_plan(session, scope, overrides)
    try:
        with archive.session() as session:
            _lock(session, scope.lock_key)
            plan = build_plan(session, scope, overrides)
            if _errors(plan):
                raise ValidationFailed(f"整理失败：{len(_errors(plan))} 件文件有问题，未做任何修改",
                                       f"arrangement refused: {len(_errors(plan))} problems; nothing was changed",
                                       problems=_errors(plan))
            _apply(session, scope, plan)
    except SqlIntegrityError as exc:
        raise Conflict("档号或件号与已有记录冲突，未做任何修改", f"code or item number conflicts; nothing changed: {exc.orig}") from exc
    if plan.changes:
        archive.audit.append(actor, "arrange.applied", f"{fonds}-{category}·{year}",
                             {"changed": len(plan.changes), "items": len(plan.items), "reference_version": scope.reference_version})
    if publish:
        publish_pending(archive, actor=actor, scope=(fonds, category, year), progress=progress)
    return plan


def _apply(session: Session, scope: _Scope, plan: ArrangementPlan) -> None:
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
    item_values = [{"id": p.item_id, "archival_code": p.archival_code, "item_number": p.item_number,
                    "retention": p.retention_text, "category": scope.category, "organisation": p.organisation}
                   for p in changes]
    with_org = [v for v in item_values if v["organisation"]]
    without_org = [{k: v for k, v in values.items() if k != "organisation"} for values in item_values if not values["organisation"]]
    for batch in (with_org, without_org):
        if batch:
            session.execute(update(Item), batch)
    session.flush()


def _arrangement_values(scope: _Scope, p: PlannedItem, now: dt.datetime) -> dict[str, Any]:
    return {"record_id": p.record_id, "fonds_code": scope.fonds.code, "category": scope.category, "year": scope.year,
            "class_key": p.class_key, "item_number": p.item_number, "archival_code": p.archival_code,
            "retention": p.retention, "retention_source": p.retention_source, "organisation": p.organisation,
            "state": p.state, "reference_version": scope.reference_version, "pending": True, "published_version": None,
            "change": p.change, "previous_code": p.previous_code if p.previous_code != p.archival_code else "",
            "updated_at": now}


# -- publishing to the store --------------------------------------------------------------------

_DA_T_46_ORDER = ("全宗号", "目录号", "年度", "保管期限", "机构或问题", "类别号", "室编案卷号", "馆编案卷号",
                  "室编件号", "馆编件号", "页号")


def rewrite_archival_code(metadata: bytes, code: str, values: dict[str, str], *, retention: str | None = None) -> bytes:
    """The same 元数据.xml with its 档号 (text and sub-elements) replaced; nothing else touched.

    ``retention`` is a code; the agency's wording (永久, 定期30年 …) is kept when it already means it.
    """
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=False, huge_tree=False)
    root = etree.fromstring(metadata, parser)
    ns = root.nsmap.get(None)
    q = (lambda name: f"{{{ns}}}{name}") if ns else (lambda name: name)
    element = root.find(q("档号"))
    if element is None:
        element = etree.Element(q("档号"))
        anchor = root.find(q("电子文件号"))
        (anchor.addnext(element) if anchor is not None else root.insert(0, element))
    element.text = code
    for child in element:
        if child.tail and child.tail.strip():
            child.tail = None
    if retention is not None:
        existing = element.find(q("保管期限"))
        text = (existing.text or "").strip() if existing is not None else ""
        values = {**values, "保管期限": text if text and _same_retention(text, retention) else metadata_label(retention)}
    for name in _DA_T_46_ORDER:
        if name in values:
            _set_child(element, q, name, values[name])
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _set_child(parent: Any, q: Callable[[str], str], name: str, value: str) -> None:
    child = parent.find(q(name))
    if child is None:
        child = etree.SubElement(parent, q(name))
        later = [parent.find(q(n)) for n in _DA_T_46_ORDER[_DA_T_46_ORDER.index(name) + 1:]]
        following = next((e for e in later if e is not None), None)
        if following is not None:
            following.addprevious(child)
    child.text = value


def _arrangement_record(a: Arrangement) -> dict[str, Any]:
    """What ``lantai/arrangement.json`` keeps; deterministic, so re-publishing is a no-op."""
    return {"archival_code": a.archival_code, "fonds": a.fonds_code, "category": a.category, "year": a.year,
            "class": a.class_key, "item_number": a.item_number, "retention": a.retention,
            "retention_source": a.retention_source, "organisation": a.organisation, "state": a.state,
            "reference_version": a.reference_version}


def pending_count(archive: Archive) -> int:
    with archive.sessions() as session:
        return session.scalar(select(func.count()).select_from(Arrangement).where(Arrangement.pending.is_(True))) or 0


def publish_pending(archive: Archive, *, actor: str = "system", record_ids: Iterable[str] | None = None,
                    scope: tuple[str, str, int] | None = None, progress: Callable[[str], None] | None = None) -> int:
    """Write the OCFL version and audit entry of every pending arrangement (of one scope, or of
    ``record_ids``); returns how many were published. One item's failure does not stop the others;
    they stay pending and are reported together at the end."""
    query = select(Arrangement.record_id).where(Arrangement.pending.is_(True)).order_by(Arrangement.id)
    if record_ids is not None:
        query = query.where(Arrangement.record_id.in_(list(record_ids)))
    if scope is not None:
        query = query.where(Arrangement.fonds_code == scope[0], Arrangement.category == scope[1], Arrangement.year == scope[2])
    with archive.sessions() as session:
        ids = list(session.scalars(query))
    published, failed = 0, []
    for start in range(0, len(ids), PUBLISH_CHUNK):
        with archive.session() as session:
            for record_id in ids[start:start + PUBLISH_CHUNK]:
                try:
                    with session.begin_nested():
                        published += _publish_one(archive, session, record_id, actor)
                except LantaiError as exc:
                    failed.append({"record_id": record_id, "error": exc.to_dict()})
                if progress:
                    progress(record_id)
    if failed:
        raise StorageError(f"{len(failed)} 件整理结果未能写入存储，仍待发布（lantai arrange publish 重试）",
                           f"{len(failed)} arrangements could not be published and stay pending", failed=failed[:20])
    return published


def _publish_one(archive: Archive, session: Session, record_id: str, actor: str) -> int:
    from lantai.services.catalogue import upsert_item

    claim = session.execute(update(Arrangement).where(Arrangement.record_id == record_id, Arrangement.pending.is_(True))
                            .values(pending=False).execution_options(synchronize_session=False))
    if not claim.rowcount:  # another process published it meanwhile
        return 0
    a = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
    store = archive.store
    record = _arrangement_record(a)
    with store.object_lock(record_id):
        version, prepared = _write_version(archive, a, record, actor)
    if prepared is None:
        upsert_item(session, store, record_id)  # nothing new was written: re-project to be sure
    else:
        _refresh_catalogue(session, record_id, prepared)
    a.published_version = version
    archive.audit.append(actor, f"arrange.{a.change or 'assigned'}", record_id,
                         {"archival_code": a.archival_code, "previous": a.previous_code, "ocfl_version": version,
                          "retention_source": a.retention_source, "reference_version": a.reference_version},
                         session=session)
    return 1


def _refresh_catalogue(session: Session, record_id: str, prepared: PreparedVersion) -> None:
    """Bring the catalogue rows up to the version just written, without re-reading the object.

    Same result as ``upsert_item`` (the arrangement tests compare against a rebuild), at a
    fraction of the cost: only the new version row and the files this version added change.
    """
    from lantai.services.catalogue import role_of

    info = prepared.inventory["versions"][f"v{prepared.version}"]
    item = session.scalar(select(Item).where(Item.record_id == record_id))
    item.ocfl_version = prepared.version
    item.updated_at = dt.datetime.fromisoformat(info["created"].replace("Z", "+00:00"))
    session.add(ItemVersion(item_id=item.id, version=prepared.version, created=info["created"],
                            message=info.get("message", ""), user_name=info.get("user", {}).get("name", "")))
    added = {f.logical_path: f for f in prepared.files if f.size >= 0}
    rows = {f.logical_path: f for f in session.scalars(select(ItemFile).where(
        ItemFile.item_id == item.id, ItemFile.logical_path.in_(list(added))))}
    for path, stored in added.items():
        row = rows.get(path)
        if row is None:
            row = ItemFile(item_id=item.id, logical_path=path, role=role_of(path))
            session.add(row)
        row.sha512, row.sm3, row.size = stored.sha512, stored.sm3, stored.size


def _write_version(archive: Archive, a: Arrangement, record: dict[str, Any],
                   actor: str) -> tuple[int, PreparedVersion | None]:
    store = archive.store
    current = store.read_bytes(a.record_id, METADATA_PATH)
    values = {"全宗号": a.fonds_code, "年度": str(a.year), "类别号": a.category, "室编件号": str(a.item_number)}
    if a.organisation:
        values["机构或问题"] = a.organisation
    metadata = rewrite_archival_code(current, a.archival_code, values, retention=a.retention)
    document = json.dumps(record, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")
    paths = {f.logical_path for f in store.files(a.record_id)}
    if metadata == current and ARRANGEMENT_PATH in paths and store.read_bytes(a.record_id, ARRANGEMENT_PATH) == document:
        return store.head_version(a.record_id) or 1, None
    builder = store.begin_version(a.record_id)
    try:
        if metadata != current:
            builder.add_bytes(METADATA_PATH, metadata)
        builder.add_bytes(ARRANGEMENT_PATH, document)
        prepared = builder.prepare(message=f"整理: {a.change} 档号 {a.archival_code}", user_name=actor)
    except Exception:
        store.abort(builder.staging_dir)
        raise
    return store.commit(prepared), prepared


# -- filing, overrides and corrections ----------------------------------------------------------

def file_arrangement(archive: Archive, fonds: str, year: int, *, category: str = "WS", actor: str = "system") -> int:
    """归档: fix the 件号 of every arranged item of the year. After this only corrections change them."""
    scope = _scope(archive, fonds, year, category)
    with archive.session() as session:
        _lock(session, scope.lock_key)
        plan = build_plan(session, scope)
        if _errors(plan) or plan.changes:
            raise Conflict("该年度尚有未整理或需重新编号的文件，请先运行 lantai arrange",
                           "some items are unarranged or need renumbering; run lantai arrange first",
                           problems=_errors(plan), changes=len(plan.changes))
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
    a = _arrangement(archive, record_id)
    if a.state == "filed":
        raise Conflict(f"{record_id} 已归档，档号只能通过更正记录修改（lantai arrange correct）",
                       f"{record_id} is filed; its code changes only through a recorded correction")
    archive.audit.append(actor, "retention.overridden", record_id, {"from": a.retention, "to": code, "reason": reason})
    return arrange(archive, a.fonds_code, a.year, category=a.category, actor=actor, overrides={record_id: code})


def _arrangement(archive: Archive, record_id: str) -> Arrangement:
    with archive.sessions() as session:
        a = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
    if a is None:
        raise NotFound(f"{record_id} 尚未整理（先运行 lantai arrange）", f"{record_id} has not been arranged")
    return a


def correct_arrangement(archive: Archive, record_id: str, *, reason: str, actor: str, retention: str | None = None,
                        organisation: str | None = None) -> dict[str, Any]:
    """A recorded correction of a filed item: it moves to the end of its new class; the old number stays vacant."""
    if not reason.strip():
        raise BadInput("更正须说明理由", "a correction needs a reason")
    a = _arrangement(archive, record_id)
    if a.state != "filed":
        raise Conflict(f"{record_id} 尚未归档：请修改元数据或保管期限后重新整理", f"{record_id} is not filed; re-arrange instead")
    scope = _scope(archive, a.fonds_code, a.year, a.category)
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
        _lock(session, scope.lock_key)
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
        item = session.scalar(select(Item).where(Item.record_id == record_id))
        item.archival_code, item.item_number, item.organisation = code, number, row.organisation
        item.retention = metadata_label(new_retention)
    archive.audit.append(actor, "arrange.correction_recorded", record_id, {"from": a.archival_code, "to": code, "reason": reason})
    publish_pending(archive, actor=actor, record_ids=[record_id])
    return {"record_id": record_id, "from": a.archival_code, "to": code, "reason": reason}


# -- retention suggestion -----------------------------------------------------------------------

def suggest_retention(archive: Archive, record_id: str) -> dict[str, Any]:
    with archive.sessions() as session:
        row = session.execute(select(*_ITEM_COLUMNS, Item.fonds_code).where(Item.record_id == record_id)).first()
    if row is None:
        raise NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item with record id {record_id}")
    reference, version = current_reference(archive)
    try:
        schedule = reference.schedule(reference.get_fonds(row.fonds_code))
    except ReferenceDataError as exc:
        raise translate(exc) from exc
    suggestion = schedule.suggest(_facts(row)).to_dict()
    current = row.retention or ""
    agrees = _same_retention(current, suggestion["retention"]) if current else None
    return {"record_id": record_id, "title": row.title, "current": current, "suggestion": suggestion,
            "agrees": agrees, "schedule": schedule.name, "reference_version": version}


# -- catalogue outputs --------------------------------------------------------------------------

def _class_order(fonds: Fonds) -> Callable[[Arrangement], tuple[Any, ...]]:
    org_rank = {o.code: n for n, o in enumerate(fonds.organisations)}
    def key(a: Arrangement) -> tuple[Any, ...]:
        levels = {"year": a.year, "retention": -retention_rank(a.retention), "organisation": org_rank.get(a.organisation, 999)}
        return (*[levels[level] for level in fonds.scheme], a.item_number)
    return key


def catalogue_entries(archive: Archive, fonds: str, year: int, *, category: str = "WS", retention: str | None = None,
                      organisation: str | None = None) -> list[Any]:
    """Rows of the 归档文件目录 for arranged items, in class order then 件号."""
    from lantai.packages.catalogue import CatalogueEntry

    scope = _scope(archive, fonds, year, category)
    with archive.sessions() as session:
        query = select(Arrangement, Item).join(Item, Item.record_id == Arrangement.record_id).where(
            Arrangement.fonds_code == fonds, Arrangement.category == category, Arrangement.year == year)
        if retention:
            query = query.where(Arrangement.retention == normalise_retention(retention))
        if organisation:
            query = query.where(Arrangement.organisation == scope.fonds.organisation(organisation).code)
        pairs = sorted(session.execute(query).all(), key=lambda pair: _class_order(scope.fonds)(pair[0]))
        names = _content_names(session, [item.id for _a, item in pairs])
    corrected = {a.record_id for a, _i in pairs if a.change == "corrected" or a.previous_code}
    return [CatalogueEntry(n, a.archival_code, item.document_number, item.author, item.title, item.date,
                           item.security_classification, item.page_count, "更正" if a.record_id in corrected else "",
                           names.get(item.id, "")) for n, (a, item) in enumerate(pairs, start=1)]


def _content_names(session: Session, item_ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for start in range(0, len(item_ids), 5000):
        rows = session.execute(select(ItemFile.item_id, ItemFile.logical_path).where(
            ItemFile.item_id.in_(item_ids[start:start + 5000]), ItemFile.role == "content").order_by(ItemFile.logical_path))
        for item_id, path in rows:
            names.setdefault(item_id, path.removeprefix("content/"))
    return names


def export_catalogue(archive: Archive, fonds: str, year: int, target: Path, *, category: str = "WS",
                     retention: str | None = None, organisation: str | None = None, actor: str = "system",
                     xml_encoding: str = "UTF-8") -> dict[str, Any]:
    from lantai.packages.catalogue import CatalogueHeading, write_catalogue

    scope = _scope(archive, fonds, year, category)
    entries = catalogue_entries(archive, fonds, year, category=category, retention=retention, organisation=organisation)
    subtitle = "　".join(x for x in (f"保管期限：{retention_label(retention)}" if retention else "",
                                     f"机构(问题)：{scope.fonds.organisation(organisation).name}" if organisation else "") if x)
    heading = CatalogueHeading(fonds, scope.fonds.name, year, subtitle)
    count = write_catalogue(entries, target, heading, xml_encoding=xml_encoding)
    archive.audit.append(actor, "catalogue.exported", f"{fonds}-{category}·{year}", {"rows": count, "file": target.name})
    return {"rows": count, "file": str(target)}


def export_note(archive: Archive, fonds: str, year: int, target: Path, *, category: str = "WS",
                retention: str | None = None, organisation: str | None = None, arranged_by: str = "",
                arranged_on: str = "", checked_by: str = "", checked_on: str = "", actor: str = "system") -> dict[str, Any]:
    """备考表 for one class; corrections recorded against its items are listed in the 情况说明."""
    from lantai.packages.catalogue import BoxNote, write_note_pdf

    entries = catalogue_entries(archive, fonds, year, category=category, retention=retention, organisation=organisation)
    with archive.sessions() as session:
        corrections = session.scalars(select(ArrangementCorrection).where(
            ArrangementCorrection.record_id.in_(_record_ids(session, entries))).order_by(ArrangementCorrection.id)).all()
    lines = [f"{c.created_at:%Y-%m-%d} 档号 {c.old_code} 更正为 {c.new_code}：{c.reason}" for c in corrections]
    label = "-".join(x for x in (f"{fonds}-{category}·{year}", retention or "", organisation or "") if x)
    note = BoxNote(label, len(entries), sum(e.pages or 0 for e in entries), "\n".join(lines), arranged_by,
                   arranged_on, checked_by, checked_on)
    write_note_pdf(note, target)
    archive.audit.append(actor, "catalogue.note_exported", label, {"items": len(entries), "corrections": len(lines)})
    return {"items": len(entries), "corrections": len(lines), "file": str(target)}


def _record_ids(session: Session, entries: list[Any]) -> list[str]:
    codes = [e.archival_code for e in entries]
    return list(session.scalars(select(Arrangement.record_id).where(Arrangement.archival_code.in_(codes))))


# -- 归档章 --------------------------------------------------------------------------------------

def stamp_item(archive: Archive, record_id: str, target: Path, *, actor: str) -> dict[str, Any]:
    """An access copy of the item's first PDF with the 归档章; the stored original is only read."""
    from lantai.formats.stamp import StampFields, page_count, stamp_access_copy

    a = _arrangement(archive, record_id)
    reference, _version = current_reference(archive)
    fonds = reference.get_fonds(a.fonds_code)
    with archive.sessions() as session:
        item = session.scalar(select(Item).where(Item.record_id == record_id))
        pdfs = [f for f in session.scalars(select(ItemFile).where(ItemFile.item_id == item.id, ItemFile.role == "content")
                                           .order_by(ItemFile.logical_path)) if f.logical_path.lower().endswith(".pdf")]
    if not pdfs:
        raise BadInput(f"{record_id} 没有 PDF 内容文件，无法加盖归档章", f"{record_id} has no PDF content file to stamp")
    source = next(archive.store.content_path(record_id, s.content_path) for s in archive.store.files(record_id)
                  if s.logical_path == pdfs[0].logical_path)
    org = fonds.organisation(a.organisation).name if a.organisation else ""
    pages = item.page_count or page_count(source)
    fields = StampFields(a.fonds_code, a.year, str(a.item_number).zfill(_rule_width(reference, fonds, a.category)),
                         retention_label(a.retention), pages, org)
    stamp_access_copy(source, target, fields)
    archive.audit.append(actor, "item.stamped_copy", record_id, {"file": pdfs[0].logical_path, "archival_code": a.archival_code})
    return {"record_id": record_id, "archival_code": a.archival_code, "source": pdfs[0].logical_path, "file": str(target)}


def _rule_width(reference: ReferenceData, fonds: Fonds, category: str) -> int:
    return reference.code_rule(fonds, category).item_width
