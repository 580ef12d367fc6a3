"""Rewrites of the audit chain that recompute every hash are still detected (issue #15 point 4).

Each test rewrites the journal and/or the catalogue copy the way an attacker with write access to
the archive's files and database would, and checks that verification names the first bad entry
or the missing range. The attacker either lacks the archive key (the per-entry MAC gives him
away) or holds it (only the signed checkpoints, stored or exported, give him away).
"""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from lantai.crypto import sm2
from lantai.services import audit_checkpoints
from lantai.services.archive import Archive, init_archive, open_archive
from lantai.services.audit import GENESIS_HASH, JOURNAL_GAP, TAIL_QUARANTINED, entry_hash, entry_mac
from lantai.settings import Settings
from tests.conftest import cli_env

EVERY = 3  # a checkpoint every 3 entries: with archive.init + 8 entries they sit at 1, 4 and 7


@pytest.fixture
def anchored(settings: Settings) -> Iterator[Archive]:
    archive = init_archive(settings.model_copy(update={"audit_checkpoint_every": EVERY}))
    try:
        for i in range(8):
            archive.audit.append(f"user{i}", "item.viewed", f"R-{i}", {"n": i})
        yield archive
    finally:
        archive.close()


def _lines(archive: Archive) -> list[dict]:
    return [json.loads(line) for line in archive.settings.audit_journal.read_text(encoding="utf-8").splitlines()]


def _write(archive: Archive, entries: list[dict]) -> None:
    text_ = "".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries)
    archive.settings.audit_journal.write_text(text_, encoding="utf-8")


def _stolen_mac_key(archive: Archive) -> bytes:
    keypair = archive.audit.keypair()
    assert keypair is not None
    return hashlib.new("sm3", b"lantai-audit-mac\x00" + keypair.private_key).digest()


def _forge(seq: int, prev_hash: str, *, key: bytes | None = None, actor: str = "mallory") -> dict:
    entry = {"seq": seq, "time": "2026-01-01T00:00:00.000000Z", "actor": actor, "action": "item.deleted",
             "target": "R-0", "details": {}, "prev_hash": prev_hash}
    entry["hash"] = entry_hash(**entry)
    entry["mac"] = entry_mac(key, entry["hash"]) if key else ""
    return entry


def _rechain(entries: list[dict], *, key: bytes | None) -> list[dict]:
    """Renumber and recompute every hash (and, with the key, every MAC) from the first entry on."""
    prev, out = GENESIS_HASH, []
    for seq, old in enumerate(entries, start=1):
        entry = {k: old[k] for k in ("time", "actor", "action", "target", "details")}
        entry.update(seq=seq, prev_hash=prev)
        entry["hash"] = entry_hash(**entry)
        entry["mac"] = entry_mac(key, entry["hash"]) if key else old.get("mac", "")
        prev = entry["hash"]
        out.append(entry)
    return out


def _replace_catalogue(archive: Archive, entries: list[dict]) -> None:
    with archive.session() as session:
        session.execute(text("DELETE FROM audit_entries"))
        for e in entries:
            _insert_row(session, e)


def _insert_row(session, e: dict) -> None:  # type: ignore[no-untyped-def]
    session.execute(text("INSERT INTO audit_entries (seq, time, actor, action, target, details, prev_hash, hash) "
                         "VALUES (:seq, :time, :actor, :action, :target, :details, :prev_hash, :hash)"),
                    {**{k: e[k] for k in ("seq", "time", "actor", "action", "target", "prev_hash", "hash")},
                     "details": json.dumps(e["details"], ensure_ascii=False, sort_keys=True)})


def _problems(report) -> set[str]:  # type: ignore[no-untyped-def]
    return {p["problem"] for p in report.problems}


def test_intact_anchored_chain_verifies(anchored: Archive) -> None:
    report = anchored.audit.verify()
    assert report.ok, report.problems
    assert report.entries == 9
    assert report.checkpoints["valid"] == 3 and report.checkpoints["last_seq"] == 7
    assert report.checkpoints["entries_after_last"] == 2


def test_forged_entry_appended_to_the_journal_is_named(anchored: Archive) -> None:
    entries = _lines(anchored)
    _write(anchored, [*entries, _forge(10, entries[-1]["hash"])])
    report = anchored.audit.verify()
    assert report.first_bad_seq == 10 and "forged" in _problems(report)


def test_forged_entry_appended_to_journal_and_catalogue_is_named(anchored: Archive) -> None:
    entries = _lines(anchored)
    forged = _forge(10, entries[-1]["hash"])
    _write(anchored, [*entries, forged])
    with anchored.session() as session:
        _insert_row(session, forged)
    report = anchored.audit.verify()
    assert report.first_bad_seq == 10 and "forged" in _problems(report)


def test_forged_entry_appended_to_the_catalogue_only_is_named(anchored: Archive) -> None:
    with anchored.session() as session:
        _insert_row(session, _forge(10, _lines(anchored)[-1]["hash"]))
    report = anchored.audit.verify()
    assert report.first_bad_seq == 10
    assert {"where": "journal", "from": 10, "to": 10} in report.missing


def test_cutting_the_tail_from_journal_and_catalogue_together_names_the_range(anchored: Archive) -> None:
    _write(anchored, _lines(anchored)[:4])
    with anchored.session() as session:
        session.execute(text("DELETE FROM audit_entries WHERE seq > 4"))
    report = anchored.audit.verify()
    assert not report.ok and report.first_bad_seq == 5
    assert {"where": "journal", "from": 5, "to": 7} in report.missing  # the checkpoint at 7 proves them
    assert {"where": "catalogue", "from": 5, "to": 7} in report.missing


def test_closing_the_archive_anchors_its_last_entries(settings: Settings) -> None:
    with init_archive(settings) as archive:  # default interval: no periodic checkpoint after the first
        for i in range(5):
            archive.audit.append("cli", "item.viewed", f"R-{i}")
    with open_archive(settings) as archive:
        assert archive.audit.verify().checkpoints["last_seq"] == 6
        _write(archive, _lines(archive)[:4])
        with archive.session() as session:
            session.execute(text("DELETE FROM audit_entries WHERE seq > 4"))
        report = archive.audit.verify()
        assert report.first_bad_seq == 5 and {"where": "journal", "from": 5, "to": 6} in report.missing


def test_erasing_and_rechaining_without_the_key_names_the_first_rewritten_entry(anchored: Archive) -> None:
    entries = _lines(anchored)
    rechained = _rechain(entries[:2] + entries[4:], key=None)  # erase entries 3 and 4
    _write(anchored, rechained)
    _replace_catalogue(anchored, rechained)
    report = anchored.audit.verify()
    forged = [p for p in report.problems if p["problem"] == "forged"]
    assert forged and forged[0]["seq"] == 3  # the journal names the entry exactly (its MAC)
    assert report.first_bad_seq == 2  # the catalogue's range: after checkpoint 1, up to checkpoint 4
    rechained = next(p for p in report.problems if p["problem"] == "rechained")
    assert (rechained["seq"], rechained["from"], rechained["to"]) == (2, 2, 4)


def test_erasing_and_rechaining_with_the_key_is_caught_by_the_checkpoints(anchored: Archive) -> None:
    key = _stolen_mac_key(anchored)
    entries = _lines(anchored)
    rechained = _rechain(entries[:2] + entries[4:], key=key)
    _write(anchored, rechained)
    _replace_catalogue(anchored, rechained)
    report = anchored.audit.verify()
    assert not report.ok and report.first_bad_seq == 2  # after checkpoint 1, the last one still agreeing
    rechained_problems = [p for p in report.problems if p["problem"] == "rechained"]
    assert rechained_problems and rechained_problems[0]["from"] == 2 and rechained_problems[0]["to"] == 4


def test_an_exported_checkpoint_catches_what_the_stored_ones_no_longer_can(anchored: Archive, tmp_path: Path) -> None:
    exported = anchored.audit.checkpoint()  # the auditor keeps this outside the archive
    key = _stolen_mac_key(anchored)
    shutil.rmtree(anchored.settings.audit_checkpoints)  # the attacker removes the stored anchors too
    entries = _lines(anchored)
    rechained = _rechain(entries[:2] + entries[4:], key=key)
    rechained += [_forge(8, rechained[-1]["hash"], key=key)]
    rechained += [_forge(9, rechained[-1]["hash"], key=key)]  # same length as before
    _write(anchored, rechained)
    _replace_catalogue(anchored, rechained)
    assert anchored.audit.verify().ok  # nothing inside the archive can tell any more
    report = anchored.audit.verify(against=[exported])
    assert not report.ok and report.first_bad_seq == 1
    assert "rechained" in _problems(report)


def test_deleting_journal_and_catalogue_names_the_range_the_checkpoints_prove(anchored: Archive) -> None:
    anchored.settings.audit_journal.unlink()
    _replace_catalogue(anchored, [])
    report = anchored.audit.verify()
    assert not report.ok and report.first_bad_seq == 1
    assert {"where": "journal", "from": 1, "to": 7} in report.missing


def test_deleting_everything_is_not_an_empty_ok_chain(anchored: Archive) -> None:
    exported = anchored.audit.checkpoint()
    anchored.settings.audit_journal.unlink()
    _replace_catalogue(anchored, [])
    shutil.rmtree(anchored.settings.audit_checkpoints)
    report = anchored.audit.verify()
    assert not report.ok and report.first_bad_seq == 1 and "empty" in _problems(report)
    against = anchored.audit.verify(against=[exported])
    assert {"where": "journal", "from": 1, "to": 9} in against.missing


def test_a_forged_or_foreign_checkpoint_is_reported(anchored: Archive) -> None:
    path = anchored.settings.audit_checkpoints / audit_checkpoints.file_name(7)
    data = json.loads(path.read_text(encoding="utf-8"))
    data["head_hash"] = "0" * 64
    path.write_text(json.dumps(data), encoding="utf-8")
    report = anchored.audit.verify()
    assert report.first_bad_seq == 7 and "checkpoint_signature" in _problems(report)
    foreign = audit_checkpoints.sign(sm2.generate_keypair(), 9, _lines(anchored)[-1]["hash"], "t", "other")
    report = anchored.audit.verify(against=[foreign])
    assert [p for p in report.problems if p["problem"] == "checkpoint_signature" and p.get("source") == "against"]


def test_a_deleted_journal_continues_after_the_catalogue_and_journals_the_gap(anchored: Archive) -> None:
    anchored.settings.audit_journal.unlink()
    record = anchored.audit.append("cli", "item.viewed", "R-9")
    assert record.seq == 11  # after 1..9 in the catalogue and the gap entry at 10, never 1 again
    first = _lines(anchored)[0]
    assert first["action"] == JOURNAL_GAP and first["details"]["missing_from"] == 1
    assert first["details"]["missing_to"] == 9
    report = anchored.audit.verify()
    assert report.first_bad_seq == 1 and {"where": "journal", "from": 1, "to": 9} in report.missing


def test_a_journal_shorter_than_the_catalogue_appends_without_collision(anchored: Archive) -> None:
    _write(anchored, _lines(anchored)[:-2])
    report = anchored.audit.verify()
    assert report.first_bad_seq == 8 and {"where": "journal", "from": 8, "to": 9} in report.missing
    assert anchored.audit.append("cli", "item.viewed", "R-10").seq == 11
    assert anchored.audit.verify().first_bad_seq == 8


def test_a_torn_tail_is_reported_then_quarantined_and_journalled(settings: Settings, anchored: Archive) -> None:
    journal = anchored.settings.audit_journal
    with open(journal, "ab") as fh:
        fh.write(b'{"seq": 10, "time": "2026')  # a write cut short by a crash
    report = anchored.audit.verify()
    assert report.first_bad_seq == 10 and "torn_tail" in _problems(report)
    assert len(list(anchored.audit.iter_journal())) == 10  # readers do not crash on it
    anchored.close()
    with open_archive(settings.model_copy(update={"audit_checkpoint_every": EVERY})) as reopened:
        quarantined = list((journal.parent / "quarantine").iterdir())
        assert len(quarantined) == 1 and quarantined[0].read_bytes() == b'{"seq": 10, "time": "2026'
        last = reopened.audit.last_record()
        assert last is not None and last.seq == 10 and last.action == TAIL_QUARANTINED
        assert last.details["bytes"] == 25 and last.details["after_seq"] == 9
        assert reopened.audit.verify().ok


# --- the command line: exit codes, JSON, no tracebacks -------------------------------------------
def _lantai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_env(settings), "LANTAI_AUDIT_CHECKPOINT_EVERY": str(EVERY)}
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=env, capture_output=True,
                          text=True, timeout=120)


def test_cli_reports_deletions_and_torn_tails_with_exit_1(settings: Settings, anchored: Archive, tmp_path: Path) -> None:
    exported = tmp_path / "cp.json"
    result = _lantai(settings, "audit", "checkpoint", "export", "-o", str(exported), "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["seq"] == 9
    assert _lantai(settings, "audit", "verify", "--against", str(exported)).returncode == 0

    anchored.settings.audit_journal.write_bytes(b'{"seq": 1, "ti')  # cut to a torn first line
    result = _lantai(settings, "audit", "verify", "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert json.loads(result.stdout)["problems"][0]["problem"] == "torn_tail"

    anchored.settings.audit_journal.unlink()
    _replace_catalogue(anchored, [])
    shutil.rmtree(anchored.settings.audit_checkpoints)
    result = _lantai(settings, "audit", "verify", "--against", str(exported), "--json")
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    report = json.loads(result.stdout)
    assert report["first_bad_seq"] == 1 and {"where": "journal", "from": 1, "to": 9} in report["missing"]
    human = _lantai(settings, "audit", "verify", "--against", str(exported))
    assert human.returncode == 1 and "审计链被破坏" in human.stdout

    bad = tmp_path / "not-a-checkpoint.json"
    bad.write_text("{}", encoding="utf-8")
    assert _lantai(settings, "audit", "verify", "--against", str(bad)).returncode == 2


# -- an archive of an earlier release: entries written before they carried a MAC --------------------

@pytest.fixture
def legacy(settings: Settings) -> Iterator[Settings]:
    """A journal as the previous release left it: hash-chained entries, no MACs, no checkpoints."""
    archive = init_archive(settings)
    for i in range(5):
        archive.audit.append(f"user{i}", "item.viewed", f"R-{i}", {"n": i})
    archive.close()
    entries = _lines(archive)
    for entry in entries:
        entry.pop("mac", None)
    _write(archive, entries)
    shutil.rmtree(archive.settings.audit_journal.parent / "checkpoints")
    yield settings


def test_an_upgraded_archive_adopts_its_unmacd_entries_once_and_verifies(legacy: Settings) -> None:
    with open_archive(legacy) as archive:
        report = archive.audit.verify()
        assert report.ok, report.to_dict()
        adopted = [e for e in _lines(archive) if e["action"] == "audit.legacy_adopted"]
        assert len(adopted) == 1 and adopted[0]["details"]["through"] >= 6
        archive.audit.append("later", "item.viewed", "R-9", {})
    with open_archive(legacy) as archive:  # a second start adopts nothing more
        assert sum(e["action"] == "audit.legacy_adopted" for e in _lines(archive)) == 1
        assert archive.audit.verify().ok


def test_macs_cannot_be_stripped_after_adoption(legacy: Settings) -> None:
    with open_archive(legacy) as archive:
        archive.audit.append("later", "item.viewed", "R-9", {})
        entries = _lines(archive)
        stripped = entries[-1]["seq"]
        entries[-1].pop("mac")
        _write(archive, entries)
        report = archive.audit.verify()
    assert not report.ok
    assert any(p["seq"] == stripped and p["problem"] == "forged" for p in report.problems), report.to_dict()


def test_a_tampered_legacy_prefix_is_not_adopted(legacy: Settings) -> None:
    journal = legacy.audit_journal
    entries = [json.loads(line) for line in journal.read_text(encoding="utf-8").splitlines()]
    entries[2]["actor"] = "mallory"
    journal.write_text("".join(json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n" for e in entries),
                       encoding="utf-8")
    with open_archive(legacy) as archive:
        assert not any(e["action"] == "audit.legacy_adopted" for e in _lines(archive))
        report = archive.audit.verify()
    assert not report.ok and report.first_bad_seq == 3


def test_an_unadopted_legacy_journal_is_noted_not_called_forged(legacy: Settings) -> None:
    with open_archive(legacy, recover=False) as archive:  # what `lantai audit verify` opens
        report = archive.audit.verify()
    assert report.ok, report.to_dict()
    assert any("旧版本写入" in note for note in report.notes)


def test_a_mac_less_entry_after_macd_ones_is_forged(anchored: Archive) -> None:
    entries = _lines(anchored)
    entries[4].pop("mac")
    _write(anchored, entries)
    report = anchored.audit.verify()
    assert report.first_bad_seq == entries[4]["seq"]
