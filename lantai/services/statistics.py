"""统计: counts for the statistics page and API, always within the caller's clearance.

Every figure about items is computed over the items the caller may see
(:func:`lantai.services.visibility.visible_to`), so the totals of a reader with 内部 clearance
never betray that 秘密 items exist. Check pass rates come from the audit chain (ingest outcomes by
month), counting an outcome only when its item is visible or never became an item (rejected).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import func, or_, select

from lantai.catalog.models import AuditEntry, Item
from lantai.domain.roles import Permission
from lantai.services.access import require
from lantai.services.arrange_reference import code_names
from lantai.services.users import Principal
from lantai.services.visibility import visible_to

if TYPE_CHECKING:
    from lantai.services.archive import Archive

FACETS = (("fonds_code", "全宗"), ("year", "年度"), ("retention", "保管期限"), ("document_type", "文种"), ("organisation", "机构或问题"),
          ("security_classification", "密级"))
INGEST_ACTIONS = ("ingest.accepted", "ingest.rejected", "ingest.duplicate", "ingest.conflict")


def statistics(archive: Archive, principal: Principal) -> dict[str, Any]:
    require(principal, Permission.STATISTICS)
    with archive.sessions() as session:
        where = visible_to(principal)
        total, size = session.execute(select(func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0))
                                      .where(where)).one()
        result: dict[str, Any] = {"items": int(total), "bytes": int(size), "facets": {}}
        names = code_names(archive)
        for column, label in FACETS:
            col = getattr(Item, column)
            rows = session.execute(select(col, func.count(Item.id)).where(where).group_by(col).order_by(col)).all()
            result["facets"][column] = {"label": label,
                                        "values": [{"value": "" if v is None else v, "count": int(n),
                                                    "name": names.get(column, {}).get(v, "")} for v, n in rows]}
        result["growth"] = _growth(session, where)
        result["checks"] = _check_rates(session, where)
    if principal.can(Permission.USE_REGISTER):
        from lantai.services.use_register import year_statistics

        result["use"] = year_statistics(archive, principal)
    return result


def _growth(session: Any, where: Any) -> list[dict[str, Any]]:
    """Items and bytes archived per month, with running totals (storage growth), grouped in SQL."""
    if session.get_bind().dialect.name == "sqlite":
        month = func.strftime("%Y-%m", Item.archived_at)
    else:
        month = func.to_char(Item.archived_at, "YYYY-MM")
    rows = session.execute(select(month, func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0))
                           .where(where).group_by(month).order_by(month)).all()
    series, items, size = [], 0, 0
    for name, count, total in rows:
        items += int(count)
        size += int(total)
        series.append({"month": str(name), "items": int(count), "bytes": int(total),
                       "cumulative_items": items, "cumulative_bytes": size})
    return series


def _check_rates(session: Any, where: Any) -> list[dict[str, Any]]:
    """Ingest checks per month: accepted vs rejected, and the pass rate — over visible items only."""
    months: dict[str, dict[str, int]] = {}
    rows = session.execute(select(AuditEntry.time, AuditEntry.action)
                           .outerjoin(Item, Item.record_id == AuditEntry.target)
                           .where(AuditEntry.action.in_(INGEST_ACTIONS), or_(Item.id.is_(None), where)))
    for time, action in rows:
        bucket = months.setdefault(str(time)[:7], {"accepted": 0, "rejected": 0})
        bucket["rejected" if action in ("ingest.rejected", "ingest.conflict") else "accepted"] += 1
    return [{"month": m, **c, "pass_rate": round(c["accepted"] / max(1, c["accepted"] + c["rejected"]), 4)}
            for m, c in sorted(months.items())]
