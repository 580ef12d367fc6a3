"""Projecting stored objects into catalogue rows, and dumping the catalogue canonically.

Ingest, recovery and ``lantai rebuild`` all call :func:`upsert_item` so the catalogue is always
the same function of the store — which is what makes rebuild-from-store trustworthy.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from sqlalchemy import bindparam, delete, insert, select, update
from sqlalchemy.orm import Session, selectinload

from lantai.catalog.db import insert_ignoring_duplicates
from lantai.catalog.models import AuditEntry, Batch, Event, Item, ItemFile, ItemVersion, utcnow
from lantai.catalog.preservation import ReplicationTask, StorageRoot
from lantai.domain import metadata as md
from lantai.errors import NotFound
from lantai.storage.ocfl import OcflStore, StoredFile

METADATA_PATH = "metadata/元数据.xml"
PROCESS_PATH = "metadata/过程信息.xml"
INGEST_RECORD_PATH = "lantai/ingest.json"
TRANSFER_PATH = "lantai/transfer.json"  # the transfer mark: its presence makes an item ``transferred``
DISPOSITION_PATH = "lantai/disposition.json"  # phase 1 of a destruction: the item is 待销毁
DESTRUCTION_PATH = "lantai/destruction.json"  # the tombstone: content deleted, the item is 已销毁
PENDING_DESTRUCTION = "pending_destruction"
DESTROYED = "destroyed"


def status_of(logical_paths: set[str] | dict[str, Any]) -> str:
    """An item's lifecycle status, from the marks its head version carries (never from elsewhere)."""
    if DESTRUCTION_PATH in logical_paths:
        return DESTROYED
    if DISPOSITION_PATH in logical_paths:
        return PENDING_DESTRUCTION
    return "transferred" if TRANSFER_PATH in logical_paths else "archived"


def role_of(logical_path: str) -> str:
    head = logical_path.split("/", 1)[0]
    return {"content": "content", "metadata": "metadata", "submission": "submission", "lantai": "preservation"}.get(
        head, "other"
    )


def _parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))


def item_fields(record: Any) -> dict[str, Any]:
    """Catalogue columns taken from the DA/T 46 record."""
    code = record.archival_code
    desc = record.content_description
    year = code.year if code.year else None
    item_number = code.agency_item_number or code.archives_item_number
    return {
        "title": desc.title or "",
        "document_number": desc.document_number or "",
        "author": desc.author or "",
        "date": desc.date or "",
        "year": int(year) if year and str(year).isdigit() else None,
        "retention": code.retention_period or "",
        "organisation": code.organizational_structure_or_function or "",
        "category": code.category_code or "",
        "fonds_code": code.fonds_identifier or "",
        "fonds_unit": record.provenance.fonds_constituting_unit_name or "",
        "document_type": desc.document_type or "",
        "security_classification": desc.security_classification or "公开",
        "control_identifier": (record.rights_management.control_identifier or "").strip(),
        "secrecy_period": (desc.secrecy_period or "").strip()[:32],
        "page_count": _int_or_none(record.formal_characteristics.total_number_of_pages),
        "item_number": _int_or_none(item_number),
        "archival_code": render_archival_code(record),
    }


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def render_archival_code(record: Any) -> str:
    """The 档号 text as submitted (mixed content of 档号) when the agency already assigned one."""
    text = getattr(record.archival_code, "text", None)
    return (text or "").strip()


def encoding_index(record: Any) -> dict[str, tuple[str, str, str]]:
    """content path → (文档标识符, 编码ID, 格式信息) for every 编码 of the record."""
    index: dict[str, tuple[str, str, str]] = {}
    for document, _data, encoding in record.iter_encodings():
        name = encoding.computer_file_name
        index[f"content/{name}"] = (document.document_identifier or "", encoding.encoding_id or "",
                                    encoding.format_information or "")
    return index


@dataclass
class Projection:
    """The catalogue rows of one object as plain column values.

    Computed by :func:`project` from an object's inventory and files — wherever they are: in the
    store (recovery, rebuild, new versions) or still in staging (ingest workers, so the single
    committing process only inserts rows). One function either way, so the catalogue stays the
    same function of the store.
    """

    record_id: str
    item: dict[str, Any]
    files: list[dict[str, Any]]
    versions: list[dict[str, Any]]
    events: list[dict[str, Any]]

    def to_models(self) -> tuple[Item, list[ItemFile], list[ItemVersion], list[Event]]:
        return (Item(**self.item), [ItemFile(**f) for f in self.files], [ItemVersion(**v) for v in self.versions],
                [Event(**e) for e in self.events])


def project(record_id: str, inventory: dict, files: list[StoredFile], read: Callable[[str], bytes], *,
            record: Any = None, process: Any = None) -> Projection:
    """Catalogue rows from an object's head inventory, its head files (with sizes) and a reader.

    ``record`` / ``process`` may be passed already parsed from the very bytes ``read`` would return.
    """
    logical_paths = {f.logical_path for f in files}
    if record is None:
        record = md.parse_record_xml(_require(read, record_id, logical_paths, METADATA_PATH))
    ingest = json.loads(_require(read, record_id, logical_paths, INGEST_RECORD_PATH))
    if process is None and PROCESS_PATH in logical_paths:
        process = md.parse_process_xml(read(PROCESS_PATH))
    enc = encoding_index(record)
    item = {"record_id": record_id, **item_fields(record)}
    # Items transferred out or appraised for destruction are marked in the store, never deleted.
    item["status"] = status_of(logical_paths)
    item["ocfl_version"] = int(inventory["head"][1:])
    item["batch_id"] = ingest.get("batch_id")
    item["archived_at"] = _parse_time(inventory["versions"]["v1"]["created"])
    item["updated_at"] = _parse_time(inventory["versions"][inventory["head"]]["created"])
    content = [f for f in files if role_of(f.logical_path) == "content"]
    item["file_count"] = len(content)
    item["total_bytes"] = sum(f.size for f in content)
    rows = []
    for f in sorted(files, key=lambda f: f.logical_path):
        document_id, encoding_id, fmt = enc.get(f.logical_path, ("", "", ""))
        rows.append({"logical_path": f.logical_path, "role": role_of(f.logical_path), "document_id": document_id,
                     "encoding_id": encoding_id, "size": f.size, "sha512": f.sha512, "sm3": f.sm3,
                     "format_name": fmt})
    versions = [
        {"version": int(name[1:]), "created": v["created"], "message": v.get("message", ""),
         "user_name": v.get("user", {}).get("name", "")}
        for name, v in sorted(inventory["versions"].items(), key=lambda kv: int(kv[0][1:]))
    ]
    return Projection(record_id, item, rows, versions, business_events(process))


def project_item(store: OcflStore, record_id: str) -> tuple[Item, list[ItemFile], list[ItemVersion], list[Event]]:
    """Build (unsaved) catalogue rows for one object purely from the store."""
    return project_stored(store, record_id).to_models()


def project_stored(store: OcflStore, record_id: str, *, inventory: dict | None = None) -> Projection:
    """Project one stored object; pass its ``inventory`` when already read (rebuild inspected it)."""
    inventory = inventory or store.read_inventory(record_id)
    files = store.files(record_id, inventory=inventory)
    by_path = {f.logical_path: f for f in files}

    def read(logical_path: str) -> bytes:
        with open(store.content_path(record_id, by_path[logical_path].content_path), "rb") as fh:
            return fh.read()

    return project(record_id, inventory, files, read)


def _require(read: Callable[[str], bytes], record_id: str, present: set[str], logical_path: str) -> bytes:
    if logical_path not in present:
        raise NotFound(f"对象 {record_id} 中没有文件 {logical_path}", f"object {record_id} has no file {logical_path}")
    return read(logical_path)


def business_events(process: Any) -> list[dict[str, Any]]:
    if process is None:
        return []
    agents = {a.agent_identifier: a.agent_name for a in process.agents}
    return [{"seq": seq, "kind": "business", "status": b.business_status or "", "activity": b.business_activity or "",
             "time": b.action_time or "", "agent": agents.get(b.agent_identifier, b.agent_identifier or ""),
             "description": b.action_description or ""}
            for seq, b in enumerate(process.business_entities, start=1)]


def insert_projections(session: Session, store: OcflStore, projections: list[Projection], *,
                       replicate: bool = True) -> list[SimpleNamespace]:
    """Insert the rows of newly archived objects with a few bulk statements.

    Ingest's group commit uses it: the workers projected the objects while they were still in
    staging, so this process only inserts (Core executemany, no ORM unit of work). An id the
    catalogue already holds (a row left from an earlier life of the object) is re-projected
    from the store by :func:`upsert_items` instead. Returns each item's column values as
    attributes (what the search index reads).
    """
    if not projections:
        return []
    ids = [p.record_id for p in projections]
    existing = set(session.scalars(select(Item.record_id).where(Item.record_id.in_(ids))))
    if existing:
        upsert_items(session, store, [i for i in ids if i in existing], replicate=replicate)
    fresh = [p for p in projections if p.record_id not in existing]
    if fresh:
        items = Item.__table__
        # Another ingest may catalogue the same object between the lookup above and this insert
        # (it found the object in the store and reported a duplicate): its rows are the same
        # projection of the same object, so those items are skipped rather than failing the group.
        statement = insert_ignoring_duplicates(session, items, ["record_id"]).returning(items.c.id, items.c.record_id)
        inserted = dict((record_id, item_id) for item_id, record_id in session.execute(statement, [p.item for p in fresh]))
        for model, key in ((ItemFile, "files"), (ItemVersion, "versions"), (Event, "events")):
            rows = [{**row, "item_id": inserted[p.record_id]} for p in fresh if p.record_id in inserted
                    for row in getattr(p, key)]
            if rows:
                session.execute(insert(model.__table__), rows)
        if replicate:
            enqueue_replication(session, [(p.record_id, p.item["ocfl_version"]) for p in fresh
                                          if p.record_id in inserted])
    return [SimpleNamespace(**p.item) for p in projections]


def enqueue_replication(session: Session, versions: list[tuple[str, int]]) -> None:
    """Queue a copy of each (object, version) for every replica root, in the caller's transaction.

    Called wherever the catalogue learns of a version (ingest, the change path, recovery,
    re-projection), so the copy is pending exactly when the version is catalogued. One task per
    root and object: a newer version raises the queued one (the copy takes the object to its head).
    """
    roots = list(session.scalars(select(StorageRoot.name).where(StorageRoot.is_primary.is_(False))))
    if not roots or not versions:
        return
    now = utcnow()
    rows = [{"root": root, "object_id": object_id, "version": version, "enqueued_at": now, "attempts": 0,
             "next_attempt_at": now, "last_error": ""} for root in roots for object_id, version in versions]
    session.execute(insert_ignoring_duplicates(session, ReplicationTask.__table__, ["root", "object_id"]), rows)
    later = [r for r in rows if r["version"] > 1]  # a v1 can only be new: nothing queued to raise
    if later:
        table = ReplicationTask.__table__
        session.execute(update(table).where(table.c.root == bindparam("r"), table.c.object_id == bindparam("o"),
                                            table.c.version < bindparam("v")).values(version=bindparam("v")),
                        [{"r": r["root"], "o": r["object_id"], "v": r["version"]} for r in later])


def upsert_item(session: Session, store: OcflStore, record_id: str) -> Item:
    """Replace the catalogue rows of one item with a fresh projection of its stored object."""
    return upsert_items(session, store, [record_id])[0]


def upsert_items(session: Session, store: OcflStore, record_ids: list[str], *, flush: bool = True,
                 replicate: bool = True) -> list[Item]:
    """Project several objects in one go: one lookup query and (at most) one flush for all.

    Ingest's group commit uses it so the catalogue keeps up with the hashing workers.
    """
    found = session.scalars(select(Item).where(Item.record_id.in_(record_ids))) if record_ids else []
    existing = {item.record_id: item for item in found}
    items = [_replace(session, store, record_id, existing.get(record_id)) for record_id in record_ids]
    if flush:
        session.flush()
    if replicate:
        enqueue_replication(session, [(item.record_id, item.ocfl_version) for item in items])
    return items


def _replace(session: Session, store: OcflStore, record_id: str, existing: Item | None) -> Item:
    item, files, versions, events = project_item(store, record_id)
    if existing is not None:
        for column in Item.__table__.columns.keys():
            if column not in ("id", "record_id"):
                setattr(existing, column, getattr(item, column))
        existing.files.clear()
        existing.versions.clear()
        existing.events.clear()
        session.flush()
        item = existing
    else:
        session.add(item)
    item.files.extend(files)
    item.versions.extend(versions)
    item.events.extend(events)
    return item


def clear_catalogue(session: Session) -> None:
    for model in (ItemFile, ItemVersion, Event, Item, Batch, AuditEntry):
        session.execute(delete(model))


def dump_catalogue(session: Session) -> dict[str, Any]:
    """A canonical, surrogate-key-free dump used to prove rebuild == original."""
    items = []
    query = select(Item).options(selectinload(Item.files), selectinload(Item.versions), selectinload(Item.events))
    for item in session.scalars(query.order_by(Item.record_id)):
        row = {c: _plain(getattr(item, c)) for c in Item.__table__.columns.keys() if c != "id"}
        row["files"] = [{c: getattr(f, c) for c in ItemFile.__table__.columns.keys() if c not in ("id", "item_id")}
                        for f in sorted(item.files, key=lambda f: f.logical_path)]
        row["versions"] = [{c: getattr(v, c) for c in ItemVersion.__table__.columns.keys() if c not in ("id", "item_id")}
                           for v in sorted(item.versions, key=lambda v: v.version)]
        row["events"] = [{c: getattr(e, c) for c in Event.__table__.columns.keys() if c not in ("id", "item_id")}
                         for e in sorted(item.events, key=lambda e: e.seq)]
        items.append(row)
    audit = [{c: getattr(a, c) for c in AuditEntry.__table__.columns.keys()}
             for a in session.scalars(select(AuditEntry).order_by(AuditEntry.seq))]
    batches = [{c: _plain(getattr(b, c)) for c in Batch.__table__.columns.keys()}
               for b in session.scalars(select(Batch).order_by(Batch.id))]
    return {"items": items, "audit": audit, "batches": batches}


def _plain(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=dt.UTC)
        return value.astimezone(dt.UTC).isoformat()
    return value
