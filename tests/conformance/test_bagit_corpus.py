"""BagIt validation over the Library of Congress conformance suite (../shared/corpus, skipped when absent).

The manifest's categories decide the expectation: ``valid`` must pass, ``invalid`` must fail,
``warning`` must pass *with* a warning, and the OS-specific ``linux-only`` / ``windows-only``
attacks are invalid. Lantai refuses the Windows path attacks on every OS (bags travel between
systems), so both OS-specific categories are asserted invalid here rather than skipped.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from lantai.packages.bag import validate_bag

pytestmark = pytest.mark.shared

SUITE = "bagit-conformance-suite"


def _rows() -> list[dict[str, str]]:
    from tests.conftest import SHARED_DIR

    manifest = SHARED_DIR / "corpus" / SUITE / "manifest.csv"
    if not manifest.is_file():
        return []
    with open(manifest, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


ROWS = _rows()


@pytest.fixture(scope="module")
def suite(corpus_dir: Path) -> Path:
    path = corpus_dir / SUITE
    if not (path / "manifest.csv").is_file():
        pytest.skip(f"{SUITE} is absent")
    return path


def test_manifest_lists_every_category(suite: Path) -> None:
    categories = {row["category"] for row in ROWS}
    assert {"valid", "invalid", "warning", "linux-only", "windows-only"} <= categories
    assert all((suite / row["path"]).is_dir() for row in ROWS)


@pytest.mark.parametrize("row", ROWS, ids=[f"{r['bagit_version']}/{r['category']}/{r['bag_name']}" for r in ROWS])
def test_bag_outcome_matches_manifest(suite: Path, row: dict[str, str]) -> None:
    report = validate_bag(suite / row["path"])
    category = row["category"]
    if category == "valid":
        assert report.valid, [f.message_en for f in report.findings]
    elif category == "warning":
        assert report.valid, [f.message_en for f in report.findings]
        assert report.warnings, "a warning-category bag must be reported with a warning"
    else:  # invalid, linux-only, windows-only
        assert not report.valid, f"{row['path']} should be invalid"
        assert all(f.message and f.message_en and f.code for f in report.findings)


def test_reasons_are_typed(suite: Path) -> None:
    corrupt = validate_bag(suite / "files/v0.97/invalid/corrupt-data-file")
    mismatch = [f for f in corrupt.findings if f.code == "bag-checksum"]
    assert mismatch and mismatch[0].params["path"].startswith("data/")
    assert {"algorithm", "expected", "found"} <= set(mismatch[0].params)
    escape = validate_bag(suite / "files/v0.97/windows-only/out-of-scope-file-paths-using-absolute-path-for-fetch")
    assert [f.code for f in escape.findings if f.is_error] == ["bag-fetch-path"]
