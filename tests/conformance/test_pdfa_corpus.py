"""Agreement of ``validate_pdfa`` with ../shared/corpus/verapdf-corpus/manifest.csv (goal ≥ 95 %).

Each veraPDF test file is atomic: ``-pass-`` files conform to their flavour, ``-fail-`` files break
exactly the rule of their clause. Prints overall agreement and the misses per clause.
"""

from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

from lantai.formats.pdfa import validate_pdfa


def test_pdfa_agrees_with_verapdf_corpus(corpus_dir: Path) -> None:
    base = corpus_dir / "verapdf-corpus"
    with open(base / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    misses: list[tuple[str, str, bool, list[str]]] = []
    for row in rows:
        result = validate_pdfa(base / row["path"])
        expected = row["expected_pdfa_compliant"] == "true"
        flavour = row["flavour"].split("-")[-1].lower()
        assert result.declared is not None, row["path"]
        if expected:
            assert result.declared == flavour, (row["path"], result.declared)
        if (result.compliant is True) != expected:
            misses.append((row["clause"], Path(row["path"]).name, expected,
                           [v["clause"] for v in result.violations]))
    agreement = 1 - len(misses) / len(rows)
    print(f"\nPDF/A: {len(rows) - len(misses)}/{len(rows)} agree with veraPDF-corpus ({agreement:.1%})")
    by_clause = Counter(miss[0] for miss in misses)
    for clause, count in sorted(by_clause.items()):
        print(f"  clause {clause}: {count} miss(es)")
    for miss in misses:
        print("  miss:", *miss)
    assert agreement >= 0.95


def test_fail_files_name_their_clause(corpus_dir: Path) -> None:
    """A failing file should be failed for (at least) the clause it was written to break."""
    base = corpus_dir / "verapdf-corpus"
    with open(base / "manifest.csv", newline="", encoding="utf-8") as fh:
        rows = [r for r in csv.DictReader(fh) if r["expected_pdfa_compliant"] == "false"]
    named = sum(1 for r in rows if any(v["clause"] == r["clause"] for v in validate_pdfa(base / r["path"]).violations))
    print(f"\nPDF/A fail files whose own clause is reported: {named}/{len(rows)}")
    assert named / len(rows) >= 0.7
