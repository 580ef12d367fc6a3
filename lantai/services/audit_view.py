"""What the 安全审计员 sees of the audit log: everyone's entries, with record titles above its clearance masked.

The auditor reads the acts of everybody, the other administrators included, but being an auditor
is no clearance: an entry about an item above the auditor's clearance keeps its record id (so
the act stays accountable) while the item's title — and any title-bearing detail — is masked.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item
from lantai.services.users import Principal
from lantai.services.visibility import may_see_level

MASK = "（密级高于本人权限，题名已隐藏）"
TITLE_KEYS = ("title", "题名", "source")


def _levels(session: Session, record_ids: Iterable[str]) -> dict[str, str | None]:
    wanted = sorted({r for r in record_ids if r})
    levels: dict[str, str | None] = {}
    for start in range(0, len(wanted), 500):
        chunk = wanted[start:start + 500]
        rows = session.execute(select(Item.record_id, Item.security_classification).where(Item.record_id.in_(chunk)))
        levels.update({record_id: level for record_id, level in rows})
    return levels


def masked_journal(session: Session, principal: Principal, lines: Iterable[bytes], *,
                   chunk: int = 1000) -> Iterator[bytes]:
    """The journal as stored, except that title-bearing details of entries about items above the
    caller's clearance are masked and the entry marked ``"redacted"``.

    Unmasked lines are passed through byte for byte, so an auditor cleared for everything exports a
    journal that verifies entry by entry. A redacted entry keeps ``seq``, ``prev_hash``, ``hash``
    and ``mac``: its place in the chain (linkage) still verifies, only its content hash cannot be
    recomputed from the masked copy — the archive's own ``audit verify`` checks that.
    """
    batch: list[bytes] = []
    for line in lines:
        batch.append(line)
        if len(batch) >= chunk:
            yield from _mask_batch(session, principal, batch)
            batch = []
    if batch:
        yield from _mask_batch(session, principal, batch)


def _mask_batch(session: Session, principal: Principal, lines: list[bytes]) -> Iterator[bytes]:
    parsed: list[dict[str, Any] | None] = []
    for line in lines:
        try:
            entry = json.loads(line)
        except ValueError:
            entry = None
        needs_mask = isinstance(entry, dict) and isinstance(entry.get("details"), dict) \
            and any(k in TITLE_KEYS for k in entry["details"])
        parsed.append(entry if needs_mask else None)
    levels = _levels(session, (e.get("target") or "" for e in parsed if e is not None))
    for line, entry in zip(lines, parsed, strict=True):
        target = entry.get("target") if entry is not None else None
        if entry is None or target not in levels or may_see_level(principal, levels[target]):
            yield line
            continue
        entry["details"] = {k: (MASK if k in TITLE_KEYS else v) for k, v in entry["details"].items()}
        entry["redacted"] = sorted(k for k in entry["details"] if k in TITLE_KEYS)
        yield (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")


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
