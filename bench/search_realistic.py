"""``bench_search.py --realistic N``: index entries of real 公文 instead of synthetic text.

``N`` items are made by ``lantai demo generate`` (sealed OFD and PDF/A 正本, DOCX 定稿, attachments,
DA/T 46 metadata) and ingested the way users do — ``lantai ingest`` with the default check profile
and a private clamd — into a throwaway SQLite archive. Their catalogue entries with the text the
ingest extracted (``services.search_index.iter_entries``, what ``lantai search reindex`` reads) are
the corpus. To reach the bench's size the corpus is repeated: each copy gets its own record id and
archival code and is dated in another year (2015–2025, as the synthetic entries and the query
mix's 年度 filters are), so the text, titles, 文号 and organs stay those of the real items.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

from ingest_realistic import generate_batch

from lantai.search import IndexEntry

YEARS = range(2015, 2026)


def ingested_entries(items: int, seed: int = 2026) -> list[IndexEntry]:
    """Catalogue entries of ``items`` generated 公文 ingested with the default profile."""
    from lantai.checks.clamav import ClamdServer
    from lantai.services.archive import open_archive
    from lantai.services.search_index import iter_entries
    from lantai.settings import load_settings

    work = Path(tempfile.mkdtemp(prefix="bench-search-real-", dir=os.environ.get("BENCH_TMP")))
    try:
        batch = generate_batch(work / "batch", items, seed)
        home = work / "home"
        with ClamdServer() as server:
            env = {**os.environ, "LANTAI_HOME": str(home), "LANTAI_INGEST_PROFILE": "default",
                   "LANTAI_CLAMD_SOCKET": server.socket}
            env.pop("LANTAI_DATABASE_URL", None)
            for command in (["init"], ["ingest", str(batch)]):
                subprocess.run([sys.executable, "-m", "lantai.cli.main", *command], env=env, cwd=work, check=True,
                               stdout=subprocess.DEVNULL)
        archive = open_archive(load_settings(home=home))
        try:
            entries = list(iter_entries(archive))
        finally:
            archive.close()
        if len(entries) != items:
            raise SystemExit(f"{len(entries)} of {items} generated items were archived")
        return entries
    finally:
        shutil.rmtree(work, ignore_errors=True)


def repeated(base: list[IndexEntry], count: int) -> Iterator[IndexEntry]:
    """``count`` entries: ``base`` again and again, each copy in the next year (see the module)."""
    for i in range(count):
        entry, copy = base[i % len(base)], i // len(base)
        year = YEARS[copy % len(YEARS)]
        yield replace(entry, record_id=f"{entry.record_id}-{copy}", year=year,
                      date=f"{year}{entry.date[4:]}" if entry.date else entry.date,
                      archival_code=f"{entry.archival_code}-{copy}")
