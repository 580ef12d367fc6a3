"""The one interface every search backend implements, and the way to pick one.

Every method takes the caller's SQLAlchemy ``Connection``: ingest writes the catalogue row and
the index row in one unit of work, and a rebuild can run inside one transaction. The index is
derived data: :meth:`SearchIndex.reindex` recreates it from entries the caller reads from the
store, and :class:`lantai.search.guard.GuardedIndex` keeps a broken index from blocking writes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from sqlalchemy import Connection

from lantai.errors import BadInput
from lantai.search.model import IndexEntry, SearchQuery, SearchResult
from lantai.search.tokenize import Tokenizer

Progress = Callable[[int], None]  # called with the number of entries just written


@runtime_checkable
class SearchIndex(Protocol):
    backend: str

    def ensure_schema(self, conn: Connection) -> None:
        """Create the index tables if missing (idempotent)."""

    def upsert(self, conn: Connection, entries: Iterable[IndexEntry]) -> int:
        """Add or replace entries by record_id; returns how many were written."""

    def delete(self, conn: Connection, record_ids: Iterable[str]) -> int:
        """Remove entries; unknown ids are ignored. Returns how many were removed."""

    def search(self, conn: Connection, query: SearchQuery) -> SearchResult:
        """Run a query; items above ``query.max_clearance`` never appear in anything returned."""

    def mark_stale(self, conn: Connection, reason: str) -> None:
        """Record that the index misses changes and needs a reindex."""

    def is_stale(self, conn: Connection) -> bool:
        """True when marked stale, missing, or built with a different tokenizer."""

    def clear(self, conn: Connection) -> None:
        """Drop every entry (the tables stay)."""

    def reindex(self, conn: Connection, entries: Iterable[IndexEntry], progress: Progress | None = None,
                workers: int = 1) -> int:
        """Replace the whole index with ``entries`` in bulk; clears the stale mark. Returns the count.

        ``workers`` > 1 cuts the text in that many processes (lantai.search.bulk).
        """


def open_index(conn_or_dialect: Connection | str, tokenizer: Tokenizer | None = None, *,
               count_window: int | None = None) -> SearchIndex:
    """The backend for a connection's (or engine's, or dialect name's) database.

    ``count_window``: most matches a search counts and computes facets over before it reports
    "at least N" (the ``search_count_window`` setting); None keeps the backend's default.
    """
    name = conn_or_dialect if isinstance(conn_or_dialect, str) else conn_or_dialect.dialect.name
    if name == "sqlite":
        from lantai.search.sqlite_fts import SqliteIndex

        return SqliteIndex(tokenizer, count_window=count_window)
    if name == "postgresql":
        from lantai.search.postgres_fts import PostgresIndex

        return PostgresIndex(tokenizer, count_window=count_window)
    raise BadInput(f"不支持的检索数据库 {name}", f"no search backend for database {name}")
