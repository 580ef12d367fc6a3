"""BagIt: export any selection as a BagIt 1.0 bag, validate it, import it into another archive."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import bagit
import pytest

from lantai.errors import ValidationFailed
from lantai.packages.bag import validate_bag
from lantai.services.archive import init_archive
from lantai.services.ingest import ingest_paths
from lantai.services.transfer import export_bag, import_bag
from lantai.settings import Settings
from tests.conftest import cli_env
from tests.sipfactory import specs, write_item

PROFILE = 'name = "bag-test"\n[severity]\ncontent_usable = "warning"\nmetadata_unique = "warning"\n'


@pytest.fixture(scope="session")
def clamd(real_clamd: str) -> str:
    """The session's clamd (tests/conftest.py)."""
    return real_clamd


@pytest.fixture(autouse=True)
def _profile(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANTAI_INGEST_PROFILE", "bag-test")


def _archive(settings: Settings):  # type: ignore[no-untyped-def]
    (settings.home / "profiles").mkdir(parents=True, exist_ok=True)
    (settings.home / "profiles" / "bag-test.toml").write_text(PROFILE, encoding="utf-8")
    return init_archive(settings)


@pytest.fixture
def source(settings: Settings, clamd: str, tmp_path: Path):  # type: ignore[no-untyped-def]
    settings = settings.model_copy(update={"clamd_socket": clamd, "workers": 1})
    with _archive(settings) as archive:
        report = ingest_paths(archive, [write_item(tmp_path / "sips", s) for s in specs(3)])
        assert report.counts()["accepted"] == 3
        yield archive


def test_export_validate_import_round_trip(source, tmp_path: Path, clamd: str) -> None:  # type: ignore[no-untyped-def]
    chosen = ["Z109-WS-2025-00001", "Z109-WS-2025-00003"]
    result = export_bag(source, chosen, tmp_path / "bag", actor="test")
    bag = Path(result["bag"])
    assert result["items"] == 2
    assert (bag / "bagit.txt").read_text(encoding="utf-8").startswith("BagIt-Version: 1.0")
    assert {p.name for p in bag.glob("manifest-*.txt")} == {"manifest-sha256.txt", "manifest-sha512.txt"}
    assert sorted(p.name for p in (bag / "data").iterdir()) == chosen
    assert validate_bag(bag).valid
    bagit.Bag(str(bag)).validate()  # the reference library agrees
    target = Settings(home=tmp_path / "other", fsync=False, workers=1, clamd_socket=clamd)
    with _archive(target) as other:
        report = import_bag(other, bag, actor="test")
        assert report.counts()["accepted"] == 2
        for record_id in chosen:
            sent = {f.logical_path: f.sm3 for f in source.store.files(record_id) if f.logical_path.startswith("content/")}
            got = {f.logical_path: f.sm3 for f in other.store.files(record_id) if f.logical_path.startswith("content/")}
            assert sent == got


def test_corrupt_bag_is_invalid_and_not_imported(source, tmp_path: Path, clamd: str) -> None:  # type: ignore[no-untyped-def]
    bag = Path(export_bag(source, ["Z109-WS-2025-00002"], tmp_path / "bag")["bag"])
    payload = bag / "data" / "Z109-WS-2025-00002" / "正文.pdf"
    payload.write_bytes(b"X" + payload.read_bytes()[1:])
    (bag / "data" / "stray.txt").write_text("not listed", encoding="utf-8")
    report = validate_bag(bag)
    codes = {f.code: f for f in report.findings if f.is_error}
    assert {"bag-checksum", "bag-unexpected-file", "bag-oxum"} <= set(codes)
    assert codes["bag-checksum"].params["path"] == "data/Z109-WS-2025-00002/正文.pdf"
    target = Settings(home=tmp_path / "other", fsync=False, workers=1, clamd_socket=clamd)
    with _archive(target) as other:
        with pytest.raises(ValidationFailed):
            import_bag(other, bag)
        assert not list(other.store.iter_object_ids())


def test_unknown_item_is_not_exported(source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    from lantai.errors import NotFound

    with pytest.raises(NotFound):
        export_bag(source, ["Z109-WS-2025-00001", "无此条目"], tmp_path / "bag")
    assert not (tmp_path / "bag").exists() or not any((tmp_path / "bag").iterdir())


def test_cli_validate_exit_codes_and_json(source, settings: Settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    bag = Path(export_bag(source, ["Z109-WS-2025-00001"], tmp_path / "bag")["bag"])
    run = [sys.executable, "-m", "lantai.cli.main", "bag", "validate", str(bag), "--json"]
    good = subprocess.run(run, env=cli_env(settings), capture_output=True, text=True, timeout=120)
    assert good.returncode == 0 and json.loads(good.stdout)["valid"] is True
    (bag / "data" / "Z109-WS-2025-00001" / "元数据.xml").write_bytes(b"<x/>")
    bad = subprocess.run(run, env=cli_env(settings), capture_output=True, text=True, timeout=120)
    data = json.loads(bad.stdout)
    assert bad.returncode == 1 and data["valid"] is False
    assert any(e["code"] == "bag-checksum" for e in data["errors"])
