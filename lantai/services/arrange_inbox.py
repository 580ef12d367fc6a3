"""The 整理 inbox: what arrangement would assign to items not yet arranged, and bulk confirmation.

Arrangement works per scope (one fonds, category and year), all or nothing, so the inbox shows
a dry-run plan for every scope that still has unarranged items, and confirming an item arranges
its whole scope — the same rule the CLI follows.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.domain.roles import may_see
from lantai.errors import LantaiError
from lantai.services.archive import Archive
from lantai.services.arrange import arrange


def _open_scopes(archive: Archive, record_ids: list[str] | None = None) -> list[tuple[str, int, str]]:
    query = select(Item.fonds_code, Item.year, Item.category).where(Item.status == "archived").distinct()
    query = query.where(Item.record_id.in_(record_ids)) if record_ids is not None else query.where(Item.archival_code == "")
    with archive.sessions() as session:
        return [(f, y, c or "WS") for f, y, c in session.execute(query) if f and y]


def proposals(archive: Archive, *, actor: str = "system", clearance: str = "公开",
              limit: int = 500) -> list[dict[str, Any]]:
    """Proposed retention and 档号 for unarranged items (dry runs: nothing changes).

    Items above ``clearance`` are left out of the list, as from every other list.
    """
    rows: list[dict[str, Any]] = []
    for fonds, year, category in _open_scopes(archive):
        try:
            plan = arrange(archive, fonds, year, category=category, dry_run=True, actor=actor)
        except LantaiError as exc:
            rows.append({"record_id": "", "title": f"{fonds} {year}: {exc.message_zh}", "retention": "",
                         "archival_code": "", "problem": True})
            continue
        titles = _titles(archive, [p.record_id for p in plan.changes], clearance)
        for planned in (p for p in plan.changes if p.record_id in titles):
            rows.append({"record_id": planned.record_id, "title": titles.get(planned.record_id, ""),
                         "retention": planned.retention, "archival_code": planned.archival_code,
                         "basis": planned.retention_source, "problem": False})
        if len(rows) >= limit:
            break
    return rows[:limit]


def confirm(archive: Archive, record_ids: list[str], *, actor: str, clearance: str | None = None) -> dict[str, Any]:
    """Arrange every scope the chosen items belong to; each scope is all or nothing.

    With a ``clearance`` (the web), ids above it are treated exactly like ids that do not exist,
    and the count of changed items counts only the items the caller may see.
    """
    if clearance is not None:
        record_ids = [r for r in record_ids if r in _titles(archive, record_ids, clearance)]
    done, failed = [], []
    for fonds, year, category in _open_scopes(archive, record_ids):
        try:
            plan = arrange(archive, fonds, year, category=category, actor=actor)
            changed = [p.record_id for p in plan.changes]
            shown = len(changed) if clearance is None else len(_titles(archive, changed, clearance))
            done.append({"fonds": fonds, "year": year, "category": category, "changed": shown})
        except LantaiError as exc:
            failed.append({"fonds": fonds, "year": year, "category": category, "message": exc.message_zh})
    return {"arranged": done, "failed": failed}


def _titles(archive: Archive, record_ids: list[str], clearance: str) -> dict[str, str]:
    """Titles of the items the viewer may see."""
    if not record_ids:
        return {}
    query = select(Item.record_id, Item.title, Item.security_classification).where(Item.record_id.in_(record_ids))
    with archive.sessions() as session:
        return {rid: title for rid, title, level in session.execute(query) if may_see(clearance, level)}
