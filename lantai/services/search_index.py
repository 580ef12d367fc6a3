"""Keeping the full-text index in step with the archive, and querying it for people.

* Text is extracted once, at ingest, in the worker that already holds the staged files, and kept
  as a derivative in the item's OCFL object (``derivatives/text.txt``), so re-indexing never
  re-extracts.
* The index row is written in the same unit of work as the catalogue row (ingest, recovery,
  re-projection after a new version) through :class:`lantai.search.GuardedIndex`: a broken index
  never blocks the archive — it is marked stale and ``lantai search reindex`` rebuilds it.
* ``reindex`` and ``rebuild`` read entries from the catalogue plus the stored text, in bulk.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item
from lantai.errors import LantaiError
from lantai.search import GuardedIndex, IndexEntry, SearchQuery, open_index
from lantai.search.extract import extract_text
from lantai.services.catalogue import PENDING_DESTRUCTION as WITHDRAWN  # 待销毁: in no search

if TYPE_CHECKING:
    from lantai.services.archive import Archive

TEXT_PATH = "derivatives/text.txt"
MAX_EXTRACT_BYTES = 64 * 1024 * 1024  # larger files are not read whole into memory for indexing
MAX_TEXT_CHARS = 1_000_000
_EXTRACTABLE = (".pdf", ".ofd", ".docx", ".xlsx", ".txt")
PAGE = 500  # catalogue rows read per query by iter_entries


def extract_body(staged: dict[str, Any], record: Any) -> str:
    """Text of the item's files for indexing: main documents first, each capped, failures skipped.

    The encodings of one 文档 (e.g. 正本.ofd and 正本.pdf) are renditions of the same text: it is
    extracted once, from the cheapest rendition that yields any (plain text, OFD, DOCX, XLSX,
    then PDF), the others only when that one yields nothing. Files no encoding names come last.
    """
    budget = MAX_TEXT_CHARS
    parts: list[str] = []
    for renditions in _documents(staged, record):
        for name in sorted(renditions, key=_extraction_cost):
            if budget <= 0:
                return "\n".join(parts)
            text = _extract(staged[name], name, budget)
            if text.strip():
                parts.append(text)
                budget -= len(text)
                break
    return "\n".join(parts)


_COST = {".txt": 0, ".ofd": 1, ".docx": 2, ".xlsx": 3, ".pdf": 4}  # CPU to extract, cheapest first


def _extraction_cost(name: str) -> tuple[int, str]:
    return _COST.get(Path(name).suffix.lower(), 9), name


def _documents(staged: dict[str, Any], record: Any) -> list[list[str]]:
    """Staged file names grouped by 文档, main documents first, in document order."""
    groups: dict[int, tuple[bool, list[str]]] = {}
    named: set[str] = set()
    for document, _data, encoding in record.iter_encodings():
        name = encoding.computer_file_name
        if name in staged and name not in named:
            named.add(name)
            groups.setdefault(id(document), ((document.document_role or "主文档") != "主文档", []))[1].append(name)
    ordered = sorted(groups.values(), key=lambda group: group[0])  # stable: document order within a role
    return [names for _secondary, names in ordered] + [[n] for n in sorted(staged) if n not in named]


def _extract(file: Any, name: str, budget: int) -> str:

    if not name.lower().endswith(_EXTRACTABLE) or file.size > MAX_EXTRACT_BYTES:
        return ""
    if name.lower().endswith(".pdf") and not _ends_like_pdf(Path(file.path)):
        return ""  # not a complete PDF: parsers crawl through such files for little text
    try:
        return extract_text(Path(file.path), max_chars=budget)
    except LantaiError:
        return ""  # unreadable content is the usability check's business, not the index's


def _ends_like_pdf(path: Path) -> bool:
    """A complete PDF ends with %%EOF (give or take trailing whitespace or junk)."""
    try:
        with open(path, "rb") as fh:
            fh.seek(max(0, path.stat().st_size - 2048))
            return b"%%EOF" in fh.read()
    except OSError:
        return False


def _index(conn: Connection, count_window: int | None = None) -> Any:

    return open_index(conn, count_window=count_window)


def ensure_index(archive: Archive) -> None:
    """Create the index tables when missing (idempotent; called when an archive is opened)."""
    with archive.engine.begin() as conn:
        _index(conn).ensure_schema(conn)


def _guarded(archive_home: Path, conn: Connection) -> Any:

    return GuardedIndex(_index(conn), stale_file=archive_home / "index" / "STALE")


def entry_for(item: Item, body: str) -> Any:

    return IndexEntry(record_id=item.record_id, title=item.title or "", document_number=item.document_number or "",
                      author=item.author or "", body=body, year=item.year, date=item.date or "",
                      retention=item.retention or "", organisation=item.organisation or "",
                      document_type=item.document_type or "", security_classification=item.security_classification or "",
                      archival_code=item.archival_code or "", fonds=item.fonds_code or "")


def stored_text(store: Any, record_id: str) -> str:
    try:
        return store.read_bytes(record_id, TEXT_PATH).decode("utf-8", errors="replace")
    except LantaiError:
        return ""


def index_items(session: Session, store: Any, home: Path, items: Iterable[Item | Any],
                bodies: dict[str, str] | None = None) -> bool:
    """Upsert index rows for catalogue items inside the caller's transaction; never raises.

    ``items`` are catalogue rows, or anything carrying their column values as attributes.

    ``bodies`` gives the stored text of items whose text the caller already holds (ingest's
    workers extracted it); the others' text is read from the store.
    """
    items = list(items)
    if not items:
        return True
    session.flush()
    conn = session.connection()
    bodies = bodies or {}
    withdrawn = [item.record_id for item in items if getattr(item, "status", "") == WITHDRAWN]
    entries = [entry_for(item, bodies[item.record_id] if item.record_id in bodies else stored_text(store, item.record_id))
               for item in items if item.record_id not in withdrawn]
    guarded = _guarded(home, conn)
    if withdrawn and not guarded.delete(conn, withdrawn):  # 待销毁: found by no search
        return False
    return bool(guarded.upsert(conn, entries)) if entries else True


def iter_entries(archive: Archive) -> Iterator[Any]:
    """Every catalogued item as an index entry, with its stored text (no re-extraction).

    Read a page at a time, each on a connection of its own: the index writer may be streaming a
    COPY on its connection, and one read held open for the whole rebuild would keep SQLite
    from checkpointing its write-ahead log (which then grows by everything the rebuild writes).
    """
    last = 0
    while True:
        with archive.engine.connect() as conn, Session(bind=conn) as session:
            items = session.scalars(select(Item).where(Item.id > last).order_by(Item.id).limit(PAGE)).all()
            page_end = items[-1].id if items else last
            session.expunge_all()
        for item in items:
            if item.status != WITHDRAWN:
                yield entry_for(item, stored_text(archive.store, item.record_id))
        if len(items) < PAGE:
            return
        last = page_end


def entries_for(archive: Archive, record_ids: list[str]) -> list[Any]:
    """Current index entries of these items (items no longer catalogued are left out)."""
    with archive.engine.connect() as conn, Session(bind=conn) as session:
        items = session.scalars(select(Item).where(Item.record_id.in_(record_ids)).order_by(Item.id)).all()
        session.expunge_all()
    return [entry_for(item, stored_text(archive.store, item.record_id)) for item in items if item.status != WITHDRAWN]


def reindex(archive: Archive, progress: Any = None, workers: int = 1) -> int:
    """Rebuild the whole index from the catalogue and the stored text derivatives.

    Online (lantai.search.online): ingest and corrections go on meanwhile, and are caught up.
    ``workers`` processes cut the text into words (``lantai search reindex`` uses every core).
    """
    with archive.engine.begin() as conn:
        guarded = _guarded(archive.home, conn)
        guarded.index.ensure_schema(conn)
    return int(guarded.rebuild(archive.engine, iter_entries(archive), lambda ids: entries_for(archive, ids),
                               progress, workers))


def doctor_findings(engine: Any, home: Path) -> tuple[str | None, tuple[int, int] | None]:
    """For ``lantai doctor``: why the index needs ``lantai search reindex`` (None when current), and
    on PostgreSQL (bytes the search reads, the server's ``shared_buffers``)."""
    with engine.connect() as conn:
        guarded = _guarded(home, conn)
        index = guarded.index
        return guarded.stale_reason(conn), index.buffer_fit(conn) if index.backend == "postgresql" else None


def backend(archive: Archive) -> str:
    """Which index the catalogue database carries (``sqlite`` FTS5 or ``postgresql``)."""
    with archive.engine.connect() as conn:
        return str(_index(conn).backend)


def search(archive: Archive, text: str, *, clearance: str, limit: int = 20, cursor: str | None = None,
           offset: int = 0, facets: bool = False, sort: str = "relevance", filters: dict[str, Any] | None = None,
           granted: tuple[str, ...] = ()) -> Any:
    """Run a query for someone with ``clearance``; items above it never appear in anything returned,
    except those whose record id is in ``granted`` (the caller's 利用 grants in force).

    A page starts after ``cursor`` or after the first ``offset`` hits (see SearchQuery).
    ``filters`` are exact SearchQuery field filters (year, retention, organisation, document_type, fonds).
    """

    query = SearchQuery(text=text, facets=facets, max_clearance=clearance, sort=sort, limit=limit, cursor=cursor,
                        offset=offset, granted=granted, **(filters or {}))
    with archive.engine.connect() as conn:
        return _index(conn, archive.settings.search_count_window).search(conn, query)
