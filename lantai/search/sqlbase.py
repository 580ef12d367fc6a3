"""Search, count, facets, pages and the stale mark, shared by the SQL backends.

A backend says how to match (FTS5 MATCH or tsvector @@), how to score, and where rows live;
this module writes the same queries around those fragments, so ordering, pagination, facets
and the security filter behave identically on SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from typing import Any

from sqlalchemy import Connection, text
from sqlalchemy.exc import SQLAlchemyError

from lantai.errors import BadInput
from lantai.search import cursor as cursors
from lantai.search.model import FACET_FIELDS, MAX_RESULT_WINDOW, SORTS, Hit, SearchQuery, SearchResult
from lantai.search.plan import Dialect, Plan, plan_query
from lantai.search.snippets import highlight, snippet, term_pattern
from lantai.search.tokenize import Tokenizer, default_tokenizer

STATE_TABLE = "search_state"
CHANGES_TABLE = "search_changes"  # record ids written while a rebuild runs (lantai.search.online)
REBUILD_KEY = "rebuild"  # search_state key present while a rebuild runs
GRAMS_CUT_KEY = "grams_cut"  # search_state key present once a row was written with part of its gram tags
SHADOW = "_new"  # suffix of the tables a rebuild fills
OLD = "_old"  # suffix of the replaced tables until they are dropped
DOC_COLUMNS = ("record_id", "title", "document_number", "author", "date", "year", "retention", "organisation",
               "document_type", "security_classification", "archival_code", "fonds")
MAX_LIMIT = 500


class SqlIndexBase:
    """Everything but the DDL, the writes and the dialect."""

    backend = "sql"
    dialect: Dialect
    row_id = "d.rowid"  # expression of the row id in queries
    # What the backend stores for an entry. An index built with another layout is stale (its rows
    # lack what queries now read) until a reindex; "1" is every index built before layouts had
    # numbers.
    layout = "1"
    grams_layout: str | None = None  # the first layout whose rows hold gram tags (prepare.gram_tag)

    def __init__(self, tokenizer: Tokenizer | None = None, count_window: int | None = None) -> None:
        self._tokenizer = tokenizer
        if count_window is not None:  # a smaller window bounds the others too
            self.count_window = max(1, count_window)
            self.check_window = min(self.check_window, self.count_window)
            self.rank_window = min(self.rank_window, self.count_window)

    @property
    def tokenizer(self) -> Tokenizer:
        """Built on first use: loading the dictionaries takes a fifth of a second, and every
        command that opens the archive builds an index object only to ensure its schema."""
        if self._tokenizer is None:
            self._tokenizer = default_tokenizer()
        return self._tokenizer

    # --- to be provided by a backend -------------------------------------------------------------
    def _from(self, joined: bool) -> str:
        raise NotImplementedError

    def _match_sql(self, param: str) -> str:
        raise NotImplementedError

    def _score_sql(self, param: str | None) -> str:
        raise NotImplementedError

    def _rid_sql(self, joined: bool) -> str:
        raise NotImplementedError

    def _sort_sql(self, sort: str, match_param: str | None) -> str:
        if sort == "relevance":
            return self._score_sql(match_param)
        return "d.archival_code" if sort == "archival_code" else "d.date"

    # --- search ----------------------------------------------------------------------------------
    # Ranking, counting and facets cost time per matching row; a word found in most of a million
    # items would take seconds. So one pass over the index collects the ids of the newest
    # ``count_window`` matches (row ids grow with indexing), newest first: their number is the
    # total (reported as "at least" when the window is full), facets count them, relevance ranks
    # the newest ``rank_window`` of them. SearchQuery.exact_counts lifts the window (statistics);
    # selective queries are always exact. Slow exact checks (phrases, date ranges) run in that
    # one pass only, over a smaller window (``check_window``); later steps reuse the ids.
    # Sorted by relevance, the counted matches past the ranked ones follow them newest first,
    # so every counted match can be paged to.
    rank_window = 2_000
    count_window = 5_000
    check_window = 1_000  # count window when every match needs an exact check in the stored text

    def _ids_sql(self, rid: str, lookup: bool = True) -> str:
        """SQL testing ``rid`` against the id list bound as ``:ids``.

        ``lookup``: fetch those rows by id; else only filter rows the full-text match produces.
        """
        raise NotImplementedError

    def _ids_param(self, ids: list[int]) -> object:
        raise NotImplementedError

    def search(self, conn: Connection, query: SearchQuery) -> SearchResult:
        started = time.perf_counter()
        if query.sort not in SORTS:
            raise BadInput(f"不支持的排序方式 {query.sort}", f"unknown sort {query.sort!r}")
        limit = max(1, min(query.limit, MAX_LIMIT))
        _check_offset(query, limit)
        state = self._search_state(conn)  # read once: the plan and the result's stale flag
        plan = plan_query(query, self.tokenizer, self.dialect, self._holds_grams(state), GRAMS_CUT_KEY in state)
        sort = query.sort if plan.has_text or query.sort != "relevance" else "-date"
        cap = None if query.exact_counts else self.check_window if plan.checks_text else self.count_window
        ids, counted = self._match(conn, plan, cap, query.facets)
        exact = cap is None or len(ids) <= cap
        ids = ids if exact else ids[:cap]
        after, floor = self._position(sort, query.cursor, ids)
        rows = self._page(conn, plan, sort, query.offset + limit, after, floor, ids, exact) if ids else []
        rows, next_cursor = self._cut(rows, sort, floor, query.offset, limit)
        result = SearchResult(
            hits=self._hits(conn, rows, plan, query.snippet_chars), total=len(ids), total_exact=exact,
            next_cursor=next_cursor, facets=self._facets(conn, ids, counted) if query.facets else {},
            stale=self._stale_reason(state) is not None,
        )
        result.elapsed_ms = (time.perf_counter() - started) * 1000
        return result

    def _position(self, sort: str, cursor: str | None,
                  ids: list[int]) -> tuple[tuple[Any, int] | None, int | None]:
        """(sort key and row id to continue after, lowest row id ranked) for this page.

        Relevance cursors carry [score, lowest row id ranked]; past the ranked rows (see
        :meth:`_relevance_page`) the score is null.
        """
        after = cursors.decode(cursor, sort) if cursor is not None else None
        if sort != "relevance":
            return after, None
        if after is not None:
            key, row_id = after
            if not (isinstance(key, list) and len(key) == 2 and (key[1] is None or isinstance(key[1], int))):
                raise BadInput("分页游标无效", "invalid page cursor")
            return (key[0], row_id), key[1]
        return None, ids[self.rank_window - 1] if len(ids) > self.rank_window else None

    @staticmethod
    def _cut(rows: Sequence[Any], sort: str, floor: int | None, offset: int,
             limit: int) -> tuple[Sequence[Any], str | None]:
        """The page out of the first ``offset + limit (+ 1)`` rows, and the cursor after it."""
        end = offset + limit
        next_cursor = None
        if len(rows) > end:
            last = rows[end - 1]
            next_cursor = cursors.encode(sort, [last[2], floor] if sort == "relevance" else last[2], last[0])
        return rows[offset:end], next_cursor

    def _where(self, plan: Plan, joined: bool) -> tuple[list[str], dict[str, Any], str | None]:
        params = dict(plan.params.values)
        # column conditions first: PostgreSQL tests quals in this order, and the match reads
        # the row's TOASTed tsvector
        where: list[str] = [plan.predicate] if plan.predicate is not None else []
        match_param = None
        if plan.match is not None:
            match_param = ":m"
            params["m"] = plan.match
            where.append(self._match_sql(match_param))
        return where or ["1=1"], params, match_param

    def _match_ids(self, conn: Connection, plan: Plan, cap: int | None) -> list[int]:
        """Row ids of visible matches, newest first, at most ``cap + 1`` of them."""
        joined = plan.predicate is not None
        where, params, _ = self._where(plan, joined)
        rid = self._rid_sql(joined)
        sql = f"SELECT {rid} FROM {self._from(joined)} WHERE {' AND '.join(where)} ORDER BY {rid} DESC"
        if cap is not None:
            sql += " LIMIT :cap"
            params["cap"] = cap + 1
        return list(conn.execute(text(sql), params).scalars())

    def _page(self, conn: Connection, plan: Plan, sort: str, limit: int, after: tuple[Any, int] | None,
              floor: int | None, ids: list[int], exact: bool) -> Sequence[Any]:
        """Up to ``limit + 1`` rows (row id, score, sort key) after ``after``, in ``sort`` order."""
        if sort == "relevance":
            return self._relevance_page(conn, plan, limit, after, floor, ids)
        desc = sort == "-date"
        key = self._sort_sql(sort, None)
        if exact:  # every match is in ids: sort them without asking the index again
            where, params = [self._ids_sql(self.row_id)], {"ids": self._ids_param(ids)}
            source, rid = "search_docs d", self.row_id
        else:
            where, params, _ = self._where(plan, True)
            source, rid = self._from(True), self._rid_sql(True)
        return self._ordered(conn, source, rid, key, where, params, after, desc, limit)

    def _relevance_page(self, conn: Connection, plan: Plan, limit: int, after: tuple[Any, int] | None,
                        floor: int | None, ids: list[int]) -> Sequence[Any]:
        """The ranked rows (row id ≥ ``floor``) best first, then the older counted matches newest
        first, unscored: without them a query matching more than the rank window paged out
        there while its total counted more."""
        if after is not None and after[0] is None:  # a cursor past the ranked rows
            rows, below = [], after[1]
        else:
            rows, below = list(self._ranked_page(conn, plan, limit, after, floor, ids)), floor
        if len(rows) > limit or floor is None:
            return rows
        older = [i for i in ids if i < below][: limit + 1 - len(rows)]  # ids are newest first
        return rows + [(i, None, None) for i in older]

    def _ranked_page(self, conn: Connection, plan: Plan, limit: int, after: tuple[Any, int] | None,
                     floor: int | None, ids: list[int]) -> Sequence[Any]:
        params: dict[str, Any] = {}
        where = []
        if plan.match is not None:
            params["m"] = plan.match
            where.append(self._match_sql(":m"))
        joined = plan.match is None
        rid = self._rid_sql(joined)
        if plan.predicate is not None or plan.match is None:
            where.append(self._ids_sql(rid, lookup=plan.match is None))
            params["ids"] = self._ids_param(ids)
        if floor is not None:
            where.append(f"{rid} >= :floor")
            params["floor"] = floor
        key = self._sort_sql("relevance", ":m" if plan.has_text and plan.match is not None else None)
        return self._ordered(conn, self._from(joined), rid, key, where, params, after, False, limit)

    def _ordered(self, conn: Connection, source: str, rid: str, key: str, where: list[str],
                 params: dict[str, Any], after: tuple[Any, int] | None, desc: bool, limit: int) -> Sequence[Any]:
        where = list(where)
        if after is not None:
            params["ck"], params["cr"] = after
            op = "<" if desc else ">"
            where.append(f"({key} {op} :ck OR ({key} = :ck AND {rid} {op} :cr))")
        direction = "DESC" if desc else "ASC"
        params["lim"] = limit + 1
        sql = (f"SELECT {rid} AS rid, {key} AS score, {key} AS sort_key FROM {source} "
               f"WHERE {' AND '.join(where) or '1=1'} ORDER BY sort_key {direction}, rid {direction} LIMIT :lim")
        return conn.execute(text(sql), params).all()

    def _match(self, conn: Connection, plan: Plan, cap: int | None,
               facets: bool) -> tuple[list[int], list[Sequence[Any]] | None]:
        """Row ids of the newest ``cap + 1`` visible matches, newest first, and — when ``facets``
        and the backend has them at hand — facet rows ``(*FACET_FIELDS, count)`` of the first
        ``cap`` of them (None: :meth:`_facets` groups the ids itself)."""
        matched = self._match_facet_rows(conn, plan, cap) if facets else None
        if matched is None:
            return self._match_ids(conn, plan, cap), None
        kept = matched if cap is None else matched[:cap]
        return [r[0] for r in matched], [(*r[1:], 1) for r in kept]

    def _match_facet_rows(self, conn: Connection, plan: Plan, cap: int | None) -> list[Sequence[Any]] | None:
        """(row id, *FACET_FIELDS) of the matches, as :meth:`_match_ids` orders and bounds them,
        when the backend reads them as cheaply as the ids; None otherwise."""
        return None

    def _facets(self, conn: Connection, ids: list[int],
                counted: list[Sequence[Any]] | None = None) -> dict[str, list[tuple[str, int]]]:
        counters: dict[str, Counter[str]] = {f: Counter() for f in FACET_FIELDS}
        rows: Iterable[Sequence[Any]] = counted if counted is not None else self._facet_rows(conn, ids) if ids else ()
        for row in rows:
            for name, value in zip(FACET_FIELDS, row[:-1], strict=True):
                if value not in (None, ""):
                    counters[name][str(value)] += row[-1]
        return {name: sorted(c.items(), key=lambda kv: (-kv[1], kv[0])) for name, c in counters.items()}

    def _facet_rows(self, conn: Connection, ids: list[int]) -> Iterable[Sequence[Any]]:
        """(year, retention, organisation, document_type, security_classification, fonds, count) rows."""
        columns = ", ".join(f"d.{f}" for f in FACET_FIELDS)
        sql = f"SELECT {columns}, count(*) FROM search_docs d WHERE {self._ids_sql(self.row_id)} GROUP BY {columns}"
        return conn.execute(text(sql), {"ids": self._ids_param(ids)}).all()

    body_source = "search_docs d"  # where a hit's text is read from, for snippets
    body_column = "d.body"

    def _hits(self, conn: Connection, rows: Sequence[Any], plan: Plan, width: int) -> list[Hit]:
        if not rows:
            return []
        ids = [r[0] for r in rows]
        sql = (f"SELECT {self.row_id}, {', '.join('d.' + c for c in DOC_COLUMNS)}, {self.body_column} "
               f"FROM {self.body_source} WHERE {self._ids_sql(self.row_id)}")
        docs = {r[0]: r for r in conn.execute(text(sql), {"ids": self._ids_param(ids)})}
        pattern = term_pattern(plan.highlight)
        hits = []
        for row in rows:
            doc = docs[row[0]]
            fields = dict(zip(DOC_COLUMNS, doc[1:-1], strict=True))
            text_, spans = snippet(doc[-1] or "", pattern, width)
            score = float(row[1]) if isinstance(row[1], int | float) else 0.0
            hits.append(Hit(**fields, score=0.0 - score + 0.0, snippet=text_, snippet_highlights=spans,
                            title_highlights=highlight(fields["title"], pattern)))
        return hits

    # --- tables of a rebuild ---------------------------------------------------------------------
    # An index object writes the live tables; its shadow() writes the same tables with SHADOW
    # appended to their names, which lantai.search.online fills and then swaps in.
    suffix = ""
    renamed = re.compile(r"\b(search_docs)\b")  # names a rebuild gives the suffix to

    def _t(self, sql: str) -> str:
        """``sql`` with this object's tables (see ``renamed``) named with its ``suffix``."""
        return self.renamed.sub(lambda m: m.group(1) + self.suffix, sql) if self.suffix else sql

    def _changes_ddl(self) -> str:
        return f"CREATE TABLE IF NOT EXISTS {CHANGES_TABLE} (record_id VARCHAR(128) PRIMARY KEY)"

    def rebuilding(self, conn: Connection) -> bool:
        """Whether a rebuild is filling shadow tables (changes must then be logged)."""
        return conn.execute(text(f"SELECT 1 FROM {STATE_TABLE} WHERE key = :k"), {"k": REBUILD_KEY}).first() is not None

    def note_changes(self, conn: Connection, record_ids: list[str]) -> None:
        """Log ``record_ids`` for the running rebuild to catch up; nothing when none runs."""
        if self.suffix or not record_ids or not self.rebuilding(conn):
            return
        self._log_changes(conn, record_ids)

    def _log_changes(self, conn: Connection, record_ids: list[str]) -> None:
        raise NotImplementedError

    def take_changes(self, conn: Connection, limit: int | None = None) -> list[str]:
        """Remove and return (up to ``limit``) logged record ids.

        One DELETE … RETURNING: on PostgreSQL a writer logging an id again meanwhile waits for
        it (its upsert then inserts the id anew) instead of finding it still there and adding
        nothing, which would lose its change.
        """
        pick = f"SELECT record_id FROM {CHANGES_TABLE}" + (f" LIMIT {int(limit)}" if limit else "")
        return list(conn.execute(text(f"DELETE FROM {CHANGES_TABLE} WHERE record_id IN ({pick}) "
                                      "RETURNING record_id")).scalars())

    def _forget_rebuild(self, conn: Connection) -> None:
        """Drop the marker and the change log of a rebuild (done, or replaced by a bulk reindex)."""
        conn.execute(text(f"DELETE FROM {STATE_TABLE} WHERE key = :k"), {"k": REBUILD_KEY})
        conn.execute(text(f"DELETE FROM {CHANGES_TABLE}"))

    # --- state -----------------------------------------------------------------------------------
    def _state_ddl(self) -> str:
        return f"CREATE TABLE IF NOT EXISTS {STATE_TABLE} (key VARCHAR(32) PRIMARY KEY, value TEXT NOT NULL)"

    def _set_state(self, conn: Connection, key: str, value: str) -> None:
        conn.execute(text(f"DELETE FROM {STATE_TABLE} WHERE key = :k"), {"k": key})
        conn.execute(text(f"INSERT INTO {STATE_TABLE} (key, value) VALUES (:k, :v)"), {"k": key, "v": value})

    def _state(self, conn: Connection) -> dict[str, str]:
        return dict(conn.execute(text(f"SELECT key, value FROM {STATE_TABLE}")).all())

    def _search_state(self, conn: Connection) -> dict[str, str]:
        """The index state as a search sees it (a backend may have read it with other things)."""
        return self._state(conn)

    def _holds_grams(self, state: dict[str, str]) -> bool:
        """Whether the index's rows hold gram tags: built with the layout that added them or a
        later one. A phrase asks for its character pairs only then; before a reindex, an index
        of an older layout still answers it as before (words, then the stored text)."""
        return self.grams_layout is not None and layout_number(state) >= int(self.grams_layout)

    def mark_stale(self, conn: Connection, reason: str) -> None:
        self._set_state(conn, "stale", f"{dt.datetime.now(dt.UTC).isoformat(timespec='seconds')} {reason}")

    def stale_reason(self, conn: Connection) -> str | None:
        """Why the index needs a reindex, or None when it is current."""
        try:
            with conn.begin_nested():
                state = self._state(conn)
        except SQLAlchemyError:
            return "search index is missing"
        return self._stale_reason(state)

    def _stale_reason(self, state: dict[str, str]) -> str | None:
        if "stale" in state:
            return state["stale"]
        if state.get("tokenizer") != self.tokenizer.fingerprint:
            return f"built with tokenizer {state.get('tokenizer')}, now {self.tokenizer.fingerprint}"
        if state.get("layout", "1") != self.layout:
            return f"built with index layout {state.get('layout', '1')}, now {self.layout}"
        return None

    def is_stale(self, conn: Connection) -> bool:
        return self.stale_reason(conn) is not None

    def _mark_current(self, conn: Connection) -> None:
        conn.execute(text(f"DELETE FROM {STATE_TABLE} WHERE key = 'stale'"))
        self._set_state(conn, "tokenizer", self.tokenizer.fingerprint)
        self._set_state(conn, "layout", self.layout)


def layout_number(state: dict[str, str]) -> int:
    """The layout an index was built with, as a number ("1": before layouts had numbers)."""
    value = state.get("layout", "1")
    return int(value) if value.isdigit() else 0


def _check_offset(query: SearchQuery, limit: int) -> None:
    if query.offset < 0:
        raise BadInput("起始位置不能为负数", "offset must not be negative")
    if query.offset and query.cursor is not None:
        raise BadInput("分页游标与起始位置不能同时使用", "give a page cursor or an offset, not both")
    if query.offset + limit > MAX_RESULT_WINDOW:
        raise BadInput(f"检索结果只能逐页翻阅前 {MAX_RESULT_WINDOW} 条；请增加检索词或条件缩小范围，或用分页游标继续",
                       f"only the first {MAX_RESULT_WINDOW} hits can be reached by offset (offset + limit); "
                       "narrow the query or continue with the page cursor",
                       offset=query.offset, limit=limit, max_result_window=MAX_RESULT_WINDOW)
