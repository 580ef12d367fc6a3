"""lantai check over a DA/T 48 EEP: the package is verified (1-1 signatures, 1-5/2-4 structure), then
the SIP inside it is checked like any item."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.checks.runner import check_paths
from lantai.crypto import keystore
from lantai.packages.eep import Signer, build_eep
from tests.integration.test_eep import write_sip


@pytest.fixture(scope="module")
def package(tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("eep")
    store = keystore.init_keystore(base / "keys", "某市档案馆")
    return build_eep(write_sip(base / "sip"), base / "item.eep", Signer.from_keystore(store))


def _results(path: Path, code: str) -> list:  # type: ignore[type-arg]
    report = check_paths([path], stage="gd", workers=0)
    assert len(report.items) == 1
    return [r for r in report.items[0].results if r.code == code]


def test_valid_eep_passes_1_1_and_its_sip_is_checked(package: Path) -> None:
    report = check_paths([package], stage="gd", workers=0)
    item = report.items[0]
    assert item.id == "Z001-2025-0007"  # the extracted SIP's metadata was read
    fixity = [r for r in item.results if r.code == "1-1"]
    assert fixity and all(r.status == "pass" for r in fixity), fixity
    assert all(r.status == "pass" for r in item.results if r.code in ("1-5", "2-4")), item.results
    assert {f.path for f in item.files} >= {"正文.pdf"}


def test_tampered_eep_fails_1_1_with_the_reason(package: Path, tmp_path: Path) -> None:
    data = package.read_bytes()
    assert "关于A&amp;B项目的批复".encode() in data
    bad = tmp_path / "tampered.eep"
    bad.write_bytes(data.replace("关于A&amp;B项目的批复".encode(), "关于C&amp;D项目的批复".encode()))
    fixity = _results(bad, "1-1")
    failed = [r for r in fixity if r.status == "fail"]
    assert failed, fixity
    assert failed[0].rule == "1-1k"
    assert "eep-signature" in failed[0].message and "tampered.eep" in failed[0].message
    structure = _results(bad, "1-5")
    assert any(r.status == "fail" for r in structure)
