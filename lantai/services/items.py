"""One item: its detail (the same record for the web page, the API and ``lantai show``), its
stored check reports, and re-running its checks. Every look at an item is audited."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select
from sqlalchemy.orm import Session, selectinload

from lantai.catalog.models import AuditEntry, Item
from lantai.catalog.preservation import RootObject
from lantai.domain.roles import Permission
from lantai.errors import LantaiError
from lantai.errors import _jsonable as errors_jsonable
from lantai.formats.safexml import local_name, parse_xml
from lantai.services.access import not_found, require, visible_item
from lantai.services.catalogue import INGEST_RECORD_PATH, METADATA_PATH, _plain
from lantai.services.content import preview_kind, principal_files
from lantai.services.fixity import verify_fixity
from lantai.services.item_checks import check_item
from lantai.services.migration import renditions
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive


def item_record(item: Item) -> dict[str, Any]:
    """An item's catalogue columns, files, versions and events: what every view of one item shows."""
    data = {c: _plain(getattr(item, c)) for c in Item.__table__.columns.keys() if c != "id"}
    data["files"] = [{"logical_path": f.logical_path, "role": f.role, "size": f.size, "sm3": f.sm3,
                      "sha512": f.sha512, "document_id": f.document_id, "format": f.format_name,
                      "preview": preview_kind(f.logical_path) if f.role == "content" else None}
                     for f in item.files]
    data["versions"] = [{"version": v.version, "created": v.created, "message": v.message, "user": v.user_name}
                        for v in item.versions]
    data["events"] = [{"seq": e.seq, "status": e.status, "activity": e.activity, "time": e.time,
                       "agent": e.agent, "description": e.description} for e in item.events]
    return data


def get_item(session: Session, record_id: str) -> Item:
    """An item with its files, versions and events, whatever its 密级 (for the command line)."""
    query = (select(Item).where(Item.record_id == record_id)
             .options(selectinload(Item.files), selectinload(Item.versions), selectinload(Item.events)))
    item = session.scalar(query)
    if item is None:
        raise not_found(record_id)
    return item


def describe_item(archive: Archive, record_id: str, *, actor: str) -> dict[str, Any]:
    """``lantai show``: the item as the catalogue has it; audited as a view."""
    with archive.sessions() as session:
        data = item_record(get_item(session, record_id))
    archive.audit.append(actor, "item.viewed", record_id, {})
    return data


INTERNAL_PREFIXES = ("lantai/", "derivatives/")


def listed_to(principal: Principal, logical_path: str, role: str) -> bool:
    """Readers see content and metadata; Lantai's own records and derivatives only those who check items."""
    internal = role == "preservation" or logical_path.startswith(INTERNAL_PREFIXES)
    return not internal or principal.can(Permission.CHECK_RUN)


def item_detail(archive: Archive, principal: Principal, record_id: str) -> dict[str, Any]:
    """Everything the detail page and ``GET /items/{id}`` show; audited as a view."""
    with archive.sessions() as session:
        data = item_record(visible_item(session, principal, record_id, full=True))
        data["files"] = [f for f in data["files"] if listed_to(principal, f["logical_path"], f["role"])]
        data["fixity"] = _fixity_status(session, record_id)
        data["preservation"] = _copies(session, record_id)
    metadata = _read_or_none(archive, record_id, METADATA_PATH)
    data["metadata"] = metadata_groups(metadata)
    documents = document_labels(metadata)
    for f in data["files"]:
        f["document"] = documents.get(f["document_id"] or "", "")
        f["format_short"] = short_format(f["format"] or "", f["logical_path"])
    data["files"].sort(key=_file_order)
    data["checks"] = check_reports(archive, record_id)
    _access_views(archive, record_id, data, metadata)
    archive.audit.append(principal.username, "item.viewed", record_id, {"via": principal.via})
    return data


def _access_views(archive: Archive, record_id: str, data: dict[str, Any], metadata: bytes | None) -> None:
    """What a reader can open of each content file: ``principal`` lists the 正本's files (best to
    preview first); a file no browser shows gets ``rendition``, its migrated PDF/A, when one exists."""
    content = [f["logical_path"] for f in data["files"] if f["role"] == "content"]
    data["principal"] = principal_files(metadata, content)
    made = renditions(archive, record_id)
    for f in data["files"]:
        f["rendition"] = made.get(f["logical_path"]) if f["role"] == "content" and not f["preview"] else None
        f["principal"] = f["logical_path"] in data["principal"]


def _read_or_none(archive: Archive, record_id: str, path: str) -> bytes | None:
    try:
        return archive.store.read_bytes(record_id, path)
    except (LantaiError, OSError):
        return None


def metadata_groups(xml: bytes | None) -> list[dict[str, Any]]:
    """The DA/T 46 record as its top-level groups (来源, 档号, 内容描述 …) of (element, value) rows."""
    if not xml:
        return []
    try:
        root = parse_xml(xml, "元数据.xml")
    except (LantaiError, ValueError):
        return [{"group": "元数据", "fields": [("错误", "元数据无法解析")]}]
    groups = []
    for element in root:
        name = local_name(element)
        if not name:
            continue
        fields = _without_repeats(list(_leaves(element, "")))
        groups.append({"group": name, "fields": fields or [(name, (element.text or "").strip())]})
    return groups


def _without_repeats(fields: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A long value written again (the 编码描述 of every Base64 编码 repeats the same paragraph) is
    shown once; later copies read 同上."""
    seen: set[str] = set()
    kept = []
    for name, value in fields:
        if len(value) > 60 and value in seen:
            value = "（同上）"
        seen.add(value)
        kept.append((name, value))
    return kept


def document_labels(xml: bytes | None) -> dict[str, str]:
    """What each 文档 of the record is, as an archivist names it: 正本 (the 主文档), 定稿, 处理单, 附件…

    Keyed by 文档标识符, which the catalogue keeps on every content file."""
    if not xml:
        return {}
    try:
        root = parse_xml(xml, "元数据.xml")
    except (LantaiError, ValueError):
        return {}
    labels: dict[str, str] = {}
    for document in (e for e in root.iter() if local_name(e) == "文档"):
        values = {local_name(c): (c.text or "").strip() for c in document}
        identifier, title = values.get("文档标识符", ""), values.get("题名", "")
        if values.get("文档主从声明", "").startswith("主"):
            labels[identifier] = "正本"
        elif "处理单" in title or "处理笺" in title:
            labels[identifier] = "处理单"
        elif title.startswith("附件"):
            labels[identifier] = title.split("：")[0].split(":")[0] or "附件"
        else:
            labels[identifier] = title or "附属文档"
    return labels


DOCUMENT_ORDER = ("正本", "定稿", "处理单")


def _file_order(f: dict[str, Any]) -> tuple[int, int, str]:
    """Content first — 正本, 定稿, 处理单, then 附件 and the rest — then metadata and Lantai's own records."""
    label = f.get("document") or ""
    rank = DOCUMENT_ORDER.index(label) if label in DOCUMENT_ORDER else len(DOCUMENT_ORDER)
    return (0 if f["role"] == "content" else 1, rank, f["logical_path"])


def short_format(format_info: str, logical_path: str) -> str:
    """``格式名称:PDF/A-2b, 格式版本:1.7, …`` → ``PDF/A-2b``; the file's extension when none is recorded."""
    for part in format_info.split(","):
        name, _sep, value = part.partition(":")
        if name.strip() in ("格式名称", "格式名称 ") and value.strip():
            return value.strip()
    return logical_path.rsplit(".", 1)[-1].upper() if "." in logical_path else ""


def _leaves(element: Any, prefix: str) -> Iterator[tuple[str, str]]:
    for child in element:
        name = local_name(child)
        if not name or name == "编码数据":
            continue
        label = f"{prefix}{name}"
        if len(child):
            yield from _leaves(child, f"{label} / ")
        else:
            text = (child.text or "").strip()
            yield label, text if len(text) <= 500 else text[:500] + "…"


def check_reports(archive: Archive, record_id: str) -> list[dict[str, Any]]:
    """Check reports kept with the item: the ingest checks, and DA/T 70 reports when present."""
    reports = []
    raw = _read_or_none(archive, record_id, INGEST_RECORD_PATH)
    if raw:
        ingest = json.loads(raw)
        warnings = ingest.get("warnings", [])
        reports.append({"name": "接收检测", "stage": "gd", "passed": True, "errors": 0, "warnings": len(warnings),
                        "findings": warnings, "source": INGEST_RECORD_PATH})
    try:
        files = archive.store.files(record_id)
    except LantaiError:
        return reports
    for f in files:
        if f.logical_path == DAT70_REPORT_PATH:
            reports.append(_dat70_report(archive, record_id))
        elif f.logical_path.startswith(("reports/", "lantai/checks")) and f.logical_path.endswith(".json"):
            reports.append(_stored_report(archive, record_id, f.logical_path))
    return reports


DAT70_REPORT_PATH = "lantai/check-report.json"


def _dat70_report(archive: Archive, record_id: str) -> dict[str, Any]:
    """The 四性检测 report that ``lantai.checks`` stores with the item at ingest (stage gd)."""
    try:
        data = json.loads(archive.store.read_bytes(record_id, DAT70_REPORT_PATH))
    except (ValueError, LantaiError, OSError):
        return {"name": "四性检测（DA/T 70）", "passed": False, "errors": 1, "warnings": 0, "findings": [],
                "source": DAT70_REPORT_PATH}
    results = [r for item in data.get("items", []) for r in item.get("results", [])]
    shown = [{"code": r.get("code", ""), "rule": r.get("code", ""), "element": r.get("file") or r.get("property", ""),
              "message": r.get("message", ""), "severity": "error" if r.get("status") == "fail" else "warning",
              "status": r.get("status", "")} for r in results if r.get("status") in ("fail", "warn", "unscanned")]
    errors = sum(1 for r in results if r.get("status") == "fail")
    return {"name": f"四性检测（DA/T 70，{data.get('stage', 'gd')} 环节）", "stage": data.get("stage", "gd"),
            "passed": errors == 0, "errors": errors, "warnings": len(shown) - errors,
            "findings": [*shown, {"code": "summary", "rule": "", "element": "合计", "severity": "info", "message": f"检测项 {len(results)} 个，未通过 {errors} 个"}],
            "source": DAT70_REPORT_PATH}


def _stored_report(archive: Archive, record_id: str, path: str) -> dict[str, Any]:
    try:
        data = json.loads(archive.store.read_bytes(record_id, path))
    except (ValueError, LantaiError, OSError):
        return {"name": path, "passed": False, "errors": 1, "warnings": 0, "findings": [], "source": path}
    findings = data.get("findings", []) if isinstance(data, dict) else []
    errors = sum(1 for f in findings if str(f.get("severity", "")).lower() == "error")
    return {"name": data.get("title") or data.get("name") or path, "stage": data.get("stage", ""),
            "passed": bool(data.get("passed", errors == 0)), "errors": errors,
            "warnings": len(findings) - errors, "findings": findings, "source": path}


def _copies(session: Session, record_id: str) -> list[dict[str, Any]]:
    """The item's copy on each storage root as scheduled fixity last found it (损坏: no sound copy)."""
    rows = session.scalars(select(RootObject).where(RootObject.object_id == record_id).order_by(RootObject.root))
    return [{"root": r.root, "version": r.version, "verified_at": _plain(r.verified_at) if r.verified_at else None,
             "ok": r.verified_ok, "damaged": r.unrecoverable, "problem": r.problem} for r in rows]


def _fixity_status(session: Session, record_id: str) -> dict[str, Any] | None:
    row = session.scalar(select(AuditEntry).where(AuditEntry.action == "fixity.verified",
                                                  or_(AuditEntry.target == record_id, AuditEntry.target == "*"))
                         .order_by(AuditEntry.seq.desc()).limit(1))
    if row is None:
        return None
    details = json.loads(row.details or "{}")
    problems = [p for p in details.get("problems", []) if p.get("object") == record_id]
    return {"time": row.time, "actor": row.actor, "ok": not problems, "problems": problems}


def run_checks(archive: Archive, principal: Principal, record_id: str) -> dict[str, Any]:
    """Re-verify an item now: fixity of every file of every version, then the DA/T 70 bc profile (recorded)."""

    require(principal, Permission.CHECK_RUN)
    with archive.sessions() as session:
        visible_item(session, principal, record_id)
    report = verify_fixity(archive, [record_id])
    archive.audit.append(principal.username, "fixity.verified", record_id,
                         {"ok": report.ok, "files": report.files, "problems": report.problems[:100]})
    return {"record_id": record_id, "fixity": report.to_dict(),
            "dat70": _jsonable(check_item(archive, principal.username, record_id))}


def _jsonable(value: Any) -> Any:
    return errors_jsonable(value)
