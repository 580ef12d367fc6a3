"""What the 安全审计员 sees of the audit log: everyone's entries, with record titles above its clearance masked.

The auditor reads the acts of everybody, the other administrators included, but being an auditor
is no clearance: an entry about an item above the auditor's clearance keeps its record id (so
the act stays accountable) while the item's title — and any title-bearing detail — is masked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item
from lantai.services.users import Principal
from lantai.services.visibility import may_see_level

MASK = "（密级高于本人权限，题名已隐藏）"
TITLE_KEYS = ("title", "题名", "source")


def with_titles(session: Session, principal: Principal, entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Add each entry's item title (masked above the caller's clearance) and mask title-bearing details."""
    targets = {e["target"] for e in entries if e.get("target")}
    items = dict.fromkeys(targets)
    if targets:
        rows = session.execute(select(Item.record_id, Item.title, Item.security_classification)
                               .where(Item.record_id.in_(sorted(targets))))
        items.update({rid: (title, level) for rid, title, level in rows})
    for entry in entries:
        found = items.get(entry.get("target"))
        if found is None:
            entry["title"] = None
            continue
        title, level = found
        if may_see_level(principal, level):
            entry["title"] = title
        else:
            entry["title"] = MASK
            entry["details"] = {k: (MASK if k in TITLE_KEYS else v) for k, v in entry["details"].items()}
    return entries
