"""SQLite catalogue on a full disk (issue 17, point 9): a clear message in Chinese and English, no
traceback, and once space is back the archive is consistent (store and catalogue agree).

Runs the catalogue on a real 3 MB tmpfs (needs root, as CI has; skipped otherwise) and fills it.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    if os.geteuid() != 0 or subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(mount)],
                                           capture_output=True).returncode != 0:
        pytest.skip("needs root to mount a small tmpfs")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def _fill(directory: Path) -> Path:
    filler = directory / "filler"
    with open(filler, "wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)
    return filler


def _lantai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=cli_env(settings),
                          capture_output=True, text=True, timeout=300)


def test_full_disk_under_the_sqlite_catalogue(small_disk: Path, tmp_path: Path) -> None:
    settings = Settings(home=tmp_path / "archive", database_url=f"sqlite:///{small_disk / 'catalog.sqlite3'}",
                        fsync=False)
    assert _lantai(settings, "init").returncode == 0
    batch = write_batch(tmp_path / "in", specs(30))
    filler = _fill(small_disk)
    result = _lantai(settings, "ingest", str(batch))
    output = result.stdout + result.stderr
    assert result.returncode == 2, output
    assert "Traceback" not in output and "OperationalError" not in output, output
    assert "磁盘空间不足" in output and "disk full" in output, output
    assert len(output.splitlines()) <= 6, output
    as_json = _lantai(settings, "ingest", str(batch), "--json")
    assert as_json.returncode == 2 and json.loads(as_json.stdout)["code"] == "disk_full"

    filler.unlink()
    verified = _lantai(settings, "verify", "--json")  # opening runs recovery first
    assert verified.returncode == 0, verified.stdout + verified.stderr
    again = _lantai(settings, "ingest", str(batch), "--json")
    assert again.returncode == 0, again.stdout + again.stderr
    statuses = {item["status"] for item in json.loads(again.stdout)["items"]}
    assert statuses <= {"accepted", "duplicate"}
    report = json.loads(_lantai(settings, "verify", "--json").stdout)
    assert report["ok"] and report["objects"] == 30, report


def test_sqlite_out_of_pages_is_disk_full_in_process(tmp_path: Path) -> None:
    """The same translation without root: SQLite's page limit fails a write with SQLITE_FULL."""
    from sqlalchemy import event, insert

    from lantai.catalog.models import Batch
    from lantai.errors import DiskFull
    from lantai.services.archive import init_archive

    archive = init_archive(Settings(home=tmp_path / "archive", fsync=False))
    try:
        with archive.engine.connect() as conn:
            pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
        archive.engine.dispose()
        event.listen(archive.engine, "connect",
                     lambda dbapi, _rec: dbapi.execute(f"PRAGMA max_page_count = {pages}"))
        with pytest.raises(DiskFull) as caught, archive.session() as session:
            session.execute(insert(Batch), [{"id": f"B{i}", "source": "x" * 2000} for i in range(2000)])
        assert "磁盘空间不足" in caught.value.message_zh and "disk full" in caught.value.message_en
        with archive.sessions() as session:  # rolled back: nothing half-written
            assert session.query(Batch).count() == 0
    finally:
        archive.close()


def test_rebuild_scratch_catalogue_out_of_pages_is_disk_full(tmp_path: Path) -> None:
    """``lantai rebuild`` writes a scratch SQLite file beside the catalogue (its own engine): a full
    disk there must also be DiskFull (exit 2 and the zh/en message), not a driver traceback — CI
    once caught ``CREATE INDEX`` on the scratch file failing as a raw OperationalError."""
    from sqlalchemy import event, insert

    from lantai.catalog.models import Batch
    from lantai.catalog.scratch import ScratchCatalogue
    from lantai.errors import DiskFull
    from lantai.services.archive import init_archive

    archive = init_archive(Settings(home=tmp_path / "archive", fsync=False))
    try:
        scratch = ScratchCatalogue.create(archive.engine)
        try:
            with scratch.engine.connect() as conn:
                pages = conn.exec_driver_sql("PRAGMA page_count").scalar_one()
            scratch.engine.dispose()
            event.listen(scratch.engine, "connect",
                         lambda dbapi, _rec: dbapi.execute(f"PRAGMA max_page_count = {pages}"))
            with pytest.raises(DiskFull) as caught, scratch.sessions() as session:
                session.execute(insert(Batch), [{"id": f"B{i}", "source": "x" * 2000} for i in range(2000)])
                session.commit()
            assert "磁盘空间不足" in caught.value.message_zh and "disk full" in caught.value.message_en
        finally:
            scratch.drop()
        assert not list(archive.settings.home.glob(".lantai_rebuild_*")), "scratch file left"
    finally:
        archive.close()
