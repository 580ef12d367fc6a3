"""The audit chain detects any change, deletion, insertion or reordering, in journal or catalogue."""

from __future__ import annotations

import json

from sqlalchemy import text

from lantai.services.archive import Archive


def _fill(archive: Archive, n: int = 6) -> None:
    for i in range(n):
        archive.audit.append(f"user{i}", "item.viewed", f"R-{i}", {"n": i, "备注": "查看"})


def _lines(archive: Archive) -> list[str]:
    return archive.settings.audit_journal.read_text(encoding="utf-8").splitlines()


def _write(archive: Archive, lines: list[str]) -> None:
    archive.settings.audit_journal.write_text("\n".join(lines) + "\n", encoding="utf-8")


def test_intact_chain_verifies(archive: Archive) -> None:
    _fill(archive)
    report = archive.audit.verify()
    assert report.ok, report.problems
    assert report.entries == 7  # archive.init + 6


def test_changed_entry_is_named(archive: Archive) -> None:
    _fill(archive)
    lines = _lines(archive)
    entry = json.loads(lines[3])
    entry["actor"] = "mallory"
    lines[3] = json.dumps(entry, ensure_ascii=False)
    _write(archive, lines)
    report = archive.audit.verify()
    assert not report.ok and report.first_bad_seq == 4


def test_deleted_entry_is_named(archive: Archive) -> None:
    _fill(archive)
    lines = _lines(archive)
    del lines[2]
    _write(archive, lines)
    assert archive.audit.verify().first_bad_seq == 3


def test_reordered_entries_are_detected(archive: Archive) -> None:
    _fill(archive)
    lines = _lines(archive)
    lines[2], lines[3] = lines[3], lines[2]
    _write(archive, lines)
    assert archive.audit.verify().first_bad_seq == 3


def test_inserted_entry_is_detected_even_with_recomputed_hash(archive: Archive) -> None:
    from lantai.services.audit import entry_hash

    _fill(archive)
    lines = _lines(archive)
    prev = json.loads(lines[1])
    forged = {"seq": 3, "time": prev["time"], "actor": "x", "action": "item.deleted", "target": "R-0", "details": {},
              "prev_hash": prev["hash"]}
    forged["hash"] = entry_hash(**forged)
    lines.insert(2, json.dumps(forged, ensure_ascii=False))
    _write(archive, lines)
    report = archive.audit.verify()
    assert not report.ok
    assert report.first_bad_seq is not None and report.first_bad_seq <= 4


def test_tampered_catalogue_copy_is_detected(archive: Archive) -> None:
    _fill(archive)
    with archive.session() as session:
        session.execute(text("UPDATE audit_entries SET actor = 'mallory' WHERE seq = 5"))
    report = archive.audit.verify()
    assert not report.ok and report.first_bad_seq == 5


def test_truncated_journal_is_detected_by_catalogue_copy(archive: Archive) -> None:
    _fill(archive)
    _write(archive, _lines(archive)[:-2])
    report = archive.audit.verify()
    assert not report.ok and report.first_bad_seq == 6


def test_catalogue_copy_is_restored_from_journal(archive: Archive) -> None:
    _fill(archive)
    with archive.session() as session:
        session.execute(text("DELETE FROM audit_entries WHERE seq IN (2, 3)"))
    assert archive.audit.sync_catalogue() == 2
    assert archive.audit.verify().ok
