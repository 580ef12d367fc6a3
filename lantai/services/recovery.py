"""Crash recovery: intents written before each commit, resolved whenever a writer starts.

An intent file names the objects being committed and their staging directories. Its writer
holds an exclusive ``flock`` on the intent file from before it appears (the lock is taken on the
temporary file and follows the inode through the rename) until it is cleared, and records its
owner (host, pid, start time) in it for people reading it. The kernel drops the lock when the
writer dies, however it dies (SIGKILL included), so an intent whose lock can be taken belongs to
nobody living: :func:`claim` takes it and recovery resolves it. An intent whose lock is held
belongs to a live writer and is never touched — so recovery runs at every start of a writer,
even while ``lantai serve`` or another ingest is running, without a process-wide lock.

Resolving an ingest intent: if the object reached the store, the catalogue row and index entry
are (re)built from the store and the commit is audited as recovered; if not, the staging
directory is removed and the rollback is audited. Intents of changes to archived items
(:mod:`lantai.services.changes`: 密级, arrangement, transfer marks) live apart and are resolved
by that module the same way. Then the audit table is synced from the journal (an insert that
ignores rows a live writer's transaction copies at the same moment).

Removing abandoned staging directories (``tx-*``, which a live ingest fills before it writes an
intent) is the one step that still needs an idle archive: it runs only when no other Lantai
process holds the shared activity lock (``staging/.active``). Leftovers are only disk space.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from lantai.catalog import locks
from lantai.catalog.models import AuditEntry, Batch
from lantai.services.intents import (
    CHANGE_INTENTS,
    DESTROY_INTENTS,
    Intent,
    arrange_intents_dir,
    claim,
    ingest_intents_dir,
)

if TYPE_CHECKING:
    from lantai.services.archive import Archive


def recover_if_idle(archive: Archive) -> dict[str, Any]:
    """Start-up recovery (kept under its old name): intents of dead writers are always resolved;
    abandoned staging is removed only when no other process is active."""
    lock_path = archive.settings.staging_dir / ".active"
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            idle = True
        except BlockingIOError:
            idle = False
        try:
            return recover(archive, idle=idle)
        finally:
            if idle:
                fcntl.flock(fh, fcntl.LOCK_UN)


def recover(archive: Archive, *, idle: bool = True) -> dict[str, Any]:
    """Resolve every ingest and change intent whose writer is gone; ``idle`` also cleans staging."""
    done: dict[str, Any] = {"completed": [], "rolled_back": [], "audit_synced": 0, "staging_removed": 0,
                            "live_intents": 0}
    directory = ingest_intents_dir(archive)
    resolved = 0
    for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
        intent = claim(path)
        if intent is None:
            done["live_intents"] += 1
            continue
        resolved += 1
        try:
            _recover_ingest(archive, intent, done)
        finally:
            intent.release()
    if resolved:
        _refresh_open_batches(archive)
    done["audit_synced"] = _sync_audit(archive, full=bool(resolved))
    done["changes"] = _recover_changes(archive)  # before staging is cleaned
    done["live_intents"] += done["changes"].get("live", 0)
    done["destructions"] = _recover_destructions(archive)
    if idle:
        done["staging_removed"] = archive.store.clean_staging() + _remove_torn_intents(archive)
        for stale in (archive.settings.staging_dir / "owners").glob("*.lock"):  # idle: no owner is alive
            with contextlib.suppress(OSError):
                stale.unlink()
    return done


def _remove_torn_intents(archive: Archive) -> int:
    """Intents whose writer died before renaming them into place (``*.tmp``): nothing was
    committed under them. Only on an idle archive, where no writer can be about to rename one."""
    staging = archive.settings.staging_dir
    torn = [p for d in ("intents", CHANGE_INTENTS) for p in (staging / d).glob("*.tmp")]
    for path in torn:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    return len(torn)


def _recover_ingest(archive: Archive, intent: Intent, done: dict[str, Any]) -> None:
    try:
        data = intent.read()
    except (OSError, ValueError):
        intent.clear()
        return
    _sync_audit(archive, full=True)
    accepted = _accepted_targets(archive)  # one journal pass per intent, not one per object
    for entry in data.get("objects", []):
        _resolve(archive, entry["object_id"], Path(entry["staging"]), data.get("actor", "system"), done, accepted)
    intent.clear()


def recover_orphans(archive: Archive) -> dict[str, Any]:
    """Finish or roll back what processes that died left half-committed, while others keep working:
    ingest commits, changes to archived items (密级, arrangement, corrections, transfer marks,
    appraisal decisions) and destructions — every kind of intent start-up recovery resolves.

    Start-up recovery (:func:`recover_if_idle`) waits for an idle archive, which a service with
    workers and web processes never is. Here only intents whose owner is provably gone are
    resolved: its owner lock can be taken (the file lock on this machine's shared staging and,
    on PostgreSQL, the advisory lock the server dropped with the dead process's connection).
    The lock is held while resolving, so two workers sweeping at once never resolve one intent
    twice; an intent of a live process is never touched. A job the dead process held is queued
    again only after this (:func:`lantai.services.jobs.sweep`), so its re-run starts from a
    consistent archive.
    """
    done: dict[str, Any] = {"completed": [], "rolled_back": [], "changes": [], "changes_rolled_back": [],
                            "destructions": [], "failed": []}
    by_owner: dict[str, list[tuple[str, Path]]] = {}
    for kind, directory in _orphan_directories(archive):
        for path in sorted(directory.glob("*.json")) if directory.is_dir() else []:
            try:
                owner = json.loads(path.read_text(encoding="utf-8")).get("owner_token")
            except (OSError, ValueError):
                continue  # being written (renamed into place whole) or gone: not ours to judge
            if owner and (archive.owner is None or owner != archive.owner.token):
                by_owner.setdefault(owner, []).append((kind, path))
    for owner, found in by_owner.items():
        with _dead_owner(archive, owner) as dead:
            if not dead:
                continue
            accepted = _accepted_targets(archive) if any(k == "ingest" for k, _p in found) else set()
            for kind, path in found:
                intent = claim(path)  # also this machine's per-intent lock: never a live writer's
                if intent is None:
                    continue
                try:
                    _resolve_orphan(archive, kind, intent, done, accepted)
                except Exception as exc:  # left for the next sweep (or start-up recovery)
                    intent.release()
                    done["failed"].append({"intent": path.name, "kind": kind, "error": str(exc)[:300]})
            with contextlib.suppress(OSError):
                (archive.settings.staging_dir / "owners" / f"{owner}.lock").unlink()
    if done["completed"] or done["rolled_back"]:
        _refresh_open_batches(archive)
    if any(done.values()):
        archive.audit.append("system", "recovery.orphans", "", {k: v[:100] for k, v in done.items() if v})
    return done


def _orphan_directories(archive: Archive) -> list[tuple[str, Path]]:
    """(kind, directory) of every intent kind a dead process can leave behind."""
    staging = archive.settings.staging_dir
    return [("ingest", ingest_intents_dir(archive)), ("change", staging / CHANGE_INTENTS),
            ("change", arrange_intents_dir(archive)), ("destroy", staging / DESTROY_INTENTS)]


def _resolve_orphan(archive: Archive, kind: str, intent: Intent, done: dict[str, Any], accepted: set[str]) -> None:
    """Resolve one claimed intent as start-up recovery would; the intent is cleared only on success."""
    if kind == "change":
        from lantai.services.changes import recover_intent  # lazy (start-up): only for an orphaned change

        outcome = recover_intent(archive, intent)  # takes the objects' locks itself
        done["changes"] += outcome["completed"]
        done["changes_rolled_back"] += outcome["rolled_back"]
        return
    if kind == "destroy":
        from lantai.services.destruction import (
            resume_intent,  # lazy (start-up): only for an orphaned destruction
        )

        done["destructions"].append(resume_intent(archive, intent))
        return
    try:
        data = intent.read()
    except (OSError, ValueError):
        intent.clear()  # renamed into place only once whole: unreadable is damage, nothing to do
        return
    try:
        for entry in data.get("objects", []):
            with archive.store.object_lock(entry["object_id"]):
                _resolve(archive, entry["object_id"], Path(entry["staging"]), data.get("actor", "system"),
                         done, accepted)
    except BaseException:
        intent.release()
        raise
    intent.clear()


@contextlib.contextmanager
def _dead_owner(archive: Archive, owner: str) -> Any:
    """Yields True while holding ``owner``'s locks when that process is gone; False when it lives."""

    lock_file = archive.settings.staging_dir / "owners" / f"{owner}.lock"
    held = None
    with open(lock_file, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        try:
            if locks.is_postgres(archive.engine):
                held = locks.HeldLock(archive.engine, locks.OWNER, locks.key(owner), wait=False)
                if not held.held:
                    yield False  # alive on another machine
                    return
            yield True
        finally:
            if held is not None:
                held.release()
            fcntl.flock(fh, fcntl.LOCK_UN)


def _recover_changes(archive: Archive) -> dict[str, Any]:
    """Finish or roll back changes to archived items (密级, arrangement, transfer marks …)."""
    directories = (archive.settings.staging_dir / CHANGE_INTENTS, arrange_intents_dir(archive))
    if not any(d.is_dir() and any(d.glob("*.json")) for d in directories):
        # Nothing to finish: every command opens the archive, and the change path is heavy to import.
        return {"intents": 0, "completed": [], "rolled_back": [], "live": 0}
    # Lazy (start-up): each writer is loaded only when an intent of its own is found, so opening an
    # archive does not load every writer (+0.5 s CPU). None of them imports this module.
    from lantai.services.changes import recover_changes

    return recover_changes(archive)


def _recover_destructions(archive: Archive) -> dict[str, Any]:
    """Finish destructions a crash interrupted (each has an intent per item; see services.destruction)."""
    directory = archive.settings.staging_dir / DESTROY_INTENTS
    if not directory.is_dir() or not any(directory.glob("*.json")):
        return {"resumed": [], "failed": []}
    from lantai.services.destruction import resume_intents  # lazy (start-up), as above

    return resume_intents(archive)


def _resolve(archive: Archive, object_id: str, staging: Path, actor: str, done: dict[str, Any],
             accepted: set[str]) -> None:
    # Lazy (start-up): the catalogue and index writers load only when an ingest intent is resolved.
    from lantai.services.catalogue import upsert_item
    from lantai.services.search_index import index_items

    # The staging directory becomes the object by one rename: while it is still there, this
    # intent's version never reached the store (an object of that id may be another writer's).
    moved_in = not staging.is_dir()
    if moved_in and (archive.store.exists(object_id) or archive.store.object_path(object_id).is_dir()):
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
    from lantai.services.ingest import (
        refresh_batch,  # lazy (start-up): only after an ingest intent was resolved
    )

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
