"""``lantai rebuild``: recreate the catalogue from the store and the audit journal alone.

The catalogue is derived data. Rebuilding clears it in one transaction and re-projects every
OCFL object with the same function ingest uses, then restores batches from the ingest records
kept in each object, the audit table from the journal, and the arrangement tables from the
``lantai/arrangement.json`` records (:mod:`lantai.services.arrange_restore`).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from lantai.catalog.models import Batch
from lantai.services import search_index
from lantai.services.archive import Archive
from lantai.services.arrange_restore import restore_arrangements
from lantai.services.catalogue import INGEST_RECORD_PATH, clear_catalogue, upsert_item
from lantai.services.ingest import refresh_batch

COMMIT_EVERY = 500


def rebuild_catalogue(archive: Archive, *, actor: str = "system",
                      on_total: Callable[[int], None] | None = None,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    ids = sorted(archive.store.iter_object_ids())
    if on_total:
        on_total(len(ids))
    with archive.session() as session:
        clear_catalogue(session)
    batches: dict[str, dict[str, Any]] = {}
    session = archive.sessions()
    try:
        for index, object_id in enumerate(ids, start=1):
            archive.store.reconcile_object(object_id)
            upsert_item(session, archive.store, object_id)
            _collect_batch(archive, object_id, batches)
            if index % COMMIT_EVERY == 0:
                session.commit()
            if progress:
                progress(object_id)
        for batch_id, info in sorted(batches.items()):
            session.add(Batch(id=batch_id, **info))
            session.flush()
            refresh_batch(session, batch_id)
        session.commit()
    finally:
        session.close()
    synced = archive.audit.sync_catalogue()
    arrangements = restore_arrangements(archive, actor=actor)  # 档号/件号 rows from lantai/arrangement.json
    indexed = search_index.reindex(archive)  # the search index is derived too
    archive.audit.append(actor, "catalogue.rebuilt", str(archive.home), {"items": len(ids), "batches": len(batches)})
    return {"items": len(ids), "batches": len(batches), "audit_entries": synced, "indexed": indexed,
            "arrangements": arrangements}


def _collect_batch(archive: Archive, object_id: str, batches: dict[str, dict[str, Any]]) -> None:
    record = json.loads(archive.store.read_bytes(object_id, INGEST_RECORD_PATH, version=1))
    batch_id = record.get("batch_id")
    if not batch_id or batch_id in batches:
        return
    register = record.get("register") or {}
    batches[batch_id] = {"source": record.get("batch_source", ""), "unit_name": register.get("unit_name", ""),
                         "declared_items": register.get("items"), "declared_bytes": register.get("bytes")}
