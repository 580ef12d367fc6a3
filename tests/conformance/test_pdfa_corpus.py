"""Agreement of ``validate_pdfa`` with the veraPDF corpus (../shared/corpus/verapdf-corpus).

Both manifests together (``manifest.csv`` + ``manifest-extended.csv``, 851 files of PDF/A-1a/1b/
2a/2b/2u/3b): each veraPDF test file is atomic — ``-pass-`` files conform to their flavour,
``-fail-`` files break exactly the rule of their clause. Measured agreement is 99.4 % (846/851)
with no conforming file rejected (``bench/bench_pdfa.py`` prints the table per flavour and clause); the
thresholds below are what the validator reaches, so a regression fails the test. A conforming
file rejected at ingest is a lost record, hence the separate bound on false rejections.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import pytest

from lantai.formats.pdfa import validate_pdfa

AGREEMENT = 0.99
FALSE_REJECTIONS = 0.01
MANIFESTS = ("manifest.csv", "manifest-extended.csv")


def _rows(base: Path) -> list[dict[str, str]]:
    rows: dict[str, dict[str, str]] = {}
    for name in MANIFESTS:
        if not (base / name).is_file():
            pytest.skip(f"{name} is absent from {base}")
        with open(base / name, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.setdefault(row["path"], row)
    return list(rows.values())


@pytest.fixture(scope="module")
def verdicts(corpus_dir: Path) -> list[tuple[dict[str, str], object]]:
    base = corpus_dir / "verapdf-corpus"
    return [(row, validate_pdfa(base / row["path"])) for row in _rows(base)]


def test_pdfa_agrees_with_verapdf_corpus(verdicts) -> None:
    misses: list[tuple[str, str, str, bool, list[str]]] = []
    for row, result in verdicts:
        expected = row["expected_pdfa_compliant"] == "true"
        if (result.compliant is True) != expected:
            misses.append((row["flavour"], row["clause"], Path(row["path"]).name, expected,
                           [v["clause"] for v in result.violations]))
    agreement = 1 - len(misses) / len(verdicts)
    print(f"\nPDF/A: {len(verdicts) - len(misses)}/{len(verdicts)} agree with the veraPDF corpus ({agreement:.1%})")
    for (flavour, clause), count in sorted(Counter((m[0], m[1]) for m in misses).items()):
        print(f"  {flavour} {clause}: {count} miss(es)")
    assert agreement >= AGREEMENT


def test_conforming_files_are_not_rejected(verdicts) -> None:
    conforming = [(row, result) for row, result in verdicts if row["expected_pdfa_compliant"] == "true"]
    rejected = [(Path(row["path"]).name, [v["rule"] for v in result.violations])
                for row, result in conforming if result.compliant is not True]
    print(f"\nPDF/A conforming files rejected: {len(rejected)}/{len(conforming)}", *rejected, sep="\n  ")
    assert len(rejected) / len(conforming) <= FALSE_REJECTIONS


def test_conforming_files_declare_their_flavour(verdicts) -> None:
    for row, result in verdicts:
        if row["expected_pdfa_compliant"] == "true":
            assert result.declared == row["flavour"].split("-")[-1].lower(), row["path"]


def test_fail_files_name_their_clause(verdicts) -> None:
    """A failing file should be failed for (at least) the clause it was written to break."""
    failing = [(row, result) for row, result in verdicts if row["expected_pdfa_compliant"] == "false"]
    named = sum(1 for row, result in failing if any(v["clause"] == row["clause"] for v in result.violations))
    print(f"\nPDF/A fail files whose own clause is reported: {named}/{len(failing)}")
    assert named / len(failing) >= 0.9


def test_every_finding_is_registered_and_bilingual(verdicts) -> None:
    """Every violation the corpus provokes resolves to a registry rule; English text has no CJK."""
    for _row, result in verdicts:
        for finding in [*result.violations, *result.warnings]:
            assert finding["test"] != "0", finding
            assert finding["message_zh"]
            assert not any("\u3000" <= ch <= "\u9fff" for ch in finding["message_en"]), finding
