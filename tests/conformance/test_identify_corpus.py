"""Agreement of ``identify`` with the PUIDs stated in ../shared/corpus/format-corpus (goal ≥ 95 %).

Only rows with a stated ``expected_puid`` count; the cross-reference manifest adds PRONOM skeleton
files and synthetic files that must stay UNKNOWN. Rows whose file is not present are skipped (the
curated selection does not hold every cross-referenced file).
"""

from __future__ import annotations

import csv
from pathlib import Path

from lantai.formats.identify import identify


def _rows(corpus_dir: Path) -> list[tuple[Path, str]]:
    base = corpus_dir / "format-corpus"
    rows: list[tuple[Path, str]] = []
    for name in ("manifest.csv", "manifest_crossref_archivematica.csv"):
        manifest = base / name
        if not manifest.is_file():
            continue
        with open(manifest, newline="", encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                expected = (row.get("expected_puid") or "").strip()
                path = (base / row["path"]).resolve()
                if expected and path.is_file():
                    rows.append((path, "UNKNOWN" if expected.startswith("UNKNOWN") else expected))
    return rows


def test_identification_agrees_with_stated_puids(corpus_dir: Path) -> None:
    rows = _rows(corpus_dir)
    assert rows, "no rows with a stated PUID"
    misses = []
    for path, expected in rows:
        info = identify(path)
        got = info.puid if info.puid and info.basis != "none" else "UNKNOWN"
        if got != expected:
            misses.append((path.name, expected, got, info.basis))
    agreement = 1 - len(misses) / len(rows)
    print(f"\nformat identification: {len(rows) - len(misses)}/{len(rows)} stated PUIDs agree ({agreement:.1%})")
    for miss in misses:
        print("  miss:", *miss)
    assert agreement >= 0.95


def test_no_crash_on_every_corpus_file(corpus_dir: Path) -> None:
    files = [p for p in (corpus_dir / "format-corpus" / "files").rglob("*") if p.is_file()]
    for path in files:
        info = identify(path)
        assert info.basis in {"signature", "container", "ofd", "extension", "none", "error"}


def test_signature_index_equals_fido_on_every_corpus_file(corpus_dir: Path) -> None:
    """The indexed matcher must give fido's match list (PUIDs, signatures, order) on every file."""
    from lantai.formats.identify import _buffers, get_identifier

    identifier = get_identifier()
    fido = identifier._fido
    files = [p for p in corpus_dir.rglob("*") if p.is_file() and p.stat().st_size > 0]
    differ = []
    for path in files:
        with open(path, "rb") as fh:
            bof, eof = _buffers(fh, path.stat().st_size)
        expected = [(fido.get_puid(f), name) for f, name in fido.match_formats(bof, eof)]
        if [(fido.get_puid(f), name) for f, name in identifier._index.match(bof, eof)] != expected:
            differ.append(path.name)
    print(f"\nsignature index vs fido match_formats: {len(files) - len(differ)}/{len(files)} files equal")
    assert not differ
