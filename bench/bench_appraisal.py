"""Appraisal benchmark: proposing a 到期鉴定 over a large catalogue, and executing a campaign.

    .venv/bin/python bench/bench_appraisal.py [--catalogue 1000000] [--execute 1000] [--workers 2]
                                              [--pg postgresql+psycopg://postgres@127.0.0.1:5432/postgres]

Measured per backend (SQLite always; PostgreSQL when --pg or LANTAI_TEST_DATABASE_URL is given):

* ``propose``: ``--catalogue`` synthetic catalogue rows (年度 1990–2025, 永久/30年/10年, inserted
  directly: the proposal reads the catalogue only) and one 到期鉴定 opened for 2025 — the due query
  and the INSERT … SELECT of every due item into the campaign; then ``lantai appraise due`` counts
  (per kind, 全宗, 年度) over the same catalogue;
* ``execute``: ``--execute`` items with real OCFL objects (年度 2010, 10年), first **arranged**
  (档号 published as a new version of each item — the baseline, same items, same run), then
  appraised: every item decided 延长 D30 in one bulk decision, submitted, approved by two, and
  executed (a new version per item: 元数据.xml and the 过程信息 event, catalogue, index and audit
  through the change path). Reported as items/s and as a ratio to arrangement.

Prints a table and writes bench/results/appraisal.json.
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
from lantai.domain.roles import Role
from lantai.services import appraisal, appraisal_reminders, arrange, users
from lantai.services.archive import Archive, init_archive
from lantai.services.use import acting_as
from lantai.settings import Settings

RETENTIONS = ("永久", "30年", "10年")
ORGS = ("BGS", "ZZB", "CZK", "FGK", "ZRZYK")
PASSWORD = "Lantai#Bench2025"


def catalogue_rows(start: int, n: int) -> list[dict[str, Any]]:
    rng = random.Random(start)
    rows = []
    for i in range(start, start + n):
        year = rng.randint(1990, 2025)
        rows.append({"record_id": f"C{i:08d}", "title": f"关于第{i}项工作的通知", "document_number": f"示政发〔{year}〕{i % 400}号",
                     "author": "示范区人民政府", "date": f"{year}-03-18", "year": year,
                     "retention": rng.choice(RETENTIONS), "organisation": rng.choice(ORGS), "category": "WS",
                     "fonds_code": f"Z{100 + i % 20}", "document_type": "通知", "page_count": 2, "status": "archived",
                     "archival_code": f"Z{100 + i % 20}-WS·{year}-{i:06d}"})
    return rows


def timed(fn, *args, **kwargs) -> tuple[float, Any]:  # type: ignore[no-untyped-def]
    start = time.perf_counter()
    result = fn(*args, **kwargs)
    return time.perf_counter() - start, result


def accounts(archive: Archive) -> None:
    for name in ("proposer", "approver1", "approver2"):
        users.create_user(archive, "bench", name, PASSWORD, roles=[Role.ARCHIVIST.value], clearance="绝密",
                          bootstrap=True)


def bench_propose(archive: Archive, n: int) -> dict[str, Any]:
    started = time.perf_counter()
    with archive.session() as session:
        for start in range(0, n, 20_000):
            session.execute(insert(Item), catalogue_rows(start, min(20_000, n - start)))
    loaded = time.perf_counter() - started
    proposer = acting_as(archive, "proposer")
    seconds, campaign = timed(appraisal.open_campaign, archive, proposer, "到期", 2025)
    due_seconds, rows = timed(appraisal_reminders.due, archive, proposer, 2025)
    return {"catalogue": n, "load_seconds": round(loaded, 1), "proposed": campaign["items"],
            "seconds": round(seconds, 2), "rows_per_second": round(n / seconds),
            "due_seconds": round(due_seconds, 2), "due_groups": len(rows)}


def bench_execute(archive: Archive, n: int) -> dict[str, Any]:
    from tests.integration.test_arrange import add_item

    for i in range(n):
        add_item(archive, f"X{i:06d}", date=f"2010-{i % 12 + 1:02d}-{i % 28 + 1:02d}", number=f"示政发〔2010〕{i}号",
                 organisation=ORGS[i % len(ORGS)], retention="10年", year="2010")
    arrange_seconds, plan = timed(arrange.arrange, archive, "Z109", 2010)
    proposer = acting_as(archive, "proposer")
    campaign = appraisal.open_campaign(archive, proposer, "到期", 2025, fonds="Z109")
    cid = campaign["id"]
    ids = [f"X{i:06d}" for i in range(n)]
    decide_seconds, _ = timed(appraisal.decide, archive, proposer, cid, ids, "延长", "仍有查考价值", value="D30")
    appraisal.submit(archive, proposer, cid, ["approver1", "approver2"])
    for name in ("approver1", "approver2"):
        appraisal.approve(archive, acting_as(archive, name), cid, True, "同意")
    execute_seconds, result = timed(appraisal.execute, archive, proposer, cid)
    applied = result["execution"]["applied"]
    arranged = len(plan.changes)
    return {"items": n, "proposed": campaign["items"], "arranged": arranged,
            "arrange_seconds": round(arrange_seconds, 2), "arrange_items_per_second": round(arranged / arrange_seconds, 1),
            "decide_seconds": round(decide_seconds, 2), "applied": applied,
            "execute_seconds": round(execute_seconds, 2),
            "execute_items_per_second": round(applied / execute_seconds, 1),
            "ratio_to_arrangement": round((applied / execute_seconds) / (arranged / arrange_seconds), 2)}


def bench_backend(name: str, url: str | None, args: argparse.Namespace, home: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"backend": name}
    for part, fn, size in (("propose", bench_propose, args.catalogue), ("execute", bench_execute, args.execute)):
        archive = init_archive(Settings(home=home / part, database_url=url() if url else None, fsync=False,
                                        workers=args.workers, ingest_profile="off"))
        try:
            accounts(archive)
            results[part] = fn(archive, size)
            print(json.dumps({"backend": name, part: results[part]}, ensure_ascii=False), flush=True)  # partial
        finally:
            archive.close()
    return results


def pg_database(base_url: str) -> tuple[Any, list[Any]]:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base_url)
    conninfo = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    made: list[str] = []

    def new() -> str:
        db = f"lantai_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{db}"')
        made.append(db)
        return url.set(database=db).render_as_string(hide_password=False)

    def drop() -> None:
        with psycopg.connect(conninfo, autocommit=True) as conn:
            for db in made:
                conn.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')

    return new, [drop]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--catalogue", type=int, default=1_000_000)
    parser.add_argument("--execute", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=os.environ.get("LANTAI_TEST_DATABASE_URL"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "appraisal.json")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="lantai-bench-") as tmp:
        runs.append(bench_backend("sqlite", None, args, Path(tmp) / "sqlite"))
        if args.pg:
            new, cleanup = pg_database(args.pg)
            try:
                runs.append(bench_backend("postgresql", new, args, Path(tmp) / "pg"))
            finally:
                for fn in cleanup:
                    fn()
    report = {"benchmark": "appraisal", "python": platform.python_version(), "cpus": os.cpu_count(),
              "workers": args.workers, "load_average": os.getloadavg(), "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(runs)
    print(json.dumps(report, ensure_ascii=False))
    print(f"\nwritten {args.out}")


def print_table(runs: list[dict[str, Any]]) -> None:
    print(f"{'backend':<11} {'measure':<40} {'items':>9} {'seconds':>9} {'rate':>14}")
    for r in runs:
        p, e = r["propose"], r["execute"]
        print(f"{r['backend']:<11} {'propose 到期鉴定 (due query + copy)':<40} {p['catalogue']:>9} {p['seconds']:>9} "
              f"{p['rows_per_second']:>11}/s  ({p['proposed']} proposed)")
        print(f"{'':<11} {'appraise due (counts per kind/全宗/年度)':<40} {p['catalogue']:>9} {p['due_seconds']:>9}")
        print(f"{'':<11} {'arrange + publish (baseline)':<40} {e['arranged']:>9} {e['arrange_seconds']:>9} "
              f"{e['arrange_items_per_second']:>11}/s")
        print(f"{'':<11} {'execute campaign (延长 D30)':<40} {e['applied']:>9} {e['execute_seconds']:>9} "
              f"{e['execute_items_per_second']:>11}/s  (×{e['ratio_to_arrangement']} of arrangement)")


if __name__ == "__main__":
    main()
