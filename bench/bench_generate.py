"""Generation throughput of the demo generator (issue 6 goal: ≥ 20 items/s on two cores).

Prints a table and writes bench/results/generate.json. The machine is often shared, so besides
wall-clock items/s it reports CPU seconds per item (parent + workers) and the load average, which
together say what an idle machine would do.

    .venv/bin/python bench/bench_generate.py [--items 300] [--workers 2] [--seed 1]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

from lantai.demo.generate import generate


def _cpu() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=300)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    out = Path(tempfile.mkdtemp(prefix="lantai-bench-gen-")) / "batch"
    load_before = os.getloadavg()[0]
    cpu0, t0 = _cpu(), time.perf_counter()
    report = generate(out, year=2025, items=args.items, seed=args.seed, workers=args.workers)
    wall, cpu = time.perf_counter() - t0, _cpu() - cpu0
    result = {
        "items": args.items, "workers": args.workers, "pages": report.pages, "bytes": report.bytes,
        "seconds": round(wall, 2), "items_per_second": round(args.items / wall, 1),
        "cpu_ms_per_item": round(cpu / args.items * 1000, 1),
        "items_per_second_if_cores_free": round(args.workers * args.items / cpu, 1),
        "mb_per_item": round(report.bytes / args.items / 1e6, 3),
        "load_average_before": round(load_before, 2), "cpu_count": os.cpu_count(), "goal_items_per_second": 20,
    }
    shutil.rmtree(out.parent, ignore_errors=True)
    width = max(len(k) for k in result)
    for key, value in result.items():
        print(f"{key:<{width}}  {value}")
    target = Path(__file__).parent / "results" / "generate.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
