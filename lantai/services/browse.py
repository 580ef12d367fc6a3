"""Browsing (档案库): pages of visible items in archival order and the fonds → year → retention →
organisation facets, always through :func:`lantai.services.access.visible`."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, func, select

from lantai.catalog.models import Item
from lantai.domain.roles import Permission
from lantai.errors import BadInput
from lantai.services.access import require, visible
from lantai.services.arrange_reference import code_names
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

MAX_PAGE_SIZE = 100
BROWSE_LEVELS: tuple[tuple[str, str], ...] = (("fonds_code", "全宗"), ("year", "年度"), ("retention", "保管期限"),
                                              ("organisation", "机构或问题"))


@dataclass


class Page:
    """One page of a list. ``total_exact`` False: at least ``total`` match (a very broad full-text
    search stops counting at the ``search_count_window`` setting), so ``pages`` is a lower bound too."""

    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "total_exact": self.total_exact, "page": self.page,
                "page_size": self.page_size, "pages": self.pages}


def item_summary(item: Item) -> dict[str, Any]:
    return {"record_id": item.record_id, "title": item.title, "document_number": item.document_number,
            "author": item.author, "date": item.date, "year": item.year, "retention": item.retention,
            "organisation": item.organisation, "fonds_code": item.fonds_code, "archival_code": item.archival_code,
            "document_type": item.document_type, "security_classification": item.security_classification,
            "status": item.status, "file_count": item.file_count, "total_bytes": item.total_bytes,
            "archived_at": iso(item.archived_at)}


def iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def visible_conditions(principal: Principal, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    """The visible items matching browse ``filters`` (lists, facets and exports share it)."""
    found: list[ColumnElement[bool]] = [visible(principal)]
    for column, _label in BROWSE_LEVELS:
        value = filters.get(column)
        if value not in (None, ""):
            found.append(getattr(Item, column) == value)
    for column in ("document_type", "security_classification"):
        if filters.get(column):
            found.append(getattr(Item, column) == filters[column])
    return found


def page_bounds(page: int, page_size: int) -> tuple[int, int]:
    if page < 1 or not (1 <= page_size <= MAX_PAGE_SIZE):
        raise BadInput(f"页码须 ≥ 1，每页 1–{MAX_PAGE_SIZE} 条", f"page >= 1 and page_size 1..{MAX_PAGE_SIZE}")
    return page, page_size


def list_items(archive: Archive, principal: Principal, filters: dict[str, Any] | None = None, *,
               page: int = 1, page_size: int = 50) -> Page:
    """One page of visible items in archival order; never loads more than a page."""
    require(principal, Permission.ITEM_READ)
    page, page_size = page_bounds(page, page_size)
    conditions = visible_conditions(principal, filters or {})
    with archive.sessions() as session:
        total = session.scalar(select(func.count(Item.id)).where(*conditions)) or 0
        rows = session.scalars(select(Item).where(*conditions)
                               .order_by(Item.fonds_code, Item.year, Item.retention, Item.organisation,
                                         Item.archival_code, Item.id)
                               .limit(page_size).offset((page - 1) * page_size))
        return Page([item_summary(i) for i in rows], total, page, page_size)


def browse_facets(archive: Archive, principal: Principal, filters: dict[str, Any]) -> dict[str, Any]:
    """Counts for the next level of fonds → year → retention → organisation under ``filters``."""
    require(principal, Permission.ITEM_READ)
    chosen = [(c, label, filters[c]) for c, label in BROWSE_LEVELS if filters.get(c) not in (None, "")]
    following = [(c, label) for c, label in BROWSE_LEVELS if filters.get(c) in (None, "")]
    if not following:
        return {"path": chosen, "level": None, "label": None, "values": []}
    column, label = following[0]
    col = getattr(Item, column)
    with archive.sessions() as session:
        rows = session.execute(select(col, func.count(Item.id)).where(*visible_conditions(principal, filters))
                               .group_by(col).order_by(col)).all()
    names = code_names(archive).get(column, {})
    return {"path": chosen, "level": column, "label": label,
            "values": [{"value": v, "count": int(n), "name": names.get(v, "")} for v, n in rows]}
