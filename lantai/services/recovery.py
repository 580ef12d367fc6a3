"""Crash recovery: intents written before each commit, resolved at start-up.

An intent file names the object being committed and its staging directory. At start-up — only
when no other Lantai process holds the archive (exclusive flock on ``staging/.active``) — each
intent is resolved: if the object reached the store, the catalogue row is (re)built from the
store and the commit is audited as recovered; if not, the staging directory is removed and the
rollback is audited. Intents of changes to archived items (:mod:`lantai.services.changes`:
密级, arrangement, transfer marks) live apart and are resolved by that module. Then the audit
table is synced from the journal and stray staging is removed.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from lantai.catalog.models import AuditEntry

if TYPE_CHECKING:
    from lantai.services.archive import Archive


ARRANGE_INTENTS = "intents-arrange"  # arrangement's publish intents from before the change path
CHANGE_INTENTS = "intents-change"  # lantai.services.changes keeps its intents here


def _intents_dir(archive: Archive) -> Path:
    return archive.settings.staging_dir / "intents"


def arrange_intents_dir(archive: Archive) -> Path:
    """Where arrangement's publish groups kept their intents before they used the change path."""
    return archive.settings.staging_dir / ARRANGE_INTENTS


def write_intent(archive: Archive, objects: list[tuple[str, Path]], actor: str) -> Path:
    """Record which new objects are about to be committed, before any of them reaches the store."""
    data = {"objects": [{"object_id": oid, "staging": str(staging)} for oid, staging in objects], "actor": actor}
    return write_record(archive, _intents_dir(archive), data)


def write_record(archive: Archive, directory: Path, data: dict[str, Any], name: str | None = None) -> Path:
    """Write an intent file durably and atomically (a torn intent is never read as a whole one).

    Ingest and the change path (:mod:`lantai.services.changes`) each keep theirs in a directory
    of its own, because recovery resolves them differently. ``name`` (default: a fresh uuid) lets a
    writer find its own intent again (a destruction has one per item).
    """
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / (name or f"{uuid.uuid4().hex}.json")
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    if archive.settings.fsync:
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    os.replace(tmp, path)
    return path


def clear_intent(path: Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        path.unlink()


def recover_if_idle(archive: Archive) -> dict[str, Any] | None:
    """Run recovery when no other process is active; returns what was done, or None if busy."""
    lock_path = archive.settings.staging_dir / ".active"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return None
        try:
            return recover(archive)
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def recover(archive: Archive) -> dict[str, Any]:
    done: dict[str, Any] = {"completed": [], "rolled_back": [], "audit_synced": 0, "staging_removed": 0}
    directory = _intents_dir(archive)
    intents = sorted(directory.glob("*.json")) if directory.is_dir() else []
    for path in intents:
        try:
            intent = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            clear_intent(path)
            continue
        _sync_audit(archive, full=True)
        accepted = _accepted_targets(archive)  # one journal pass per intent, not one per object
        for entry in intent.get("objects", []):
            _resolve(archive, entry["object_id"], Path(entry["staging"]), intent.get("actor", "system"), done,
                     accepted)
        clear_intent(path)
    if intents:
        _refresh_open_batches(archive)
    done["audit_synced"] = _sync_audit(archive, full=bool(intents))
    done["changes"] = _recover_changes(archive)  # before staging is cleaned
    done["destructions"] = _recover_destructions(archive)
    done["staging_removed"] = archive.store.clean_staging()
    return done


def _recover_changes(archive: Archive) -> dict[str, Any]:
    """Finish or roll back changes to archived items (密级, arrangement, transfer marks …)."""
    directories = (archive.settings.staging_dir / CHANGE_INTENTS, arrange_intents_dir(archive))
    if not any(d.is_dir() and any(d.glob("*.json")) for d in directories):
        # Nothing to finish: every command opens the archive, and the change path is heavy to import.
        return {"intents": 0, "completed": [], "rolled_back": []}
    from lantai.services.changes import recover_changes

    return recover_changes(archive)


def _recover_destructions(archive: Archive) -> dict[str, Any]:
    """Finish destructions a crash interrupted (each has an intent per item; see services.destruction)."""
    directory = archive.settings.staging_dir / "intents-destroy"
    if not directory.is_dir() or not any(directory.glob("*.json")):
        return {"resumed": [], "failed": []}
    from lantai.services.destruction import resume_intents

    return resume_intents(archive)


def _resolve(archive: Archive, object_id: str, staging: Path, actor: str, done: dict[str, Any],
             accepted: set[str]) -> None:
    from lantai.services.catalogue import upsert_item
    from lantai.services.search_index import index_items

    if archive.store.exists(object_id) or archive.store.object_path(object_id).is_dir():
        archive.store.reconcile_object(object_id)
        with archive.session() as session:
            item = upsert_item(session, archive.store, object_id)
            index_items(session, archive.store, archive.home, [item])
        if object_id not in accepted:
            archive.audit.append(actor, "ingest.accepted", object_id, {"recovered": True})
        done["completed"].append(object_id)
    else:
        archive.store.abort(staging)
        archive.audit.append("system", "ingest.rolled_back", object_id, {"reason": "interrupted before commit"})
        done["rolled_back"].append(object_id)


def _refresh_open_batches(archive: Archive) -> None:
    from lantai.catalog.models import Batch
    from lantai.services.ingest import refresh_batch

    with archive.session() as session:
        for batch_id in session.scalars(select(Batch.id).where(Batch.status != "complete")).all():
            refresh_batch(session, batch_id)


def _accepted_targets(archive: Archive) -> set[str]:
    """Objects whose acceptance the audit journal already records."""
    return {r.target for r in archive.audit.iter_journal()
            if not isinstance(r, Exception) and r.action == "ingest.accepted"}


def _sync_audit(archive: Archive, *, full: bool) -> int:
    """Cheap check first: the catalogue copy is complete when its count equals the last seq."""
    if not full:
        with archive.sessions() as session:
            count, top = session.execute(select(func.count(AuditEntry.seq), func.max(AuditEntry.seq))).one()
        last = archive.audit.last_record()
        if last is not None and count == last.seq and top == last.seq:
            return 0
    return archive.audit.sync_catalogue()
