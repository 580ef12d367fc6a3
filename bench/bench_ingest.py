"""Ingest and fixity throughput against the floors any correct implementation pays.

Figures, each beside a baseline measured in the same run (machines here are noisy):

* ingest items/s and MB/s  vs  the floor: copy the same bytes once computing SM3 + SHA-512, 2 procs
  (from the CLI, interpreter start included, and in process: what a long-running ingest converges to)
* bagit make_bag (peer; hashes in place without copying) on the same files
* ``lantai verify`` MB/s  vs  raw hashlib SM3 over the same stored files, 2 procs
* peak RSS of ``lantai ingest`` on one large file (default 2 GiB)

``--realistic`` measures instead ingest of ``lantai demo generate`` items with the default DA/T 70
profile and a real clamd, beside the same floor, bagit and the ``off`` profile, with a per-check
CPU profile (bench/ingest_realistic.py).

Usage: python bench/bench_ingest.py [--items 200] [--big-gib 2] [--json-out bench/results/ingest.json]
       python bench/bench_ingest.py --realistic [--items 200] [--repeat 2] [--compare /tmp/ab-main]
                                    [--json-out bench/results/ingest-realistic.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sipfactory import SipSpec, write_batch, write_item  # noqa: E402

MB = 1024 * 1024


def make_specs(n: int, seed: int = 7) -> list[SipSpec]:
    rng = random.Random(seed)
    result = []
    for i in range(n):
        main = int(rng.uniform(0.2, 2.0) * MB)
        result.append(SipSpec(record_id=f"BENCH-{i:06d}", title=f"关于第{i}项工作的通知", files={
            "正文.pdf": b"%PDF-1.7\n" + os.urandom(main),
            "附件/附件1.xlsx": os.urandom(int(rng.uniform(20, 200) * 1024)),
            "附件/附件2.jpg": os.urandom(int(rng.uniform(20, 200) * 1024)),
        }))
    return result


def _copy_hash(args: tuple[str, str]) -> int:
    src, dst = args
    h1, h2 = hashlib.new("sm3"), hashlib.sha512()
    size = 0
    with open(src, "rb") as fi, open(dst, "wb") as fo:
        while chunk := fi.read(MB):
            h1.update(chunk)
            h2.update(chunk)
            fo.write(chunk)
            size += len(chunk)
    return size


def _hash_only(path: str) -> int:
    h = hashlib.new("sm3")
    size = 0
    with open(path, "rb") as fh:
        while chunk := fh.read(MB):
            h.update(chunk)
            size += len(chunk)
    return size


def floor_copy(batch: Path, out: Path) -> tuple[float, int]:
    files = [p for p in batch.rglob("*") if p.is_file()]
    jobs = []
    for i, p in enumerate(files):
        jobs.append((str(p), str(out / f"{i}.bin")))
    out.mkdir(parents=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        total = sum(pool.map(_copy_hash, jobs, chunksize=8))
    return time.perf_counter() - start, total


def _make_bag(item: str) -> None:
    import bagit

    bagit.make_bag(item, checksums=["sha256", "sha512"], processes=1)


def bagit_peer(batch: Path, work: Path) -> float:
    """One bag per item, two items at a time (two processes, like ingest).

    ``make_bag(processes=2)`` per item would start a multiprocessing pool for every item and
    measure that start-up (about 40 ms) instead of bagging.
    """
    shutil.copytree(batch, work)
    items = sorted(str(p) for p in work.iterdir() if p.is_dir())
    os.sync()
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(_make_bag, items, chunksize=8))
    return time.perf_counter() - start


# The core figure: ingest mechanics on synthetic bytes, without the DA/T 70 engine, whose own
# throughput over realistic documents bench/bench_checks.py measures.
PROFILE = {"name": "off"}


def lantai_env(home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["LANTAI_HOME"] = str(home)
    env["LANTAI_INGEST_PROFILE"] = PROFILE["name"]
    env.pop("LANTAI_DATABASE_URL", None)
    return env


def run_cli(home: Path, *args: str) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "lantai.cli.main", *args], env=lantai_env(home),
                          capture_output=True, check=False)
    return time.perf_counter() - start, proc


def raw_sm3(store: Path) -> tuple[float, int]:
    files = [str(p) for p in store.rglob("*") if p.is_file() and "/content/" in str(p)]
    start = time.perf_counter()
    with ProcessPoolExecutor(2) as pool:
        total = sum(pool.map(_hash_only, sorted(files, key=lambda f: -os.path.getsize(f)), chunksize=4))
    return time.perf_counter() - start, total


def verify_in_process(home: Path) -> float:
    """verify_fixity without the interpreter start: what a long archive-wide run converges to."""
    from lantai.services.archive import open_archive
    from lantai.services.fixity import verify_fixity
    from lantai.settings import Settings

    with open_archive(Settings(home=home)) as archive:
        started = time.perf_counter()
        report = verify_fixity(archive)
        elapsed = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"verify found problems: {report.problems[:3]}")
    return elapsed


def ingest_in_process(batch: Path, home: Path) -> float:
    """ingest_paths without the interpreter start: what a long-running ingest converges to."""
    from lantai.jobs.pool import warm_up_workers
    from lantai.services.archive import init_archive, open_archive
    from lantai.services.ingest import ingest_paths
    from lantai.settings import Settings

    os.environ["LANTAI_INGEST_PROFILE"] = PROFILE["name"]
    settings = Settings(home=home)
    init_archive(settings).close()
    os.sync()
    started = time.perf_counter()
    warm_up_workers(settings.workers)
    with open_archive(settings) as archive:
        report = ingest_paths(archive, [batch])
    elapsed = time.perf_counter() - started
    if not report.ok:
        raise SystemExit(f"in-process ingest failed: {report.counts()}")
    return elapsed


def peak_rss_big(work: Path, gib: float) -> dict[str, float]:
    item_dir = work / "big"
    spec = SipSpec("BIG-0001", files={"正文.bin": b""}, manifest=None)
    write_item(work, spec, name="big")
    size = int(gib * 1024 * MB)
    with open(item_dir / "正文.bin", "wb") as fh:
        block = os.urandom(8 * MB)
        for _ in range(size // len(block)):
            fh.write(block)
    from tests.sipfactory import metadata_xml

    spec.files = {"正文.bin": b""}
    spec.declared_sizes = {"正文.bin": size}
    (item_dir / "元数据.xml").write_bytes(metadata_xml(spec))
    home = work / "big-home"
    run_cli(home, "init")
    # A wrapper process reports the peak RSS of its own children only (the ingest and its workers).
    wrapper = ("import resource, subprocess, sys, time; t = time.perf_counter(); "
               "rc = subprocess.call([sys.executable, '-m', 'lantai.cli.main', 'ingest', sys.argv[1], '--json'], "
               "stdout=subprocess.DEVNULL); "
               "print(rc, time.perf_counter() - t, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", wrapper, str(item_dir)], env=lantai_env(home),
                         capture_output=True, text=True, check=False).stdout.split()
    ok, seconds, rss = out[0] == "0", float(out[1]), int(out[2]) / 1024
    return {"file_gib": gib, "seconds": round(seconds, 2), "peak_rss_mib": round(rss, 1), "ok": ok}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=200)
    parser.add_argument("--big-gib", type=float, default=2.0, help="size of the single-file RSS test; 0 skips it")
    parser.add_argument("--json-out", default=None, help="default bench/results/ingest.json "
                        "(ingest-realistic.json with --realistic)")
    realistic = parser.add_argument_group("realistic mode")
    realistic.add_argument("--realistic", action="store_true", help="generated 公文, default profile, real clamd")
    realistic.add_argument("--batch", help="an existing `lantai demo generate` batch instead of generating one")
    realistic.add_argument("--seed", type=int, default=1)
    realistic.add_argument("--profiles", nargs="+", default=["default", "off"])
    realistic.add_argument("--repeat", type=int, default=1, help="ingest runs per profile (and per tree)")
    realistic.add_argument("--compare", help="another checkout to A/B against, run alternately (PYTHONPATH)")
    realistic.add_argument("--no-check-profile", dest="check_profile", action="store_false")
    args = parser.parse_args()
    if args.realistic:
        run_realistic(args)
    else:
        args.json_out = args.json_out or str(ROOT / "bench" / "results" / "ingest.json")
        run(args)


def run_realistic(args: argparse.Namespace) -> None:
    from bench import ingest_realistic

    results = ingest_realistic.run(args, floor_copy, bagit_peer)
    ingest_realistic.print_table(results)
    out = Path(args.json_out or ROOT / "bench" / "results" / "ingest-realistic.json")
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"\nJSON written to {out}")


def run(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="lantai-bench-", dir=os.environ.get("BENCH_TMP")))
    try:
        batch = write_batch(work, make_specs(args.items))
        total_bytes = sum(p.stat().st_size for p in batch.rglob("*") if p.is_file())
        # Each timed phase starts with nothing dirty in the page cache: ingest makes its writes
        # durable with syncfs, which would otherwise also pay for the earlier phases' writes.
        os.sync()
        floor_s, _ = floor_copy(batch, work / "floor")
        bag_s = bagit_peer(batch, work / "bags")
        home = work / "home"
        run_cli(home, "init")
        os.sync()
        ingest_s, proc = run_cli(home, "ingest", str(batch), "--json")
        if proc.returncode != 0:
            raise SystemExit(f"ingest failed: {proc.stdout[-2000:]!r} {proc.stderr[-2000:]!r}")
        startup_s, _ = run_cli(home, "version")
        service_ingest_s = ingest_in_process(batch, work / "home-in-process")
        verify_s, vproc = run_cli(home, "verify", "--json")
        raw_s, raw_bytes = raw_sm3(home / "store")
        service_s = verify_in_process(home)
        results = {
            "items": args.items, "bytes": total_bytes, "ingest_profile": PROFILE["name"],
            "floor_copy_sm3_sha512_2proc": {"seconds": floor_s, "items_per_s": args.items / floor_s,
                                            "mb_per_s": total_bytes / MB / floor_s},
            "bagit_make_bag_peer": {"seconds": bag_s, "items_per_s": args.items / bag_s,
                                    "mb_per_s": total_bytes / MB / bag_s},
            "lantai_ingest": {"seconds": ingest_s, "cli_startup_s": startup_s, "items_per_s": args.items / ingest_s,
                              "mb_per_s": total_bytes / MB / ingest_s, "ratio_to_floor": ingest_s / floor_s},
            "lantai_ingest_service": {"seconds": service_ingest_s, "items_per_s": args.items / service_ingest_s,
                                      "mb_per_s": total_bytes / MB / service_ingest_s,
                                      "ratio_to_floor": service_ingest_s / floor_s},
            "raw_sm3_2proc": {"seconds": raw_s, "mb_per_s": raw_bytes / MB / raw_s},
            "lantai_verify": {"seconds": verify_s, "mb_per_s": raw_bytes / MB / verify_s,
                              "fraction_of_raw": raw_s / verify_s, "ok": vproc.returncode == 0},
            "lantai_verify_service": {"seconds": service_s, "mb_per_s": raw_bytes / MB / service_s,
                                      "fraction_of_raw": raw_s / service_s},
        }
        if args.big_gib > 0:
            results["big_file"] = peak_rss_big(work, args.big_gib)
        print_table(results)
        out = Path(args.json_out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(results, indent=2), encoding="utf-8")
        print(f"\nJSON written to {out}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


def print_table(r: dict) -> None:
    print(f"\n{r['items']} items, {r['bytes'] / MB:.1f} MB (main file 0.2–2 MB + two attachments), "
          f"ingest profile {r['ingest_profile']}\n")
    print(f"{'measure':<42}{'seconds':>9}{'items/s':>10}{'MB/s':>9}  note")
    for key, label in (("floor_copy_sm3_sha512_2proc", "floor: copy + SM3 + SHA-512, 2 procs"),
                       ("bagit_make_bag_peer", "peer: bagit make_bag (in place)"),
                       ("lantai_ingest", "lantai ingest (CLI, incl. startup)"),
                       ("lantai_ingest_service", "ingest_paths (in process, pool start incl.)")):
        row = r[key]
        note = f"{row['ratio_to_floor']:.2f}× floor" if "ratio_to_floor" in row else ""
        print(f"{label:<42}{row['seconds']:>9.2f}{row['items_per_s']:>10.1f}{row['mb_per_s']:>9.1f}  {note}")
    print(f"{'raw hashlib SM3, 2 procs':<42}{r['raw_sm3_2proc']['seconds']:>9.2f}{'':>10}{r['raw_sm3_2proc']['mb_per_s']:>9.1f}")
    v = r["lantai_verify"]
    print(f"{'lantai verify (CLI, incl. startup)':<42}{v['seconds']:>9.2f}{'':>10}{v['mb_per_s']:>9.1f}  "
          f"{v['fraction_of_raw'] * 100:.0f}% of raw")
    w = r["lantai_verify_service"]
    print(f"{'verify_fixity (in process, pool start incl.)':<42}{w['seconds']:>9.2f}{'':>10}{w['mb_per_s']:>9.1f}  "
          f"{w['fraction_of_raw'] * 100:.0f}% of raw")
    if "big_file" in r:
        b = r["big_file"]
        print(f"\nsingle {b['file_gib']} GiB file: ingest {b['seconds']} s, peak RSS {b['peak_rss_mib']} MiB, ok={b['ok']}")


if __name__ == "__main__":
    main()
