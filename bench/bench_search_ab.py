"""A/B of two ways a PostgreSQL search does one step, on one kept index, query by query alternately
in one process, so machine load touches both alike; the hits each returns are compared.

``--compare scoring``: relevance needs, for each word, which of the ranked window's rows hold it
in 题名/文号 or 责任者. ``gin`` asks the GIN index for the field tags within the window's epochs
(the previous method); ``text`` reads the window's rows by id and tests their stored text.

``--compare driver``: a search with a filter (年度:2020) asks each epoch for its words and either
the epoch tag (``epoch``, layout 3's way) or the filter tag scoped to the epoch (``scoped``).

Usage::

    LANTAI_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/lantai_bench \\
        python bench/bench_search_ab.py --entries 1000000 [--queries 400] [--compare scoring|driver]

Needs the index ``bench_search.py --entries N --backend postgresql --keep`` left. Writes
bench/results/search-ab-<compare>.json.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_search  # noqa: E402
from sqlalchemy import create_engine  # noqa: E402

from lantai.search import open_index, postgres_fts  # noqa: E402
from lantai.search.postgres_fts import PostgresIndex  # noqa: E402

TEXT = PostgresIndex._window_hits


def _gin_window_hits(cls: type[PostgresIndex], conn: object, asked: list[tuple[str, str]],
                     window: list[int]) -> list[set[int]]:
    """The previous method: every (word, column) asked of the GIN index as field tags."""
    return cls._gin_hits(conn, [cls._field_query(token, column) for token, column in asked], window)  # type: ignore[arg-type]


SCORING = {"gin": classmethod(_gin_window_hits), "text": TEXT}
SCOPED = postgres_fts._driver
DRIVER = {"epoch": lambda plan: postgres_fts.TAG, "scoped": SCOPED}


def _use(compare: str, method: object) -> None:
    if compare == "scoring":
        PostgresIndex._window_hits = method  # type: ignore[method-assign, assignment]
    else:
        postgres_fts._driver = method  # type: ignore[assignment]


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(ordered), **{f"p{p}_ms": bench_search._pct(ordered, p) for p in (50, 95, 99)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--compare", choices=("scoring", "driver"), default="scoring")
    parser.add_argument("--json-out", type=Path, default=None, help="default bench/results/search-ab-<compare>.json")
    args = parser.parse_args()
    args.json_out = args.json_out or ROOT / "bench" / "results" / f"search-ab-{args.compare}.json"
    base = os.environ.get("LANTAI_BENCH_PG")
    if not base:
        raise SystemExit("set LANTAI_BENCH_PG to a PostgreSQL URL holding the kept index")
    engine = create_engine(base, connect_args={"options": f"-csearch_path=bench_search_{args.entries}"})
    variants = SCORING if args.compare == "scoring" else DRIVER
    first, second = variants
    latencies: dict[str, list[float]] = defaultdict(list)
    kinds: dict[tuple[str, str], list[float]] = defaultdict(list)
    differing = 0
    with engine.connect() as conn:
        index = open_index(conn)
        if index.is_stale(conn):
            raise SystemExit("the kept index is stale: build it again with bench_search.py --keep")
        queries = bench_search.query_set(args.queries, args.entries)
        for _kind, query in queries[:20]:  # warm both paths
            for method in variants.values():
                _use(args.compare, method)
                index.search(conn, query)
                conn.rollback()
        for n, (kind, query) in enumerate(queries):
            order = list(variants.items()) if n % 2 == 0 else list(reversed(variants.items()))
            hits = {}
            for name, method in order:
                _use(args.compare, method)
                started = time.perf_counter()
                result = index.search(conn, query)
                elapsed = (time.perf_counter() - started) * 1000
                conn.rollback()
                latencies[name].append(elapsed)
                kinds[(kind, name)].append(elapsed)
                hits[name] = [h.record_id for h in result.hits]
            differing += hits[first] != hits[second]
    _use("scoring", TEXT)
    _use("driver", SCOPED)
    summary = {name: _summary(values) for name, values in latencies.items()}
    per_kind = {f"{kind}/{name}": _summary(values) for (kind, name), values in sorted(kinds.items())}
    result = {"entries": args.entries, "queries": args.queries, "compare": args.compare,
              "load_average": os.getloadavg()[0],
              "overall": summary, "kinds": per_kind, "queries_with_other_hits": differing}
    print(f"{'variant':22s} {'p50_ms':>8s} {'p95_ms':>8s} {'p99_ms':>8s}")
    for name, s in summary.items():
        print(f"{name:22s} {s['p50_ms']:8.2f} {s['p95_ms']:8.2f} {s['p99_ms']:8.2f}")
    ratio = {p: summary[second][p] / summary[first][p] for p in ("p50_ms", "p95_ms", "p99_ms")}
    print(f"{second} ÷ {first}: " + ", ".join(f"{p[:-3]} {r:.2f}" for p, r in ratio.items()))
    for key, s in per_kind.items():
        print(f"  {key:30s} {s['p50_ms']:8.2f} {s['p95_ms']:8.2f}")
    print(f"queries whose first page differs: {differing} of {len(queries)}")
    result["ratio"] = ratio
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {args.json_out}")


if __name__ == "__main__":
    main()
