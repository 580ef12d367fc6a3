"""Access copies (利用副本): content leaves the archive only as a copy watermarked with the user
and the time (PDF overlay, image stamp, :mod:`lantai.formats.watermark`); the stored original is
only read. Downloads and page previews each have one function here, used by the API and the web."""

from __future__ import annotations

import datetime as dt
import importlib
import io
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lantai.domain.roles import Permission
from lantai.domain.use import Method
from lantai.errors import BadInput, LantaiError, NotFound, ValidationFailed
from lantai.formats import watermark
from lantai.services.access import require, visible_item
from lantai.services.archive import Archive
from lantai.services.replicas import open_verified
from lantai.services.use_register import record_use
from lantai.services.users import Principal

PDF_TYPES = {".pdf"}


IMAGE_TYPES = {".png": "image/png", ".jpg": "image/jpeg", ".jpeg": "image/jpeg", ".tif": "image/tiff",
               ".tiff": "image/tiff"}


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
        with open_verified(archive, record_id, logical_path) as source, open(target, "wb") as out:
            (watermark.watermark_pdf if kind == "pdf" else watermark.watermark_image)(source, text, out, Path(logical_path).suffix)
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
        fn = optional(module, name)
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
    with open_verified(archive, record_id, logical_path) as fh:
        png = renderer(fh, page)
    text = watermark_text(principal)
    out = io.BytesIO()
    watermark.watermark_image(io.BytesIO(png), text, out, ".png")
    archive.audit.append(principal.username, "item.previewed", record_id, {"path": logical_path, "page": page})
    record_use(archive, principal, record_id, Method.VIEW, path=logical_path, pages=1)
    return out.getvalue()
