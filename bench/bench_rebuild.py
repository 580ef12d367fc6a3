"""``lantai rebuild`` (build beside, then swap) and ``lantai verify`` over a store of many small items.

Builds (or reuses) one archive per catalogue backend with ``--items`` small items (two files each),
then times, each from the CLI with interpreter start included:

* ``lantai rebuild --json``: project every object into a scratch catalogue (a new SQLite file or
  a new PostgreSQL schema), check it, and swap it in — the figure of issue 17;
* ``lantai verify --json`` with this tree's code and, when ``--old-code`` names a checkout of
  an earlier tree, with that code on the same store, alternately, best of ``--repeat`` each (the
  ratio shows what the store and catalogue walk added).

With ``--sizes 20000,50000,100000`` one store is grown through each size (ingest, SQLite) and
rebuilt at each: into its own SQLite catalogue, and into a PostgreSQL catalogue over the same
store (``lantai init`` on the URL, then ``lantai rebuild`` — the documented move to PostgreSQL);
the table gives seconds per 1,000 items and each size's time as a multiple of the smallest
size's (the baseline of the run): linear growth gives the size ratio.

Usage: python bench/bench_rebuild.py [--items 10000] [--backends sqlite,postgresql]
       [--work /tmp/lantai-bench-rebuild] [--old-code /path/to/old/checkout]
       [--json-out bench/results/rebuild.json]
       python bench/bench_rebuild.py --sizes 20000,50000,100000 [--work …] [--json-out …]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

PG_BASE = "postgresql+psycopg://postgres@127.0.0.1:5432/"


def _env(home: Path, database_url: str | None, code: Path) -> dict[str, str]:
    env = dict(os.environ, LANTAI_HOME=str(home), LANTAI_FSYNC="false", LANTAI_INGEST_PROFILE="off",
               PYTHONPATH=str(code))
    env.pop("LANTAI_DATABASE_URL", None)
    if database_url:
        env["LANTAI_DATABASE_URL"] = database_url
    return env


def _lantai(env: dict[str, str], *args: str) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    exe = str(Path(sys.executable).with_name("lantai"))
    started = time.perf_counter()
    proc = subprocess.run([exe, *args], env=env, capture_output=True)
    return time.perf_counter() - started, proc


def _pg_database(name: str, *, fresh: bool) -> str:
    import psycopg

    with psycopg.connect("host=127.0.0.1 user=postgres dbname=postgres", autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if fresh and exists:
            conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            exists = None
        if not exists:
            conn.execute(f'CREATE DATABASE "{name}"')
    return PG_BASE + name


def build(home: Path, database_url: str | None, items: int) -> None:
    """Ingest ``items`` small items in batches of 1,000 (reused when the archive is already full)."""
    from lantai.services.archive import init_archive
    from lantai.services.ingest import ingest_paths
    from lantai.settings import Settings
    from tests.sipfactory import write_batch

    settings = Settings(home=home, database_url=database_url, fsync=False, workers=2, ingest_profile="off")
    with init_archive(settings) as archive:
        have = len(list(archive.store.iter_object_ids()))
        if have >= items:
            return
        for start in range(have, items, 1000):
            src = home.parent / f"src-{start}"
            batch = write_batch(src, _specs(start, min(start + 1000, items)), name=f"b{start}")
            ingest_paths(archive, [batch])
            subprocess.run(["rm", "-rf", str(src)], check=True)


def _specs(start: int, end: int) -> list[Any]:
    """Small items with distinct random bytes (the profile is off: no real PDF needs to be built,
    which at 100,000 items would cost more than the ingest)."""
    from tests.sipfactory import SipSpec

    return [SipSpec(record_id=f"B17-WS-2025-{i:06d}", title=f"关于第{i}项工作的通知", document_number=f"B17-{i}号",
                    files={"正文.pdf": b"%PDF-1.4\n" + os.urandom(2048), "附件/附件1.xlsx": os.urandom(1024)})
            for i in range(start + 1, end + 1)]


def measure(home: Path, database_url: str | None, old_code: Path | None, repeat: int) -> dict[str, Any]:
    env = _env(home, database_url, ROOT)
    result: dict[str, Any] = {}
    seconds, proc = _lantai(env, "rebuild", "--json")
    out = json.loads(proc.stdout or b"{}")
    result["rebuild_s"] = round(seconds, 2)
    result["rebuild_items"] = out.get("items")
    result["rebuild_exit"] = proc.returncode
    result["rebuild_phases_s"] = out.get("seconds")
    # New and old code alternately, best of ``repeat`` each: the machine's load changes by the minute.
    new_times, old_times = [], []
    for _ in range(repeat):
        seconds, proc = _lantai(env, "verify", "--json")
        new_times.append(seconds)
        result["verify_objects"] = json.loads(proc.stdout or b"{}").get("objects")
        if old_code is not None:
            old_times.append(_lantai(_env(home, database_url, old_code), "verify", "--json")[0])
    result["verify_s"] = round(min(new_times), 2)
    result["verify_old_s"] = round(min(old_times), 2) if old_times else None
    if old_times:
        result["verify_ratio"] = round(min(new_times) / min(old_times), 2)
    return result


def rebuild_once(env: dict[str, str]) -> dict[str, Any]:
    seconds, proc = _lantai(env, "rebuild", "--json")
    out = json.loads(proc.stdout or b"{}")
    return {"rebuild_s": round(seconds, 2), "items": out.get("items"), "exit": proc.returncode,
            "phases_s": out.get("seconds"), "load": round(os.getloadavg()[0], 1)}


def grow_and_rebuild(work: Path, sizes: list[int], backends: list[str]) -> dict[str, dict[int, dict[str, Any]]]:
    """One store grown through ``sizes``; at each size, a rebuild into each backend's catalogue."""
    home = work / "sizes" / "archive"
    url = _pg_database("lantai_bench_rebuild_sizes", fresh=not home.exists()) if "postgresql" in backends else None
    results: dict[str, dict[int, dict[str, Any]]] = {b: {} for b in backends}
    for size in sizes:
        started = time.perf_counter()
        build(home, None, size)
        print(f"store of {size} items ready in {time.perf_counter() - started:.0f} s", flush=True)
        for backend in backends:
            env = _env(home, url if backend == "postgresql" else None, ROOT)
            if backend == "postgresql":
                _lantai(env, "init", "--json")  # idempotent: the schema, on an existing home
            results[backend][size] = rebuild_once(env)
            print(f"  {backend}: {results[backend][size]}", flush=True)
    return results


def print_sizes(results: dict[str, dict[int, dict[str, Any]]]) -> None:
    print(f"\n{'backend':<12}{'items':>9}{'rebuild s':>11}{'s/1000':>8}{'× smallest':>12}{'size ×':>8}{'load':>6}")
    for backend, by_size in results.items():
        first = min(by_size)
        for size, r in sorted(by_size.items()):
            ratio = r["rebuild_s"] / by_size[first]["rebuild_s"] if by_size[first]["rebuild_s"] else 0
            print(f"{backend:<12}{size:>9}{r['rebuild_s']:>11.1f}{r['rebuild_s'] / size * 1000:>8.2f}{ratio:>12.2f}"
                  f"{size / first:>8.1f}{r['load']:>6}")
    for backend, by_size in results.items():
        for size, r in sorted(by_size.items()):
            print(f"{backend} {size} phases (s): {r.get('phases_s')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--work", default="/tmp/lantai-bench-rebuild")
    parser.add_argument("--old-code", default=None, help="checkout of older code to time `lantai verify` against")
    parser.add_argument("--repeat", type=int, default=2, help="verify runs of each code, alternately (best counts)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "rebuild.json"))
    parser.add_argument("--sizes", default="", help="grow one store through these sizes, rebuilding at each")
    args = parser.parse_args()
    work = Path(args.work)
    if args.sizes:
        sizes = sorted(int(n) for n in args.sizes.split(","))
        grown = grow_and_rebuild(work, sizes, args.backends.split(","))
        print_sizes(grown)
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"sizes": sizes, "results": grown}, indent=2) + "\n")
        return
    results: dict[str, dict] = {}
    for backend in args.backends.split(","):
        home = work / backend / "archive"
        url = _pg_database(f"lantai_bench_rebuild_{args.items}", fresh=not home.exists()) if backend == "postgresql" else None
        started = time.perf_counter()
        build(home, url, args.items)
        print(f"{backend}: archive of {args.items} items ready in {time.perf_counter() - started:.0f} s", flush=True)
        if not args.build_only:
            results[backend] = measure(home, url, Path(args.old_code) if args.old_code else None, args.repeat)
    if results:
        print_table(args.items, results)
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"items": args.items, "results": results}, indent=2) + "\n")


def print_table(items: int, results: dict[str, dict]) -> None:
    print(f"\n{'backend':<12}{'items':>8}{'rebuild s':>11}{'items/s':>9}{'verify s':>10}{'verify old s':>14}{'ratio':>7}")
    for backend, r in results.items():
        rate = items / r["rebuild_s"] if r["rebuild_s"] else 0
        old = f"{r['verify_old_s']:.2f}" if r.get("verify_old_s") else "-"
        ratio = f"{r['verify_ratio']:.2f}" if r.get("verify_ratio") else "-"
        print(f"{backend:<12}{items:>8}{r['rebuild_s']:>11.2f}{rate:>9.0f}{r['verify_s']:>10.2f}{old:>14}{ratio:>7}")
    for backend, r in results.items():
        print(f"{backend} rebuild phases (s): {r.get('rebuild_phases_s')}")


if __name__ == "__main__":
    main()
