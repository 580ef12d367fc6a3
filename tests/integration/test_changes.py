"""The one change path: every change to an archived item leaves store, catalogue, search index and
audit agreeing — 密级 changes, arrangement publish and correction, transfer marks — on SQLite and
PostgreSQL, and a failure after the store was written is repaired from the store at once."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select, text

from lantai.catalog.models import AuditEntry, Item
from lantai.domain.roles import Role
from lantai.services import arrange as arrange_svc
from lantai.services import changes, classification, search_index
from lantai.services.archive import Archive
from lantai.services.catalogue import dump_catalogue
from lantai.services.ingest import ingest_paths
from lantai.services.rebuild import rebuild_catalogue
from lantai.services.users import Principal
from tests.api.conftest import pdf_bytes
from tests.sipfactory import SipSpec, write_item

NUMBER = "示政发〔2025〕37号"
BODY = "全区财政专项资金56212万元"


def principal(role: Role, clearance: str, username: str = "someone") -> Principal:
    return Principal(1, username, username, frozenset({role}), clearance, via="cli")


SECADMIN = principal(Role.SECADMIN, "绝密", "secadmin")
READER = principal(Role.READER, "公开", "reader")


def ingest(archive: Archive, tmp: Path, record_id: str, **fields: str) -> None:
    spec = SipSpec(record_id, files={"正文.pdf": pdf_bytes(fields.pop("body", BODY))}, **fields)
    report = ingest_paths(archive, [write_item(tmp / record_id, spec)])
    assert report.items[0].status == "accepted", report.to_dict()


def index_rows(archive: Archive) -> dict[str, tuple[str, str]]:
    with archive.engine.connect() as conn:
        rows = conn.execute(text("SELECT record_id, archival_code, security_classification FROM search_docs"))
        return {r[0]: (r[1], r[2]) for r in rows}


def catalogue_rows(archive: Archive) -> dict[str, tuple[str, str]]:
    with archive.sessions() as session:
        rows = session.execute(select(Item.record_id, Item.archival_code, Item.security_classification))
        return {r[0]: (r[1], r[2]) for r in rows}


def assert_agree(archive: Archive) -> None:
    """Catalogue = a rebuild from the store; index = catalogue; no intent left; chain intact."""
    with archive.sessions() as session:
        before = dump_catalogue(session)["items"]
    assert index_rows(archive) == catalogue_rows(archive)
    assert not list(changes.intents_dir(archive).glob("*.json"))
    rebuild_catalogue(archive)
    with archive.sessions() as session:
        assert dump_catalogue(session)["items"] == before
    assert archive.audit.verify().ok


def hits(archive: Archive, query: str, clearance: str = "公开") -> tuple[int, dict]:
    result = search_index.search(archive, query, clearance=clearance, facets=True)
    return result.total, {k: v for k, v in result.facets.items() if v}


def test_raising_the_classification_hides_the_item_from_search_counts_and_facets(archive: Archive,
                                                                                tmp_path: Path) -> None:
    ingest(archive, tmp_path, "C-1", document_number=NUMBER)
    assert hits(archive, NUMBER)[0] == 1 and hits(archive, "56212万元")[0] == 1
    result = classification.change_classification(archive, SECADMIN, "C-1", "机密", "定密复核")
    assert result == {"record_id": "C-1", "from": "公开", "to": "机密", "version": 2}
    for query in (NUMBER, "56212万元", "财政专项资金"):
        assert hits(archive, query) == (0, {}), query  # not even a count or a facet
        assert hits(archive, query, clearance="机密")[0] == 1, query
    from lantai.services import catalogue_search

    assert catalogue_search.search(archive, READER, NUMBER)["total"] == 0
    assert index_rows(archive)["C-1"] == ("", "机密")
    with archive.sessions() as session:
        entry = session.scalars(select(AuditEntry).where(AuditEntry.action == "item.classified")).one()
        assert entry.target == "C-1" and '"ocfl_version": 2' in entry.details
    assert_agree(archive)


def test_lowering_it_again_makes_it_findable(archive: Archive, tmp_path: Path) -> None:
    ingest(archive, tmp_path, "C-2", document_number=NUMBER, security="秘密")
    assert hits(archive, NUMBER)[0] == 0
    classification.change_classification(archive, SECADMIN, "C-2", "公开", "解密")
    assert hits(archive, NUMBER)[0] == 1
    assert_agree(archive)


def test_arrangement_and_correction_reach_the_index(archive: Archive, tmp_path: Path) -> None:
    for n in (1, 2, 3):
        ingest(archive, tmp_path, f"A-{n}", document_number=f"示政发〔2025〕{n}号", date=f"2025-0{n}-10")
    arrange_svc.arrange(archive, "Z109", 2025, actor="archivist")
    indexed = index_rows(archive)
    assert {code for code, _level in indexed.values()} == {"Z109-WS·2025-Y-BGS-0001", "Z109-WS·2025-Y-BGS-0002",
                                                          "Z109-WS·2025-Y-BGS-0003"}
    assert_agree(archive)
    arrange_svc.file_arrangement(archive, "Z109", 2025, actor="archivist")
    arrange_svc.correct_arrangement(archive, "A-2", reason="保管期限定错", actor="archivist", retention="D30")
    code = catalogue_rows(archive)["A-2"][0]
    assert code.startswith("Z109-WS·2025-D30-") and index_rows(archive)["A-2"][0] == code
    assert [h.record_id for h in search_index.search(archive, code, clearance="公开").hits] == ["A-2"]
    assert_agree(archive)


def test_transfer_mark_is_a_change_like_any_other(archive: Archive, tmp_path: Path) -> None:
    ingest(archive, tmp_path, "T-1")
    data = b'{"transfer_id": "X"}'
    result = changes.commit_change(archive, changes.ItemChange("T-1", "system", "transfer.marked", "移交", files={
        "lantai/transfer.json": data}))
    assert result.version == 2 and result.written
    again = changes.commit_change(archive, changes.ItemChange("T-1", "system", "transfer.marked", "移交", files={
        "lantai/transfer.json": data}))
    assert again.version == 2 and not again.written  # the store already says it: no second version
    with archive.sessions() as session:
        assert session.scalar(select(Item.status).where(Item.record_id == "T-1")) == "transferred"
    assert_agree(archive)


def test_a_failed_catalogue_step_is_repaired_from_the_store_at_once(archive: Archive, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(archive, tmp_path, "F-1", document_number=NUMBER)

    def broken(*_args: object, **_kwargs: object) -> list[Item]:
        raise RuntimeError("catalogue write failed")

    with monkeypatch.context() as patch:
        patch.setattr(changes, "refresh_items", broken)
        with pytest.raises(RuntimeError):
            classification.change_classification(archive, SECADMIN, "F-1", "机密", "定密")
    assert archive.store.head_version("F-1") == 2
    assert catalogue_rows(archive)["F-1"] == ("", "机密") == index_rows(archive)["F-1"]
    assert hits(archive, NUMBER)[0] == 0
    with archive.sessions() as session:
        details = session.scalars(select(AuditEntry.details).where(AuditEntry.action == "item.classified")).one()
    assert '"recovered": true' in details
    assert_agree(archive)


def test_a_change_that_never_reached_the_store_is_rolled_back(archive: Archive, tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    ingest(archive, tmp_path, "F-2")
    prepared = changes.prepare_change(archive.store, changes.ItemChange("F-2", "system", "transfer.marked", "移交",
                                                                        files={"lantai/transfer.json": b"{}"}))
    changes.write_intent(archive, [prepared], "change")  # as if the process died right after the intent
    done = changes.recover_changes(archive)
    assert done["rolled_back"] == ["F-2"] and archive.store.head_version("F-2") == 1
    assert not prepared.version.staging_dir.exists()
    with archive.sessions() as session:
        assert session.scalar(select(AuditEntry.action).order_by(AuditEntry.seq.desc()).limit(1)) == "change.rolled_back"
    assert_agree(archive)


def test_a_change_prepared_before_another_writer_is_prepared_again(archive: Archive, tmp_path: Path) -> None:
    ingest(archive, tmp_path, "M-1", document_number=NUMBER)
    raise_it = classification.ClassificationChange("M-1", "secadmin", "item.classified", "密级变更", level="机密")
    early = changes.prepare_change(archive.store, raise_it)
    changes.commit_change(archive, changes.ItemChange("M-1", "system", "transfer.marked", "移交",
                                                      files={"lantai/transfer.json": b"{}"}))
    [result] = changes.commit_changes(archive, [early])
    assert result.error is None and result.version == 3 and not early.version.staging_dir.exists()
    with archive.sessions() as session:
        item = session.scalars(select(Item).where(Item.record_id == "M-1")).one()
        assert (item.status, item.security_classification, item.ocfl_version) == ("transferred", "机密", 3)
    assert hits(archive, NUMBER)[0] == 0
    assert_agree(archive)
