"""Ingest with the DA/T 70 gd profile on, over realistic generated 公文, with a real clamd.

* every clean generated item is accepted and its 四性检测 report is stored in its OCFL object;
* every planted defect is caught by the check ``defects.csv`` names (issue 6's mapping), and
  ingest rejects the items whose defects the gd profile must refuse.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from lantai.checks import check_paths
from lantai.demo.generate import generate
from lantai.services.archive import init_archive
from lantai.services.ingest import ingest_paths
from lantai.settings import Settings

ITEMS = 36


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, str]]]:
    out = tmp_path_factory.mktemp("gen") / "batch"
    generate(out, year=2025, items=ITEMS, seed=11, defect_rate=0.35, workers=2)
    with open(out / "defects.csv", encoding="utf-8") as fh:
        defects = list(csv.DictReader(fh))
    return out, defects


def _code(check: str) -> str:
    return check.replace("gd", "").strip()


def test_every_planted_defect_is_caught_by_its_named_check(generated, clamd_socket, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    batch, defects = generated
    assert defects, "the generator planted no defects"
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", clamd_socket)
    report = check_paths([batch], stage="gd", profile="default", settings=Settings(clamd_socket=clamd_socket),
                         workers=2).to_dict()
    failed_codes: dict[str, set[str]] = {}
    for item in report["items"]:
        key = Path(item.get("path") or "").name or item.get("id") or ""
        failed_codes.setdefault(key, set()).update(
            r["code"] for r in item["results"] if r["status"] in ("fail", "unscanned"))
    everything = set().union(*failed_codes.values())
    missed = []
    for defect in defects:
        expected = _code(defect["check"])
        if defect["item"] in failed_codes:
            if expected not in failed_codes[defect["item"]]:
                missed.append(defect)
        elif expected not in everything:  # batch-level faults (register totals) land on the batch
            missed.append(defect)
    assert not missed, missed


def test_gd_ingest_accepts_clean_items_and_rejects_defective_ones(generated, clamd_socket, tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    batch, defects = generated
    monkeypatch.setenv("LANTAI_INGEST_PROFILE", "default")
    monkeypatch.setenv("LANTAI_CLAMD_SOCKET", clamd_socket)
    settings = Settings(home=tmp_path / "archive", fsync=False, workers=2, clamd_socket=clamd_socket)
    refused_at_ingest = {d["item"] for d in defects if _code(d["check"]) in ("1-1", "1-3", "2-2", "2-3", "3-2", "3-4", "4-1")}
    items = sorted(p for p in batch.iterdir() if p.is_dir())
    with init_archive(settings) as archive:
        report = ingest_paths(archive, items)
        by_item = {Path(o.source).name: o for o in report.items}
        for name, outcome in by_item.items():
            if name in refused_at_ingest:
                assert outcome.status == "rejected", (name, outcome.to_dict())
                assert any(f.code.startswith("gd-") for f in outcome.findings)
        clean = [n for n in by_item if n not in {d["item"] for d in defects}]
        assert clean
        for name in clean:
            assert by_item[name].status == "accepted", by_item[name].to_dict()
            stored = json.loads(archive.store.read_bytes(by_item[name].record_id or "", "lantai/check-report.json"))
            assert stored["stage"] == "gd" and stored["summary"]["failed"] == 0
