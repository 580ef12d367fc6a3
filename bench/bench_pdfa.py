"""PDF/A validator agreement with the veraPDF corpus (../shared/corpus/verapdf-corpus).

    .venv/bin/python bench/bench_pdfa.py [--corpus ../shared/corpus/verapdf-corpus] [--misses]

Runs ``validate_pdfa`` over every row of ``manifest.csv`` and ``manifest-extended.csv`` (each file
once) and compares ``compliant`` with ``expected_pdfa_compliant``. A *false reject* is a conforming
file the validator fails (a lost record at ingest); a *false pass* is a non-conforming file it
passes. Prints a table per flavour, the worst clauses and files/s, and writes bench/results/pdfa.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import platform
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lantai.formats.pdfa import validate_pdfa

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_CORPUS = ROOT.parent / "shared" / "corpus" / "verapdf-corpus"


def load_rows(corpus: Path) -> list[dict[str, str]]:
    """Both manifests, each path once (the extended manifest repeats nothing, but be safe)."""
    rows: dict[str, dict[str, str]] = {}
    for name in ("manifest.csv", "manifest-extended.csv"):
        with open(corpus / name, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                rows.setdefault(row["path"], row)
    return list(rows.values())


def run(corpus: Path) -> tuple[list[dict[str, Any]], float]:
    """Validate every file; one record per file with the expectation and the verdict."""
    records = []
    started = time.perf_counter()
    for row in load_rows(corpus):
        t0 = time.perf_counter()
        result = validate_pdfa(corpus / row["path"])
        expected = row["expected_pdfa_compliant"] == "true"
        records.append({
            "path": row["path"], "flavour": row["flavour"], "clause": row["clause"], "expected": expected,
            "compliant": result.compliant is True, "seconds": time.perf_counter() - t0,
            "violations": [v["clause"] + ("/" + v["test"] if v.get("test") else "") for v in result.violations],
            "warnings": [w["clause"] for w in getattr(result, "warnings", [])],
        })
    return records, time.perf_counter() - started


def summarise(records: list[dict[str, Any]], elapsed: float) -> dict[str, Any]:
    """Per-flavour and per-clause agreement, false rejects and false passes."""
    def block(group: list[dict[str, Any]]) -> dict[str, Any]:
        agree = sum(1 for r in group if r["compliant"] == r["expected"])
        conforming = sum(1 for r in group if r["expected"])
        false_reject = sum(1 for r in group if r["expected"] and not r["compliant"])
        return {"files": len(group), "agree": agree, "agreement": agree / len(group) if group else 0.0,
                "conforming": conforming, "false_reject": false_reject,
                "false_reject_rate": false_reject / conforming if conforming else 0.0,
                "false_pass": sum(1 for r in group if not r["expected"] and r["compliant"]),
                "seconds": round(sum(r["seconds"] for r in group), 2)}

    flavours: dict[str, list[dict[str, Any]]] = defaultdict(list)
    clauses: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        flavours[r["flavour"]].append(r)
        clauses[f"{r['flavour']} {r['clause']}"].append(r)
    per_clause = {k: block(v) for k, v in sorted(clauses.items())}
    worst = sorted(((k, v) for k, v in per_clause.items() if v["agree"] < v["files"]),
                   key=lambda kv: (kv[1]["agree"] - kv[1]["files"], kv[0]))
    return {"total": block(records), "flavours": {k: block(v) for k, v in sorted(flavours.items())},
            "clauses": per_clause, "worst_clauses": [k for k, _ in worst[:15]],
            "files_per_second": len(records) / elapsed if elapsed else 0.0, "elapsed_seconds": round(elapsed, 2),
            "machine": platform.machine(), "python": platform.python_version(),
            "misses": [{k: r[k] for k in ("path", "expected", "violations", "warnings")}
                       for r in records if r["compliant"] != r["expected"]]}


def print_table(summary: dict[str, Any], show_misses: bool) -> None:
    header = f"{'flavour':<10}{'files':>7}{'agree':>7}{'agree%':>8}{'f-rej':>7}{'f-pass':>8}{'seconds':>9}"
    print(header)
    print("-" * len(header))
    for name, b in [*summary["flavours"].items(), ("total", summary["total"])]:
        print(f"{name:<10}{b['files']:>7}{b['agree']:>7}{b['agreement']:>8.1%}{b['false_reject']:>7}"
              f"{b['false_pass']:>8}{b['seconds']:>9.1f}")
    total = summary["total"]
    print(f"\nagreement {total['agreement']:.1%}; false rejections {total['false_reject']}/{total['conforming']} "
          f"({total['false_reject_rate']:.1%}); {summary['files_per_second']:.1f} files/s")
    print("\nworst clauses (agree/files, false reject, false pass):")
    for key in summary["worst_clauses"]:
        b = summary["clauses"][key]
        print(f"  {key:<22}{b['agree']:>4}/{b['files']:<4} f-rej {b['false_reject']:<3} f-pass {b['false_pass']}")
    if show_misses:
        for miss in summary["misses"]:
            print("  miss:", "pass" if miss["expected"] else "fail", Path(miss["path"]).name, miss["violations"],
                  miss["warnings"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--misses", action="store_true", help="list every disagreeing file")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "pdfa.json")
    args = parser.parse_args()
    if not (args.corpus / "manifest.csv").is_file():
        sys.exit(f"corpus not found: {args.corpus}")
    records, elapsed = run(args.corpus)
    summary = summarise(records, elapsed)
    print_table(summary, args.misses)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(summary, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
