"""Access (利用): who may do what, which items they may see, and what they get when they look.

This is the one place that decides authorisation and visibility; the API and the web UI call
:func:`require` and the item functions here and never repeat the checks themselves.

* **Permissions** come from roles (:mod:`lantai.domain.roles`); a missing permission is
  ``PermissionDenied`` (HTTP 403).
* **Clearance**: an item whose 密级 ranks above the caller's clearance does not exist for them —
  it is absent from every list, count, facet, search and export, and fetching it is ``NotFound``
  with the same message as an item that really does not exist.
* **Accountability**: every item view, download, search and export is appended to the audit chain.
* **Access copies**: content leaves the archive as a copy watermarked with the user and the time
  (PDF overlay, image stamp); the stored original is never modified.
"""

from __future__ import annotations

import csv
import datetime as dt
import importlib
import io
import json
import shutil
import subprocess
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import ColumnElement, func, or_, select
from sqlalchemy.orm import Session, selectinload

from lantai.catalog.models import AuditEntry, Item
from lantai.domain.cells import safe_row
from lantai.domain.roles import Permission, rank, visible_levels
from lantai.domain.use import Method
from lantai.errors import BadInput, LantaiError, NotFound, PermissionDenied, ValidationFailed
from lantai.services import audit_view, authz, visibility
from lantai.services.archive import Archive
from lantai.services.use_register import record_use
from lantai.services.users import Principal

METADATA_PATH = "metadata/元数据.xml"
INGEST_RECORD_PATH = "lantai/ingest.json"
MAX_PAGE_SIZE = 100
BROWSE_LEVELS: tuple[tuple[str, str], ...] = (("fonds_code", "全宗"), ("year", "年度"), ("retention", "保管期限"),
                                              ("organisation", "机构或问题"))
PDF_TYPES = {".pdf"}
IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff",
               ".tiff": "image/tiff"}


# --- authorisation --------------------------------------------------------------------------------
def require(principal: Principal, permission: Permission) -> Principal:
    """The single authorisation check every route goes through (:mod:`lantai.services.authz`)."""
    return authz.require(principal, permission)


def visible(principal: Principal, method: str | None = None) -> ColumnElement[bool]:
    """SQL condition: items the caller may see (:func:`lantai.services.visibility.visible_to`)."""
    return visibility.visible_to(principal, method)


def _not_found(record_id: str) -> NotFound:
    return NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item with record id {record_id}")


def visible_item(session: Session, principal: Principal, record_id: str, *, full: bool = False,
                 method: str | None = None) -> Item:
    """The item if it exists *and* the caller may see it (for ``method``); otherwise the same NotFound."""
    require(principal, Permission.ITEM_READ)
    query = select(Item).where(Item.record_id == record_id, visible(principal, method))
    if full:
        query = query.options(selectinload(Item.files), selectinload(Item.versions), selectinload(Item.events))
    item = session.scalar(query)
    if item is None:
        raise _not_found(record_id)
    return item


# --- lists, browse, facets ------------------------------------------------------------------------
@dataclass
class Page:
    """One page of a list. ``total_exact`` False: at least ``total`` match (a very broad full-text
    search stops counting at the ``search_count_window`` setting), so ``pages`` is a lower bound too."""

    items: list[dict[str, Any]]
    total: int
    page: int
    page_size: int
    total_exact: bool = True

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    def to_dict(self) -> dict[str, Any]:
        return {"items": self.items, "total": self.total, "total_exact": self.total_exact, "page": self.page,
                "page_size": self.page_size, "pages": self.pages}


def item_summary(item: Item) -> dict[str, Any]:
    return {"record_id": item.record_id, "title": item.title, "document_number": item.document_number,
            "author": item.author, "date": item.date, "year": item.year, "retention": item.retention,
            "organisation": item.organisation, "fonds_code": item.fonds_code, "archival_code": item.archival_code,
            "document_type": item.document_type, "security_classification": item.security_classification,
            "status": item.status, "file_count": item.file_count, "total_bytes": item.total_bytes,
            "archived_at": _iso(item.archived_at)}


def _iso(value: dt.datetime | None) -> str | None:
    if value is None:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=dt.UTC)).isoformat()


def _filters(principal: Principal, filters: dict[str, Any]) -> list[ColumnElement[bool]]:
    # The clearance test is written so no index is used for it (``|| ''``): almost every row passes
    # it, and the browse index (fonds, year, retention, organisation, 档号) must drive the ORDER BY
    # and LIMIT instead, or every page sorts the whole catalogue.
    conditions: list[ColumnElement[bool]] = [visibility.visible_to(principal, use_index=False)]
    for column, _label in BROWSE_LEVELS:
        value = filters.get(column)
        if value not in (None, ""):
            conditions.append(getattr(Item, column) == value)
    for column in ("document_type", "security_classification"):
        if filters.get(column):
            conditions.append(getattr(Item, column) == filters[column])
    return conditions


def _page_bounds(page: int, page_size: int) -> tuple[int, int]:
    if page < 1 or not (1 <= page_size <= MAX_PAGE_SIZE):
        raise BadInput(f"页码须 ≥ 1，每页 1–{MAX_PAGE_SIZE} 条", f"page >= 1 and page_size 1..{MAX_PAGE_SIZE}")
    return page, page_size


def list_items(archive: Archive, principal: Principal, filters: dict[str, Any] | None = None, *,
               page: int = 1, page_size: int = 50) -> Page:
    """One page of visible items in archival order; never loads more than a page."""
    require(principal, Permission.ITEM_READ)
    page, page_size = _page_bounds(page, page_size)
    conditions = _filters(principal, filters or {})
    with archive.sessions() as session:
        total = session.scalar(select(func.count(Item.id)).where(*conditions)) or 0
        rows = session.scalars(select(Item).where(*conditions)
                               .order_by(Item.fonds_code, Item.year, Item.retention, Item.organisation,
                                         Item.archival_code, Item.id)
                               .limit(page_size).offset((page - 1) * page_size))
        return Page([item_summary(i) for i in rows], total, page, page_size)


def browse_facets(archive: Archive, principal: Principal, filters: dict[str, Any]) -> dict[str, Any]:
    """Counts for the next level of fonds → year → retention → organisation under ``filters``."""
    require(principal, Permission.ITEM_READ)
    chosen = [(c, label, filters[c]) for c, label in BROWSE_LEVELS if filters.get(c) not in (None, "")]
    following = [(c, label) for c, label in BROWSE_LEVELS if filters.get(c) in (None, "")]
    if not following:
        return {"path": chosen, "level": None, "label": None, "values": []}
    column, label = following[0]
    col = getattr(Item, column)
    with archive.sessions() as session:
        rows = session.execute(select(col, func.count(Item.id)).where(*_filters(principal, filters))
                               .group_by(col).order_by(col)).all()
    return {"path": chosen, "level": column, "label": label,
            "values": [{"value": v, "count": int(n)} for v, n in rows]}


# --- one item -------------------------------------------------------------------------------------
INTERNAL_PREFIXES = ("lantai/", "derivatives/")


def listed_to(principal: Principal, logical_path: str, role: str) -> bool:
    """Readers see content and metadata; Lantai's own records and derivatives only those who check items."""
    internal = role == "preservation" or logical_path.startswith(INTERNAL_PREFIXES)
    return not internal or principal.can(Permission.CHECK_RUN)


def item_detail(archive: Archive, principal: Principal, record_id: str) -> dict[str, Any]:
    """Everything the detail page and ``GET /items/{id}`` show; audited as a view."""
    with archive.sessions() as session:
        item = visible_item(session, principal, record_id, full=True)
        data = item_summary(item)
        data.update(ocfl_version=item.ocfl_version, page_count=item.page_count, category=item.category,
                    fonds_unit=item.fonds_unit, item_number=item.item_number, batch_id=item.batch_id,
                    updated_at=_iso(item.updated_at))
        data["files"] = [{"logical_path": f.logical_path, "role": f.role, "size": f.size, "sm3": f.sm3,
                          "sha512": f.sha512, "document_id": f.document_id, "format": f.format_name,
                          "preview": preview_kind(f.logical_path) if f.role == "content" else None}
                         for f in item.files if listed_to(principal, f.logical_path, f.role)]
        data["versions"] = [{"version": v.version, "created": v.created, "message": v.message, "user": v.user_name}
                            for v in item.versions]
        data["events"] = [{"seq": e.seq, "status": e.status, "activity": e.activity, "time": e.time,
                           "agent": e.agent, "description": e.description} for e in item.events]
        data["fixity"] = _fixity_status(session, record_id)
    data["metadata"] = metadata_groups(_read_or_none(archive, record_id, METADATA_PATH))
    data["checks"] = check_reports(archive, record_id)
    archive.audit.append(principal.username, "item.viewed", record_id, {"via": principal.via})
    return data


def _read_or_none(archive: Archive, record_id: str, path: str) -> bytes | None:
    try:
        return archive.store.read_bytes(record_id, path)
    except (LantaiError, OSError):
        return None


def metadata_groups(xml: bytes | None) -> list[dict[str, Any]]:
    """The DA/T 46 record as its top-level groups (来源, 档号, 内容描述 …) of (element, value) rows."""
    if not xml:
        return []
    from lantai.formats.safexml import local_name, parse_xml

    try:
        root = parse_xml(xml, "元数据.xml")
    except (LantaiError, ValueError):
        return [{"group": "元数据", "fields": [("错误", "元数据无法解析")]}]
    groups = []
    for element in root:
        name = local_name(element)
        if not name:
            continue
        fields = list(_leaves(element, ""))
        groups.append({"group": name, "fields": fields or [(name, (element.text or "").strip())]})
    return groups


def _leaves(element: Any, prefix: str) -> Iterator[tuple[str, str]]:
    from lantai.formats.safexml import local_name

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
    """Re-verify an item now: fixity of every file of every version, plus DA/T 70 when installed."""
    from lantai.services.fixity import verify_fixity

    require(principal, Permission.CHECK_RUN)
    with archive.sessions() as session:
        visible_item(session, principal, record_id)
    report = verify_fixity(archive, [record_id])
    archive.audit.append(principal.username, "fixity.verified", record_id,
                         {"ok": report.ok, "files": report.files, "problems": report.problems[:100]})
    result: dict[str, Any] = {"record_id": record_id, "fixity": report.to_dict(), "dat70": None}
    runner = _optional("lantai.checks.runner", "check_item")
    if runner is not None:
        result["dat70"] = _jsonable(runner(archive, record_id))
        archive.audit.append(principal.username, "check.run", record_id, {"ok": bool(result["dat70"])})
    return result


def _optional(module: str, attribute: str) -> Any:
    """A function from an area that may not have landed yet (None when absent)."""
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return None


def _jsonable(value: Any) -> Any:
    from lantai.errors import _jsonable as convert

    return convert(value)


# --- content: access copies -----------------------------------------------------------------------
def preview_kind(logical_path: str) -> str | None:
    suffix = Path(logical_path).suffix.lower()
    if suffix in PDF_TYPES:
        return "pdf"
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix == ".ofd":
        return "ofd"
    return None


@dataclass
class AccessCopy:
    path: Path  # a temporary file the caller streams and then deletes
    media_type: str
    filename: str
    watermarked: bool

    def cleanup(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def watermark_text(principal: Principal, moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    local = moment.astimezone(dt.timezone(dt.timedelta(hours=8)))
    return f"兰台利用副本 {principal.display_name}（{principal.username}）{local:%Y-%m-%d %H:%M} 北京时间"


def access_copy(archive: Archive, principal: Principal, record_id: str, logical_path: str,
                method: str = Method.DOWNLOAD, pages: int | None = None) -> AccessCopy:
    """A watermarked copy of one content file for ``method`` (利用方式); the store is only read."""
    require(principal, Permission.ITEM_DOWNLOAD)
    with archive.sessions() as session:
        item = visible_item(session, principal, record_id, full=True, method=method)
        if not any(f.logical_path == logical_path and f.role == "content" for f in item.files):
            raise NotFound(f"条目 {record_id} 中没有内容文件 {logical_path}", f"no content file {logical_path}")
    kind = preview_kind(logical_path)
    if kind not in ("pdf", "image"):
        raise ValidationFailed("该格式暂不能生成带水印的利用副本，请联系档案管理员",
                               "no watermarked access copy can be made for this format", path=logical_path)
    workdir = Path(tempfile.mkdtemp(prefix="access-", dir=archive.settings.staging_dir))
    target = workdir / Path(logical_path).name
    text = watermark_text(principal)
    try:
        with archive.store.open(record_id, logical_path) as source, open(target, "wb") as out:
            (watermark_pdf if kind == "pdf" else watermark_image)(source, text, out, Path(logical_path).suffix)
    except LantaiError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ValidationFailed(f"文件无法生成利用副本（文件可能已损坏）: {logical_path}",
                               f"cannot make an access copy: {exc}", path=logical_path) from exc
    archive.audit.append(principal.username, "item.downloaded", record_id,
                         {"path": logical_path, "watermark": text, "via": principal.via, "method": method})
    record_use(archive, principal, record_id, method, path=logical_path, pages=pages)
    media = "application/pdf" if kind == "pdf" else IMAGE_TYPES[Path(logical_path).suffix.lower()]
    return AccessCopy(target, media, Path(logical_path).name, True)


def _overlay_pdf(width: float, height: float, text: str) -> bytes:
    from reportlab.lib.colors import Color
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(width, height))
    c.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.18))
    c.setFont("STSong-Light", 14)
    c.saveState()
    c.translate(width / 2, height / 2)
    c.rotate(35)
    step = 110
    for y in range(-int(height), int(height), step):
        c.drawCentredString(0, y, text)
    c.restoreState()
    c.setFillColor(Color(0.4, 0.1, 0.1, alpha=0.7))
    c.setFont("STSong-Light", 8)
    c.drawString(24, 12, text)
    c.showPage()
    c.save()
    return buffer.getvalue()


def watermark_pdf(source: IO[bytes], text: str, out: IO[bytes], _suffix: str = ".pdf") -> None:
    """Stamp every page with ``text`` (one overlay per distinct page size)."""
    import pikepdf

    overlays: dict[tuple[int, int], Any] = {}
    keep = []
    with pikepdf.open(source) as pdf:
        for page in pdf.pages:
            box = [float(v) for v in page.mediabox]
            size = (round(box[2] - box[0]), round(box[3] - box[1]))
            if size not in overlays:
                overlay = pikepdf.open(io.BytesIO(_overlay_pdf(size[0], size[1], text)))
                keep.append(overlay)
                overlays[size] = overlay.pages[0]
            page.add_overlay(overlays[size])
        pdf.docinfo["/LantaiWatermark"] = pikepdf.String(text)
        pdf.save(out)
    for overlay in keep:
        overlay.close()


def watermark_image(source: IO[bytes], text: str, out: IO[bytes], suffix: str) -> None:
    from PIL import Image, ImageDraw

    with Image.open(source) as image:
        image.load()
        rgb = image.convert("RGB")
    draw = ImageDraw.Draw(rgb)
    font = _cjk_font(max(12, rgb.width // 50))
    for y in range(0, rgb.height, max(40, rgb.height // 8)):
        draw.text((10, y), text, fill=(190, 40, 40), font=font)
    rgb.save(out, format={".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix.lower(), "JPEG"))


def _cjk_font(size: int) -> Any:
    from PIL import ImageFont

    for path in ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                 "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"):
        if Path(path).exists():
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def render_page_png(archive: Archive, principal: Principal, record_id: str, logical_path: str,
                    page: int) -> bytes:
    """One page of a PDF or OFD access copy as PNG (watermarked), for in-page previews."""
    if page < 1 or page > 500:
        raise BadInput("页码超出范围", "page out of range")
    kind = preview_kind(logical_path)
    if kind == "ofd":
        return _render_ofd(archive, principal, record_id, logical_path, page)
    copy = access_copy(archive, principal, record_id, logical_path, Method.VIEW, pages=1)
    try:
        if kind != "pdf":
            return copy.path.read_bytes()
        prefix = copy.path.parent / "page"
        result = subprocess.run(["pdftoppm", "-png", "-r", "80", "-f", str(page), "-l", str(page), "-singlefile",
                                 str(copy.path), str(prefix)], capture_output=True, timeout=60, check=False)
        png = prefix.with_suffix(".png")
        if result.returncode != 0 or not png.exists():
            raise NotFound(f"第 {page} 页不存在或无法渲染", f"page {page} cannot be rendered")
        return png.read_bytes()
    finally:
        copy.cleanup()


def ofd_renderer() -> Any:
    """The OFD page renderer of ``lantai.formats`` when that area provides one."""
    for module, name in (("lantai.formats.ofd_render", "render_page_png"), ("lantai.formats.ofd", "render_page_png"),
                         ("lantai.formats.ofd", "render_png")):
        fn = _optional(module, name)
        if fn is not None:
            return fn
    return None


def _render_ofd(archive: Archive, principal: Principal, record_id: str, logical_path: str, page: int) -> bytes:
    require(principal, Permission.ITEM_DOWNLOAD)
    renderer = ofd_renderer()
    if renderer is None:
        raise ValidationFailed("OFD 渲染器尚未就绪，暂不能预览", "no OFD renderer is installed")
    with archive.sessions() as session:
        visible_item(session, principal, record_id, method=Method.VIEW)
    with archive.store.open(record_id, logical_path) as fh:
        png = renderer(fh, page)
    text = watermark_text(principal)
    out = io.BytesIO()
    watermark_image(io.BytesIO(png), text, out, ".png")
    archive.audit.append(principal.username, "item.previewed", record_id, {"path": logical_path, "page": page})
    record_use(archive, principal, record_id, Method.VIEW, path=logical_path, pages=1)
    return out.getvalue()


# --- search ---------------------------------------------------------------------------------------
def search(archive: Archive, principal: Principal, query: str, *, page: int = 1, page_size: int = 20) -> dict[str, Any]:
    """Full-text search when ``lantai.search`` is installed, else a catalogue search; always cleared.

    Pages reach the first ``lantai.search.model.MAX_RESULT_WINDOW`` hits; ``max_page`` is the
    last page that can be asked for, and a later one is BadInput saying so.
    """
    require(principal, Permission.ITEM_READ)
    page, page_size = _page_bounds(page, page_size)
    query = (query or "").strip()
    if not query or len(query) > 200:
        raise BadInput("请输入 1–200 个字的检索词", "query must be 1-200 characters")
    max_page = _last_search_page(page, page_size)
    engine = "catalogue"
    full_text = _full_text_search(archive, principal, query, page, page_size)
    if full_text is not None:
        result, engine = full_text, "full_text"
    else:
        result = _catalogue_search(archive, principal, query, page, page_size)
    archive.audit.append(principal.username, "search", query[:200],
                         {"engine": engine, "total": result.total, "page": page})
    return {**result.to_dict(), "query": query, "engine": engine, "max_page": max_page}


def _last_search_page(page: int, page_size: int) -> int:
    """The last page of ``page_size`` hits within the result window; BadInput when ``page`` is past it."""
    from lantai.search.model import MAX_RESULT_WINDOW

    last = max(1, MAX_RESULT_WINDOW // page_size)
    if page > last:
        raise BadInput(f"检索结果最多可翻阅前 {MAX_RESULT_WINDOW} 条（每页 {page_size} 条，即前 {last} 页）；"
                       "请增加检索词缩小范围",
                       f"only the first {MAX_RESULT_WINDOW} results can be paged through ({last} pages of "
                       f"{page_size}); narrow the query", page=page, max_page=last, max_results=MAX_RESULT_WINDOW)
    return last


def _catalogue_search(archive: Archive, principal: Principal, query: str, page: int, page_size: int) -> Page:
    pattern = "%" + query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
    match = or_(*(col.like(pattern, escape="\\") for col in (Item.title, Item.document_number, Item.author,
                                                            Item.record_id, Item.archival_code)))
    with archive.sessions() as session:
        total = session.scalar(select(func.count(Item.id)).where(visible(principal), match)) or 0
        rows = session.scalars(select(Item).where(visible(principal), match).order_by(Item.archived_at.desc(), Item.id)
                               .limit(page_size).offset((page - 1) * page_size))
        return Page([item_summary(i) for i in rows], total, page, page_size)


def _full_text_search(archive: Archive, principal: Principal, query: str, page: int, page_size: int) -> Page | None:
    """Adapter over ``lantai.search``; the clearance is passed down *and* re-checked here."""
    from lantai.services.search_index import search

    try:
        result = search(archive, query, clearance=principal.clearance, limit=page_size,
                        offset=(page - 1) * page_size)
    except LantaiError:
        return None  # e.g. a query the index cannot parse: fall back to the catalogue match
    if result.stale or (result.total == 0 and not result.hits):
        return None if result.stale else Page([], 0, page, page_size)
    ids = [hit.record_id for hit in result.hits]
    total = int(result.total)
    with archive.sessions() as session:
        rows = {i.record_id: i for i in session.scalars(select(Item).where(Item.record_id.in_(ids), visible(principal)))}
    return Page([item_summary(rows[i]) for i in ids if i in rows], total, page, page_size, bool(result.total_exact))


# --- export ---------------------------------------------------------------------------------------
CATALOGUE_COLUMNS = (("archival_code", "档号"), ("record_id", "电子文件号"), ("title", "题名"),
                     ("document_number", "文件编号"), ("author", "责任者"), ("date", "日期"), ("year", "年度"),
                     ("retention", "保管期限"), ("organisation", "机构或问题"), ("document_type", "文种"),
                     ("security_classification", "密级"), ("file_count", "文件数"), ("total_bytes", "字节数"))


def export_catalogue(archive: Archive, principal: Principal, filters: dict[str, Any]) -> Iterator[str]:
    """CSV (UTF-8 with BOM for spreadsheet programs) of every visible item matching ``filters``."""
    require(principal, Permission.EXPORT)
    conditions = _filters(principal, filters)
    archive.audit.append(principal.username, "export.catalogue", "catalogue",
                         {"filters": {k: v for k, v in filters.items() if v not in (None, "")}})

    def rows() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(safe_row(label for _c, label in CATALOGUE_COLUMNS))
        yield "\ufeff" + buffer.getvalue()
        with archive.sessions() as session:
            query = (select(*(getattr(Item, c) for c, _l in CATALOGUE_COLUMNS)).where(*conditions)
                     .order_by(Item.fonds_code, Item.year, Item.retention, Item.organisation, Item.archival_code,
                               Item.id).execution_options(yield_per=1000))
            for row in session.execute(query):
                buffer.seek(0)
                buffer.truncate()
                writer.writerow(safe_row("" if v is None else v for v in row))
                yield buffer.getvalue()

    return rows()


def export_package(archive: Archive, principal: Principal, record_id: str) -> Path:
    """A zip of the item's head version (originals, metadata, reports) for transfer or backup."""
    require(principal, Permission.EXPORT)
    with archive.sessions() as session:
        visible_item(session, principal, record_id)
    workdir = Path(tempfile.mkdtemp(prefix="export-", dir=archive.settings.staging_dir))
    target = workdir / f"{_safe_name(record_id)}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for stored in archive.store.files(record_id):
            with archive.store.open(record_id, stored.logical_path) as src, zf.open(stored.logical_path, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        zf.writestr("inventory.json", json.dumps(archive.store.read_inventory(record_id), ensure_ascii=False, indent=1))
    archive.audit.append(principal.username, "export.package", record_id, {"bytes": target.stat().st_size})
    return target


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:100] or "item"


# --- 密级 changes ---------------------------------------------------------------------------------
def change_classification(archive: Archive, principal: Principal, record_id: str, level: str, reason: str) -> dict:
    """Change an item's 密级 as a new OCFL version of its metadata (安全保密管理员 only)."""
    from lantai.formats.safexml import descendants, parse_xml
    from lantai.services import recovery
    from lantai.services.catalogue import upsert_item

    require(principal, Permission.ITEM_CLASSIFY)
    with archive.sessions() as session:  # a hidden item is missing, before anything else is said about it
        before = visible_item(session, principal, record_id).security_classification
    if level not in visible_levels("绝密") or not (reason or "").strip():
        raise BadInput("请选择有效密级并填写变更理由", "a valid level and a reason are required")
    if rank(level) > rank(principal.clearance):
        raise PermissionDenied("不能将密级设为高于本人密级权限", "cannot classify above your own clearance")
    root = parse_xml(archive.store.read_bytes(record_id, METADATA_PATH), "元数据.xml")
    nodes = descendants(root, "密级")
    if not nodes:
        raise ValidationFailed("元数据中没有密级元素，无法变更", "the metadata has no 密级 element")
    for node in nodes:
        node.text = level
    from lxml import etree

    data = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    with archive.store.object_lock(record_id):
        builder = archive.store.begin_version(record_id)
        builder.add_bytes(METADATA_PATH, data)
        prepared = builder.prepare(message=f"密级变更 {before} → {level}：{reason.strip()[:200]}",
                                   user_name=principal.username)
        intent = recovery.write_intent(archive, [(record_id, prepared.staging_dir)], principal.username)
        try:
            version = archive.store.commit(prepared)
            with archive.session() as session:
                upsert_item(session, archive.store, record_id)
                archive.audit.append(principal.username, "item.classified", record_id,
                                     {"from": before, "to": level, "reason": reason.strip()[:200],
                                      "version": version}, session=session)
        finally:
            recovery.clear_intent(intent)
    return {"record_id": record_id, "from": before, "to": level, "version": version}


# --- 收集: submissions over the API and the web (idempotent) --------------------------------------
UPLOADS_DIR = "uploads"
STALE_PROCESSING = dt.timedelta(minutes=10)


def uploads_dir(archive: Archive) -> Path:
    path = archive.settings.staging_dir / UPLOADS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _valid_key(key: str | None) -> str:
    import uuid

    if key is None or key == "":
        return f"auto-{uuid.uuid4().hex}"
    if len(key) > 128 or not all(33 <= ord(c) < 127 for c in key):
        raise BadInput("Idempotency-Key 须为 1–128 个可见 ASCII 字符", "Idempotency-Key must be 1-128 visible ASCII characters")
    return key


def submit(archive: Archive, principal: Principal, upload: Path, *, kind: str, key: str | None,
           request_digest: str) -> dict[str, Any]:
    """Ingest an uploaded SIP zip (``kind="item"``) or batch zip; a repeated key replays the answer.

    The same key with a different body is a Conflict; a key still being processed is a Conflict
    the client may retry. The upload is kept while the submission is rejected, for 重新检测.
    """
    require(principal, Permission.SUBMIT)
    key = _valid_key(key)
    claimed = _claim(archive, principal, key, kind, request_digest)
    if claimed.get("replayed"):
        upload.unlink(missing_ok=True)
        return claimed
    submission_id = claimed["id"]
    kept = uploads_dir(archive) / f"{submission_id}.zip"
    shutil.move(str(upload), kept)
    try:
        return _process(archive, principal, submission_id, kept, kind)
    except BaseException:
        with archive.session() as session:  # let a retry with the same key start again
            from lantai.catalog.models import Submission

            row = session.get(Submission, submission_id)
            if row is not None and row.status == "processing":
                session.delete(row)
        kept.unlink(missing_ok=True)
        raise


def _claim(archive: Archive, principal: Principal, key: str, kind: str, request_digest: str) -> dict[str, Any]:
    from sqlalchemy.exc import IntegrityError

    from lantai.catalog.models import Submission

    meta = {"kind": kind, "request_digest": request_digest}
    try:
        with archive.session() as session:
            row = Submission(idempotency_key=key, status="processing", submitted_by=principal.username,
                             result=json.dumps(meta))
            session.add(row)
            session.flush()
            return {"id": row.id}
    except IntegrityError:
        pass
    with archive.session() as session:
        row = session.scalar(select(Submission).where(Submission.idempotency_key == key))
        if row is None:
            raise BadInput("提交冲突，请重试", "submission race; retry")
        stored = json.loads(row.result or "{}")
        if row.submitted_by != principal.username or stored.get("request_digest") != request_digest:
            from lantai.errors import Conflict

            raise Conflict("该 Idempotency-Key 已用于另一份提交内容", "Idempotency-Key reused with a different body",
                           idempotency_key=key)
        if row.status == "processing":
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
            if dt.datetime.now(dt.UTC) - created < STALE_PROCESSING:
                from lantai.errors import Conflict

                raise Conflict("该提交正在处理中，请稍后重试", "this submission is still being processed",
                               submission_id=row.id)
            row.created_at = dt.datetime.now(dt.UTC)
            return {"id": row.id}
        return {**submission_public(row), "replayed": True}


def _process(archive: Archive, principal: Principal, submission_id: int, package: Path, kind: str) -> dict[str, Any]:
    from lantai.catalog.models import Submission

    if kind == "item":
        security = _declared_classification(archive, package)
        status, record_id, result = _ingest_item(archive, principal, package)
    else:
        status, record_id, result, security = _ingest_batch_zip(archive, principal, package)
    if status in ("accepted", "duplicate", "complete"):
        package.unlink(missing_ok=True)
    with archive.session() as session:
        row = session.get(Submission, submission_id)
        stored = json.loads(row.result or "{}")
        row.status, row.record_id = status, record_id or ""
        row.result = json.dumps({**stored, "security": security, "report": result,
                                 "package_kept": package.exists()}, ensure_ascii=False)
        archive.audit.append(principal.username, "submission.processed", str(submission_id),
                             {"status": status, "record_id": record_id, "kind": kind}, session=session)
        session.flush()
        return {**submission_public(row), "replayed": False}


def _ingest_item(archive: Archive, principal: Principal, package: Path) -> tuple[str, str | None, dict[str, Any]]:
    from lantai.services.ingest import BatchContext, commit_item, prepare_item

    context = BatchContext(submitted_by=principal.username, batch_source="api")
    outcome = commit_item(archive, prepare_item(archive.settings, package, context), context)
    return outcome.status, outcome.record_id, outcome.to_dict()


def _ingest_batch_zip(archive: Archive, principal: Principal,
                      package: Path) -> tuple[str, str | None, dict[str, Any], str]:
    """Ingest a batch zip; also returns the batch's 密级 (that of its most secret item)."""
    from lantai.services.ingest import IngestReport, ingest_batch

    workdir = Path(tempfile.mkdtemp(prefix="batch-", dir=archive.settings.staging_dir))
    try:
        batch_dir = _extract_batch(archive, package, workdir)
        security = visibility.batch_classification(batch_dir, archive.settings.max_metadata_bytes)
        report = IngestReport()
        ingest_batch(archive, batch_dir, report, actor=principal.username)
        data = report.to_dict()
        statuses = [b.get("status") for b in report.batches]
        status = "rejected" if "rejected" in statuses else ("complete" if report.ok else "partial")
        return status, (report.batches[0].get("batch_id") if report.batches else None), data, security
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _extract_batch(archive: Archive, package: Path, workdir: Path) -> Path:
    """Unpack a batch zip with the archive's zip limits; the batch is the folder holding 归档登记表.csv."""
    from lantai.errors import PackageError
    from lantai.packages import sip

    settings = archive.settings
    if not zipfile.is_zipfile(package):
        raise PackageError("批次须为 zip 文件", "a batch must be a zip file")
    with zipfile.ZipFile(package) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > settings.max_zip_entries or sum(i.file_size for i in infos) > settings.max_item_bytes:
            raise PackageError("批次 zip 过大或条目过多", "batch zip too large or has too many entries")
        for info in infos:
            name = sip.check_relative_path(package.name, sip.decode_zip_name(info))
            if info.compress_size and info.file_size > 1024 * 1024 and info.file_size / info.compress_size > settings.max_zip_ratio:
                raise PackageError(f"{name}: 压缩比异常（疑似 zip 炸弹）", f"{name}: suspicious compression ratio")
            target = workdir / name
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
    candidates = [workdir] + [p for p in workdir.iterdir() if p.is_dir()]
    for candidate in candidates:
        if sip.is_batch(candidate):
            return candidate
    raise PackageError("批次 zip 中没有 归档登记表.csv", "the batch zip has no 归档登记表.csv")


def _declared_classification(archive: Archive, package: Path) -> str:
    """The 密级 the package declares in 内容描述/密级 (for hiding the submission from under-cleared staff)."""
    return visibility.package_classification(package, archive.settings.max_metadata_bytes)


def submission_public(row: Any) -> dict[str, Any]:
    stored = json.loads(row.result or "{}")
    return {"id": row.id, "idempotency_key": row.idempotency_key, "status": row.status, "record_id": row.record_id,
            "kind": stored.get("kind", "item"), "submitted_by": row.submitted_by, "created_at": _iso(row.created_at),
            "security": stored.get("security"), "report": stored.get("report"),
            "recheck_available": bool(stored.get("package_kept"))}


def _may_see_submission(principal: Principal, row: Any) -> bool:
    if row.submitted_by == principal.username:
        return principal.can(Permission.SUBMISSION_OWN) or principal.can(Permission.SUBMISSION_ALL)
    if not principal.can(Permission.SUBMISSION_ALL):
        return False
    security = json.loads(row.result or "{}").get("security") or "公开"
    return rank(security) <= rank(principal.clearance)


def list_submissions(archive: Archive, principal: Principal, *, status: str | None = None, page: int = 1,
                     page_size: int = 50) -> Page:
    """The 收集 inbox: own submissions, or everyone's (within clearance) for 档案管理员."""
    from lantai.catalog.models import Submission

    if not (principal.can(Permission.SUBMISSION_OWN) or principal.can(Permission.SUBMISSION_ALL)):
        require(principal, Permission.SUBMISSION_OWN)
    page, page_size = _page_bounds(page, page_size)
    query = select(Submission).order_by(Submission.id.desc())
    if not principal.can(Permission.SUBMISSION_ALL):
        query = query.where(Submission.submitted_by == principal.username)
    if status:
        query = query.where(Submission.status == status)
    with archive.sessions() as session:
        # Clearance of a submission is in its JSON result, so filter in Python over a bounded window.
        rows = [r for r in session.scalars(query.limit(5000)) if _may_see_submission(principal, r)]
    chunk = rows[(page - 1) * page_size: page * page_size]
    return Page([submission_public(r) for r in chunk], len(rows), page, page_size)


def get_submission(archive: Archive, principal: Principal, submission_id: int) -> dict[str, Any]:
    from lantai.catalog.models import Submission

    with archive.sessions() as session:
        row = session.get(Submission, submission_id)
        if row is None or not _may_see_submission(principal, row):
            raise NotFound(f"提交 {submission_id} 不存在", f"no submission {submission_id}")
        return submission_public(row)


def recheck_submission(archive: Archive, principal: Principal, submission_id: int) -> dict[str, Any]:
    """重新检测: run a rejected submission's kept package through ingest again."""
    from lantai.catalog.models import Submission

    require(principal, Permission.CHECK_RUN)
    current = get_submission(archive, principal, submission_id)
    package = uploads_dir(archive) / f"{submission_id}.zip"
    if current["status"] in ("accepted", "duplicate", "complete", "processing") or not package.exists():
        from lantai.errors import Conflict

        raise Conflict("该提交无需或无法重新检测（仅拒收且保留原包的提交可重新检测）",
                       "only rejected submissions whose package was kept can be re-checked")
    with archive.session() as session:
        session.get(Submission, submission_id).status = "processing"
    archive.audit.append(principal.username, "submission.recheck", str(submission_id), {})
    return _process(archive, principal, submission_id, package, current["kind"])


# --- 审计: the audit chain, for the 安全审计员 ------------------------------------------------------
def audit_page(archive: Archive, principal: Principal, *, page: int = 1, page_size: int = 50,
               action: str | None = None, actor: str | None = None) -> dict[str, Any]:
    """Newest first, from the catalogue copy; reading the chain is itself audited."""
    require(principal, Permission.AUDIT_READ)
    page, page_size = _page_bounds(page, page_size)
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
    """The authoritative journal, line by line (JSON Lines), exactly as stored."""
    require(principal, Permission.AUDIT_READ)
    archive.audit.append(principal.username, "audit.exported", "chain", {})
    journal = archive.settings.audit_journal

    def lines() -> Iterator[bytes]:
        if journal.exists():
            with open(journal, "rb") as fh:
                yield from fh

    return lines()


def save_upload(archive: Archive, stream: IO[bytes]) -> tuple[Path, str]:
    """Copy an uploaded package into the uploads area, hashing it; bounded by max_item_bytes."""
    import hashlib
    import uuid

    from lantai.errors import PackageError

    target = uploads_dir(archive) / f"incoming-{uuid.uuid4().hex}.zip"
    hasher, size, limit = hashlib.sha256(), 0, archive.settings.max_item_bytes
    with open(target, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise PackageError("提交的包超过大小上限", "package exceeds the size limit")
            hasher.update(chunk)
            out.write(chunk)
    if size == 0:
        target.unlink(missing_ok=True)
        raise PackageError("提交的包为空", "empty package")
    return target, hasher.hexdigest()


def package_from_parts(archive: Archive, metadata: IO[bytes], process: IO[bytes] | None,
                       files: list[tuple[str, IO[bytes]]]) -> tuple[Path, str]:
    """Build a SIP zip from multipart parts (元数据.xml, optional 过程信息.xml, content files)."""
    import hashlib
    import uuid

    from lantai.errors import PackageError
    from lantai.packages import sip

    target = uploads_dir(archive) / f"incoming-{uuid.uuid4().hex}.zip"
    hasher = hashlib.sha256()
    names: set[str] = set()
    parts = [(sip.METADATA_NAME, metadata)] + ([(sip.PROCESS_NAME, process)] if process is not None else []) + files
    try:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, stream in parts:
                name = sip.check_relative_path("multipart", (name or "").strip())
                if name in names:
                    raise PackageError(f"重复的文件名 {name}", f"duplicate file name {name}")
                names.add(name)
                hasher.update(name.encode("utf-8") + b"\0")
                with zf.open(name, "w", force_zip64=True) as out:
                    while chunk := stream.read(1024 * 1024):
                        hasher.update(chunk)
                        out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, hasher.hexdigest()


def require_any(principal: Principal, *permissions: Permission) -> Principal:
    """Pages that serve several roles (系统管理) need one of the permissions."""
    return authz.require_any(principal, *permissions)
