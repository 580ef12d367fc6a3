"""Search text of PDFs: PDFium (pypdfium2, today's extractor) against pypdf, alternating in one run.

Over ``lantai demo generate`` items (PDF/A 正本, sealed OFD, DOCX 定稿, 公文处理单 PDF, attachments):

* CPU per extracted PDF, each PDF through both libraries, rounds alternating which goes first;
* CPU per item of the ingest worker's whole job (``prepare_item`` with the ``default`` check profile
  and a private clamd: staging, digests, every check, search text, OCFL version), with the PDF
  extractor switched between the two libraries, item by item, taking turns going first;
* whether both give the same words (text compared with whitespace removed).

CPU is this process's (``time.process_time``): clamd's own CPU is not in it, the client's is. The
load average is printed beside every round: on a shared machine compare ratios within one run.

    python bench/bench_pdftext.py --items 60 --rounds 4
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _load() -> str:
    return " ".join(f"{x:.1f}" for x in os.getloadavg())


@contextmanager
def extractor(name: str) -> Iterator[None]:
    """Route PDF text through ``name`` (pdfium: the shipped path; pypdf: the previous one)."""
    from lantai.search import extract

    original = extract._pdf
    if name == "pypdf":
        extract._pdf = lambda data, max_chars=extract.MAX_CHARS: extract._pypdf(data)  # type: ignore[assignment]
    try:
        yield
    finally:
        extract._pdf = original  # type: ignore[assignment]


def _cpu(fn: Callable[[], Any]) -> tuple[float, Any]:
    started = time.process_time()
    result = fn()
    return time.process_time() - started, result


def per_pdf(pdfs: list[Path], rounds: int) -> dict[str, Any]:
    from lantai.search.extract import extract_text

    cpu: dict[str, list[float]] = {"pypdf": [], "pdfium": []}
    by_name: dict[str, dict[str, float]] = {}
    differ = []
    for r in range(rounds):
        order = ["pypdf", "pdfium"] if r % 2 == 0 else ["pdfium", "pypdf"]
        totals = dict.fromkeys(order, 0.0)
        for pdf in pdfs:
            texts = {}
            for name in order:
                with extractor(name):
                    seconds, texts[name] = _cpu(lambda p=pdf: extract_text(p))
                totals[name] += seconds
                slot = by_name.setdefault(pdf.name, {"pypdf": 0.0, "pdfium": 0.0, "n": 0})
                slot[name] += seconds
            by_name[pdf.name]["n"] += 1
            if r == 0 and re.sub(r"\s", "", texts["pypdf"]) != re.sub(r"\s", "", texts["pdfium"]):
                differ.append(str(pdf))
        for name in order:
            cpu[name].append(totals[name] * 1000 / len(pdfs))
        print(f"  per PDF, round {r + 1} ({' then '.join(order)}), load {_load()}: "
              + ", ".join(f"{n} {cpu[n][-1]:.2f} ms" for n in cpu), file=sys.stderr)
    names = {name: {k: round(v[k] * 1000 / v["n"], 2) for k in ("pypdf", "pdfium")}
             for name, v in by_name.items() if v["n"] >= len(pdfs) // 10 or name in ("正本.pdf", "公文处理单.pdf")}
    return {"pdfs": len(pdfs), "ms_per_pdf": {k: [round(x, 2) for x in v] for k, v in cpu.items()},
            "by_file_name_ms": names, "text_differs": differ}


def per_item(items: list[Path], rounds: int, socket: str) -> dict[str, Any]:
    from lantai.services.archive import init_archive
    from lantai.services.ingest import BatchContext, prepare_item
    from lantai.settings import Settings

    home = Path(tempfile.mkdtemp(prefix="bench-pdftext-home-"))
    try:
        settings = Settings(home=home, clamd_socket=socket, workers=1, ingest_profile="default")
        init_archive(settings).close()
        context = BatchContext(submitted_by="bench")

        def one(item: Path) -> float:
            started = time.process_time()
            prepared = prepare_item(settings, item, context)
            spent = time.process_time() - started
            assert prepared.outcome.status == "accepted", prepared.outcome.to_dict()
            for staged in settings.staging_dir.iterdir():
                shutil.rmtree(staged, ignore_errors=True)
            return spent

        for item in items:  # warm: imports, signature tables, clamd's first sight of the bytes
            one(item)
        # Item by item, the two extractors take turns going first: load drifts over seconds, so
        # pairing each item's two runs keeps the machine's state out of the comparison.
        cpu: dict[str, list[float]] = {"pypdf": [], "pdfium": []}
        for r in range(rounds):
            before = _load()
            totals = {"pypdf": 0.0, "pdfium": 0.0}
            for n, item in enumerate(items):
                for name in (("pypdf", "pdfium") if (n + r) % 2 == 0 else ("pdfium", "pypdf")):
                    with extractor(name):
                        totals[name] += one(item)
            for name, seconds in totals.items():
                cpu[name].append(seconds * 1000 / len(items))
            print(f"  prepare_item, round {r + 1}: " + ", ".join(f"{k} {v[-1]:.1f}" for k, v in cpu.items())
                  + f" ms/item, load {before} → {_load()}", file=sys.stderr)
        return {"items": len(items), "ms_per_item": {k: [round(x, 1) for x in v] for k, v in cpu.items()},
                "median_ms_per_item": {k: round(median(v), 1) for k, v in cpu.items()},
                "ratio": round(median(cpu["pdfium"]) / median(cpu["pypdf"]), 3)}
    finally:
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--batch", help="existing `lantai demo generate` batch (default: generate one)")
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--pdf-rounds", type=int, default=2)
    args = parser.parse_args()

    from lantai.checks.clamav import ClamdServer

    work = Path(tempfile.mkdtemp(prefix="bench-pdftext-"))
    try:
        from bench.ingest_realistic import generate_batch

        batch = Path(args.batch) if args.batch else generate_batch(work / "batch", args.items, args.seed)
        items = sorted(p for p in batch.iterdir() if p.is_dir())[: args.items]
        pdfs = sorted(p for item in items for p in item.rglob("*.pdf"))
        result: dict[str, Any] = {"load_start": _load(), "pdf": per_pdf(pdfs, args.pdf_rounds)}
        with ClamdServer() as server:
            result["prepare_item"] = per_item(items, args.rounds, server.socket)
        result["load_end"] = _load()
        print(json.dumps(result, ensure_ascii=False, indent=1))
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
