"""Full gd profile throughput over generated items, and clamd throughput.

* items/s and MB/s of ``check_paths`` (every gd check, ClamAV included) on two workers, over
  generated SIP items holding one real ~1 MB PDF each (goal: ≥ 50 items/s);
* clamd SCAN-by-path and INSTREAM throughput on the same files (a private clamd with the EICAR
  test database: DEPENDENCIES.md §6 — the real database would cost more memory, not more I/O).

Usage: python bench/bench_checks.py [--items 200] [--mb 1] [--workers 2] [--json-out bench/results/checks.json]
"""

from __future__ import annotations

import argparse
import io
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


def make_pdf(size_mb: float) -> bytes:
    import pikepdf

    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.add_blank_page()
    pdf.docinfo["/Producer"] = "WPS Office 12"
    payload = os.urandom(int(size_mb * 1024 * 1024))
    pdf.pages[0].Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(
        Im0=pikepdf.Stream(pdf, payload, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=1,
                           Height=1, BitsPerComponent=8, ColorSpace=pikepdf.Name.DeviceGray)))
    buf = io.BytesIO()
    pdf.save(buf, compress_streams=False)
    return buf.getvalue()


def generate(root: Path, items: int, size_mb: float) -> list[Path]:
    from tests.sipfactory import SipSpec, write_item

    return [write_item(root, SipSpec(f"Z109-WS-2025-{i:05d}", files={"正文.pdf": make_pdf(size_mb)},
                                     document_number=f"X政办发〔2025〕{i + 1}号"))
            for i in range(items)]


def bench_checks(paths: list[Path], workers: int) -> dict:
    from lantai.checks.runner import check_paths

    total = sum(f.stat().st_size for p in paths for f in p.iterdir())
    started = time.perf_counter()
    report = check_paths(paths, stage="gd", workers=workers)
    elapsed = time.perf_counter() - started
    failures = sorted({r.rule for i in report.items for r in i.failures()})
    return {"items": len(paths), "bytes": total, "seconds": round(elapsed, 3),
            "items_per_s": round(len(paths) / elapsed, 1), "mb_per_s": round(total / elapsed / 1e6, 1),
            "passed": report.summary()["passed"], "failure_rules": failures}


def bench_clamd(socket: str, files: list[Path]) -> dict:
    from lantai.checks.clamav import Scanner

    scanner = Scanner(socket, 1 << 30)
    total = sum(f.stat().st_size for f in files)
    started = time.perf_counter()
    for f in files:
        scanner._scan_path(f)
    by_path = time.perf_counter() - started
    started = time.perf_counter()
    for f in files:
        scanner._scan_stream(f)
    by_stream = time.perf_counter() - started
    return {"files": len(files), "bytes": total,
            "scan_path_mb_per_s": round(total / by_path / 1e6, 1), "scan_path_files_per_s": round(len(files) / by_path, 1),
            "instream_mb_per_s": round(total / by_stream / 1e6, 1),
            "instream_files_per_s": round(len(files) / by_stream, 1), "engine": scanner.version()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--mb", type=float, default=1.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "checks.json"))
    args = parser.parse_args()
    from lantai.checks.clamav import ClamdServer

    work = Path(tempfile.mkdtemp(prefix="bench-checks-"))
    try:
        paths = generate(work / "items", args.items, args.mb)
        with ClamdServer() as server:
            os.environ["LANTAI_CLAMD_SOCKET"] = server.socket
            os.environ["LANTAI_HOME"] = str(work / "no-archive")
            checks = bench_checks(paths, args.workers)
            clamd = bench_clamd(server.socket, [p / "正文.pdf" for p in paths])
    finally:
        shutil.rmtree(work, ignore_errors=True)
    result = {"machine_cpus": os.cpu_count(), "workers": args.workers, "item_mb": args.mb,
              "gd_profile": checks, "clamd": clamd, "goal_items_per_s": 50}
    print(f"{'measure':40} {'value':>12}")
    print(f"{'gd profile items/s (' + str(args.workers) + ' workers)':40} {checks['items_per_s']:>12}")
    print(f"{'gd profile MB/s':40} {checks['mb_per_s']:>12}")
    print(f"{'items passed / total':40} {str(checks['passed']) + '/' + str(checks['items']):>12}")
    print(f"{'clamd SCAN by path MB/s':40} {clamd['scan_path_mb_per_s']:>12}")
    print(f"{'clamd INSTREAM MB/s':40} {clamd['instream_mb_per_s']:>12}")
    print(f"{'clamd SCAN files/s':40} {clamd['scan_path_files_per_s']:>12}")
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
