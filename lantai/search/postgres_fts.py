"""PostgreSQL backend: a tsvector over the same pre-cut tokens, with a GIN index.

PostgreSQL 15 here has no Chinese parser (zhparser, pg_jieba and pgroonga are not packaged),
and ``to_tsvector('simple', …)`` would re-split tokens such as ``青政办发2025年12号``. So the
tsvector is written directly (in COPY's binary format; queries as literals ``'档案' & '通知'``):
exactly our lexemes, without positions (an index built before had them; nothing reads them, so
both work); a word asked in one field is matched by its field tag (``'ǂT档案'``, see prepare.field_tag), which the GIN
index answers without reading the rows. Queries are tsquery literals built the same way.

Filters (保管期限:永久, 年度:2020) are tags in the tsvector, as on SQLite (prepare.tag), so the
GIN index answers the whole match; the clearance restriction and date ranges are plain column
conditions checked on the rows it finds. Bulk reindex uses COPY and builds the GIN index after
loading, which is several times faster than maintaining it row by row.

Layout 3 (measured at 100,000 entries; layout 2 walked the newest rows testing each inline
tsvector, ~5 µs per row tested: a word found in one item in eight tested 40,000 rows to count
5,000 matches):

* Every tsvector also holds its row's *epoch tag* (``'ǂE61'``: the row id divided by 4,096), so
  "the newest matches" is a GIN question too. A search asks for its words AND the newest
  epochs' tags (``(words) & ('ǂE61' | 'ǂE60')``): the GIN index intersects the words' posting
  lists with those few thousand rows without reading the rest of them (0.9 ms for 5,600 rows
  of a word in 80 % of the items), and only matching rows are read, without re-testing their
  tsvectors. How many epochs to ask next is estimated from the density of matches so far;
  when few matches are left to find, the words are asked alone (a rare name: two cheap asks).
  Layout 4 adds each filter tag scoped to the epoch (``'ǂy2020E61'``): a search with a filter asks
  ``(words) & 'ǂy2020E61'``, whose GIN scan is driven by the few hundred rows of that year in the
  epoch instead of all 4,096 (a GIN scan costs about 60 ns per row id of its driving entry).
* A bulk load writes each epoch's rows grouped by 年度, 保管期限, 机构 and 文种 (CLUSTER_ORDER),
  keeping their ids: the rows a filtered scan finds in an epoch then share a few heap pages.
* Layout 5 adds gram tags (prepare.gram_tag): the pairs of adjacent Chinese characters of an
  entry's text that are not already its tokens. A quoted phrase asks for its pairs (each as the
  token or the gram tag) instead of its words, so the rows whose stored text is then tested are
  the ones holding every pair, and it finds the phrase wherever the words were cut in the text.
  Before, a phrase of common words that no item held tested the text of every item holding the
  words (23,334 of 1,000,000 real 公文 for ``"做好汛期安全防范工作"``: 0.5 s on a slow machine).
* The tsvector is stored out of line (``toast_tuple_target = 512``): a row is then its few
  hundred bytes of metadata, and reading the 5,000 newest matches of a broad word took 4 ms
  instead of 90 ms (a 3 KB compressed tsvector inline filled half a page per row).
* Relevance is scored as on SQLite — rarity × field weight: the ranked window's rows are read
  by id and their 题名, 文号 and 责任者 tested for each word (a word asked anywhere, with OR,
  by GIN lookups within the window's epochs). ts_rank() read every ranked row's tsvector from
  the TOAST table, and GIN lookups of the field tags visited every row of the window's epochs
  holding the tag.
* Each search sets ``plan_cache_mode = force_custom_plan`` and ``enable_seqscan = off`` for its
  transaction (set_config(…, true); no server setting is needed): the planner, guessing from
  a word's frequency in the whole table, otherwise chose to read the table testing tsvectors.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import struct
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain, islice
from typing import Any

from psycopg.adapt import Dumper
from psycopg.pq import Format
from sqlalchemy import Connection, Engine, text

from lantai.errors import BadInput
from lantai.search.bulk import prepared_chunks
from lantai.search.docnumber import is_document_number_token
from lantai.search.index import Progress
from lantai.search.model import FACET_FIELDS, IndexEntry, SearchQuery, SearchResult
from lantai.search.plan import Pair, Params, Plan
from lantai.search.prepare import (
    GRAM,
    GRAMS_CUT,
    TAG,
    PreparedDoc,
    clearance_tag,
    field_tag,
    field_tags,
    gram_tag,
    prepare,
    tag,
)
from lantai.search.sqlbase import (
    CHANGES_TABLE,
    GRAMS_CUT_KEY,
    REBUILD_KEY,
    SHADOW,
    STATE_TABLE,
    SqlIndexBase,
    layout_number,
)
from lantai.search.tokenize import normalize

CLEARANCE_PREFIX = clearance_tag(0)[:-1]  # a clearance tag is not scoped: a search never drives by it
EPOCH_BITS = 12  # an epoch tag covers 4,096 consecutive row ids
EPOCH_ROWS = 1 << EPOCH_BITS
FIRST_ROUND = 2  # the first round asks the newest epochs holding this many times the window
EPOCH_MARGIN = 1.3  # words alone once the epochs needed (times this) would pass half the rows left
# A later round asks this many times the epochs the density so far says are needed: a round stops
# reading at the epoch that fills the window (_newest), so asking too many costs nothing, and
# asking too few costs another round trip.
ASK_MARGIN = 2.0
# Relevance, as on SQLite: scored column → (weight, fields whose tags answer it); "*": anywhere.
# A word asked in one field (题名:通知) scores by that field: 责任者 4, the others 1.
SCORED = {"title_docno": (10.0, ("title", "document_number")), "author": (4.0, ("author",)), "*": (1.0, ())}
FIELD_WEIGHT = {"author": 4.0}
BATCH = 500
BUILD_MEMORY = "256MB"  # maintenance_work_mem of the session building the GIN index
SWAP_LOCK_TIMEOUT = "30s"  # a rebuild's swap waits this long for the live table's writers
TSVECTOR_OID = 3614  # pg_type.oid of tsvector, fixed since PostgreSQL 8.3
COLUMNS = ("record_id", "title", "document_number", "author", "date", "year", "retention", "organisation",
           "document_type", "security_classification", "clearance_rank", "archival_code", "fonds", "body", "tsv")

# COPY's binary format names each column's type: id, then COLUMNS
COPY_TYPES = ("int8", *(["text"] * 5), "int4", *(["text"] * 4), "int2", "text", "text", "text", TSVECTOR_OID)
DDL = (
    """CREATE TABLE IF NOT EXISTS search_docs (
        id BIGSERIAL PRIMARY KEY, record_id TEXT NOT NULL UNIQUE, title TEXT NOT NULL DEFAULT '',
        document_number TEXT NOT NULL DEFAULT '', author TEXT NOT NULL DEFAULT '', date TEXT NOT NULL DEFAULT '',
        year INTEGER, retention TEXT NOT NULL DEFAULT '', organisation TEXT NOT NULL DEFAULT '',
        document_type TEXT NOT NULL DEFAULT '', security_classification TEXT NOT NULL DEFAULT '',
        clearance_rank SMALLINT NOT NULL, archival_code TEXT NOT NULL DEFAULT '', fonds TEXT NOT NULL DEFAULT '',
        body TEXT COMPRESSION lz4 NOT NULL DEFAULT '', tsv TSVECTOR COMPRESSION lz4 NOT NULL)
        WITH (toast_tuple_target = 512)""",
    "CREATE INDEX IF NOT EXISTS search_docs_tsv ON search_docs USING GIN (tsv)",
    'CREATE INDEX IF NOT EXISTS search_docs_date ON search_docs (date COLLATE "C")',
    'CREATE INDEX IF NOT EXISTS search_docs_code ON search_docs (archival_code COLLATE "C")',
)
# (column, id) indexes of layout 2, for filtered queries walking the newest rows: filters are tags now
LEGACY_INDEXES = tuple(f"search_docs_{c}" for c in ("year", "retention", "organisation", "document_type"))


INDEX_NAMES = tuple(statement.split()[5] for statement in DDL[1:])  # CREATE INDEX IF NOT EXISTS <name>


def _quote(token: str) -> str:
    return "'" + token.replace("\\", "\\\\").replace("'", "''") + "'"


class TsvectorBinary(bytes):
    """A tsvector in PostgreSQL's binary wire format (tsvectorrecv): an int32 lexeme count, then
    each lexeme NUL-terminated and followed by a uint16 count of positions (always 0 here)."""


class _TsvectorDumper(Dumper):
    format = Format.BINARY
    oid = TSVECTOR_OID

    def dump(self, obj: TsvectorBinary) -> bytes:
        return obj


def send_tsvectors_binary(dbapi_connection: Any) -> None:
    """Let ``dbapi_connection`` (psycopg) send :class:`TsvectorBinary` values as they are."""
    dbapi_connection.adapters.register_dumper(TsvectorBinary, _TsvectorDumper)


_NO_POSITIONS = "\0\0\0"  # a lexeme's NUL terminator and its uint16 count of positions, 0
_GRAM_START = (_NO_POSITIONS + GRAM).encode()  # a lexeme starting like a gram tag, in packed lexemes


def tsvector_lexemes(doc: PreparedDoc) -> list[str]:
    """A document's distinct lexemes but its gram tags: its tokens, then the field tags
    (prepare.field_tag) of 题名, 文号 and 责任者, then its clearance and filter tags. The gram tags
    (prepare.gram_tag) are packed apart (:func:`packed_grams`): they are distinct from these.

    No positions or weights: nothing reads them (a field's words are its field tags, relevance is
    scored from GIN lookups of those tags, phrases are checked on the stored text). Without them
    COPY parses, compresses and logs half as much per entry. Tokens are letters and digits (see
    tokenize._clean) and tags are made of them and a prefix, so no lexeme is empty or holds a NUL.
    """
    return list(dict.fromkeys(chain(doc.title, doc.docno, doc.author, doc.meta, doc.text,
                                    *field_tags(doc).values(), doc.tags)))


def packed_grams(doc: PreparedDoc) -> bytes:
    """The gram tags' part of :class:`TsvectorBinary`, made from the pairs' codes at once."""
    return doc.grams.joined(GRAM, _NO_POSITIONS).encode()


# PostgreSQL keeps at most this many bytes of lexemes in a tsvector (MAXSTRPOS) and refuses a
# row with more, and with it a whole COPY. A row is cut to fit with room left for its epoch tags.
MAX_LEXEME_BYTES = (1 << 20) - 1
LEXEME_ROOM = MAX_LEXEME_BYTES - 1024


def fitted_lexemes(doc: PreparedDoc) -> list[str]:
    """The lexemes to store for ``doc`` when all of them do not fit :data:`LEXEME_ROOM`.

    A long text of many distinct character pairs (a 200,000-character body of varied text holds
    over 100,000 gram tags of 9 bytes) does not fit. Then its metadata's tokens, field and filter
    tags are kept, with :data:`~lantai.search.prepare.GRAMS_CUT`, then the body's tokens (its words
    in order of first appearance, then the dictionary words inside them) and then its gram tags
    (in the order of their codes) while they fit. A phrase is asked of such rows by its words and
    checked in the stored text (plan_query's ``grams_cut``), so it is still found; body words
    past the cut are not, as text past MAX_INDEXED_CHARS is not.
    """
    kept = dict.fromkeys(chain(doc.title, doc.docno, doc.author, doc.meta, *field_tags(doc).values(), doc.tags,
                               [GRAMS_CUT]))
    room = LEXEME_ROOM - len("".join(kept).encode())
    for lexeme in chain(doc.text, doc.gram_tags()):
        size = len(lexeme.encode())
        if lexeme not in kept and size <= room:
            kept[lexeme] = None
            room -= size
    return list(kept)


def _packed_lexemes(lexemes: list[str]) -> bytes:
    """The lexemes part of :class:`TsvectorBinary` (the count is added with the epoch tags)."""
    return (_NO_POSITIONS.join(lexemes) + _NO_POSITIONS).encode() if lexemes else b""


def with_epoch(row: tuple, row_id: int) -> tuple:
    """A :func:`copy_row` row with its id first and its tsvector completed with its epoch tags:
    the epoch's own (``'ǂE61'``) and each filter tag scoped to the epoch (``'ǂy2020E61'``, layout 4).

    A search with a filter (年度:2020) then asks each epoch for the scoped tag: a GIN scan costs
    about 60 ns per row id of the entry that drives it, and an epoch tag lists all 4,096 rows of
    its epoch where a year's scoped tag lists a few hundred. The epoch tags differ from every
    lexeme of the document (an upper-case ``E`` after a tag), so the lexemes stay distinct, as
    the binary format requires (tsvectorrecv sorts but does not merge).
    """
    *columns, lexemes, count, filters, _cut = row
    epoch = row_id >> EPOCH_BITS
    scoped = [scoped_tag(t, epoch) for t in (TAG, *filters)]
    tsv = TsvectorBinary(_COUNT.pack(count + len(scoped)) + lexemes + _packed_lexemes(scoped))
    return (row_id, *columns, tsv)


_COUNT = struct.Struct("!i")


def scoped_tag(filter_tag: str, epoch: int) -> str:
    """A filter tag scoped to an epoch (see :func:`with_epoch`); of the bare prefix ``TAG``, the
    epoch's own tag (``'ǂE61'``)."""
    return f"{filter_tag}E{epoch}"


def _folded(column: str, text_: str) -> str:
    """``column`` as tokens and phrases see it: lower-cased when ``text_`` has Latin letters
    (normalize lower-cases; the stored text is only width-folded)."""
    return f"lower({column})" if any("a" <= ch <= "z" for ch in text_) else column


# The filter a search drives its epoch scans by when it has several: the one that, in an archive,
# holds the fewest rows (a year; an organ; a document type; a retention period; a 密级; a 全宗).
DRIVING_ORDER = ("year", "organisation", "document_type", "retention", "security_classification", "fonds")


def copy_row(doc: PreparedDoc) -> tuple:
    """A ``search_docs`` row in COPY column order (reindex builds these in its cutting workers)
    whose tsvector is still its packed lexemes and their count, followed by the document's filter
    tags and whether its lexemes were cut to fit (:func:`fitted_lexemes`; an upsert records it,
    a whole-table write asks the table): :func:`with_epoch` adds the row id and the epoch tags and
    completes the tsvector.

    The lexemes must be distinct (tsvectorrecv sorts them but does not merge). The gram tags are
    by construction, unless a token of the text itself starts like one (``ǂg`` is letters, so a
    text could hold it): then the lexemes are merged as strings.

    The tsvector goes in binary: parsing its text form (quoting, escapes, a sort) was most of
    the server's work in a COPY — real 公文 4,900 → 7,600 rows/s with the rows already made."""
    e = doc.entry
    lexemes = tsvector_lexemes(doc)
    packed = _packed_lexemes(lexemes)
    if _GRAM_START in _NO_POSITIONS.encode() + packed:
        lexemes = list(dict.fromkeys(chain(lexemes, doc.gram_tags())))
        packed, count = _packed_lexemes(lexemes), len(lexemes)
    else:
        packed, count = packed + packed_grams(doc), len(lexemes) + len(doc.grams)
    cut = len(packed) - len(_NO_POSITIONS) * count > LEXEME_ROOM
    if cut:
        lexemes = fitted_lexemes(doc)
        packed, count = _packed_lexemes(lexemes), len(lexemes)
    return (e.record_id, e.title, e.document_number, e.author, e.date, e.year, e.retention, e.organisation,
            e.document_type, e.security_classification, doc.clearance_rank, e.archival_code, e.fonds,
            doc.body, packed, count, [t for t in doc.tags if not t.startswith(CLEARANCE_PREFIX)], cut)


class PostgresDialect:
    """tsquery syntax; lexemes are quoted literals, so user text is never read as an operator."""

    def term(self, tokens: list[str], field: str | None) -> str:
        # a field's words are its field tags: the GIN index answers them exactly, where a
        # weighted lexeme ('通知':A) made it recheck the tsvector of every row holding the word
        return "(" + " & ".join(_quote(field_tag(field, t) if field else t) for t in tokens) + ")"

    def gram(self, pair: str) -> str:
        return f"({_quote(pair)} | {_quote(gram_tag(pair))})"

    def grams_cut(self) -> str:
        return _quote(GRAMS_CUT)

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
        name = params.add(phrase)
        columns = [f"d.{field}"] if field else ["d.title", "d.document_number", "d.author", "d.body"]
        return "(" + " OR ".join(f"strpos({_folded(c, phrase)}, {name}) > 0" for c in columns) + ")"

    def filter(self, field: str, value: str, params: Params) -> Pair:
        # a tag in the tsvector (as on SQLite): the GIN index answers the whole match, and the
        # planner has no column index to prefer, testing each row's (out of line) tsvector
        return _quote(tag(field, _year(value) if field == "year" else value)), None

    def range(self, field: str, low: str | None, high: str | None, params: Params) -> Pair:
        convert = _year if field == "year" else str
        low_v, high_v = (convert(v) if v else None for v in (low, high))
        if field == "year" and low_v is not None and high_v is not None and 0 <= high_v - low_v <= 100:
            return self.disj([_quote(tag("year", y)) for y in range(low_v, high_v + 1)]), None
        parts = ([f"d.{field} >= {params.add(low_v)}"] if low_v is not None else []) + \
                ([f"d.{field} <= {params.add(high_v)}"] if high_v is not None else [])
        return None, "(" + " AND ".join(parts or ["TRUE"]) + ")"

    def clearance(self, match: str | None, visible: list[int], hidden: list[int], params: Params,
                  granted: tuple[str, ...] = ()) -> Pair:
        by_rank = f"d.clearance_rank <= {params.add(max(visible))}"
        if granted and hidden:  # the caller's 利用 grants, by record id, whatever their rank
            return match, f"({by_rank} OR d.record_id = ANY(CAST({params.add(list(granted))} AS text[])))"
        return match, by_rank

    def granted(self, match: str | None, granted: tuple[str, ...], visible: list[int], params: Params) -> Pair:
        return match, (f"d.record_id = ANY(CAST({params.add(list(granted))} AS text[])) "
                       f"AND d.clearance_rank > {params.add(max(visible))}")


def _driver(plan: Plan) -> str:
    """The tag whose epoch-scoped form drives a search's epoch scans: the rarest kind of filter
    the plan requires (:data:`DRIVING_ORDER`), else the bare tag prefix (the epoch tag itself)."""
    required = dict(plan.filters)  # any value of a field will do: every required filter holds
    for name in DRIVING_ORDER:
        if name in required:
            return tag(name, _year(required[name]) if name == "year" else required[name])
    return TAG


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
    layout = "5"  # epoch, filter and epoch-scoped filter tags, tsvector out of line; gram tags
    grams_layout = "5"
    renamed = re.compile(r"\b(search_docs)")  # the table, its indexes, constraints and sequence
    _top: int | None = None  # newest row id, read when a search starts
    _state_now: dict[str, str] | None = None  # the index state, likewise

    def _from(self, joined: bool) -> str:
        return "search_docs d"

    def _match_sql(self, param: str) -> str:
        return f"d.tsv @@ CAST({param} AS tsquery)"

    def _score_sql(self, param: str | None) -> str:
        # relevance is scored in _ranked_page from field-tag lookups; the SQL path orders unscored
        # rows (filters only) newest first
        return "0"

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
        # And a match is always asked of the GIN index (see _newest): the planner, guessing from
        # a word's frequency in the whole table, chose to read every row and test its tsvector.
        # One round trip for the settings, the newest row id (see _newest_by_epoch) and the
        # index state (the plan and the stale flag): on a busy machine each round trip waits for a time slice of
        # the server process (measured at load 26: 20-40 ms for a statement doing nothing). The
        # state table is created with the table, by the same ensure_schema.
        # JIT off: with sequential scans off, a plan that still holds one (the state table's)
        # costs over 10^10, so PostgreSQL compiled it with inlining and optimisation — 0.5-0.8 s
        # for a statement reading 3 rows (EXPLAIN ANALYZE at load 16); every search paid it.
        row = conn.execute(text("SELECT set_config('plan_cache_mode', 'force_custom_plan', true), "
                                "set_config('enable_seqscan', 'off', true), set_config('jit', 'off', true), "
                                "(SELECT max(id) FROM search_docs), "
                                f"(SELECT json_object_agg(key, value) FROM {STATE_TABLE})")).one()
        self._top, self._state_now = row[3], row[4] or {}
        try:
            return super().search(conn, query)
        finally:
            self._top = self._state_now = None

    def buffer_fit(self, conn: Connection) -> tuple[int, int]:
        """(bytes of the search table and its GIN index, bytes of the server's ``shared_buffers``).

        A search reads both; when they do not fit, most of its heap and GIN pages come from the
        OS cache at a few µs each (at 1,000,000 entries the two are about 0.8 GB). A missing table
        or index counts as empty (the doctor says the index is missing).
        """
        size = "coalesce(pg_relation_size(to_regclass('{}')), 0)"
        row = conn.execute(text(self._t(f"SELECT {size.format('search_docs')} + {size.format('search_docs_tsv')}, "
                                        "pg_size_bytes(current_setting('shared_buffers'))"))).one()
        return int(row[0]), int(row[1])

    def _search_state(self, conn: Connection) -> dict[str, str]:
        return self._state_now if self._state_now is not None else self._state(conn)

    def _match(self, conn: Connection, plan: Plan, cap: int | None,
               facets: bool) -> tuple[list[int], list[Sequence[Any]] | None]:
        where, params, _ = self._where(plan, True)
        if plan.match is not None and cap is not None:
            # an index built before layout 4 has no scoped tags: its epoch tags still find every match
            scoped = self._state_now is None or layout_number(self._state_now) >= 4
            return self._newest_by_epoch(conn, plan.match, where[:-1], params, cap, facets,
                                         _driver(plan) if scoped else TAG)
        columns = "d.id" + "".join(f", d.{c}" for c in FACET_FIELDS) * facets
        sql = f"SELECT {columns} FROM search_docs d WHERE {' AND '.join(where)} ORDER BY d.id DESC"
        if cap is not None:
            sql += " LIMIT :cap"
            params["cap"] = cap + 1
        rows = conn.execute(text(sql), params).all()
        kept = rows if cap is None else rows[:cap]
        return [r[0] for r in rows], [(*r[1:], 1) for r in kept] if facets else None

    def _newest_by_epoch(self, conn: Connection, match: str, conditions: list[str], params: dict[str, Any],
                         cap: int, facets: bool, driver: str = TAG) -> tuple[list[int], list[Sequence[Any]] | None]:
        """The newest ``cap + 1`` rows matching ``match`` and ``conditions``, newest first, asked
        epoch by epoch (see the module docstring), and the facet counts of the first ``cap``.

        The first round asks the newest epochs holding FIRST_ROUND times the rows wanted; each
        later one as many epochs as the density of matches so far says are needed to fill the
        window (times ASK_MARGIN), or, when the rows left would hold few matches (or the
        estimate times EPOCH_MARGIN reaches past half of them), the words alone below the rows asked.
        """
        top = self._top if self._top is not None else conn.execute(text("SELECT max(id) FROM search_docs")).scalar()
        ids: list[int] = []
        counted: list[Sequence[Any]] = []
        if top is None:
            return ids, counted if facets else None
        want = cap + 1
        high = top >> EPOCH_BITS  # newest epoch not asked yet
        # the first round covers FIRST_ROUND × want rows: a word in half the items or more is
        # then found in one round (2 epochs were fewer rows than the window: always two rounds)
        count = 1 + max(0, -(-(FIRST_ROUND * want - (top & (EPOCH_ROWS - 1)) - 1) // EPOCH_ROWS))
        scanned = 0
        while True:
            low = max(0, high - count + 1)
            scanned += min(top + 1, (high + 1) << EPOCH_BITS) - (low << EPOCH_BITS)
            epochs = [f"({match}) & {_quote(scoped_tag(driver, e))}" for e in range(high, low - 1, -1)]
            left = low << EPOCH_BITS  # row ids below the epochs asked
            alone = self._newest(conn, epochs, conditions, params, want, ids, counted, facets,
                                 fallback=(match, left, scanned) if low > 0 else None)
            if len(ids) >= want or low == 0 or alone:
                break
            density = len(ids) / scanned
            needed = (want - len(ids)) / density * ASK_MARGIN if density else float("inf")
            high, count = low - 1, -(-int(needed) // EPOCH_ROWS)
        return ids, counted if facets else None

    @staticmethod
    def _newest(conn: Connection, matches: list[str], conditions: list[str], params: dict[str, Any], want: int,
                ids: list[int], counted: list[Sequence[Any]], facets: bool,
                fallback: tuple[str, int, int] | None = None) -> bool:
        """Add to ``ids`` the newest rows matching any of ``matches`` until there are ``want``,
        newest first; with ``facets``, add to ``counted`` the facet counts of those among the
        first ``want - 1``, counted by PostgreSQL.

        One GIN scan per tsquery (one per epoch): in ``words & (epoch | epoch …)`` no epoch tag
        is required, so the GIN scan followed the rarest word's whole posting list (a year tag:
        9 % of a million rows) instead of the few thousand rows of each epoch. MATERIALIZED, and
        the id bound outside it: every match is found through the GIN index, then the newest
        kept; given the chance the planner walked the primary key (or read the whole table)
        testing each row's tsvector. The ids come back as one array, the facets as counts.

        ``fallback`` (words, rows below the epochs asked, rows asked so far): in the same
        statement, when the epochs' matches say that the rows below hold few matches — or that
        the epochs needed would reach past half of them — the words alone are asked below the
        epochs (a rare name: one GIN scan of its posting list). A one-time filter decides it on
        the server, so the common case of a rare word costs one round trip instead of two (on a
        busy machine each round trip waits for a time slice). Returns whether that ran: the
        matches are then complete.
        """
        where = " AND ".join([*conditions, "d.tsv @@ CAST(q.x AS tsquery)"])
        columns = "d.id" + "".join(f", d.{c}" for c in FACET_FIELDS) * facets
        values = {**params, "matches": matches, "limit": want - len(ids), "counted": max(0, want - 1 - len(ids))}
        # the epochs newest first, each one's rows newest first (an incremental sort on the
        # ordinality): the LIMIT stops the scans at the epoch that fills the window, so a round
        # may ask more epochs than it needs (the density estimate is rough) at no cost. With
        # every match of every epoch sorted at once, the epochs past it were all read: a
        # 题名 with a 保管期限 read 6,281 rows (5,433 heap pages) for 4,696. "id + 0": no index
        # yields that order, so the planner cannot meet it by walking the primary key testing
        # each row's tsvector (a fast start that the LIMIT makes look cheap)
        epochs = (f"SELECT r.* FROM unnest(CAST(:matches AS text[])) WITH ORDINALITY AS q(x, n) "
                  f"CROSS JOIN LATERAL (SELECT {columns} FROM search_docs d WHERE {where}) r "
                  "ORDER BY q.n, r.id + 0 DESC LIMIT :limit")
        if fallback is None:
            newest = (f"WITH t AS MATERIALIZED ({epochs}) "
                      "SELECT (SELECT array_agg(id ORDER BY id DESC) FROM t), false")
        else:
            words = " AND ".join([*conditions, "d.tsv @@ CAST(:words AS tsquery)"])
            # n: matches so far; the same test as the rounds' estimate (see _newest_by_epoch)
            # in bigint: at a million rows n × left passes 2^31 (integer out of range)
            go = ("n < :want AND (n * CAST(:left AS bigint) <= 2 * CAST(:want AS bigint) * CAST(:scanned AS bigint) "
                  "OR 2 * (:want - n) * :margin * :scanned >= n * CAST(:left AS bigint))")
            newest = (f"WITH e AS MATERIALIZED ({epochs}), "
                      f"g AS (SELECT {go} AS go FROM (SELECT :before + count(*) AS n FROM e) c), "
                      f"w AS MATERIALIZED (SELECT {columns} FROM search_docs d WHERE {words} "
                      "AND (SELECT go FROM g)), "
                      "m AS (SELECT * FROM e UNION ALL SELECT * FROM w WHERE w.id < :left), "
                      "t AS MATERIALIZED (SELECT * FROM m ORDER BY id DESC LIMIT :limit) "
                      "SELECT (SELECT array_agg(id ORDER BY id DESC) FROM t), (SELECT go FROM g)")
            values.update(words=fallback[0], left=fallback[1], scanned=fallback[2], want=want, before=len(ids),
                          margin=EPOCH_MARGIN)
        if not facets:
            found, alone = conn.execute(text(newest), values).one()
            ids += found or []
            return bool(alone)
        nulls = ", ".join(["NULL"] * len(FACET_FIELDS))
        fields = ", ".join(FACET_FIELDS)
        sets = ", ".join(f"({c})" for c in FACET_FIELDS)
        sql = (f"{newest}, {nulls}, NULL UNION ALL SELECT NULL, NULL, {fields}, count(*) FROM "
               f"(SELECT * FROM t ORDER BY id DESC LIMIT :counted) f GROUP BY GROUPING SETS ({sets})")
        alone = False
        for row in conn.execute(text(sql), values):
            if row[-1] is None:  # the ids (no count)
                ids += row[0] or []
                alone = bool(row[1])
            else:
                counted.append(row[2:])
        return alone

    def _ranked_page(self, conn: Connection, plan: Plan, limit: int, after: tuple[Any, int] | None,
                     floor: int | None, ids: list[int]) -> Sequence[Any]:
        """The window's rows best first, scored as on SQLite (sqlite_fts.SqliteIndex._scores):
        Σ over terms of rarity × field weight — 题名 and 文号 10, 责任者 4, anywhere 1 —
        with ties newest first.

        Which window rows hold a term in a field is tested on their stored text
        (_window_hits), all terms and fields in one statement. ts_rank() read each window
        row's tsvector out of line: 500 TOAST lookups, the costliest step of a search.
        """
        if plan.match is None or not plan.has_text:
            return super()._ranked_page(conn, plan, limit, after, floor, ids)
        window = [i for i in ids if floor is None or i >= floor]
        scores = self._scores(conn, plan.rank_terms, window, anywhere=plan.has_or)
        ranked = sorted((-scores.get(i, 0.0), -i) for i in window)
        if after is not None:
            ranked = [r for r in ranked if r > (after[0], -after[1])]
        return [(-negative_id, key, key) for key, negative_id in ranked[: limit + 1]]

    def _scores(self, conn: Connection, terms: list[tuple[str, str | None]], window: list[int],
                anywhere: bool) -> dict[int, float]:
        scores: dict[int, float] = {}
        if not window or not terms:
            return scores
        asked = [(token, field, column) for token, field in terms
                 for column in ([field] if field else [c for c in SCORED if anywhere or c != "*"])]
        hits = self._window_hits(conn, [(token, column) for token, _f, column in asked], window)
        everything = set(window)
        for token, field in terms:
            found = {column: hits[n] for n, (t, f, column) in enumerate(asked) if (t, f) == (token, field)}
            holding = set().union(*found.values()) if anywhere or field else everything
            rarity = math.log(1 + len(window) / (1 + len(holding)))
            for column, rows in found.items():
                weight = SCORED.get(column, (1.0,))[0] if not field else FIELD_WEIGHT.get(column, 1.0)
                for row_id in rows:
                    scores[row_id] = scores.get(row_id, 0.0) + rarity * weight
        return scores

    @classmethod
    def _window_hits(cls, conn: Connection, asked: list[tuple[str, str]], window: list[int]) -> list[set[int]]:
        """For each (token, scored column), the window rows holding the token there.

        In 题名, 文号 and 责任者 the window's rows are read by id and their stored text tested,
        all tokens and columns in one statement (tokens are cut from the width-folded, lower-cased
        text, so each is found in its field's text; a normalised 文号 token is not, and is asked
        of the GIN index as a field tag). Asking the GIN index for the field tags
        instead (one scan per tag and epoch) visited every row of those epochs holding the tag:
        about 3,700 heap rows for a 500-row window, 8.7 ms at 1,000,000 entries for a word with a
        年度. A token asked anywhere (``*``: queries with OR) may be in the body, which is out of
        line; the GIN index answers those (:meth:`_gin_hits`).
        """
        found: list[set[int]] = [set() for _ in asked]
        in_index = [n for n, (token, column) in enumerate(asked) if column == "*" or is_document_number_token(token)]
        in_fields = sorted(set(range(len(asked))) - set(in_index))
        if in_fields:
            params: dict[str, Any] = {"w": window}
            tests = []
            for i, n in enumerate(in_fields):
                token, column = asked[n]
                params[f"t{i}"] = token
                fields = SCORED[column][1] if column in SCORED else (column,)
                tests.append("(" + " OR ".join(f"strpos({_folded('d.' + f, token)}, :t{i}) > 0" for f in fields) + ")")
            sql = f"SELECT d.id, {', '.join(tests)} FROM search_docs d WHERE d.id = ANY(:w)"
            for row in conn.execute(text(sql), params):
                for i, n in enumerate(in_fields):
                    if row[1 + i]:
                        found[n].add(row[0])
        queries = [cls._field_query(*asked[n]) for n in in_index]
        for n, rows in zip(in_index, cls._gin_hits(conn, queries, window), strict=True):
            found[n] = rows
        return found

    @staticmethod
    def _field_query(token: str, column: str) -> str:
        """tsquery for ``token`` in a scored column (field tags) or anywhere (``*``)."""
        if column == "*":
            return _quote(token)
        fields = SCORED[column][1] if column in SCORED else (column,)
        return "(" + " | ".join(_quote(field_tag(f, token)) for f in fields) + ")"

    @staticmethod
    def _gin_hits(conn: Connection, queries: list[str], window: list[int]) -> list[set[int]]:
        """For each tsquery, the window rows matching it; one statement, one GIN scan per query
        and epoch holding window rows (an epoch tag then drives each scan: a common word alone
        is in most rows)."""
        found: list[set[int]] = [set() for _ in queries]
        if not queries:
            return found
        epochs = sorted({i >> EPOCH_BITS for i in window})
        keys = [n for n in range(len(queries)) for _e in epochs]
        asked = [f"({q}) & {_quote(scoped_tag(TAG, e))}" for q in queries for e in epochs]
        sql = ("SELECT r.k, array_agg(r.id) FROM unnest(CAST(:keys AS int[]), CAST(:asked AS text[])) AS q(k, x) "
               "CROSS JOIN LATERAL (SELECT q.k, d.id FROM search_docs d WHERE d.tsv @@ CAST(q.x AS tsquery) "
               # "id + 0": not an index condition, or the planner fetched each window row by id
               # and tested its tsvector (out of line) instead of asking the GIN index. The range
               # first: most rows of the oldest epoch asked are below the window, and testing
               # each against the 500 ids took half the statement's time (5.3 → 2.4 ms)
               "AND d.id + 0 BETWEEN :low AND :high AND d.id + 0 = ANY(:w)) r GROUP BY r.k")
        values = {"keys": keys, "asked": asked, "w": window, "low": min(window), "high": max(window)}
        for k, ids in conn.execute(text(sql), values):
            found[k] = set(ids)
        return found

    # --- schema and writes -----------------------------------------------------------------------
    def ensure_schema(self, conn: Connection) -> None:
        conn.execute(text(self._state_ddl()))
        conn.execute(text(self._changes_ddl()))
        conn.execute(text(DDL[0]))
        # before the indexes: CREATE INDEX IF NOT EXISTS takes a SHARE lock on the table, and two
        # processes holding it would deadlock in _set_storage's ALTER TABLE on an older table
        self._set_storage(conn)
        for statement in DDL[1:]:
            conn.execute(text(statement))
        if not self._state(conn):
            self._mark_current(conn)

    def _set_storage(self, conn: Connection) -> None:
        """The tsvector out of line (layout 3), and the body compressed with lz4, on a table an
        older release made. Both apply to rows written from then on.

        Out of line, a row is the few hundred bytes of its metadata: a search reads the rows the
        GIN index found and never tests their tsvectors; with the tsvector inline (layout 2: ~3 KB
        compressed) those rows filled a page each, and reading 5,000 of them took 90 ms (4 ms out
        of line). An index of layout 2 is stale until reindexed.
        lz4 instead of the default pglz for the body: a reindex compresses every body (COPY of
        real 公文 5,600 → 6,400 rows/s, the same size) and a phrase check decompresses the ones it
        reads. Nothing needs a reindex: each row says how it was compressed.
        """
        columns = dict(conn.execute(text(self._t(
            "SELECT attname, CAST(attstorage AS text) || CAST(attcompression AS text) FROM pg_attribute WHERE attrelid = "
            "CAST('search_docs' AS regclass) AND attname IN ('tsv', 'body')"))).all())
        if not columns.get("tsv", "").startswith("x"):
            conn.execute(text(self._t("ALTER TABLE search_docs ALTER COLUMN tsv SET STORAGE EXTENDED, "
                                      "SET (toast_tuple_target = 512)")))
        if not columns.get("body", "").endswith("l"):
            conn.execute(text(self._t("ALTER TABLE search_docs ALTER COLUMN body SET COMPRESSION lz4")))

    def upsert(self, conn: Connection, entries: Iterable[IndexEntry]) -> int:
        """Add or replace entries; a replaced entry takes a new row id, as if indexed now (as on
        SQLite), so its epoch tag is known before the row is written.

        While a rebuild runs the ids are logged *after* the write: the rebuild's start locks
        the table against writers, so a writer either committed before it or sees its mark.
        """
        count = 0
        written: list[str] = []
        updates = ", ".join(f"{c} = EXCLUDED.{c}" for c in ("id", *COLUMNS[1:]))
        sql = self._t(f"INSERT INTO search_docs (id, {', '.join(COLUMNS)}) VALUES "
                      f"({', '.join(['%s'] * (len(COLUMNS) + 1))}) ON CONFLICT (record_id) DO UPDATE SET {updates}")
        sequence = self._t("SELECT nextval(pg_get_serial_sequence('search_docs', 'id')) FROM generate_series(1, %s)")
        send_tsvectors_binary(conn.connection.dbapi_connection)
        for chunk in _chunks(iter(entries), BATCH):
            ids = conn.exec_driver_sql(sequence, (len(chunk),)).scalars().all()
            made = [copy_row(prepare(e, self.tokenizer, distinct=True)) for e in chunk]
            conn.exec_driver_sql(sql, [with_epoch(row, i) for row, i in zip(made, ids, strict=True)])
            if any(row[-1] for row in made):
                self._set_state(conn, GRAMS_CUT_KEY, "1")
            count += len(made)
            written += [e.record_id for e in chunk]
        self.note_changes(conn, written)
        return count

    def delete(self, conn: Connection, record_ids: Iterable[str]) -> int:
        ids = list(record_ids)
        if not ids:
            return 0
        result = conn.exec_driver_sql(self._t("DELETE FROM search_docs WHERE record_id = ANY(%s)"), (ids,))
        self.note_changes(conn, ids)
        return int(result.rowcount)

    def _log_changes(self, conn: Connection, record_ids: list[str]) -> None:
        # DO UPDATE, not DO NOTHING: it waits for a rebuild taking this id (see take_changes)
        conn.exec_driver_sql(f"INSERT INTO {CHANGES_TABLE} (record_id) SELECT DISTINCT unnest(%s::text[]) "
                             "ON CONFLICT (record_id) DO UPDATE SET record_id = EXCLUDED.record_id", (record_ids,))

    def clear(self, conn: Connection) -> None:
        conn.execute(text(self._t("TRUNCATE search_docs")))

    def reindex(self, conn: Connection, entries: Iterable[IndexEntry], progress: Progress | None = None,
                workers: int = 1) -> int:
        self.ensure_schema(conn)
        conn.execute(text(f"DROP TABLE IF EXISTS search_docs{SHADOW}"))  # what a rebuild killed mid-way left
        self._forget_rebuild(conn)
        conn.execute(text("TRUNCATE search_docs RESTART IDENTITY"))
        for name in (*INDEX_NAMES, *LEGACY_INDEXES):  # built after the load: several times faster
            conn.execute(text(f"DROP INDEX IF EXISTS {name}"))
        count = self._copy(conn, entries, progress, workers)
        self._build_indexes(conn)
        self._mark_current(conn)
        self._record_grams_cut(conn)
        return count

    def _copy(self, conn: Connection, entries: Iterable[IndexEntry], progress: Progress | None, workers: int) -> int:
        """COPY ``entries`` into the (empty) table with row ids from 1; returns how many.

        The table is truncated in this transaction first, so the rows can be written frozen
        (``FREEZE``): the pages are all-visible at once, so the first searches after a reindex do
        not rewrite every page they read to set hint bits, and vacuum has nothing to freeze.
        Each epoch's rows are written grouped by filter values (:data:`CLUSTER_ORDER`).
        """
        count = 0
        conn.execute(text(self._t("TRUNCATE search_docs")))
        send_tsvectors_binary(conn.connection.dbapi_connection)  # before the cursor: it copies the adapters
        cursor = conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]
        epoch: list[tuple] = []  # the rows of the epoch being filled, written when it is full
        held = 0  # characters of body and tsvector text in ``epoch``
        with cursor.copy(self._t(f"COPY search_docs (id, {', '.join(COLUMNS)}) FROM STDIN WITH (FREEZE, FORMAT BINARY)")) as copy:
            copy.set_types(COPY_TYPES)
            for chunk in prepared_chunks(entries, self.tokenizer, BATCH, workers, finish=copy_row,
                                         distinct=True):
                for row in chunk:
                    count += 1
                    epoch.append(with_epoch(row, count))
                    held += len(row[_BODY]) + len(row[_TSV])
                    # the next id starts an epoch; or long texts: write what is held, grouped
                    if (count + 1) % EPOCH_ROWS == 0 or held > EPOCH_HELD_CHARS:
                        _write_clustered(copy, epoch)
                        held = 0
                if progress is not None:
                    progress(len(chunk))
            _write_clustered(copy, epoch)
        conn.execute(text(self._t("SELECT setval(pg_get_serial_sequence('search_docs', 'id'), :n, :called)")),
                     {"n": max(count, 1), "called": count > 0})
        return count

    def _record_grams_cut(self, conn: Connection) -> None:
        """Set or clear the mark that rows were cut to fit (fitted_lexemes) from the table itself,
        after a whole table was written: phrases ask cut rows by words only while there are some.

        One GIN lookup, 0.8 ms at 1,000,000 rows. Sequential scans are off for it: the planner
        chose to test every row's (out of line) tsvector, which in a swap holds the table's lock.
        """
        previous = conn.execute(text("SELECT current_setting('enable_seqscan')")).scalar()
        conn.execute(text("SELECT set_config('enable_seqscan', 'off', true)"))
        found = conn.execute(text(self._t("SELECT EXISTS (SELECT 1 FROM search_docs WHERE tsv @@ CAST(:t AS tsquery))")),
                             {"t": _quote(GRAMS_CUT)}).scalar()
        conn.execute(text("SELECT set_config('enable_seqscan', :v, true)"), {"v": previous})
        if found:
            self._set_state(conn, GRAMS_CUT_KEY, "1")
        else:
            conn.execute(text(f"DELETE FROM {STATE_TABLE} WHERE key = :k"), {"k": GRAMS_CUT_KEY})

    def _build_indexes(self, conn: Connection) -> None:
        """The secondary indexes, after a bulk load; then fresh planner statistics.

        A GIN build sorts its entries in ``maintenance_work_mem``; the session asks for more
        than the server's default (64 MB), which made the build spill to disk.
        """
        conn.execute(text(f"SET LOCAL maintenance_work_mem = '{BUILD_MEMORY}'"))
        for statement in DDL[1:]:
            conn.execute(text(self._t(statement)))
        conn.execute(text(self._t("ANALYZE search_docs")))

    # --- online rebuild (lantai.search.online) ----------------------------------------------------
    def shadow(self) -> PostgresIndex:
        """The same index over the shadow table a rebuild fills."""
        twin = PostgresIndex(self._tokenizer)
        twin.suffix = SHADOW
        return twin

    def start_rebuild(self, engine: Engine) -> None:
        """Create an empty shadow table and start logging changes.

        SHARE ROW EXCLUSIVE waits for every writer of the live table to commit (the rebuild
        reads their work) and makes later ones wait until the mark is committed (they see it).
        """
        with engine.begin() as conn:
            self.ensure_schema(conn)
            conn.execute(text(f"DROP TABLE IF EXISTS search_docs{SHADOW}"))
            conn.execute(text("LOCK TABLE search_docs IN SHARE ROW EXCLUSIVE MODE"))
            shadow = self.shadow()
            conn.execute(text(shadow._t(DDL[0])))
            shadow._set_storage(conn)
            conn.execute(text(f"DELETE FROM {CHANGES_TABLE}"))
            self._set_state(conn, REBUILD_KEY, dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def load_shadow(self, engine: Engine, entries: Iterable[IndexEntry], progress: Progress | None,
                    workers: int) -> int:
        """COPY into the shadow table: no writer or reader uses it, so one transaction."""
        with engine.begin() as conn:
            return self.shadow()._copy(conn, entries, progress, workers)

    def finish_shadow(self, engine: Engine) -> None:
        with engine.begin() as conn:
            self.shadow()._build_indexes(conn)

    def begin_write(self, conn: Connection) -> None:
        """Nothing to do: PostgreSQL's writers lock rows, not the database."""

    def lock_for_swap(self, conn: Connection) -> None:
        """Wait for the live table's writers to commit and hold off new ones; searches go on."""
        conn.execute(text(f"SET LOCAL lock_timeout = '{SWAP_LOCK_TIMEOUT}'"))
        conn.execute(text("LOCK TABLE search_docs IN EXCLUSIVE MODE"))

    def swap(self, conn: Connection) -> None:
        """Drop the live table and give the shadow table, its indexes, constraints and sequence
        the live names (inside the caller's locked transaction)."""
        shadow = f"search_docs{SHADOW}"
        conn.execute(text("DROP TABLE search_docs"))
        conn.execute(text(f"ALTER TABLE {shadow} RENAME TO search_docs"))
        for (name,) in conn.execute(text("SELECT conname FROM pg_constraint WHERE conrelid = "
                                         "CAST('search_docs' AS regclass) AND conname LIKE :p"), {"p": shadow + "%"}):
            conn.execute(text(f'ALTER TABLE search_docs RENAME CONSTRAINT "{name}" TO '
                              f'"search_docs{name[len(shadow):]}"'))
        for (name,) in conn.execute(text("SELECT indexname FROM pg_indexes WHERE schemaname = current_schema() "
                                         "AND tablename = 'search_docs' AND indexname LIKE :p"), {"p": shadow + "%"}):
            conn.execute(text(f'ALTER INDEX "{name}" RENAME TO "search_docs{name[len(shadow):]}"'))
        conn.execute(text(f"ALTER SEQUENCE IF EXISTS {shadow}_id_seq RENAME TO search_docs_id_seq"))
        self._forget_rebuild(conn)
        self._mark_current(conn)
        self._record_grams_cut(conn)  # the replaced table's rows may have been cut, the new ones not

    def finish_rebuild(self, engine: Engine) -> None:
        """Nothing left: the replaced table was dropped in the swap (PostgreSQL frees it at commit)."""

    def drop_shadow(self, engine: Engine) -> None:
        with engine.begin() as conn:
            conn.execute(text(f"DROP TABLE IF EXISTS search_docs{SHADOW}"))


# Within an epoch, rows are written grouped by these columns (a row's id, hence its rank among
# equals, is kept): a search driven by a filter's epoch-scoped tag then finds that year's or that
# retention period's rows on a few adjacent pages instead of one page per row. Searches read an
# epoch's matches whole and order them by id, so where a row sits in its epoch changes no result.
# Measured at 1,000,000 entries: a word with a 年度 visited 6,096 heap pages for 4,949 rows, 1,165
# grouped; 题名 word with 保管期限:永久 3,666 pages, 2,098 grouped.
CLUSTER_ORDER = ("year", "retention", "organisation", "document_type")
_CLUSTER_AT = tuple(1 + COLUMNS.index(c) for c in CLUSTER_ORDER)  # positions in a with_epoch row
_BODY, _TSV = COLUMNS.index("body"), COLUMNS.index("tsv")  # positions in a copy_row row
# An epoch is held in memory until written; a body may hold up to a million characters, so an epoch
# of long documents is written in parts (each grouped) once its texts pass this many characters.
EPOCH_HELD_CHARS = 32_000_000


def _write_clustered(copy: Any, rows: list[tuple]) -> None:
    """Write one epoch's ``rows`` (see :data:`CLUSTER_ORDER`) and empty the list."""
    year, *others = _CLUSTER_AT
    rows.sort(key=lambda r: (r[year] is not None, r[year] or 0, *(r[i] for i in others)))  # no year first
    for row in rows:
        copy.write_row(row)
    rows.clear()


def _chunks(items: Iterator, size: int) -> Iterator[list]:
    while chunk := list(islice(items, size)):
        yield chunk
