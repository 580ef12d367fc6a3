"""Backup, restore and carrier export throughput against a raw ``cp -r`` of the same bytes, in one run.

Builds (or reuses) an archive of ``--items`` items (``--size`` bytes of content each, two files,
ingest profile off: this measures copying, not checking), then times from the CLI, interpreter
start-up included, alternately ``--repeat`` times (best of each counts; the machine's load changes
by the minute):

* baseline ``cp -r store/ DEST`` — the raw copy of the OCFL store — and, for context, reading and
  SM3-digesting every store file in one process (the digest work a verified copy cannot skip);
* ``lantai backup create DEST`` into a new destination (every file copied, SM3 + SHA-512 while
  copying, checked against the inventory, SM3 manifest), and again into the same destination
  (incremental: nothing new to copy);
* baseline ``cp -r DEST/store NEW``, then ``lantai backup restore DEST`` into an empty home (copy,
  SM3 per file, rebuild of catalogue and search index, audit verification);
* ``lantai carrier export`` (an SM2-signed DA/T 48 EEP per item, base64 inside, volumes, manifest);
* with ``--s3`` (a gateway from LANTAI_TEST_S3_* or tests/s3/start_ceph_rgw.sh): baseline raw boto3
  ``upload_file`` of every store file into an object-lock bucket with the same COMPLIANCE retention
  and the same transfer settings, then ``lantai backup create s3://…`` into another such bucket;
  baseline raw ``download_file`` of every backed-up store object, then ``lantai backup restore s3://…``.

MB/s are of the store's bytes (10^6). LANTAI_FSYNC=false for Lantai as ``cp`` does not fsync either.

Usage: python bench/bench_backup.py [--items 400] [--size 1000000] [--repeat 2] [--s3]
       [--work /tmp/lantai-bench-backup] [--json-out bench/results/backup.json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
PASSPHRASE = "bench-backup-passphrase"


def _env(home: Path) -> dict[str, str]:
    env = dict(os.environ, LANTAI_HOME=str(home), LANTAI_FSYNC="false", LANTAI_INGEST_PROFILE="off",
               PYTHONPATH=str(ROOT), LANTAI_BACKUP_PASSPHRASE=PASSPHRASE)
    env.pop("LANTAI_DATABASE_URL", None)
    return env


def _run(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, bytes]:
    started = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True)
    elapsed = time.perf_counter() - started
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(cmd)} failed ({proc.returncode}): {proc.stderr.decode()[-2000:]}")
    return elapsed, proc.stdout


def _timed(cmd: list[str], env: dict[str, str] | None = None) -> float:
    return _run(cmd, env)[0]


def _lantai(home: Path, *args: str) -> float:
    return _lantai_json(home, *args)[0]


def _lantai_json(home: Path, *args: str) -> tuple[float, dict[str, Any]]:
    seconds, out = _run([str(Path(sys.executable).with_name("lantai")), *args, "--json"], _env(home))
    return seconds, json.loads(out)


def build(home: Path, items: int, size: int) -> None:
    from lantai.services.archive import init_archive
    from lantai.services.ingest import ingest_paths
    from lantai.settings import Settings
    from tests.sipfactory import specs, write_batch

    settings = Settings(home=home, fsync=False, workers=2, ingest_profile="off")
    with init_archive(settings) as archive:
        have = len(list(archive.store.iter_object_ids()))
        if have >= items:
            return
        every = specs(items, prefix="B18-WS-2025-", size=size)
        for start in range(have, items, 200):
            src = home.parent / f"src-{start}"
            ingest_paths(archive, [write_batch(src, every[start:start + 200], name=f"b{start}")])
            shutil.rmtree(src)


def _sm3_floor(store: Path) -> float:
    """Seconds to read and SM3 every store file in this process: the digest work a verified copy cannot skip."""
    import hashlib

    started = time.perf_counter()
    for path in sorted(p for p in store.rglob("*") if p.is_file()):
        digest = hashlib.new("sm3")
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 20):
                digest.update(chunk)
    return time.perf_counter() - started


def _bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def _fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    return path


S3_ENV = ("LANTAI_TEST_S3_ENDPOINT", "LANTAI_TEST_S3_ACCESS_KEY", "LANTAI_TEST_S3_SECRET_KEY")


def _s3_gateway() -> dict[str, str] | None:
    if all(os.environ.get(n) for n in S3_ENV):
        return {n: os.environ[n] for n in S3_ENV}
    done = subprocess.run(["bash", str(ROOT / "tests" / "s3" / "start_ceph_rgw.sh")], capture_output=True, text=True,
                          timeout=300, check=False)
    if done.returncode != 0:
        return None
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith("LANTAI_TEST_S3_"))


def _s3_client(gateway: dict[str, str]) -> Any:
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=gateway[S3_ENV[0]], region_name="us-east-1",
                        aws_access_key_id=gateway[S3_ENV[1]], aws_secret_access_key=gateway[S3_ENV[2]],
                        config=Config(s3={"addressing_style": "path"}))


def _s3_env(home: Path, gateway: dict[str, str]) -> dict[str, str]:
    return dict(_env(home), LANTAI_S3_ENDPOINT_URL=gateway[S3_ENV[0]], LANTAI_S3_ACCESS_KEY=gateway[S3_ENV[1]],
                LANTAI_S3_SECRET_KEY=gateway[S3_ENV[2]], LANTAI_S3_OBJECT_LOCK_DAYS="1")


def measure_s3(work: Path, home: Path, gateway: dict[str, str]) -> dict[str, float]:
    """Raw boto3 puts and gets of the store's bytes vs backup create and restore on s3:// (one round:
    every round leaves retained objects in the gateway's memory store)."""
    import datetime as dt
    import uuid

    from lantai.storage.backends import S3Backend

    client = _s3_client(gateway)
    config = S3Backend._transfer()
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    raw_bucket, bucket = f"lantai-raw-{uuid.uuid4().hex[:10]}", f"lantai-bk-{uuid.uuid4().hex[:10]}"
    client.create_bucket(Bucket=raw_bucket, ObjectLockEnabledForBucket=True)
    store = home / "store"
    files = sorted(p for p in store.rglob("*") if p.is_file())
    started = time.perf_counter()
    for path in files:
        client.upload_file(str(path), raw_bucket, path.relative_to(store).as_posix(), Config=config,
                           ExtraArgs={"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until})
    seconds = {"s3_raw_put": time.perf_counter() - started}
    env = _s3_env(home, gateway)
    url = f"s3://{bucket}/backup"
    seconds["backup_s3"] = _run([str(Path(sys.executable).with_name("lantai")), "backup", "create", url, "--json"], env)[0]
    keys = [o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix="backup/store/")
            for o in page.get("Contents", [])]
    target = _fresh(work / "s3-raw-get")
    started = time.perf_counter()
    for key in keys:
        out = target / key
        out.parent.mkdir(parents=True, exist_ok=True)
        client.download_file(bucket, key, str(out), Config=config)
    seconds["s3_raw_get"] = time.perf_counter() - started
    restored = _fresh(work / "restored-s3")
    seconds["restore_s3"], out = _run([str(Path(sys.executable).with_name("lantai")), "backup", "restore", url, "--json"],
                                      _s3_env(restored, gateway))
    seconds["restore_s3_copy_phase"] = json.loads(out)["copy_seconds"]
    return seconds


def measure(work: Path, home: Path, repeat: int, gateway: dict[str, str] | None = None) -> dict[str, Any]:
    store_bytes = _bytes(home / "store")
    best: dict[str, float] = {}

    def keep(name: str, seconds: float) -> None:
        best[name] = min(seconds, best.get(name, seconds))

    for _ in range(repeat):
        keep("cp_store", _timed(["cp", "-r", str(home / "store"), str(_fresh(work / "cp-store"))]))
        keep("sm3_floor", _sm3_floor(home / "store"))
        dest = _fresh(work / "backup")
        keep("backup_full", _lantai(home, "backup", "create", str(dest)))
        keep("backup_incremental", _lantai(home, "backup", "create", str(dest)))
        keep("cp_backup_store", _timed(["cp", "-r", str(dest / "store"), str(_fresh(work / "cp-restore"))]))
        seconds, restored = _lantai_json(_fresh(work / "restored"), "backup", "restore", str(dest))
        keep("restore", seconds)
        keep("restore_copy_phase", restored["copy_seconds"])
        keep("restore_rebuild_phase", sum((restored.get("rebuild_seconds") or {}).values()))
        keep("carrier_export", _lantai(home, "carrier", "export", "-o", str(_fresh(work / "carrier")),
                                       "--volume-size", "25GB"))
    if gateway is not None:
        best.update(measure_s3(work, home, gateway))
    carrier_bytes = _bytes(work / "carrier")
    mbps = {name: round(store_bytes / 1e6 / seconds, 1) for name, seconds in best.items()}
    s3_ratios = {"backup_s3_vs_raw_put": round(mbps["backup_s3"] / mbps["s3_raw_put"], 2),
                 "restore_s3_vs_raw_get": round(mbps["restore_s3"] / mbps["s3_raw_get"], 2),
                 "restore_s3_copy_phase_vs_raw_get": round(mbps["restore_s3_copy_phase"] / mbps["s3_raw_get"], 2)} \
        if gateway is not None else {}
    return {"store_bytes": store_bytes, "carrier_bytes": carrier_bytes, "seconds": {k: round(v, 2) for k, v in best.items()},
            "mb_per_s": mbps,
            "ratios": {**s3_ratios, "backup_vs_cp": round(mbps["backup_full"] / mbps["cp_store"], 2),
                       "restore_vs_cp": round(mbps["restore"] / mbps["cp_backup_store"], 2),
                       "restore_copy_phase_vs_cp": round(mbps["restore_copy_phase"] / mbps["cp_backup_store"], 2),
                       "carrier_vs_cp": round(mbps["carrier_export"] / mbps["cp_store"], 2),
                       "backup_vs_sm3_floor": round(mbps["backup_full"] / mbps["sm3_floor"], 2)}}


def print_table(items: int, result: dict[str, Any]) -> None:
    print(f"\n{items} items, store {result['store_bytes'] / 1e6:.1f} MB, carrier {result['carrier_bytes'] / 1e6:.1f} MB")
    print(f"{'operation':<34}{'seconds':>9}{'MB/s':>9}")
    labels = {"cp_store": "cp -r store (baseline)", "sm3_floor": "read + SM3, 1 process (floor)", "backup_full": "lantai backup create (new dest)",
              "backup_incremental": "lantai backup create (incremental)",
              "cp_backup_store": "cp -r backup store (baseline)", "restore": "lantai backup restore (+rebuild)",
              "restore_copy_phase": "  of which: copy + SM3 per file", "restore_rebuild_phase": "  of which: rebuild + reindex",
              "carrier_export": "lantai carrier export (EEPs)",
              "s3_raw_put": "raw boto3 put of the store (S3)", "backup_s3": "lantai backup create s3://",
              "s3_raw_get": "raw boto3 get of the backup (S3)", "restore_s3": "lantai backup restore s3://",
              "restore_s3_copy_phase": "  of which: get + SM3 per file"}
    for name, label in labels.items():
        if name not in result["seconds"]:
            continue
        print(f"{label:<34}{result['seconds'][name]:>9.2f}{result['mb_per_s'][name]:>9.1f}")
    print("ratios:", result["ratios"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--items", type=int, default=400)
    parser.add_argument("--size", type=int, default=1_000_000, help="content bytes per item")
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--work", default="/tmp/lantai-bench-backup")
    parser.add_argument("--json-out", default=str(ROOT / "bench" / "results" / "backup.json"))
    parser.add_argument("--s3", action="store_true", help="also back up to and restore from Ceph RGW")
    args = parser.parse_args()
    gateway = _s3_gateway() if args.s3 else None
    if args.s3 and gateway is None:
        raise SystemExit("--s3: no S3 gateway (set LANTAI_TEST_S3_* or install Ceph for tests/s3/start_ceph_rgw.sh)")
    work = Path(args.work)
    home = work / f"archive-{args.items}-{args.size}"
    started = time.perf_counter()
    build(home, args.items, args.size)
    print(f"archive of {args.items} items ready in {time.perf_counter() - started:.0f} s", flush=True)
    result = measure(work, home, args.repeat, gateway)
    print_table(args.items, result)
    load = os.getloadavg()[0]
    Path(args.json_out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json_out).write_text(json.dumps({"items": args.items, "size": args.size, "load": load, **result},
                                              indent=2) + "\n")


if __name__ == "__main__":
    main()
