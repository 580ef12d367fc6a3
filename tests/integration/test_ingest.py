"""Ingest end to end on both catalogue backends: accepted, duplicate, conflict, batches, inline data."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lantai.catalog.models import Batch, Item, ItemFile
from lantai.services.archive import Archive
from lantai.services.catalogue import dump_catalogue
from lantai.services.ingest import ingest_paths
from lantai.services.rebuild import rebuild_catalogue
from tests.ocfl_validation import validate_store
from tests.sipfactory import SipSpec, specs, write_batch, write_item, zip_item

# Ingest mechanics on synthetic bytes (layout, idempotency, inline data, windows): these random bytes are
# no valid PDF/OFD, so the DA/T 70 profile is off in this module only; verdicts on real 公文 are tested
# with the default profile and clamd in test_ingest_verdicts.py and test_ingest_gd_profile.py.


@pytest.fixture(autouse=True)
def _ingest_mechanics_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Autouse, so it is set before ``settings`` reads the environment."""
    monkeypatch.setenv("LANTAI_INGEST_PROFILE", "off")


def _items(archive: Archive) -> int:
    with archive.sessions() as session:
        return session.scalar(select(func.count(Item.id))) or 0


def _actions(archive: Archive) -> list[str]:
    return [r.action for r in archive.audit.iter_journal()]


def test_item_directory_is_archived(archive: Archive, tmp_path: Path) -> None:
    spec = SipSpec("Z109-WS-2025-00001", files={"正文.pdf": b"%PDF-1.7 main", "附件/附件1.xlsx": b"PK table"})
    report = ingest_paths(archive, [write_item(tmp_path / "in", spec)], actor="tester")
    assert report.ok, report.to_dict()
    assert report.items[0].status == "accepted"
    store_files = {f.logical_path for f in archive.store.files(spec.record_id)}
    assert {"content/正文.pdf", "content/附件/附件1.xlsx", "metadata/元数据.xml", "metadata/过程信息.xml",
            "submission/manifest-sm3.txt", "lantai/ingest.json"} <= store_files
    assert archive.store.read_bytes(spec.record_id, "content/正文.pdf") == b"%PDF-1.7 main"
    with archive.sessions() as session:
        item = session.scalar(select(Item).where(Item.record_id == spec.record_id))
        assert item.title == spec.title and item.year == 2025 and item.security_classification == "公开"
        assert item.file_count == 2 and item.total_bytes == len(b"%PDF-1.7 main") + len(b"PK table")
        assert [e.activity for e in item.events] == ["拟稿", "核稿", "签发"]
        assert item.events[0].agent == "张伟"
    assert "ingest.accepted" in _actions(archive)
    assert validate_store(archive.settings.store_root) == []
    assert archive.audit.verify().ok


def test_zip_items_with_and_without_top_directory(archive: Archive, tmp_path: Path) -> None:
    a = zip_item(write_item(tmp_path / "a", SipSpec("Z-A")), tmp_path / "a.zip", top_dir=True)
    b = zip_item(write_item(tmp_path / "b", SipSpec("Z-B")), tmp_path / "b.zip", top_dir=False)
    report = ingest_paths(archive, [a, b])
    assert [i.status for i in report.items] == ["accepted", "accepted"], report.to_dict()


class _GbkZipInfo(zipfile.ZipInfo):
    """Writes the name as raw GBK without the UTF-8 flag, as Chinese Windows zip tools do."""

    def _encodeFilenameFlags(self):  # type: ignore[no-untyped-def]
        return self.filename.encode("gbk"), self.flag_bits & ~0x800


def test_gbk_names_inside_zip_are_decoded(archive: Archive, tmp_path: Path) -> None:
    spec = SipSpec("Z-GBK", files={"正文.pdf": b"%PDF-1.7 gbk"}, manifest=None)
    item = write_item(tmp_path / "src", spec)
    target = tmp_path / "gbk.zip"
    with zipfile.ZipFile(target, "w") as zf:
        for path in item.iterdir():
            zf.writestr(_GbkZipInfo(path.name), path.read_bytes())
    report = ingest_paths(archive, [target])
    assert report.items[0].status == "accepted", report.to_dict()
    assert archive.store.read_bytes("Z-GBK", "content/正文.pdf") == b"%PDF-1.7 gbk"


def test_resubmission_is_a_noop_and_different_content_a_conflict(archive: Archive, tmp_path: Path) -> None:
    spec = SipSpec("Z-DUP", files={"正文.pdf": b"%PDF-1.7 original"})
    first = ingest_paths(archive, [write_item(tmp_path / "1", spec)])
    again = ingest_paths(archive, [write_item(tmp_path / "2", spec)])
    changed = ingest_paths(archive, [write_item(tmp_path / "3", SipSpec("Z-DUP", files={"正文.pdf": b"%PDF-1.7 other!"}))])
    assert first.items[0].status == "accepted"
    assert again.items[0].status == "duplicate" and again.ok
    assert changed.items[0].status == "conflict" and not changed.ok
    assert archive.store.head_version("Z-DUP") == 1
    assert archive.store.read_bytes("Z-DUP", "content/正文.pdf") == b"%PDF-1.7 original"
    assert _items(archive) == 1
    assert {"ingest.duplicate", "ingest.conflict"} <= set(_actions(archive))


def test_same_content_with_changed_metadata_is_a_conflict_naming_the_elements(archive: Archive,
                                                                              tmp_path: Path) -> None:
    files = {"正文.pdf": b"%PDF-1.7 original"}
    assert ingest_paths(archive, [write_item(tmp_path / "1", SipSpec("Z-META", files=files))]).ok
    changed = SipSpec("Z-META", files=files, title="关于另一项工作的通知", security="内部")
    report = ingest_paths(archive, [write_item(tmp_path / "2", changed)])
    outcome = report.items[0]
    assert outcome.status == "conflict" and not report.ok
    elements = {f.element.rsplit("/", 1)[-1] for f in outcome.findings}
    assert {"题名", "密级"} <= elements, elements
    assert "题名" in outcome.message and "密级" in outcome.message
    assert archive.store.head_version("Z-META") == 1
    with archive.sessions() as session:
        assert session.scalar(select(Item.title).where(Item.record_id == "Z-META")) == SipSpec("Z-META").title
    again = ingest_paths(archive, [write_item(tmp_path / "3", SipSpec("Z-META", files=files))])
    assert again.items[0].status == "duplicate"  # the original submission is still a no-op


def test_inline_base64_data_is_extracted_byte_identical(archive: Archive, tmp_path: Path) -> None:
    payload = os.urandom(300_000)
    spec = SipSpec("Z-INLINE", files={"正文.pdf": payload, "说明.txt": "附注".encode()}, inline={"正文.pdf"})
    report = ingest_paths(archive, [write_item(tmp_path, spec)])
    assert report.items[0].status == "accepted", report.to_dict()
    assert archive.store.read_bytes("Z-INLINE", "content/正文.pdf") == payload
    stored_metadata = archive.store.read_bytes("Z-INLINE", "metadata/元数据.xml")
    assert len(stored_metadata) < 20_000  # the base64 text is not kept twice
    ingest_record = json.loads(archive.store.read_bytes("Z-INLINE", "lantai/ingest.json"))
    assert ingest_record["inline_data_extracted"] is True


def test_batch_is_archived_with_register_totals(archive: Archive, tmp_path: Path) -> None:
    batch = write_batch(tmp_path, specs(6))
    report = ingest_paths(archive, [batch])
    assert report.ok, report.to_dict()
    assert report.counts()["accepted"] == 6
    with archive.sessions() as session:
        row = session.scalar(select(Batch))
        assert (row.declared_items, row.actual_items, row.status) == (6, 6, "complete")
        assert row.declared_bytes == row.actual_bytes


def test_batch_larger_than_the_window_in_flight_commits_every_item_once(archive: Archive, tmp_path: Path) -> None:
    """More items than the workers hold at once (workers × IN_FLIGHT_PER_WORKER) and than a group."""
    from lantai.services import ingest

    count = archive.settings.workers * ingest.IN_FLIGHT_PER_WORKER + ingest.GROUP_MAX_ITEMS + 3
    items = [SipSpec(f"Z-WIN-{i:03d}", files={"正文.pdf": b"%PDF-1.7 " + os.urandom(64)}) for i in range(count)]
    items[7].declared_sizes = {"正文.pdf": 1}  # one bad item somewhere in the middle
    paths = [write_item(tmp_path / "in", spec) for spec in items]
    report = ingest_paths(archive, paths)
    assert sorted(o.source for o in report.items) == sorted(p.name for p in paths)  # each exactly once
    assert report.counts() == {"accepted": count - 1, "duplicate": 0, "rejected": 1, "conflict": 0}
    assert _items(archive) == count - 1
    assert sorted(archive.store.iter_object_ids()) == sorted(s.record_id for s in items if s is not items[7])
    again = ingest_paths(archive, paths)  # resubmitting: every accepted item is a duplicate
    assert again.counts()["duplicate"] == count - 1 and _items(archive) == count - 1


def test_register_that_disagrees_rejects_the_whole_batch(archive: Archive, tmp_path: Path) -> None:
    report = ingest_paths(archive, [write_batch(tmp_path, specs(3), count_delta=1)])
    assert not report.ok
    assert report.batches[0]["status"] == "rejected" and "2-1" in report.batches[0]["message"]
    assert _items(archive) == 0
    assert list(archive.store.iter_object_ids()) == []
    assert "batch.rejected" in _actions(archive)


def test_rebuild_reproduces_the_catalogue(archive: Archive, tmp_path: Path) -> None:
    ingest_paths(archive, [write_batch(tmp_path, specs(4))])
    ingest_paths(archive, [write_item(tmp_path / "single", SipSpec("Z-SINGLE"))])
    with archive.sessions() as session:
        before = dump_catalogue(session)
    rebuild_catalogue(archive)
    with archive.sessions() as session:
        after = dump_catalogue(session)
        assert session.scalar(select(func.count(ItemFile.id))) > 0
    assert after["items"] == before["items"]
    assert after["batches"] == before["batches"]
    assert after["audit"][: len(before["audit"])] == before["audit"]
    assert after["audit"][-1]["action"] == "catalogue.rebuilt"


def test_batch_with_large_inline_data_counts_and_ingests(archive: Archive, tmp_path: Path) -> None:
    big = os.urandom(12 * 1024 * 1024)  # over libxml2's 10 MB text-node limit without huge_tree
    batch_specs = [SipSpec("Z-BIG-INLINE", files={"正文.pdf": big}, inline={"正文.pdf"}), *specs(2)]
    report = ingest_paths(archive, [write_batch(tmp_path, batch_specs)])
    assert report.ok, report.to_dict()
    assert archive.store.read_bytes("Z-BIG-INLINE", "content/正文.pdf") == big
