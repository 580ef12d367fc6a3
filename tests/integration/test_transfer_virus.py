"""Transfer export scans every file with clamd and fails closed; the register states the counts.

An item archived before scanning was in place (here: ingested with the profile off) carries the
EICAR test file; exporting its year must refuse, leave no carrier behind and claim nothing.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.checks.clamav import EICAR
from lantai.crypto.keystore import init_keystore
from lantai.errors import IntegrityError
from lantai.services.archive import init_archive
from lantai.services.ingest import ingest_paths
from lantai.services.transfer import export_transfer
from lantai.settings import Settings
from tests.sipfactory import SipSpec, real_pdf, specs, write_item

pytestmark = pytest.mark.clamd


def sender(settings: Settings, tmp_path: Path, extra: list[SipSpec] = ()):  # type: ignore[no-untyped-def]
    archive = init_archive(settings)
    init_keystore(settings.keys_dir, settings.archive_name)
    items = [write_item(tmp_path / "sips", s) for s in [*specs(2), *extra]]
    report = ingest_paths(archive, items, actor="test")
    assert report.counts()["accepted"] == len(items), [i.to_dict() for i in report.items]
    return archive


def exported_nothing(archive, target: Path) -> bool:  # type: ignore[no-untyped-def]
    return not target.exists() and all(r.action != "transfer.exported" for r in archive.audit.iter_journal())


def test_an_infected_file_stops_the_export(settings: Settings, tmp_path: Path, real_clamd: str) -> None:
    # The default profile refuses EICAR at ingest (test_ingest_gd_profile.py); an archived file that a
    # later signature update finds infected is what the export scan is for, so this one item goes in
    # without the profile.
    settings = settings.model_copy(update={"ingest_profile": "off"})
    infected = SipSpec("Z109-WS-2025-00099", files={"正文.pdf": real_pdf(), "附件/说明.txt": EICAR})
    with sender(settings, tmp_path, [infected]) as archive:
        with pytest.raises(IntegrityError) as caught:
            export_transfer(archive, 2025, tmp_path / "carrier")
        assert "感染 1 个文件" in caught.value.message_zh and "Z109-WS-2025-00099/附件/说明.txt" in caught.value.message_zh
        assert caught.value.details["infected"][0]["signature"].startswith("Lantai.Test.EICAR")
        assert exported_nothing(archive, tmp_path / "carrier")


def test_no_scanner_means_no_export(settings: Settings, tmp_path: Path, real_clamd: str) -> None:
    with sender(settings, tmp_path) as archive:
        archive.settings = settings.model_copy(update={"clamd_socket": None})
        with pytest.raises(IntegrityError, match="未配置病毒检测引擎"):
            export_transfer(archive, 2025, tmp_path / "carrier")
        archive.settings = settings.model_copy(update={"clamd_socket": str(tmp_path / "no-such.sock")})
        with pytest.raises(IntegrityError, match="病毒检测引擎不可用"):
            export_transfer(archive, 2025, tmp_path / "carrier")
        assert exported_nothing(archive, tmp_path / "carrier")


def test_register_states_what_was_scanned(settings: Settings, tmp_path: Path, real_clamd: str) -> None:
    from lantai.packages.transfer import layout, read_register

    with sender(settings, tmp_path) as archive:
        result = export_transfer(archive, 2025, tmp_path / "carrier")
        register = read_register(result.directory / layout.REGISTER_XLSX)
        virus = register.checks["病毒检测"]
        assert virus.startswith("已检测：ClamAV") and "扫描 10 个文件，感染 0 个，未扫描 0 个" in virus
        entry = [r for r in archive.audit.iter_journal() if r.action == "transfer.exported"][-1]
        assert entry.details["virus_scan"]["scanned"] == 10
