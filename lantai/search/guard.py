"""Keep a broken or missing search index from ever blocking the caller's write.

Other archive systems stop ingest when the search engine is down; here the index is derived
data, so an index write that fails is rolled back to a savepoint (the caller's transaction —
the catalogue row — goes on), the index is marked stale, and ``lantai search reindex`` repairs
it later. When even the stale mark cannot be written (the state table is gone, the database
refuses), a marker file records it instead.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable
from pathlib import Path

from sqlalchemy import Connection, Engine

from lantai.search.index import Progress, SearchIndex
from lantai.search.model import IndexEntry

Lookup = Callable[[list[str]], Iterable[IndexEntry]]  # current entries of these record ids (None: deleted)

log = logging.getLogger(__name__)


class GuardedIndex:
    """The write side of a :class:`SearchIndex` for ingest and metadata corrections."""

    def __init__(self, index: SearchIndex, stale_file: Path | None = None) -> None:
        self.index = index
        self.stale_file = stale_file

    def upsert(self, conn: Connection, entries: Iterable[IndexEntry]) -> bool:
        """Index ``entries``; False (and the index marked stale) when that failed."""
        items = list(entries)
        return self._attempt(conn, f"upsert {len(items)}", lambda: self.index.upsert(conn, items),
                             [e.record_id for e in items])

    def delete(self, conn: Connection, record_ids: Iterable[str]) -> bool:
        ids = list(record_ids)
        return self._attempt(conn, f"delete {len(ids)}", lambda: self.index.delete(conn, ids), ids)

    def is_stale(self, conn: Connection) -> bool:
        return self.stale_reason(conn) is not None

    def stale_reason(self, conn: Connection) -> str | None:
        """Why the index needs a reindex — the database's record, else the stale file's (written
        when the database refused it) — or None when it is current."""
        reason = self.index.stale_reason(conn)
        if reason is None and self.stale_file is not None and self.stale_file.exists():
            return self.stale_file.read_text("utf-8").strip() or "marked stale"
        return reason

    def ensure_schema(self, conn: Connection) -> bool:
        """Create the index tables; False (index marked stale) when that failed."""
        return self._attempt(conn, "ensure_schema", lambda: self.index.ensure_schema(conn))

    def reindex(self, conn: Connection, entries: Iterable[IndexEntry], progress: Progress | None = None,
                workers: int = 1) -> int:
        """Rebuild (errors propagate: this is the repair, the caller must know it failed)."""
        count = self.index.reindex(conn, entries, progress, workers)
        if self.stale_file is not None:
            self.stale_file.unlink(missing_ok=True)
        return count

    def rebuild(self, engine: Engine, entries: Iterable[IndexEntry], lookup: Lookup,
                progress: Progress | None = None, workers: int = 1) -> int:
        """Rebuild without blocking writers (lantai.search.online); errors propagate."""
        from lantai.search.online import rebuild

        count = rebuild(engine, self.index, entries, lookup, progress, workers)
        if self.stale_file is not None:
            self.stale_file.unlink(missing_ok=True)
        return count

    def _attempt(self, conn: Connection, what: str, operation: Callable[[], object],
                 record_ids: list[str] | None = None) -> bool:
        if conn.dialect.name == "sqlite":
            from lantai.search.sqlite_fts import ensure_transaction

            ensure_transaction(conn)  # else releasing the savepoint would commit the caller's work
        try:
            with conn.begin_nested():
                operation()
            return True
        except Exception as exc:  # any failure of a derived index must not stop the archive
            log.warning("search index %s failed, index marked stale: %s", what, exc)
            self._mark_stale(conn, f"{what} failed: {type(exc).__name__}: {exc}"[:500])
            self._note_changes(conn, record_ids or [])
            return False

    def _note_changes(self, conn: Connection, record_ids: list[str]) -> None:
        """Tell a running rebuild (lantai.search.online) about a change the live index refused —
        a rebuild is how a stale index gets repaired, and it must not miss this item."""
        note = getattr(self.index, "note_changes", None)
        if note is None or not record_ids:
            return
        try:
            with conn.begin_nested():
                note(conn, record_ids)
        except Exception as exc:
            log.warning("cannot log search index changes for a running rebuild: %s", exc)

    def _mark_stale(self, conn: Connection, reason: str) -> None:
        try:
            with conn.begin_nested():
                self.index.mark_stale(conn, reason)
            return
        except Exception as exc:
            log.warning("cannot record stale search index in the database: %s", exc)
        if self.stale_file is not None:
            try:
                self.stale_file.parent.mkdir(parents=True, exist_ok=True)
                self.stale_file.write_text(f"{dt.datetime.now(dt.UTC).isoformat()} {reason}\n", "utf-8")
            except OSError as exc:
                log.error("cannot record stale search index in %s: %s", self.stale_file, exc)
