"""Rebuild the whole index while ingest, corrections and searches go on.

A bulk :meth:`SearchIndex.reindex` replaces the index inside the caller's transaction: on SQLite
that held the catalogue's write lock for the whole build (about 7 minutes at 1,000,000 items),
and an ingest meanwhile gave up after the 60 s busy timeout; on PostgreSQL its TRUNCATE locked
out searches too. :func:`rebuild` instead

1. marks the index as being rebuilt and creates empty *shadow* tables (the same tables, named
   with :data:`~lantai.search.sqlbase.SHADOW`), in one short transaction that every earlier
   writer has committed before (so the entries read next include their work);
2. fills the shadow tables from ``entries`` — on SQLite one transaction per chunk, so a writer
   waits for one chunk at most; on PostgreSQL one COPY into a table nobody else uses — and builds
   their indexes (SQLite: an incremental FTS5 merge, step by step);
3. meanwhile every upsert and delete of the live index also logs its record ids in
   ``search_changes`` (see ``note_changes``); the rebuild takes them in batches and writes their
   current entries, from ``lookup``, into the shadow tables (ids ``lookup`` does not return were
   deleted);
4. holding the write lock (SQLite ``BEGIN IMMEDIATE``; PostgreSQL ``LOCK … EXCLUSIVE MODE``,
   searches go on), applies the last logged changes and renames the shadow tables into place,
   in one short transaction; the replaced tables are dropped afterwards, in short steps.

Killed at any point before the swap, the live index is untouched and keeps working (its writers
keep logging ids until the next rebuild, which drops the shadow tables and starts again);
killed after it, the next rebuild drops the leftover replaced tables.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from typing import Any

from sqlalchemy import Connection, Engine

from lantai.search.index import Progress
from lantai.search.model import IndexEntry

log = logging.getLogger(__name__)

Lookup = Callable[[list[str]], Iterable[IndexEntry]]  # current entries of these record ids
CATCH_UP_BATCH = 500  # logged changes applied per transaction while the rebuild catches up
SWAP_BACKLOG = 200  # catch up until at most this many changes are left for the swap transaction
CATCH_UP_ROUNDS = 50  # then swap anyway (writers faster than the catch-up: the swap applies the rest)


def rebuild(engine: Engine, index: Any, entries: Iterable[IndexEntry], lookup: Lookup,
            progress: Progress | None = None, workers: int = 1) -> int:
    """Replace ``index`` (a backend from :func:`lantai.search.open_index`) with ``entries``
    without blocking its writers; returns how many entries were loaded.

    ``entries`` must be read after this function starts (a generator is): changes committed
    before the rebuild's mark are expected in them, later ones are caught up from the log.
    """
    index.start_rebuild(engine)
    try:
        count = index.load_shadow(engine, entries, progress, workers)
        index.finish_shadow(engine)
        shadow = index.shadow()
        for _ in range(CATCH_UP_ROUNDS):
            with engine.begin() as conn:
                index.begin_write(conn)
                ids = index.take_changes(conn, CATCH_UP_BATCH)
                _apply(conn, shadow, ids, lookup)
            if len(ids) < SWAP_BACKLOG:
                break
        with engine.begin() as conn:
            index.lock_for_swap(conn)
            _apply(conn, shadow, index.take_changes(conn), lookup)
            index.swap(conn)
    except BaseException:
        _abandon(engine, index)
        raise
    index.finish_rebuild(engine)
    return int(count)


def _apply(conn: Connection, shadow: Any, record_ids: list[str], lookup: Lookup) -> None:
    """Write the current entries of ``record_ids`` into the shadow tables; delete the others."""
    if not record_ids:
        return
    current = list(lookup(record_ids))
    found = {e.record_id for e in current}
    shadow.delete(conn, [i for i in record_ids if i not in found])
    shadow.upsert(conn, current)


def _abandon(engine: Engine, index: Any) -> None:
    """Stop logging changes after a failed rebuild (best effort: the next rebuild cleans up too)."""
    try:
        with engine.begin() as conn:
            index.begin_write(conn)
            index._forget_rebuild(conn)
        index.drop_shadow(engine)
    except Exception as exc:  # the original error matters more
        log.warning("cannot clean up after a failed search rebuild: %s", exc)
