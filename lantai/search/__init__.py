"""Full-text search in Chinese over metadata and document text (issue 8).

Public API::

    from lantai.search import IndexEntry, SearchQuery, open_index, GuardedIndex

    index = open_index(conn)                 # SQLite FTS5 or PostgreSQL, from the dialect
    index.ensure_schema(conn)
    GuardedIndex(index).upsert(conn, [entry])  # in ingest's unit of work; never raises
    result = index.search(conn, SearchQuery(text="档案 年度:2025", max_clearance="内部", facets=True))
    index.reindex(conn, entries, progress=bar.advance, workers=os.cpu_count())

Modules: :mod:`.tokenize` (rjieba + user dictionary, the measured choice), :mod:`.docnumber`
(文号), :mod:`.querylang` (query syntax), :mod:`.plan` (query → match + SQL, security filter),
:mod:`.sqlbase` (windows, pages, facets shared by the backends), :mod:`.sqlite_fts` /
:mod:`.postgres_fts` (backends), :mod:`.prepare` (entry → tokens and filter tags), :mod:`.bulk`
(parallel reindex), :mod:`.cursor`, :mod:`.snippets`, :mod:`.guard` (stale marking),
:mod:`.extract` (text from PDF, OFD, DOCX, XLSX).
"""

from lantai.search.guard import GuardedIndex
from lantai.search.index import SearchIndex, open_index
from lantai.search.model import FACET_FIELDS, SORTS, Hit, IndexEntry, SearchQuery, SearchResult
from lantai.search.tokenize import Tokenizer, default_tokenizer

__all__ = ["FACET_FIELDS", "SORTS", "GuardedIndex", "Hit", "IndexEntry", "SearchIndex", "SearchQuery",
           "SearchResult", "Tokenizer", "default_tokenizer", "open_index"]
