"""Access-copy benchmark (issue #19 figures): OFD page previews and stamped, watermarked copies.

    .venv/bin/python bench/bench_access_copy.py [--rounds 3]

An archive with two arranged items (so the 归档章 is drawn): a generated 公文 of 1 page and one of
20 pages, each as OFD and PDF (the demo generator's layout, seal included). Measured through the
services the web and the API call (visibility, audit entry and 利用登记 included):

* ``ofd page``: :func:`lantai.services.content.render_page_png` of an OFD page (render at 96 dpi,
  归档章 on page 1, watermark, PNG) — p50/p95 per page for the 1-page and the 20-page document;
* ``pdf access copy``: :func:`lantai.services.content.access_copy` of the 20-page PDF (归档章 in a
  blank area found by a 36 dpi render, watermark on every page), per page;
* ``ofd access copy``: the 20-page OFD rendered to an access PDF at 150 dpi, per page;
* baseline ``raw pdf page render``: ``pdftoppm -r 80`` of one page of the original PDF (what the
  PDF page preview costs without any copy), per page, in the same run.

Prints a table and writes bench/results/access_copy.json.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from lantai.domain.roles import Role  # noqa: E402
from lantai.services import content  # noqa: E402
from lantai.services.archive import Archive, init_archive  # noqa: E402
from lantai.services.users import Principal  # noqa: E402
from lantai.settings import Settings  # noqa: E402

READER = Principal(1, "bench", "基准测试", frozenset({Role.ARCHIVIST}), "绝密", via="bench")


def documents(pages: int) -> tuple[bytes, bytes, int]:
    """(OFD, PDF, pages) of a generated 公文 stretched to about ``pages`` pages."""
    from lantai.demo import seal
    from lantai.demo.layout import layout_document
    from lantai.demo.ofd_doc import render_ofd
    from lantai.demo.pdf import render_pdf
    from lantai.demo.plan import plan_year

    plan = plan_year(2025, 1, 5)[0]  # a 通报 whose 版头, 落款 and seal fit one page without a body
    body = list(plan.body)
    for repeat in range(200):
        trial = dataclasses.replace(plan, body=body * repeat if pages > 1 else [], attachments=[])
        layout = layout_document(trial, seal.seal_png(plan.organ.name, opaque=True), {})
        if len(layout.pages) >= pages:
            printed = next(e.at for e in plan.events if e.action == "印发")
            return (render_ofd(layout, doc_id=plan.record_code, signed_at=printed, signer=None),
                    render_pdf(layout, created=printed.isoformat()), len(layout.pages))
    raise RuntimeError("could not reach the page count")


def build(home: Path) -> tuple[Archive, dict[int, tuple[str, int]]]:
    from lantai.services.arrange import arrange
    from lantai.services.ingest import ingest_paths
    from tests.sipfactory import SipSpec, write_item

    archive = init_archive(Settings(home=home / "archive", fsync=False, workers=1, ingest_profile="off"))
    items: dict[int, tuple[str, int]] = {}
    for n, target in enumerate((1, 20), start=1):
        ofd, pdf, pages = documents(target)
        record_id = f"Z109-WS-2025-B{n:04d}"
        spec = SipSpec(record_id, files={"正本.ofd": ofd, "正本.pdf": pdf}, document_number=f"示政发〔2025〕{n}号")
        report = ingest_paths(archive, [write_item(home / f"sip-{n}", spec)])
        assert report.items[0].status == "accepted", report.to_dict()
        items[target] = (record_id, pages)
    arrange(archive, "Z109", 2025, actor="bench")
    return archive, items


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def cpu_seconds() -> float:
    """CPU of this process and of its finished children (pdftoppm): on a shared machine wall time
    mostly measures the queue for a core, CPU time measures the work."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return time.process_time() + children.ru_utime + children.ru_stime


CPU: list[float] = []


def timed(fn: Any) -> float:
    """Wall seconds of ``fn()``; its CPU seconds are appended to :data:`CPU`."""
    started, cpu = time.perf_counter(), cpu_seconds()
    fn()
    CPU.append(cpu_seconds() - cpu)
    return time.perf_counter() - started


def cpu_since(mark: int) -> list[float]:
    return CPU[mark:]


def measure(archive: Archive, items: dict[int, tuple[str, int]], rounds: int, work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for _target, (record_id, pages) in items.items():
        content.render_page_png(archive, READER, record_id, "content/正本.ofd", 1)  # warm fonts and caches
        mark = len(CPU)
        samples = [timed(lambda p=p, r=record_id: content.render_page_png(archive, READER, r, "content/正本.ofd", p))
                   for _ in range(rounds * (20 if pages == 1 else 1)) for p in range(1, pages + 1)]
        results[f"ofd page, {pages}-page document"] = {"pages": pages, "samples": len(samples),
                                                        "p50_ms": percentile(samples, 0.5) * 1000,
                                                        "p95_ms": percentile(samples, 0.95) * 1000,
                                                        "cpu_p50_ms": percentile(cpu_since(mark), 0.5) * 1000,
                                                        "cpu_p95_ms": percentile(cpu_since(mark), 0.95) * 1000}
    record_id, pages = items[20]

    def copy(path: str) -> None:
        content.access_copy(archive, READER, record_id, path).cleanup()

    for label, path in (("pdf access copy", "content/正本.pdf"), ("ofd access copy", "content/正本.ofd")):
        mark = len(CPU)
        samples = [timed(lambda path=path: copy(path)) / pages for _ in range(rounds)]
        results[label] = {"pages": pages, "samples": rounds, "per_page_ms": statistics.median(samples) * 1000,
                          "cpu_per_page_ms": statistics.median(cpu_since(mark)) / pages * 1000}
    original = next(archive.store.content_path(record_id, f.content_path) for f in archive.store.files(record_id)
                    if f.logical_path == "content/正本.pdf")
    mark = len(CPU)
    raw = [timed(lambda p=p: subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(p), "-l", str(p), "-singlefile",
                                              str(original), str(work / "raw")], check=True))
           for _ in range(rounds) for p in range(1, pages + 1)]
    results["raw pdf page render (baseline)"] = {"pages": pages, "samples": len(raw),
                                                 "per_page_ms": statistics.median(raw) * 1000,
                                                 "cpu_per_page_ms": statistics.median(cpu_since(mark)) * 1000}
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "access_copy.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp:
        archive, items = build(Path(tmp))
        try:
            results = measure(archive, items, args.rounds, Path(tmp))
        finally:
            archive.close()
    baseline = results["raw pdf page render (baseline)"]["per_page_ms"]
    cpu_baseline = results["raw pdf page render (baseline)"]["cpu_per_page_ms"]
    for label in ("pdf access copy", "ofd access copy"):
        results[label]["ratio_to_raw_page_render"] = results[label]["per_page_ms"] / baseline
        results[label]["cpu_ratio_to_raw_page_render"] = results[label]["cpu_per_page_ms"] / cpu_baseline
    print(f"load average {os.getloadavg()[0]:.1f}; wall and CPU (process + children) per page or render")
    print(f"{'measure':36} {'pages':>5} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8} {'/page ms':>9} "
          f"{'CPU/page':>9} {'× raw':>6} {'CPU × raw':>9}")
    for label, r in results.items():
        print(f"{label:36} {r['pages']:>5} {r.get('p50_ms', 0):>8.1f} {r.get('p95_ms', 0):>8.1f} "
              f"{r.get('cpu_p50_ms', 0):>8.1f} {r.get('cpu_p95_ms', 0):>8.1f} {r.get('per_page_ms', 0):>9.1f} "
              f"{r.get('cpu_per_page_ms', 0):>9.1f} {r.get('ratio_to_raw_page_render', 0):>6.2f} "
              f"{r.get('cpu_ratio_to_raw_page_render', 0):>9.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": platform.platform(), "python": platform.python_version(), "rounds": args.rounds,
              "load_average": os.getloadavg()[0],
              "results": results}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
