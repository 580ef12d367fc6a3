"""The one visibility predicate: which items a caller may see, as SQL and as a plain test.

An item 待销毁 (appraised for destruction, not yet destroyed) is visible to nobody. Otherwise
clearance decides (an item whose 密级 ranks above the caller's clearance does not exist for
them, and an unknown 密级 is never visible) — or an active 利用 grant for that very item
(:mod:`lantai.services.use`): not revoked, not past its date (compared at query time, so an
expired grant stops working at once), and, when a 利用方式 is asked for, allowing it. A grant
never changes the caller's clearance. Every list, count, facet, search total, statistic,
export, submission and arrangement action asks here. ``submission_classification`` gives a
submission the 密级 of its most secret item, read only from ``内容描述/密级``, so a report listing
item ids is hidden from whoever may not see those items.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from pathlib import Path

from sqlalchemy import ColumnElement, Select, and_, or_, select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item
from lantai.catalog.use import UseGrant, UseGrantItem
from lantai.domain.roles import may_see, rank, visible_levels
from lantai.errors import LantaiError
from lantai.formats.safexml import child, descendants, parse_xml
from lantai.packages import sip
from lantai.services.catalogue import PENDING_DESTRUCTION
from lantai.services.users import Principal

PUBLIC = "公开"
# An item appraised for destruction (phase 1, 待销毁) is withdrawn from use — from every list, count,
# search, grant and export — until it is destroyed; its destroyed catalogue entry (已销毁) is listed again.
WITHDRAWN = PENDING_DESTRUCTION


def visible_to(principal: Principal, method: str | None = None) -> ColumnElement[bool]:
    """SQL condition on ``Item``: at or below the caller's clearance, or granted to the caller.

    ``method`` (a 利用方式, e.g. 下载) narrows the grants counted to those allowing it; items
    within clearance need no grant for any method. The clearance test is written so no index is
    used for it (``|| ''``): almost every row passes it, and the browse index (fonds, year,
    retention, organisation, 档号) or the record-id index must drive the query instead, or every
    page of a list sorts the whole catalogue.
    """
    by_clearance = Item.security_classification.concat("").in_(visible_levels(principal.clearance))
    in_use = Item.status.concat("") != WITHDRAWN  # same trick: nearly every row passes
    return and_(in_use, or_(by_clearance, Item.record_id.in_(granted_record_ids(principal.username, method))))


OPEN = "开放"


def open_to_public() -> ColumnElement[bool]:
    """SQL condition: 控制标识 开放 and 密级 公开 — what the public ``/open`` page may list.

    An item marked 开放 but carrying a 密级 above 公开 contradicts itself and stays closed.
    """
    return and_(Item.control_identifier == OPEN, Item.security_classification == PUBLIC)


def granted_record_ids(username: str, method: str | None = None,
                       moment: dt.datetime | None = None) -> Select[tuple[str]]:
    """Subquery: the record ids of ``username``'s grants in force at ``moment`` (now)."""
    moment = moment or dt.datetime.now(dt.UTC)
    query = (select(UseGrantItem.record_id).join(UseGrant, UseGrant.id == UseGrantItem.grant_id)
             .where(UseGrant.grantee == username, UseGrant.revoked_at.is_(None), UseGrant.valid_until > moment))
    if method:
        query = query.where(UseGrant.methods.contains(f",{method},"))
    return query


def may_see_level(principal: Principal, level: str | None) -> bool:
    return may_see(principal.clearance, level)


def visible_record_ids(session: Session, principal: Principal, record_ids: Iterable[str]) -> set[str]:
    """Those of ``record_ids`` that exist and the caller may see (the rest are alike: missing)."""
    wanted = sorted({r for r in record_ids if r})
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        found |= set(session.scalars(select(Item.record_id).where(Item.record_id.in_(chunk), visible_to(principal))))
    return found


def highest(levels: Iterable[str]) -> str:
    """The most secret of ``levels`` (an unknown level wins: fail closed); 公开 for none."""
    return max(levels, key=rank, default=PUBLIC)


def declared_classification(metadata: bytes) -> str:
    """The 密级 of one item: only ``内容描述/密级`` counts (never a 密级 inside 附注 or elsewhere)."""

    root = parse_xml(metadata, "元数据.xml")
    levels = [(node.text or "").strip() for desc in descendants(root, "内容描述")
              if (node := child(desc, "密级")) is not None]
    return highest(level or PUBLIC for level in levels)


def package_classification(path: Path, max_metadata_bytes: int) -> str:
    """The declared 密级 of a SIP (directory or zip); 公开 when it cannot be read at all (rejected)."""

    try:
        with sip.open_item(path) as source:
            return declared_classification(source.read(sip.METADATA_NAME, max_metadata_bytes))
    except (LantaiError, ValueError, OSError):
        return PUBLIC


def batch_classification(batch_dir: Path, max_metadata_bytes: int) -> str:
    """A batch is as secret as its most secret item."""

    return highest(package_classification(item, max_metadata_bytes) for item in sip.iter_batch_items(batch_dir))
