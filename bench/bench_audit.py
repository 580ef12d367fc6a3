"""Audit append cost per entry and ingest throughput: this tree's AuditLog against a base revision's.

The base AuditLog (default ``main``'s ``lantai/services/audit.py``) is loaded from git and put in
place of the archive's own, so both run in the same process on the same machine, alternating
rounds (machines here are noisy). Cases:

* ``append``       one entry per call, its own catalogue transaction (logins, views, searches)
* ``append_many``  32 entries per call in the caller's transaction (ingest's group commit)
* ``ingest``       small items through ``ingest_paths`` with one worker: one audit call per item,
                   the case where a slower append would show most
* ``verify``       full ``verify`` of the resulting chain

* ``append_many_nofsync``  the same without fsync: the CPU cost of an entry alone

All others with fsync on (the default). Prints a table and the new/base ratio; ``--json-out`` writes it.

Usage: python bench/bench_audit.py [--entries 1000] [--items 60] [--rounds 3] [--base main]
                                   [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/postgres]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ.setdefault("LANTAI_INGEST_PROFILE", "off")  # the audit path, not DA/T 70 checks

from lantai.services.archive import Archive, init_archive  # noqa: E402
from lantai.settings import Settings  # noqa: E402
from tests.sipfactory import SipSpec, write_item  # noqa: E402

GROUP = 32


def load_base(revision: str, work: Path) -> ModuleType:
    source = subprocess.run(["git", "show", f"{revision}:lantai/services/audit.py"], cwd=ROOT, check=True,
                            capture_output=True, text=True).stdout
    path = work / "audit_base.py"
    path.write_text(source, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("lantai_audit_base", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def fresh_archive(work: Path, database_url: str | None, base: ModuleType | None) -> Archive:
    settings = Settings(home=work / f"a-{uuid.uuid4().hex[:8]}", database_url=_new_database(database_url),
                        fsync=True, workers=1)
    archive = init_archive(settings)
    if base is not None:  # continues the chain init began
        archive.audit = base.AuditLog(settings.audit_journal, archive.sessions, fsync=True)
    return archive


def close(archive: Archive) -> None:
    """Close without the base log (it has no checkpoint to sign on close)."""
    archive.audit.anchor_pending = lambda: None  # type: ignore[method-assign]
    archive.close()


def _new_database(base_url: str | None) -> str | None:
    if not base_url:
        return None
    from tests.conftest import _create_pg_database

    return _create_pg_database(base_url)


def case_append(archive: Archive, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        archive.audit.append("bench", "item.viewed", f"R-{i}", {"via": "web"})
    return (time.perf_counter() - start) / n


def case_append_many(archive: Archive, n: int) -> float:
    start = time.perf_counter()
    for k in range(0, n, GROUP):
        with archive.session() as session:
            archive.audit.append_many([("bench", "ingest.accepted", f"R-{k + i}", {"files": 3, "bytes": 123456})
                                       for i in range(GROUP)], session=session)
    return (time.perf_counter() - start) / (n // GROUP * GROUP)


def case_ingest(archive: Archive, items: list[Path]) -> float:
    from lantai.services.ingest import ingest_paths

    start = time.perf_counter()
    report = ingest_paths(archive, items, actor="bench")
    elapsed = time.perf_counter() - start
    assert all(o.status == "accepted" for o in report.items), [o.to_dict() for o in report.items[:3]]
    return len(items) / elapsed


def case_verify(archive: Archive) -> float:
    start = time.perf_counter()
    report = archive.audit.verify()
    assert report.ok, report.problems[:3]
    return time.perf_counter() - start


def make_items(work: Path, n: int, tag: str) -> list[Path]:
    return [write_item(work / f"sip-{tag}-{i}", SipSpec(record_id=f"AB-{tag}-{i:05d}", files={"正文.pdf": b"%PDF" + os.urandom(20_000)}))
            for i in range(n)]


def run(args: argparse.Namespace) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="bench-audit-"))
    try:
        base = load_base(args.base, work)
        samples: dict[str, dict[str, list[float]]] = {v: {} for v in ("base", "new")}
        for round_ in range(args.rounds):
            for variant in (("base", "new") if round_ % 2 == 0 else ("new", "base")):
                module = base if variant == "base" else None
                measured = samples[variant]
                archive = fresh_archive(work, args.database_url, module)
                try:
                    measured.setdefault("append_us", []).append(case_append(archive, args.entries) * 1e6)
                    measured.setdefault("append_many_us", []).append(case_append_many(archive, args.entries) * 1e6)
                    archive.audit.fsync = False  # the CPU cost alone, without the disk's noise
                    measured.setdefault("append_many_nofsync_us", []).append(
                        case_append_many(archive, args.entries) * 1e6)
                    archive.audit.fsync = True
                    items = make_items(work, args.items, f"{variant}{round_}")
                    measured.setdefault("ingest_items_s", []).append(case_ingest(archive, items))
                    measured.setdefault("verify_s", []).append(case_verify(archive))
                finally:
                    close(archive)
        return summarise(samples, args)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def summarise(samples: dict[str, dict[str, list[float]]], args: argparse.Namespace) -> dict[str, Any]:
    median: Callable[[list[float]], float] = statistics.median
    rows = {}
    for key in samples["new"]:
        base, new = median(samples["base"][key]), median(samples["new"][key])
        rows[key] = {"base": round(base, 2), "new": round(new, 2), "ratio_new_over_base": round(new / base, 3),
                     "samples_base": [round(v, 2) for v in samples["base"][key]],
                     "samples_new": [round(v, 2) for v in samples["new"][key]]}
    return {"catalogue": "postgresql" if args.database_url else "sqlite", "entries": args.entries,
            "items": args.items, "rounds": args.rounds, "base": args.base, "results": rows}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1000)
    parser.add_argument("--items", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--base", default="main")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    result = run(args)
    print(f"audit bench, catalogue {result['catalogue']}, {args.entries} entries, {args.items} items, "
          f"{args.rounds} rounds (medians), base {args.base}")
    print(f"{'case':<18}{'base':>12}{'new':>12}{'new/base':>10}")
    for key, row in result["results"].items():
        print(f"{key:<18}{row['base']:>12}{row['new']:>12}{row['ratio_new_over_base']:>10}")
    if args.json_out:
        args.json_out.parent.mkdir(parents=True, exist_ok=True)
        args.json_out.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
