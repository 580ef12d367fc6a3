"""Publishing arrangements to the store: a new OCFL version of each changed item, in groups.

Arranging writes the catalogue and marks rows ``pending`` (an outbox); publishing drains it the
way ingest commits, so 100,000 items are not 100,000 transactions:

1. **prepare** (worker processes, staging only): rewrite the item's ``元数据.xml`` with its 档号,
   write ``lantai/arrangement.json`` and build the version in staging — or nothing, when the
   store already says exactly that (publishing the same state twice writes no second version);
2. **commit** (this process), one group per change unit of :mod:`lantai.services.changes` — the
   one path every change to an archived item takes: the first statement of its catalogue
   transaction claims the group's rows (pending → false, returning them): the write lock on
   SQLite, row locks on PostgreSQL. Rows claimed elsewhere are skipped; rows changed since they
   were prepared (a concurrent arrangement) are put back to pending. The change path then writes
   the intent, moves the versions in, brings the catalogue rows and the search index up to them
   and appends the audit entries; the rows record the version they published.

A crash leaves the change intent: start-up recovery re-projects the items from the store (so the
catalogue and the index say the 档号 the store says), journals the audit entries of versions that
reached the store, and :func:`finish_recovered` marks their rows published; rows whose version
never reached the store stay pending for the next publish.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.domain.labels import CHANGES
from lantai.domain.retention import metadata_label
from lantai.errors import LantaiError, StorageError
from lantai.services.arrange_plan import same_retention
from lantai.services.catalogue import METADATA_PATH
from lantai.services.changes import ChangeResult, ItemChange, PreparedChange, commit_changes, prepared_groups
from lantai.storage.ocfl import OcflStore

if TYPE_CHECKING:
    from lantai.services.archive import Archive

ARRANGEMENT_PATH = "lantai/arrangement.json"
PUBLISH_GROUP = 250
_ARRANGEMENT_TABLE = Arrangement.__table__


# -- what the store keeps -----------------------------------------------------------------------

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
        values = {**values, "保管期限": text if text and same_retention(text, retention) else metadata_label(retention)}
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


def timestamp(value: dt.datetime) -> str:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def arrangement_record(a: Any, corrections: Iterable[Any] = ()) -> dict[str, Any]:
    """What ``lantai/arrangement.json`` keeps — everything ``lantai rebuild`` needs to recreate the
    item's arrangement row and its correction records. Deterministic, so re-publishing is a no-op."""
    record = {"archival_code": a.archival_code, "fonds": a.fonds_code, "category": a.category, "year": a.year,
              "class": a.class_key, "item_number": a.item_number, "retention": a.retention,
              "retention_source": a.retention_source, "organisation": a.organisation, "state": a.state,
              "reference_version": a.reference_version, "change": a.change, "previous_code": a.previous_code}
    history = [{"old_code": c.old_code, "new_code": c.new_code, "reason": c.reason, "actor": c.actor,
                "created_at": timestamp(c.created_at)} for c in corrections]
    if history:
        record["corrections"] = history
    return record


# -- prepare (worker processes; touches only staging) -------------------------------------------

@dataclass(frozen=True)
class PublishJob(ItemChange):
    """One item to publish, as its arrangement row said when the job was made: a change whose
    ``元数据.xml`` gets the 档号 and whose ``lantai/arrangement.json`` records how it was decided."""

    record: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, record_id: str, record: dict[str, Any], actor: str) -> PublishJob:
        details = {"archival_code": record["archival_code"], "previous": record["previous_code"],
                   "retention_source": record["retention_source"], "reference_version": record["reference_version"]}
        return cls(record_id, actor, f"arrange.{record['change'] or 'assigned'}",
                   f"整理：{CHANGES.get(record['change'] or 'assigned', record['change'])}档号 {record['archival_code']}", details, record=record)

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        current = read(METADATA_PATH)
        if current is None:
            raise StorageError(f"对象 {self.record_id} 没有元数据", f"object {self.record_id} has no metadata")
        return {METADATA_PATH: self.metadata(current), ARRANGEMENT_PATH: self.document()}

    def metadata(self, current: bytes) -> bytes:
        r = self.record
        values = {"全宗号": r["fonds"], "年度": str(r["year"]), "类别号": r["category"], "室编件号": str(r["item_number"])}
        if r["organisation"]:
            values["机构或问题"] = r["organisation"]
        return rewrite_archival_code(current, r["archival_code"], values, retention=r["retention"])

    def document(self) -> bytes:
        return json.dumps(self.record, ensure_ascii=False, sort_keys=True, indent=2).encode("utf-8")


# -- commit (this process) ----------------------------------------------------------------------

@dataclass
class _Tally:
    published: int = 0
    failed: list[dict[str, Any]] = field(default_factory=list)


def pending_count(archive: Archive) -> int:
    with archive.sessions() as session:
        return session.scalar(select(func.count()).select_from(Arrangement).where(Arrangement.pending.is_(True))) or 0


def publish_pending(archive: Archive, *, actor: str = "system", record_ids: Iterable[str] | None = None,
                    scope: tuple[str, str, int] | None = None, progress: Callable[[str], None] | None = None) -> int:
    """Write the OCFL version and audit entry of every pending arrangement (of one scope, or of
    ``record_ids``); returns how many were published. One item's failure does not stop the others;
    they stay pending and are reported together at the end."""
    ids = _pending_ids(archive, record_ids, scope)
    tally = _Tally()
    for jobs, results in _prepared_groups(archive, ids, actor):
        _commit_group(archive, jobs, results, actor, tally)
        for job in jobs:
            if progress:
                progress(job.record_id)
    if tally.failed:
        raise StorageError(f"{len(tally.failed)} 件整理结果未能写入存储，仍待发布（lantai arrange publish 重试）",
                           f"{len(tally.failed)} arrangements could not be published and stay pending",
                           failed=tally.failed[:20])
    return tally.published


def _pending_ids(archive: Archive, record_ids: Iterable[str] | None, scope: tuple[str, str, int] | None) -> list[str]:
    query = select(Arrangement.record_id).where(Arrangement.pending.is_(True)).order_by(Arrangement.id)
    if record_ids is not None:
        query = query.where(Arrangement.record_id.in_(list(record_ids)))
    if scope is not None:
        query = query.where(Arrangement.fonds_code == scope[0], Arrangement.category == scope[1], Arrangement.year == scope[2])
    with archive.sessions() as session:
        return list(session.scalars(query))


def _jobs(archive: Archive, ids: list[str], actor: str) -> list[PublishJob]:
    with archive.sessions() as session:
        rows = session.execute(select(_ARRANGEMENT_TABLE).where(_ARRANGEMENT_TABLE.c.record_id.in_(ids))).all()
        corrections = _corrections(session, [r.record_id for r in rows if r.change == "corrected" or r.previous_code])
    return [PublishJob.of(r.record_id, arrangement_record(r, corrections.get(r.record_id, ())), actor) for r in rows]


def _corrections(session: Session, ids: list[str]) -> dict[str, list[ArrangementCorrection]]:
    found: dict[str, list[ArrangementCorrection]] = {}
    if ids:
        query = select(ArrangementCorrection).where(ArrangementCorrection.record_id.in_(ids)).order_by(ArrangementCorrection.id)
        for c in session.scalars(query):
            found.setdefault(c.record_id, []).append(c)
    return found


def _prepared_groups(archive: Archive, ids: list[str],
                     actor: str) -> Iterator[tuple[list[PublishJob], list[PreparedChange]]]:
    """Groups in order, each read from the catalogue when its turn comes, prepared on the worker pool."""
    groups = (ids[start:start + PUBLISH_GROUP] for start in range(0, len(ids), PUBLISH_GROUP))
    yield from prepared_groups(archive, (_jobs(archive, group, actor) for group in groups))


def _commit_group(archive: Archive, jobs: list[PublishJob], results: list[PreparedChange], actor: str,
                  tally: _Tally) -> None:
    """One group through the change path: the claim of its outbox rows opens the transaction."""
    claimed: dict[str, Any] = {}

    def claim(session: Session, prepared: list[PreparedChange]) -> list[PreparedChange]:
        claimed.update(_claim(session, [p.record_id for p in prepared]))
        rows = claimed.values()
        current = _corrections(session, [r.record_id for r in rows if r.change == "corrected" or r.previous_code])
        ready, put_back = [], []
        for p in prepared:
            row = claimed.get(p.record_id)
            job = p.change
            assert isinstance(job, PublishJob)
            if row is None or p.error or arrangement_record(row, current.get(p.record_id, ())) != job.record:
                if row is not None:
                    put_back.append(row.id)  # changed meanwhile, or failed: stays in the outbox
                if row is not None and p.error:
                    tally.failed.append({"record_id": p.record_id, "error": p.error})
                continue
            ready.append(p)
        _put_back(session, put_back)
        return ready

    def finish(session: Session, done: list[ChangeResult]) -> None:
        failed = [r for r in done if r.error is not None]
        tally.failed.extend({"record_id": r.record_id, "error": r.error.to_dict()} for r in failed if r.error)
        _put_back(session, [claimed[r.record_id].id for r in failed])
        published = [{"id": claimed[r.record_id].id, "published_version": r.version} for r in done if r.error is None]
        if published:
            session.execute(update(Arrangement), published)
        tally.published += len(published)

    commit_changes(archive, results, kind="arrange", claim=claim, finish=finish)


def _put_back(session: Session, ids: list[int]) -> None:
    if ids:
        session.execute(update(Arrangement), [{"id": i, "pending": True} for i in ids])


def _claim(session: Session, ids: list[str]) -> dict[str, Any]:
    """First statement of the transaction: take the group's pending rows (and the locks)."""
    table = _ARRANGEMENT_TABLE
    if session.get_bind().dialect.name == "postgresql":  # lock in one order, so two publishers never deadlock
        session.execute(select(table.c.id).where(table.c.record_id.in_(ids), table.c.pending.is_(True))
                        .order_by(table.c.id).with_for_update())
    rows = session.execute(update(table).where(table.c.record_id.in_(ids), table.c.pending.is_(True))
                           .values(pending=False).returning(*table.c)).all()
    return {r.record_id: r for r in rows}


def finish_recovered(archive: Archive, session: Session, record_ids: list[str]) -> None:
    """After recovery re-projected the items of an interrupted group: the rows whose record the
    store now holds are published (their audit entries were journalled or recovered already);
    the others stay pending for the next ``lantai arrange publish``."""
    table = _ARRANGEMENT_TABLE
    rows = session.execute(select(table).where(table.c.record_id.in_(record_ids), table.c.pending.is_(True))).all()
    corrections = _corrections(session, [r.record_id for r in rows if r.change == "corrected" or r.previous_code])
    published = []
    for row in rows:
        stored = _stored_record(archive.store, row.record_id)
        if stored == arrangement_record(row, corrections.get(row.record_id, ())):
            published.append({"id": row.id, "pending": False,
                              "published_version": archive.store.head_version(row.record_id)})
    if published:
        session.execute(update(Arrangement), published)


def _stored_record(store: OcflStore, record_id: str) -> dict[str, Any] | None:
    try:
        return json.loads(store.read_bytes(record_id, ARRANGEMENT_PATH))
    except (LantaiError, ValueError):
        return None
