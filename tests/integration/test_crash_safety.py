"""Crash safety: SIGKILL a batch ingest at random moments, restart, check consistency, resume.

After every kill: the store passes the OCFL validator, recovery leaves the catalogue equal to a
fresh projection of the store, and re-running the batch completes it with no duplicates.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lantai.catalog.models import Item
from lantai.services.archive import init_archive, open_archive
from lantai.services.catalogue import dump_catalogue
from lantai.services.ingest import ingest_paths
from lantai.services.rebuild import rebuild_catalogue
from lantai.settings import Settings
from tests.conftest import PG_ENV, _create_pg_database, _drop_pg_database, cli_env
from tests.ocfl_validation import validate_store
from tests.sipfactory import specs, write_batch

pytestmark = pytest.mark.usefixtures("ingest_profile_off")

TRIALS = int(os.environ.get("LANTAI_CRASH_TRIALS", "20"))
ITEMS = 24


def _start_ingest(settings: Settings, batch: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-m", "lantai.cli.main", "ingest", str(batch), "--json"],
                            env=cli_env(settings), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)


def _trial_settings(tmp_path: Path, trial: int, backend: str) -> Settings:
    url = None
    if backend == "postgresql":
        url = _create_pg_database(os.environ[PG_ENV])
    return Settings(home=tmp_path / f"trial{trial}", database_url=url, fsync=True, workers=2)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_sigkill_during_batch_ingest_is_recoverable(tmp_path: Path, backend: str) -> None:
    if backend == "postgresql" and not os.environ.get(PG_ENV):
        pytest.skip(f"{PG_ENV} not set")
    batch = write_batch(tmp_path, specs(ITEMS, size=64 * 1024))
    rng = random.Random(20251125)
    # Measure how long an uninterrupted run takes so kills land across the whole run.
    probe = _trial_settings(tmp_path, 0, backend)
    init_archive(probe).close()
    started = time.monotonic()
    assert _start_ingest(probe, batch).wait(timeout=300) == 0
    full_run = time.monotonic() - started
    _cleanup(probe)
    killed_mid_commit = 0
    for trial in range(1, TRIALS + 1):
        settings = _trial_settings(tmp_path, trial, backend)
        try:
            init_archive(settings).close()
            proc = _start_ingest(settings, batch)
            if trial % 2:
                time.sleep(rng.uniform(0.05, 1.0) * full_run)  # anywhere, start-up included
            else:
                _wait_for_objects(settings, proc, rng.randint(1, ITEMS - 1))  # inside the commit loop
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=60)
            _wait_for_group_exit(proc.pid)
            killed_mid_commit += _check_and_resume(settings, batch)
        finally:
            _cleanup(settings)
    assert killed_mid_commit > 0, "no trial interrupted the batch part-way; kill timing is wrong"


def _wait_for_group_exit(pgid: int) -> None:
    """SIGKILL reaches every process of the group; wait until the kernel has reaped them all."""
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            os.killpg(pgid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.01)


def _wait_for_objects(settings: Settings, proc: subprocess.Popen[bytes], count: int) -> None:
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if sum(1 for _ in settings.store_root.glob("*/*/*/*/0=ocfl_object_1.1")) >= count:
            return
        time.sleep(0.005)


def _check_and_resume(settings: Settings, batch: Path) -> int:
    """Returns 1 when the kill left the batch part-done (the interesting case)."""
    with open_archive(settings) as archive:  # runs recovery
        assert validate_store(settings.store_root) == []
        stored = set(archive.store.iter_object_ids())
        with archive.sessions() as session:
            catalogued = set(session.scalars(select(Item.record_id)))
            before = dump_catalogue(session)["items"]
        assert catalogued == stored
        rebuild_catalogue(archive)
        with archive.sessions() as session:
            assert dump_catalogue(session)["items"] == before
        partial = 0 < len(stored) < ITEMS
        report = ingest_paths(archive, [batch])
        assert report.ok, report.to_dict()
        assert {i.status for i in report.items} <= {"accepted", "duplicate"}
        with archive.sessions() as session:
            assert session.scalar(select(func.count(Item.id))) == ITEMS
        assert len(set(archive.store.iter_object_ids())) == ITEMS
        assert archive.audit.verify().ok
        assert validate_store(settings.store_root) == []
    return int(partial)


def _cleanup(settings: Settings) -> None:
    if settings.database_url:
        _drop_pg_database(settings.database_url)
