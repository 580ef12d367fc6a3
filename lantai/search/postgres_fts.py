"""PostgreSQL backend: a tsvector over the same pre-cut tokens, with a GIN index.

PostgreSQL 15 here has no Chinese parser (zhparser, pg_jieba and pgroonga are not packaged),
and ``to_tsvector('simple', …)`` would re-split tokens such as ``青政办发2025年12号``. So the
tsvector is written directly as a literal (``'档案':3A,17``): exactly our lexemes, with
positions and weights — 题名 A, 文号 B, 责任者 C, everything else D — for ranking; a word asked
in one field is matched by its field tag (``'ǂT档案'``, see prepare.field_tag), which the GIN
index answers without reading the rows. Queries are tsquery literals built the same way.

Filters and the clearance restriction are plain column conditions next to ``tsv @@ query``:
the GIN index finds the candidates, the conditions are checked on those rows. Bulk reindex
uses COPY and builds the GIN index after loading, which is several times faster than
maintaining it row by row.

Matches are tested row by row when the planner walks the newest rows first (a broad word:
reading a GIN posting list of most of the table costs more than testing the newest rows until
the count window is full), and ranked row by row, so each test reads the row's tsvector. It is
stored lz4-compressed (several times faster to decompress than the default pglz) and *inline*
(``STORAGE MAIN``, layout 2): out of line, each test also looked the value up in the TOAST
table, and the walk of a broad word took twice as long (100,000 entries: 55 → 25 ms for the
newest 5,000 matches). The body text goes out of line instead; only snippets and phrase checks
read it. Exact-value filters are written ``col = ANY(array)``: as ``col = value`` the planner
moves them behind the tsvector test, which then ran on every row the filter would have
rejected. PostgreSQL ranks a smaller window than SQLite, and ranks only that window's rows.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from typing import Any

from sqlalchemy import Connection, text

from lantai.errors import BadInput
from lantai.search.bulk import prepared_chunks
from lantai.search.index import Progress
from lantai.search.model import FACET_FIELDS, IndexEntry, SearchQuery, SearchResult
from lantai.search.plan import Pair, Params, Plan
from lantai.search.prepare import PreparedDoc, field_tag, field_tags, prepare
from lantai.search.sqlbase import SqlIndexBase
from lantai.search.tokenize import normalize

RANK_WEIGHTS = "CAST('{0.1, 0.4, 1.0, 1.0}' AS real[])"  # D, C, B, A
POSITIONS_PER_LEXEME = 8
FILTER_INDEXES = ("year", "retention", "organisation", "document_type")
PHRASE_WALK = 12  # rows tested per wanted match before a text-checked query asks the planner
BATCH = 500
COLUMNS = ("record_id", "title", "document_number", "author", "date", "year", "retention", "organisation",
           "document_type", "security_classification", "clearance_rank", "archival_code", "fonds", "body", "tsv")

DDL = (
    """CREATE TABLE IF NOT EXISTS search_docs (
        id BIGSERIAL PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
        document_number TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '',
        year INTEGER, retention TEXT NOT NULL DEFAULT '', organisation TEXT NOT NULL DEFAULT '',
        document_type TEXT NOT NULL DEFAULT '', security_classification TEXT NOT NULL DEFAULT '',
        clearance_rank SMALLINT NOT NULL, archival_code TEXT NOT NULL DEFAULT '', fonds TEXT NOT NULL DEFAULT '',
        body TEXT NOT NULL DEFAULT '', tsv TSVECTOR COMPRESSION lz4 NOT NULL)""",
    "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING GIN (tsv)",
    'CREATE INDEX IF NOT EXISTS search_docs_date ON search_docs (date COLLATE "C")',
    'CREATE INDEX IF NOT EXISTS search_docs_code ON search_docs (archival_code COLLATE "C")',
    # a filtered query walks its filter's rows newest first instead of every row (layout 2)
    *(f"CREATE INDEX IF NOT EXISTS search_docs_{c} ON search_docs ({c}, id)" for c in FILTER_INDEXES),
)


INDEX_NAMES = tuple(statement.split()[5] for statement in DDL[1:])  # CREATE INDEX IF NOT EXISTS <name>


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


# Positions only carry weights and term frequency here (phrases are checked on the stored text),
# so each field gets its own block of positions and a lexeme's positions are that block's first
# ones, as many as it occurs (at most 8): 'tok':1A,2A. Built from prepared strings: ~15x faster
# than numbering tokens one by one.
_FIELD_BLOCKS = (("A", 1), ("B", 1001), ("C", 2001), ("", 3001), ("", 4001))
_POSITIONS = [[",".join(f"{start + i}{weight}" for i in range(k)) for k in range(POSITIONS_PER_LEXEME + 1)]
              for weight, start in _FIELD_BLOCKS]


def tsvector_literal(doc: PreparedDoc) -> str:
    """The tsvector text for a document: lexeme → positions with field weights, plus the field
    tags (prepare.field_tag) of 题名, 文号 and 责任者 with their field's first position.

    Tokens are letters and digits only (see tokenize._clean), so they need no escaping.
    """
    parts: list[str] = []
    for field, positions in zip((doc.title, doc.docno, doc.author, doc.meta, doc.text), _POSITIONS, strict=True):
        if field:
            parts += [f"'{t}':{positions[min(k, POSITIONS_PER_LEXEME)]}" for t, k in Counter(field).items()]
    for tags, positions in zip(field_tags(doc).values(), _POSITIONS, strict=False):
        parts += [f"'{t}':{positions[1]}" for t in tags]
    return " ".join(parts)


def copy_row(doc: PreparedDoc) -> tuple:
    """A ``search_docs`` row in COPY column order (reindex builds these in its cutting workers)."""
    e = doc.entry
    return (e.record_id, e.title, e.document_number, e.author, e.date, e.year, e.retention, e.organisation,
            e.document_type, e.security_classification, doc.clearance_rank, e.archival_code, e.fonds,
            doc.body, tsvector_literal(doc))


class PostgresDialect:
    """tsquery syntax; lexemes are quoted literals, so user text is never read as an operator."""

    def term(self, tokens: list[str], field: str | None) -> str:
        # a field's words are its field tags: the GIN index answers them exactly, where a
        # weighted lexeme ('通知':A) made it recheck the tsvector of every row holding the word
        return "(" + " & ".join(_quote(field_tag(field, t) if field else t) for t in tokens) + ")"

    def conj(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " & ".join(parts) + ")"

    def disj(self, parts: list[str]) -> str:
        return parts[0] if len(parts) == 1 else "(" + " | ".join(parts) + ")"

    def and_not(self, positive: str | None, negative: str) -> str | None:
        return f"!{negative}" if positive is None else f"({positive} & !{negative})"

    def matches(self, match: str, params: Params) -> str:
        return f"d.tsv @@ CAST({params.add(match)} AS tsquery)"

    def phrase(self, text_: str, field: str | None, params: Params) -> str:
        phrase = normalize(text_)
        fold = (lambda c: f"lower({c})") if any("a" <= ch <= "z" for ch in phrase) else (lambda c: c)
        name = params.add(phrase)
        columns = [f"d.{field}"] if field else ["d.title", "d.document_number", "d.author", "d.body"]
        return "(" + " OR ".join(f"strpos({fold(c)}, {name}) > 0" for c in columns) + ")"

    def filter(self, field: str, value: str, params: Params) -> Pair:
        # Written twice on purpose. "col = value" can walk the (col, id) index newest first,
        # but the planner tests such a condition after every other one — the costly tsvector
        # match included — when it is not the index condition (two filters); "col = ANY(array)"
        # is tested first, so rows the filter rejects never have their tsvector read.
        typed = _year(value) if field == "year" else value
        array_type = "integer[]" if field == "year" else "text[]"
        name, values = params.add(typed), params.add([typed])
        return None, f"(d.{field} = ANY(CAST({values} AS {array_type})) AND d.{field} = {name})"

    def range(self, field: str, low: str | None, high: str | None, params: Params) -> Pair:
        convert = _year if field == "year" else str
        parts = ([f"d.{field} >= {params.add(convert(low))}"] if low else []) + \
                ([f"d.{field} <= {params.add(convert(high))}"] if high else [])
        return None, "(" + " AND ".join(parts or ["TRUE"]) + ")"

    def clearance(self, match: str | None, visible: list[int], hidden: list[int], params: Params) -> Pair:
        return match, f"d.clearance_rank <= {params.add(max(visible))}"


def _year(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise BadInput(f"年度无效: {value}", f"bad year: {value}") from None


class PostgresIndex(SqlIndexBase):
    backend = "postgresql"
    dialect = PostgresDialect()
    rank_window = 500
    row_id = "d.id"
    layout = "2"  # tsvector stored inline

    def _from(self, joined: bool) -> str:
        return "search_docs d"

    def _match_sql(self, param: str) -> str:
        return f"d.tsv @@ CAST({param} AS tsquery)"

    def _score_sql(self, param: str | None) -> str:
        # float8, so the value in a cursor compares equal to the one recomputed for the next page
        return f"CAST(-ts_rank({RANK_WEIGHTS}, d.tsv, CAST({param} AS tsquery), 1) AS float8)" if param else "0"

    def _rid_sql(self, joined: bool) -> str:
        return "d.id"

    def _ids_sql(self, rid: str, lookup: bool = True) -> str:
        return f"{rid} = ANY(:ids)"

    def _ids_param(self, ids: list[int]) -> object:
        return ids

    def _sort_sql(self, sort: str, match_param: str | None) -> str:
        if sort == "relevance":
            return self._score_sql(match_param)
        return 'd.archival_code COLLATE "C"' if sort == "archival_code" else 'd.date COLLATE "C"'

    def search(self, conn: Connection, query: SearchQuery) -> SearchResult:
        # psycopg prepares a statement run five times, and PostgreSQL then may plan it once for
        # any parameters: assuming a tsquery matches 500 rows, it read every match of a broad
        # word through the GIN index and sorted them (700 ms at 100,000 entries, instead of 40
        # for walking the newest rows). How many rows a query matches is the whole question here.
        conn.execute(text("SET LOCAL plan_cache_mode = force_custom_plan"))
        return super().search(conn, query)

    def _match_ids(self, conn: Connection, plan: Plan, cap: int | None) -> list[int]:
        return [r[0] for r in self._matching(conn, plan, cap, "d.id")]

    def _match_facet_rows(self, conn: Connection, plan: Plan, cap: int | None) -> list[Sequence[Any]] | None:
        """The facet columns with the ids: the match reads each row anyway, and grouping the
        window's rows again took 10-40 ms (5,000 index probes into a wide table)."""
        return self._matching(conn, plan, cap, "d.id, " + ", ".join(f"d.{c}" for c in FACET_FIELDS))

    def _matching(self, conn: Connection, plan: Plan, cap: int | None, columns: str) -> list[Sequence[Any]]:
        """``columns`` of the newest ``cap + 1`` matches, newest first."""
        where, params, _ = self._where(plan, True)
        condition = " AND ".join(where)
        if plan.checks_text and cap is not None:
            rows = self._walk_newest(conn, columns, condition, params, cap)
            if rows is not None:
                return rows
        sql = f"SELECT {columns} FROM search_docs d WHERE {condition} ORDER BY d.id DESC"
        if cap is not None:
            sql += " LIMIT :cap"
            params["cap"] = cap + 1
        return list(conn.execute(text(sql), params).all())

    def _walk_newest(self, conn: Connection, columns: str, condition: str, params: dict[str, Any],
                     cap: int) -> list[Sequence[Any]] | None:
        """The newest matches of a query whose words are checked in the stored text, found by
        testing the newest rows in order; None when too few of them match.

        The planner multiplies the words' frequencies, so the tokens of one phrase — which come
        together — look rare: it fetched every row holding them through the GIN index and
        checked each one's body text (1.3 s for a common phrase at 100,000 entries) to keep
        the newest thousand. The walk tests at most ``PHRASE_WALK`` rows per wanted match.
        """
        params = {**params, "budget": PHRASE_WALK * (cap + 1), "cap": cap + 1}
        sql = (f"SELECT {columns} FROM (SELECT * FROM search_docs ORDER BY id DESC LIMIT :budget) d "
               f"WHERE {condition} ORDER BY d.id DESC LIMIT :cap")
        rows = list(conn.execute(text(sql), params).all())
        return rows if len(rows) > cap else None

    def _ranked_page(self, conn: Connection, plan: Plan, limit: int, after: tuple[Any, int] | None,
                     floor: int | None, ids: list[int]) -> Sequence[Any]:
        """Rank the window's rows only (they all match: no second match test), scoring each once."""
        if plan.match is None or not plan.has_text:
            return super()._ranked_page(conn, plan, limit, after, floor, ids)
        window = [i for i in ids if floor is None or i >= floor]
        params: dict[str, Any] = {"m": plan.match, "ids": window, "lim": limit + 1}
        where = ""
        if after is not None:
            params["ck"], params["cr"] = after
            where = "WHERE (r.score > :ck OR (r.score = :ck AND r.rid > :cr))"
        sql = (f"SELECT r.rid, r.score, r.score FROM (SELECT d.id AS rid, {self._score_sql(':m')} AS score "
               f"FROM search_docs d WHERE d.id = ANY(:ids)) r {where} ORDER BY r.score, r.rid LIMIT :lim")
        return conn.execute(text(sql), params).all()

    # --- schema and writes -----------------------------------------------------------------------
    def ensure_schema(self, conn: Connection) -> None:
        conn.execute(text(self._state_ddl()))
        for statement in DDL:
            conn.execute(text(statement))
        self._store_tsvector_inline(conn)
        if not self._state(conn):
            self._mark_current(conn)

    def _store_tsvector_inline(self, conn: Connection) -> None:
        """``STORAGE MAIN`` for the tsvector (PostgreSQL 15 cannot say so in CREATE TABLE).

        Applies to rows written from now on: an index of layout 1 is stale until reindexed.
        """
        storage = conn.execute(text("SELECT attstorage FROM pg_attribute WHERE attrelid = "
                                    "CAST('search_docs' AS regclass) AND attname = 'tsv'")).scalar()
        if storage != "m":
            conn.execute(text("ALTER TABLE search_docs ALTER COLUMN tsv SET STORAGE MAIN"))

    def upsert(self, conn: Connection, entries: Iterable[IndexEntry]) -> int:
        count = 0
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in COLUMNS[1:])
        sql = (f"INSERT INTO search_docs ({', '.join(COLUMNS)}) VALUES ({', '.join(['%s'] * len(COLUMNS))}) "
               f"ON CONFLICT (record_id) DO UPDATE SET {updates}")
        for chunk in _chunks(iter(entries), BATCH):
            rows = [copy_row(prepare(e, self.tokenizer)) for e in chunk]
            conn.exec_driver_sql(sql, rows)
            count += len(rows)
        return count

    def delete(self, conn: Connection, record_ids: Iterable[str]) -> int:
        ids = list(record_ids)
        if not ids:
            return 0
        result = conn.exec_driver_sql("DELETE FROM search_docs WHERE record_id = ANY(%s)", (ids,))
        return int(result.rowcount)

    def clear(self, conn: Connection) -> None:
        conn.execute(text("TRUNCATE search_docs"))

    def reindex(self, conn: Connection, entries: Iterable[IndexEntry], progress: Progress | None = None,
                workers: int = 1) -> int:
        self.ensure_schema(conn)
        conn.execute(text("TRUNCATE search_docs RESTART IDENTITY"))
        for name in INDEX_NAMES:  # built once after the load: several times faster than row by row
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        count = 0
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        with cursor.copy(f"COPY search_docs ({', '.join(COLUMNS)}) FROM STDIN") as copy:
            for chunk in prepared_chunks(entries, self.tokenizer, BATCH, workers, finish=copy_row):
                for row in chunk:
                    copy.write_row(row)
                count += len(chunk)
                if progress is not None:
                    progress(len(chunk))
        for statement in DDL[1:]:
            conn.execute(text(statement))
        conn.execute(text("ANALYZE search_docs"))
        self._mark_current(conn)
        return count


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(items, size)):
        yield chunk
