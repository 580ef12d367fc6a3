"""A/B of two ways a PostgreSQL search does one step, on one kept index, query by query alternately
in one process, so machine load touches both alike; the hits each returns are compared.

``--compare scoring``: relevance needs, for each word, which of the ranked window's rows hold it
in 题名/文号 or 责任者. ``gin`` asks the GIN index for the field tags within the window's epochs
(the previous method); ``text`` reads the window's rows by id and tests their stored text.

``--compare driver``: a search with a filter (年度:2020) asks each epoch for its words and either
the epoch tag (``epoch``, layout 3's way) or the filter tag scoped to the epoch (``scoped``).

``--compare range``: words asked anywhere (queries with OR) are looked up per epoch in the GIN
index and the rows kept that are in the window, tested against the window's ids alone (``any``,
the previous method) or against its id range first (``range``).

``--compare clustering``: the kept index, whose bulk load wrote each epoch's rows grouped by 年度,
保管期限, 机构 and 文种 (``grouped``), against a copy of it written in id order (``id_order``, as
before; made once in the schema ``bench_search_<N>_id_order``, a few minutes at 1,000,000).

``--compare grams``: a quoted phrase (or a word checked in the stored text) asks the index for its
words alone, then tests each row's stored text (``words``, as before layout 5), or also for its
character pairs as tokens or gram tags (``grams``), so only rows holding every pair are tested.
With ``--realistic`` the kept index of real 公文 (``bench_search.py --realistic N --keep``) is used.

Usage::

    LANTAI_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/lantai_bench \\
        python bench/bench_search_ab.py --entries 1000000 [--queries 400] [--compare scoring|driver|range|clustering|grams] [--realistic]

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
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import bench_search  # noqa: E402
from sqlalchemy import Engine, create_engine, text  # noqa: E402

from lantai.search import open_index, postgres_fts  # noqa: E402
from lantai.search.postgres_fts import PostgresIndex  # noqa: E402
from lantai.search.sqlbase import SqlIndexBase  # noqa: E402

TEXT = PostgresIndex._window_hits


def _gin_window_hits(cls: type[PostgresIndex], conn: object, asked: list[tuple[str, str]],
                     window: list[int]) -> list[set[int]]:
    """The previous method: every (word, column) asked of the GIN index as field tags."""
    return cls._gin_hits(conn, [cls._field_query(token, column) for token, column in asked], window)  # type: ignore[arg-type]


def _any_gin_hits(conn: Any, queries: list[str], window: list[int]) -> list[set[int]]:
    """The previous lookup of words asked anywhere: each epoch's matches tested against the window's ids."""
    found: list[set[int]] = [set() for _ in queries]
    if not queries:
        return found
    epochs = sorted({i >> postgres_fts.EPOCH_BITS for i in window})
    keys = [n for n in range(len(queries)) for _e in epochs]
    asked = [f"({q}) & {postgres_fts._quote(postgres_fts.scoped_tag(postgres_fts.TAG, e))}"
             for q in queries for e in epochs]
    sql = ("SELECT r.k, array_agg(r.id) FROM unnest(CAST(:keys AS int[]), CAST(:asked AS text[])) AS q(k, x) "
           "CROSS JOIN LATERAL (SELECT q.k, d.id FROM search_docs d WHERE d.tsv @@ CAST(q.x AS tsquery) "
           "AND d.id + 0 = ANY(:w)) r GROUP BY r.k")
    for k, ids in conn.execute(text(sql), {"keys": keys, "asked": asked, "w": window}):
        found[k] = set(ids)
    return found


SCORING = {"gin": classmethod(_gin_window_hits), "text": TEXT}
SCOPED = postgres_fts._driver
DRIVER = {"epoch": lambda plan: postgres_fts.TAG, "scoped": SCOPED}
RANGED = PostgresIndex._gin_hits
RANGE = {"any": staticmethod(_any_gin_hits), "range": staticmethod(RANGED)}
CLUSTERING = {"id_order": None, "grouped": None}  # the same code on two tables
HOLDS_GRAMS = SqlIndexBase._holds_grams
GRAMS = {"words": lambda self, state: False, "grams": HOLDS_GRAMS}
VARIANTS = {"scoring": SCORING, "driver": DRIVER, "range": RANGE, "clustering": CLUSTERING, "grams": GRAMS}


def _use(compare: str, method: object) -> None:
    if method is None:
        return
    if compare == "scoring":
        PostgresIndex._window_hits = method  # type: ignore[method-assign, assignment]
    elif compare == "range":
        PostgresIndex._gin_hits = method  # type: ignore[method-assign, assignment]
    elif compare == "grams":
        PostgresIndex._holds_grams = method  # type: ignore[method-assign, assignment]
    else:
        postgres_fts._driver = method  # type: ignore[assignment]


def _id_order_copy(base: str, schema: str) -> Engine:
    """An engine on a copy of the kept index written in id order (made once, kept for later runs)."""
    copy = f"{schema}_id_order"
    engine = create_engine(base, connect_args={"options": f"-csearch_path={copy}"})
    with engine.begin() as conn:
        if conn.execute(text("SELECT to_regclass(:t)"), {"t": f"{copy}.search_docs"}).scalar() is not None:
            return engine
        print(f"copying {schema}.search_docs in id order to {copy} …", flush=True)
        conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{copy}"'))
        conn.execute(text(f"CREATE TABLE search_docs (LIKE {schema}.search_docs INCLUDING DEFAULTS "
                          "INCLUDING STORAGE INCLUDING COMPRESSION) WITH (toast_tuple_target = 512)"))
        conn.execute(text(f"INSERT INTO search_docs SELECT * FROM {schema}.search_docs ORDER BY id"))
        conn.execute(text("ALTER TABLE search_docs ADD PRIMARY KEY (id), ADD UNIQUE (record_id)"))
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{postgres_fts.BUILD_MEMORY}'"))
        open_index(conn).ensure_schema(conn)  # the other indexes, the state (current) and change tables
        conn.execute(text("ANALYZE search_docs"))
    return engine


def _summary(values: list[float]) -> dict:
    ordered = sorted(values)
    return {"n": len(ordered), **{f"p{p}_ms": bench_search._pct(ordered, p) for p in (50, 95, 99)}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--queries", type=int, default=400)
    parser.add_argument("--compare", choices=tuple(VARIANTS), default="scoring")
    parser.add_argument("--realistic", action="store_true", help="the kept index of real 公文 (…_real)")
    parser.add_argument("--json-out", type=Path, default=None, help="default bench/results/search-ab-<compare>.json")
    args = parser.parse_args()
    args.json_out = args.json_out or ROOT / "bench" / "results" / f"search-ab-{args.compare}.json"
    base = os.environ.get("LANTAI_BENCH_PG")
    if not base:
        raise SystemExit("set LANTAI_BENCH_PG to a PostgreSQL URL holding the kept index")
    schema = f"bench_search_{args.entries}" + ("_real" if args.realistic else "")
    engine = create_engine(base, connect_args={"options": f"-csearch_path={schema}"})
    variants = VARIANTS[args.compare]
    first, second = variants
    latencies: dict[str, list[float]] = defaultdict(list)
    kinds: dict[tuple[str, str], list[float]] = defaultdict(list)
    differing = 0
    copy = _id_order_copy(base, schema) if args.compare == "clustering" else None
    with engine.connect() as conn, (copy or engine).connect() as copy_conn:
        conns = {name: copy_conn if copy is not None and name == "id_order" else conn for name in variants}
        indexes = {name: open_index(c) for name, c in conns.items()}
        if any(index.is_stale(conns[name]) for name, index in indexes.items()):
            raise SystemExit("the kept index is stale: build it again with bench_search.py --keep")
        queries = bench_search.query_set(args.queries, args.entries)
        for _kind, query in queries[:20]:  # warm both paths
            for name, method in variants.items():
                _use(args.compare, method)
                indexes[name].search(conns[name], query)
                conns[name].rollback()
        for n, (kind, query) in enumerate(queries):
            order = list(variants.items()) if n % 2 == 0 else list(reversed(variants.items()))
            hits = {}
            for name, method in order:
                _use(args.compare, method)
                started = time.perf_counter()
                result = indexes[name].search(conns[name], query)
                elapsed = (time.perf_counter() - started) * 1000
                conns[name].rollback()
                latencies[name].append(elapsed)
                kinds[(kind, name)].append(elapsed)
                hits[name] = [h.record_id for h in result.hits]
            differing += hits[first] != hits[second]
    _use("scoring", TEXT)
    _use("driver", SCOPED)
    _use("range", staticmethod(RANGED))
    _use("grams", HOLDS_GRAMS)
    summary = {name: _summary(values) for name, values in latencies.items()}
    per_kind = {f"{kind}/{name}": _summary(values) for (kind, name), values in sorted(kinds.items())}
    result = {"entries": args.entries, "queries": args.queries, "compare": args.compare,
              "corpus": "real 公文, repeated" if args.realistic else "synthetic",
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
