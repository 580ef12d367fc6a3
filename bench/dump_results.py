"""Dump what a code tree answers for a set of files, to compare two trees after a speed-up.

A change made for speed must not change a single answer. This runs one tree's code (``--tree``,
default this checkout) over the files and writes one JSON line per file: ``identify`` (PUID, MIME,
name, version, basis, warnings, extension mismatch), ``text`` (search text of DOCX/XLSX/OFD/PDF, or
the error), ``pdfa`` (``validate_pdfa``'s verdict, violations and warnings). Run it once per tree
and compare the outputs::

    python bench/dump_results.py --tree /tmp/main identify FILES… > main.jsonl
    python bench/dump_results.py identify FILES… > this.jsonl
    python bench/dump_results.py --compare main.jsonl this.jsonl

A FILES argument that is a directory stands for every file under it (sorted).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

TEXT_SUFFIXES = {".docx", ".xlsx", ".ofd", ".pdf"}


def files_of(arguments: list[str]) -> list[Path]:
    found: list[Path] = []
    for argument in arguments:
        path = Path(argument)
        found.extend(sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path])
    return found


def answer(kind: str, path: Path) -> Any:
    if kind == "identify":
        from lantai.formats.identify import identify

        return identify(path).to_dict()
    if kind == "text":
        from lantai.search.extract import ExtractionFailed, extract_text

        try:
            return {"text": extract_text(path)}
        except ExtractionFailed as exc:
            return {"error": str(exc)}
    if kind == "pdfa":
        from lantai.formats.pdfa import validate_pdfa

        return validate_pdfa(path).to_dict()
    raise SystemExit(f"unknown kind {kind}")


def wanted(kind: str, path: Path) -> bool:
    if kind == "text":
        return path.suffix.lower() in TEXT_SUFFIXES
    if kind == "pdfa":
        return path.suffix.lower() == ".pdf"
    return True


def compare(first: Path, second: Path) -> int:
    def load(path: Path) -> dict[str, Any]:
        with open(path, encoding="utf-8") as fh:
            return {row["path"]: row["answer"] for row in map(json.loads, fh)}

    a, b = load(first), load(second)
    differ = sorted(p for p in a.keys() & b.keys() if a[p] != b[p])
    missing = sorted(a.keys() ^ b.keys())
    print(json.dumps({"compared": len(a.keys() & b.keys()), "identical": len(a.keys() & b.keys()) - len(differ),
                      "differ": differ[:20], "differ_count": len(differ), "only_in_one": missing[:20]},
                     ensure_ascii=False, indent=1))
    return 1 if differ or missing else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tree", help="code tree whose lantai package answers (default: this checkout)")
    parser.add_argument("--compare", nargs=2, metavar="JSONL", help="compare two dumps instead")
    parser.add_argument("kind", nargs="?", choices=("identify", "text", "pdfa"))
    parser.add_argument("files", nargs="*")
    args = parser.parse_args()
    if args.compare:
        return compare(Path(args.compare[0]), Path(args.compare[1]))
    sys.path.insert(0, str(Path(args.tree or Path(__file__).resolve().parents[1]).resolve()))
    for path in files_of(args.files):
        if wanted(args.kind, path):
            row = {"path": str(path), "answer": answer(args.kind, path)}
            print(json.dumps(row, ensure_ascii=False, sort_keys=True, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
