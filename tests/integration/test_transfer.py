"""Transfer (移交) between two archives on one machine, and every way a carrier or receipt can be bad.

Both archives run the real DA/T 70 checks (gd at ingest, yj at receipt) against a private clamd;
the test items carry random bytes named .pdf/.xlsx and no 档号, so a profile in each archive home
downgrades exactly those judgements (format, 档号, duplicate 文件编号) to warnings.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree
from sqlalchemy import func, select

from lantai.catalog.models import Item
from lantai.crypto.keystore import Keystore, init_keystore
from lantai.packages.transfer import layout, read_register
from lantai.services.archive import Archive, init_archive
from lantai.services.ingest import ingest_paths
from lantai.services.transfer import (
    TRANSFER_PATH,
    TRANSFERRED,
    export_transfer,
    receive_transfer,
    verify_receipt,
)
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_item

PROFILE = """name = "transfer-test"
[severity]
content_usable = "warning"
metadata_complete = "warning"
metadata_unique = "warning"
environment_metadata = "warning"
"""


@pytest.fixture(scope="session")
def clamd(real_clamd: str) -> str:
    """The session's clamd (tests/conftest.py)."""
    return real_clamd


@pytest.fixture(autouse=True)
def _profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTAI_INGEST_PROFILE", "transfer-test")


def make_archive(settings: Settings) -> tuple[Archive, Keystore]:
    (settings.home / "profiles").mkdir(parents=True, exist_ok=True)
    (settings.home / "profiles" / "transfer-test.toml").write_text(PROFILE, encoding="utf-8")
    archive = init_archive(settings)
    return archive, init_keystore(settings.keys_dir, settings.archive_name)


def trust_each_other(a: Keystore, b: Keystore) -> None:
    a.trust_ca(b.ca_certificate_path)
    b.trust_ca(a.ca_certificate_path)


def receiver_settings(tmp_path: Path, clamd: str, name: str = "receiver") -> Settings:
    return Settings(home=tmp_path / name, fsync=False, workers=1, archive_name="X区档案馆", clamd_socket=clamd)


def count_items(archive: Archive) -> int:
    with archive.session() as session:
        return session.scalar(select(func.count(Item.id))) or 0


# -- the whole transfer, through the CLI ----------------------------------------------------------

def lantai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    env = cli_env(settings) | {"LANTAI_CLAMD_SOCKET": settings.clamd_socket or "", "LANTAI_ARCHIVE_NAME": settings.archive_name,
                               "LANTAI_INGEST_PROFILE": "transfer-test", "LANTAI_WORKERS": "1"}
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=env, capture_output=True, text=True,
                          timeout=300)


def test_transfer_between_two_archives(tmp_path: Path, settings: Settings, clamd: str) -> None:
    sender_settings = settings.model_copy(update={"archive_name": "X区人民政府办公室档案室", "clamd_socket": clamd,
                                                  "workers": 1})
    sender, sender_keys = make_archive(sender_settings)
    receiver, receiver_keys = make_archive(receiver_settings(tmp_path, clamd))
    trust_each_other(sender_keys, receiver_keys)
    source = tmp_path / "sips"
    older = specs(1, prefix="Z109-WS-2024-")[0]
    older.year, older.date = "2024", "2024-05-06"
    report = ingest_paths(sender, [write_item(source, s) for s in specs(4)] + [write_item(source, older)], actor="test")
    assert report.counts()["accepted"] == 5
    sender.close()
    receiver.close()

    carrier = tmp_path / "carrier"
    exported = lantai(sender_settings, "transfer", "export", "--year", "2025", "--fonds", "Z109", "-o", str(carrier), "--json")
    assert exported.returncode == 0, exported.stderr + exported.stdout
    assert json.loads(exported.stdout)["items"] == 4  # the 2024 item stays behind
    assert_carrier_layout(carrier, 4)

    received = lantai(receiver_settings(tmp_path, clamd), "transfer", "receive", str(carrier), "--json")
    assert received.returncode == 0, received.stderr + received.stdout
    result = json.loads(received.stdout)
    assert result["conclusion"] == "全部接收" and result["counts"]["接收"] == 4
    assert all(len(i["sm3"]) == 64 and i["result"] == "接收" for i in result["items"])

    verified = lantai(sender_settings, "transfer", "verify-receipt", result["receipt"], "--json")
    assert verified.returncode == 0, verified.stderr + verified.stdout
    summary = json.loads(verified.stdout)
    assert summary["exported"] == summary["received"] == summary["marked_transferred"] == 4

    with init_archive(sender_settings) as sender, init_archive(receiver_settings(tmp_path, clamd)) as receiver:
        assert count_items(receiver) == 4
        with sender.session() as session:
            statuses = dict(session.execute(select(Item.record_id, Item.status)).all())
        assert sorted(statuses.values()) == ["archived"] + [TRANSFERRED] * 4  # marked, not deleted
        for record_id, status in statuses.items():
            paths = {f.logical_path for f in sender.store.files(record_id)}
            assert (TRANSFER_PATH in paths) == (status == TRANSFERRED)
        for record_id in (r for r, s in statuses.items() if s == TRANSFERRED):
            sent = {f.logical_path: f.sm3 for f in sender.store.files(record_id) if f.logical_path.startswith("content/")}
            got = {f.logical_path: f.sm3 for f in receiver.store.files(record_id) if f.logical_path.startswith("content/")}
            assert sent == got
        actions = [r.action for r in sender.audit.iter_journal()]
        assert "transfer.exported" in actions and "transfer.receipt_verified" in actions
        assert actions.count("transfer.marked") == 4
        assert sender.audit.verify().ok and receiver.audit.verify().ok
        assert "check.run" in [r.action for r in receiver.audit.iter_journal()]  # the yj results behind the receipt
        from lantai.services.item_checks import load_report, recent_runs

        kept = load_report(receiver, recent_runs(receiver)[0]["run_id"])  # the carrier's results once, beside the items
        assert kept.stage == "yj" and len(kept.items) == 4
        assert sorted(r.code for r in kept.batch) == ["1-1", "1-5", "2-1", "2-4", "3-1", "4-2"]
        assert all(r.status == "pass" and r.message and r.message_en for r in kept.batch)
        again = verify_receipt(sender, Path(result["receipt"]), actor="test")
        assert again.ok and again.marked == []  # idempotent
        assert export_transfer_or_none(sender, tmp_path / "again") is None  # transferred items are not sent twice


def export_transfer_or_none(archive: Archive, target: Path):  # type: ignore[no-untyped-def]
    from lantai.errors import NotFound

    try:
        return export_transfer(archive, 2025, target)
    except NotFound:
        return None


def assert_carrier_layout(carrier: Path, count: int) -> None:
    assert {p.name for p in carrier.iterdir()} == layout.ROOT_ENTRIES
    assert "移交标识" in (carrier / layout.DESCRIPTION).read_text(encoding="utf-8")
    root = etree.parse(str(carrier / layout.CATALOGUE)).getroot()
    assert root.tag == "文件目录" and len(root) == count
    for entry in root:
        assert [c.tag for c in entry] == ["顺序号", "档号", "责任者", "题名", "日期", "密级", "电子档案名称", "备注"]
        assert (carrier / entry.findtext("电子档案名称")).is_file()
        assert entry.findtext("电子档案名称").startswith("电子档案/2025/WS/")
    register = read_register(carrier / layout.REGISTER_XLSX)
    packages = list((carrier / layout.RECORDS_DIR).rglob("*.eep"))
    assert register.items == len(packages) == count
    assert register.bytes == sum(p.stat().st_size for p in packages)
    assert all(register.checks[name] for name in ("真实性检测", "完整性检测", "可用性检测"))
    # each item leaves as 2 content files, 元数据.xml, 过程信息.xml and its SM3 manifest: all scanned
    assert f"扫描 {count * 5} 个文件，感染 0 个，未扫描 0 个" in register.checks["病毒检测"]
    assert f"{count * 4} 个文件与存储固定性信息一致" in register.checks["可靠性检测"]
    assert (carrier / layout.REGISTER_PDF).read_bytes().startswith(b"%PDF")
    manifest = (carrier / layout.MANIFEST).read_text(encoding="utf-8").splitlines()
    listed = {line.split("  ", 1)[1] for line in manifest}
    on_disk = {p.relative_to(carrier).as_posix() for p in carrier.rglob("*") if p.is_file()} - {layout.MANIFEST}
    assert listed == on_disk


# -- bad carriers: detected, named, nothing ingested ----------------------------------------------

@pytest.fixture(scope="module")
def sent(tmp_path_factory: pytest.TempPathFactory, clamd: str) -> dict[str, Path]:
    """One sender archive with 3 items and its carrier, shared by the tamper cases (copied per test)."""
    base = tmp_path_factory.mktemp("sender")
    mp = pytest.MonkeyPatch()
    mp.setenv("LANTAI_INGEST_PROFILE", "transfer-test")
    try:
        settings = Settings(home=base / "home", fsync=False, workers=1, archive_name="X区档案室", clamd_socket=clamd)
        archive, keys = make_archive(settings)
        report = ingest_paths(archive, [write_item(base / "sips", s) for s in specs(3)])
        assert report.counts()["accepted"] == 3
        export_transfer(archive, 2025, base / "carrier")
        archive.close()
    finally:
        mp.undo()
    return {"carrier": base / "carrier", "ca": keys.ca_certificate_path, "home": settings.home}


def first_package(carrier: Path) -> Path:
    return sorted((carrier / layout.RECORDS_DIR).rglob("*.eep"))[0]


def rewrite_manifest(carrier: Path) -> None:
    """A careful forger also fixes the manifest, so only the package's own signature can tell."""
    from lantai.packages.transfer.writer import write_manifest

    write_manifest(carrier, {})


def drop_item(carrier: Path) -> str:
    package = first_package(carrier)
    package.unlink()
    return package.relative_to(carrier).as_posix()


def add_item(carrier: Path) -> str:
    package = first_package(carrier)
    extra = package.parent.parent / "Z109-WS-2025-09999" / "Z109-WS-2025-09999.eep"
    extra.parent.mkdir()
    shutil.copyfile(package, extra)
    return extra.relative_to(carrier).as_posix()


def falsify_register(carrier: Path) -> str:
    from openpyxl import load_workbook

    workbook = load_workbook(carrier / layout.REGISTER_XLSX)
    for row in workbook.active.iter_rows(min_row=2):
        if row[0].value == "件数":
            row[1].value = "4"
    workbook.save(carrier / layout.REGISTER_XLSX)
    return "移交登记表/件数"


def tamper_package(carrier: Path) -> str:
    package = first_package(carrier)
    data = bytearray(package.read_bytes())
    at = data.index("<题名>".encode()) + len("<题名>".encode())
    data[at:at + 3] = "改".encode()  # one character of the signed 题名
    package.write_bytes(bytes(data))
    rewrite_manifest(carrier)
    return package.relative_to(carrier).as_posix()


def change_file(carrier: Path) -> str:
    (carrier / layout.DESCRIPTION).write_text("被改动的说明文件", encoding="utf-8")
    return layout.DESCRIPTION


def stray_file(carrier: Path) -> str:
    (carrier / "autorun.inf").write_text("[autorun]", encoding="utf-8")
    return "autorun.inf"


@pytest.mark.parametrize(("damage", "code"), [
    (drop_item, "yj-2-4"), (add_item, "yj-2-4"), (falsify_register, "yj-2-1"), (tamper_package, "yj-1-1"),
    (change_file, "yj-1-5"), (stray_file, "yj-4-2"),
], ids=["missing-item", "extra-item", "register-disagrees", "tampered-eep", "changed-file", "stray-file"])
def test_bad_carrier_is_refused_whole(tmp_path: Path, sent: dict[str, Path], clamd: str, damage, code: str) -> None:  # type: ignore[no-untyped-def]
    carrier = tmp_path / "carrier"
    shutil.copytree(sent["carrier"], carrier)
    named = damage(carrier)
    receiver, keys = make_archive(receiver_settings(tmp_path, clamd))
    keys.trust_ca(sent["ca"])
    with receiver:
        result = receive_transfer(receiver, carrier, actor="test")
        assert not result.ok
        assert count_items(receiver) == 0  # nothing ingested from a failing package
        found = [f for f in result.findings if f.is_error and f.code == code]
        assert found and any(named in f.element or named in f.message for f in found), result.findings
        assert result.receipt.conclusion == "拒收" and all(i.result == "拒收" for i in result.receipt.items)
        assert result.path.is_file()  # the sender still gets a signed receipt saying why


def test_untrusted_sender_is_refused(tmp_path: Path, sent: dict[str, Path], clamd: str) -> None:
    receiver, _keys = make_archive(receiver_settings(tmp_path, clamd))  # sender's CA not trusted
    with receiver:
        result = receive_transfer(receiver, sent["carrier"], actor="test")
        assert count_items(receiver) == 0
        assert {f.code for f in result.findings if f.is_error} == {"yj-1-1"}
        assert "cert-untrusted" in json.dumps([f.params for f in result.findings])


# -- receipts the sender must not believe ---------------------------------------------------------

@pytest.fixture
def receipt(tmp_path: Path, sent: dict[str, Path], clamd: str) -> dict[str, object]:
    carrier = tmp_path / "carrier"
    shutil.copytree(sent["carrier"], carrier)
    receiver, keys = make_archive(receiver_settings(tmp_path, clamd))
    keys.trust_ca(sent["ca"])
    with receiver:
        result = receive_transfer(receiver, carrier, actor="test")
    assert result.ok, result.to_dict()
    sender_settings = Settings(home=sent["home"], fsync=False, workers=1, archive_name="X区档案室", clamd_socket=clamd)
    return {"path": result.path, "receiver_ca": keys.ca_certificate_path, "sender": sender_settings}


def test_forged_receipt_marks_nothing(tmp_path: Path, receipt: dict[str, object]) -> None:
    path = Path(str(receipt["path"]))
    forged = tmp_path / "forged.xml"
    forged.write_bytes(path.read_bytes().replace("<结果>接收</结果>".encode(), "<结果>重复</结果>".encode(), 1))
    with init_archive(receipt["sender"]) as sender:  # type: ignore[arg-type]
        init_keystore(sender.settings.keys_dir, sender.settings.archive_name).trust_ca(Path(str(receipt["receiver_ca"])))
        bad = verify_receipt(sender, forged, actor="test")
        assert not bad.ok and [f.code for f in bad.findings] == ["receipt-signature"] and bad.marked == []
        with sender.session() as session:
            assert set(session.scalars(select(Item.status))) == {"archived"}
        assert sender.audit.iter_journal  # the refusal is audited
        assert any(r.action == "transfer.receipt_rejected" for r in sender.audit.iter_journal())


def test_receipt_from_untrusted_receiver_marks_nothing(receipt: dict[str, object]) -> None:
    with init_archive(receipt["sender"]) as sender:  # type: ignore[arg-type]
        result = verify_receipt(sender, Path(str(receipt["path"])), actor="test")
        assert not result.ok and "cert-untrusted" in {f.code for f in result.findings}
        assert result.marked == []
