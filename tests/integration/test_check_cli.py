"""``lantai check`` end to end: clamd with the EICAR test database, the JSON schema, exit codes,
reports (HTML, PDF), catalogue and audit records, time limits and hostile input."""

from __future__ import annotations

import io
import json
import signal
import time
import zipfile
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lantai.checks.clamav import EICAR, ClamdServer
from lantai.checks.runner import check_paths
from lantai.cli.check import check_command
from tests.sipfactory import SipSpec, write_item
from tests.unit.test_checks_properties import good_spec, nested_zip, real_pdf

pytestmark = [pytest.mark.clamd, pytest.mark.skipif(ClamdServer.binary() is None, reason="clamd is not installed")]


@pytest.fixture(scope="module")
def clamd():  # type: ignore[no-untyped-def]
    with ClamdServer() as server:
        yield server


@pytest.fixture
def scanning(clamd, monkeypatch):  # type: ignore[no-untyped-def]
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", clamd.socket)
    monkeypatch.setenv("LANTAI_HOME", "/nonexistent-lantai-home")
    return clamd


def cli(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    app.command("check")(check_command)
    app.command("noop")(lambda: None)
    result = CliRunner().invoke(app, ["check", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def test_good_item_passes_and_json_follows_the_schema(scanning, tmp_path: Path) -> None:
    item = write_item(tmp_path, good_spec())
    code, out = cli(str(item), "--stage", "gd", "--json")
    data = json.loads(out)
    assert code == 0, [r for r in data["items"][0]["results"] if r["status"] == "fail"]
    assert set(data) >= {"stage", "profile", "items", "summary"} and data["stage"] == "gd"
    entry = data["items"][0]
    assert set(entry) >= {"id", "path", "files", "results"} and entry["id"] == "Z109-WS-2025-00001"
    pdf = entry["files"][0]
    assert set(pdf) == {"path", "size", "sm3", "format", "pdfa"} and len(pdf["sm3"]) == 64
    assert set(pdf["format"]) == {"puid", "mime", "name", "version"} and pdf["format"]["puid"].startswith("fmt/")
    assert pdf["pdfa"]["declared"] is None and pdf["pdfa"]["compliant"] is None
    for result in entry["results"]:
        assert set(result) >= {"code", "property", "check", "status", "message", "details"}
    virus = [r for r in entry["results"] if r["code"] == "4-1"]
    assert virus[0]["status"] == "pass" and "ClamAV" in virus[0]["message"]
    assert data["summary"]["items"] == 1 and data["summary"]["passed"] == 1
    assert data["summary"]["by_code"]["4-1"]["pass"] == 1


def test_eicar_is_found_plain_and_inside_a_zip(scanning, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("inner/readme.txt", EICAR)
    item = write_item(tmp_path, SipSpec("Z-V", files={"正文.pdf": real_pdf(), "附件.zip": buf.getvalue()}))
    (tmp_path / "eicar.com").write_bytes(EICAR)
    report = check_paths([item, tmp_path / "eicar.com"], workers=2).to_dict()
    for entry in report["items"]:
        infected = [r for r in entry["results"] if r["rule"] == "4-1a"]
        assert infected and infected[0]["status"] == "fail", entry["id"]
    assert report["summary"]["failed"] == 2


def test_unreachable_scanner_and_too_large_files_are_unscanned(scanning, tmp_path: Path, monkeypatch) -> None:
    from lantai.checks.profiles import load_profile, parse_profile

    item = write_item(tmp_path, good_spec())
    text = (Path(load_profile.__code__.co_filename).with_name("profiles") / "default.toml").read_text()
    small = parse_profile(text.replace("max_file_bytes = 104857600", "max_file_bytes = 10"), "small")
    rules = {r["rule"]: r["status"] for r in check_paths([item], profile=small, workers=0).to_dict()["items"][0]["results"]}
    assert rules.get("4-1b") == "unscanned"
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", str(tmp_path / "no.sock"))
    report = check_paths([item], workers=0)
    assert not report.ok
    assert [r.status for r in report.items[0].results if r.code == "4-1"] == ["unscanned"]


def test_exit_codes_and_reports(scanning, tmp_path: Path) -> None:
    bad = write_item(tmp_path / "bad", SipSpec("Z-T", files={"正文.pdf": real_pdf()[:40]}))
    html, pdf = tmp_path / "r.html", tmp_path / "r.pdf"
    code, out = cli(str(bad), "--report", str(html))
    assert code == 1 and "Z-T" in out and "3-2c" in out
    assert "四性检测报告" in html.read_text(encoding="utf-8") and "3-2c" in html.read_text(encoding="utf-8")
    assert cli(str(bad), "--report", str(pdf))[0] == 1
    import pikepdf

    with pikepdf.open(pdf) as doc:
        fonts = {str(f.get("/BaseFont")) for page in doc.pages for f in page.Resources.Font.values()}
    assert any("CJK" in f or "WenQuanYi" in f for f in fonts)
    assert cli(str(tmp_path / "missing"))[0] == 2
    assert cli(str(bad), "--stage", "xx")[0] == 2
    assert cli(str(bad), "--profile", "no-such-profile")[0] == 2


def test_hostile_input_fails_with_reasons_and_never_crashes(scanning, tmp_path: Path) -> None:
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("zeros.bin", bytes(300 * 1024 * 1024))
    (hostile / "bomb.zip").write_bytes(bomb.getvalue())
    (hostile / "nested.zip").write_bytes(nested_zip(8))
    (hostile / "bomb.xml").write_bytes(b'<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]><l>&b;</l>')
    (hostile / "png-named.pdf").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    (hostile / "locked.pdf").write_bytes(real_pdf(encrypt=True))
    (hostile / "truncated.pdf").write_bytes(real_pdf()[:60])
    (hostile / "broken.ofd").write_bytes(b"PK\x03\x04broken")
    (hostile / "name\x07bell.txt").write_bytes(b"text")
    started = time.monotonic()
    code, out = cli(str(hostile), "--json")
    assert time.monotonic() - started < 120
    data = json.loads(out)
    assert code == 1 and data["summary"]["items"] == 8
    by_name = {Path(i["path"]).name: i for i in data["items"]}
    for name, entry in by_name.items():
        assert entry["status"] == "failed", (name, entry["results"])
        assert all(r["message"] for r in entry["results"])
    rules = {name: {r["rule"] for r in entry["results"] if r["status"] in ("fail", "unscanned")}
             for name, entry in by_name.items()}
    assert rules["bomb.zip"] & {"3-4c", "4-1d"}
    assert "3-4c" in rules["nested.zip"]
    assert "3-2c" in rules["bomb.xml"]
    assert "3-4a" in rules["locked.pdf"]
    assert "3-2c" in rules["truncated.pdf"]
    assert "4-2d" in rules["name\x07bell.txt"]


def _slow_check(subject):  # type: ignore[no-untyped-def]
    time.sleep(30)
    return []


def _stuck_check(subject):  # type: ignore[no-untyped-def]
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGALRM})  # the soft limit cannot fire
    time.sleep(60)
    return []


@pytest.mark.parametrize("impl", [_slow_check, _stuck_check])
def test_a_check_past_its_time_limit_fails_and_the_batch_continues(impl, tmp_path: Path, monkeypatch) -> None:
    from lantai.checks import pool, registry
    from lantai.checks.profiles import load_profile

    monkeypatch.setitem(registry.CHECKS, "environment_metadata", impl)
    monkeypatch.setattr(pool, "GRACE_SECONDS", 0.5)
    profile = load_profile("default")
    profile.data["time_limit_seconds"] = 1
    items = [write_item(tmp_path, good_spec(f"Z-{i}")) for i in range(3)]
    started = time.monotonic()
    report = check_paths(items, profile=profile, workers=2).to_dict()
    assert time.monotonic() - started < 20
    assert len(report["items"]) == 3
    for entry in report["items"]:
        env = [r for r in entry["results"] if r["code"] == "3-3"]
        assert env and env[0]["status"] == "fail" and "超时" in env[0]["message"], env
        assert any(r["code"] == "4-2" and r["status"] == "pass" for r in entry["results"])
