"""The verdicts of the default gd profile over a generated batch with planted defects, as plain data.

Speed work on the checks must not change a single verdict. ``collect`` runs the checks
(``check_paths``) and ingest over one deterministic batch and reduces both to what a verdict is
(item, check code, rule, status, file; ingest's status and finding codes), dropping messages'
volatile parts (timings, digests of randomised signatures). ``test_ingest_verdicts.py`` compares
the result with ``verdicts_default_gd.json``, recorded before the speed work.

Run as a script to record the file again when a rule change is meant to change verdicts::

    python -m tests.integration.verdicts  # writes tests/integration/verdicts_default_gd.json
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

GOLDEN = Path(__file__).with_name("verdicts_default_gd.json")
BATCH = {"year": 2025, "items": 30, "seed": 5, "defect_rate": 0.5}


def generate_batch(out: Path) -> Path:
    from lantai.demo.generate import generate

    generate(out, workers=2, **BATCH)
    return out


def collect(batch: Path, socket: str, home: Path) -> dict[str, Any]:
    """Check-engine verdicts per item and ingest outcomes per item, both sorted."""
    from lantai.checks import check_paths
    from lantai.services.archive import init_archive
    from lantai.services.ingest import ingest_paths
    from lantai.settings import Settings

    os.environ["LANTAI_CLAMD_SOCKET"] = socket
    os.environ["LANTAI_INGEST_PROFILE"] = "default"
    report = check_paths([batch], stage="gd", profile="default", settings=Settings(clamd_socket=socket),
                         workers=2).to_dict()
    checks = sorted(f"{Path(item.get('path') or '').name or item.get('id')}|{r['code']}|{r['rule']}|{r['status']}|"
                    f"{r.get('file') or ''}" for item in report["items"] for r in item["results"])
    settings = Settings(home=home, fsync=False, workers=2, clamd_socket=socket)
    with init_archive(settings) as archive:
        outcome = ingest_paths(archive, sorted(p for p in batch.iterdir() if p.is_dir()))
    ingest = sorted(f"{Path(o.source).name}|{o.status}|{','.join(sorted({f.code for f in o.findings}))}"
                    for o in outcome.items)
    return {"batch": BATCH, "checks": checks, "ingest": ingest}


def main() -> None:
    from lantai.checks.clamav import ClamdServer

    with tempfile.TemporaryDirectory() as tmp, ClamdServer() as server:
        batch = generate_batch(Path(tmp) / "batch")
        verdicts = collect(batch, server.socket, Path(tmp) / "home")
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else GOLDEN
    out.write_text(json.dumps(verdicts, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"{len(verdicts['checks'])} check results, {len(verdicts['ingest'])} ingest outcomes → {out}")


if __name__ == "__main__":
    main()
