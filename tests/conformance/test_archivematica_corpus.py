"""The whole archivematica-sampledata subset through ``lantai check`` (single files): no crash,
no stack trace, EICAR detected in every sample its manifest says holds it."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from lantai.checks.clamav import ClamdServer
from lantai.cli.check import check_command

pytestmark = pytest.mark.shared


@pytest.mark.slow
def test_sampledata_runs_without_crash_and_finds_every_eicar(corpus_dir: Path, tmp_path: Path, monkeypatch) -> None:
    root = corpus_dir / "archivematica-sampledata"
    if not (root / "manifest.csv").is_file():
        pytest.skip("archivematica-sampledata is absent")
    if ClamdServer.binary() is None:
        pytest.skip("clamd is not installed")
    with open(root / "manifest.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    infected = {r["path"] for r in rows if r["check_tag"].startswith("malware-scan: infected")}
    app = typer.Typer()
    app.command("check")(check_command)
    app.command("noop")(lambda: None)
    report_path = tmp_path / "corpus.json"
    with ClamdServer() as server:
        monkeypatch.setenv("LANTAI_CLAMD_SOCKET", server.socket)
        monkeypatch.setenv("LANTAI_HOME", str(tmp_path / "no-archive"))
        result = CliRunner().invoke(app, ["check", str(root / "files"), "--json", "--report", str(report_path)])
    assert result.exit_code in (0, 1), result.output[-2000:]
    assert "Traceback" not in result.output
    data = json.loads(result.output)
    on_disk = sum(1 for p in (root / "files").rglob("*") if p.is_file())
    assert data["summary"]["items"] >= on_disk - 5  # SIP-looking directories are checked as one item
    crashed = [(i["path"], r["message"]) for i in data["items"] for r in i["results"] if r["rule"].endswith("/z")]
    assert not crashed, crashed[:5]
    found = {str(Path(i["path"]).relative_to(root)) for i in data["items"]
             if any(r["rule"] == "4-1a" for r in i["results"])}
    missing = infected - found
    print(f"\nsampledata: {data['summary']['items']} items, {data['summary']['failed']} failed, "
          f"EICAR {len(infected & found)}/{len(infected)}")
    assert not missing, missing
    assert json.loads(report_path.read_text(encoding="utf-8"))["summary"] == data["summary"]
