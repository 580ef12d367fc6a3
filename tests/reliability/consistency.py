"""One check that store, catalogue, search index and audit agree — after any crash and recovery.

Used by every crash trial in this folder (and by any test that wants to prove an archive is whole).
The store is the truth; everything else must say what it says:

* the store passes the OCFL validator and no intent is left (every crashed unit was resolved);
* the catalogue holds exactly the stored objects, each at its head version, and every item's rows
  equal a fresh projection of its object (what ``lantai rebuild`` would produce);
* the search index holds exactly the catalogued items with their 档号 and 密级;
* the audit chain verifies, each object's acceptance is journalled exactly once, and each later
  version exactly once by the change that made it (none twice, none missing).
"""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from sqlalchemy import select, text

from lantai.catalog.models import AuditEntry, Item
from lantai.services.archive import Archive
from lantai.services.catalogue import _plain, dump_catalogue, project_stored
from tests.ocfl_validation import validate_store

CHANGE_ACTIONS = ("item.classified", "arrange.assigned", "arrange.corrected", "arrange.renumbered", "arrange.filed",
                  "transfer.marked", "check.recorded", "item.corrected")
INTENT_DIRS = ("intents", "intents-change", "intents-arrange")


def check_agreement(archive: Archive, *, context: str = "") -> None:
    """Assert store ↔ catalogue ↔ index ↔ audit agree; ``context`` (seed, trial) names a failure."""
    where = f" [{context}]" if context else ""
    invalid = validate_store(archive.settings.store_root)
    assert invalid == [], f"the store is not valid OCFL: {invalid[:5]}{where}"
    left = [p.name for d in INTENT_DIRS for p in (archive.settings.staging_dir / d).glob("*.json")]
    assert not left, f"intents survived recovery: {left}{where}"
    stored = set(archive.store.iter_object_ids())
    with archive.sessions() as session:
        items = {i.record_id: i for i in session.scalars(select(Item))}
        catalogue = dump_catalogue(session)["items"]
        audit = [(a.action, a.target, json.loads(a.details)) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_((*CHANGE_ACTIONS, "ingest.accepted"))))]
    assert set(items) == stored, f"catalogued ≠ stored: {sorted(set(items) ^ stored)}{where}"
    heads = {rid: archive.store.head_version(rid) for rid in stored}
    assert {rid: i.ocfl_version for rid, i in items.items()} == heads, f"catalogue behind the store{where}"
    assert catalogue == [projected(archive, rid) for rid in sorted(stored)], f"catalogue ≠ projection{where}"
    assert indexed(archive) == {rid: (i.archival_code, i.security_classification) for rid, i in items.items()}, \
        f"search index ≠ catalogue{where}"
    accepted = Counter(target for action, target, _d in audit if action == "ingest.accepted")
    assert accepted == Counter(stored), f"acceptances not journalled exactly once: {accepted}{where}"
    changed = Counter((target, d["ocfl_version"]) for action, target, d in audit if action in CHANGE_ACTIONS)
    versions = Counter((rid, v) for rid, head in heads.items() for v in range(2, (head or 1) + 1))
    assert changed == versions, f"versions not audited exactly once: {(changed - versions) + (versions - changed)}{where}"
    report = archive.audit.verify()
    assert report.ok, f"audit chain: {report.to_dict()}{where}"


def indexed(archive: Archive) -> dict[str, tuple[Any, Any]]:
    with archive.engine.connect() as conn:
        return {r[0]: (r[1], r[2]) for r in conn.execute(
            text("SELECT record_id, archival_code, security_classification FROM search_docs"))}


def projected(archive: Archive, record_id: str) -> dict[str, Any]:
    """An item as a fresh projection of its stored object, in :func:`dump_catalogue`'s shape."""
    p = project_stored(archive.store, record_id)
    row = {k: _plain(v) for k, v in p.item.items()}
    row["files"] = sorted(p.files, key=lambda f: f["logical_path"])
    row["versions"], row["events"] = p.versions, sorted(p.events, key=lambda e: e["seq"])
    return row
