"""Two ingests of the same batch at once (issue 17, point 5): the loser of each race reports the
item as a duplicate and goes on; both print their JSON; every item is archived and catalogued
once, and the batch's bookkeeping counts all of them."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from lantai.catalog.models import Batch, Item
from lantai.services.archive import Archive
from lantai.services.fixity import verify_fixity
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch

ITEMS = 120


def test_two_ingests_of_the_same_batch_at_once(archive: Archive, settings: Settings, tmp_path: Path) -> None:
    batch = write_batch(tmp_path, specs(ITEMS, size=1024))
    command = [sys.executable, "-m", "lantai.cli.main", "ingest", str(batch), "--json"]
    procs = [subprocess.Popen(command, env=cli_env(settings), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
             for _ in range(2)]
    outputs = [proc.communicate(timeout=600) for proc in procs]
    for proc, (_out, err) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, err.decode()[-3000:]
    reports = [json.loads(out) for out, _err in outputs]
    statuses: dict[str, list[str]] = {}
    for report in reports:
        for item in report["items"]:
            statuses.setdefault(item["record_id"], []).append(item["status"])
    assert len(statuses) == ITEMS
    assert all(sorted(s) == ["accepted", "duplicate"] for s in statuses.values()), statuses
    with archive.sessions() as session:
        assert session.scalar(select(func.count(Item.id))) == ITEMS
        batches = list(session.scalars(select(Batch)))
        assert [(b.actual_items, b.status) for b in batches] == [(ITEMS, "complete")]
    assert verify_fixity(archive).ok
