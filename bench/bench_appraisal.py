"""Appraisal benchmark: proposing a 到期鉴定 over a large catalogue, and executing a campaign.

    .venv/bin/python bench/bench_appraisal.py [--catalogue 1000000] [--execute 10000] [--workers 2]
                                              [--parts propose,execute] [--backends sqlite,postgresql]
                                              [--cache DIR]
                                              [--pg postgresql+psycopg://postgres@127.0.0.1:5432/lantai_x]

Measured per backend (SQLite always; PostgreSQL when --pg or LANTAI_TEST_DATABASE_URL is given):

* ``propose``: ``--catalogue`` synthetic catalogue rows (年度 1990–2025, 永久/30年/10年, inserted
  directly in bulk and ANALYZEd: the proposal reads the catalogue only) and one 到期鉴定 opened for
  2025 — the due query and the INSERT … SELECT of every due item into the campaign; the query plan
  (which index the due query uses); the campaign's first and last page of 50 as the web page reads
  them; then ``lantai appraise due`` counts (per kind, 全宗, 年度) over the same catalogue. With
  ``--cache DIR`` the catalogue is built once per backend and size (SQLite under DIR, PostgreSQL in
  a database named after the ``--pg`` one) and reused by later runs; the campaign is deleted again
  after measuring, so every run proposes the same list.
* ``execute``: ``--execute`` items with real OCFL objects (年度 2010, 10年), first **arranged**
  (档号 published as a new version of each item — the baseline, same items, same run) and filed
  (归档), then appraised: every item decided 延长 D30 in one bulk decision, submitted, approved by
  two, and executed — a new version per item (元数据.xml and the 过程信息 event, catalogue, index and
  audit through the change path) and, because the 档号 carries the 保管期限, the 更正 of each filed
  档号 into the D30 class (a second version, as ``lantai arrange correct`` writes). Reported as
  items/s and as ratios to arrangement.

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

from sqlalchemy import delete, func, insert, select, text

from lantai.catalog.appraisal import AppraisalCampaign, AppraisalItem
from lantai.catalog.models import Item, User
from lantai.domain.appraisal import Kind
from lantai.domain.roles import Role
from lantai.services import appraisal, appraisal_due, appraisal_reminders, arrange, users
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
    with archive.sessions() as session:
        existing = set(session.scalars(select(User.username)))
    for name in ("proposer", "approver1", "approver2"):
        if name not in existing:
            users.create_user(archive, "bench", name, PASSWORD, roles=[Role.ARCHIVIST.value], clearance="绝密",
                              bootstrap=True)


def load_catalogue(archive: Archive, n: int) -> float:
    """Insert the synthetic rows once (a cached catalogue already holding them is reused); ANALYZE."""
    with archive.sessions() as session:
        have = session.scalar(select(func.count(Item.id)).where(Item.record_id.like("C%"))) or 0
    started = time.perf_counter()
    if have != n:
        with archive.session() as session:
            session.execute(delete(Item).where(Item.record_id.like("C%")))
            for start in range(0, n, 20_000):
                session.execute(insert(Item), catalogue_rows(start, min(20_000, n - start)))
        with archive.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("ANALYZE"))
    return time.perf_counter() - started


def query_plan(archive: Archive) -> list[str]:
    """The database's plan for each term of the due query of a 到期鉴定 (which index it reads)."""
    plans = []
    with archive.sessions() as session:
        dialect = session.get_bind().dialect
        for term in appraisal_due.due_terms(session, archive.settings, Kind.EXPIRY, 2025):
            sql = str(select(Item.id).where(term).compile(dialect=dialect, compile_kwargs={"literal_binds": True}))
            prefix = "EXPLAIN QUERY PLAN " if dialect.name == "sqlite" else "EXPLAIN "
            plans.append("\n".join(str(r[-1]) for r in session.execute(text(prefix + sql)).all()))
    return plans


def vacuum(archive: Archive) -> None:
    """PostgreSQL: no dead campaign rows of an earlier run (a real archive never deletes 300,000 of them)."""
    if archive.engine.dialect.name == "postgresql":
        with archive.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE appraisal_items"))


def bench_propose(archive: Archive, n: int) -> dict[str, Any]:
    loaded = load_catalogue(archive, n)
    vacuum(archive)
    plan = query_plan(archive)
    proposer = acting_as(archive, "proposer")
    seconds, campaign = timed(appraisal.open_campaign, archive, proposer, "到期", 2025)
    cid, proposed = campaign["id"], campaign["items"]
    first_seconds, _ = timed(appraisal.get_campaign, archive, proposer, cid, page=1)
    last_seconds, _ = timed(appraisal.get_campaign, archive, proposer, cid, page=max(1, -(-proposed // 50)))
    due_seconds, rows = timed(appraisal_reminders.due, archive, proposer, 2025)
    raw_copy, raw_group = raw_baselines(archive)
    with archive.session() as session:  # the cached catalogue proposes the same list next run
        session.execute(delete(AppraisalItem).where(AppraisalItem.campaign_id == cid))
        session.execute(delete(AppraisalCampaign).where(AppraisalCampaign.id == cid))
    vacuum(archive)
    return {"catalogue": n, "load_seconds": round(loaded, 1), "proposed": proposed,
            "seconds": round(seconds, 2), "rows_per_second": round(n / seconds),
            "proposed_per_second": round(proposed / seconds),
            "uses_due_index": all("ix_items_due" in p for p in plan), "plan": plan,
            "first_page_seconds": round(first_seconds, 3), "last_page_seconds": round(last_seconds, 3),
            "due_seconds": round(due_seconds, 2), "due_groups": len(rows),
            "raw_copy_seconds": round(raw_copy, 2), "ratio_to_raw_copy": round(seconds / raw_copy, 2),
            "raw_group_seconds": round(raw_group, 2), "due_ratio_to_raw_group": round(due_seconds / raw_group, 2)}


RAW_COLUMNS = ("record_id, archival_code, title, document_number, date, page_count, retention, "
               "security_classification, fonds_code, year")


def raw_baselines(archive: Archive) -> tuple[float, float]:
    """Same run, plain SQL: copying the same due rows into a table without indexes (the least a
    proposal must do), and one grouped count of the whole catalogue by 全宗 and 年度."""
    due = "status = 'archived' AND ((retention = '10年' AND year <= 2015) OR (retention = '30年' AND year <= 1995))"
    with archive.engine.begin() as conn:
        copy, _ = timed(conn.execute, text(f"CREATE TEMPORARY TABLE raw_due AS SELECT {RAW_COLUMNS} FROM items WHERE {due}"))
        conn.execute(text("DROP TABLE raw_due"))
    with archive.engine.connect() as conn:
        group, _ = timed(lambda: conn.execute(text("SELECT fonds_code, year, count(*) FROM items "
                                                   "WHERE status = 'archived' GROUP BY fonds_code, year")).all())
    return copy, group


def bench_execute(archive: Archive, n: int) -> dict[str, Any]:
    from tests.integration.test_arrange import add_item

    for i in range(n):
        add_item(archive, f"X{i:06d}", date=f"2010-{i % 12 + 1:02d}-{i % 28 + 1:02d}", number=f"示政发〔2010〕{i}号",
                 organisation=ORGS[i % len(ORGS)], retention="10年", year="2010")
    arrange_seconds, plan = timed(arrange.arrange, archive, "Z109", 2010)
    file_seconds, filed = timed(arrange.file_arrangement, archive, "Z109", 2010)
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
    with archive.sessions() as session:
        renumbered = session.scalar(select(func.count(Item.id)).where(Item.archival_code.like("%D30%"))) or 0
    arranged = len(plan.changes)
    arrange_rate, execute_rate = arranged / arrange_seconds, applied / execute_seconds
    return {"items": n, "proposed": campaign["items"], "arranged": arranged, "filed": filed,
            "arrange_seconds": round(arrange_seconds, 2), "arrange_items_per_second": round(arrange_rate, 1),
            "file_seconds": round(file_seconds, 2), "file_items_per_second": round(filed / file_seconds, 1),
            "decide_seconds": round(decide_seconds, 2), "applied": applied, "renumbered": renumbered,
            "execute_seconds": round(execute_seconds, 2), "execute_items_per_second": round(execute_rate, 1),
            "ratio_to_arrangement": round(execute_rate / arrange_rate, 2)}


PARTS = {"propose": (bench_propose, "catalogue"), "execute": (bench_execute, "execute")}


def bench_backend(name: str, url: Any, args: argparse.Namespace, home: Path) -> dict[str, Any]:
    results: dict[str, Any] = {"backend": name}
    for part in args.parts:
        fn, size_arg = PARTS[part]
        size = getattr(args, size_arg)
        cached = part == "propose" and args.cache is not None
        part_home = (args.cache / f"{name}-catalogue-{size}") if cached else home / part
        archive = init_archive(Settings(home=part_home, database_url=url(part, size, cached) if url else None,
                                        fsync=False, workers=args.workers, ingest_profile="off"))
        try:
            accounts(archive)
            results[part] = {**fn(archive, size), "load_average": [round(x, 1) for x in os.getloadavg()]}
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

    def new(part: str, size: int, cached: bool) -> str:
        db = f"{url.database or 'lantai'}_bench_{part}_{size}" if cached else f"lantai_bench_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(conninfo, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (db,)).fetchone() is None:
                conn.execute(f'CREATE DATABASE "{db}"')
        if not cached:
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
    parser.add_argument("--execute", type=int, default=10_000)
    parser.add_argument("--parts", type=lambda v: [p for p in v.split(",") if p], default=["propose", "execute"],
                        help="comma-separated: propose, execute")
    parser.add_argument("--backends", type=lambda v: [b for b in v.split(",") if b], default=["sqlite", "postgresql"],
                        help="comma-separated: sqlite, postgresql (PostgreSQL needs --pg)")
    parser.add_argument("--cache", type=Path, default=None, help="keep the large catalogue here and reuse it")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--pg", default=os.environ.get("LANTAI_TEST_DATABASE_URL"))
    parser.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "appraisal.json")
    args = parser.parse_args()
    runs = []
    with tempfile.TemporaryDirectory(prefix="lantai-bench-") as tmp:
        if "sqlite" in args.backends:
            runs.append(bench_backend("sqlite", None, args, Path(tmp) / "sqlite"))
        if args.pg and "postgresql" in args.backends:
            new, cleanup = pg_database(args.pg)
            try:
                runs.append(bench_backend("postgresql", new, args, Path(tmp) / "pg"))
            finally:
                for fn in cleanup:
                    fn()
    runs = merged(args.out, runs)
    report = {"benchmark": "appraisal", "python": platform.python_version(), "cpus": os.cpu_count(),
              "workers": args.workers, "load_average": os.getloadavg(), "runs": runs}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print_table(runs)
    print(json.dumps(report, ensure_ascii=False))
    print(f"\nwritten {args.out}")


def merged(out: Path, runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Parts measured by an earlier run (``--parts``) are kept beside this run's, each with its load."""
    try:
        earlier = {r["backend"]: r for r in json.loads(out.read_text(encoding="utf-8"))["runs"]}
    except (OSError, ValueError, KeyError):
        earlier = {}
    return [{**earlier.get(r["backend"], {}), **r} for r in runs]


def print_table(runs: list[dict[str, Any]]) -> None:
    print(f"{'backend':<11} {'measure':<44} {'items':>9} {'seconds':>9}  rate")
    for r in runs:
        name = r["backend"]
        if "propose" in r:
            p = r["propose"]
            print(f"{name:<11} {'propose 到期鉴定 (due query + copy)':<44} {p['catalogue']:>9} {p['seconds']:>9}  "
                  f"{p['rows_per_second']}/s catalogue, {p['proposed']} proposed "
                  f"(due index used: {'yes' if p['uses_due_index'] else 'NO'}; load {p['load_average']})")
            print(f"{'':<11} {'campaign page 1 / last page (50 rows)':<44} {p['proposed']:>9} "
                  f"{p['first_page_seconds']:>9}  last {p['last_page_seconds']} s")
            print(f"{'':<11} {'  baseline: raw CREATE TABLE AS SELECT due':<44} {p['proposed']:>9} "
                  f"{p['raw_copy_seconds']:>9}  proposal ×{p['ratio_to_raw_copy']} of it")
            print(f"{'':<11} {'appraise due (counts per kind/全宗/年度)':<44} {p['catalogue']:>9} {p['due_seconds']:>9}")
            print(f"{'':<11} {'  baseline: raw GROUP BY 全宗, 年度 (1 scan)':<44} {p['catalogue']:>9} "
                  f"{p['raw_group_seconds']:>9}  due ×{p['due_ratio_to_raw_group']} of it")
            name = ""
        if "execute" in r:
            e = r["execute"]
            print(f"{name:<11} {'arrange + publish (baseline)':<44} {e['arranged']:>9} {e['arrange_seconds']:>9}  "
                  f"{e['arrange_items_per_second']}/s (load {e['load_average']})")
            print(f"{'':<11} {'file 归档 + publish':<44} {e['filed']:>9} {e['file_seconds']:>9}  "
                  f"{e['file_items_per_second']}/s")
            print(f"{'':<11} {'execute campaign (延长 D30 + 档号 更正)':<44} {e['applied']:>9} {e['execute_seconds']:>9}  "
                  f"{e['execute_items_per_second']}/s (×{e['ratio_to_arrangement']} of arrangement; "
                  f"{e['renumbered']} renumbered)")


if __name__ == "__main__":
    main()
