"""Web benchmark: browse and item-detail pages with 100,000 catalogue rows, and API submissions.

    .venv/bin/python bench/bench_web.py                      # SQLite
    .venv/bin/python bench/bench_web.py --database-url postgresql+psycopg://postgres@127.0.0.1/postgres

The server is uvicorn (1 worker) in a separate process; the load generator is local (threads with
httpx keep-alive clients) and runs each scenario for a bounded time. Catalogue rows are inserted
directly (fast); one item is ingested for real so its detail page reads the store and the audit
chain is appended on every view, as in production (fsync on). The submission scenario posts
small SIP zips from 8 concurrent clients and then counts the catalogue: zero lost submissions.
Prints a table and writes bench/results/web-<backend>.json.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

RESULTS = ROOT / "bench" / "results"
os.environ.setdefault("LANTAI_INGEST_PROFILE", "off")  # measures the web layer, not clamd (see README of checks)
PASSWORD = "Bench#Lantai2025"
FONDS = ["Z101", "Z102", "Z103", "Z104"]
RETENTION = ["永久", "定期30年", "定期10年"]
ORGS = ["BGS", "FGW", "CZJ", "JYJ", "WJW", "YJJ", "TJJ"]
LEVELS = ["公开"] * 6 + ["内部"] * 2 + ["秘密", "机密"]


def _pg_database(base: str) -> str:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(base)
    name = f"lantai_bench_{uuid.uuid4().hex[:8]}"
    conninfo = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return url.set(database=name).render_as_string(hide_password=False)


def _drop_pg(db_url: str) -> None:
    import psycopg
    from sqlalchemy.engine import make_url

    url = make_url(db_url)
    conninfo = f"host={url.host or '127.0.0.1'} port={url.port or 5432} user={url.username or 'postgres'} dbname=postgres"
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')


def seed(home: Path, database_url: str | None, count: int) -> dict:
    """Archive with ``count`` catalogue rows, one real item, and a reader + clerk with tokens."""
    import datetime as dt

    from sqlalchemy import insert

    from lantai.catalog.models import Item
    from lantai.services import users
    from lantai.services.archive import init_archive
    from lantai.services.ingest import BatchContext, commit_item, prepare_item
    from lantai.settings import Settings
    from tests.api.conftest import pdf_bytes
    from tests.sipfactory import SipSpec, write_item

    settings = Settings(home=home, database_url=database_url, workers=1)
    archive = init_archive(settings)
    rng = random.Random(7)
    start = time.perf_counter()
    base = dt.datetime(2015, 1, 1, tzinfo=dt.UTC)
    batch = []
    with archive.engine.begin() as conn:
        for i in range(count):
            year = 2015 + (i % 11)
            batch.append({
                "record_id": f"SYN-{i:07d}", "title": f"关于第{i}号事项的通知", "document_number": f"青政办发〔{year}〕{i % 500}号",
                "author": "青禾区人民政府办公室", "date": f"{year}-03-01", "year": year,
                "retention": RETENTION[i % 3], "organisation": ORGS[i % 7], "category": "WS",
                "fonds_code": FONDS[i % 4], "fonds_unit": "青禾区人民政府办公室", "archival_code": f"{FONDS[i % 4]}-WS-{year}-{i:07d}",
                "item_number": i, "document_type": "通知", "security_classification": rng.choice(LEVELS),
                "page_count": 2, "status": "archived", "ocfl_version": 1, "file_count": 1, "total_bytes": 40_000 + i % 997,
                "archived_at": base + dt.timedelta(hours=i), "updated_at": base + dt.timedelta(hours=i)})
            if len(batch) == 5000:
                conn.execute(insert(Item), batch)
                batch = []
        if batch:
            conn.execute(insert(Item), batch)
    seeded = time.perf_counter() - start
    item = write_item(home.parent / "sip", SipSpec(record_id="BENCH-REAL-0001", files={"正文.pdf": pdf_bytes("基准测试")}))
    context = BatchContext(submitted_by="bench")
    outcome = commit_item(archive, prepare_item(settings, item, context), context)
    assert outcome.status == "accepted", outcome.to_dict()
    users.create_user(archive, "bench", "bench-reader", PASSWORD, roles=["利用者"], clearance="机密", bootstrap=True)
    users.create_user(archive, "bench", "bench-clerk", PASSWORD, roles=["文书"], clearance="内部", bootstrap=True)
    tokens = {"reader": users.issue_token(archive, "bench", "bench-reader", "bench", 30, ["read"])["token"],
              "clerk": users.issue_token(archive, "bench", "bench-clerk", "bench", 30, ["read", "submit"])["token"]}
    archive.close()
    return {"tokens": tokens, "seed_seconds": round(seeded, 1), "real_item": "BENCH-REAL-0001"}


def serve(home: str, database_url: str, port: int) -> None:
    import uvicorn

    from lantai.api import create_app
    from lantai.services.archive import open_archive
    from lantai.settings import Settings

    archive = open_archive(Settings(home=Path(home), database_url=database_url or None, workers=1))
    uvicorn.run(create_app(archive), host="127.0.0.1", port=port, log_level="warning", access_log=False)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def load(base: str, token: str, make_path, seconds: float, concurrency: int) -> dict:
    """Closed-loop load for ``seconds``: each worker sends the next request when the last returns."""
    import httpx

    latencies: list[float] = []
    errors = [0]
    lock = threading.Lock()
    deadline = time.perf_counter() + seconds

    def worker(seed_value: int) -> None:
        rng = random.Random(seed_value)
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30) as client:
            while time.perf_counter() < deadline:
                t0 = time.perf_counter()
                response = client.get(make_path(rng))
                elapsed = time.perf_counter() - t0
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200:
                        errors[0] += 1

    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(worker, range(concurrency)))
    wall = time.perf_counter() - started
    latencies.sort()
    return {"requests": len(latencies), "errors": errors[0], "rps": round(len(latencies) / wall, 1),
            "p50_ms": round(latencies[len(latencies) // 2] * 1000, 1),
            "p95_ms": round(latencies[int(len(latencies) * 0.95)] * 1000, 1)}


def submissions(base: str, token: str, workdir: Path, total: int, concurrency: int) -> dict:
    import httpx

    from tests.api.conftest import pdf_bytes
    from tests.sipfactory import SipSpec, write_item, zip_item

    packages = []
    for i in range(total):
        spec = SipSpec(record_id=f"BENCH-SUB-{i:05d}", files={"正文.pdf": pdf_bytes(f"基准提交第{i}件", pages=1)})
        packages.append((spec.record_id, zip_item(write_item(workdir / "subs", spec)).read_bytes()))
    results: list[tuple[str, int, str]] = []
    lock = threading.Lock()

    def send(chunk: list[tuple[str, bytes]]) -> None:
        with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            for record_id, data in chunk:
                key = f"bench-{record_id}"
                for _attempt in range(5):  # a client retries with the same key, as an OA system would
                    try:
                        r = client.post("/api/v1/submissions", headers={"Idempotency-Key": key},
                                        files={"package": ("sip.zip", data, "application/zip")})
                    except httpx.HTTPError:
                        continue
                    if r.status_code in (200, 201):
                        with lock:
                            results.append((record_id, r.status_code, r.json()["status"]))
                        break
                    time.sleep(0.2)

    chunks = [packages[i::concurrency] for i in range(concurrency)]
    started = time.perf_counter()
    with concurrent.futures.ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(send, chunks))
    wall = time.perf_counter() - started
    accepted = {rid for rid, _code, status in results if status in ("accepted", "duplicate")}
    statuses: dict[str, int] = {}
    for _rid, _code, status in results:
        statuses[status] = statuses.get(status, 0) + 1
    return {"statuses": statuses, "submitted": total, "answered": len(results), "accepted": len(accepted), "seconds": round(wall, 1),
            "items_per_s": round(len(accepted) / wall, 1), "clients": concurrency}


def count_archived(home: Path, database_url: str | None) -> int:
    from sqlalchemy import func, select

    from lantai.catalog.models import Item
    from lantai.services.archive import open_archive
    from lantai.settings import Settings

    with open_archive(Settings(home=home, database_url=database_url, workers=1), recover=False) as archive, \
            archive.sessions() as session:
        return session.scalar(select(func.count(Item.id)).where(Item.record_id.like("BENCH-SUB-%"))) or 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", default=None, help="PostgreSQL base URL (a throwaway database is created)")
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--seconds", type=float, default=8.0, help="duration of each page scenario")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--submissions", type=int, default=200)
    parser.add_argument("--serve", nargs=3, metavar=("HOME", "DBURL", "PORT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve[0], args.serve[1], int(args.serve[2]))
        return
    backend = "postgresql" if args.database_url else "sqlite"
    db_url = _pg_database(args.database_url) if args.database_url else None
    workdir = Path(tempfile.mkdtemp(prefix="bench-web-"))
    home = workdir / "archive"
    try:
        info = seed(home, db_url, args.items)
        port = _free_port()
        server = subprocess.Popen([sys.executable, __file__, "--serve", str(home), db_url or "", str(port)],
                                  env={**os.environ, "PYTHONPATH": str(ROOT)})
        base = f"http://127.0.0.1:{port}"
        _wait(base)
        try:
            result = run_scenarios(args, base, info, workdir)
        finally:
            server.terminate()
            server.wait(timeout=30)
        result["submissions"]["archived_in_catalogue"] = count_archived(home, db_url)
        result["submissions"]["lost"] = args.submissions - result["submissions"]["archived_in_catalogue"]
        result.update(backend=backend, items=args.items, seed_seconds=info["seed_seconds"],
                      concurrency=args.concurrency, seconds_per_scenario=args.seconds, cpus=os.cpu_count())
        report(result)
        RESULTS.mkdir(parents=True, exist_ok=True)
        (RESULTS / f"web-{backend}.json").write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    finally:
        if db_url:
            _drop_pg(db_url)
        import shutil

        shutil.rmtree(workdir, ignore_errors=True)


def _wait(base: str) -> None:
    import httpx

    for _ in range(200):
        try:
            if httpx.get(f"{base}/login", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("server did not start")


def run_scenarios(args: argparse.Namespace, base: str, info: dict, workdir: Path) -> dict:
    reader = info["tokens"]["reader"]

    def browse(rng: random.Random) -> str:
        return (f"/library?fonds_code={rng.choice(FONDS)}&year={rng.randint(2015, 2025)}"
                f"&retention={rng.choice(RETENTION)}&page={rng.randint(1, 10)}")

    def browse_deep(rng: random.Random) -> str:
        return f"/library?page={rng.randint(1, 1500)}"

    def detail_real(_rng: random.Random) -> str:
        return f"/items/{info['real_item']}"

    def detail_synthetic(rng: random.Random) -> str:
        return f"/items/SYN-{rng.randrange(args.items):07d}"

    pages = {}
    for name, fn in (("browse_page", browse), ("browse_top_deep_offset", browse_deep),
                     ("item_detail_ingested", detail_real), ("item_detail_catalogue_row", detail_synthetic)):
        pages[name] = load(base, reader, fn, args.seconds, args.concurrency)
    subs = submissions(base, info["tokens"]["clerk"], workdir, args.submissions, 8)
    return {"pages": pages, "submissions": subs}


def report(result: dict) -> None:
    print(f"\nLantai web bench — {result['backend']}, {result['items']:,} catalogue rows, "
          f"{result['concurrency']} concurrent clients, {result['seconds_per_scenario']} s per scenario, {result['cpus']} CPUs")
    print(f"{'scenario':<28}{'req/s':>8}{'p50 ms':>9}{'p95 ms':>9}{'requests':>10}{'non-200':>9}")
    for name, r in result["pages"].items():
        print(f"{name:<28}{r['rps']:>8}{r['p50_ms']:>9}{r['p95_ms']:>9}{r['requests']:>10}{r['errors']:>9}")
    s = result["submissions"]
    print(f"submissions: {s['submitted']} small SIPs from {s['clients']} clients in {s['seconds']} s = "
          f"{s['items_per_s']} items/s; answered {s['answered']}, in catalogue {s['archived_in_catalogue']}, lost {s['lost']}")


if __name__ == "__main__":
    main()
