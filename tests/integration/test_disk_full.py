"""A full disk mid-ingest: the item is rejected with a clear reason and nothing is half-written.

The disk filling up is simulated with RLIMIT_FSIZE in the ingesting subprocess: writes past the
limit fail with EFBIG exactly where ENOSPC would, without needing a separate small file system.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import func, select

from lantai.catalog.models import Item
from lantai.services.archive import init_archive, open_archive
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.ocfl_validation import validate_store
from tests.sipfactory import SipSpec, write_item

# Atomicity when the disk fills, on synthetic bytes: the DA/T 70 profile is off in this module only.


@pytest.fixture(autouse=True)
def _ingest_mechanics_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """Autouse, so it is set before ``settings`` reads the environment."""
    monkeypatch.setenv("LANTAI_INGEST_PROFILE", "off")

LIMIT = 4 * 1024 * 1024


def _limit_file_size() -> None:
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    resource.setrlimit(resource.RLIMIT_FSIZE, (LIMIT, LIMIT))


def test_disk_full_while_staging_rejects_cleanly(settings: Settings, tmp_path: Path) -> None:
    init_archive(settings).close()
    item = write_item(tmp_path, SipSpec("Z-FULL", files={"正文.pdf": b"%PDF" + os.urandom(LIMIT + 1024 * 1024)}))
    result = subprocess.run([sys.executable, "-m", "lantai.cli.main", "ingest", str(item), "--json"],
                            env=cli_env(settings), capture_output=True, text=True, timeout=120,
                            preexec_fn=_limit_file_size)
    assert result.returncode == 1, result.stderr
    outcome = json.loads(result.stdout)["items"][0]
    assert outcome["status"] == "rejected"
    assert "磁盘空间不足" in outcome["message"]
    with open_archive(settings) as archive:
        assert list(archive.store.iter_object_ids()) == []
        with archive.sessions() as session:
            assert session.scalar(select(func.count(Item.id))) == 0
        assert [r.action for r in archive.audit.iter_journal()][-1] == "ingest.rejected"
        assert archive.audit.verify().ok
        assert not [p for p in settings.staging_dir.glob("tx-*") if any(p.rglob("*"))]
    assert validate_store(settings.store_root) == []
    # With space again, the same submission goes through.
    again = subprocess.run([sys.executable, "-m", "lantai.cli.main", "ingest", str(item), "--json"],
                           env=cli_env(settings), capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
