"""SQLite FTS5 backend: the embedded default.

Two tables in the catalogue's database: ``search_docs`` holds what a hit shows (metadata and the
text, for snippets and exact phrase checks) and ``search_fts`` is an FTS5 table over the
pre-cut tokens (unicode61 only splits on the spaces we put in). Filters and the clearance
restriction are tokens of a ``tags`` column, so the whole query, security filter included, is
answered by the full-text index without touching other tables.

Measured on 10,000 synthetic entries (bench/bench_search.py): ``detail=full`` ranks 9,800
matches by bm25 in 21 ms, ``detail=column`` in 460 ms and ``detail=none`` in 590 ms (without
positions FTS5 re-reads and re-tokenises each row to rank it), so positions are kept. The
table is contentless (``content=''``): the token text would cost about 4 KB per entry and is
never read back; deleting an entry re-creates its tokens from ``search_docs``, which is safe
because writes are refused (index marked stale) when the tokenizer differs from the one the
index was built with.

Ranking is field-weighted like bm25 — 题名 and 文号 10, 责任者 4, anywhere 1, each times the
term's rarity — but computed here over the ranked window instead of by FTS5's bm25(): bm25()
first counts every document holding each term in the whole index (clearance tags included),
which took 20 ms at 100,000 entries for a window of 2,000 and grows with the index, while
asking the index which window rows hold a term in a field costs well under a millisecond.
Term frequency inside the body is not used (a contentless index cannot report it cheaply).
Which rows hold a term in 题名, 文号 or 责任者 is asked of the *field tags* (prepare.field_tag,
in the tags column), whose doclists hold only those fields: asking ``title : "社区"`` reads
every row holding 社区 anywhere, 40 % of a million for a common word, which took 20 ms per
term when the ranked rows are spread over the whole index (a place name found in 1,500
items). Words asked in one field (题名:通知) are matched by the field tags too.

Layout 2 (the field tags, indexes on date and 档号 for sorted pages of broad queries): an
index built before is reported stale and refuses writes until ``lantai search reindex``.
Layout 3 adds gram tags to the tags column (prepare.gram_tag: pairs of adjacent Chinese
characters not already tokens), which quoted phrases ask for (see postgres_fts); an index of
layout 2 answers phrases by their words, as before, until it is reindexed.

Measured at 1,000,000 entries (bench/bench_search.py, per query kind): restricting a query
to the visible clearances as "words NOT hidden ranks" instead of "words AND visible ranks"
made a rare two-word query 3x faster (FTS5 tests the hidden ranks' doclists only at the
words' rows instead of merging the visible ranks' doclists, 60-90 % of all rows); facet codes
are read by one join over the window's row ids and counted in Python; broad queries sorted by
date or 档号 walk the sort index and test each row against the match (a few ms) instead of
sorting every match (350 ms).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import math
import re
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from itertools import islice
from typing import Any

from sqlalchemy import Connection, Engine, text

from lantai.errors import StorageError
from lantai.search.bulk import prepared_chunks
from lantai.search.index import Progress
from lantai.search.model import FACET_FIELDS, IndexEntry
from lantai.search.plan import STORED_RANKS, Pair, Params, Plan
from lantai.search.prepare import (
    GRAM,
    GRAMS_CUT,
    PreparedDoc,
    clearance_tag,
    field_tag,
    field_tags,
    gram_tag,
    prepare,
    tag,
)
from lantai.search.sqlbase import CHANGES_TABLE, OLD, REBUILD_KEY, SHADOW, STATE_TABLE, SqlIndexBase
from lantai.search.tokenize import Tokenizer, normalize

FTS_COLUMNS = ("title", "docno", "author", "meta", "body", "tags")
TEXT_COLUMNS = "{title docno author meta body}"
FIELD_COLUMNS = {"title": "title", "document_number": "docno", "author": "author"}
SCORED_COLUMNS = {"{title docno}": 10.0, "author": 4.0, "*": 1.0}  # "*": anywhere
SCORED_TAGS = {"{title docno}": ("title", "document_number"), "title": ("title",), "docno": ("document_number",),
               "author": ("author",)}  # scored column → the fields whose field tags answer it
BATCH = 500

DDL = (
    """CREATE TABLE IF NOT EXISTS search_docs (
        rowid INTEGER PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
        document_number TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '',
        year INTEGER, retention TEXT NOT NULL DEFAULT '', organisation TEXT NOT NULL DEFAULT '',
        document_type TEXT NOT NULL DEFAULT '', security_classification TEXT NOT NULL DEFAULT '',
        clearance_rank INTEGER NOT NULL, archival_code TEXT NOT NULL DEFAULT '', fonds TEXT NOT NULL DEFAULT '')""",
    "CREATE TABLE IF NOT EXISTS search_text (rowid INTEGER PRIMARY KEY, body TEXT NOT NULL DEFAULT '')",
    # Facets: each facet value gets a small integer code, and a narrow rowid → codes table is read
    # for the matches (hundreds of rows per page instead of a few): 5x faster than grouping the
    # metadata rows.
    """CREATE TABLE IF NOT EXISTS search_facet_values (code INTEGER PRIMARY KEY, field TEXT NOT NULL,
        value TEXT NOT NULL, UNIQUE (field, value))""",
    """CREATE TABLE IF NOT EXISTS search_facets (rowid INTEGER PRIMARY KEY, year INTEGER, retention INTEGER,
        organisation INTEGER, document_type INTEGER, security_classification INTEGER, fonds INTEGER)""",
    "CREATE VIRTUAL TABLE IF NOT EXISTS search_fts USING fts5(title, docno, author, meta, body, tags, "
    "tokenize = 'unicode61 remove_diacritics 0', content = '')",
)
SORT_INDEXES = (  # pages of broad queries sorted by date or 档号 walk these (dropped during a reindex)
    ("search_docs_date", "CREATE INDEX IF NOT EXISTS search_docs_date ON search_docs (date)"),
    ("search_docs_code", "CREATE INDEX IF NOT EXISTS search_docs_code ON search_docs (archival_code)"),
)
TABLES = ("search_fts", "search_docs", "search_text", "search_facets", "search_facet_values")
MERGE_PAGES = 2000  # FTS5 pages one step of a rebuild's incremental merge writes (a fraction of a second)
DROP_ROWS = 5000  # rows one step of dropping a replaced table deletes
WALK_ROWS = 48  # a sorted walk tests at most this many rows per wanted hit before sorting all matches
INSERT_DOC = ("INSERT INTO search_docs (rowid, record_id, title, document_number, author, date, year, retention, "
              "organisation, document_type, security_classification, clearance_rank, archival_code, fonds) "
              "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
INSERT_TEXT = "INSERT INTO search_text (rowid, body) VALUES (?, ?)"
INSERT_FACET = (f"INSERT INTO search_facets (rowid, {', '.join(FACET_FIELDS)}) "
                f"VALUES (?, {', '.join('?' * len(FACET_FIELDS))})")
INSERT_FTS = "INSERT INTO search_fts (rowid, title, docno, author, meta, body, tags) VALUES (?, ?, ?, ?, ?, ?, ?)"
DELETE_FTS = ("INSERT INTO search_fts (search_fts, rowid, title, docno, author, meta, body, tags) "
              "VALUES ('delete', ?, ?, ?, ?, ?, ?, ?)")
ENTRY_COLUMNS = ("d.record_id", "d.title", "d.document_number", "d.author", "t.body", "d.year", "d.date",
                 "d.retention", "d.organisation", "d.document_type", "d.security_classification",
                 "d.archival_code", "d.fonds")


def ensure_transaction(conn: Connection) -> None:
    """Open the database transaction now, so DDL and savepoints join the caller's unit of work.

    Python's sqlite3 module only sends BEGIN before INSERT/UPDATE/DELETE: a DROP TABLE or a
    SAVEPOINT issued first would run outside any transaction (committed at once, or committing
    the caller's later writes when the savepoint is released).
    """
    raw = conn.connection.dbapi_connection
    if raw is not None and not raw.in_transaction:
        conn.exec_driver_sql("BEGIN")


def _quote(token: str) -> str:
    return '"' + token.replace('"', '""') + '"'


class SqliteDialect:
    """FTS5 query syntax; every token is quoted, so nothing a user types is read as an operator."""

    def term(self, tokens: list[str], field: str | None) -> str:
        if field:  # the field tags: a small doclist, where "title : token" reads the word's whole one
            return "(" + " AND ".join(f"tags : {_quote(field_tag(field, t))}" for t in tokens) + ")"
        return "(" + " AND ".join(f"{TEXT_COLUMNS} : {_quote(t)}" for t in tokens) + ")"

    def gram(self, pair: str) -> str:
        return f"({TEXT_COLUMNS} : {_quote(pair)} OR tags : {_quote(gram_tag(pair))})"

    def grams_cut(self) -> str:
        return f"tags : {_quote(GRAMS_CUT)}"  # never written here: FTS5 rows have no size limit

    def conj(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"

    def disj(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " OR ".join(parts) + ")"

    def and_not(self, positive: str | None, negative: str) -> str | None:
        return None if positive is None else f"({positive} NOT {negative})"

    def matches(self, match: str, params: Params) -> str:
        return f"d.rowid IN (SELECT rowid FROM search_fts WHERE search_fts MATCH {params.add(match)})"

    def phrase(self, text_: str, field: str | None, params: Params) -> str:
        phrase = normalize(text_)
        fold = (lambda c: f"lower({c})") if any("a" <= ch <= "z" for ch in phrase) else (lambda c: c)
        name = params.add(phrase)
        columns = [f"d.{field}"] if field else ["d.title", "d.document_number", "d.author", _BODY]
        return "(" + " OR ".join(f"instr({fold(c)}, {name}) > 0" for c in columns) + ")"

    def filter(self, field: str, value: str, params: Params) -> Pair:
        return f"tags : {_quote(tag(field, value))}", None

    def range(self, field: str, low: str | None, high: str | None, params: Params) -> Pair:
        column = f"d.{field}"
        if field == "year":
            low_v, high_v = (int(v) if v else None for v in (low, high))
            if low_v is not None and high_v is not None and 0 <= high_v - low_v <= 100:
                return self.disj([f"tags : {_quote(tag('year', y))}" for y in range(low_v, high_v + 1)]), None
        else:
            low_v, high_v = low, high
        parts = ([f"{column} >= {params.add(low_v)}"] if low_v is not None else []) + \
                ([f"{column} <= {params.add(high_v)}"] if high_v is not None else [])
        return None, "(" + " AND ".join(parts or ["1=1"]) + ")"

    def clearance(self, match: str | None, visible: list[int], hidden: list[int], params: Params,
                  granted: tuple[str, ...] = ()) -> Pair:
        if granted and hidden:
            # granted items of hidden ranks: the rank is tested on the matching rows (a column
            # test), not in the index; the matches are counted from Plan.split instead (the
            # visible ranks as below, the granted rows by id), this pair serves sorted walks
            every = match if match is not None else _every_rank()
            return every, (f"(d.clearance_rank <= {params.add(max(visible))} OR d.record_id IN "
                           f"(SELECT value FROM json_each({params.add(json.dumps(list(granted)))})))")
        # "words NOT hidden ranks" is 3-5x faster than "words AND visible ranks": FTS5 checks the
        # (smaller) hidden doclists only at the words' rows instead of merging the visible ones.
        if match is None or not hidden:
            return _tags(clearance_tag(r) for r in visible) if match is None else match, None
        return f"({match} NOT {_tags(clearance_tag(r) for r in hidden)})", None


    def granted(self, match: str | None, granted: tuple[str, ...], visible: list[int], params: Params) -> Pair:
        # by row id: FTS5 then tests the match at those rows only, instead of every match's row
        # being joined to test its record id
        return (match if match is not None else _every_rank(),
                f"search_fts.rowid IN (SELECT g.rowid FROM search_docs g WHERE g.record_id IN "
                f"(SELECT value FROM json_each({params.add(json.dumps(list(granted)))})) "
                f"AND g.clearance_rank > {params.add(max(visible))})")


def _every_rank() -> str:
    return _tags(clearance_tag(r) for r in sorted(STORED_RANKS))


def _tags(tags: Iterable[str]) -> str:
    return "tags : (" + " OR ".join(_quote(t) for t in tags) + ")"


_BODY = "(SELECT t.body FROM search_text t WHERE t.rowid = d.rowid)"


class SqliteIndex(SqlIndexBase):
    backend = "sqlite"
    dialect = SqliteDialect()
    row_id = "d.rowid"
    layout = "3"  # field tags in the tags column (2), gram tags there too (3)
    grams_layout = "3"
    renamed = re.compile(r"\b(search_(?:docs|text|facets|facet_values|fts))\b")
    body_source = "search_docs d JOIN search_text t ON t.rowid = d.rowid"
    body_column = "t.body"

    def __init__(self, tokenizer: Tokenizer | None = None, count_window: int | None = None) -> None:
        super().__init__(tokenizer, count_window)
        self._codes: dict[tuple[str, ...], int] | None = None

    def _from(self, joined: bool) -> str:
        return "search_fts JOIN search_docs d ON d.rowid = search_fts.rowid" if joined else "search_fts"

    def _match_sql(self, param: str) -> str:
        return f"search_fts MATCH {param}"

    def _score_sql(self, param: str | None) -> str:
        return "0"  # relevance is scored in _scores

    def _rid_sql(self, joined: bool) -> str:
        return "search_fts.rowid"

    def _ids_sql(self, rid: str, lookup: bool = True) -> str:
        # "+rowid": FTS5 would otherwise re-run the whole match once per listed id
        return f"{'' if lookup else '+'}{rid} IN (SELECT value FROM json_each(:ids))"

    def _ids_param(self, ids: list[int]) -> object:
        return json.dumps(ids)

    def _match_ids(self, conn: Connection, plan: Plan, cap: int | None) -> list[int]:
        """As the base class, read as one JSON array through the driver (see _id_list).

        A plan with grants beyond the clearance is counted as its two halves (Plan.split): the
        visible ranks keep "words NOT hidden ranks" (FTS5 alone), the granted rows are looked up
        by id; their newest ``cap + 1`` together are the plan's (each half returns its newest).
        Asked as one, every match was joined to its row to test its rank: 1.3-1.45x the time.
        """
        if plan.split is not None:
            halves = [dataclasses.replace(plan, match=m, predicate=p, split=None) for m, p in plan.split]
            ids = sorted({i for half in halves for i in self._match_ids(conn, half, cap)}, reverse=True)
            return ids if cap is None else ids[: cap + 1]
        where, params, _ = self._where(plan, plan.predicate is not None)
        source = self._from(plan.predicate is not None)
        sql = f"SELECT search_fts.rowid AS id FROM {source} WHERE {' AND '.join(where)} ORDER BY search_fts.rowid DESC"
        if cap is not None:
            sql += " LIMIT :cap"
            params["cap"] = cap + 1
        return sorted(_id_list(conn, sql, params), reverse=True)

    def _page(self, conn: Connection, plan: Plan, sort: str, limit: int, after: tuple[Any, int] | None,
              floor: int | None, ids: list[int], exact: bool) -> Any:
        if sort != "relevance" and not exact and plan.match is not None:
            rows = self._walk_in_order(conn, plan, sort, limit, after)
            if rows is not None:
                return rows
        return super()._page(conn, plan, sort, limit, after, floor, ids, exact)

    def _walk_in_order(self, conn: Connection, plan: Plan, sort: str, limit: int,
                       after: tuple[Any, int] | None) -> list[tuple[int, Any, Any]] | None:
        """A page of a broad query in date or 档号 order, or None when the walk gives up.

        Sorting every match of a word found in most of a million items took 350 ms; here the
        sort index is read in order and each row is tested against the match (FTS5 seeks the
        row in the terms' doclists), stopping after ``limit + 1`` hits. A broad query hits
        often, so few rows are tested; after ``WALK_ROWS`` rows per wanted hit without enough
        hits (few matches in that part of the order) the caller sorts all matches instead.
        """
        key = self._sort_sql(sort, None)
        desc, op = (True, "<") if sort == "-date" else (False, ">")
        direction = "DESC" if desc else "ASC"
        params: dict[str, Any] = {**plan.params.values, "m": plan.match, "lim": limit + 1,
                                  "budget": WALK_ROWS * (limit + 1)}
        start = ""
        if after is not None:
            params["ck"], params["cr"] = after
            start = f"WHERE ({key}, d.rowid) {op} (:ck, :cr)"
        checks = ["EXISTS (SELECT 1 FROM search_fts WHERE search_fts MATCH :m AND search_fts.rowid = w.rid)"]
        if plan.predicate is not None:
            checks.append(plan.predicate)
        sql = (f"SELECT w.rid, w.k, w.k FROM (SELECT d.rowid AS rid, {key} AS k FROM search_docs d {start} "
               f"ORDER BY k {direction}, d.rowid {direction} LIMIT :budget) w "
               f"CROSS JOIN search_docs d ON d.rowid = w.rid WHERE {' AND '.join(checks)} LIMIT :lim")
        rows = _driver(conn).execute(sql, params).fetchall()
        return rows if len(rows) > limit else None

    def _ranked_page(self, conn: Connection, plan: Plan, limit: int, after: tuple[Any, int] | None,
                     floor: int | None, ids: list[int]) -> list[tuple[int, float, float]]:
        window = [i for i in ids if floor is None or i >= floor]
        scores = self._scores(conn, plan.rank_terms, window, anywhere=plan.has_or)
        ranked = sorted((-scores.get(i, 0.0), -i) for i in window)  # ties: newest first
        if after is not None:
            ranked = [r for r in ranked if r > (after[0], -after[1])]
        return [(-negative_id, key, key) for key, negative_id in ranked[: limit + 1]]

    def _scores(self, conn: Connection, terms: list[tuple[str, str | None]], window: list[int],
                anywhere: bool = True) -> dict[int, float]:
        """Field-weighted score of each window row: Σ over terms of rarity × field weight.

        Every window row matched the query; when the query has no OR, each also holds every
        term somewhere, so only the heavy fields need asking (one index scan per term and field,
        bounded to the window's row-id range and filtered to its rows inside SQLite).
        """
        scores: dict[int, float] = {}
        if not window:
            return scores
        bounds = (min(window), max(window), json.dumps(window))
        for token, field in terms:
            columns = [FIELD_COLUMNS[field]] if field else [c for c in SCORED_COLUMNS if anywhere or c != "*"]
            hits = {c: self._rows_with(conn, c, token, bounds) for c in columns}
            holding = set().union(*hits.values()) if anywhere or field else set(window)
            rarity = math.log(1 + len(window) / (1 + len(holding)))
            for column, rows in hits.items():
                for rowid in rows:
                    scores[rowid] = scores.get(rowid, 0.0) + rarity * SCORED_COLUMNS.get(column, 1.0)
        return scores

    def _rows_with(self, conn: Connection, column: str, token: str, bounds: tuple[int, int, str]) -> list[int]:
        if column == "*":
            match = f"{TEXT_COLUMNS} : {_quote(token)}"
        else:
            match = _tags(field_tag(name, token) for name in SCORED_TAGS[column])
        return _id_list(conn, "SELECT rowid AS id FROM search_fts WHERE search_fts MATCH ? AND rowid BETWEEN ? AND ? "
                              "AND +rowid IN (SELECT value FROM json_each(?))", (match, *bounds))

    # --- schema and writes -----------------------------------------------------------------------
    def ensure_schema(self, conn: Connection) -> None:
        ensure_transaction(conn)
        conn.execute(text(self._state_ddl()))
        conn.execute(text(self._changes_ddl()))
        for statement in DDL:
            conn.execute(text(self._t(statement)))
        if not self.suffix:  # a rebuild builds the shadow's after loading it
            self._ensure_sort_indexes(conn)
            if not self._state(conn):
                self._mark_current(conn)

    def _ensure_sort_indexes(self, conn: Connection, tag: str = "", only: str | None = None) -> None:
        """The sort indexes, unless the table has an index on that column already.

        Asked by column, not by name: SQLite cannot rename an index, so the indexes a rebuild
        made on its shadow table keep their own names (``tag``) after the swap.
        """
        table = self._t("search_docs")
        existing = {info[2] for (name,) in conn.exec_driver_sql(
                        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
                        (table,)).all()
                    for info in conn.exec_driver_sql(f'PRAGMA index_info("{name}")').all()}
        for name, ddl in SORT_INDEXES:
            column = ddl.rsplit("(", 1)[1].rstrip(")")
            if column not in existing and only in (None, name):
                conn.execute(text(ddl.replace(name, self._t(name) + tag).replace(" search_docs ", f" {table} ")))

    def _drop_sort_indexes(self, conn: Connection) -> None:
        names = conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ? "
                                     "AND sql IS NOT NULL", (self._t("search_docs"),)).scalars().all()
        for name in names:
            conn.exec_driver_sql(f'DROP INDEX "{name}"')

    def upsert(self, conn: Connection, entries: Iterable[IndexEntry]) -> int:
        ensure_transaction(conn)
        rebuilding = self._require_same_tokenizer(conn)
        docs = [prepare(e, self.tokenizer) for e in entries]
        ids = [d.entry.record_id for d in docs]
        self._delete_rows(conn, ids)
        start = conn.exec_driver_sql(self._t("SELECT coalesce(max(rowid), 0) FROM search_docs")).scalar_one()
        self._insert(conn, docs, start + 1)
        if rebuilding:
            self._log_changes(conn, ids)
        return len(docs)

    def delete(self, conn: Connection, record_ids: Iterable[str]) -> int:
        ensure_transaction(conn)
        rebuilding = self._require_same_tokenizer(conn)
        ids = list(record_ids)
        removed = self._delete_rows(conn, ids)
        if rebuilding:
            self._log_changes(conn, ids)
        return removed

    def _log_changes(self, conn: Connection, record_ids: list[str]) -> None:
        conn.exec_driver_sql(f"INSERT OR IGNORE INTO {CHANGES_TABLE} (record_id) VALUES (?)",
                             [(i,) for i in dict.fromkeys(record_ids)])

    def _require_same_tokenizer(self, conn: Connection) -> bool:
        """A contentless index is updated by re-creating old tokens: only with the same tokenizer
        and the same layout (which tokens an entry gets). Returns whether a rebuild is running
        (its shadow tables are built with this tokenizer: no check for them)."""
        state = dict(conn.exec_driver_sql(f"SELECT key, value FROM {STATE_TABLE} WHERE key IN "
                                          f"('tokenizer', 'layout', '{REBUILD_KEY}')").all())
        if self.suffix:
            return False
        if state.get("tokenizer") != self.tokenizer.fingerprint:
            raise StorageError("检索索引的分词器已变化，需要重建索引",
                               f"search index built with tokenizer {state.get('tokenizer')}, "
                               f"now {self.tokenizer.fingerprint}")
        if state.get("layout", "1") != self.layout:
            raise StorageError("检索索引的结构已变化，需要重建索引",
                               f"search index built with layout {state.get('layout', '1')}, now {self.layout}")
        return REBUILD_KEY in state

    def _delete_rows(self, conn: Connection, record_ids: list[str]) -> int:
        removed = 0
        for chunk in _chunks(iter(record_ids), BATCH):
            marks = ",".join("?" * len(chunk))
            rows = conn.exec_driver_sql(self._t(
                f"SELECT d.rowid, {', '.join(ENTRY_COLUMNS)} FROM search_docs d JOIN search_text t "
                f"ON t.rowid = d.rowid WHERE d.record_id IN ({marks})"), tuple(chunk)).all()
            if rows:
                old = [(r[0], *_fts_values(prepare(IndexEntry(*r[1:]), self.tokenizer))) for r in rows]
                conn.exec_driver_sql(self._t(DELETE_FTS), old)
                for table in ("search_docs", "search_text", "search_facets"):
                    conn.exec_driver_sql(self._t(f"DELETE FROM {table} WHERE rowid = ?"), [(r[0],) for r in rows])
            removed += len(rows)
        return removed

    def _insert(self, conn: Connection, docs: list[PreparedDoc], first_rowid: int) -> None:
        doc_rows, text_rows, fts_rows, facet_rows = [], [], [], []
        codes = self._facet_codes(conn, {pair for d in docs for pair in _facet_values(d.entry)})
        for rowid, doc in enumerate(docs, first_rowid):
            e = doc.entry
            doc_rows.append((rowid, e.record_id, e.title, e.document_number, e.author, e.date, e.year, e.retention,
                             e.organisation, e.document_type, e.security_classification, doc.clearance_rank,
                             e.archival_code, e.fonds))
            text_rows.append((rowid, doc.body))
            fts_rows.append((rowid, *_fts_values(doc)))
            facet_rows.append((rowid, *(codes[pair] for pair in _facet_values(e))))
        if doc_rows:
            conn.exec_driver_sql(self._t(INSERT_DOC), doc_rows)
            conn.exec_driver_sql(self._t(INSERT_TEXT), text_rows)
            conn.exec_driver_sql(self._t(INSERT_FTS), fts_rows)
            conn.exec_driver_sql(self._t(INSERT_FACET), facet_rows)

    def _facet_codes(self, conn: Connection, pairs: set[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Code of each (facet, value), adding new ones.

        Known codes are remembered only during one reindex (``self._codes`` is set there): a cache
        that outlived a rolled-back transaction would hand out codes that no longer exist.
        """
        codes = self._codes if self._codes is not None else {}
        missing = [p for p in pairs if p not in codes]
        if missing:
            conn.exec_driver_sql(self._t("INSERT OR IGNORE INTO search_facet_values (field, value) VALUES (?, ?)"),
                                 missing)
            for pair in missing:
                codes[pair] = conn.exec_driver_sql(
                    self._t("SELECT code FROM search_facet_values WHERE field = ? AND value = ?"), pair).scalar_one()
        return codes

    def _facet_rows(self, conn: Connection, ids: list[int]) -> list[tuple]:
        # One join over the ids, each facet's codes read as one JSON array and counted here:
        # faster than scanning their row-id range (dense windows included), than GROUP BY in SQL
        # (one pass per facet) and than fetching a row per id (see _id_list).
        arrays = ", ".join(f"json_group_array(f.{c})" for c in FACET_FIELDS)
        row = _driver(conn).execute(f"SELECT {arrays} FROM json_each(?) j CROSS JOIN search_facets f "
                                    "ON f.rowid = j.value", (json.dumps(ids),)).fetchone()
        counts = [Counter(json.loads(column)) for column in row]
        codes = {c for counter in counts for c in counter}
        values = dict(_driver(conn).execute("SELECT code, value FROM search_facet_values WHERE code IN "
                                            "(SELECT value FROM json_each(?))", (json.dumps(sorted(codes)),)))
        blank = ("",) * len(FACET_FIELDS)
        return [(*blank[:i], values.get(code, ""), *blank[i + 1 :], n)
                for i, counter in enumerate(counts) for code, n in counter.items()]

    def mark_stale(self, conn: Connection, reason: str) -> None:
        ensure_transaction(conn)
        super().mark_stale(conn, reason)

    def note_changes(self, conn: Connection, record_ids: list[str]) -> None:
        ensure_transaction(conn)
        super().note_changes(conn, record_ids)

    def clear(self, conn: Connection) -> None:
        ensure_transaction(conn)
        for table in TABLES:
            conn.execute(text(f"DROP TABLE IF EXISTS {self._t(table)}"))
        self.ensure_schema(conn)

    def reindex(self, conn: Connection, entries: Iterable[IndexEntry], progress: Progress | None = None,
                workers: int = 1) -> int:
        self.clear(conn)
        for suffix in (SHADOW, OLD):  # what a rebuild killed mid-way left
            for table in TABLES:
                conn.execute(text(f"DROP TABLE IF EXISTS {table}{suffix}"))
        self._forget_rebuild(conn)
        self._drop_sort_indexes(conn)  # built once after the load: faster than row by row
        count = self._load(entries, progress, workers, lambda chunk, first: self._insert(conn, chunk, first))
        conn.exec_driver_sql("INSERT INTO search_fts (search_fts) VALUES ('optimize')")
        self._ensure_sort_indexes(conn)
        self._mark_current(conn)
        return count

    def _load(self, entries: Iterable[IndexEntry], progress: Progress | None, workers: int,
              write: Callable[[list[PreparedDoc], int], None]) -> int:
        """Prepare ``entries`` and ``write`` them in chunks with row ids from 1."""
        count = 0
        self._codes = {}
        try:
            for chunk in prepared_chunks(entries, self.tokenizer, BATCH, workers):
                write(chunk, count + 1)
                count += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        finally:
            self._codes = None
        return count

    # --- online rebuild (lantai.search.online) ----------------------------------------------------
    def shadow(self) -> SqliteIndex:
        """The same index over the shadow tables a rebuild fills."""
        twin = SqliteIndex(self._tokenizer)
        twin.suffix = SHADOW
        return twin

    def start_rebuild(self, engine: Engine) -> None:
        """Drop what an earlier rebuild left, create empty shadow tables, and start logging changes.

        In a write transaction: every writer before it has committed (the rebuild reads its
        work), every writer after it sees the mark and logs what it changes.
        """
        self.drop_tables(engine, SHADOW)
        self.drop_tables(engine, OLD)
        shadow = self.shadow()
        with _immediate(engine) as conn:
            self.ensure_schema(conn)
            shadow.ensure_schema(conn)
            conn.execute(text(f"DELETE FROM {CHANGES_TABLE}"))
            self._set_state(conn, REBUILD_KEY, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def load_shadow(self, engine: Engine, entries: Iterable[IndexEntry], progress: Progress | None,
                    workers: int) -> int:
        """Fill the shadow tables, one transaction per chunk: a writer waits for one chunk at most
        (the next chunk is cut while the lock is free)."""
        shadow = self.shadow()

        def write(chunk: list[PreparedDoc], first: int) -> None:
            with _immediate(engine) as conn:
                shadow._insert(conn, chunk, first)

        return shadow._load(entries, progress, workers, write)

    def finish_shadow(self, engine: Engine) -> None:
        """Merge the shadow's FTS5 segments and build its sort indexes, in short transactions."""
        shadow = self.shadow()
        merge = shadow._t("INSERT INTO search_fts (search_fts, rank) VALUES ('merge', ?)")
        structure = shadow._t("SELECT block FROM search_fts_data WHERE id = 10")  # FTS5's segment list
        while True:  # an incremental 'optimize': each step merges at most MERGE_PAGES pages
            with _immediate(engine) as conn:
                before = conn.exec_driver_sql(structure).scalar()
                conn.exec_driver_sql(merge, (-MERGE_PAGES,))
                if conn.exec_driver_sql(structure).scalar() == before:  # one segment left
                    break
        tag = f"_{int(time.time()):x}"  # SQLite cannot rename indexes: names that outlive the swap
        for name, _ddl in SORT_INDEXES:
            with _immediate(engine) as conn:
                shadow._ensure_sort_indexes(conn, tag, only=name)

    def begin_write(self, conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def lock_for_swap(self, conn: Connection) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")

    def swap(self, conn: Connection) -> None:
        """Put the shadow tables in the live ones' place (inside the caller's locked transaction)."""
        for table in TABLES:
            conn.exec_driver_sql(f"ALTER TABLE {table} RENAME TO {table}{OLD}")
        for table in TABLES:
            conn.exec_driver_sql(f"ALTER TABLE {table}{SHADOW} RENAME TO {table}")
        self._forget_rebuild(conn)
        self._mark_current(conn)

    def finish_rebuild(self, engine: Engine) -> None:
        self.drop_tables(engine, OLD)

    def drop_shadow(self, engine: Engine) -> None:
        self.drop_tables(engine, SHADOW)

    def drop_tables(self, engine: Engine, suffix: str) -> None:
        """Drop the tables named with ``suffix``, emptying the big ones a few thousand rows per
        transaction first: dropping a million-entry FTS5 table at once frees gigabytes of pages
        while every writer waits."""
        with engine.connect() as conn:
            names = set(conn.exec_driver_sql("SELECT name FROM sqlite_master WHERE type = 'table'").scalars())
        for table in (f"search_fts{suffix}_data", f"search_fts{suffix}_docsize", *(t + suffix for t in TABLES)):
            if table not in names or table == f"search_fts{suffix}":
                continue
            keep = "WHERE rowid > 10 " if table.endswith("_data") else ""  # FTS5's own records: DROP reads them
            while True:
                with _immediate(engine) as conn:
                    gone = conn.exec_driver_sql(f'DELETE FROM "{table}" WHERE rowid IN '
                                                f'(SELECT rowid FROM "{table}" {keep}LIMIT {DROP_ROWS})').rowcount
                if gone < DROP_ROWS:
                    break
        with _immediate(engine) as conn:
            for table in TABLES:
                conn.exec_driver_sql(f"DROP TABLE IF EXISTS {table}{suffix}")


@contextmanager
def _immediate(engine: Engine) -> Iterator[Connection]:
    """A transaction holding SQLite's write lock from its start (a deferred one that read first
    fails at its first write if another writer committed meanwhile)."""
    with engine.begin() as conn:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        yield conn


def _facet_values(e: IndexEntry) -> list[tuple[str, str]]:
    return [(field, "" if getattr(e, field) is None else str(getattr(e, field))) for field in FACET_FIELDS]


def _fts_values(doc: PreparedDoc) -> tuple[str, ...]:
    tags = doc.tags + [t for field in field_tags(doc).values() for t in field]
    return (" ".join(doc.title), " ".join(doc.docno), " ".join(doc.author), " ".join(doc.meta),
            " ".join(doc.text), " ".join(tags) + " " + doc.grams.joined(GRAM, " "))


def _driver(conn: Connection) -> Any:
    """The DB-API connection under ``conn`` (same transaction), for reads of many small rows."""
    return conn.connection.dbapi_connection


def _id_list(conn: Connection, sql: str, params: Any) -> list[int]:
    """Column ``id`` of ``sql``'s rows as one JSON array, in no particular order.

    Thousands of row tuples per search also woke Python's cyclic garbage collector, whose full
    passes put 40-70 ms on one query in fifty (p99 77 → 41 ms at 1,000,000 entries); a JSON
    array of integers becomes one list.
    """
    return json.loads(_driver(conn).execute(f"SELECT json_group_array(id) FROM ({sql})", params).fetchone()[0])


def _chunks(items: Iterator[IndexEntry] | Iterator[str], size: int) -> Iterator[list]:
    while chunk := list(islice(items, size)):
        yield chunk

