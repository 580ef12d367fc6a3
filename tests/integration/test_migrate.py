"""Format migration with a real LibreOffice on demo 公文 (DOCX 定稿, XLSX 附件) and a TIFF: the
rendition is a new OCFL version beside the untouched original, valid PDF/A-2b by Lantai's own
validator, linked in 元数据.xml, a 格式转换 event in the item's history and ``item.migrated`` in
the audit chain; a hanging or crashing converter is killed, recorded, and changes nothing."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from lantai.catalog.models import AuditEntry, Event, Item
from lantai.domain import metadata as md
from lantai.formats.convert import soffice_binary
from lantai.formats.pdfa import validate_pdfa
from lantai.services import migration
from lantai.services.archive import Archive
from lantai.services.ingest import ingest_paths
from tests.conftest import cli_env
from tests.integration.test_changes import assert_agree
from tests.sipfactory import SipSpec, real_pdf, write_item

pytestmark = [pytest.mark.libreoffice,
              pytest.mark.skipif(soffice_binary() is None, reason="LibreOffice (soffice) is not installed")]


@pytest.fixture(scope="module")
def demo_batch(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from lantai.demo.generate import generate

    batch = tmp_path_factory.mktemp("demo")
    generate(batch, year=2025, items=3, seed=11, workers=1)
    return batch


def ingest_demo(archive: Archive, batch: Path, count: int = 3) -> list[str]:
    items = sorted(p for p in batch.iterdir() if (p / "元数据.xml").is_file())[:count]
    report = ingest_paths(archive, items)
    accepted = [i.record_id for i in report.items if i.status == "accepted"]
    assert accepted, report.to_dict()
    return accepted


def heads(archive: Archive, record_ids: list[str]) -> dict[str, dict[str, str]]:
    return {r: {f.logical_path: f.sha512 for f in archive.store.files(r)} for r in record_ids}


def audit_of(archive: Archive, action: str) -> list[tuple[str, dict]]:
    with archive.sessions() as session:
        rows = session.execute(select(AuditEntry.target, AuditEntry.details).where(AuditEntry.action == action)
                               .order_by(AuditEntry.seq))
        return [(t, json.loads(d)) for t, d in rows]


def test_docx_and_xlsx_become_pdfa_beside_the_untouched_originals(archive: Archive, production_ingest: str,
                                                                    demo_batch: Path) -> None:
    record_ids = ingest_demo(archive, demo_batch)
    before = heads(archive, record_ids)
    planned = migration.plan(archive).planned
    assert {p.source_path for p in planned} >= {"content/定稿.docx"}
    assert all(p.record_id in record_ids for p in planned)

    result = migration.run(archive, "archivist", workers=2)
    assert result["failed"] == 0 and result["migrated"] == len(planned), result
    assert result["tools"]["libreoffice"].startswith("LibreOffice 7.")

    for p in planned:
        stored = {f.logical_path: f for f in archive.store.files(p.record_id)}
        assert stored[p.source_path].sha512 == before[p.record_id][p.source_path]  # the original, unchanged
        assert archive.store.head_version(p.record_id) == 2  # one new version per item
        rendition = archive.store.content_path(p.record_id, stored[p.target_path].content_path)
        check = validate_pdfa(rendition)
        assert (check.declared, check.compliant) == ("2b", True), check.to_dict()

    docx = next(p for p in planned if p.source_path == "content/定稿.docx")
    record = md.parse_record_xml(archive.store.read_bytes(docx.record_id, "metadata/元数据.xml"))
    siblings = next([e.computer_file_name for e in data.encodings] for _d, data, e in record.iter_encodings()
                    if e.computer_file_name == "定稿.docx")
    assert siblings == ["定稿.docx", "定稿.pdf"]  # the rendition is the same document version's second 编码
    rendition = next(e for _d, _data, e in record.iter_encodings() if e.computer_file_name == "定稿.pdf")
    assert rendition.document_creating_application.startswith("LibreOffice 7.")
    assert "PDF/A-2b" in rendition.format_information

    import pypdf

    text = "".join(page.extract_text() or "" for page in pypdf.PdfReader(io.BytesIO(
        archive.store.read_bytes(docx.record_id, docx.target_path))).pages)
    title = record.content_description.title or ""
    assert title[:6] in text.replace("\n", "")  # LibreOffice really rendered the 定稿's text

    with archive.sessions() as session:
        events = session.execute(select(Event.activity, Event.description).join(Item).where(
            Item.record_id == docx.record_id)).all()
    conversions = [d for a, d in events if a == "格式转换"]
    assert any("定稿.docx → 定稿.pdf" in d and "LibreOffice 7." in d for d in conversions), conversions
    audited = {t: d for t, d in audit_of(archive, "item.migrated")}
    assert audited[docx.record_id]["migrations"][0]["tool_version"].startswith("LibreOffice")
    assert audited[docx.record_id]["ocfl_version"] == 2

    assert migration.plan(archive).planned == []  # done once; a second run changes nothing
    again = migration.run(archive, "archivist")
    assert (again["migrated"], again["failed"]) == (0, 0)
    assert all(archive.store.head_version(r) == 2 for r in record_ids if r in {p.record_id for p in planned})
    assert_agree(archive)  # catalogue = rebuild from the store; index agrees; audit chain intact


def fake_soffice(tmp_path: Path, body: str) -> Path:
    """A ``soffice`` on PATH that answers --version and then behaves as ``body`` says."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    script = bindir / "soffice"
    script.write_text(f'#!/bin/sh\nif [ "$1" = "--version" ]; then echo "LibreOffice 0.0.0.1 fake"; exit 0; fi\n{body}\n')
    script.chmod(0o755)
    return bindir


@pytest.mark.parametrize("behaviour,reason", [
    ('echo $$ > "$HOME/pid"; sleep 60 & echo $! > "$HOME/child"; wait', "timeout"),
    ("kill -SEGV $$", "crashed"),
    ("exit 0", "no_output"),
])
def test_a_hanging_crashing_or_silent_converter_is_a_recorded_failure(
        archive: Archive, production_ingest: str, demo_batch: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch, behaviour: str, reason: str) -> None:
    from lantai.formats import convert

    record_ids = ingest_demo(archive, demo_batch, count=1)
    before = heads(archive, record_ids)
    monkeypatch.setenv("PATH", f"{fake_soffice(tmp_path, behaviour)}{os.pathsep}{os.environ['PATH']}")
    convert._version_of.cache_clear()
    started = time.monotonic()
    result = migration.run(archive, "archivist", timeout=1.5, workers=1)
    assert time.monotonic() - started < 30
    assert result["migrated"] == 0 and result["failed"] >= 1, result
    assert heads(archive, record_ids) == before  # nothing written: originals and versions as they were
    failures = audit_of(archive, "item.migration_failed")
    assert {d["reason"] for _t, d in failures} == {reason}
    assert {d["source"] for _t, d in failures} >= {"content/定稿.docx"}
    if reason == "timeout":  # the whole process group was killed, the child too
        profiles = archive.settings.staging_dir / migration.PROFILES_DIR
        for pid_file in list(profiles.rglob("pid")) + list(profiles.rglob("child")):
            pid = int(pid_file.read_text())
            assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    plan = migration.plan(archive)
    assert {plan.failed_before[(p.record_id, p.source_path)] for p in plan.planned} == {reason}
    skipped = migration.run(archive, "archivist", timeout=1.5)
    assert skipped["skipped_failed_before"] == len(plan.planned) and skipped["failed"] == 0
    convert._version_of.cache_clear()


def test_a_real_libreoffice_past_its_time_limit_is_killed(archive: Archive, production_ingest: str,
                                                          demo_batch: Path) -> None:
    record_ids = ingest_demo(archive, demo_batch, count=1)
    result = migration.run(archive, "archivist", timeout=0.01, workers=1)
    assert result["migrated"] == 0 and result["failed"] >= 1
    assert all(archive.store.head_version(r) == 1 for r in record_ids)
    assert {d["reason"] for _t, d in audit_of(archive, "item.migration_failed")} == {"timeout"}
    retried = migration.run(archive, "archivist", retry_failed=True, max_items=1)  # default limit: it works
    assert retried["failed"] == 0 and retried["migrated"] >= 1
    assert migration.plan(archive).failed_before == {}  # a later success clears the failure


def tiff_bytes() -> bytes:
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (600, 400), "white")
    ImageDraw.Draw(image).rectangle((50, 50, 550, 350), outline="red", width=8)
    buffer = io.BytesIO()
    image.save(buffer, format="TIFF", dpi=(150, 150))
    return buffer.getvalue()


def test_a_tiff_becomes_pdfa_where_the_registry_says_so(archive: Archive, production_ingest: str,
                                                        tmp_path: Path) -> None:
    spec = SipSpec("Z109-WS-2025-00070", files={"正文.pdf": real_pdf(4096), "附件/扫描件.tif": tiff_bytes()})
    report = ingest_paths(archive, [write_item(tmp_path / "tiff", spec)])
    assert report.items[0].status == "accepted", report.to_dict()
    planned = migration.plan(archive).planned
    assert [(p.source_path, p.rule_id, p.target_path) for p in planned] == [
        ("content/附件/扫描件.tif", "tiff-pdfa2b", "content/附件/扫描件.pdf")]
    result = migration.run(archive, "archivist")
    assert result["migrated"] == 1, result
    path = archive.store.content_path(spec.record_id, next(
        f.content_path for f in archive.store.files(spec.record_id) if f.logical_path == "content/附件/扫描件.pdf"))
    check = validate_pdfa(path)
    assert (check.declared, check.compliant) == ("2b", True), check.to_dict()
    import pikepdf

    with pikepdf.open(path) as pdf:  # 600 × 400 px at 150 dpi = 288 × 192 pt
        assert [round(float(v)) for v in pdf.pages[0].mediabox] == [0, 0, 288, 192]


def test_the_command_line_plans_runs_and_exits_by_outcome(archive: Archive, production_ingest: str,
                                                          demo_batch: Path, tmp_path: Path) -> None:
    ingest_demo(archive, demo_batch, count=2)
    env = cli_env(archive.settings)

    def lantai(*args: str, extra: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], capture_output=True, text=True,
                              env={**env, **(extra or {})}, timeout=600, check=False)

    plan = lantai("migrate", "--plan", "--json")
    assert plan.returncode == 0, plan.stderr
    planned = json.loads(plan.stdout)
    assert planned["count"] >= 2 and planned["items"] == 2
    bad = lantai("migrate", "run", "--workers", "0", "--json")
    assert bad.returncode == 2
    fake = {"PATH": f"{fake_soffice(tmp_path, 'exit 3')}{os.pathsep}{os.environ['PATH']}"}
    failed = lantai("migrate", "run", "--max-items", "1", "--json", extra=fake)
    assert failed.returncode == 1, failed.stderr
    assert json.loads(failed.stdout)["failed"] >= 1
    done = lantai("migrate", "run", "--max-items", "1", "--workers", "2", "--actor", "王档案", "--json")
    assert done.returncode == 0, done.stderr
    body = json.loads(done.stdout)
    assert body["items"] == 1 and body["migrated"] >= 1 and body["skipped_failed_before"] >= 1
    human = lantai("migrate", "--plan")
    assert human.returncode == 0 and "待迁移" in human.stdout


def test_the_dashboard_shows_migrations_pending_done_and_failed_and_carriers_due(
        archive: Archive, production_ingest: str, demo_batch: Path, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """保存状态 (issue 18 point 8): migrations pending by rule, done and failed by month, the open
    failures (named only to who may read items), and carriers due for their read check by location."""
    import datetime as dt

    from lantai.domain.roles import Role
    from lantai.formats import convert
    from lantai.services import preservation
    from lantai.services.carriers import register_carrier
    from lantai.services.users import Principal

    archivist = Principal(1, "archivist", "档案管理员", frozenset({Role.ARCHIVIST}), "绝密", via="cli")
    sysadmin = Principal(2, "sysadmin", "系统管理员", frozenset({Role.SYSADMIN}), "公开", via="cli")
    record_ids = ingest_demo(archive, demo_batch, count=1)
    planned = migration.plan(archive)
    seen = preservation.dashboard(archive, archivist)["migrations"]
    assert seen["pending"] == len(planned.planned) >= 1 and seen["pending_items"] == 1
    assert seen["done"] == seen["failed"] == 0 and seen["by_month"] == [] and seen["open_failures"] == []
    assert sum(r["count"] for r in seen["pending_by_rule"]) == seen["pending"]
    assert "DOCX → PDF/A-2b" in {r["name"] for r in seen["pending_by_rule"]}

    monkeypatch.setenv("PATH", f"{fake_soffice(tmp_path, 'kill -SEGV $$')}{os.pathsep}{os.environ['PATH']}")
    convert._version_of.cache_clear()
    crashed = migration.run(archive, "archivist", timeout=5, workers=1)
    assert crashed["failed"] >= 1
    seen = preservation.dashboard(archive, archivist)["migrations"]
    assert seen["failed"] == crashed["failed"] == seen["open_failures_total"]
    assert {f["reason"] for f in seen["open_failures"]} == {"转换程序异常退出"}
    assert {f["object"] for f in seen["open_failures"]} == set(record_ids)
    assert seen["pending"] == len(planned.planned)  # a failed source stays pending; the original is untouched
    hidden = preservation.dashboard(archive, sysadmin)["migrations"]  # a 系统管理员 reads no records
    assert {(f["object"], f["source"]) for f in hidden["open_failures"]} == {("", "")}

    monkeypatch.undo()
    convert._version_of.cache_clear()
    done = migration.run(archive, "archivist", retry_failed=True)
    assert done["failed"] == 0 and done["migrated"] >= 1
    seen = preservation.dashboard(archive, archivist)["migrations"]
    assert seen["pending"] == 0 and seen["done"] == len(planned.planned) and seen["open_failures"] == []
    assert sum(m["done"] for m in seen["by_month"]) == seen["done"]
    assert sum(m["failed"] for m in seen["by_month"]) == seen["failed"] == crashed["failed"]

    register_carrier(archive, "2020-异地-01", kind="光盘", location="异地", written_on=dt.date(2020, 1, 1),
                     interval_days=365, actor="archivist")
    register_carrier(archive, "新盘-01", kind="硬盘", location="封存", actor="archivist")
    carriers = preservation.dashboard(archive, sysadmin)["carriers"]
    assert carriers["total"] == 2 and carriers["due"] == 1 and carriers["failed"] == 0
    assert [c["number"] for c in carriers["due_list"]] == ["2020-异地-01"]
    by_location = {r["location"]: r for r in carriers["by_location"]}
    assert by_location["异地"]["due"] == 1 and by_location["封存"]["ok"] == 1 and by_location["利用"]["ok"] == 0
