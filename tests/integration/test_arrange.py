"""Arrangement end to end on SQLite and PostgreSQL: numbering, all-or-nothing, filing, corrections,
store versions and audit entries, concurrent arrangers, catalogue exports and the stamped copy."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from openpyxl import load_workbook
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas
from sqlalchemy import func, select

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import AuditEntry, Item
from lantai.crypto.digests import sm3_hex
from lantai.errors import BadInput, Conflict, ValidationFailed
from lantai.services import arrange as svc
from lantai.services.archive import Archive
from lantai.services.catalogue import METADATA_PATH, dump_catalogue, upsert_item
from tests.sipfactory import SipSpec, metadata_xml

REPO = Path(__file__).resolve().parents[2]


def _pdf() -> bytes:
    import io

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=A4)
    c.drawString(72, 500, "body")
    c.showPage()
    c.save()
    return buffer.getvalue()


PDF = _pdf()


def add_item(archive: Archive, record_id: str, *, date: str = "2025-03-18", number: str = "示政发〔2025〕1号",
             organisation: str | None = "BGS", retention: str = "永久", title: str = "关于做好归档工作的通知",
             year: str = "2025") -> None:
    spec = SipSpec(record_id=record_id, title=title, date=date, document_number=number, retention=retention, year=year,
                   files={"正文.pdf": PDF})
    xml = metadata_xml(spec).decode()
    xml = xml.replace("<机构或问题>BGS</机构或问题>", f"<机构或问题>{organisation}</机构或问题>" if organisation else "")
    store = archive.store
    builder = store.begin_version(record_id)
    builder.add_bytes(METADATA_PATH, xml.encode())
    builder.add_bytes("content/正文.pdf", PDF)
    builder.add_bytes("lantai/ingest.json", json.dumps({"batch_id": None}).encode())
    store.commit(builder.prepare(message="ingest", user_name="test"))
    with archive.session() as session:
        upsert_item(session, store, record_id)


def codes(archive: Archive) -> dict[str, str]:
    with archive.sessions() as session:
        return dict(session.execute(select(Item.record_id, Item.archival_code)).tuples().all())


def actions(archive: Archive, prefix: str) -> list[tuple[str, str]]:
    with archive.sessions() as session:
        return list(session.execute(select(AuditEntry.action, AuditEntry.target).where(
            AuditEntry.action.like(f"{prefix}%")).order_by(AuditEntry.seq)).tuples())


def arrange_sample(archive: Archive) -> Archive:
    """Four items of fonds Z109, 2025 (three 永久 of one organisation, one 30年 of 财政科), arranged."""
    add_item(archive, "R3", date="2025-03-18", number="示政发〔2025〕12号")
    add_item(archive, "R1", date="2025-01-05", number="示政发〔2025〕2号")
    add_item(archive, "R2", date="2025-03-18", number="示政发〔2025〕3号")
    add_item(archive, "C1", organisation="财政科", retention="30年", date="2025-02-01")
    svc.arrange(archive, "Z109", 2025, actor="archivist")
    return archive


@pytest.fixture
def arranged(archive: Archive) -> Archive:
    return arrange_sample(archive)


def test_codes_are_gap_free_in_date_then_number_order(arranged: Archive) -> None:
    assert codes(arranged) == {"R1": "Z109-WS·2025-Y-BGS-0001", "R2": "Z109-WS·2025-Y-BGS-0002",
                               "R3": "Z109-WS·2025-Y-BGS-0003", "C1": "Z109-WS·2025-D30-CZK-0001"}
    with arranged.sessions() as session:
        c1 = session.scalar(select(Item).where(Item.record_id == "C1"))
        assert (c1.item_number, c1.organisation, c1.retention, c1.ocfl_version) == (1, "CZK", "30年", 2)


def test_every_change_is_an_ocfl_version_and_an_audit_entry(arranged: Archive) -> None:
    store = arranged.store
    xml = store.read_bytes("R2", METADATA_PATH).decode()
    assert "Z109-WS·2025-Y-BGS-0002" in xml and "<室编件号>2</室编件号>" in xml
    record = json.loads(store.read_bytes("R2", svc.ARRANGEMENT_PATH))
    assert record["retention_source"] == "metadata" and record["state"] == "draft"
    assert store.read_inventory("R2")["versions"]["v2"]["user"]["name"] == "archivist"
    assigned = actions(arranged, "arrange.assigned")
    assert sorted(t for _a, t in assigned) == ["C1", "R1", "R2", "R3"]
    assert svc.pending_count(arranged) == 0
    assert arranged.audit.verify().ok


def test_catalogue_equals_a_rebuild_from_the_store(arranged: Archive) -> None:
    from lantai.services.rebuild import rebuild_catalogue

    with arranged.sessions() as session:
        before = dump_catalogue(session)["items"]
    rebuild_catalogue(arranged)
    with arranged.sessions() as session:
        assert dump_catalogue(session)["items"] == before


def test_rerun_is_idempotent(arranged: Archive) -> None:
    plan = svc.arrange(arranged, "Z109", 2025)
    assert plan.changes == []
    assert arranged.store.head_version("R1") == 2


def test_dry_run_changes_nothing(archive: Archive) -> None:
    add_item(archive, "R1")
    plan = svc.arrange(archive, "Z109", 2025, dry_run=True)
    assert [p.archival_code for p in plan.changes] == ["Z109-WS·2025-Y-BGS-0001"]
    assert codes(archive) == {"R1": ""}
    assert archive.store.head_version("R1") == 1


def test_failed_arrangement_leaves_every_item_as_it_was(arranged: Archive) -> None:
    add_item(arranged, "R0", date="2025-01-01")  # would renumber R1..R3
    add_item(arranged, "BAD", organisation=None)  # missing 机构(问题)
    add_item(arranged, "BAD2", organisation="不存在科")
    before, heads = codes(arranged), {r: arranged.store.head_version(r) for r in ("R1", "R2", "R3", "R0")}
    with pytest.raises(ValidationFailed) as exc:
        svc.arrange(arranged, "Z109", 2025)
    assert {p["record_id"] for p in exc.value.details["problems"]} == {"BAD", "BAD2"}
    assert codes(arranged) == before
    assert {r: arranged.store.head_version(r) for r in heads} == heads
    with arranged.sessions() as session:
        assert session.scalar(select(func.count()).select_from(Arrangement)) == 4


def test_renumbering_before_filing_is_audited(arranged: Archive) -> None:
    add_item(arranged, "R0", date="2025-01-01")
    plan = svc.arrange(arranged, "Z109", 2025)
    assert {p.record_id: p.change for p in plan.changes} == {"R0": "assigned", "R1": "renumbered", "R2": "renumbered",
                                                             "R3": "renumbered"}
    assert codes(arranged)["R0"] == "Z109-WS·2025-Y-BGS-0001" and codes(arranged)["R3"] == "Z109-WS·2025-Y-BGS-0004"
    renumbered = [t for a, t in actions(arranged, "arrange.renumbered")]
    assert sorted(renumbered) == ["R1", "R2", "R3"]
    assert arranged.store.head_version("R3") == 3


def test_retention_override_moves_a_draft_item_and_renumbers(arranged: Archive) -> None:
    svc.override_retention(arranged, "R2", "D10", reason="事务性文件", actor="archivist")
    got = codes(arranged)
    assert got["R2"] == "Z109-WS·2025-D10-BGS-0001"
    assert (got["R1"], got["R3"]) == ("Z109-WS·2025-Y-BGS-0001", "Z109-WS·2025-Y-BGS-0002")
    assert actions(arranged, "retention.overridden") == [("retention.overridden", "R2")]


def test_filed_items_change_only_through_a_correction(arranged: Archive) -> None:
    assert svc.file_arrangement(arranged, "Z109", 2025, actor="archivist") == 4
    add_item(arranged, "R0", date="2025-01-01")
    svc.arrange(arranged, "Z109", 2025)
    got = codes(arranged)
    assert got["R0"] == "Z109-WS·2025-Y-BGS-0004" and got["R1"] == "Z109-WS·2025-Y-BGS-0001"
    with pytest.raises(Conflict):
        svc.override_retention(arranged, "R1", "D30", reason="x", actor="archivist")
    result = svc.correct_arrangement(arranged, "R2", reason="经鉴定应为定期30年", actor="archivist", retention="D30")
    assert result == {"record_id": "R2", "from": "Z109-WS·2025-Y-BGS-0002", "to": "Z109-WS·2025-D30-BGS-0001",
                      "reason": "经鉴定应为定期30年"}
    with arranged.sessions() as session:
        assert session.scalar(select(ArrangementCorrection.new_code)) == "Z109-WS·2025-D30-BGS-0001"
    assert ("arrange.corrected", "R2") in actions(arranged, "arrange.corrected")
    assert "Z109-WS·2025-D30-BGS-0001" in arranged.store.read_bytes("R2", METADATA_PATH).decode()


def test_bad_input(archive: Archive) -> None:
    with pytest.raises(BadInput):
        svc.arrange(archive, "Q999", 2025)
    with pytest.raises(BadInput):
        svc.arrange(archive, "Z109", 2025, category="XX")


def test_reference_versions_and_rule_that_cannot_be_unique(archive: Archive) -> None:
    text = svc.default_reference_text()
    assert svc.save_reference(archive, text, actor="admin", note="同默认") == 2
    bad = text.replace('code_rules = { "*" = "DA/T 22-2015" }', 'code_rules = { "*" = "DA/T 13-2022 不分机构" }')
    with pytest.raises(BadInput):
        svc.save_reference(archive, bad, actor="admin")
    assert [v["version"] for v in svc.reference_versions(archive)] == [1, 2]


def test_retention_suggestion_is_explained(archive: Archive) -> None:
    add_item(archive, "R1", title="关于召开全区安全生产工作会议的通知", retention="永久")
    result = svc.suggest_retention(archive, "R1")
    assert result["suggestion"]["retention"] == "D10" and result["suggestion"]["rule"] == "D10-01"
    assert result["agrees"] is False


def test_exports_and_stamp(arranged: Archive, tmp_path: Path) -> None:
    svc.export_catalogue(arranged, "Z109", 2025, tmp_path / "目录.xlsx")
    rows = list(load_workbook(tmp_path / "目录.xlsx").active.iter_rows(values_only=True))
    assert [r[1] for r in rows[1:]] == ["Z109-WS·2025-Y-BGS-0001", "Z109-WS·2025-Y-BGS-0002",
                                        "Z109-WS·2025-Y-BGS-0003", "Z109-WS·2025-D30-CZK-0001"]
    svc.export_catalogue(arranged, "Z109", 2025, tmp_path / "文件目录.xml", retention="Y")
    assert (tmp_path / "文件目录.xml").read_text(encoding="utf-8").count("<文件>") == 3
    svc.export_note(arranged, "Z109", 2025, tmp_path / "备考表.pdf", retention="Y", arranged_by="李华")
    assert (tmp_path / "备考表.pdf").read_bytes().startswith(b"%PDF")
    svc.export_note(arranged, "Z109", 2025, tmp_path / "备考表.xlsx", retention="Y", arranged_by="李华")
    note = dict(list(load_workbook(tmp_path / "备考表.xlsx").active.iter_rows(values_only=True))[2:])
    assert note["整理人"] == "李华" and note["盒内文件情况说明"].startswith("本盒共 3 件") and not note["检查人"]
    with pytest.raises(BadInput):
        svc.export_note(arranged, "Z109", 2025, tmp_path / "备考表.docx", retention="Y")
    assert not (tmp_path / "备考表.docx").exists()
    original = next(f for f in arranged.store.files("R1") if f.logical_path == "content/正文.pdf")
    result = svc.stamp_item(arranged, "R1", tmp_path / "R1-利用.pdf", actor="reader")
    assert result["archival_code"] == "Z109-WS·2025-Y-BGS-0001"
    assert sm3_hex(arranged.store.content_path("R1", original.content_path).read_bytes()) == original.sm3
    assert ("item.stamped_copy", "R1") in actions(arranged, "item.stamped_copy")


_WORKER = """
import sys, time
from pathlib import Path
from lantai.settings import Settings
from lantai.services.archive import open_archive
from lantai.services.arrange import arrange
home, url, go = sys.argv[1], sys.argv[2] or None, Path(sys.argv[3])
archive = open_archive(Settings(home=home, database_url=url, fsync=False), recover=False)
while not go.exists():
    time.sleep(0.01)
plan = arrange(archive, "Z109", 2025, actor=sys.argv[4])
print(len(plan.changes))
archive.close()
"""


def test_two_processes_arranging_at_once_never_share_a_code(archive: Archive, tmp_path: Path) -> None:
    for n in range(60):
        add_item(archive, f"P{n:03d}", date=f"2025-{n % 12 + 1:02d}-{n % 28 + 1:02d}", number=f"示政发〔2025〕{n}号",
                 organisation=("BGS", "CZK")[n % 2], retention=("永久", "30年", "10年")[n % 3])
    go = tmp_path / "go"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [str(archive.settings.home), archive.settings.database_url or "", str(go)]
    workers = [subprocess.Popen([sys.executable, "-c", _WORKER, *args, f"worker{i}"], env=env, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True) for i in range(2)]
    time.sleep(1.0)
    go.touch()
    outputs = [w.communicate(timeout=180) for w in workers]
    assert [w.returncode for w in workers] == [0, 0], [err for _out, err in outputs]
    assert sorted(int(out.strip()) for out, _err in outputs) == [0, 60]  # the second saw the first's work
    with archive.sessions() as session:
        rows = session.execute(select(Arrangement.class_key, Arrangement.item_number, Arrangement.archival_code)).all()
    assert len({r.archival_code for r in rows}) == 60
    by_class: dict[str, list[int]] = {}
    for r in rows:
        by_class.setdefault(r.class_key, []).append(r.item_number)
    assert len(by_class) == 6
    for numbers in by_class.values():
        assert sorted(numbers) == list(range(1, len(numbers) + 1))
    assert sum(1 for a, _t in actions(archive, "arrange.assigned")) == 60


def test_cli(archive: Archive, tmp_path: Path) -> None:
    import typer
    from typer.testing import CliRunner

    from lantai.cli.arrange import register
    from tests.conftest import cli_env

    app = typer.Typer()
    register(app)
    runner, env = CliRunner(), cli_env(archive.settings)

    def run(*args: str) -> tuple[int, dict]:
        result = runner.invoke(app, [*args, "--json"], env=env)
        return result.exit_code, (json.loads(result.stdout) if result.stdout.strip() else {})

    add_item(archive, "R1")
    code, data = run("arrange", "--fonds", "Z109", "--year", "2025", "--dry-run")
    assert code == 0 and data["changed"] == 1 and data["changes"][0]["archival_code"] == "Z109-WS·2025-Y-BGS-0001"
    assert run("arrange", "--fonds", "Q999", "--year", "2025")[0] == 2
    add_item(archive, "BAD", organisation=None)
    code, data = run("arrange", "--fonds", "Z109", "--year", "2025")
    assert code == 1 and data["details"]["problems"][0]["record_id"] == "BAD"
    with archive.sessions() as session:
        session.execute(select(Item).where(Item.record_id == "BAD")).scalar_one().organisation = "BGS"
        session.commit()
    code, data = run("arrange", "--fonds", "Z109", "--year", "2025")
    assert code == 0 and data["changed"] == 2
    assert run("retention", "suggest", "R1")[1]["suggestion"]["rule"] == "D30-02"
    code, data = run("export", "catalogue", "--fonds", "Z109", "--year", "2025", "-o", str(tmp_path / "c.pdf"))
    assert code == 0 and data["rows"] == 2
    code, data = run("stamp", "R1", "-o", str(tmp_path / "R1.pdf"))
    assert code == 0 and (tmp_path / "R1.pdf").is_file()
    assert run("fonds", "add", "A439", "--name", "某局", "--rule", "DA/T 13-2022 机构代码", "--organisation", "003=办公室")[0] == 0
    assert "A439" in [f["code"] for f in run("fonds", "list")[1]["fonds"]]
    assert run("schedule", "export", "-o", str(tmp_path / "ref.toml"))[0] == 0
    assert run("schedule", "import", str(tmp_path / "ref.toml"), "--note", "round trip")[1]["version"] == 3
    assert run("arrange", "file", "--fonds", "Z109", "--year", "2025")[1]["filed"] == 2
    assert run("retention", "set", "R1", "D10", "--reason", "x")[0] == 1  # filed: only a correction may change it
