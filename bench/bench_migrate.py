"""Format migration benchmark (issue #18 figures): documents/s with 1 and 2 workers.

    .venv/bin/python bench/bench_migrate.py [--items 8]

Generated 公文 (each with a DOCX 定稿, some with an XLSX 附件) are ingested into two fresh archives;
``lantai migrate run`` (the service) migrates all of them with 1 worker in one and 2 workers in the
other: LibreOffice conversion to PDF/A-2b, Lantai's PDF/A validation, and the commit of a new OCFL
version per item through the change path (metadata, 过程信息, catalogue, index, audit). Each
worker's LibreOffice profile is created before timing (a first start costs seconds once per
profile). Baseline in the same run: the same documents converted by plain ``soffice
--convert-to`` calls, one after another on one profile, with no archive around them.

Prints a table and writes bench/results/migrate.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lantai.formats import convert  # noqa: E402
from lantai.services import migration  # noqa: E402
from lantai.services.archive import Archive, init_archive  # noqa: E402
from lantai.services.ingest import ingest_paths  # noqa: E402
from lantai.settings import Settings  # noqa: E402

FILTERS = {".docx": "pdf:writer_pdf_Export:" + '{"SelectPdfVersion":{"type":"long","value":"2"}}',
           ".xlsx": "pdf:calc_pdf_Export:" + '{"SelectPdfVersion":{"type":"long","value":"2"}}'}


def cpu_seconds() -> float:
    """CPU of this process and its finished children (LibreOffice): on a shared machine wall time
    mostly measures the queue for a core, CPU time measures the work."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


def archive_with(batch: Path, home: Path) -> Archive:
    archive = init_archive(Settings(home=home, fsync=False, workers=1, ingest_profile="off"))
    report = ingest_paths(archive, sorted(p for p in batch.iterdir() if (p / "元数据.xml").is_file()))
    assert all(i.status == "accepted" for i in report.items), report.to_dict()
    return archive


def warm_profiles(archive: Archive, workers: int, sample: Path, work: Path) -> None:
    for n in range(workers):
        source = work / f"warm-{workers}-{n}" / "source.docx"
        source.parent.mkdir(parents=True)
        source.write_bytes(sample.read_bytes())
        convert.convert_office(source, archive.settings.staging_dir / migration.PROFILES_DIR / f"worker-{n + 1}",
                               FILTERS[".docx"], 120)


def raw_baseline(files: list[Path], work: Path) -> tuple[float, float]:
    """Wall and CPU seconds of plain soffice conversions of ``files``, one at a time, on one warm profile."""
    profile = work / "raw-profile"
    warm = work / "raw-warm" / "source.docx"
    warm.parent.mkdir(parents=True)
    warm.write_bytes(next(f for f in files if f.suffix == ".docx").read_bytes())
    convert.convert_office(warm, profile, FILTERS[".docx"], 120)
    started, cpu = time.perf_counter(), cpu_seconds()
    for n, path in enumerate(files):
        source = work / f"raw-{n}" / f"source{path.suffix}"
        source.parent.mkdir(parents=True)
        source.write_bytes(path.read_bytes())
        convert.convert_office(source, profile, FILTERS[path.suffix], 120)
    return time.perf_counter() - started, cpu_seconds() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=8)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "migrate.json")
    args = parser.parse_args()
    from lantai.demo.generate import generate

    results: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="bench-migrate-") as tmp:
        work = Path(tmp)
        batch = work / "batch"
        generate(batch, year=2025, items=args.items, seed=21, workers=1)
        files = sorted(p for p in batch.rglob("*") if p.suffix in FILTERS)
        seconds, cpu = raw_baseline(files, work)
        results["raw soffice, 1 process"] = {"documents": len(files), "seconds": seconds, "docs_per_s": len(files) / seconds,
                                             "cpu_per_doc_s": cpu / len(files)}
        for workers in (1, 2):
            archive = archive_with(batch, work / f"archive-{workers}")
            try:
                warm_profiles(archive, workers, next(f for f in files if f.suffix == ".docx"), work)
                started, cpu = time.perf_counter(), cpu_seconds()
                run = migration.run(archive, "bench", workers=workers)
                seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu
            finally:
                archive.close()
            assert run["failed"] == 0, run
            results[f"lantai migrate run, {workers} worker{'s' if workers > 1 else ''}"] = {
                "documents": run["migrated"], "items": run["items"], "seconds": seconds,
                "docs_per_s": run["migrated"] / seconds, "cpu_per_doc_s": cpu / run["migrated"]}
    base = results["raw soffice, 1 process"]["docs_per_s"]
    one = results["lantai migrate run, 1 worker"]["docs_per_s"]
    for r in results.values():
        r["vs_raw"] = r["docs_per_s"] / base
        r["vs_1_worker"] = r["docs_per_s"] / one
    print(f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'measure':34} {'docs':>5} {'seconds':>8} {'docs/s':>7} {'× raw':>6} {'× 1 worker':>10} {'CPU s/doc':>9}")
    for label, r in results.items():
        print(f"{label:34} {r['documents']:>5} {r['seconds']:>8.2f} {r['docs_per_s']:>7.2f} {r['vs_raw']:>6.2f} "
              f"{r['vs_1_worker']:>10.2f} {r['cpu_per_doc_s']:>9.2f}")
    report = {"machine": platform.platform(), "cpus": os.cpu_count(), "load_average": os.getloadavg()[0],
              "tool": convert.libreoffice_version(),
              "items": args.items, "results": results}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
