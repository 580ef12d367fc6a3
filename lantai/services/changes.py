"""The one way to change an archived item: a new OCFL version, its catalogue rows, its search
index entry and its audit entries, committed as one recoverable unit.

Every change after ingest — a 密级 change, an arrangement (档号) published or corrected, a
transfer mark, and the lifecycle actions still to come — is described by an :class:`ItemChange`
(which files it writes, the audit action, actor and details, the version message) and committed
by :func:`commit_changes`:

1. **prepare** (:func:`prepare_change`, staging only, may run in worker processes): the new
   version is built against the object's head — or nothing, when the store already holds exactly
   what the change writes (committing the same change twice writes one version);
2. **lock** the objects (sorted, so two committers never deadlock) and open one catalogue
   transaction; the caller's ``claim`` runs first in it (arrangement claims its outbox rows there);
3. **intent**: each object is brought to its head (a version half-moved by a crash is finished;
   a change whose object moved on since preparation is prepared again), then
   ``staging/intents-change/<uuid>.json`` names every object, its staging directory, its change
   id and its audit entry — before anything reaches the store;
4. **store**: each version is moved in (one rename of its directory, so recovery can tell a
   version that arrived from one that did not);
5. **catalogue, index, audit** in the same transaction: the item's rows are brought up to the new
   version by the same functions a rebuild uses (:func:`~lantai.services.catalogue.item_fields`,
   :func:`~lantai.services.catalogue.project`), the index entry is rewritten, the audit entries are
   journalled (journal first) and copied, and the caller's ``finish`` adds its own rows;
6. the intent is cleared — only once all of that committed, never in a ``finally``.

A crash or an error anywhere leaves the intent behind. :func:`recover_changes` (start-up recovery,
and at once in-process when the catalogue step fails) finishes a version that was half-moved,
re-projects each object from the store into the catalogue and the index, journals the audit entry
of a change that reached the store if the journal lacks it (``recovered: true``), rolls back one
that did not (``change.rolled_back``), and lets the change's kind finish its own rows.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import functools
import importlib
import itertools
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from lxml import etree
from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from lantai.catalog.locks import lock_objects
from lantai.catalog.models import Event, Item, ItemFile, ItemVersion
from lantai.domain import metadata as md
from lantai.errors import LantaiError, NotFound, StorageError, storage_error
from lantai.jobs.pool import worker_pool
from lantai.services import intents
from lantai.services.catalogue import (
    METADATA_PATH,
    PROCESS_PATH,
    business_events,
    encoding_index,
    enqueue_replication,
    item_fields,
    role_of,
    status_of,
    upsert_items,
)
from lantai.services.search_index import TEXT_PATH, index_items
from lantai.settings import Settings
from lantai.storage.ocfl import OcflStore, PreparedVersion

if TYPE_CHECKING:
    from lantai.services.archive import Archive

CHANGE_INTENTS = intents.CHANGE_INTENTS
COMMIT_THREADS = 4
# What a change's kind does after recovery, named rather than imported: start-up recovery must not
# import the arrangement code when there is nothing of its kind to finish.
FINISHERS = {"arrange": "lantai.services.arrange_publish:finish_recovered"}


@dataclass(frozen=True)
class ItemChange:
    """A description of one change to one archived item; making one writes nothing.

    ``files`` are written as they are; a subclass computes them from the current head instead by
    overriding :meth:`new_files` (a 密级 or 档号 rewrite of ``元数据.xml``), so that a change
    prepared again against a head that moved meanwhile still says the right thing. Instances
    travel to worker processes, so they must pickle.
    """

    record_id: str
    actor: str
    action: str  # the audit action, e.g. ``item.classified``
    message: str  # the OCFL version message
    details: Mapping[str, Any] = field(default_factory=dict)  # audit details
    files: Mapping[str, bytes] = field(default_factory=dict)

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        """The files this change writes, given a reader of the head (None for an absent file)."""
        return dict(self.files)

    def removes(self, paths: list[str]) -> list[str]:
        """Logical paths of the head (``paths``) the new version leaves out — a destruction's content."""
        return []


@dataclass
class PreparedChange:
    """A change with its version built in staging (``version`` None: the store already says it)."""

    change: ItemChange
    head: int
    version: PreparedVersion | None = None
    error: dict[str, Any] | None = None
    change_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    projected: Projected | None = None  # catalogue values of a rewritten 元数据.xml
    removed: tuple[str, ...] = ()  # logical paths the new version leaves out
    events: list[dict[str, Any]] | None = None  # catalogue events of a rewritten 过程信息.xml

    @property
    def record_id(self) -> str:
        return self.change.record_id


@dataclass(frozen=True)
class Projected:
    """What the catalogue takes from a new ``元数据.xml``: the item's columns and each content
    file's (文档标识符, 编码ID, 格式信息) — computed where the change is prepared (a worker, for
    arrangement), by the functions projection uses."""

    columns: dict[str, Any]
    encodings: dict[str, tuple[str, str, str]]

    @classmethod
    def of(cls, metadata: bytes) -> Projected:
        record = md.parse_record_xml(metadata)
        return cls(item_fields(record), encoding_index(record))


@dataclass
class ChangeResult:
    """What committing one change did: the item's version afterwards, or the error that stopped it."""

    prepared: PreparedChange
    version: int = 0
    written: bool = False
    error: LantaiError | None = None

    @property
    def record_id(self) -> str:
        return self.prepared.record_id

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "version": self.version, "written": self.written,
                "error": self.error.to_dict() if self.error else None}


C = TypeVar("C", bound=ItemChange)
Claim = Callable[[Session, list[PreparedChange]], list[PreparedChange]]
Finish = Callable[[Session, list[ChangeResult]], None]


# -- prepare (staging only) ---------------------------------------------------------------------

def prepare_change(store: OcflStore, change: ItemChange) -> PreparedChange:
    """Build the change's version in staging. Never raises for a bad object: ``error`` says why."""
    try:
        return _prepare_or_raise(store, change)
    except LantaiError as exc:
        return PreparedChange(change, 0, error=exc.to_dict())


def _prepare_or_raise(store: OcflStore, change: ItemChange) -> PreparedChange:
    """:func:`_prepare`, with what the file system and the parser raise said as Lantai's errors."""
    try:
        return _prepare(store, change)
    except OSError as exc:
        raise storage_error(exc, (f"磁盘空间不足，无法为 {change.record_id} 准备新版本；本次更改未生效，请释放空间后重试",
                                  f"disk full preparing a new version of {change.record_id}; nothing was changed — "
                                  "free space and try again"),
                            (f"无法为 {change.record_id} 准备新版本: {exc}", f"cannot prepare {change.record_id}: {exc}")) from exc
    except (ValueError, etree.XMLSyntaxError) as exc:
        raise StorageError(f"无法为 {change.record_id} 准备新版本: {exc}", f"cannot prepare {change.record_id}: {exc}") from exc


def _prepare(store: OcflStore, change: ItemChange) -> PreparedChange:
    head = store.head_version(change.record_id)
    if head is None:
        raise NotFound(f"存储中没有对象 {change.record_id}", f"no object {change.record_id} in the store")
    stored = {f.logical_path: f for f in store.files(change.record_id, head)}

    def read(logical_path: str) -> bytes | None:
        found = stored.get(logical_path)
        return store.content_path(change.record_id, found.content_path).read_bytes() if found else None

    files = change.new_files(read)
    removed = tuple(p for p in change.removes(sorted(stored)) if p in stored)
    if not removed and all(read(path) == data for path, data in files.items()):
        return PreparedChange(change, head)  # the store already holds exactly this change
    projected = Projected.of(files[METADATA_PATH]) if METADATA_PATH in files else None
    events = business_events(md.parse_process_xml(files[PROCESS_PATH])) if PROCESS_PATH in files else None
    builder = store.begin_version(change.record_id)
    try:
        if builder.version != head + 1:
            raise StorageError(f"对象 {change.record_id} 已被并发修改", f"object {change.record_id} changed concurrently")
        for path in removed:
            builder.remove(path)
        for path, data in sorted(files.items()):
            builder.add_bytes(path, data)
        version = builder.prepare(message=change.message, user_name=change.actor)
        return PreparedChange(change, head, version, projected=projected, removed=removed, events=events)
    except BaseException:
        store.abort(builder.staging_dir)
        raise


def prepare_group(settings: Settings, changes: list[ItemChange]) -> list[PreparedChange]:
    """Prepare a group of changes against the store ``settings`` name (runs in a worker process)."""
    store = OcflStore(settings.store_root, settings.staging_dir, fsync=settings.fsync)
    return [prepare_change(store, change) for change in changes]


POOL_FROM_GROUPS = 4  # starting the worker pool costs about a second


def prepared_groups(archive: Archive, groups: Iterable[list[C]]) -> Iterator[tuple[list[C], list[PreparedChange]]]:
    """Each group of changes with its prepared versions, in order.

    With several groups and workers, groups are prepared on the worker pool while the caller
    commits the ones before (bounded: staging holds a few groups at most); ``groups`` may be a
    generator that reads each group from the catalogue when it is needed.
    """
    groups = iter(groups)
    head = list(itertools.islice(groups, POOL_FROM_GROUPS))
    workers = max(1, archive.settings.workers)
    if workers == 1 or len(head) < POOL_FROM_GROUPS:
        for changes in itertools.chain(head, groups):
            yield changes, prepare_group(archive.settings, list(changes))
        return

    with worker_pool(workers) as pool:
        in_flight: deque[tuple[list[C], Any]] = deque()
        for changes in itertools.chain(head, groups):
            in_flight.append((changes, pool.submit(prepare_group, archive.settings, list(changes))))
            if len(in_flight) > workers:
                done, future = in_flight.popleft()
                yield done, future.result()
        while in_flight:
            done, future = in_flight.popleft()
            yield done, future.result()


def discard(store: OcflStore, prepared: PreparedChange) -> None:
    """Drop a prepared version that will not be committed."""
    if prepared.version is not None:
        store.abort(prepared.version.staging_dir)


# -- commit -------------------------------------------------------------------------------------

def commit_change(archive: Archive, change: ItemChange, *, kind: str = "change") -> ChangeResult:
    """Prepare and commit one change; its error, if any, is raised."""
    result = commit_changes(archive, [_prepare_or_raise(archive.store, change)], kind=kind)[0]
    if result.error is not None:
        raise result.error
    return result


def commit_changes(archive: Archive, prepared: list[PreparedChange], *, kind: str = "change",
                   claim: Claim | None = None, finish: Finish | None = None) -> list[ChangeResult]:
    """Commit prepared changes as one unit (see the module docstring); one result per change kept.

    ``claim`` runs first in the catalogue transaction and returns the changes to go on with (the
    others are discarded); ``finish`` runs last in it with every result, failed ones included.
    A change whose version cannot be committed fails alone; an error of the catalogue step
    raises after the intent has been resolved from the store (or, failing that, left for start-up).
    """
    store = archive.store
    with contextlib.ExitStack() as locks:
        for record_id in sorted({p.record_id for p in prepared}):
            locks.enter_context(store.object_lock(record_id))
        intent: intents.Intent | None = None
        try:
            with archive.session() as session:
                # Across machines the flock above is not enough: a database lock per object too.
                lock_objects(session, [p.record_id for p in prepared])
                ready = claim(session, prepared) if claim else [p for p in prepared if p.error is None]
                kept = {id(p) for p in ready}
                for dropped in (p for p in prepared if id(p) not in kept):
                    discard(store, dropped)
                current = [(p, _at_head(store, p)) for p in ready]
                movable = [c for _p, c in current if isinstance(c, PreparedChange)]
                intent = write_intent(archive, movable, kind) if movable else None
                moved = iter(_commit_all(store, movable))
                results = [next(moved) if isinstance(c, PreparedChange) else ChangeResult(p, error=c)
                           for p, c in current]
                _record(archive, session, [r for r in results if r.error is None])
                if finish:
                    finish(session, results)
        except BaseException:
            if intent is None:
                for p in prepared:
                    discard(store, p)
            else:
                try:  # the store is the truth: bring the catalogue to it now
                    recover_intent(archive, intent, locked=True)
                except Exception:
                    intent.release()  # left for the next recovery
            raise
    if intent is not None:
        intents.clear_intent(intent)
    return results


def _commit_all(store: OcflStore, ready: list[PreparedChange]) -> list[ChangeResult]:
    """Move a unit's versions in on a few threads: each is a handful of renames and (with fsync)
    flushes of different objects, all spent waiting on the file system, not the GIL."""
    if len(ready) < 2:
        return [_commit_one(store, p) for p in ready]
    with ThreadPoolExecutor(max_workers=COMMIT_THREADS) as threads:
        return list(threads.map(functools.partial(_commit_one, store), ready))


def _at_head(store: OcflStore, prepared: PreparedChange) -> PreparedChange | LantaiError:
    """The change prepared against the object's head as it is now (the caller holds its lock).

    If the object moved on since it was prepared (another writer, or a version half-moved by a
    crash, which is finished first), the change is prepared again, so the intent written next
    names exactly the versions that will be moved in.
    """
    try:
        store.reconcile_object(prepared.record_id)
        if store.head_version(prepared.record_id) == prepared.head:
            return prepared
        discard(store, prepared)
        again = _prepare(store, prepared.change)
        again.change_id = prepared.change_id
        return again
    except LantaiError as exc:
        discard(store, prepared)
        return exc


def _commit_one(store: OcflStore, prepared: PreparedChange) -> ChangeResult:
    """Move one version into the store (the caller holds the object's lock)."""
    try:
        return _moved_in(store, prepared)
    except LantaiError as exc:
        if exc.details.get("moved_in"):
            raise  # the version is in the object: the unit fails whole, and its intent brings it to the store
        discard(store, prepared)
        return ChangeResult(prepared, error=exc)


def _moved_in(store: OcflStore, prepared: PreparedChange) -> ChangeResult:
    if prepared.version is None:
        return ChangeResult(prepared, prepared.head)
    return ChangeResult(prepared, store.commit(prepared.version), written=True)


def _record(archive: Archive, session: Session, results: list[ChangeResult]) -> None:
    """Catalogue rows, index entries and audit entries of the committed changes, in ``session``."""
    if not results:
        return
    written = [r for r in results if r.written and r.prepared.version is not None]
    quick = [r for r in written if _only_metadata(r.prepared) and not r.prepared.removed]
    fast = {id(r) for r in quick}
    reproject = [r.record_id for r in results if id(r) not in fast]
    items = refresh_items(session, [r.prepared for r in quick])
    items += upsert_items(session, archive.store, reproject)
    versions = [r.prepared.version for r in quick if r.prepared.version is not None]
    index_items(session, archive.store, archive.home, items, bodies=_bodies(archive.store, versions))
    archive.audit.append_many([audit_entry(r.prepared, r.version) for r in results], session=session)


def audit_entry(prepared: PreparedChange, version: int, **extra: Any) -> tuple[str, str, str, dict[str, Any]]:
    change = prepared.change
    details = {**change.details, "ocfl_version": version, "change": prepared.change_id, **extra}
    return change.actor, change.action, change.record_id, details


# -- catalogue rows of a new version, without re-reading the object ------------------------------

def _only_metadata(prepared: PreparedChange) -> bool:
    """True when the version adds no content files, and no 过程信息 whose events were not projected."""
    version = prepared.version
    return version is not None and not any(
        f.size >= 0 and (role_of(f.logical_path) == "content"
                         or (f.logical_path == PROCESS_PATH and prepared.events is None)) for f in version.files)


def refresh_items(session: Session, changes: list[PreparedChange]) -> list[Item]:
    """Bring catalogue rows up to versions just committed, the way a projection of the store would.

    The item's columns come from the new ``元数据.xml`` through the same :func:`item_fields` that
    projection uses, its status from the marks the version carries (:func:`status_of`); the new version row is
    added and the file rows follow the version's state. Only the new files are read (they are
    still in hand), so publishing 100,000 arrangements does not re-read 100,000 objects.
    """
    versions = [(p.version, p.projected) for p in changes if p.version is not None]
    if not versions:
        return []
    events = {p.version.object_id: p.events for p in changes if p.version is not None and p.events is not None}
    ids = [v.object_id for v, _p in versions]
    items = {i.record_id: i for i in session.scalars(select(Item).where(Item.record_id.in_(ids)))}
    rows: dict[int, dict[str, ItemFile]] = {}
    for f in session.scalars(select(ItemFile).where(ItemFile.item_id.in_([i.id for i in items.values()]))):
        rows.setdefault(f.item_id, {})[f.logical_path] = f
    for version, projected in versions:
        item = items[version.object_id]
        _refresh_item(session, item, version, rows.get(item.id, {}), projected)
    if events:  # a rewritten 过程信息: its events replace the item's, as a projection would list them
        by_item = {items[r].id: r for r in events}
        session.execute(delete(Event).where(Event.item_id.in_(list(by_item))))
        new_events = [{**e, "item_id": item_id} for item_id, r in by_item.items() for e in events[r]]
        if new_events:
            session.execute(insert(Event), new_events)
    session.flush()
    enqueue_replication(session, [(v.object_id, v.version) for v, _p in versions])
    return [items[i] for i in ids]


def _refresh_item(session: Session, item: Item, prepared: PreparedVersion, rows: dict[str, ItemFile],
                  projected: Projected | None) -> None:
    info = prepared.inventory["versions"][f"v{prepared.version}"]
    state = {f.logical_path: f for f in prepared.files}
    if projected is not None:
        for column, value in projected.columns.items():
            setattr(item, column, value)
    item.status = status_of(state)
    item.ocfl_version = prepared.version
    item.updated_at = dt.datetime.fromisoformat(info["created"].replace("Z", "+00:00"))
    session.add(ItemVersion(item_id=item.id, version=prepared.version, created=info["created"],
                            message=info.get("message", ""), user_name=info.get("user", {}).get("name", "")))
    gone = [row.id for path, row in rows.items() if path not in state]
    if gone:
        session.execute(delete(ItemFile).where(ItemFile.id.in_(gone)))
    encodings = projected.encodings if projected is not None else {}
    for stored in (f for f in prepared.files if f.size >= 0):  # the files this version wrote
        row = rows.get(stored.logical_path)
        if row is None:
            row = ItemFile(item_id=item.id, logical_path=stored.logical_path, role=role_of(stored.logical_path))
            session.add(row)
        row.sha512, row.sm3, row.size = stored.sha512, stored.sm3, stored.size
    for path, row in rows.items():
        if path in encodings:
            row.document_id, row.encoding_id, row.format_name = encodings[path]


def _bodies(store: OcflStore, versions: list[PreparedVersion]) -> dict[str, str]:
    """The stored text of each item, found through the inventory in hand (no second read of it)."""
    bodies = {}
    for prepared in versions:
        text = next((f for f in prepared.files if f.logical_path == TEXT_PATH), None)
        data = store.content_path(prepared.object_id, text.content_path).read_bytes() if text else b""
        bodies[prepared.object_id] = data.decode("utf-8", errors="replace")
    return bodies


# -- intents and recovery -----------------------------------------------------------------------

def intents_dir(archive: Archive) -> Path:
    return archive.settings.staging_dir / CHANGE_INTENTS


def write_intent(archive: Archive, prepared: list[PreparedChange], kind: str) -> intents.Intent:
    """Name every object of the unit, before any of its versions reaches the store."""
    objects = [{"object_id": p.record_id, "staging": str(p.version.staging_dir) if p.version else "",
                "version": p.version.version if p.version else p.head, "change": p.change_id,
                "audit": list(audit_entry(p, p.version.version if p.version else p.head))} for p in prepared]
    return intents.write_record(archive, intents_dir(archive), {"kind": kind, "objects": objects})


def recover_changes(archive: Archive) -> dict[str, Any]:
    """Resolve every change intent whose writer is gone (see :mod:`lantai.services.recovery`);
    intents that a live writer holds are counted as ``live`` and left alone.

    Intents of arrangement's publish groups from before the one change path existed
    (``staging/intents-arrange``) are resolved the same way.
    """
    done: dict[str, Any] = {"intents": 0, "completed": [], "rolled_back": [], "live": 0}
    paths = [p for d in (intents_dir(archive), intents.arrange_intents_dir(archive)) if d.is_dir()
             for p in sorted(d.glob("*.json"))]
    for path in paths:
        intent = intents.claim(path)
        if intent is None:
            done["live"] += 1
            continue
        outcome = recover_intent(archive, intent)
        done["intents"] += 1
        done["completed"] += outcome["completed"]
        done["rolled_back"] += outcome["rolled_back"]
    return done


def recover_intent(archive: Archive, intent: intents.Intent, *, locked: bool = False) -> dict[str, list[str]]:
    """Finish or roll back the changes of one intent this process holds, then clear it (only if
    that succeeded; otherwise it is let go for the next recovery)."""
    try:
        data = intent.read()
    except (OSError, ValueError):
        intent.clear()  # unreadable: it was renamed into place only once whole, so this is damage
        return {"completed": [], "rolled_back": []}
    kind = "arrange" if data.get("kind") == "arrange.publish" else data.get("kind", "change")
    objects = data.get("objects", [])
    try:
        with contextlib.ExitStack() as locks:
            if not locked:
                for object_id in sorted({o["object_id"] for o in objects}):
                    locks.enter_context(archive.store.object_lock(object_id))
            outcome = _resolve(archive, kind, objects)
    except BaseException:
        intent.release()
        raise
    intent.clear()
    return outcome


def _resolve(archive: Archive, kind: str, objects: list[dict[str, Any]]) -> dict[str, list[str]]:
    store = archive.store
    journalled = _journalled_changes(archive, {o.get("change") for o in objects if o.get("change")})
    completed, rolled_back, entries = [], [], []
    for entry in objects:
        object_id, staging = entry["object_id"], Path(entry["staging"]) if entry.get("staging") else None
        store.reconcile_object(object_id)
        if staging is not None and (staging / f"v{entry.get('version')}").is_dir():
            store.abort(staging)  # the version never reached the store
            rolled_back.append(object_id)
            entries.append((entry["audit"][0] if entry.get("audit") else "system", "change.rolled_back", object_id,
                            {"action": entry["audit"][1] if entry.get("audit") else kind,
                             "change": entry.get("change"), "reason": "interrupted before commit"}))
            continue
        completed.append(object_id)
        if entry.get("audit") and entry.get("change") not in journalled:
            actor, action, target, details = entry["audit"]
            entries.append((actor, action, target, {**details, "ocfl_version": store.head_version(object_id),
                                                    "recovered": True}))
    present = [o for o in dict.fromkeys(e["object_id"] for e in objects) if store.exists(o)]
    with archive.session() as session:
        items = upsert_items(session, store, present)
        index_items(session, store, archive.home, items)
        _finisher(kind)(archive, session, completed)
        archive.audit.append_many(entries, session=session)
    return {"completed": completed, "rolled_back": rolled_back}


def _journalled_changes(archive: Archive, change_ids: set[str]) -> set[str]:
    """Which of these change ids the audit journal already records (one pass over the journal)."""
    if not change_ids:
        return set()
    return {r.details.get("change") for r in archive.audit.iter_journal()
            if not isinstance(r, Exception) and r.details.get("change") in change_ids}


def _finisher(kind: str) -> Callable[[Archive, Session, list[str]], None]:
    target = FINISHERS.get(kind)
    if target is None:
        return lambda _archive, _session, _ids: None
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)

