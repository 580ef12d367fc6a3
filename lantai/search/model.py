"""What goes into the index and what comes out: plain dataclasses shared by every backend."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from lantai.domain.search import MAX_RESULT_WINDOW  # noqa: F401  (re-exported: backends and callers import it here)

SORTS = ("relevance", "date", "-date", "archival_code")
# Facet name (as returned) → IndexEntry attribute; all are exact-value metadata.
FACET_FIELDS = ("year", "retention", "organisation", "document_type", "security_classification", "fonds")


@dataclass(frozen=True)
class IndexEntry:
    """One item (件) as the index sees it; built by ingest from the catalogue row and the text derivative."""

    record_id: str
    title: str = ""
    document_number: str = ""
    author: str = ""
    body: str = ""
    year: int | None = None
    date: str = ""  # YYYY-MM-DD (or a prefix of it)
    retention: str = ""
    organisation: str = ""
    document_type: str = ""
    security_classification: str = ""
    archival_code: str = ""
    fonds: str = ""


@dataclass(frozen=True)
class SearchQuery:
    """A search as the user asked it. ``max_clearance`` defaults to the lowest level: fail closed.

    ``text`` takes the query language of :mod:`lantai.search.querylang` (quotes, AND/OR/NOT,
    ``题名:`` …); the keyword filters are ANDed with it and are exact except the text ones
    (``title``, ``document_number``, ``author``), which are searched like query words.

    A page is ``limit`` hits after ``cursor`` (the previous page's ``next_cursor``), or after the
    first ``offset`` hits (numbered pages; ``offset + limit`` at most :data:`MAX_RESULT_WINDOW`),
    not both.
    """

    text: str = ""
    title: str | None = None
    document_number: str | None = None
    author: str | None = None
    year: int | None = None
    year_from: int | None = None
    year_to: int | None = None
    retention: str | None = None
    organisation: str | None = None
    document_type: str | None = None
    security_classification: str | None = None
    fonds: str | None = None
    date_from: str | None = None
    date_to: str | None = None
    max_clearance: str = "公开"
    # 电子文件号 the caller may see whatever their 密级: their 利用 grants in force, read by the
    # caller at query time (lantai.services.visibility.granted_now); found like any visible item.
    granted: tuple[str, ...] = ()
    sort: str = "relevance"
    limit: int = 20
    cursor: str | None = None
    offset: int = 0
    facets: bool = False
    exact_counts: bool = False  # count every match even when there are very many (statistics)
    snippet_chars: int = 120


@dataclass(frozen=True)
class Hit:
    """One result. ``snippet``/``title`` highlight spans are (start, end) character offsets."""

    record_id: str
    title: str
    document_number: str
    author: str
    date: str
    year: int | None
    retention: str
    organisation: str
    document_type: str
    security_classification: str
    archival_code: str
    fonds: str
    score: float
    snippet: str = ""
    snippet_highlights: tuple[tuple[int, int], ...] = ()
    title_highlights: tuple[tuple[int, int], ...] = ()

    def marked_snippet(self, open_mark: str = "【", close_mark: str = "】") -> str:
        return mark(self.snippet, self.snippet_highlights, open_mark, close_mark)

    def marked_title(self, open_mark: str = "【", close_mark: str = "】") -> str:
        return mark(self.title, self.title_highlights, open_mark, close_mark)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["snippet_highlights"] = [list(s) for s in self.snippet_highlights]
        data["title_highlights"] = [list(s) for s in self.title_highlights]
        return data


@dataclass
class SearchResult:
    """A page of hits, the total number of visible matches, facet counts and the next page's cursor."""

    hits: list[Hit]
    total: int
    total_exact: bool = True  # False: at least ``total`` match (very broad query); facets are a sample
    next_cursor: str | None = None
    facets: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    stale: bool = False
    elapsed_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {
            "total": self.total, "total_exact": self.total_exact, "next_cursor": self.next_cursor, "stale": self.stale,
            "elapsed_ms": round(self.elapsed_ms, 2), "hits": [h.to_dict() for h in self.hits],
            "facets": {k: [{"value": v, "count": c} for v, c in vals] for k, vals in self.facets.items()},
        }


def mark(text: str, spans: tuple[tuple[int, int], ...], open_mark: str, close_mark: str,
         escape: Any = None) -> str:
    """``text`` with each span wrapped in marks; ``escape`` (e.g. html.escape) applies to the text."""
    esc = escape or (lambda s: s)
    out, pos = [], 0
    for start, end in spans:
        out += [esc(text[pos:start]), open_mark, esc(text[start:end]), close_mark]
        pos = end
    out.append(esc(text[pos:]))
    return "".join(out)
