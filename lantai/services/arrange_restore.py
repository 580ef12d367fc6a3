"""``lantai rebuild`` for arrangement: the tables recreated from the store.

Every published arrangement is a ``lantai/arrangement.json`` in its item's OCFL object (class,
件号, 档号, retention and how it was decided, the item's correction records); every saved
version of the reference data is in the audit journal. :func:`restore_arrangements` runs after
the items have been re-projected and makes the arrangement tables that function of the store:

* decisions not yet published (``pending`` rows of a catalogue that survived) are published
  first, so replacing the tables loses nothing; any that still cannot be published are kept;
* every other arrangement row and correction record is replaced by what the store says, with
  ``published_version`` the version that wrote the current record.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import Item, ItemFile
from lantai.errors import LantaiError
from lantai.services.arrange_publish import ARRANGEMENT_PATH, publish_pending
from lantai.services.arrange_reference import restore_reference_versions
from lantai.services.catalogue import upsert_items

if TYPE_CHECKING:
    from lantai.services.archive import Archive

_CHUNK = 5000


def restore_arrangements(archive: Archive, *, actor: str = "system") -> dict[str, Any]:
    references = restore_reference_versions(archive)
    _publish_first(archive, actor)
    with archive.sessions() as session:
        ids = list(session.scalars(select(Item.record_id).join(ItemFile, ItemFile.item_id == Item.id)
                                   .where(ItemFile.logical_path == ARRANGEMENT_PATH).order_by(Item.record_id)))
    stored = {record_id: stored_arrangement(archive, record_id) for record_id in ids}
    with archive.session() as session:
        kept = set(session.scalars(select(Arrangement.record_id).where(Arrangement.pending.is_(True))))
        _clear(session, kept)
        rows = [row for record_id, row in stored.items() if record_id not in kept]
        corrections = [c for row in rows for c in row.pop("corrections")]
        for start in range(0, len(rows), _CHUNK):
            session.execute(insert(Arrangement), rows[start:start + _CHUNK])
        if corrections:
            session.execute(insert(ArrangementCorrection), corrections)
    return {"arrangements": len(rows), "corrections": len(corrections), "kept_pending": len(kept),
            "reference_versions": references}


def _publish_first(archive: Archive, actor: str) -> None:
    """Publish decisions a surviving catalogue had not yet published, then re-project those items
    (their catalogue columns were just rebuilt from the store, which did not have the 档号 yet)."""

    with archive.sessions() as session:
        pending = list(session.scalars(select(Arrangement.record_id).where(Arrangement.pending.is_(True))))
    if not pending:
        return
    with contextlib.suppress(LantaiError):  # rows that fail stay pending and are kept
        publish_pending(archive, actor=actor)
    with archive.session() as session:
        for start in range(0, len(pending), _CHUNK):
            upsert_items(session, archive.store, pending[start:start + _CHUNK])


def _clear(session: Session, kept: set[str]) -> None:
    corrections = delete(ArrangementCorrection)
    if kept:
        corrections = corrections.where(ArrangementCorrection.record_id.not_in(sorted(kept)))
    session.execute(corrections)
    session.execute(delete(Arrangement).where(Arrangement.pending.is_(False)))


def stored_arrangement(archive: Archive, record_id: str) -> dict[str, Any]:
    """The arrangement row (plus its corrections) that the item's stored record describes."""
    store = archive.store
    inventory = store.read_inventory(record_id)
    digest, version = _introduced(inventory)
    content_path = inventory["manifest"][digest][0]
    record = json.loads(store.content_path(record_id, content_path).read_bytes())
    created = _time(inventory["versions"][f"v{version}"]["created"])
    row = {"record_id": record_id, "fonds_code": record["fonds"], "category": record["category"], "year": record["year"],
           "class_key": record["class"], "item_number": record["item_number"], "archival_code": record["archival_code"],
           "retention": record["retention"], "retention_source": record.get("retention_source", ""),
           "organisation": record.get("organisation", ""), "state": record.get("state", "draft"),
           "reference_version": record["reference_version"], "pending": False, "published_version": version,
           "change": record.get("change", "assigned"), "previous_code": record.get("previous_code", ""),
           "updated_at": created}
    row["corrections"] = [{"record_id": record_id, "old_code": c["old_code"], "new_code": c["new_code"],
                           "reason": c["reason"], "actor": c["actor"], "created_at": _time(c["created_at"])}
                          for c in record.get("corrections", [])]
    return row


def _introduced(inventory: dict[str, Any]) -> tuple[str, int]:
    """Digest of the head's arrangement record and the first version of the run that holds it."""
    def digest_in(version: int) -> str | None:
        state = inventory["versions"].get(f"v{version}", {}).get("state", {})
        return next((d for d, paths in state.items() if ARRANGEMENT_PATH in paths), None)

    head = int(inventory["head"][1:])
    digest, version = digest_in(head), head
    while version > 1 and digest_in(version - 1) == digest:
        version -= 1
    if digest is None:
        raise LantaiError(f"对象 {inventory['id']} 的当前版本没有整理记录", f"{inventory['id']} head has no arrangement record")
    return digest, version


def _time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
