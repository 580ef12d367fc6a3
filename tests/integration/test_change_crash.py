"""Crash safety of the one change path: SIGKILL each kind of change (密级 change, arrangement
publish, correction, transfer mark) at aimed points and at random moments, recover, and check
that store, catalogue, search index and audit agree — then that the work can be finished.

Aimed points (see change_driver.py): just after the intent appears, after a version reached the
store, after the audit journal was written (catalogue not committed), after the catalogue
committed (intent not cleared).
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from sqlalchemy import select, text

from lantai.catalog.arrangement import Arrangement
from lantai.catalog.models import AuditEntry, Item
from lantai.services import arrange, changes
from lantai.services.archive import Archive, init_archive, open_archive
from lantai.services.catalogue import _plain, dump_catalogue, project_stored
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings
from tests.conftest import PG_ENV, cli_env
from tests.integration.test_crash_safety import _cleanup, _trial_settings, _wait_for_group_exit
from tests.ocfl_validation import validate_store
from tests.sipfactory import SipSpec, write_item

DRIVER = Path(__file__).with_name("change_driver.py")
KINDS = ("classify", "arrange", "correct", "transfer")
POINTS = ("after_intent", "after_store", "after_journal", "after_catalogue")
RANDOM_TRIALS = int(os.environ.get("LANTAI_CHANGE_CRASH_TRIALS", "3"))  # per kind and backend
ITEMS = 7
CHANGE_ACTIONS = ("item.classified", "arrange.assigned", "arrange.corrected", "arrange.renumbered", "arrange.filed",
                  "transfer.marked")


def _prepare(settings: Settings, sips: Path, kind: str) -> None:
    with init_archive(settings) as archive:
        report = ingest_paths(archive, sorted(sips.iterdir()))
        assert report.ok, report.to_dict()
        if kind == "correct":
            arrange.arrange(archive, "Z109", 2025, actor="archivist")
            arrange.file_arrangement(archive, "Z109", 2025, actor="archivist")


def _run(settings: Settings, kind: str, point: str | None = None) -> subprocess.Popen[bytes]:
    args = [sys.executable, str(DRIVER), kind] + ([point] if point else [])
    return subprocess.Popen(args, env=cli_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            start_new_session=True)


def _sips(tmp_path: Path) -> Path:
    folder = tmp_path / "sips"
    for n in range(1, ITEMS + 1):
        spec = SipSpec(f"Z109-WS-2025-{n:05d}", document_number=f"示政发〔2025〕{n}号", date=f"2025-0{n}-1{n}")
        write_item(folder, spec)
    return folder


def _trial(settings: Settings, sips: Path, kind: str, point: str | None, delay: float | None) -> bool:
    """One kill and its checks; True when the kill interrupted the run (it did not finish)."""
    _prepare(settings, sips, kind)
    proc = _run(settings, kind, point)
    if delay is not None:
        time.sleep(delay)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=120)
    _wait_for_group_exit(proc.pid)
    interrupted = proc.returncode == -signal.SIGKILL
    assert interrupted or proc.returncode == 0, proc.stderr.read().decode() if proc.stderr else ""
    with open_archive(settings) as archive:  # start-up recovery
        check_agreement(archive)
        finished = _finish(archive, settings, kind)
        check_agreement(archive)
        assert finished
    return interrupted


def _finish(archive: Archive, settings: Settings, kind: str) -> bool:
    """The interrupted work can be completed: pending arrangements publish, a re-run succeeds."""
    if kind in ("arrange", "correct"):
        arrange.publish_pending(archive)
        with archive.sessions() as session:
            return not session.scalar(select(Arrangement.id).where(Arrangement.pending.is_(True)).limit(1))
    return True


def check_agreement(archive: Archive) -> None:
    """Store ↔ catalogue ↔ index ↔ audit after recovery."""
    assert validate_store(archive.settings.store_root) == []
    assert not list(changes.intents_dir(archive).glob("*.json")), "an intent survived recovery"
    with archive.sessions() as session:
        items = {i.record_id: i for i in session.scalars(select(Item))}
        before = dump_catalogue(session)["items"]
        entries = [(a.target, json.loads(a.details)) for a in session.scalars(
            select(AuditEntry).where(AuditEntry.action.in_(CHANGE_ACTIONS)))]
    with archive.engine.connect() as conn:
        indexed = {r[0]: (r[1], r[2]) for r in conn.execute(
            text("SELECT record_id, archival_code, security_classification FROM search_docs"))}
    assert indexed == {rid: (i.archival_code, i.security_classification) for rid, i in items.items()}
    heads = {rid: archive.store.head_version(rid) for rid in items}
    assert {rid: i.ocfl_version for rid, i in items.items()} == heads
    audited = Counter((target, details["ocfl_version"]) for target, details in entries)
    versions = Counter((rid, v) for rid, head in heads.items() for v in range(2, (head or 1) + 1))
    assert audited == versions, "each new version is audited exactly once"
    assert archive.audit.verify().ok
    assert before == [projected(archive, rid) for rid in sorted(items)]  # the catalogue is what the store says


def projected(archive: Archive, record_id: str) -> dict:
    """An item as a fresh projection of its stored object, in :func:`dump_catalogue`'s shape
    (rebuild itself would first publish pending arrangements)."""
    p = project_stored(archive.store, record_id)
    row = {k: _plain(v) for k, v in p.item.items()}
    row["files"] = sorted(p.files, key=lambda f: f["logical_path"])
    row["versions"], row["events"] = p.versions, sorted(p.events, key=lambda e: e["seq"])
    return row


def _durations(tmp_path: Path, sips: Path, backend: str) -> dict[str, float]:
    """How long an uninterrupted run of each kind takes, so random kills land across the run."""
    found = {}
    for kind in KINDS:
        settings = _trial_settings(tmp_path, f"probe-{kind}", backend)
        try:
            _prepare(settings, sips, kind)
            started = time.monotonic()
            proc = _run(settings, kind)
            assert proc.wait(timeout=300) == 0, proc.stderr.read().decode() if proc.stderr else ""
            found[kind] = time.monotonic() - started
            with open_archive(settings) as archive:
                check_agreement(archive)
        finally:
            _cleanup(settings)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_each_kind_of_change_is_recoverable(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql" and not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} not set")
    sips = _sips(tmp_path)
    seed = int(os.environ.get("LANTAI_CHANGE_CRASH_SEED", "20251203"))
    print(f"change crash trials: seed {seed}")
    rng = random.Random(seed)
    durations = _durations(tmp_path, sips, backend)
    interrupted: Counter[str] = Counter()
    trial = 0
    for kind in KINDS:
        plans = [(point, None) for point in POINTS] + [(None, rng.uniform(0.3, 1.0) * durations[kind])
                                                       for _ in range(RANDOM_TRIALS)]
        for point, delay in plans:
            trial += 1
            settings = _trial_settings(tmp_path, f"{kind}-{trial}", backend)
            try:
                if _trial(settings, sips, kind, point, delay):
                    interrupted[kind] += 1
            finally:
                _cleanup(settings)
        assert interrupted[kind] >= len(POINTS), f"{kind}: the aimed kills did not all land"
