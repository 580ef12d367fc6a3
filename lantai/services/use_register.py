"""利用登记: every view, download, print and copy is one entry of the 利用登记簿.

:func:`record_use` is the one call the access services make after serving an access copy or a
page; it notes who, which item, the 利用方式, the grant that allowed it (when the item is beyond
the caller's clearance) and that grant's 利用目的. The register is exported per year as XLSX/PDF
and counted as 利用人次 (a person on a day) and 利用卷件次 (a person, an item, a method, a day).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item
from lantai.catalog.use import UseGrant, UseGrantItem, UseRegisterEntry, UseRequest
from lantai.domain.clock import BEIJING
from lantai.domain.permissions import Permission
from lantai.domain.use import purpose_text
from lantai.errors import BadInput
from lantai.packages import use_register as writer
from lantai.services import authz
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

REGISTER_COLUMNS = ("序号", "利用时间", "利用人", "账号", "档号", "电子文件号", "题名", "全宗号", "年度", "密级",
                    "利用目的", "利用方式", "授权编号", "页数")


def _grant_for(session: Session, username: str, record_id: str, method: str) -> tuple[int, str] | None:
    """The newest grant in force allowing ``method`` on the item, with its request's purpose."""
    now = dt.datetime.now(dt.UTC)
    row = session.execute(
        select(UseGrant.id, UseRequest.purpose, UseRequest.purpose_detail)
        .join(UseGrantItem, UseGrantItem.grant_id == UseGrant.id).join(UseRequest, UseRequest.id == UseGrant.request_id)
        .where(UseGrant.grantee == username, UseGrantItem.record_id == record_id, UseGrant.revoked_at.is_(None),
               UseGrant.valid_until > now, UseGrant.methods.contains(f",{method},"))
        .order_by(UseGrant.id.desc()).limit(1)).first()
    return (row[0], purpose_text(row[1], row[2])) if row else None


def record_use(archive: Archive, principal: Principal, record_id: str, method: str, *, path: str = "",
               pages: int | None = None) -> None:
    """Append one register entry for a use the caller was just served (never raises on a missing item)."""
    with archive.session() as session:
        item = session.scalar(select(Item).where(Item.record_id == record_id))
        if item is None:
            return
        grant = _grant_for(session, principal.username, record_id, method)
        session.add(UseRegisterEntry(
            time=dt.datetime.now(dt.UTC), username=principal.username, display_name=principal.display_name,
            record_id=record_id, archival_code=item.archival_code, title=item.title, fonds_code=item.fonds_code,
            year=item.year, security_classification=item.security_classification,
            purpose=grant[1] if grant else "", method=method, grant_id=grant[0] if grant else None,
            pages=pages if pages is not None else item.page_count, path=path))


def _year_bounds(year: int) -> tuple[dt.datetime, dt.datetime]:
    if not 1900 <= year <= 9998:
        raise BadInput("年度超出范围", "year out of range", year=year)
    start = dt.datetime(year, 1, 1, tzinfo=BEIJING).astimezone(dt.UTC)
    return start, dt.datetime(year + 1, 1, 1, tzinfo=BEIJING).astimezone(dt.UTC)


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def register_entries(archive: Archive, principal: Principal, year: int) -> list[dict[str, Any]]:
    """The 利用登记簿 of one calendar year (Beijing time), oldest first."""
    authz.require(principal, Permission.USE_REGISTER)
    start, end = _year_bounds(year)
    with archive.sessions() as session:
        rows = session.scalars(select(UseRegisterEntry).where(UseRegisterEntry.time >= start, UseRegisterEntry.time < end)
                               .order_by(UseRegisterEntry.time, UseRegisterEntry.id)).all()
        return [_entry(n, row) for n, row in enumerate(rows, 1)]


def _entry(n: int, row: UseRegisterEntry) -> dict[str, Any]:
    local = _aware(row.time).astimezone(BEIJING)
    return {"seq": n, "time": local.strftime("%Y-%m-%d %H:%M"), "display_name": row.display_name,
            "username": row.username, "archival_code": row.archival_code, "record_id": row.record_id,
            "title": row.title, "fonds_code": row.fonds_code, "year": row.year,
            "security_classification": row.security_classification, "purpose": row.purpose or "—",
            "method": row.method, "grant_id": row.grant_id, "pages": row.pages, "day": local.date().isoformat()}


def entry_row(entry: dict[str, Any]) -> list[Any]:
    keys = ("seq", "time", "display_name", "username", "archival_code", "record_id", "title", "fonds_code", "year",
            "security_classification", "purpose", "method", "grant_id", "pages")
    return ["" if entry[k] is None else entry[k] for k in keys]


def use_statistics(entries: list[dict[str, Any]]) -> dict[str, Any]:
    """利用人次 and 利用卷件次 overall, by 利用目的 and by 全宗/年度 (of the items used)."""
    visits = {(e["username"], e["day"]) for e in entries}
    uses = {(e["username"], e["record_id"], e["method"], e["day"]): e for e in entries}
    by_purpose: Counter[str] = Counter()
    by_fonds_year: Counter[tuple[str, str]] = Counter()
    for use in uses.values():
        by_purpose[use["purpose"]] += 1
        by_fonds_year[(use["fonds_code"], str(use["year"] or ""))] += 1
    return {"person_times": len(visits), "item_times": len(uses),
            "by_purpose": [{"purpose": p, "item_times": n} for p, n in sorted(by_purpose.items())],
            "by_fonds_year": [{"fonds_code": f, "year": y, "item_times": n} for (f, y), n in sorted(by_fonds_year.items())]}


def year_statistics(archive: Archive, principal: Principal, year: int | None = None) -> dict[str, Any]:
    """利用人次 and 利用卷件次 of ``year`` (this year, Beijing time) for the statistics page and API."""
    year = year or dt.datetime.now(BEIJING).year
    return {"year": year, **use_statistics(register_entries(archive, principal, year))}


def export_register(archive: Archive, principal: Principal, year: int, target: Path) -> dict[str, Any]:
    """Write the year's 利用登记簿 as XLSX or PDF (by suffix); audited, since it names readers."""

    entries = register_entries(archive, principal, year)
    suffix = target.suffix.lower()
    if suffix not in (".xlsx", ".pdf"):
        raise BadInput("利用登记簿只能导出为 .xlsx 或 .pdf", "the use register exports as .xlsx or .pdf", path=str(target))
    heading = f"{archive.settings.archive_name} {year} 年度利用登记簿"
    stats = use_statistics(entries)
    (writer.write_xlsx if suffix == ".xlsx" else writer.write_pdf)(
        [entry_row(e) for e in entries], REGISTER_COLUMNS, heading, stats, target)
    archive.audit.append(principal.username, "use.register_exported", str(year),
                         {"entries": len(entries), "format": suffix[1:], "via": principal.via})
    return {"year": year, "entries": len(entries), "path": str(target), **stats}


MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def register_download(archive: Archive, principal: Principal, year: int, fmt: str) -> tuple[Path, str]:
    """The register written to a temporary directory for a download: (file, media type).

    The caller removes ``file.parent`` once it has been sent; on failure nothing is left behind.
    """
    import shutil
    import tempfile

    if fmt not in MEDIA_TYPES:
        raise BadInput("利用登记簿只能导出为 xlsx 或 pdf", "the use register exports as xlsx or pdf", format=fmt)
    workdir = Path(tempfile.mkdtemp(prefix="use-register-", dir=archive.settings.staging_dir))
    target = workdir / f"利用登记簿-{year}.{fmt}"
    try:
        export_register(archive, principal, year, target)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return target, MEDIA_TYPES[fmt]
