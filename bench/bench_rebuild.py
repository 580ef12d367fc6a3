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


SEED_ITEMS = 200  # --fill clone: items ingested for real, then copied under new ids


def build(home: Path, database_url: str | None, items: int, fill: str = "ingest") -> None:
    """Fill the archive to ``items`` small items (reused when it is already full).

    ``ingest``: every item through ``ingest_paths``, in batches of 1,000. ``clone``: the first
    :data:`SEED_ITEMS` through ingest, the rest copied from them (see :func:`_clone_items`).
    """
    from lantai.services.archive import init_archive
    from lantai.services.ingest import ingest_paths
    from lantai.settings import Settings
    from tests.sipfactory import write_batch

    settings = Settings(home=home, database_url=database_url, fsync=False, workers=2, ingest_profile="off")
    with init_archive(settings) as archive:
        have = sum(1 for _ in archive.store.iter_object_dirs())
        if have >= items:
            return
        by_ingest = items if fill == "ingest" else min(items, max(have, SEED_ITEMS))
        for start in range(have, by_ingest, 1000):
            src = home.parent / f"src-{start}"
            batch = write_batch(src, _specs(start, min(start + 1000, by_ingest)), name=f"b{start}")
            ingest_paths(archive, [batch])
            subprocess.run(["rm", "-rf", str(src)], check=True)
        if fill == "clone":
            _clone_items(archive, max(have, by_ingest), items)


def _record_id(number: int) -> str:
    return f"B17-WS-2025-{number:06d}"


def _clone_items(archive: Any, start: int, end: int) -> None:
    """Items ``start + 1 … end`` as copies of the ingested seed items under new ids.

    A copy is what ingest of the same submission under the new id would have stored: the seed's
    files with its 电子文件号, 题名 and 文件编号 replaced, in a version written by the store's own
    builder (inventory, sidecars, SHA-512 and SM3 fixity), one ``ingest.accepted`` entry each in
    the journal and its catalogue copy, batches of 1,000. The catalogue gets no item rows: they
    are what ``lantai rebuild`` makes. Far cheaper than ingest, which at 100,000 items would take
    hours on a shared 2-core machine; the rebuild reads the same store either way.
    """
    store = archive.store
    seeds = [_seed(store, n) for n in range(1, SEED_ITEMS + 1)]
    entries: list[tuple[str, str, str, dict[str, Any]]] = []
    for number in range(start + 1, end + 1):
        seed_number = (number - 1) % SEED_ITEMS + 1
        record_id = _record_id(number)
        builder = store.begin_version(record_id)
        for logical_path, data in seeds[seed_number - 1]:
            if not logical_path.startswith("content/"):  # content files: the same bytes
                data = _renumber(data, seed_number, number)
            builder.add_bytes(logical_path, data)
        store.commit(builder.prepare(message="接收归档", user_name="system"), sync=False)
        entries.append(("system", "ingest.accepted", record_id,
                        {"source": record_id, "batch_id": f"Bclone{number // 1000:05d}", "version": 1}))
        if len(entries) >= 1000 or number == end:
            archive.audit.append_many(entries)
            entries.clear()
            print(f"  cloned up to {number}", flush=True) if number % 10_000 == 0 else None


def _seed(store: Any, number: int) -> list[tuple[str, bytes]]:
    record_id = _record_id(number)
    return [(f.logical_path, store.read_bytes(record_id, f.logical_path)) for f in store.files(record_id)]


def _renumber(data: bytes, seed_number: int, number: int) -> bytes:
    for old, new in ((_record_id(seed_number), _record_id(number)), (f"第{seed_number}项", f"第{number}项"),
                     (f"B17-{seed_number}号", f"B17-{number}号")):
        data = data.replace(old.encode(), new.encode())
    if data.startswith(b"{"):  # lantai/ingest.json: its own batch of 1,000
        record = json.loads(data)
        record["batch_id"] = f"Bclone{number // 1000:05d}"
        data = json.dumps(record, ensure_ascii=False, indent=2).encode()
    return data


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


def _timed_with_rss(env: dict[str, str], *args: str) -> tuple[float, int, subprocess.CompletedProcess[bytes]]:
    """Run ``lantai ARGS``; seconds, peak RSS of that process (KiB, from wait4) and its output.

    The CLI runs rebuild in its own process (no workers), so the figure is the rebuild's."""
    import tempfile

    exe = str(Path(sys.executable).with_name("lantai"))
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.perf_counter()
        proc = subprocess.Popen([exe, *args], env=env, stdout=out, stderr=err)
        _pid, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        done = subprocess.CompletedProcess(args, proc.returncode, out.read(), err.read())
    return seconds, usage.ru_maxrss, done


def rebuild_once(env: dict[str, str]) -> dict[str, Any]:
    seconds, peak_kib, proc = _timed_with_rss(env, "rebuild", "--json")
    out = json.loads(proc.stdout or b"{}")
    return {"rebuild_s": round(seconds, 2), "items": out.get("items"), "exit": proc.returncode,
            "peak_rss_mib": round(peak_kib / 1024, 1), "phases_s": out.get("seconds"),
            "load": round(os.getloadavg()[0], 1)}


def grow_and_rebuild(work: Path, sizes: list[int], backends: list[str], fill: str,
                     labels: tuple[str, ...] = ("behind", "complete")) -> dict[str, dict[int, Any]]:
    """One store grown through ``sizes``; at each size, two rebuilds into each backend's catalogue:
    ``behind`` (the catalogue lacks the new items, as after losing it) and ``complete`` (every
    row is replaced by the swap)."""
    home = work / "sizes" / "archive"
    url = _pg_database("lantai_bench_rebuild_sizes", fresh=not home.exists()) if "postgresql" in backends else None
    results: dict[str, dict[int, Any]] = {b: {} for b in backends}
    for size in sizes:
        started = time.perf_counter()
        build(home, None, size, fill)
        print(f"store of {size} items ready in {time.perf_counter() - started:.0f} s", flush=True)
        for backend in backends:
            env = _env(home, url if backend == "postgresql" else None, ROOT)
            if backend == "postgresql":
                _lantai(env, "init", "--json")  # idempotent: the schema, on an existing home
            runs = {}
            for label in labels:
                runs[label] = rebuild_once(env)
                print(f"  {backend} {label}: {runs[label]}", flush=True)
            results[backend][size] = runs
    return results


def print_sizes(results: dict[str, dict[int, Any]]) -> None:
    print(f"\n{'backend':<12}{'items':>8}{'catalogue':>10}{'rebuild s':>11}{'s/1000':>8}{'× smallest':>12}"
          f"{'size ×':>8}{'peak RSS MiB':>14}{'load':>6}")
    for backend, by_size in results.items():
        first = min(by_size)
        for size, runs in sorted(by_size.items()):
            for label, r in runs.items():
                base = by_size[first][label]["rebuild_s"]
                ratio = r["rebuild_s"] / base if base else 0
                print(f"{backend:<12}{size:>8}{label:>10}{r['rebuild_s']:>11.1f}{r['rebuild_s'] / size * 1000:>8.2f}"
                      f"{ratio:>12.2f}{size / first:>8.1f}{r['peak_rss_mib']:>14.1f}{r['load']:>6}")
    for backend, by_size in results.items():
        for size, runs in sorted(by_size.items()):
            for label, r in runs.items():
                print(f"{backend} {size} {label} phases (s): {r.get('phases_s')}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--work", default="/tmp/lantai-bench-rebuild")
    parser.add_argument("--old-code", default=None, help="checkout of older code to time `lantai verify` against")
    parser.add_argument("--repeat", type=int, default=2, help="verify runs of each code, alternately (best counts)")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "rebuild.json"))
    parser.add_argument("--fill", choices=("ingest", "clone"), default="clone",
                        help="how items beyond the first 200 are made: real ingest, or copies of those")
    parser.add_argument("--runs", default="behind,complete",
                        help="with --sizes, rebuilds per size and backend: behind (the catalogue lacks the "
                             "items added since the last size), complete (every row is replaced by the swap)")
    parser.add_argument("--sizes", default="", help="grow one store through these sizes, rebuilding at each")
    args = parser.parse_args()
    work = Path(args.work)
    if args.sizes:
        sizes = sorted(int(n) for n in args.sizes.split(","))
        grown = grow_and_rebuild(work, sizes, args.backends.split(","), args.fill, tuple(args.runs.split(",")))
        print_sizes(grown)
        Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_out).write_text(json.dumps({"sizes": sizes, "results": grown}, indent=2) + "\n")
        return
    results: dict[str, dict] = {}
    for backend in args.backends.split(","):
        home = work / backend / "archive"
        url = _pg_database(f"lantai_bench_rebuild_{args.items}", fresh=not home.exists()) if backend == "postgresql" else None
        started = time.perf_counter()
        build(home, url, args.items, args.fill)
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
