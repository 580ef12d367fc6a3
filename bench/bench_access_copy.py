"""Access-copy benchmark (issue #19 figures): OFD page previews and stamped, watermarked copies.

    .venv/bin/python bench/bench_access_copy.py [--rounds 3] [--demo-items 6]

An archive ingested on the production path (default DA/T 70 profile, a private real clamd) and
arranged, so the 归档章 is drawn, holding

* ``--demo-items`` 公文 made by ``lantai demo generate`` (正本 as sealed OFD and PDF/A-2b, their
  usual 1–3 pages): the realistic input;
* two synthetic ones stretched to 1 and to 20 pages (the demo generator's layout, seal included).

Measured through the services the web and the API call (visibility, audit entry and 利用登记
included):

* ``ofd page``: :func:`lantai.services.content.render_page_png` of an OFD page (render at 96 dpi,
  归档章 on page 1, watermark, PNG) — p50/p95 per page for the 1-page and the 20-page document and
  over every page of the demo items; ``ofd page via API``: the same pages asked over HTTP of the
  route the item page's viewer uses (in-process client: routing, token check, response included);
* ``pdf access copy``: :func:`lantai.services.content.access_copy` of a PDF (归档章 in a blank area
  found by a 36 dpi render, watermark on every page, PDF/A kept), per page;
* ``ofd access copy``: an OFD rendered to an access PDF at 150 dpi, stamped and watermarked, per page;
* baseline ``raw pdf page render``: ``pdftoppm -r 80`` of one page of the original PDF (what the
  PDF page preview costs without any copy), per page, in the same run, on the same documents.

Every copy and render figure carries its ratio to the raw page render of the same documents
(wall and CPU; CPU counts this process and its children, since wall time on a shared machine
mostly measures the queue for a core), and the 20-page p95 its ratio to the 1-page one.
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


def build(home: Path, clamd_socket: str) -> tuple[Archive, dict[int, tuple[str, int]]]:
    from lantai.services.arrange import arrange
    from lantai.services.ingest import ingest_paths
    from tests.sipfactory import SipSpec, write_item

    archive = init_archive(Settings(home=home / "archive", fsync=False, workers=1, clamd_socket=clamd_socket))
    items: dict[int, tuple[str, int]] = {}
    for n, target in enumerate((1, 20), start=1):
        ofd, pdf, pages = documents(target)
        record_id = f"Z109-WS-2025-B{n:04d}"
        spec = SipSpec(record_id, files={"正本.ofd": ofd, "正本.pdf": pdf}, document_number=f"示政发〔2025〕{n}号",
                       pages=pages)
        report = ingest_paths(archive, [write_item(home / f"sip-{n}", spec)])
        assert report.items[0].status == "accepted", report.to_dict()
        items[target] = (record_id, pages)
    arrange(archive, "Z109", 2025, actor="bench")
    return archive, items


def demo_items(archive: Archive, home: Path, count: int) -> list[str]:
    """Record ids of ``count`` generated 公文 (``lantai demo generate``), ingested and arranged."""
    from lantai.demo.generate import generate
    from lantai.domain.reference import EXCHANGE_FILE_NAME
    from lantai.services.arrange import arrange, import_fonds
    from lantai.services.ingest import ingest_paths

    batch = home / "demo"
    generate(batch, year=2025, items=count, seed=7, workers=1)
    report = ingest_paths(archive, sorted(p for p in batch.iterdir() if (p / "元数据.xml").is_file()))
    import_fonds(archive, json.loads((batch / EXCHANGE_FILE_NAME).read_text(encoding="utf-8")), actor="bench")
    arrange(archive, "Z101", 2025, actor="bench")
    accepted = [i.record_id for i in report.items if i.status == "accepted" and i.record_id]
    with_ofd = [r for r in accepted if any(f.logical_path == "content/正本.ofd" for f in archive.store.files(r))]
    assert with_ofd, report.to_dict()
    return with_ofd


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


def stored(archive: Archive, record_id: str, path: str) -> Path:
    return next(archive.store.content_path(record_id, f.content_path) for f in archive.store.files(record_id)
                if f.logical_path == path)


def page_renders(archive: Archive, documents: list[tuple[str, int]], repeat: int) -> dict[str, Any]:
    """p50/p95 of one OFD page render (wall and CPU) over every page of ``documents``."""
    for record_id, _pages in documents:
        content.render_page_png(archive, READER, record_id, "content/正本.ofd", 1)  # warm fonts and caches
    mark = len(CPU)
    samples = [timed(lambda p=p, r=record_id: content.render_page_png(archive, READER, r, "content/正本.ofd", p))
               for _ in range(repeat) for record_id, pages in documents for p in range(1, pages + 1)]
    return {"pages": sum(p for _r, p in documents), "samples": len(samples),
            "p50_ms": percentile(samples, 0.5) * 1000, "p95_ms": percentile(samples, 0.95) * 1000,
            "cpu_p50_ms": percentile(cpu_since(mark), 0.5) * 1000, "cpu_p95_ms": percentile(cpu_since(mark), 0.95) * 1000}


def http_client(archive: Archive) -> Any:
    """An in-process client of the web application, authenticated as an archivist cleared 绝密."""
    from fastapi.testclient import TestClient

    from lantai.api import create_app
    from lantai.domain.roles import SCOPES
    from lantai.services import users

    users.create_user(archive, "cli", "benchhttp", "Lantai#Bench2026x", display_name="基准测试",
                      roles=[Role.ARCHIVIST.value], clearance="绝密", bootstrap=True)
    client = TestClient(create_app(archive))
    client.headers["Authorization"] = f"Bearer {users.issue_token(archive, 'cli', 'benchhttp', 'bench', 1, SCOPES)['token']}"
    return client


def http_page_renders(client: Any, documents: list[tuple[str, int]], repeat: int) -> dict[str, Any]:
    """As :func:`page_renders`, but each page asked of the API route the item page's viewer uses
    (``GET /api/v1/items/{id}/pages/{n}``): routing, authentication and the response included."""
    def get(record_id: str, page: int) -> None:
        response = client.get(f"/api/v1/items/{record_id}/pages/{page}", params={"path": "content/正本.ofd"})
        assert response.status_code == 200 and response.content[:4] == b"\x89PNG", response.text[:200]

    get(documents[0][0], 1)
    mark = len(CPU)
    samples = [timed(lambda p=p, r=record_id: get(r, p))
               for _ in range(repeat) for record_id, pages in documents for p in range(1, pages + 1)]
    return {"pages": sum(p for _r, p in documents), "samples": len(samples),
            "p50_ms": percentile(samples, 0.5) * 1000, "p95_ms": percentile(samples, 0.95) * 1000,
            "cpu_p50_ms": percentile(cpu_since(mark), 0.5) * 1000, "cpu_p95_ms": percentile(cpu_since(mark), 0.95) * 1000}


def copies(archive: Archive, documents: list[tuple[str, int]], path: str, rounds: int) -> dict[str, Any]:
    """Median wall and CPU per page of an access copy of ``path`` over ``documents``."""
    pages = sum(p for _r, p in documents)
    mark = len(CPU)
    samples = [sum(timed(lambda r=record_id: content.access_copy(archive, READER, r, path).cleanup())
                   for record_id, _p in documents) / pages for _ in range(rounds)]
    cpu = [sum(cpu_since(mark)[n * len(documents):(n + 1) * len(documents)]) / pages for n in range(rounds)]
    return {"pages": pages, "samples": rounds, "per_page_ms": statistics.median(samples) * 1000,
            "cpu_per_page_ms": statistics.median(cpu) * 1000}


def raw_renders(archive: Archive, documents: list[tuple[str, int]], rounds: int, work: Path) -> dict[str, Any]:
    """The baseline: ``pdftoppm -r 80`` of each page of the stored 正本.pdf, median per page."""
    mark = len(CPU)
    raw = [timed(lambda p=p, f=stored(archive, record_id, "content/正本.pdf"): subprocess.run(
               ["pdftoppm", "-png", "-r", "80", "-f", str(p), "-l", str(p), "-singlefile", str(f), str(work / "raw")],
               check=True))
           for _ in range(rounds) for record_id, pages in documents for p in range(1, pages + 1)]
    return {"pages": sum(p for _r, p in documents), "samples": len(raw), "per_page_ms": statistics.median(raw) * 1000,
            "cpu_per_page_ms": statistics.median(cpu_since(mark)) * 1000}


def measure(archive: Archive, items: dict[int, tuple[str, int]], demo: list[tuple[str, int]], rounds: int,
            work: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    for _target, (record_id, pages) in items.items():
        results[f"ofd page, {pages}-page document"] = page_renders(archive, [(record_id, pages)],
                                                                   rounds * (20 if pages == 1 else 1))
    results[f"ofd page, demo 公文 ({len(demo)} items)"] = page_renders(archive, demo, rounds)
    client = http_client(archive)
    for _target, (record_id, pages) in items.items():
        results[f"ofd page via API, {pages}-page document"] = http_page_renders(
            client, [(record_id, pages)], rounds * (20 if pages == 1 else 1))
    twenty = [items[20]]
    for group, documents in (("20-page", twenty), ("demo", demo)):
        results[f"raw pdf page render, {group} (baseline)"] = raw_renders(archive, documents, rounds, work)
        for kind, path in (("pdf", "content/正本.pdf"), ("ofd", "content/正本.ofd")):
            results[f"{kind} access copy, {group}"] = copies(archive, documents, path, rounds)
    return results


def ratios(results: dict[str, Any]) -> None:
    """Same-run ratios: each figure of a group to that group's raw page render; 20 pages to 1."""
    for label, row in results.items():
        group = "demo" if "demo" in label else "20-page"
        base = results[f"raw pdf page render, {group} (baseline)"]
        if "baseline" in label:
            continue
        wall, cpu = row.get("per_page_ms", row.get("p50_ms")), row.get("cpu_per_page_ms", row.get("cpu_p50_ms"))
        row["ratio_to_raw_page_render"] = wall / base["per_page_ms"]
        row["cpu_ratio_to_raw_page_render"] = cpu / base["cpu_per_page_ms"]
    for prefix in ("ofd page", "ofd page via API"):
        one, twenty = (results[f"{prefix}, {n}-page document"] for n in (1, 20))
        twenty["p95_ratio_to_1_page"] = twenty["p95_ms"] / one["p95_ms"]
        twenty["cpu_p95_ratio_to_1_page"] = twenty["cpu_p95_ms"] / one["cpu_p95_ms"]


def main() -> None:
    from lantai.checks.clamav import ClamdServer

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--demo-items", type=int, default=6, help="公文 from `lantai demo generate`")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "access_copy.json")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-access-") as tmp, ClamdServer() as clamd:
        archive, items = build(Path(tmp), clamd.socket)
        try:
            demo = [(r, content.page_total(archive, READER, r, "content/正本.ofd"))
                    for r in demo_items(archive, Path(tmp), args.demo_items)]
            results = measure(archive, items, demo, args.rounds, Path(tmp))
        finally:
            archive.close()
    ratios(results)
    print(f"load average {os.getloadavg()[0]:.1f}; wall and CPU (process + children) per page or render; "
          "ratios to the raw pdftoppm page render of the same documents")
    print(f"{'measure':40} {'pages':>5} {'p50 ms':>8} {'p95 ms':>8} {'CPU p50':>8} {'CPU p95':>8} {'/page ms':>9} "
          f"{'CPU/page':>9} {'× raw':>6} {'CPU × raw':>9}")
    for label, r in results.items():
        print(f"{label:40} {r['pages']:>5} {r.get('p50_ms', 0):>8.1f} {r.get('p95_ms', 0):>8.1f} "
              f"{r.get('cpu_p50_ms', 0):>8.1f} {r.get('cpu_p95_ms', 0):>8.1f} {r.get('per_page_ms', 0):>9.1f} "
              f"{r.get('cpu_per_page_ms', 0):>9.1f} {r.get('ratio_to_raw_page_render', 0):>6.2f} "
              f"{r.get('cpu_ratio_to_raw_page_render', 0):>9.2f}")
    for prefix in ("ofd page", "ofd page via API"):
        twenty = results[f"{prefix}, 20-page document"]
        print(f"{prefix} p95, 20-page ÷ 1-page document: wall {twenty['p95_ratio_to_1_page']:.2f}, "
              f"CPU {twenty['cpu_p95_ratio_to_1_page']:.2f}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    report = {"machine": platform.platform(), "python": platform.python_version(), "rounds": args.rounds,
              "demo_items": [r for r, _p in demo], "load_average": os.getloadavg()[0], "ingest_profile": "default",
              "results": results}
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(report, ensure_ascii=False))


if __name__ == "__main__":
    main()
