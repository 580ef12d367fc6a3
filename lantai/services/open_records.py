"""开放档案: the public, read-only view of items whose 控制标识 is 开放 (and 密级 公开).

Used only by the ``/open`` page (setting ``public_open_page``); it lists catalogue metadata of
open items and nothing else, so it needs no principal. Logged-in readers see these items through
:func:`lantai.services.visibility.visible_to` like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from lantai.catalog.models import Item
from lantai.services.visibility import open_to_public

if TYPE_CHECKING:
    from lantai.services.archive import Archive

PAGE_SIZE = 20


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search_open(archive: Archive, query: str, *, page: int = 1) -> dict[str, Any]:
    """One page of open items whose 题名, 文号, 责任者 or 档号 contain ``query`` (all when empty)."""
    conditions = [open_to_public()]
    text = (query or "").strip()[:200]
    if text:
        pattern = f"%{_escape_like(text)}%"
        conditions.append(or_(*(c.like(pattern, escape="\\") for c in (Item.title, Item.document_number, Item.author,
                                                                         Item.archival_code))))
    with archive.sessions() as session:
        total = session.scalar(select(func.count(Item.id)).where(*conditions)) or 0
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(1, page), pages)  # past the end: the last page
        rows = session.scalars(select(Item).where(*conditions).order_by(Item.date.desc(), Item.archival_code)
                               .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE))
        items = [{"title": i.title, "document_number": i.document_number, "author": i.author, "date": i.date,
                  "archival_code": i.archival_code, "retention": i.retention, "year": i.year} for i in rows]
    return {"items": items, "total": int(total), "page": page, "pages": pages}
