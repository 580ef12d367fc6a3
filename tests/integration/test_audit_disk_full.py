"""A full disk while journalling: a clear message, no torn line, and the chain goes on once space is back.

The archive (or only its audit directory) lives on a real 8 MiB tmpfs (mounting needs root, which CI has; the test skips when
mounting is not permitted), filled to the last byte, or to a few pages, before the append.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from lantai.errors import DiskFull
from lantai.services.archive import init_archive, open_archive
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.diskfull import fill
from tests.sipfactory import SipSpec, write_item


@pytest.fixture
def mount_tmpfs(tmp_path: Path) -> Iterator[Callable[[Path], Path]]:
    """Mount an 8 MiB tmpfs over a directory, keeping what the directory held; unmounted afterwards."""
    mounted: list[Path] = []
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")

    def mount(directory: Path) -> Path:
        directory.mkdir(parents=True, exist_ok=True)
        keep = tmp_path / f"kept-{len(mounted)}"
        shutil.copytree(directory, keep)
        result = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(directory)],
                                capture_output=True, text=True)
        if result.returncode != 0:
            pytest.skip(f"mounting a tmpfs is not permitted here: {result.stderr.strip()}")
        mounted.append(directory)
        shutil.copytree(keep, directory, dirs_exist_ok=True)
        return directory

    try:
        yield mount
    finally:
        for directory in reversed(mounted):
            subprocess.run(["umount", "-l", str(directory)], check=False)




def _settings(home: Path, database_url: str | None) -> Settings:
    return Settings(home=home, database_url=database_url, fsync=True, workers=1)


def test_full_disk_raises_disk_full_and_leaves_the_journal_whole(mount_tmpfs: Callable[[Path], Path], tmp_path: Path,
                                                                  database_url: str | None) -> None:
    small_fs = mount_tmpfs(tmp_path / "fs")  # the whole archive, catalogue included, on the small disk
    settings = _settings(small_fs / "archive", database_url)
    with init_archive(settings) as archive:
        archive.audit.append("cli", "item.viewed", "R-1")
        before = settings.audit_journal.read_bytes()
        for leave in (0, 8192):  # nothing at all, and room for only part of the record
            filler = fill(small_fs, leave)
            with pytest.raises(DiskFull) as caught:
                archive.audit.append("cli", "item.viewed", "R-2", {"note": "满" * 40_000})
            assert "磁盘空间不足" in caught.value.message_zh and "disk full" in caught.value.message_en
            assert settings.audit_journal.read_bytes() == before  # no torn line, nothing half-written
            assert archive.audit.verify().ok
            filler.unlink()
        record = archive.audit.append("cli", "item.viewed", "R-2", {"note": "满" * 40_000})
        assert record.seq == 3
        assert archive.audit.verify().ok


def test_ingest_with_a_full_journal_disk_gives_a_clear_message_and_recovers(
        mount_tmpfs: Callable[[Path], Path], database_url: str | None, tmp_path: Path) -> None:
    settings = _settings(tmp_path / "archive", database_url)
    init_archive(settings).close()
    audit_dir = mount_tmpfs(settings.audit_journal.parent)  # only the journal's disk fills up
    item = write_item(tmp_path, SipSpec("Z-FULL-AUDIT"))
    filler = fill(audit_dir)
    # use up the slack of the journal's last page, too
    with open_archive(settings) as archive, pytest.raises(DiskFull):
        for _ in range(100):
            archive.audit.append("test", "test.padding", "", {"pad": "x" * 200})
    result = subprocess.run([sys.executable, "-m", "lantai.cli.main", "ingest", str(item), "--json"],
                            env=cli_env(settings), capture_output=True, text=True, timeout=120)
    assert result.returncode in (1, 2), result.stdout + result.stderr
    assert "Traceback" not in result.stderr, result.stderr
    assert "磁盘空间不足" in result.stdout + result.stderr
    json.loads(result.stdout)  # --json still prints JSON
    filler.unlink()
    verify = subprocess.run([sys.executable, "-m", "lantai.cli.main", "audit", "verify", "--json"],
                            env=cli_env(settings), capture_output=True, text=True, timeout=120)
    assert verify.returncode == 0, verify.stdout + verify.stderr
    again = subprocess.run([sys.executable, "-m", "lantai.cli.main", "ingest", str(item), "--json"],
                           env=cli_env(settings), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    assert json.loads(again.stdout)["items"][0]["status"] in ("accepted", "duplicate")
    with open_archive(settings) as archive:
        assert archive.audit.verify().ok
        assert [r.target for r in archive.audit.iter_journal()
                if not isinstance(r, Exception) and r.action == "ingest.accepted"] == ["Z-FULL-AUDIT"]
