"""审计 pages for the 安全审计员: the audit chain read, verified and exported; reading is audited too."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import func, select

from lantai.catalog.models import AuditEntry
from lantai.domain.roles import Permission
from lantai.services import audit_view
from lantai.services.access import require
from lantai.services.archive import Archive
from lantai.services.browse import page_bounds
from lantai.services.users import Principal


def audit_page(archive: Archive, principal: Principal, *, page: int = 1, page_size: int = 50,
               action: str | None = None, actor: str | None = None) -> dict[str, Any]:
    """Newest first, from the catalogue copy; reading the chain is itself audited."""
    require(principal, Permission.AUDIT_READ)
    page, page_size = page_bounds(page, page_size)
    conditions = []
    if action:
        conditions.append(AuditEntry.action == action)
    if actor:
        conditions.append(AuditEntry.actor == actor)
    with archive.sessions() as session:
        total = session.scalar(select(func.count(AuditEntry.seq)).where(*conditions)) or 0
        rows = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
                               .limit(page_size).offset((page - 1) * page_size))
        entries = [{"seq": r.seq, "time": r.time, "actor": r.actor, "action": r.action, "target": r.target,
                    "details": json.loads(r.details or "{}"), "prev_hash": r.prev_hash, "hash": r.hash} for r in rows]
        entries = audit_view.with_titles(session, principal, entries)
    archive.audit.append(principal.username, "audit.read", "chain", {"page": page, "action": action, "actor": actor})
    return {"entries": entries, "total": int(total), "page": page, "page_size": page_size}


def audit_verify(archive: Archive, principal: Principal) -> dict[str, Any]:
    require(principal, Permission.AUDIT_READ)
    report = archive.audit.verify().to_dict()
    archive.audit.append(principal.username, "audit.verified", "chain", {"ok": report["ok"], "entries": report["entries"]})
    return report


def audit_export(archive: Archive, principal: Principal) -> Iterator[bytes]:
    """The authoritative journal, line by line (JSON Lines), as stored — but for the titles of items
    above the caller's clearance, which are masked as on the audit pages (see ``audit_view``)."""
    require(principal, Permission.AUDIT_READ)
    archive.audit.append(principal.username, "audit.exported", "chain", {})
    journal = archive.settings.audit_journal

    def lines() -> Iterator[bytes]:
        if journal.exists():
            with open(journal, "rb") as fh, archive.sessions() as session:
                yield from audit_view.masked_journal(session, principal, fh)

    return lines()
