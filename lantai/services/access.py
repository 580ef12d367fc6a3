"""Authorisation and visibility: who may do what, and which items they may see.

This is the one place that decides both; every service that lists, counts, facets, searches,
exports or shows items goes through :func:`require` and :func:`visible` (or :func:`visible_item`)
and never repeats the checks itself.

* **Permissions** come from roles (:mod:`lantai.domain.roles`); a missing permission is
  ``PermissionDenied`` (HTTP 403).
* **Clearance**: an item whose 密级 ranks above the caller's clearance does not exist for them —
  it is absent from every list, count, facet, search and export, and fetching it is ``NotFound``
  with the same message as an item that really does not exist.

What people do with what they may see lives beside this module: browsing (:mod:`.browse`), one
item (:mod:`.items`), search (:mod:`.catalogue_search`), access copies (:mod:`.content`), exports
(:mod:`.exports`), submissions (:mod:`.submissions`) and the audit pages (:mod:`.audit_views`).
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, select
from sqlalchemy.orm import Session, selectinload

from lantai.catalog.models import Item
from lantai.domain.roles import Permission
from lantai.errors import NotFound
from lantai.services import authz, visibility
from lantai.services.users import Principal


def require(principal: Principal, permission: Permission) -> Principal:
    """The single authorisation check every route goes through (:mod:`lantai.services.authz`)."""
    return authz.require(principal, permission)


def require_any(principal: Principal, *permissions: Permission) -> Principal:
    """Pages that serve several roles (系统管理) need one of the permissions."""
    return authz.require_any(principal, *permissions)


def visible(principal: Principal, method: str | None = None) -> ColumnElement[bool]:
    """SQL condition: items the caller may see (:func:`lantai.services.visibility.visible_to`)."""
    return visibility.visible_to(principal, method)


def not_found(record_id: str) -> NotFound:
    return NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item with record id {record_id}")


def visible_item(session: Session, principal: Principal, record_id: str, *, full: bool = False,
                 method: str | None = None) -> Item:
    """The item if it exists *and* the caller may see it (for ``method``); otherwise the same NotFound."""
    require(principal, Permission.ITEM_READ)
    query = select(Item).where(Item.record_id == record_id, visible(principal, method))
    if full:
        query = query.options(selectinload(Item.files), selectinload(Item.versions), selectinload(Item.events))
    item = session.scalar(query)
    if item is None:
        raise not_found(record_id)
    return item
