"""Benchmark: lantai identify (in-process fido + libmagic + containers) against fido's CLI.

Both run over the same files in the same run: every file of ../shared/corpus/format-corpus,
ofd-ofdrw and verapdf-corpus (repeated ``--repeat`` times). Prints a table and writes
bench/results/identify.json. Usage: ``.venv/bin/python bench/bench_identify.py [--repeat N]``.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"
SETS = ("format-corpus/files", "ofd-ofdrw/files", "verapdf-corpus/files")


def corpus_files() -> list[Path]:
    files: list[Path] = []
    for name in SETS:
        base = CORPUS / name
        if base.is_dir():
            files.extend(sorted(p for p in base.rglob("*") if p.is_file()))
    return files


def bench_lantai(files: list[Path]) -> dict:
    from lantai.formats.identify import get_identifier, identify

    start = time.perf_counter()
    get_identifier()
    startup = time.perf_counter() - start
    start = time.perf_counter()
    results = [identify(p) for p in files]
    elapsed = time.perf_counter() - start
    return {"tool": "lantai identify (in-process)", "files": len(files), "startup_s": round(startup, 3),
            "seconds": round(elapsed, 3), "files_per_s": round(len(files) / elapsed, 1),
            "identified": len({str(p) for p, r in zip(files, results, strict=True) if r.identified}),
            "ofd": len({str(p) for p, r in zip(files, results, strict=True) if r.basis == "ofd"})}


def bench_fido_cli(files: list[Path]) -> dict:
    fido = shutil.which("fido", path=str(ROOT / ".venv" / "bin")) or shutil.which("fido")
    if fido is None:
        return {"tool": "fido CLI", "error": "fido not installed"}
    list_file = ROOT / "bench" / "results" / ".fido-input.txt"
    list_file.write_text("\n".join(str(p) for p in files) + "\n", encoding="utf-8")
    start = time.perf_counter()
    proc = subprocess.run([fido, "-q", "-input", str(list_file)], capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    list_file.unlink(missing_ok=True)
    # One line per match: OK,ms,puid,"name","signature",size,"file","mime","matchtype". Count lines
    # with a signature/container basis; fido prints no file index, so repeated files count per line.
    rows = [r for r in csv.reader(proc.stdout.splitlines()) if r and r[0] == "OK"]
    identified = len({r[6] for r in rows if r[-1] in ("signature", "container")})
    return {"tool": "fido 1.6.1 CLI (one process, all files)", "files": len(files), "seconds": round(elapsed, 3),
            "files_per_s": round(len(files) / elapsed, 1), "identified": identified,
            "ofd": 0}


def bench_fido_per_file(files: list[Path], sample: int = 10) -> dict:
    fido = shutil.which("fido", path=str(ROOT / ".venv" / "bin")) or shutil.which("fido")
    if fido is None:
        return {"tool": "fido CLI per file", "error": "fido not installed"}
    chosen = files[:sample]
    start = time.perf_counter()
    for path in chosen:
        subprocess.run([fido, "-q", str(path)], capture_output=True, check=False)
    elapsed = time.perf_counter() - start
    return {"tool": f"fido CLI, one process per file ({len(chosen)} files)", "files": len(chosen),
            "seconds": round(elapsed, 3), "files_per_s": round(len(chosen) / elapsed, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3, help="repeat the file list N times")
    args = parser.parse_args()
    base = corpus_files()
    if not base:
        print("../shared/corpus is absent; nothing to measure")
        return
    files = base * args.repeat
    rows = [bench_lantai(files), bench_fido_cli(files), bench_fido_per_file(base)]
    print(f"{'tool':50} {'files':>6} {'seconds':>8} {'files/s':>8} {'identified (unique files)':>26} {'OFD':>4}")
    for row in rows:
        print(f"{row['tool']:50} {row.get('files', 0):>6} {row.get('seconds', 0):>8} {row.get('files_per_s', 0):>8} "
              f"{row.get('identified', ''):>26} {row.get('ofd', ''):>4}")
    out = {"when": time.strftime("%Y-%m-%dT%H:%M:%S"), "machine": {"cpus": os.cpu_count(),
           "python": platform.python_version()}, "unique_files": len(base), "repeat": args.repeat, "results": rows}
    target = ROOT / "bench" / "results" / "identify.json"
    target.write_text(json.dumps(out, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"written {target.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
