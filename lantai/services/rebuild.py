"""``lantai rebuild``: recreate the catalogue from the store and the audit journal alone.

The catalogue is derived data, and rebuilding it must never make things worse:

* it only reads the store — an object whose inventories disagree, fail their sidecars or cannot
  be projected is reported (and left for repair from a replica), never "fixed" by copying one
  inventory over another;
* the new item rows are built beside the live catalogue (:mod:`lantai.catalog.scratch`: a new
  SQLite file or PostgreSQL schema, with the same projection ingest uses) and swapped in with
  one transaction only once every object has been read — killing rebuild at any moment leaves
  the old catalogue intact and in use;
* items the rebuild could not read keep the rows they had, so a damaged object is never simply
  gone from the catalogue; users, API tokens and check runs are never touched.

Afterwards the audit table is synced from the journal, the arrangement tables are restored
from the ``lantai/arrangement.json`` records (:mod:`lantai.services.arrange_restore`) and the
search index is rebuilt, as before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import fcntl
import json
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from lantai.catalog.models import Batch, CheckRecord, CheckVerdict, Item, ItemFile
from lantai.catalog.scratch import ScratchCatalogue, drop_leftovers
from lantai.errors import Conflict, LantaiError
from lantai.services import search_index
from lantai.services.arrange_restore import restore_arrangements
from lantai.services.audit import AuditRecord
from lantai.services.catalogue import INGEST_RECORD_PATH, Projection, insert_projections, project_stored
from lantai.services.ingest import refresh_batch
from lantai.services.item_checks import CHECKS_PREFIX, check_rows_from_store

if TYPE_CHECKING:
    from lantai.services.archive import Archive

COMMIT_EVERY = 500
_UNREADABLE = (LantaiError, OSError, ValueError, KeyError, TypeError, IndexError)


def rebuild_catalogue(archive: Archive, *, actor: str = "system",
                      on_total: Callable[[int], None] | None = None,
                      progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Rebuild the catalogue; ``result["damaged"]`` names every object that could not be used."""
    with _only_rebuild(archive):
        return _rebuild(archive, actor, on_total, progress)


@contextlib.contextmanager
def _only_rebuild(archive: Archive) -> Iterator[None]:
    """One rebuild at a time: a second would remove the first one's scratch catalogue as a leftover."""
    path = archive.settings.staging_dir / ".rebuild"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise Conflict("另一个 lantai rebuild 正在运行", "another lantai rebuild is running") from None
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _rebuild(archive: Archive, actor: str, on_total: Callable[[int], None] | None,
             progress: Callable[[str], None] | None) -> dict[str, Any]:
    clock = _Clock()
    drop_leftovers(archive.engine)
    dirs = list(archive.store.iter_object_dirs())
    if on_total:
        on_total(len(dirs))
    scratch = ScratchCatalogue.create(archive.engine)
    try:
        damaged, batches = _project_all(archive, scratch, dirs, progress)
        clock.lap("project")
        batch_ids = sorted(batches)
        counts = scratch.swap_into_live(lambda session: _refresh_batches(session, batch_ids))
        clock.lap("swap")
    finally:
        scratch.drop()
    damaged.extend(_catalogued_without_object(archive, {d["object"] for d in damaged}))
    synced = archive.audit.sync_catalogue()
    check_runs = restore_check_runs(archive)
    verdicts = restore_check_verdicts(archive)
    arrangements = restore_arrangements(archive, actor=actor)  # 档号/件号 rows from lantai/arrangement.json
    clock.lap("audit_checks_arrangements")
    indexed = search_index.reindex(archive)  # the search index is derived too
    clock.lap("index")
    archive.audit.append(actor, "catalogue.rebuilt", str(archive.home),
                         {"items": counts["items"], "batches": len(batches), "kept": counts["kept"],
                          "damaged": [d["object"] for d in damaged][:1000]})
    return {"ok": not damaged, "items": counts["items"], "kept": counts["kept"], "batches": len(batches),
            "damaged": damaged, "audit_entries": synced, "indexed": indexed, "arrangements": arrangements,
            "check_runs_restored": check_runs, "check_verdicts_restored": verdicts, "seconds": clock.laps}


class _Clock:
    """Seconds per phase, reported with the result (the benchmark prints them)."""

    def __init__(self) -> None:
        self.laps: dict[str, float] = {}
        self._last = time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.laps[name] = round(now - self._last, 2)
        self._last = now


def _project_all(archive: Archive, scratch: ScratchCatalogue, dirs: list[Path],
                 progress: Callable[[str], None] | None) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """Project every sound object into the scratch catalogue; name the others."""
    damaged: list[dict[str, Any]] = []
    batches: dict[str, dict[str, Any]] = {}
    pending: list[Projection] = []
    with scratch.sessions() as session:
        for objdir in dirs:
            inspection = archive.store.inspect_object(objdir)
            object_id = inspection.object_id
            try:
                if not inspection.ok:
                    raise _Damaged([p.to_dict() for p in inspection.problems])
                projection = project_stored(archive.store, object_id, inventory=inspection.inventory)
                _collect_batch(archive, object_id, batches)
                pending.append(projection)
            except _Damaged as exc:
                damaged.append({"object": object_id, "problems": exc.problems})
            except _UNREADABLE as exc:
                damaged.append({"object": object_id, "problems": [_unprojectable(object_id, exc)]})
            if len(pending) >= COMMIT_EVERY:
                _flush(session, archive, pending)
            if progress:
                progress(object_id)
        _flush(session, archive, pending)
        for batch_id, info in sorted(batches.items()):
            session.add(Batch(id=batch_id, **info))
        session.commit()
    return damaged, batches


class _Damaged(Exception):
    def __init__(self, problems: list[dict[str, Any]]) -> None:
        super().__init__("damaged object")
        self.problems = problems


def _unprojectable(object_id: str, exc: Exception) -> dict[str, Any]:
    zh = exc.message_zh if isinstance(exc, LantaiError) else str(exc)
    en = exc.message_en if isinstance(exc, LantaiError) else repr(exc)
    return {"object": object_id, "file": "", "problem": "unprojectable",
            "message": f"无法从对象生成目录记录: {zh}", "message_en": f"cannot project the object: {en}"}


def _flush(session: Session, archive: Archive, pending: list[Projection]) -> None:
    # The scratch catalogue holds item tables only; a rebuild writes no version, so nothing is queued.
    insert_projections(session, archive.store, pending, replicate=False)
    session.commit()
    pending.clear()


def _refresh_batches(session: Session, batch_ids: list[str]) -> None:
    for batch_id in batch_ids:
        refresh_batch(session, batch_id)


def _catalogued_without_object(archive: Archive, named: set[str]) -> list[dict[str, Any]]:
    """Catalogued items whose object is gone from the store: kept in the catalogue, and reported."""
    with archive.sessions() as session:
        ids = session.scalars(select(Item.record_id).order_by(Item.record_id).execution_options(yield_per=5000))
        return [{"object": record_id, "problems": [{
            "object": record_id, "file": "", "problem": "object_missing",
            "message": "存储中没有该对象的目录（目录记录保留）",
            "message_en": "the object's directory is missing from the store (catalogue rows kept)"}]}
            for record_id in ids if record_id not in named and not archive.store.has_object_dir(record_id)]


def restore_check_runs(archive: Archive) -> int:
    """Re-create check runs the catalogue lacks: from the results kept in the objects
    (``lantai/checks/<run id>.json``, every field), then from ``check.run`` journal entries for
    runs the store does not hold (runs from before results were stored, runs over packages).

    A run's rows survive a rebuild anyway (the swap never touches them); this restores them when
    the catalogue itself was lost. The journal keeps each run's stage, profile, report digest,
    location and per-item verdicts (for the first 1,000 items of a run; failed codes and result
    counts are only in the stored results and the report file). Returns the number of runs restored.
    """
    with archive.sessions() as session:
        known = set(session.execute(select(CheckRecord.run_id, CheckRecord.item_id)).tuples())
        stored = list(session.execute(select(Item.record_id, ItemFile.logical_path).join(ItemFile)
                                      .where(ItemFile.logical_path.like(f"{CHECKS_PREFIX}%.json"))).tuples())
    rows = [r for r in check_rows_from_store(archive, stored) if (r["run_id"], r["item_id"]) not in known]
    known |= {(r["run_id"], r["item_id"]) for r in rows}
    for record in archive.audit.iter_journal():
        if not isinstance(record, AuditRecord) or record.action != "check.run":
            continue
        details = record.details
        if not isinstance(details.get("verdicts"), dict) or not details["verdicts"]:
            continue  # not a run of `lantai check` (the web's re-check journals its own shape)
        created = dt.datetime.fromisoformat(record.time.replace("Z", "+00:00"))
        rows += [{"run_id": record.target, "stage": details.get("stage", ""), "profile": details.get("profile", ""),
                  "item_id": item_id[:200], "status": status, "report_location": details.get("location", ""),
                  "report_sm3": details.get("report_sm3", ""), "operator": record.actor, "created_at": created}
                 for item_id, status in sorted(details["verdicts"].items())
                 if (record.target, item_id[:200]) not in known]
    runs = {r["run_id"] for r in rows}
    if rows:
        with archive.session() as session:
            session.execute(insert(CheckRecord), rows)
    return len(runs)


def restore_check_verdicts(archive: Archive) -> int:
    """Re-create people's verdicts on manual check targets from their ``check.confirmed`` entries
    when the catalogue lacks them (it was lost): the journal holds every field of the row."""
    with archive.sessions() as session:
        if session.scalar(select(CheckVerdict.id).limit(1)) is not None:
            return 0  # the table survived: nothing was lost
    rows = []
    for record in archive.audit.iter_journal():
        if not isinstance(record, AuditRecord) or record.action != "check.confirmed":
            continue
        details = record.details
        rows.append({"scope": details.get("scope", ""), "scope_id": str(details.get("scope_id", ""))[:200],
                     "stage": details.get("stage", ""), "code": details.get("code", ""),
                     "verdict": details.get("verdict", ""), "note": details.get("note", ""),
                     "confirmed_by": record.actor,
                     "confirmed_at": dt.datetime.fromisoformat(record.time.replace("Z", "+00:00"))})
    if rows:
        with archive.session() as session:
            session.execute(insert(CheckVerdict), rows)
    return len(rows)


def _collect_batch(archive: Archive, object_id: str, batches: dict[str, dict[str, Any]]) -> None:
    record = json.loads(archive.store.read_bytes(object_id, INGEST_RECORD_PATH, version=1))
    batch_id = record.get("batch_id")
    if not batch_id or batch_id in batches:
        return
    register = record.get("register") or {}
    batches[batch_id] = {"source": record.get("batch_source", ""), "unit_name": register.get("unit_name", ""),
                         "declared_items": register.get("items"), "declared_bytes": register.get("bytes")}
