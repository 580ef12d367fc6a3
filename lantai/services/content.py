"""Access copies (利用副本): content leaves the archive only as a copy — a PDF or an OFD with the
归档章 on page 1 (DA/T 22-2015, :mod:`lantai.formats.stamp`) and the user + time watermark on
every page, an image with the watermark — and the stored original is only read. Downloads,
prints and page previews each have one function here, used by the API and the web.

* the 正本 (:mod:`lantai.domain.principal`) is what an item page previews; other files (the
  处理单 among them) are served only when asked for by path;
* an OFD is served as an access PDF rendered from it (seal visible) and previewed page by page;
* a file no browser can show (a DOCX 定稿) is served as its migrated PDF/A rendition when format
  migration made one (:mod:`lantai.services.migration`), stamped and watermarked like any PDF.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import importlib
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lantai.catalog.models import Item
from lantai.domain import metadata as md
from lantai.domain.principal import principal_paths
from lantai.domain.retention import retention_label
from lantai.domain.roles import Permission
from lantai.domain.use import Method
from lantai.errors import BadInput, LantaiError, NotFound, ValidationFailed
from lantai.formats import access_pdf, watermark
from lantai.formats.stamp import StampFields
from lantai.services.access import require, visible_item
from lantai.services.arrange_reference import current_reference
from lantai.services.migration import rendition_of
from lantai.services.replicas import open_verified
from lantai.services.use_register import record_use
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

PDF_TYPES = {".pdf"}


IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff",
               ".tiff": "image/tiff"}
OFD_PREVIEW_DPI = 96


def optional(module: str, attribute: str) -> Any:
    """A function from an area that may not have landed yet (None when absent)."""
    try:
        return getattr(importlib.import_module(module), attribute)
    except (ImportError, AttributeError):
        return None


def preview_kind(logical_path: str) -> str | None:
    suffix = Path(logical_path).suffix.lower()
    if suffix in PDF_TYPES:
        return "pdf"
    if suffix in IMAGE_TYPES:
        return "image"
    if suffix == ".ofd":
        return "ofd"
    return None


def principal_files(metadata: bytes | None, content_paths: list[str]) -> list[str]:
    """The 正本's content paths, best to preview first (see :mod:`lantai.domain.principal`)."""
    record = None
    if metadata is not None:
        with contextlib.suppress(LantaiError, ValueError):
            record = md.parse_record_xml(metadata)
    return principal_paths(record, content_paths, preview_kind)


@dataclass


class AccessCopy:
    path: Path  # a temporary file the caller streams and then deletes
    media_type: str
    filename: str
    watermarked: bool

    def cleanup(self) -> None:
        shutil.rmtree(self.path.parent, ignore_errors=True)


def watermark_text(principal: Principal, moment: dt.datetime | None = None) -> str:
    return watermark.text_for(principal.display_name, principal.username, moment)


def stamp_fields(archive: Archive, item: Item) -> StampFields | None:
    """The item's 归档章 from its catalogue 档号 columns; None until it has a 件号 (not arranged yet)."""

    if not (item.fonds_code and item.year and item.item_number and item.retention):
        return None
    last = (item.archival_code or "").rsplit("-", 1)[-1]
    number = last if last.isdigit() and int(last) == item.item_number else str(item.item_number)
    try:
        retention = retention_label(item.retention)
    except (LantaiError, ValueError, KeyError):
        retention = item.retention
    return StampFields(item.fonds_code, item.year, number, retention, item.page_count or "",
                       _organisation_name(archive, item.fonds_code, item.organisation))


def _organisation_name(archive: Archive, fonds_code: str, code: str) -> str:
    """机构(问题) as the fonds' reference data names it; the code when it is not described there."""
    if not code:
        return ""

    with contextlib.suppress(LantaiError, LookupError, AttributeError):
        reference, _version = current_reference(archive)
        return reference.get_fonds(fonds_code).organisation(code).name or code
    return code


def renderable(archive: Archive, record_id: str, logical_path: str) -> tuple[str, str]:
    """(path, kind) of what an access copy of ``logical_path`` is made from: the file itself, or
    its migrated PDF/A rendition when no access copy can be made of the original's format."""

    kind = preview_kind(logical_path)
    if kind is not None:
        return logical_path, kind
    target = rendition_of(archive, record_id, logical_path)
    if target is not None:
        return target, "pdf"
    raise ValidationFailed("该格式暂不能生成带水印的利用副本（尚无格式迁移生成的 PDF/A 版本），请联系档案管理员",
                           "no watermarked access copy can be made for this format (no migrated rendition)",
                           path=logical_path)


def access_copy(archive: Archive, principal: Principal, record_id: str, logical_path: str,
                method: str = Method.DOWNLOAD, pages: int | None = None) -> AccessCopy:
    """A stamped, watermarked copy of one content file for ``method`` (利用方式); the store is only read."""
    require(principal, Permission.ITEM_DOWNLOAD)
    with archive.sessions() as session:
        item = visible_item(session, principal, record_id, full=True, method=method)
        if not any(f.logical_path == logical_path and f.role == "content" for f in item.files):
            raise NotFound(f"条目 {record_id} 中没有内容文件 {logical_path}", f"no content file {logical_path}")
        fields = stamp_fields(archive, item)
    source, kind = renderable(archive, record_id, logical_path)
    workdir = Path(tempfile.mkdtemp(prefix="access-", dir=archive.settings.staging_dir))
    name = Path(source).name if kind == "image" else f"{Path(source).stem}.pdf"
    target = workdir / name
    text = watermark_text(principal)
    try:
        copied = _make_copy(archive, record_id, source, kind, target, text, fields)
    except LantaiError:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    except Exception as exc:
        shutil.rmtree(workdir, ignore_errors=True)
        raise ValidationFailed(f"文件无法生成利用副本（文件可能已损坏）: {logical_path}",
                               f"cannot make an access copy: {exc}", path=logical_path) from exc
    archive.audit.append(principal.username, "item.downloaded", record_id,
                         {"path": logical_path, "copy_of": source, "stamp": fields is not None and kind != "image",
                          "watermark": text, "via": principal.via, "method": method})
    record_use(archive, principal, record_id, method, path=logical_path, pages=pages or copied)
    media = IMAGE_TYPES[Path(source).suffix.lower()] if kind == "image" else "application/pdf"
    return AccessCopy(target, media, name, True)


def _make_copy(archive: Archive, record_id: str, source: str, kind: str, target: Path, text: str,
               fields: StampFields | None) -> int | None:
    """Write the access copy; returns its page count (None for an image)."""

    # The bytes are checked against their SM3 as they are read (a replica's copy if the primary's
    # is damaged) and kept beside the copy, since the stamp's blank-area test needs a file.
    stored = target.parent / f"source{Path(source).suffix.lower()}"
    with open_verified(archive, record_id, source) as fh, open(stored, "wb") as copy:
        shutil.copyfileobj(fh, copy)
    with open(target, "wb") as out:
        if kind == "pdf":
            return access_pdf.pdf_access_copy(stored, out, text, fields)
        if kind == "ofd":
            return access_pdf.ofd_access_copy(stored, out, text, fields)
        with open(stored, "rb") as fh:
            watermark.watermark_image(fh, text, out, Path(source).suffix)
    return None


def render_page_png(archive: Archive, principal: Principal, record_id: str, logical_path: str,
                    page: int) -> bytes:
    """One page of a PDF or OFD access copy as PNG (watermarked, page 1 stamped), for previews."""
    if page < 1 or page > 500:
        raise BadInput("页码超出范围", "page out of range")
    kind = preview_kind(logical_path)
    if kind == "ofd":
        return _render_ofd(archive, principal, record_id, logical_path, page)
    copy = access_copy(archive, principal, record_id, logical_path, Method.VIEW, pages=1)
    try:
        if copy.media_type != "application/pdf":
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
    for module, name in (("lantai.formats.ofd_render", "render_page"), ("lantai.formats.ofd", "render_page")):
        fn = optional(module, name)
        if fn is not None:
            return fn
    return None


def page_total(archive: Archive, principal: Principal, record_id: str, logical_path: str) -> int:
    """How many pages the page-by-page reader shows for a content file (OFD, PDF or rendition)."""
    require(principal, Permission.ITEM_DOWNLOAD)
    with archive.sessions() as session:
        item = visible_item(session, principal, record_id, full=True, method=Method.VIEW)
        if not any(f.logical_path == logical_path and f.role == "content" for f in item.files):
            raise NotFound(f"条目 {record_id} 中没有内容文件 {logical_path}", f"no content file {logical_path}")
    source, kind = renderable(archive, record_id, logical_path)
    if kind == "image":
        return 1
    with archive.store.open(record_id, source) as fh:
        if kind == "ofd":
            from lantai.formats.ofd_render import page_count

            return page_count(fh)
        import pikepdf

        try:
            with pikepdf.open(fh) as pdf:
                return len(pdf.pages)
        except pikepdf.PdfError as exc:
            raise ValidationFailed("文件不是可读的 PDF", f"not a readable PDF: {exc}", path=logical_path) from exc


def _render_ofd(archive: Archive, principal: Principal, record_id: str, logical_path: str, page: int) -> bytes:
    require(principal, Permission.ITEM_DOWNLOAD)
    renderer = ofd_renderer()
    if renderer is None:
        raise ValidationFailed("OFD 渲染器尚未就绪，暂不能预览", "no OFD renderer is installed")
    with archive.sessions() as session:
        item = visible_item(session, principal, record_id, full=True, method=Method.VIEW)
        if not any(f.logical_path == logical_path and f.role == "content" for f in item.files):
            raise NotFound(f"条目 {record_id} 中没有内容文件 {logical_path}", f"no content file {logical_path}")
        fields = stamp_fields(archive, item) if page == 1 else None
    with open_verified(archive, record_id, logical_path) as fh:
        image = renderer(fh, page - 1, OFD_PREVIEW_DPI)
    if fields is not None and not fields.pages:
        from lantai.formats.ofd_render import page_count

        with archive.store.open(record_id, logical_path) as fh:
            fields = dataclasses.replace(fields, pages=page_count(fh))
    if fields is not None:
        from lantai.formats.stamp import stamp_image

        stamp_image(image, fields, OFD_PREVIEW_DPI)
    text = watermark_text(principal)
    source, out = io.BytesIO(), io.BytesIO()
    image.save(source, "PNG")
    source.seek(0)
    watermark.watermark_image(source, text, out, ".png")
    archive.audit.append(principal.username, "item.previewed", record_id, {"path": logical_path, "page": page})
    record_use(archive, principal, record_id, Method.VIEW, path=logical_path, pages=1)
    return out.getvalue()
