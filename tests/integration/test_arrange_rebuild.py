"""Arrangement survives a lost catalogue, and publishing in groups stays crash-safe.

``lantai rebuild`` recreates the arrangement rows, correction records and reference-data
versions from the store and the audit journal alone; publishing commits groups of versions
with one intent, and an interrupted group is finished without writing a second version.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from sqlalchemy import select, update

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection, ReferenceVersion
from lantai.catalog.models import AuditEntry, Item
from lantai.errors import StorageError
from lantai.services import arrange as svc
from lantai.services import arrange_publish, changes, recovery
from lantai.services.archive import Archive, open_archive
from lantai.services.rebuild import rebuild_catalogue
from lantai.settings import Settings
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database
from tests.integration.test_arrange import actions, add_item, arrange_sample, codes


def arrangement_state(archive: Archive) -> dict[str, Any]:
    """Everything the arrangement tables hold, without surrogate keys or decision times."""
    with archive.sessions() as session:
        rows = {a.record_id: {c: getattr(a, c) for c in Arrangement.__table__.columns.keys() if c not in ("id", "updated_at")}
                for a in session.scalars(select(Arrangement))}
        corrections = sorted((c.record_id, c.old_code, c.new_code, c.reason, c.actor, _utc(c.created_at))
                             for c in session.scalars(select(ArrangementCorrection)))
        references = [(r.version, r.document, r.sm3, r.note, r.actor)
                      for r in session.scalars(select(ReferenceVersion).order_by(ReferenceVersion.version))]
        items = dict(session.execute(select(Item.record_id, Item.item_number)).tuples().all())
    return {"rows": rows, "corrections": corrections, "references": references, "codes": codes(archive),
            "numbers": items}


def _utc(value: Any) -> str:
    return arrange_publish.timestamp(value)


def _history(archive: Archive) -> None:
    """Arrange, save reference data, file, correct one item, then arrange a late item."""
    arrange_sample(archive)
    svc.save_reference(archive, svc.default_reference_text(), actor="admin", note="年度复核")
    svc.file_arrangement(archive, "Z109", 2025, actor="archivist")
    svc.correct_arrangement(archive, "R2", reason="经鉴定应为定期30年", actor="archivist", retention="D30")
    add_item(archive, "R0", date="2025-01-01")
    svc.arrange(archive, "Z109", 2025, actor="archivist")


@pytest.fixture
def fresh_catalogue(settings: Settings):
    """Open the same home (store, journal) over an empty catalogue: the SQLite file deleted, or a new PG database."""
    created: list[str] = []

    def open_fresh(archive: Archive) -> Archive:
        archive.close()
        if settings.database_url is None:
            for suffix in ("", "-wal", "-shm"):
                path = settings.home / f"catalog.sqlite3{suffix}"
                if path.exists():
                    path.unlink()
            return open_archive(settings, recover=False)
        url = _create_pg_database(os.environ[PG_ENV])
        created.append(url)
        return open_archive(settings.model_copy(update={"database_url": url}), recover=False)

    yield open_fresh
    for url in created:
        _drop_pg_database(url)


def test_rebuild_after_a_lost_catalogue_recreates_the_arrangement(archive: Archive, fresh_catalogue: Any) -> None:
    _history(archive)
    before = arrangement_state(archive)
    assert before["corrections"] and len(before["references"]) == 2
    assert before["rows"]["R2"]["change"] == "corrected" and before["rows"]["R0"]["state"] == "draft"
    rebuilt = fresh_catalogue(archive)
    try:
        with rebuilt.sessions() as session:
            assert session.scalar(select(Arrangement.id)) is None  # the catalogue really is empty
        result = rebuild_catalogue(rebuilt)
        assert result["arrangements"]["arrangements"] == 5 and result["arrangements"]["corrections"] == 1
        assert arrangement_state(rebuilt) == before
        plan = svc.arrange(rebuilt, "Z109", 2025)  # the rebuilt tables are a consistent starting point
        assert plan.changes == [] and [p["problem"] for p in plan.problems] == ["gap"]  # R2's vacated 件号
        assert rebuilt.audit.verify().ok
    finally:
        rebuilt.close()


def test_rebuild_publishes_pending_decisions_before_replacing_the_tables(archive: Archive) -> None:
    add_item(archive, "R1", date="2025-01-05")
    add_item(archive, "R2", date="2025-02-05")
    svc.arrange(archive, "Z109", 2025, publish=False)
    assert svc.pending_count(archive) == 2 and archive.store.head_version("R1") == 1
    rebuild_catalogue(archive)
    assert svc.pending_count(archive) == 0 and archive.store.head_version("R1") == 2
    assert codes(archive) == {"R1": "Z109-WS·2025-Y-BGS-0001", "R2": "Z109-WS·2025-Y-BGS-0002"}
    assert arrangement_state(archive)["rows"]["R2"]["published_version"] == 2


def _many(archive: Archive, n: int) -> None:
    for i in range(n):
        add_item(archive, f"P{i:03d}", date=f"2025-{i % 12 + 1:02d}-{i % 28 + 1:02d}", number=f"示政发〔2025〕{i}号")


def test_groups_on_the_worker_pool(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(arrange_publish, "PUBLISH_GROUP", 3)
    monkeypatch.setattr(changes, "POOL_FROM_GROUPS", 2)
    _many(archive, 10)
    plan = svc.arrange(archive, "Z109", 2025, actor="archivist")
    assert len(plan.changes) == 10 and svc.pending_count(archive) == 0
    assert {archive.store.head_version(f"P{i:03d}") for i in range(10)} == {2}
    assert len(actions(archive, "arrange.assigned")) == 10
    with archive.sessions() as session:
        intents = list((archive.settings.staging_dir / "intents").glob("*.json"))
        assert intents == [] and session.scalar(select(Arrangement.published_version).limit(1)) == 2


def test_interrupted_group_is_finished_without_a_second_version(archive: Archive, monkeypatch: pytest.MonkeyPatch) -> None:
    _many(archive, 4)
    svc.arrange(archive, "Z109", 2025, publish=False)

    def crash(*_args: Any, **_kwargs: Any) -> None:
        raise StorageError("模拟中断", "simulated crash after the store commits")

    with monkeypatch.context() as patch:
        patch.setattr(archive.audit, "append_many", crash)
        with pytest.raises(StorageError):
            svc.publish_pending(archive)
    assert svc.pending_count(archive) == 4  # the claim was rolled back with the transaction
    assert {archive.store.head_version(f"P{i:03d}") for i in range(4)} == {2}  # the versions reached the store
    intents = archive.settings.staging_dir / changes.CHANGE_INTENTS
    assert list(intents.glob("*.json"))  # the intent stayed behind
    recovered = recovery.recover(archive)  # start-up recovery finishes interrupted changes too
    assert recovered["completed"] == []  # not mistaken for an interrupted ingest
    done = recovered["changes"]
    assert sorted(done["completed"]) == [f"P{i:03d}" for i in range(4)] and done["rolled_back"] == []
    assert {archive.store.head_version(f"P{i:03d}") for i in range(4)} == {2}  # no second version
    assert svc.pending_count(archive) == 0 and len(actions(archive, "arrange.assigned")) == 4
    assert svc.publish_pending(archive) == 0
    assert not list(intents.glob("*.json"))
    with archive.sessions() as session:
        assert session.scalar(select(AuditEntry.seq).where(AuditEntry.action == "ingest.accepted")) is None
        assert session.scalar(select(Item.ocfl_version).where(Item.record_id == "P000")) == 2
    assert archive.audit.verify().ok


def test_a_half_moved_version_is_reconciled_by_the_next_publish(archive: Archive) -> None:
    add_item(archive, "R1")
    svc.arrange(archive, "Z109", 2025, publish=False)
    objdir = archive.store.object_path("R1")
    root_inventory = (objdir / "inventory.json").read_bytes(), (objdir / "inventory.json.sha512").read_bytes()
    svc.publish_pending(archive)
    (objdir / "inventory.json").write_bytes(root_inventory[0])  # crash between moving v2 and the root inventory
    (objdir / "inventory.json.sha512").write_bytes(root_inventory[1])
    with archive.session() as session:
        session.execute(update(Arrangement).values(pending=True))
    assert archive.store.head_version("R1") == 1
    assert svc.publish_pending(archive) == 1
    assert archive.store.head_version("R1") == 2 and svc.pending_count(archive) == 0
