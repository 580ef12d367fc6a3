"""统计: counts for the statistics page and API, always within the caller's clearance.

Every figure about items is computed over the items the caller may see
(:func:`lantai.services.visibility.visible_to`), so the totals of a reader with 内部 clearance
never betray that 秘密 items exist. Check pass rates come from the audit chain (ingest outcomes by
month), counting an outcome only when its item is visible or never became an item (rejected).
A date range (接收日期, Beijing time) narrows every figure to what was archived — or checked — in it.

The 档案室基本情况年报 of a year: holdings at the year's end by 门类 × 保管期限 × 年度, the year's
additions, uses (利用人次 and 卷件次 from the 利用登记簿, of visible items), destructions and
transfers — as a page and as a printed table (XLSX, PDF).
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, or_, select, true

from lantai.catalog.models import AuditEntry, Item
from lantai.domain.clock import BEIJING
from lantai.domain.retention import retention_label
from lantai.domain.roles import Permission
from lantai.errors import BadInput
from lantai.services.access import require
from lantai.services.archive import Archive
from lantai.services.arrange_reference import code_names
from lantai.services.catalogue import DESTROYED
from lantai.services.users import Principal
from lantai.services.visibility import visible_to

FACETS = (("fonds_code", "全宗"), ("year", "年度"), ("retention", "保管期限"), ("document_type", "文种"), ("organisation", "机构或问题"),
          ("security_classification", "密级"))
INGEST_ACTIONS = ("ingest.accepted", "ingest.rejected", "ingest.duplicate", "ingest.conflict")
TRANSFERRED = "transferred"
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def _day(value: str | None, name: str) -> dt.date | None:
    if not value:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise BadInput(f"日期格式应为 YYYY-MM-DD：{value}", f"{name} must be YYYY-MM-DD: {value}", **{name: value}) from None


def date_bounds(date_from: str | None, date_to: str | None) -> tuple[dt.datetime | None, dt.datetime | None]:
    """The range [from 00:00, to + 1 day 00:00) in Beijing time, as UTC instants; either end open."""
    start, end = _day(date_from, "date_from"), _day(date_to, "date_to")
    if start and end and start > end:
        raise BadInput("起始日期晚于截止日期", "date_from is after date_to", date_from=date_from, date_to=date_to)
    as_utc = lambda d: dt.datetime(d.year, d.month, d.day, tzinfo=BEIJING).astimezone(dt.UTC)  # noqa: E731
    return (as_utc(start) if start else None), (as_utc(end + dt.timedelta(days=1)) if end else None)


def _in_range(column: Any, start: Any, end: Any) -> Any:
    conditions = ([column >= start] if start else []) + ([column < end] if end else [])
    return and_(*conditions) if conditions else true()


def statistics(archive: Archive, principal: Principal, *, date_from: str | None = None,
               date_to: str | None = None) -> dict[str, Any]:
    require(principal, Permission.STATISTICS)
    start, end = date_bounds(date_from, date_to)
    with archive.sessions() as session:
        where = and_(visible_to(principal), _in_range(Item.archived_at, start, end))
        total, size = session.execute(select(func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0))
                                      .where(where)).one()
        result: dict[str, Any] = {"items": int(total), "bytes": int(size), "facets": {},
                                  "date_from": date_from or "", "date_to": date_to or ""}
        names = code_names(archive)
        for column, label in FACETS:
            col = getattr(Item, column)
            rows = session.execute(select(col, func.count(Item.id)).where(where).group_by(col).order_by(col)).all()
            result["facets"][column] = {"label": label,
                                        "values": [{"value": "" if v is None else v, "count": int(n),
                                                    "name": names.get(column, {}).get(v, "")} for v, n in rows]}
        result["growth"] = _growth(session, where)
        result["checks"] = _check_rates(session, visible_to(principal), start, end)
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


def _journal_time(instant: dt.datetime | None) -> str | None:
    """An instant as the audit journal writes times (UTC ISO text with ``Z``), which sorts as text."""
    return instant.astimezone(dt.UTC).isoformat(timespec="microseconds").replace("+00:00", "Z") if instant else None


def _check_rates(session: Any, where: Any, start: dt.datetime | None = None,
                 end: dt.datetime | None = None) -> list[dict[str, Any]]:
    """Ingest checks per month: accepted vs rejected, and the pass rate — over visible items only."""
    months: dict[str, dict[str, int]] = {}
    rows = session.execute(select(AuditEntry.time, AuditEntry.action)
                           .outerjoin(Item, Item.record_id == AuditEntry.target)
                           .where(AuditEntry.action.in_(INGEST_ACTIONS), or_(Item.id.is_(None), where),
                                  _in_range(AuditEntry.time, _journal_time(start), _journal_time(end))))
    for time, action in rows:
        bucket = months.setdefault(str(time)[:7], {"accepted": 0, "rejected": 0})
        bucket["rejected" if action in ("ingest.rejected", "ingest.conflict") else "accepted"] += 1
    return [{"month": m, **c, "pass_rate": round(c["accepted"] / max(1, c["accepted"] + c["rejected"]), 4)}
            for m, c in sorted(months.items())]


# --- printed forms --------------------------------------------------------------------------------
STATISTICS_COLUMNS = ("统计项", "分组", "件数", "存储量（字节）", "占比或通过率")


def statistics_rows(data: dict[str, Any]) -> list[tuple[Any, ...]]:
    """The statistics page as one printed table: every facet, storage growth and the pass rates."""
    rows: list[tuple[Any, ...]] = [("馆藏总量", "合计", data["items"], data["bytes"], "")]
    for facet in data["facets"].values():
        total = sum(v["count"] for v in facet["values"]) or 1
        for v in facet["values"]:
            label = v["name"] or (retention_label(v["value"]) if facet["label"] == "保管期限" and v["value"] else "")
            rows.append((f"按{facet['label']}", label or (str(v["value"]) if v["value"] not in (None, "") else "（空）"),
                         v["count"], "", f"{100 * v['count'] / total:.1f}%"))
    for g in data["growth"]:
        rows.append(("存储增长", g["month"], g["items"], g["cumulative_bytes"], f"累计 {g['cumulative_items']} 件"))
    for c in data["checks"]:
        rows.append(("接收检测通过率", c["month"], c["accepted"] + c["rejected"], "", f"{100 * c['pass_rate']:.1f}%"))
    return rows


def annual_report(archive: Archive, principal: Principal, year: int) -> dict[str, Any]:
    """档案室基本情况年报 of ``year``, over the items the caller may see."""
    require(principal, Permission.STATISTICS)
    if not 1900 <= year <= 9998:
        raise BadInput("年度超出范围", "year out of range", year=year)
    start, end = date_bounds(f"{year:04d}-01-01", f"{year:04d}-12-31")
    names = code_names(archive)
    with archive.sessions() as session:
        visible = visible_to(principal)
        held = and_(visible, Item.archived_at < end, Item.status.notin_((DESTROYED, TRANSFERRED)))
        holdings = _grouped(session, held, names)
        added = _grouped(session, and_(visible, _in_range(Item.archived_at, start, end)), names)
        destroyed = _count(session, and_(visible, Item.status == DESTROYED, _in_range(Item.updated_at, start, end)))
        transferred = _count(session, and_(visible, Item.status == TRANSFERRED, _in_range(Item.updated_at, start, end)))
    uses = _uses(archive, principal, year)
    return {"year": year, "archive_name": archive.settings.archive_name,
            "holdings": holdings, "holdings_total": sum(r["count"] for r in holdings),
            "holdings_bytes": sum(r["bytes"] for r in holdings),
            "additions": added, "additions_total": sum(r["count"] for r in added),
            "destroyed": destroyed, "transferred": transferred, **uses}


def _grouped(session: Any, where: Any, names: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    rows = session.execute(select(Item.category, Item.retention, Item.year, func.count(Item.id),
                                  func.coalesce(func.sum(Item.total_bytes), 0))
                           .where(where).group_by(Item.category, Item.retention, Item.year)
                           .order_by(Item.category, Item.retention, Item.year)).all()
    return [{"category": category or "", "category_name": names.get("category", {}).get(category or "", category or "（未分类）"),
             "retention": retention or "", "retention_name": retention_label(retention) if retention else "（未定）",
             "year": year, "count": int(n), "bytes": int(b)} for category, retention, year, n, b in rows]


def _count(session: Any, where: Any) -> int:
    return int(session.scalar(select(func.count(Item.id)).where(where)) or 0)


def _uses(archive: Archive, principal: Principal, year: int) -> dict[str, Any]:
    """利用人次 and 卷件次 of the year from the 利用登记簿, counting only uses of items the caller may see."""
    if not principal.can(Permission.USE_REGISTER):
        return {"uses_available": False, "person_times": None, "item_times": None}
    from lantai.services.use_register import register_entries, use_statistics
    from lantai.services.visibility import visible_record_ids

    entries = register_entries(archive, principal, year)
    with archive.sessions() as session:
        allowed = visible_record_ids(session, principal, {e["record_id"] for e in entries})
    stats = use_statistics([e for e in entries if e["record_id"] in allowed])
    return {"uses_available": True, "person_times": stats["person_times"], "item_times": stats["item_times"]}


ANNUAL_COLUMNS = ("部分", "门类", "保管期限", "年度", "件数", "存储量（字节）")


def annual_rows(report: dict[str, Any]) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for part, key in (("年末馆藏", "holdings"), ("本年新增", "additions")):
        rows += [(part, r["category_name"], r["retention_name"], r["year"] if r["year"] is not None else "（空）",
                  r["count"], r["bytes"]) for r in report[key]]
        rows.append((part, "合计", "", "", sum(r["count"] for r in report[key]), sum(r["bytes"] for r in report[key])))
    return rows


def annual_summary(report: dict[str, Any]) -> list[str]:
    uses = (f"利用人次 {report['person_times']}，利用卷件次 {report['item_times']}" if report["uses_available"]
            else "利用：无权查阅利用登记簿，未统计")
    return [f"年末馆藏 {report['holdings_total']} 件；本年新增 {report['additions_total']} 件",
            uses, f"本年销毁 {report['destroyed']} 件；本年移交进馆 {report['transferred']} 件"]


def printed_download(archive: Archive, principal: Principal, what: str, fmt: str, *, year: int | None = None,
                     date_from: str | None = None, date_to: str | None = None) -> tuple[Path, str]:
    """The statistics (``what="statistics"``, XLSX) or the 年报 (``what="annual"``, XLSX or PDF) written to a
    temporary directory with the printed-table writer; audited. The caller removes ``file.parent``."""
    from lantai.packages import tables

    if fmt not in MEDIA_TYPES or (what == "statistics" and fmt != "xlsx"):
        raise BadInput("统计只能导出为 xlsx，年报为 xlsx 或 pdf", "statistics export as xlsx, the annual report as xlsx or pdf",
                       format=fmt)
    if what == "annual":
        report = annual_report(archive, principal, int(year or 0))
        heading = f"{archive.settings.archive_name} 档案室基本情况年报（{report['year']} 年度）"
        rows, columns, summary, name = annual_rows(report), ANNUAL_COLUMNS, annual_summary(report), f"年报-{report['year']}"
        widths, details = (14, 16, 14, 10, 10, 18), {"year": report["year"]}
    else:
        data = statistics(archive, principal, date_from=date_from, date_to=date_to)
        span = f"（接收日期 {date_from or '最早'} 至 {date_to or '今'}）" if date_from or date_to else ""
        heading = f"{archive.settings.archive_name} 馆藏统计{span}"
        rows, columns, name = statistics_rows(data), STATISTICS_COLUMNS, "统计"
        summary, widths = [f"馆藏 {data['items']} 件，{data['bytes']} 字节；统计范围为导出人密级权限（{principal.clearance}）可见的条目"], (18, 30, 10, 18, 16)
        details = {"date_from": date_from or "", "date_to": date_to or ""}
    workdir = Path(tempfile.mkdtemp(prefix="statistics-", dir=archive.settings.staging_dir))
    target = workdir / f"{name}.{fmt}"
    try:
        if fmt == "xlsx":
            tables.write_xlsx(rows, columns, heading, summary, target, sheet_title=name, widths=widths, wrap=(1,))
        else:
            tables.write_pdf(rows, columns, heading, summary, target)
        archive.audit.append(principal.username, "statistics.exported", what,
                             {**details, "format": fmt, "rows": len(rows), "via": principal.via})
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return target, MEDIA_TYPES[fmt]
