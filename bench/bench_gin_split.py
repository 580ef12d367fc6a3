"""What building the search table's GIN index in two halves at once would save (PostgreSQL 15).

After a reindex's COPY, the GIN index over the tsvectors is built by one backend on one core
(PostgreSQL 15 has no parallel GIN build; 18 has), ~25 % of a 1,000,000-entry reindex, while the
other core waits. A table split in two (partitions, or two partial indexes) could be indexed by
two sessions at once. This measures the gain on a kept index before anything is built for it:
the rows of even and odd epochs (``id >> EPOCH_BITS``) are copied into two tables, then, in
alternating rounds, one GIN index over the whole table and one over each half built at once
from two connections, with the server's build memory (``BUILD_MEMORY``).

Usage::

    python bench/bench_search.py --entries 200000 --realistic 600 --backend postgresql --keep   # first
    LANTAI_BENCH_PG=postgresql+psycopg://postgres@127.0.0.1:5432/lantai_bench \\
        python bench/bench_gin_split.py --entries 200000 --realistic [--rounds 2]

Writes bench/results/gin_split.json; the two half tables are dropped afterwards.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Engine, create_engine, text  # noqa: E402

from lantai.search.postgres_fts import BUILD_MEMORY, EPOCH_BITS  # noqa: E402

RESULTS = Path(__file__).resolve().parent / "results" / "gin_split.json"
HALVES = ("gin_half_0", "gin_half_1")


def make_halves(engine: Engine) -> list[int]:
    """Copy the rows of even and odd epochs into two tables stored like the search table."""
    counts = []
    with engine.begin() as conn:
        for parity, name in enumerate(HALVES):
            conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
            conn.execute(text(f"CREATE TABLE {name} (LIKE search_docs INCLUDING STORAGE INCLUDING COMPRESSION) "
                              "WITH (toast_tuple_target = 512)"))
            counts.append(conn.execute(text(f"INSERT INTO {name} SELECT * FROM search_docs "
                                            f"WHERE (id >> {EPOCH_BITS}) & 1 = {parity}")).rowcount)
    return counts


def build_seconds(engine: Engine, table: str) -> float:
    """Seconds to build (then drop) a GIN index over ``table``'s tsvectors."""
    with engine.begin() as conn:
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
        started = time.perf_counter()
        conn.execute(text(f"CREATE INDEX {table}_gin_bench ON {table} USING GIN (tsv)"))
        elapsed = time.perf_counter() - started
        conn.execute(text(f"DROP INDEX {table}_gin_bench"))
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, required=True, help="size of the kept index (bench_search.py --keep)")
    parser.add_argument("--realistic", action="store_true", help="the kept index of real 公文 (…_real)")
    parser.add_argument("--rounds", type=int, default=2)
    args = parser.parse_args()
    base = os.environ.get("LANTAI_BENCH_PG")
    if not base:
        sys.exit("set LANTAI_BENCH_PG to the PostgreSQL server holding the kept index")
    schema = f"bench_search_{args.entries}{'_real' if args.realistic else ''}"
    engine = create_engine(base, connect_args={"options": f"-csearch_path={schema}"}, pool_size=3)
    with engine.connect() as conn:
        if conn.execute(text("SELECT to_regclass('search_docs')")).scalar() is None:
            sys.exit(f"no kept index in schema {schema}: run bench_search.py --keep first")
    try:
        print(f"copying the rows of even and odd epochs of {schema} …", flush=True)
        counts = make_halves(engine)
        rounds = []
        with ThreadPoolExecutor(2) as pool:
            for n in range(args.rounds):  # alternating, so the machine's drift touches both alike
                whole = build_seconds(engine, "search_docs")
                started = time.perf_counter()
                halves = [f.result() for f in [pool.submit(build_seconds, engine, h) for h in HALVES]]
                together = time.perf_counter() - started
                rounds.append({"round": n + 1, "whole_s": round(whole, 1), "halves_at_once_s": round(together, 1),
                               "half_0_s": round(halves[0], 1), "half_1_s": round(halves[1], 1),
                               "ratio": round(whole / together, 2), "load_average": os.getloadavg()[0]})
    finally:
        with engine.begin() as conn:
            for name in HALVES:
                conn.execute(text(f"DROP TABLE IF EXISTS {name}"))
        engine.dispose()
    columns = ("round", "whole_s", "halves_at_once_s", "half_0_s", "half_1_s", "ratio", "load_average")
    print(f"rows: {counts[0]:,} + {counts[1]:,}, build memory {BUILD_MEMORY}")
    print("  ".join(f"{c:>16}" for c in columns))
    for row in rounds:
        print("  ".join(f"{row[c]!s:>16}" for c in columns))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps({"schema": schema, "rows": counts, "rounds": rounds}, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
