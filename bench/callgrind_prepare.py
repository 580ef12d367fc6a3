"""Instructions per ingested item: ``prepare_item`` (the ingest worker's whole job) under callgrind.

Wall time and even CPU time on the shared 2-core development machine vary by ±15 % from one run to
the next; instruction counts do not. Each code tree (this checkout, and ``--compare DIR``, e.g. a
detached worktree of main) runs in a process under ``valgrind --tool=callgrind`` twice: once
preparing ``--warm`` items, once preparing ``--warm`` + ``--items`` items; the difference of the two
totals divided by ``--items`` is the instructions per item, start-up and first-use costs excluded.
The checks run with the ``default`` profile (its wall-clock limits lifted: under valgrind a check
runs 50-100× slower) against a private clamd (outside valgrind: its own
work is not counted). Prints a table and writes ``bench/results/callgrind_prepare.json``.

Usage: ``python bench/callgrind_prepare.py --batch DIR [--items 20] [--warm 3] [--compare DIR]``
(``--batch``: ``lantai demo generate`` output; without it 40 items are generated).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import shutil, sys
from pathlib import Path
from lantai.services.archive import init_archive
from lantai.services.ingest import BatchContext, prepare_item
from lantai.settings import Settings
home, socket, count = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
# The default profile with its wall-clock limits lifted: under valgrind a check runs 50-100x slower.
import lantai.checks.profiles as profiles
text = (profiles.BUILTIN_DIR / "default.toml").read_text(encoding="utf-8")
(home / "profiles").mkdir(parents=True)
(home / "profiles" / "bench.toml").write_text(text.replace("time_limit_seconds = 60", "time_limit_seconds = 100000")
                                              .replace("timeout_seconds = 60", "timeout_seconds = 100000"), encoding="utf-8")
settings = Settings(home=home, clamd_socket=socket, workers=1, ingest_profile="bench")
init_archive(settings).close()
context = BatchContext(submitted_by="bench")
for item in sys.argv[4:4 + count]:
    prepared = prepare_item(settings, Path(item), context)
    assert prepared.outcome.status == "accepted", prepared.outcome.to_dict()
    for staged in settings.staging_dir.iterdir():
        shutil.rmtree(staged, ignore_errors=True)
"""


def instructions(tree: str | None, socket: str, items: list[Path], count: int, work: Path) -> int:
    """Total instructions (Ir) of one process preparing the first ``count`` of ``items``."""
    home = Path(tempfile.mkdtemp(prefix="home-", dir=work))
    out = work / f"callgrind.{os.getpid()}.{abs(hash((tree, count)))}.out"
    env = dict(os.environ)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    # cwd is the work directory: ``python -c`` puts the current directory first on sys.path, before
    # PYTHONPATH, so run from a checkout it would import that checkout's lantai whatever the tree.
    if tree:
        env["PYTHONPATH"] = tree
    try:
        proc = subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                               CHILD, str(home), socket, str(count), *map(str, items)],
                              env=env, cwd=work, capture_output=True, text=True, check=False)
        if proc.returncode != 0:
            raise RuntimeError(proc.stderr[-2000:])
        summary = re.search(r"^summary:\s+(\d+)", out.read_text(), re.M)
        assert summary is not None
        return int(summary.group(1))
    finally:
        shutil.rmtree(home, ignore_errors=True)
        out.unlink(missing_ok=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--batch")
    parser.add_argument("--items", type=int, default=20)
    parser.add_argument("--warm", type=int, default=3)
    parser.add_argument("--compare", help="another code tree to measure beside this one")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from lantai.checks.clamav import ClamdServer

    work = Path(tempfile.mkdtemp(prefix="bench-callgrind-"))
    try:
        if args.batch:
            batch = Path(args.batch)
        else:
            from lantai.demo.generate import generate

            batch = work / "batch"
            generate(batch, year=2025, items=40, seed=7, defect_rate=0.0, workers=2)
        items = sorted(p for p in batch.iterdir() if p.is_dir())[: args.warm + args.items]
        trees = {"this": None, **({"compare": args.compare} if args.compare else {})}
        for tree in [str(ROOT), *([args.compare] if args.compare else [])]:
            env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
            subprocess.run([sys.executable, "-m", "compileall", "-q", f"{tree}/lantai"], env=env, check=True,
                           stdout=subprocess.DEVNULL)
        with ClamdServer() as server:
            jobs = [(label, tree, count) for label, tree in trees.items() for count in (args.warm, len(items))]
            with ThreadPoolExecutor(max_workers=2) as pool:
                totals = dict(zip([(label, count) for label, _tree, count in jobs],
                                  pool.map(lambda job: instructions(job[1], server.socket, items, job[2], work), jobs),
                                  strict=True))
        result: dict[str, Any] = {"items": args.items, "warm": args.warm, "load_average": list(os.getloadavg())}
        for label in trees:
            per_item = (totals[(label, len(items))] - totals[(label, args.warm)]) / args.items
            result[label] = {"instructions_per_item": round(per_item), "warm_run_instructions": totals[(label, args.warm)]}
        if args.compare:
            result["ratio"] = round(result["this"]["instructions_per_item"] / result["compare"]["instructions_per_item"], 3)
        print(f"{'tree':<10}{'M instructions / item':>24}{'warm-up run (M)':>18}")
        for label in trees:
            row = result[label]
            print(f"{label:<10}{row['instructions_per_item'] / 1e6:>24.1f}{row['warm_run_instructions'] / 1e6:>18.0f}")
        if args.compare:
            print(f"ratio this / compare: {result['ratio']}")
        (ROOT / "bench" / "results").mkdir(exist_ok=True)
        (ROOT / "bench" / "results" / "callgrind_prepare.json").write_text(json.dumps(result, indent=1))
        return 0
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
