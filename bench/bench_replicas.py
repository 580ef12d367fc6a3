"""Replication, scheduled fixity and repair, each beside a baseline measured in the same run.

* replication to a second file root (``lantai replicas sync``'s service: copy, SM3 check while
  streaming, inventory last, fsync per file)  vs  a raw copy + fsync of the same content files;
* replication to Ceph RGW (S3, object-lock bucket, COMPLIANCE retention)  vs  raw boto3 puts of the
  same files into the same kind of bucket with the same retention;
* scheduled fixity of the primary (``lantai fixity run --root primary``, as a CLI process, start-up
  included; and in process)  vs  raw SM3 (hashlib, OpenSSL) over the same files on 2 processes,
  also started as a process;
* time to detect and repair one damaged object (a file of ``--file-mib``) from the file replica
  and from S3.

The S3 part is skipped when no gateway answers (start one with tests/s3/start_ceph_rgw.sh); its
data set is smaller (``--s3-mib``) because the test gateway's OSD keeps objects in memory.

Usage: python bench/bench_replicas.py [--gib 1] [--file-mib 64] [--s3-mib 512] [--parts file,fixity,repair,s3]
       [--json-out FILE]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.sipfactory import SipSpec, write_batch  # noqa: E402

MB = 1024 * 1024
S3_ENV = ("LANTAI_TEST_S3_ENDPOINT", "LANTAI_TEST_S3_ACCESS_KEY", "LANTAI_TEST_S3_SECRET_KEY")
RAW_SM3 = """
import hashlib, sys
from concurrent.futures import ProcessPoolExecutor
def h(p):
    d = hashlib.new("sm3")
    with open(p, "rb", buffering=0) as f:
        while b := f.read(1 << 20):
            d.update(b)
    return d.hexdigest()
if __name__ == "__main__":
    paths = [l.rstrip("\\n") for l in open(sys.argv[1], encoding="utf-8")]
    with ProcessPoolExecutor(2) as pool:
        list(pool.map(h, paths))
"""


def _say(text: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {text}", file=sys.stderr, flush=True)


def _ingest(archive, tmp: Path, total: int, file_bytes: int) -> int:  # type: ignore[no-untyped-def]
    from lantai.services.ingest import ingest_paths

    count = max(1, total // file_bytes)
    done = 0
    for start in range(0, count, 8):
        specs = [SipSpec(record_id=f"REPL-{i:06d}", title=f"关于第{i}项工作的通知",
                         files={"正文.pdf": b"%PDF-1.7\n" + os.urandom(file_bytes)})
                 for i in range(start, min(count, start + 8))]
        batch = write_batch(tmp, specs, name=f"b{start}")
        report = ingest_paths(archive, [batch])
        assert report.ok, report.to_dict()
        shutil.rmtree(batch)
        done += len(specs)
    return count


def _object_files(archive) -> list[Path]:  # type: ignore[no-untyped-def]
    """Every file of every object (what replication copies): below the three layout tuples."""
    store = archive.settings.store_root
    return sorted(p for p in store.rglob("*") if p.is_file() and len(p.relative_to(store).parts) > 4)


def _content_files(archive) -> list[Path]:  # type: ignore[no-untyped-def]
    """The content files of every version (what fixity hashes): ``<object>/vN/content/…``."""
    store = archive.settings.store_root
    return [p for p in _object_files(archive) if p.relative_to(store).parts[5:6] == ("content",)]


def _raw_copy(files: list[Path], target: Path) -> float:
    started = time.perf_counter()
    for i, path in enumerate(files):
        out = target / f"{i:06d}"
        with open(path, "rb") as src, open(out, "wb") as dst:
            shutil.copyfileobj(src, dst, MB)
            dst.flush()
            os.fsync(dst.fileno())
    return time.perf_counter() - started


def _raw_sm3(files: list[Path], tmp: Path) -> float:
    listing = tmp / "files.txt"
    listing.write_text("\n".join(str(p) for p in files), encoding="utf-8")
    script = tmp / "raw_sm3.py"
    script.write_text(RAW_SM3, encoding="utf-8")
    started = time.perf_counter()
    subprocess.run([sys.executable, str(script), str(listing)], check=True)
    return time.perf_counter() - started


def _s3_client(env: dict[str, str]):  # type: ignore[no-untyped-def]
    import boto3
    from botocore.config import Config

    return boto3.client("s3", endpoint_url=env[S3_ENV[0]], aws_access_key_id=env[S3_ENV[1]],
                        aws_secret_access_key=env[S3_ENV[2]], region_name="us-east-1",
                        config=Config(s3={"addressing_style": "path"}))


def _s3_env() -> dict[str, str] | None:
    if all(os.environ.get(n) for n in S3_ENV):
        return {n: os.environ[n] for n in S3_ENV}
    script = ROOT / "tests" / "s3" / "start_ceph_rgw.sh"
    if shutil.which("radosgw") is None:
        return None
    done = subprocess.run(["bash", str(script)], capture_output=True, text=True, timeout=300, check=False)
    if done.returncode != 0:
        return None
    return dict(line.split("=", 1) for line in done.stdout.splitlines() if line.startswith("LANTAI_TEST_S3_"))


def _raw_put(env: dict[str, str], files: list[Path]) -> float:
    import datetime as dt

    from boto3.s3.transfer import TransferConfig

    client = _s3_client(env)
    bucket = f"lantai-raw-{uuid.uuid4().hex[:12]}"
    client.create_bucket(Bucket=bucket, ObjectLockEnabledForBucket=True)
    config = TransferConfig(multipart_threshold=64 * MB, multipart_chunksize=16 * MB, max_concurrency=4)
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    started = time.perf_counter()
    for i, path in enumerate(files):
        with open(path, "rb") as fh:
            client.upload_fileobj(fh, bucket, f"raw/{i:06d}", Config=config,
                                  ExtraArgs={"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until})
    return time.perf_counter() - started


def _time_repair(archive, object_id: str, damage: Path) -> float:  # type: ignore[no-untyped-def]
    """Damage one file, make its object the least recently verified, and time the run that repairs it."""
    from sqlalchemy import delete

    from lantai.catalog.preservation import RootObject
    from lantai.services.fixity import run_scheduled

    damage.write_bytes(b"%PDF damaged")
    with archive.session() as session:
        session.execute(delete(RootObject).where(RootObject.root == "primary", RootObject.object_id == object_id))
    started = time.perf_counter()
    report = run_scheduled(archive, root="primary", max_bytes=1)
    elapsed = time.perf_counter() - started
    assert report.checked == 1 and len(report.repaired) == 1 and report.ok, report.to_dict()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gib", type=float, default=1.0, help="size of the archive (GiB of content)")
    parser.add_argument("--file-mib", type=int, default=64, help="size of each item's content file")
    parser.add_argument("--s3-mib", type=int, default=512, help="content replicated to Ceph RGW (MiB)")
    parser.add_argument("--parts", default="file,fixity,repair,s3",
                        help="comma-separated parts: file, fixity, repair, s3 (default: all; repair needs file)")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    parts = {p.strip() for p in args.parts.split(",") if p.strip()}
    if parts - {"file", "fixity", "repair", "s3"}:
        parser.error(f"unknown parts: {', '.join(sorted(parts - {'file', 'fixity', 'repair', 's3'}))}")
    if "repair" in parts:
        parts.add("file")  # the repair reads the file replica

    from lantai.services.archive import init_archive
    from lantai.settings import Settings

    tmp = Path(tempfile.mkdtemp(prefix="bench-replicas-"))
    results: dict[str, object] = {"gib": args.gib, "file_mib": args.file_mib, "parts": sorted(parts)}
    rows: list[tuple[str, float, float, str]] = []
    try:
        second = tmp / "second"
        second.mkdir()
        os.environ["LANTAI_INGEST_PROFILE"] = "off"  # replication and fixity are measured, not checks
        settings = Settings(home=tmp / "archive", fsync=False, workers=2, ingest_profile="off")
        archive = init_archive(settings)
        _say("ingest")
        count = _ingest(archive, tmp, int(args.gib * 1024 * MB), args.file_mib * MB)
        everything = _object_files(archive)
        files = _content_files(archive)
        size = sum(p.stat().st_size for p in files)
        total = sum(p.stat().st_size for p in everything)
        results.update(items=count, bytes=size, object_bytes=total)
        if "file" in parts:
            _say("raw copy and replication to a file root")
            _file_root(archive, everything, tmp, second, count, total, rows, results)
        if "fixity" in parts:
            _say("fixity")
            _fixity(archive, settings, files, size, tmp, second, rows, results)
        if "repair" in parts:
            _say("repair")
            if "fixity" not in parts:  # verify everything once (untimed): the damaged copy is then the oldest
                from lantai.services.fixity import run_scheduled

                run_scheduled(archive, root="primary", max_bytes=size * 2)
            victim = next(p for p in files[len(files) // 2:] if p.name == "正文.pdf")
            results["repair_from_file_root_s"] = _time_repair(archive, victim.parents[3].name, victim)
            rows.append((f"检测并修复一个对象（{args.file_mib} MiB，来自文件存储根，秒）",
                         results["repair_from_file_root_s"], 0.0, ""))  # type: ignore[arg-type]
        if "s3" in parts:
            s3 = _s3_env()
            if s3 is None:
                results["s3"] = "skipped: no S3 gateway"
            else:
                _say("s3")
                _s3(args, s3, settings, files, everything, tmp, rows, results)
        archive.close()
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
        _print(rows, results, args.json_out)  # what was measured before a part failed is kept


def _file_root(archive, everything, tmp, second, count, total, rows, results):  # type: ignore[no-untyped-def]
    """1. Replication to a second file root vs a raw copy + fsync of the same files."""
    from lantai.services import replicas

    raw_dir = tmp / "raw"
    raw_dir.mkdir()
    raw = _raw_copy(everything, raw_dir)
    shutil.rmtree(raw_dir)
    replicas.add_root(archive, "second", second.as_uri())
    started = time.perf_counter()
    report = replicas.sync(archive, root="second")
    repl = time.perf_counter() - started
    assert report.ok and report.copied == count, report.to_dict()
    rows.append(("复制到第二个文件存储根 (MB/s)", total / MB / repl, total / MB / raw, "raw copy + fsync"))
    results["file_root"] = {"replication_s": repl, "raw_copy_s": raw, "ratio": raw / repl}


def _fixity(archive, settings, files, size, tmp, second, rows, results):  # type: ignore[no-untyped-def]
    """2. Fixity of the primary vs raw SM3 on 2 processes (both as processes: start-up included)."""
    from lantai.services.fixity import run_scheduled

    raw_a = _raw_sm3(files, tmp)
    roots = {"second": second.as_uri()} if any(second.iterdir()) else {}
    env = dict(os.environ, LANTAI_HOME=str(settings.home), LANTAI_FSYNC="false", LANTAI_WORKERS="2",
               LANTAI_REPLICA_ROOTS=json.dumps(roots))
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "lantai.cli.main", "fixity", "run", "--root", "primary",
                           "--max-bytes", str(size * 2), "--json"], env=env, capture_output=True, text=True)
    cli = time.perf_counter() - started
    assert done.returncode == 0, done.stdout + done.stderr
    fixity = json.loads(done.stdout)
    assert fixity["bytes"] == size, fixity
    raw_b = _raw_sm3(files, tmp)
    raw_sm3 = (raw_a + raw_b) / 2
    started = time.perf_counter()
    inproc = run_scheduled(archive, root="primary", max_bytes=size * 2)
    inproc_s = time.perf_counter() - started
    rows.append(("固定性检查 CLI，含启动 (MB/s)", size / MB / cli, size / MB / raw_sm3, "raw SM3, 2 processes"))
    rows.append(("固定性检查 进程内 (MB/s)", size / MB / inproc_s, size / MB / raw_sm3, "raw SM3, 2 processes"))
    results["fixity"] = {"bytes": size, "cli_s": cli, "in_process_s": inproc_s, "raw_sm3_s": [raw_a, raw_b],
                         "ratio_cli": raw_sm3 / cli, "ratio_in_process": raw_sm3 / inproc_s,
                         "checked": inproc.checked}


def _s3(args, s3, settings, files, everything, tmp, rows, results):  # type: ignore[no-untyped-def]
    """4. Replication to Ceph RGW vs raw boto3 puts of the same bytes, and one repair from it."""
    from lantai.services import replicas
    from lantai.services.archive import init_archive
    from lantai.settings import Settings

    wanted = max(1, (args.s3_mib * MB) // (args.file_mib * MB))
    subset_ids = sorted({p.parents[3].name for p in files if p.name == "正文.pdf"})[:wanted]
    subset = [p for p in everything if p.relative_to(settings.store_root).parts[3] in subset_ids]
    subset_bytes = sum(p.stat().st_size for p in subset)
    raw_put = _raw_put(s3, subset)
    s3_settings = Settings(home=tmp / "archive-s3", fsync=False, workers=2, ingest_profile="off",
                           s3_endpoint_url=s3[S3_ENV[0]], s3_access_key=s3[S3_ENV[1]],
                           s3_secret_key=s3[S3_ENV[2]], s3_object_lock_days=1)
    s3_archive = init_archive(s3_settings)
    s3_count = _ingest(s3_archive, tmp, wanted * args.file_mib * MB, args.file_mib * MB)
    s3_bytes = sum(p.stat().st_size for p in _object_files(s3_archive))
    bucket = f"lantai-bench-{uuid.uuid4().hex[:12]}"
    added = replicas.add_root(s3_archive, "rgw", f"s3://{bucket}/archive")
    started = time.perf_counter()
    report = replicas.sync(s3_archive, root="rgw")
    s3_repl = time.perf_counter() - started
    assert report.ok and report.copied == s3_count, report.to_dict()
    rows.append(("复制到 Ceph RGW 对象锁定存储桶 (MB/s)", s3_bytes / MB / s3_repl, subset_bytes / MB / raw_put,
                 "raw boto3 put, same retention"))
    bodies = sorted((p for p in _content_files(s3_archive) if p.name == "正文.pdf"), key=lambda p: p.parents[3].name)
    victim = bodies[0]  # nothing verified yet: the first id is the first copy checked
    repair_s3 = _time_repair(s3_archive, victim.parents[3].name, victim)
    rows.append((f"检测并修复一个对象（{args.file_mib} MiB，来自 Ceph RGW，秒）", repair_s3, 0.0, ""))
    results["s3"] = {"bytes": s3_bytes, "replication_s": s3_repl, "raw_put_s": raw_put,
                     "ratio": (s3_bytes / s3_repl) / (subset_bytes / raw_put), "object_lock": added["object_lock"],
                     "repair_s": repair_s3}
    s3_archive.close()


def _print(rows, results, json_out):  # type: ignore[no-untyped-def]
    print(f"{'measure':<48} {'lantai':>10} {'baseline':>10} {'ratio':>7}  baseline")
    for name, value, base, what in rows:
        ratio = f"{value / base:.2f}" if base else ""
        print(f"{name:<48} {value:>10.2f} {base:>10.2f} {ratio:>7}  {what}")
    print(json.dumps(results, indent=2, ensure_ascii=False))
    if json_out:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")


if __name__ == "__main__":
    main()
