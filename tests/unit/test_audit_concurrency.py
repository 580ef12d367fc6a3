"""Appends from several processes interleave into one unbroken chain."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from lantai.services.audit import AuditLog


def _append_many(journal: str, who: str, n: int) -> None:
    log = AuditLog(Path(journal), None, fsync=False)
    for i in range(n):
        log.append(who, "test.append", str(i))


def test_concurrent_appends_keep_the_chain(tmp_path: Path) -> None:
    journal = tmp_path / "audit" / "chain.jsonl"
    procs = [multiprocessing.Process(target=_append_many, args=(str(journal), f"p{k}", 40)) for k in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    report = AuditLog(journal, None).verify()
    assert report.ok, report.problems
    assert report.entries == 120
