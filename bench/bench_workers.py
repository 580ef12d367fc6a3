"""Scale-out figures: ingest with 1, 2 and 4 ``lantai worker`` processes against PostgreSQL and one
shared store, beside in-process ingest measured in the same run; then a load test of concurrent API
clients (search, item views, access-copy downloads) against ``lantai serve --workers 2``.

Ingest runs the default DA/T 70 profile against a private clamd (test signatures), with fsync on.
The same items (``--batches`` batches of ``--items`` items each, one job per batch) are ingested into
a fresh PostgreSQL database and store for every mode:

* in-process, ``LANTAI_WORKERS=1``: the jobs run inline, one after another, in one process (no broker;
  what ``lantai ingest`` does), preparing and committing serially
* in-process, ``LANTAI_WORKERS=2``: the same with ingest's pool of two preparing processes
* queue, N workers: N ``lantai worker`` processes (``LANTAI_WORKERS=1``, one thread each) on Redis

Throughput is items / makespan (first job start → last job end, from the jobs table; worker start-up
excluded, the same for every mode) and, for reference, the wall time including start-up. Scaling efficiency is the
N-worker rate over N × the 1-worker rate.

Usage: python bench/bench_workers.py [--batches 12] [--items 4] [--clients 50] [--seconds 60]
                                     [--json-out bench/results/workers.json]
       python bench/bench_workers.py --skip-load               # the ingest figures only
       python bench/bench_workers.py --load-only --seconds 600 # the 10-minute load test only

The load test samples the machine's load average every 5 s while it runs (this machine is shared:
the figure says how much of it the test had) and reports its mean and maximum.
Needs LANTAI_TEST_DATABASE_URL (a PostgreSQL server URL) and Redis on 127.0.0.1:6379.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sipfactory import SipSpec, real_pdf, write_batch  # noqa: E402

LANTAI = [sys.executable, "-m", "lantai.cli.main"]
RESULTS = ROOT / "bench" / "results"
PASSWORD = "Lantai#Bench2025"


def make_batches(root: Path, batches: int, items: int) -> list[Path]:
    paths = []
    n = 0
    for b in range(batches):
        specs = []
        for _ in range(items):
            n += 1
            specs.append(SipSpec(record_id=f"Z109-WS-2025-{n:05d}", title=f"关于第{n}项工作的通知",
                                 document_number=f"X政办发〔2025〕{n}号", date=f"2025-{n % 12 + 1:02d}-{n % 27 + 1:02d}",
                                 files={"正文.pdf": real_pdf(192 * 1024)}))
        paths.append(write_batch(root / f"b{b:03d}", specs, name=f"batch{b:03d}"))
    return paths


def new_database(base: str) -> str:
    from tests.conftest import _create_pg_database

    return _create_pg_database(base)


def drop_database(url: str) -> None:
    from tests.conftest import _drop_pg_database

    _drop_pg_database(url)


def environment(home: Path, db: str, clamd: str, broker: str | None, workers: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("LANTAI_")}
    env.update({"LANTAI_HOME": str(home), "LANTAI_DATABASE_URL": db, "LANTAI_CLAMD_SOCKET": clamd,
                "LANTAI_WORKERS": str(workers), "LANTAI_FSYNC": "true", "PYTHONPATH": str(ROOT)})
    if broker:
        env["LANTAI_BROKER_URL"] = broker
    return env


def fresh_archive(workdir: Path, base_db: str, name: str) -> tuple[Path, str]:
    home = workdir / name
    db = new_database(base_db)
    subprocess.run([*LANTAI, "init", "--json"], env=environment(home, db, "", None, 1), check=True,
                   capture_output=True)
    return home, db


IN_PROCESS = """
import json, sys
from lantai.services import jobs
from lantai.services.archive import open_archive
with open_archive() as archive:
    ids = [jobs.submit(archive, "ingest.paths", {"paths": [p], "actor": "bench"}, actor="bench")["id"]
           for p in sys.argv[1:]]
    print(json.dumps([jobs.get_job(archive, i) for i in ids]))
"""


def run_in_process(workdir: Path, base_db: str, clamd: str, batches: list[Path], workers: int) -> dict:
    """The same jobs run inline, one after another, in one process (no broker): what ``lantai ingest``
    does today, timed the same way as the queue (from the jobs table, interpreter start-up excluded)."""
    home, db = fresh_archive(workdir, base_db, f"inproc{workers}")
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", IN_PROCESS, *map(str, batches)],
                          env=environment(home, db, clamd, None, workers), capture_output=True, text=True)
    wall = time.perf_counter() - start
    if done.returncode:
        raise RuntimeError(done.stderr[-2000:])
    finished = json.loads(done.stdout)
    drop_database(db)
    return _row(f"in-process, LANTAI_WORKERS={workers}", 1, finished, wall)


def _row(mode: str, processes: int, finished: list[dict], wall: float) -> dict:
    from datetime import datetime

    assert all(j["state"] == "done" for j in finished), [j["error"] for j in finished if j["state"] != "done"]
    accepted = sum(j["result"]["counts"]["accepted"] for j in finished)
    first = min(datetime.fromisoformat(j["started_at"]) for j in finished)
    last = max(datetime.fromisoformat(j["finished_at"]) for j in finished)
    makespan = (last - first).total_seconds()
    return {"mode": mode, "processes": processes, "items": accepted, "makespan_s": round(makespan, 2),
            "wall_s": round(wall, 2), "items_per_s": round(accepted / makespan, 2)}


def run_queue(workdir: Path, base_db: str, clamd: str, batches: list[Path], n: int, redis_db: int) -> dict:
    import redis

    from lantai.services import jobs
    from lantai.services.archive import open_archive
    from lantai.settings import Settings

    broker = f"redis://127.0.0.1:6379/{redis_db}"
    redis.Redis.from_url(broker).flushdb()
    home, db = fresh_archive(workdir, base_db, f"queue{n}")
    env = environment(home, db, clamd, broker, 1)
    settings = Settings(home=home, database_url=db, broker_url=broker, clamd_socket=clamd)
    with open_archive(settings, recover=False) as archive:
        ids = [jobs.submit(archive, "ingest.paths", {"paths": [str(b)], "actor": "bench"}, actor="bench",
                           run="queue")["id"] for b in batches]
    start = time.perf_counter()
    procs = [subprocess.Popen([*LANTAI, "worker", "--threads", "1"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True) for _ in range(n)]
    try:
        with open_archive(settings, recover=False) as archive:
            finished = [jobs.wait(archive, job_id, timeout=3600, poll=0.5) for job_id in ids]
    finally:
        for p in procs:
            os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            p.wait(timeout=60)
    wall = time.perf_counter() - start
    drop_database(db)
    return _row(f"queue, {n} worker{'s' if n > 1 else ''}", n, finished, wall)


# --- load test ----------------------------------------------------------------------------------

def load_test(workdir: Path, base_db: str, clamd: str, batches: list[Path], clients: int, seconds: float) -> dict:
    import httpx

    from lantai.services import users
    from lantai.services.archive import open_archive
    from lantai.settings import Settings

    home, db = fresh_archive(workdir, base_db, "load")
    env = environment(home, db, clamd, None, 2)
    subprocess.run([*LANTAI, "ingest", *map(str, batches)], env=env, check=True, capture_output=True)
    settings = Settings(home=home, database_url=db)
    with open_archive(settings, recover=False) as archive:
        users.create_user(archive, "cli", "bench-reader", PASSWORD, roles=["利用者"], clearance="内部", bootstrap=True)
        token = users.issue_token(archive, "cli", "bench-reader", "bench", 1, ["read"])["token"]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server_log = workdir / "serve.log"  # uvicorn says here when it replaced a worker
    with open(server_log, "wb") as log:
        server = subprocess.Popen([*LANTAI, "serve", "--port", str(port), "--workers", "2"], env=env,
                                  stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.5)
        headers = {"Authorization": f"Bearer {token}"}
        record_ids = [i["record_id"] for i in httpx.get(f"{base}/api/v1/items", params={"page_size": 100},
                                                        headers=headers, timeout=60).json()["items"]]
        result = asyncio.run(_drive(base, headers, record_ids, clients, seconds))
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        drop_database(db)
    result["workers_replaced"] = server_log.read_text(errors="replace").count("died")
    return result


WORDS = ("通知", "工作", "归档", "关于", "2025", "项工作")


async def _drive(base: str, headers: dict, record_ids: list[str], clients: int, seconds: float) -> dict:
    import httpx

    latencies: dict[str, list[float]] = {"search": [], "item": [], "download": []}
    errors: dict[str, int] = {"search": 0, "item": 0, "download": 0}
    failures: dict[str, int] = {}  # status or exception → count, so an error says what it was
    stop = time.monotonic() + seconds
    load_samples: list[float] = [os.getloadavg()[0]]

    async def sample_load() -> None:
        while time.monotonic() < stop:
            await asyncio.sleep(5)
            load_samples.append(os.getloadavg()[0])

    async def client(n: int) -> None:
        rng = random.Random(n)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60) as http:
            while time.monotonic() < stop:
                roll = rng.random()
                record_id = rng.choice(record_ids)
                if roll < 0.4:
                    kind, call = "search", http.get("/api/v1/search", params={"q": rng.choice(WORDS)})
                elif roll < 0.8:
                    kind, call = "item", http.get(f"/api/v1/items/{record_id}")
                else:
                    kind, call = "download", http.get(f"/api/v1/items/{record_id}/content",
                                                      params={"path": "content/正文.pdf"})
                start = time.perf_counter()
                try:
                    response = await call
                    ok = response.status_code == 200
                    why = f"{kind} {response.status_code}"
                except httpx.HTTPError as exc:
                    ok, why = False, f"{kind} {type(exc).__name__}"
                latencies[kind].append(time.perf_counter() - start)
                if not ok:
                    errors[kind] += 1
                    failures[why] = failures.get(why, 0) + 1

    began = time.perf_counter()
    await asyncio.gather(sample_load(), *(client(n) for n in range(clients)))
    elapsed = time.perf_counter() - began
    everything = sorted(x for values in latencies.values() for x in values)

    def pct(values: list[float], q: float) -> float:
        values = sorted(values)
        return round(1000 * values[min(len(values) - 1, int(q * len(values)))], 1) if values else 0.0

    rows = {kind: {"requests": len(v), "p50_ms": pct(v, 0.5), "p95_ms": pct(v, 0.95), "p99_ms": pct(v, 0.99),
                   "errors": errors[kind]} for kind, v in latencies.items()}
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(everything),
            "requests_per_s": round(len(everything) / elapsed, 1), "p50_ms": pct(everything, 0.5),
            "p95_ms": pct(everything, 0.95), "p99_ms": pct(everything, 0.99), "errors": sum(errors.values()),
            "mean_ms": round(1000 * statistics.fmean(everything), 1) if everything else 0.0, "by_kind": rows,
            "failures": failures, "load_average_mean": round(statistics.fmean(load_samples), 1),
            "load_average_max": round(max(load_samples), 1), "load_samples": len(load_samples)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=12)
    parser.add_argument("--items", type=int, default=4, help="items per batch (one job per batch)")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--skip-load", action="store_true")
    parser.add_argument("--load-only", action="store_true", help="only the load test (its corpus is still ingested)")
    parser.add_argument("--json-out", type=Path, default=RESULTS / "workers.json")
    args = parser.parse_args()
    base_db = os.environ.get("LANTAI_TEST_DATABASE_URL")
    if not base_db:
        sys.exit("set LANTAI_TEST_DATABASE_URL to a PostgreSQL URL")
    from lantai.checks.clamav import ClamdServer

    with tempfile.TemporaryDirectory(prefix="bench-workers-") as tmp:
        workdir = Path(tmp)
        clamd = ClamdServer(run_dir=workdir / "clamd").start()
        try:
            batches = make_batches(workdir / "sips", args.batches, args.items)
            rows = [] if args.load_only else [run_in_process(workdir, base_db, clamd.socket, batches, 1),
                                              run_in_process(workdir, base_db, clamd.socket, batches, 2)]
            for n in () if args.load_only else (int(x) for x in args.workers.split(",")):
                rows.append(run_queue(workdir, base_db, clamd.socket, batches, n, 12))
            load = None if args.skip_load else load_test(workdir, base_db, clamd.socket, batches, args.clients,
                                                         args.seconds)
        finally:
            clamd.stop()
    single = next((r for r in rows if r["mode"].startswith("queue, 1 ")), None)
    inproc = rows[0] if rows else {}
    for row in rows:
        row["vs_in_process_1"] = round(row["items_per_s"] / inproc["items_per_s"], 2)
        if single and row["mode"].startswith("queue"):
            row["scaling_efficiency"] = round(row["items_per_s"] / (row["processes"] * single["items_per_s"]), 2)
    if rows:
        _print_ingest(args, rows)
    if load:
        _print_load(load)
    result = {"ingest": rows, "load": load, "cores": os.cpu_count(),
              "load_average_at_end": os.getloadavg()}
    args.json_out.parent.mkdir(parents=True, exist_ok=True)
    args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2) + "\n")
    print(f"\nJSON: {args.json_out}")


def _print_ingest(args: argparse.Namespace, rows: list[dict]) -> None:
    print(f"\nIngest: {args.batches} batches × {args.items} items (192 KiB PDF each), default DA/T 70 profile, "
          f"clamd, fsync, PostgreSQL, {os.cpu_count()} cores")
    print(f"{'mode':34} {'items':>5} {'makespan s':>10} {'wall s':>7} {'items/s':>8} {'× inproc-1':>10} {'efficiency':>10}")
    for r in rows:
        print(f"{r['mode']:34} {r['items']:5d} {r['makespan_s']:10.2f} {r['wall_s']:7.2f} {r['items_per_s']:8.2f} "
              f"{r['vs_in_process_1']:10.2f} {r.get('scaling_efficiency', ''):>10}")


def _print_load(load: dict) -> None:
    if load:
        print(f"\nLoad: {load['clients']} clients for {load['seconds']} s against lantai serve --workers 2 "
              f"(40 % search, 40 % item view, 20 % access-copy download); machine load average "
              f"{load['load_average_mean']} mean, {load['load_average_max']} max; "
              f"web workers replaced by uvicorn: {load.get('workers_replaced', '?')}")
        print(f"{'kind':10} {'requests':>8} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'errors':>6}")
        for kind, r in load["by_kind"].items():
            print(f"{kind:10} {r['requests']:8d} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['p99_ms']:8.1f} {r['errors']:6d}")
        print(f"{'all':10} {load['requests']:8d} {load['p50_ms']:8.1f} {load['p95_ms']:8.1f} {load['p99_ms']:8.1f} "
              f"{load['errors']:6d}   {load['requests_per_s']} requests/s")
        for why, count in sorted(load["failures"].items()):
            print(f"  error: {why} × {count}")


if __name__ == "__main__":
    main()
