"""``bench_ingest.py --realistic``: ingest of generated 公文 with the DA/T 70 profile and a real clamd.

The items are ``lantai demo generate`` output (PDF/A 正本, sealed OFD 正本, DOCX 定稿, 公文处理单 PDF,
attachments, DA/T 46 metadata), the checks are the ``default`` profile (every gd check, ClamAV
included) against a private clamd. Reported beside, on the same items and in the same run:

* the floor: copy every file once computing SM3 + SHA-512, 2 processes;
* ``bagit make_bag`` in place (the peer), one bag per item on 2 processes;
* the same ingest with the ``off`` profile (ingest mechanics only).

Each ingest row also gives the CPU it cost: Lantai's processes (the CLI and every worker, reaped
through a child-subreaper wrapper) and clamd's (``/proc/<pid>/stat``), per item. CPU per item is
what a noisy shared machine cannot distort much; items/s is what the issue's goal is stated in.

``--compare DIR`` runs each ingest again from another checkout (e.g. ``git worktree add /tmp/ab-main
main``), alternating with this one ``--repeat`` times: an A/B on the same machine state.

The per-check CPU profile runs the profile's item checks over the same items in this process with
:mod:`lantai.checks.timing` on: CPU per check code per item, with the facts the checks share
(format identification, PDF/A validation, OFD parsing …) on rows of their own.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

MB = 1024 * 1024
# Runs the CLI as a child of a child subreaper, so the fork server and its workers, which outlive
# their parent by a moment, are reaped here and their CPU lands in RUSAGE_CHILDREN.
WRAPPER = """
import ctypes, os, resource, subprocess, sys, time
ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0)  # PR_SET_CHILD_SUBREAPER
started = time.perf_counter()
rc = subprocess.call([sys.executable, "-m", "lantai.cli.main", *sys.argv[1:]], stdout=subprocess.DEVNULL)
wall = time.perf_counter() - started
while True:
    try:
        os.waitpid(-1, 0)
    except ChildProcessError:
        break
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, wall, usage.ru_utime + usage.ru_stime)
"""


def generate_batch(out: Path, items: int, seed: int, defects: float = 0.0) -> Path:
    from lantai.demo.generate import generate

    generate(out, year=2025, items=items, seed=seed, defect_rate=defects, workers=2)
    return out


def compile_bytecode(tree: Path) -> None:
    """Byte-compile a code tree's ``lantai`` package, as installing it does.

    With ``PYTHONDONTWRITEBYTECODE`` set (as on the shared development machines) every process of
    every run would otherwise compile Lantai's sources again: about 0.5 s of CPU in each of the CLI
    and the fork server, which a deployed archive never pays."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "lantai")], env=env, check=True,
                   stdout=subprocess.DEVNULL)


def batch_size(batch: Path) -> tuple[int, int]:
    files = [p for p in batch.rglob("*") if p.is_file()]
    return len(files), sum(p.stat().st_size for p in files)


def clamd_cpu(pid: int) -> float:
    """CPU seconds clamd has used so far (user + system)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def ingest_once(batch: Path, home: Path, profile: str, socket: str, clamd_pid: int,
                code_path: str | None) -> dict[str, Any]:
    """One CLI ingest of the whole batch into a fresh archive; wall time and CPU by process group."""
    env = dict(os.environ)
    env.update({"LANTAI_HOME": str(home), "LANTAI_INGEST_PROFILE": profile, "LANTAI_CLAMD_SOCKET": socket})
    env.pop("LANTAI_DATABASE_URL", None)
    env.pop("LANTAI_CHECK_TIMINGS", None)
    if code_path:
        env["PYTHONPATH"] = code_path
    subprocess.run([sys.executable, "-m", "lantai.cli.main", "init"], env=env, cwd=home.parent, capture_output=True,
                   check=True)
    os.sync()
    before = clamd_cpu(clamd_pid)
    # cwd: ``python -m`` and ``-c`` put the current directory first on sys.path, ahead of PYTHONPATH,
    # so run from a checkout's root the compared tree would be that checkout again.
    out = subprocess.run([sys.executable, "-c", WRAPPER, "ingest", str(batch), "--json"], env=env, cwd=home.parent,
                         capture_output=True, text=True, check=False)
    clamd = clamd_cpu(clamd_pid) - before
    rc, wall, cpu = out.stdout.split()
    accepted = _accepted(home, env)
    shutil.rmtree(home, ignore_errors=True)
    return {"ok": rc == "0", "seconds": float(wall), "lantai_cpu_s": float(cpu), "clamd_cpu_s": clamd,
            "accepted": accepted}


def _accepted(home: Path, env: dict[str, str]) -> int:
    """Items in the catalogue after the run (every clean generated item must be accepted)."""
    import sqlite3

    db = home / "catalog.sqlite3"
    if not db.exists():
        return -1
    with sqlite3.connect(db) as conn:
        return int(conn.execute("select count(*) from items").fetchone()[0])


def check_profile(batch: Path, socket: str, profile: str = "default") -> dict[str, Any]:
    """CPU per check code and per shared fact, in this process, over every item of the batch."""
    from lantai.checks import engine, loaders, timing
    from lantai.checks.profiles import load_profile
    from lantai.checks.runner import _prewarm
    from lantai.settings import Settings

    items = sorted(p for p in batch.iterdir() if p.is_dir())
    settings = Settings(home=Path(tempfile.mkdtemp(prefix="bench-check-home-")), clamd_socket=socket)
    resolved = load_profile(profile)
    _prewarm()
    workdir = Path(tempfile.mkdtemp(prefix="bench-check-"))
    try:
        engine.check_subject(loaders.load_sip(items[0], "gd", resolved, settings, workdir))  # warm caches
        timing.enable()
        timing.reset()
        started, wall = time.process_time(), time.perf_counter()
        for item in items:
            with timing.measure("load item (digests, metadata)"):
                subject = loaders.load_sip(item, "gd", resolved, settings, workdir)
            engine.check_subject(subject)
        cpu, wall = time.process_time() - started, time.perf_counter() - wall
    finally:
        timing.enable(False)
        shutil.rmtree(workdir, ignore_errors=True)
        shutil.rmtree(settings.home, ignore_errors=True)
    rows = {key: {"ms_per_item": round(seconds * 1000 / len(items), 3), "calls": calls}
            for key, (seconds, calls) in sorted(timing.totals().items(), key=lambda kv: -kv[1][0])}
    return {"items": len(items), "cpu_ms_per_item": round(cpu * 1000 / len(items), 2),
            "wall_ms_per_item": round(wall * 1000 / len(items), 2), "rows": rows}


def run(args: Any, floor_copy: Any, bagit_peer: Any) -> dict[str, Any]:
    from lantai.checks.clamav import ClamdServer

    work = Path(tempfile.mkdtemp(prefix="lantai-bench-real-", dir=os.environ.get("BENCH_TMP")))
    try:
        for tree in [str(Path(__file__).resolve().parents[1]), *([args.compare] if args.compare else [])]:
            compile_bytecode(Path(tree))
        batch = Path(args.batch) if args.batch else generate_batch(work / "batch", args.items, args.seed)
        items = sum(1 for p in batch.iterdir() if p.is_dir())
        files, total = batch_size(batch)
        os.sync()
        floor_s, _ = floor_copy(batch, work / "floor")
        shutil.rmtree(work / "floor")
        bag_s = bagit_peer(batch, work / "bags")
        shutil.rmtree(work / "bags")
        runs: dict[str, list[dict[str, Any]]] = {}
        trees = [("this", None)] + ([("compare", args.compare)] if args.compare else [])
        for _round in range(args.repeat):
            for profile in args.profiles:
                for label, code_path in trees:
                    # A fresh clamd each time: clamd caches clean files by digest, and a second scan
                    # of the same bytes costs a tenth of the first.
                    with ClamdServer() as server:
                        assert server.process is not None
                        row = ingest_once(batch, work / "home", profile, server.socket, server.process.pid, code_path)
                    runs.setdefault(f"{label}:{profile}", []).append(row)
        checks = None
        if args.check_profile:
            with ClamdServer() as server:
                checks = check_profile(batch, server.socket)
        return summarise(args, items, files, total, floor_s, bag_s, runs, checks)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarise(args: Any, items: int, files: int, total: int, floor_s: float, bag_s: float,
              runs: dict[str, list[dict[str, Any]]], checks: dict[str, Any] | None) -> dict[str, Any]:
    rows = {}
    for key, measured in runs.items():
        best = min(measured, key=lambda r: r["seconds"])
        rows[key] = {
            "runs": measured,
            "best_seconds": round(best["seconds"], 3),
            "items_per_s": [round(items / r["seconds"], 1) for r in measured],
            "best_items_per_s": round(items / best["seconds"], 1),
            "best_ratio_to_floor": round(best["seconds"] / floor_s, 2),
            "best_ratio_to_bagit": round(best["seconds"] / bag_s, 2),
            "lantai_cpu_ms_per_item": [round(r["lantai_cpu_s"] * 1000 / items, 1) for r in measured],
            "clamd_cpu_ms_per_item": [round(r["clamd_cpu_s"] * 1000 / items, 1) for r in measured],
            "all_ok": all(r["ok"] for r in measured),
            "accepted": sorted({r["accepted"] for r in measured}),
        }
    return {"mode": "realistic", "items": items, "files": files, "bytes": total, "machine_cpus": os.cpu_count(),
            "load_average": list(os.getloadavg()), "compare": args.compare, "repeat": args.repeat,
            "floor_copy_sm3_sha512_2proc": {"seconds": round(floor_s, 3), "items_per_s": round(items / floor_s, 1),
                                            "mb_per_s": round(total / MB / floor_s, 1)},
            "bagit_make_bag_peer": {"seconds": round(bag_s, 3), "items_per_s": round(items / bag_s, 1),
                                    "ratio_to_floor": round(bag_s / floor_s, 2)},
            "ingest": rows, "check_profile": checks, "goal": {"items_per_s": 40, "ratio_to_floor": 6}}


def print_table(r: dict[str, Any]) -> None:
    print(f"\n{r['items']} generated items, {r['files']} files, {r['bytes'] / MB:.1f} MB "
          f"(PDF/A + sealed OFD + DOCX + 处理单 + attachments); load {r['load_average'][0]:.1f}\n")
    print(f"{'measure':<38}{'seconds':>9}{'items/s':>9}{'× floor':>9}{'× bagit':>9}"
          f"{'Lantai CPU':>12}{'clamd CPU':>11}  ok")
    floor, bag = r["floor_copy_sm3_sha512_2proc"], r["bagit_make_bag_peer"]
    print(f"{'floor: copy + SM3 + SHA-512, 2 procs':<38}{floor['seconds']:>9.2f}{floor['items_per_s']:>9.1f}{1:>9.2f}")
    print(f"{'peer: bagit make_bag (in place)':<38}{bag['seconds']:>9.2f}{bag['items_per_s']:>9.1f}"
          f"{bag['ratio_to_floor']:>9.2f}")
    for key, row in r["ingest"].items():
        tree, profile = key.split(":")
        label = f"lantai ingest, profile {profile}" + (" (compare)" if tree == "compare" else "")
        cpu = "/".join(f"{v:.0f}" for v in row["lantai_cpu_ms_per_item"])
        clamd = "/".join(f"{v:.0f}" for v in row["clamd_cpu_ms_per_item"])
        print(f"{label:<38}{row['best_seconds']:>9.2f}{row['best_items_per_s']:>9.1f}"
              f"{row['best_ratio_to_floor']:>9.2f}{row['best_ratio_to_bagit']:>9.2f}{cpu:>12}{clamd:>11}  "
              f"{row['all_ok']} ({'/'.join(str(a) for a in row['accepted'])} accepted)")
        if len(row["items_per_s"]) > 1:
            print(f"{'':<38}items/s per run: {', '.join(str(v) for v in row['items_per_s'])}")
    print("CPU columns: ms per item, per run (CLI start-up included).")
    checks = r.get("check_profile")
    if checks:
        print(f"\nPer-check CPU, in process over the same items: {checks['cpu_ms_per_item']} ms per item "
              f"(wall {checks['wall_ms_per_item']} ms, clamd round trips included)")
        print(f"{'check code / shared fact':<52}{'ms/item':>9}{'calls':>8}")
        for key, row in checks["rows"].items():
            print(f"{key:<52}{row['ms_per_item']:>9.2f}{row['calls']:>8}")
