"""审计 pages for the 安全审计员: the audit chain read, verified and exported; reading is audited too."""

from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from lantai.catalog.models import AuditEntry
from lantai.domain import labels
from lantai.domain.clock import BEIJING, beijing_now, beijing_text
from lantai.domain.roles import Permission
from lantai.errors import BadInput
from lantai.packages import tables
from lantai.services import audit_view
from lantai.services.access import require
from lantai.services.browse import page_bounds
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive


@dataclass(frozen=True)
class AuditFilter:
    """What the 安全审计员 narrows the chain to: 操作类型, 操作人, 日期范围 (Beijing dates), 对象."""

    action: str = ""
    actor: str = ""
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    target: str = ""

    def conditions(self) -> list[Any]:
        found: list[Any] = []
        if self.action:
            found.append(AuditEntry.action == self.action)
        if self.actor:
            found.append(AuditEntry.actor == self.actor)
        if self.target:
            found.append(AuditEntry.target.contains(self.target, autoescape=True))
        if self.date_from:
            found.append(AuditEntry.time >= _utc_text(self.date_from))
        if self.date_to:
            found.append(AuditEntry.time < _utc_text(self.date_to + dt.timedelta(days=1)))
        return found

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, "actor": self.actor, "target": self.target,
                "date_from": self.date_from.isoformat() if self.date_from else "",
                "date_to": self.date_to.isoformat() if self.date_to else ""}


def _utc_text(day: dt.date) -> str:
    """Midnight of a Beijing date as the chain's time text (UTC, ISO 8601 with Z), for comparison."""
    moment = dt.datetime.combine(day, dt.time(), tzinfo=BEIJING).astimezone(dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def _entry(r: AuditEntry) -> dict[str, Any]:
    return {"seq": r.seq, "time": r.time, "actor": r.actor, "action": r.action, "target": r.target,
            "details": json.loads(r.details or "{}"), "prev_hash": r.prev_hash, "hash": r.hash}


def audit_page(archive: Archive, principal: Principal, *, page: int = 1, page_size: int = 50,
               action: str | None = None, actor: str | None = None, where: AuditFilter | None = None) -> dict[str, Any]:
    """Newest first, from the catalogue copy; reading the chain is itself audited."""
    require(principal, Permission.AUDIT_READ)
    page, page_size = page_bounds(page, page_size)
    where = where or AuditFilter(action or "", actor or "")
    conditions = where.conditions()
    with archive.sessions() as session:
        total = session.scalar(select(func.count(AuditEntry.seq)).where(*conditions)) or 0
        rows = session.scalars(select(AuditEntry).where(*conditions).order_by(AuditEntry.seq.desc())
                               .limit(page_size).offset((page - 1) * page_size))
        entries = audit_view.with_titles(session, principal, [_entry(r) for r in rows])
        actions = sorted(session.scalars(select(AuditEntry.action).distinct()))
        actors = sorted(session.scalars(select(AuditEntry.actor).distinct()))
    archive.audit.append(principal.username, "audit.read", "chain", {"page": page, **where.to_dict()})
    return {"entries": entries, "total": int(total), "page": page, "page_size": page_size,
            "actions": actions, "actors": actors}


EXPORT_COLUMNS = ("序号", "时间", "操作人", "操作类型", "对象", "题名", "详情", "哈希")
EXPORT_LIMIT = 100_000
MEDIA_TYPES = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def export_rows(entry: dict[str, Any]) -> list[Any]:
    details = "；".join(f"{k}：{v}" for k, v in labels.readable_details(entry["details"]))
    return [entry["seq"], beijing_text(entry["time"]), entry["actor"], labels.audit_action(entry["action"]),
            labels.target_label(entry["target"]), entry.get("title") or "", details, entry["hash"][:16]]


def audit_download(archive: Archive, principal: Principal, where: AuditFilter, fmt: str) -> tuple[Path, str]:
    """The filtered entries as a printable XLSX or PDF in a temporary directory: (file, media type).

    Same masking as the page (titles above the auditor's clearance hidden); at most
    ``EXPORT_LIMIT`` entries, newest first. The caller removes ``file.parent`` once sent.
    """

    require(principal, Permission.AUDIT_READ)
    if fmt not in MEDIA_TYPES:
        raise BadInput("审计记录只能导出为 xlsx 或 pdf", "the audit log exports as xlsx or pdf", format=fmt)
    with archive.sessions() as session:
        rows = session.scalars(select(AuditEntry).where(*where.conditions()).order_by(AuditEntry.seq.desc())
                               .limit(EXPORT_LIMIT))
        entries = audit_view.with_titles(session, principal, [_entry(r) for r in rows])
    chain = archive.audit.verify().to_dict()
    heading = f"{archive.settings.archive_name} 审计记录"
    summary = [f"导出时间 {beijing_now():%Y-%m-%d %H:%M:%S}，导出人 {principal.username}，共 {len(entries)} 条",
               "审计链校验：" + ("完整，逐条 SM3 哈希链接校验通过" if chain["ok"] else f"被破坏，首个异常序号 {chain['first_bad_seq']}"),
               "筛选条件：" + ("，".join(f"{labels.detail_key(k)} {labels.audit_action(v) if k == 'action' else v}"
                                     for k, v in where.to_dict().items() if v) or "无")]
    workdir = Path(tempfile.mkdtemp(prefix="audit-export-", dir=archive.settings.staging_dir))
    target = workdir / f"审计记录.{fmt}"
    try:
        data = [export_rows(e) for e in entries]
        if fmt == "xlsx":
            tables.write_xlsx(data, EXPORT_COLUMNS, heading, summary, target, sheet_title="审计记录",
                              widths=(7, 19, 10, 16, 22, 30, 60, 18), wrap=(5, 6), summary_title="导出说明")
        else:
            tables.write_pdf(data, EXPORT_COLUMNS, heading, summary, target)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    archive.audit.append(principal.username, "audit.exported", "chain", {"format": fmt, "entries": len(entries),
                                                                         **where.to_dict()})
    return target, MEDIA_TYPES[fmt]


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
