"""DA/T 70 bc checks on archived items: the service, the CLI (``lantai check --archived``), the
recorded run (catalogue rows, kept report, audit entry), and a stored file changed behind the
archive's back caught by bc 1-5."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import delete, select

from lantai.catalog.models import CheckRecord
from lantai.crypto.digests import sm3_hex
from lantai.services.ingest import ingest_paths
from lantai.services.item_checks import (
    archived_ids,
    check_archived_items,
    check_item,
    load_report,
    recent_runs,
)
from lantai.services.items import check_reports
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_batch

pytestmark = pytest.mark.clamd


@pytest.fixture
def archived(archive, tmp_path: Path):  # type: ignore[no-untyped-def]
    report = ingest_paths(archive, [write_batch(tmp_path / "in", specs(3))], actor="clerk")
    assert report.counts()["accepted"] == 3, [i.to_dict() for i in report.items]
    return archive


def test_check_item_runs_the_bc_profile_and_records_it(archived) -> None:  # type: ignore[no-untyped-def]
    summary = check_item(archived, "archivist", "Z109-WS-2025-00002")
    assert summary["ok"] is True and summary["stage"] == "bc" and summary["items"] == 1
    assert summary["operator"] == "archivist"
    report = load_report(archived, summary["run_id"])
    codes = {r.code for r in report.items[0].results}
    # fixity, format, PDF/A-OFD usability, seals/signatures, virus and metadata all ran
    assert {"1-1", "1-5", "3-2", "3-3", "4-1", "1-2", "2-2"} <= codes, codes
    virus = [r for r in report.items[0].results if r.code == "4-1"]
    assert virus and all(r.status == "pass" for r in virus)
    with archived.sessions() as session:
        rows = session.scalars(select(CheckRecord).where(CheckRecord.run_id == summary["run_id"])).all()
    assert [(r.item_id, r.stage, r.status, r.operator) for r in rows] == [
        ("Z109-WS-2025-00002", "bc", "passed", "archivist")]
    assert rows[0].report_sm3 == sm3_hex(Path(rows[0].report_location).read_bytes())
    entry = [r for r in archived.audit.iter_journal() if r.action == "check.run"][-1]
    assert entry.target == summary["run_id"] and entry.details["verdicts"] == {"Z109-WS-2025-00002": "passed"}
    assert recent_runs(archived, record_id="Z109-WS-2025-00002")[0]["run_id"] == summary["run_id"]


def test_a_changed_stored_file_fails_bc_1_5(archived) -> None:  # type: ignore[no-untyped-def]
    base = archived.store.object_path("Z109-WS-2025-00001")
    target = next(base.rglob("正文.pdf"))
    target.write_bytes(target.read_bytes() + b"tampered")
    seen: list[tuple[int, int]] = []
    run = check_archived_items(archived, archived_ids(archived), operator="archivist",
                               progress=lambda done, total, _item: seen.append((done, total)))
    assert seen[-1] == (3, 3) and len(seen) == 3
    verdicts = {item.id: item.failed for item in run.report.items}
    assert verdicts == {"Z109-WS-2025-00001": True, "Z109-WS-2025-00002": False, "Z109-WS-2025-00003": False}
    bad = [r for r in run.report.items[0].failures()]
    assert {r.rule for r in bad} >= {"1-5d"}


def test_cli_check_archived_batch_records_a_run(archived, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    with archived.sessions() as session:
        from lantai.catalog.models import Batch

        batch_id = session.scalars(select(Batch.id)).one()
    env = cli_env(settings)
    done = subprocess.run([sys.executable, "-m", "lantai.cli.main", "check", "--archived", "--batch", batch_id,
                           "--actor", "张三", "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr + done.stdout
    data = json.loads(done.stdout)
    assert data["stage"] == "bc" and data["summary"]["items"] == 3 and data["meta"]["operator"] == "张三"
    with archived.sessions() as session:
        operators = set(session.scalars(select(CheckRecord.operator).where(CheckRecord.stage == "bc")))
    assert operators == {"张三"}


def _check_rows(archive) -> list[tuple]:  # type: ignore[no-untyped-def]
    with archive.sessions() as session:
        return sorted((r.run_id, r.stage, r.profile, r.item_id, r.source, r.status, r.failed_codes, r.results,
                       r.report_location, r.report_sm3, r.operator, r.created_at.replace(tzinfo=None).isoformat())
                      for r in session.scalars(select(CheckRecord)))


def test_check_results_are_kept_with_the_item_and_rebuild_restores_them(archived, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Issue 17 point 3: each item's result of ``lantai check --archived`` is a new version of its
    object (through the change path), and a rebuild of a catalogue that lost the runs restores
    them from the store — every field, not only the verdicts the journal keeps."""
    target = next(archived.store.object_path("Z109-WS-2025-00001").rglob("正文.pdf"))
    target.write_bytes(target.read_bytes() + b"tampered")  # one item fails, so failed codes are kept too
    env = cli_env(settings)
    done = subprocess.run([sys.executable, "-m", "lantai.cli.main", "check", "--archived", "--actor", "张三",
                           "--json"], env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 1, done.stderr + done.stdout
    run_id = recent_runs(archived)[0]["run_id"]
    for record_id in archived_ids(archived):
        assert archived.store.head_version(record_id) == 2
        kept = json.loads(archived.store.read_bytes(record_id, f"lantai/checks/{run_id}.json"))
        assert kept["run_id"] == run_id and kept["item_id"] == record_id and kept["operator"] == "张三"
    recorded = [r for r in archived.audit.iter_journal() if r.action == "check.recorded"]
    assert sorted(r.target for r in recorded) == archived_ids(archived)
    before, runs = _check_rows(archived), recent_runs(archived)
    assert [row[6] for row in before if row[3] == "Z109-WS-2025-00001"] != [""]  # failed codes (1-5 …)
    with archived.session() as session:  # the catalogue lost its check runs
        session.execute(delete(CheckRecord))

    rebuilt = subprocess.run([sys.executable, "-m", "lantai.cli.main", "rebuild", "--json"], env=env,
                             capture_output=True, text=True, timeout=300)
    assert rebuilt.returncode == 0, rebuilt.stderr + rebuilt.stdout
    assert json.loads(rebuilt.stdout)["check_runs_restored"] == 1
    assert _check_rows(archived) == before  # failed codes, counts and sources too: the journal has none of them
    assert recent_runs(archived) == runs
    shown = check_reports(archived, "Z109-WS-2025-00001")  # the item page lists the kept result
    assert any(r["source"] == f"lantai/checks/{run_id}.json" and not r["passed"] and r["errors"] for r in shown)
