"""Arrangement benchmark: numbering 100,000 catalogued items, publishing, and catalogue exports.

    .venv/bin/python bench/bench_arrange.py [--items 100000] [--publish 1000] [--export 10000]
                                            [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Measured per backend (SQLite always; PostgreSQL when --pg or LANTAI_TEST_DATABASE_URL is given):

* ``arrange``: one transaction that locks the year, plans and writes 档号/件号 for every item
  (catalogue rows inserted directly, so the store is not involved);
* ``re-arrange``: the same year again, nothing to change (the cost of a check run);
* ``publish``: items with real OCFL objects, arranged end to end (a new metadata version per item,
  committed in groups: one intent, one transaction and one audit append per group, versions
  prepared on ``--workers`` processes); reported per item and extrapolated to 100,000;
* ``export``: the 归档文件目录 of ``--export`` arranged items as XLSX and PDF (SQLite only; the
  writers do not depend on the backend).

Prints a table and writes bench/results/arrange.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import insert

from lantai.catalog.models import Item
from lantai.services import arrange as svc
from lantai.services.archive import Archive, init_archive
from lantai.settings import Settings

ORGS = ("BGS", "ZZB", "CZK", "FGK", "ZRZYK")
RETENTIONS = ("永久", "30年", "10年")
TYPES = ("通知", "请示", "报告", "函", "批复", "纪要")


def catalogue_rows(n: int, year: int, prefix: str) -> list[dict[str, Any]]:
    rng = random.Random(year)
    rows = []
    for i in range(n):
        month, day = rng.randint(1, 12), rng.randint(1, 28)
        rows.append({"record_id": f"{prefix}{i:06d}", "title": f"关于第{i}项工作的{rng.choice(TYPES)}",
                     "document_number": f"示政发〔{year}〕{rng.randint(1, 400)}号", "author": "示范区人民政府",
                     "date": f"{year}-{month:02d}-{day:02d}", "year": year, "retention": rng.choice(RETENTIONS),
                     "organisation": rng.choice(ORGS), "category": "WS", "fonds_code": "Z109",
                     "document_type": rng.choice(TYPES), "page_count": rng.randint(1, 20), "status": "archived"})
    return rows


def load(archive: Archive, rows: list[dict[str, Any]]) -> None:
    with archive.session() as session:
        for start in range(0, len(rows), 10_000):
            session.execute(insert(Item), rows[start:start + 10_000])


def timed(fn, *args, **kwargs) -> tuple[float, Any]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def bench_backend(name: str, url: str | None, args: argparse.Namespace, home: Path) -> dict[str, Any]:
    archive = init_archive(Settings(home=home, database_url=url, fsync=False, workers=args.workers))
    try:
        results: dict[str, Any] = {"backend": name}
        load(archive, catalogue_rows(args.items, 2025, "B"))
        seconds, plan = timed(svc.arrange, archive, "Z109", 2025, publish=False)
        results["arrange"] = {"items": len(plan.items), "changed": len(plan.changes), "seconds": round(seconds, 2),
                              "items_per_second": round(len(plan.items) / seconds)}
        seconds, again = timed(svc.arrange, archive, "Z109", 2025, publish=False)
        results["rearrange_unchanged"] = {"items": len(again.items), "changed": len(again.changes), "seconds": round(seconds, 2)}
        results["publish"] = bench_publish(archive, args.publish)
        if name == "sqlite" and args.export:
            results["export"] = bench_export(archive, args.export, home)
        return results
    finally:
        archive.close()


def bench_publish(archive: Archive, n: int) -> dict[str, Any]:
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from tests.integration.test_arrange import add_item

    for i in range(n):
        add_item(archive, f"P{i:05d}", date=f"2024-{i % 12 + 1:02d}-{i % 28 + 1:02d}", number=f"示政发〔2024〕{i}号",
                 organisation=ORGS[i % len(ORGS)], retention=RETENTIONS[i % 3], year="2024")
    seconds, plan = timed(svc.arrange, archive, "Z109", 2024)
    per_item = seconds / max(1, len(plan.changes))
    return {"items": len(plan.changes), "seconds": round(seconds, 2), "ms_per_item": round(per_item * 1000, 2),
            "extrapolated_100k_seconds": round(per_item * 100_000)}


def bench_export(archive: Archive, n: int, home: Path) -> dict[str, Any]:
    load(archive, catalogue_rows(n, 2023, "E"))
    svc.arrange(archive, "Z109", 2023, publish=False)
    out: dict[str, Any] = {"rows": n}
    for suffix in ("xlsx", "pdf"):
        target = home / f"catalogue.{suffix}"
        seconds, result = timed(svc.export_catalogue, archive, "Z109", 2023, target)
        out[suffix] = {"seconds": round(seconds, 2), "bytes": target.stat().st_size, "rows": result["rows"]}
    return out


def pg_database(base_url: str) -> tuple[str, Any]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    db = f"lantai_bench_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{db}"')

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    return url.set(database=db).render_as_string(hide_password=False), drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--publish", type=int, default=1000)
    parser.add_argument("--export", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=os.environ.get("LANTAI_TEST_DATABASE_URL"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "arrange.json")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="lantai-bench-") as tmp:
        runs.append(bench_backend("sqlite", None, args, Path(tmp) / "sqlite"))
        if args.pg:
            url, drop = pg_database(args.pg)
            try:
                runs.append(bench_backend("postgresql", url, args, Path(tmp) / "pg"))
            finally:
                drop()
    report = {"benchmark": "arrange", "python": platform.python_version(), "cpus": os.cpu_count(),
              "workers": args.workers, "load_average": os.getloadavg(),
              "goal_seconds": 60, "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(runs)
    print(f"\nwritten {args.out}")


def print_table(runs: list[dict[str, Any]]) -> None:
    print(f"{'backend':<11} {'measure':<34} {'items':>8} {'seconds':>9} {'rate':>14}")
    for r in runs:
        a, again, p = r["arrange"], r["rearrange_unchanged"], r["publish"]
        print(f"{r['backend']:<11} {'arrange (plan + 档号 + commit)':<34} {a['items']:>8} {a['seconds']:>9} {a['items_per_second']:>10}/s")
        print(f"{'':<11} {'re-arrange, nothing to change':<34} {again['items']:>8} {again['seconds']:>9}")
        print(f"{'':<11} {'publish (OCFL version+audit)':<34} {p['items']:>8} {p['seconds']:>9} {p['ms_per_item']:>9} ms/item"
              f"  (100k ≈ {p['extrapolated_100k_seconds']} s)")
        if "export" in r:
            e = r["export"]
            for suffix in ("xlsx", "pdf"):
                print(f"{'':<11} {'export catalogue ' + suffix.upper():<34} {e['rows']:>8} {e[suffix]['seconds']:>9}")


if __name__ == "__main__":
    main()
