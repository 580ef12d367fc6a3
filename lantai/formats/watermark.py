"""Watermarks on access copies: every page of a PDF overlaid, an image stamped, with a text that
names the user and the time (Beijing time). Streams in, streams out; the caller keeps the original."""

from __future__ import annotations

import datetime as dt
import io
from typing import IO, Any

from lantai.domain.clock import BEIJING
from lantai.formats import fonts


def text_for(display_name: str, username: str, moment: dt.datetime | None = None) -> str:
    """The watermark text for one user at one moment."""
    local = (moment or dt.datetime.now(dt.UTC)).astimezone(BEIJING)
    return f"兰台利用副本 {display_name}（{username}）{local:%Y-%m-%d %H:%M} 北京时间"


def _overlay_pdf(width: float, height: float, text: str) -> bytes:
    from reportlab.lib.colors import Color
    from reportlab.pdfgen import canvas

    font = fonts.reportlab_cjk()  # embedded: a PDF/A source gives a PDF/A copy (access_pdf)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(width, height), initialFontName=font)
    c.setFillColor(Color(0.75, 0.1, 0.1, alpha=0.18))
    c.setFont(font, 14)
    c.saveState()
    c.translate(width / 2, height / 2)
    c.rotate(35)
    step = 110
    for y in range(-int(height), int(height), step):
        c.drawCentredString(0, y, text)
    c.restoreState()
    c.setFillColor(Color(0.4, 0.1, 0.1, alpha=0.7))
    c.setFont(font, 8)
    c.drawString(24, 12, text)
    c.showPage()
    c.save()
    return buffer.getvalue()


def watermark_pdf(source: IO[bytes], text: str, out: IO[bytes], _suffix: str = ".pdf") -> None:
    """Stamp every page with ``text`` (one overlay per distinct page size)."""
    import pikepdf

    with pikepdf.open(source) as pdf:
        keep = watermark_pages(pdf, text)
        pdf.save(out)
    for overlay in keep:
        overlay.close()


def watermark_pages(pdf: Any, text: str) -> list[Any]:
    """Overlay every page of an open pikepdf document; returns the overlay documents, which must
    stay open until ``pdf`` is saved."""
    import pikepdf

    overlays: dict[tuple[int, int], Any] = {}
    keep = []
    for page in pdf.pages:
        box = [float(v) for v in page.mediabox]
        size = (round(box[2] - box[0]), round(box[3] - box[1]))
        if size not in overlays:
            overlay = pikepdf.open(io.BytesIO(_overlay_pdf(size[0], size[1], text)))
            keep.append(overlay)
            overlays[size] = overlay.pages[0]
        page.add_overlay(overlays[size])
    pdf.docinfo["/LantaiWatermark"] = pikepdf.String(text)
    return keep


def watermark_image(source: IO[bytes], text: str, out: IO[bytes], suffix: str) -> None:
    from PIL import Image, ImageDraw

    with Image.open(source) as image:
        image.load()
        rgb = image.convert("RGB")
    draw = ImageDraw.Draw(rgb)
    font = cjk_font(max(12, rgb.width // 50))
    for y in range(0, rgb.height, max(40, rgb.height // 8)):
        draw.text((10, y), text, fill=(190, 40, 40), font=font)
    rgb.save(out, format={".png": "PNG", ".tif": "TIFF", ".tiff": "TIFF"}.get(suffix.lower(), "JPEG"))


WATERMARK_FACES = (("wqy-zenhei.ttc", 0), ("wqy-microhei.ttc", 0), ("NotoSansCJK-Regular.ttc", 0))


def cjk_font(size: int) -> Any:
    """The watermark's face: WenQuanYi Zen Hei, Micro Hei, or Noto Sans CJK, whichever is installed."""
    return fonts.pil_font(size, WATERMARK_FACES)
