"""The preservation dashboard (保存状态): what the 系统管理员 and the 档案管理员 need to see that
every copy exists, is current and was checked recently — roots and their replication lag, fixity
coverage and the age of the last verification, repairs, and items with no sound copy (损坏).

A 系统管理员 reads no records: damaged items are counted and placed on their root for them, and
named (电子文件号) only to a caller who may read items.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.models import AuditEntry, Item, utcnow
from lantai.catalog.preservation import RootObject
from lantai.domain.roles import Permission
from lantai.services.access import require
from lantai.services.fixity import coverage
from lantai.services.replicas import status
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

AGE_BUCKETS = (("7 天内", 7), ("30 天内", 30), ("90 天内", 90), ("一年内", 365))
OLDER, NEVER = "一年以上", "从未校验"


def dashboard(archive: Archive, principal: Principal) -> dict[str, Any]:
    require(principal, Permission.PRESERVATION_READ)
    roots = status(archive)
    now = utcnow()
    names_visible = principal.can(Permission.ITEM_READ)
    ages: dict[str, dict[str, int]] = {}
    damaged = []
    with archive.sessions() as session:
        verified = {(r, o): v for r, o, v in session.execute(
            select(RootObject.root, RootObject.object_id, RootObject.verified_at)).tuples()}
        for row in session.scalars(select(RootObject).where(RootObject.unrecoverable.is_(True))
                                   .order_by(RootObject.root, RootObject.object_id)):
            damaged.append({"root": row.root, "object": row.object_id if names_visible else "",
                            "problem": row.problem if names_visible else "",
                            "verified_at": row.verified_at.isoformat() if row.verified_at else ""})
        repairs = [(r.time, r.target, json.loads(r.details or "{}")) for r in session.scalars(
            select(AuditEntry).where(AuditEntry.action == "preservation.repaired").order_by(AuditEntry.seq.desc()))]
        catalogued = [r for (r,) in session.execute(select(_item_ids())).all()]
    labels = [label for label, _days in AGE_BUCKETS] + [OLDER, NEVER]
    for root in roots:
        counts = dict.fromkeys(labels, 0)
        for object_id in catalogued:
            counts[_bucket(verified.get((root["name"], object_id)), now)] += 1
        ages[root["name"]] = counts
    by_month: dict[str, int] = {}
    for time, _target, _details in repairs:
        by_month[time[:7]] = by_month.get(time[:7], 0) + 1
    recent = [{"time": time, "object": target if names_visible else "", "root": d.get("root", ""),
               "file": d.get("file", "") if names_visible else "", "source": d.get("source", ""),
               "problem": d.get("problem", ""), "reason": d.get("reason", "")} for time, target, d in repairs[:20]]
    return {"roots": roots, "coverage": coverage(archive), "ages": ages, "age_labels": labels, "damaged": damaged,
            "repairs_by_month": [{"month": m, "count": n} for m, n in sorted(by_month.items())],
            "repairs": recent, "repairs_total": len(repairs), "cycle_days": archive.settings.fixity_cycle_days,
            "names_visible": names_visible}


def _item_ids() -> Any:

    return Item.record_id


def _bucket(verified: dt.datetime | None, now: dt.datetime) -> str:
    if verified is None:
        return NEVER
    verified = verified if verified.tzinfo else verified.replace(tzinfo=dt.UTC)
    days = (now - verified).total_seconds() / 86400
    return next((label for label, limit in AGE_BUCKETS if days <= limit), OLDER)
