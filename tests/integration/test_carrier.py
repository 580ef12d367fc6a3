"""Offline carriers (issue 18 point 6): volumes written from a demo archive, checked without the
archive file by file, registered, and listed when their periodic read check is due."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from lantai.catalog.carriers import CarrierCheck
from lantai.catalog.models import Item
from lantai.errors import BadInput, Conflict
from lantai.packages import carrier as layout
from lantai.services.archive import open_archive
from lantai.services.carriers import export_carrier, list_carriers, register_carrier, verify_carrier
from tests.integration.test_backup import ITEMS, demo  # noqa: F401  (the module's demo archive fixture)


def test_export_splits_into_volumes_that_verify_standalone(demo: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    with open_archive(demo["settings"]) as archive:
        result = export_carrier(archive, tmp_path / "载体", volume_size=4 * 1024 * 1024 + 900_000, year=2025,
                                actor="tester")
        with archive.sessions() as session:
            expected = set(session.scalars(select(Item.record_id).where(Item.year == 2025)))
    assert result.items == len(expected) == ITEMS and len(result.volumes) >= 2
    listed: set[str] = set()
    for volume in result.volumes:
        directory = Path(volume["directory"])
        assert volume["bytes"] <= 900_000 or volume["items"] == 1
        description = layout.read_description(directory)
        assert description["载体编号"] == volume["number"] and description["清单SM3"] == volume["manifest_sm3"]
        packages = sorted(p.name for p in (directory / layout.RECORDS_DIR).rglob("*.eep"))
        listed |= {name[:-4] for name in packages}
        rows = list(load_workbook(directory / layout.CATALOGUE_XLSX).active.iter_rows(values_only=True))
        assert len(rows) == volume["items"] + 1 and rows[0][0] == "序号"
        assert (directory / layout.CATALOGUE_XML).read_bytes().count("<文件>".encode()) == volume["items"]
    assert listed == expected  # every item once, on exactly one volume

    # Standalone: a separate process with no archive at all.
    env = dict(os.environ, LANTAI_HOME=str(tmp_path / "没有档案库"))
    env.pop("LANTAI_DATABASE_URL", None)
    run = subprocess.run([sys.executable, "-m", "lantai.cli.main", "carrier", "verify", str(tmp_path / "载体"), "--json"],
                         env=env, capture_output=True, timeout=300)
    assert run.returncode == 0, run.stderr.decode()
    report = json.loads(run.stdout)
    assert report["ok"] and report["packages"] == ITEMS and report["recorded"] == []
    assert not (tmp_path / "没有档案库").exists()


def test_a_damaged_carrier_is_reported_file_by_file(demo: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    with open_archive(demo["settings"]) as archive:
        result = export_carrier(archive, tmp_path / "out", volume_size=100 * 10**6, year=2025, kind="硬盘")
    volume = Path(result.volumes[0]["directory"])
    package = sorted(volume.rglob("*.eep"))[0]
    data = bytearray(package.read_bytes())
    data[len(data) // 2] ^= 0x01
    package.write_bytes(bytes(data))
    (volume / layout.CATALOGUE_XLSX).unlink()
    (volume / "多出的文件.txt").write_text("x", encoding="utf-8")
    report = layout.verify_carrier(volume)
    found = {(p["file"], p["problem"]) for p in report.problems}
    rel = package.relative_to(volume).as_posix()
    assert {(rel, "digest"), (layout.CATALOGUE_XLSX, "missing"), ("多出的文件.txt", "extra")} <= found
    assert not report.ok
    # A rewritten manifest is caught by the SM3 the description states.
    manifest = volume / layout.MANIFEST
    manifest.write_text(manifest.read_text(encoding="utf-8").replace(rel, rel + ".x"), encoding="utf-8")
    assert (layout.MANIFEST, "digest") in {(p["file"], p["problem"]) for p in layout.verify_carrier(volume).problems}


def test_register_list_due_and_a_recorded_check(demo: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    with open_archive(demo["settings"]) as archive:
        result = export_carrier(archive, tmp_path / "reg", volume_size=100 * 10**6, year=2025)
        volume = Path(result.volumes[0]["directory"])
        number = result.volumes[0]["number"]
        row = register_carrier(archive, number, kind="光盘", location="异地", written_on=dt.date(2024, 1, 5),
                               interval_days=365, volume=volume, actor="archivist")
        assert row["manifest_sm3"] == result.volumes[0]["manifest_sm3"] and row["items"] == ITEMS
        register_carrier(archive, f"{number}-封存", kind="硬盘", location="封存", actor="archivist")
        with pytest.raises(Conflict):
            register_carrier(archive, number, kind="光盘", location="利用")
        with pytest.raises(BadInput):
            register_carrier(archive, "X-1", kind="光盘", location="库房")
        due = list_carriers(archive, due_only=True, as_of=dt.date(2025, 6, 1))
        assert [r["number"] for r in due] == [number]
        checked = verify_carrier(volume, archive, actor="archivist")
        assert checked["ok"] and checked["recorded"] == [number]
        assert list_carriers(archive, due_only=True) == []
        with archive.sessions() as session:
            assert [c.ok for c in session.scalars(select(CarrierCheck))] == [True]
        actions = [r.action for r in archive.audit.iter_journal() if not isinstance(r, Exception)]
        assert {"carrier.exported", "carrier.registered", "carrier.verified"} <= set(actions)


def test_cli_carrier_commands_speak_json_and_exit_codes(demo: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    from tests.integration.test_backup import _cli

    def run(*args: str) -> tuple[int, Any]:
        proc = _cli(demo["settings"], "carrier", *args, "--json")
        out, err = proc.communicate(timeout=300)
        return proc.returncode, json.loads(out or b"null") if out.strip() else err.decode()

    code, exported = run("export", "-o", str(tmp_path / "c"), "--year", "2025", "--volume-size", "1GB", "--type", "硬盘")
    assert code == 0 and exported["items"] == ITEMS and len(exported["volumes"]) == 1
    code, error = run("export", "-o", str(tmp_path / "d"), "--volume-size", "lots")
    assert code == 2 and error["code"] == "bad_input"
    code, error = run("register", "C-1", "--type", "软盘", "--location", "异地")
    assert code == 2 and "载体类型" in error["message"]
    volume = exported["volumes"][0]["directory"]
    code, row = run("register", "C-1", "--type", "硬盘", "--location", "利用", "--date", "2020-01-01", "--volume", volume)
    assert code == 0 and row["due"] is True
    code, rows = run("list", "--due")
    assert code == 0 and "C-1" in [r["number"] for r in rows]
    Path(volume, layout.CATALOGUE_XML).write_text("<文件目录/>", encoding="utf-8")
    code, report = run("verify", volume)
    assert code == 1 and {p["file"] for p in report["problems"]} >= {layout.CATALOGUE_XML}
