"""The CLI as a user runs it: exit codes, --json, named bad files, tamper detection."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import SipSpec, real_pdf, specs, write_batch, write_item


def lantai(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=cli_env(settings),
                          capture_output=True, text=True, timeout=300)


def test_init_ingest_show_verify_roundtrip(settings: Settings, tmp_path: Path) -> None:
    assert lantai(settings, "init", "--json").returncode == 0
    batch = write_batch(tmp_path, specs(3))
    result = lantai(settings, "ingest", str(batch), "--json")
    assert result.returncode == 0, result.stdout + result.stderr
    assert json.loads(result.stdout)["counts"]["accepted"] == 3
    shown = lantai(settings, "show", "Z109-WS-2025-00001", "--json")
    assert shown.returncode == 0 and json.loads(shown.stdout)["title"] == "关于第1项工作的通知"
    verified = lantai(settings, "verify", "--json")
    assert verified.returncode == 0, verified.stdout
    assert json.loads(verified.stdout)["files"] >= 3 * 2
    assert lantai(settings, "audit", "verify").returncode == 0


def test_flipped_byte_makes_verify_fail_naming_the_file(settings: Settings, tmp_path: Path) -> None:
    lantai(settings, "init")
    lantai(settings, "ingest", str(write_item(tmp_path, SipSpec("Z-FLIP", files={"正文.pdf": real_pdf()}))))
    stored = next(settings.store_root.rglob("v1/content/content/正文.pdf"))
    data = bytearray(stored.read_bytes())
    data[5] ^= 0x01
    stored.write_bytes(bytes(data))
    result = lantai(settings, "verify", "--json")
    assert result.returncode == 1
    problems = json.loads(result.stdout)["problems"]
    assert [(p["object"], p["file"], p["problem"]) for p in problems] == [
        ("Z-FLIP", "v1/content/content/正文.pdf", "digest_mismatch")]
    human = lantai(settings, "verify", "Z-FLIP")
    assert human.returncode == 1 and "正文.pdf" in human.stdout


def test_tampered_audit_entry_fails_audit_verify(settings: Settings, tmp_path: Path) -> None:
    lantai(settings, "init")
    lantai(settings, "ingest", str(write_item(tmp_path, SipSpec("Z-AUD"))))
    journal = settings.audit_journal
    lines = journal.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[1])
    entry["target"] = "Z-OTHER"
    lines[1] = json.dumps(entry, ensure_ascii=False)
    journal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    result = lantai(settings, "audit", "verify", "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["first_bad_seq"] == 2


def test_rejected_ingest_exits_1_and_bad_usage_exits_2(settings: Settings, tmp_path: Path) -> None:
    lantai(settings, "init")
    bad = write_item(tmp_path, SipSpec("Z-BAD", files={"正文.pdf": b"%PDF"}, declared_sizes={"正文.pdf": 7}))
    result = lantai(settings, "ingest", str(bad), "--json")
    assert result.returncode == 1
    assert json.loads(result.stdout)["items"][0]["status"] == "rejected"
    missing = lantai(settings, "ingest", str(tmp_path / "nope"), "--json")
    assert missing.returncode in (1, 2)
    assert lantai(settings, "show", "NO-SUCH-ID").returncode == 2
    assert lantai(settings, "verify", "--algorithm", "md5").returncode == 2


def test_commands_refuse_an_uninitialised_home(settings: Settings) -> None:
    result = lantai(settings, "show", "X", "--json")
    assert result.returncode == 2
    assert "lantai init" in json.loads(result.stdout)["message"]


def test_rebuild_from_store_alone(settings: Settings, tmp_path: Path) -> None:
    lantai(settings, "init")
    lantai(settings, "ingest", str(write_batch(tmp_path, specs(3))))
    if settings.database_url is None:
        (settings.home / "catalog.sqlite3").unlink()
        for extra in settings.home.glob("catalog.sqlite3-*"):
            extra.unlink()
    result = lantai(settings, "rebuild", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["items"] == 3
    assert json.loads(lantai(settings, "show", "Z109-WS-2025-00002", "--json").stdout)["record_id"] == "Z109-WS-2025-00002"
    assert lantai(settings, "audit", "verify").returncode == 0
