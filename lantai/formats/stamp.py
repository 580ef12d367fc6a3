"""The 归档章 (archiving stamp, DA/T 22-2015 §6.6) drawn onto an *access copy* of a PDF.

The stamp is a 2×3 grid in red — 全宗号 | 年度 | 件号 over 机构(问题) | 保管期限 | 页数 — placed at
the top centre of page 1. reportlab draws it on a transparent one-page overlay the size of that
page; pikepdf lays the overlay over page 1 of a copy. The source is only ever opened for
reading, so the archived original keeps its bytes and its digests.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

from lantai.errors import BadInput, StorageError
from lantai.formats import fonts

MM = 72 / 25.4
CELL_W, CELL_H = 16 * MM, 7.5 * MM  # 48 mm × 15 mm overall: the usual size of a paper 归档章
TOP_MARGIN = 6 * MM
STAMP_RED = (0.86, 0.08, 0.08)


@dataclass(frozen=True)
class StampFields:
    """The six cells. 机构(问题) is optional in the standard; the others are mandatory."""

    fonds: str
    year: int | str
    item_number: int | str
    retention: str
    pages: int | str
    organisation: str = ""

    def grid(self) -> tuple[tuple[str, str, str], tuple[str, str, str]]:
        return ((str(self.fonds), str(self.year), str(self.item_number)),
                (self.organisation, self.retention, str(self.pages)))

    def check(self) -> None:
        missing = [name for name, value in (("全宗号", self.fonds), ("年度", self.year), ("件号", self.item_number),
                                            ("保管期限", self.retention), ("页数", self.pages)) if value in ("", None)]
        if missing:
            raise BadInput(f"归档章缺少必填项: {'、'.join(missing)}", f"archiving stamp lacks mandatory fields: {missing}")


def stamp_box(page_width: float, page_height: float) -> tuple[float, float, float, float]:
    """(x0, y0, x1, y1) of the stamp in PDF points, origin bottom-left: top centre of the page."""
    width, height = 3 * CELL_W, 2 * CELL_H
    x0 = (page_width - width) / 2
    y1 = page_height - TOP_MARGIN
    return x0, y1 - height, x0 + width, y1


def _font_name() -> str:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    if "LantaiStamp" in pdfmetrics.getRegisteredFontNames():
        return "LantaiStamp"
    for path, index in fonts.installed(fonts.EMBEDDABLE):
        pdfmetrics.registerFont(TTFont("LantaiStamp", str(path), subfontIndex=index))
        return "LantaiStamp"
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # not embedded; last resort
    return "STSong-Light"


def overlay_pdf(fields: StampFields, page_width: float, page_height: float) -> bytes:
    """A one-page PDF, transparent except for the red stamp."""
    from reportlab.pdfgen import canvas

    fields.check()
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(page_width, page_height))
    x0, y0, x1, y1 = stamp_box(page_width, page_height)
    c.setStrokeColorRGB(*STAMP_RED)
    c.setFillColorRGB(*STAMP_RED)
    c.setLineWidth(1.2)
    c.rect(x0, y0, x1 - x0, y1 - y0)
    c.line(x0, y0 + CELL_H, x1, y0 + CELL_H)
    for col in (1, 2):
        c.line(x0 + col * CELL_W, y0, x0 + col * CELL_W, y1)
    font = _font_name()
    for row, values in enumerate(fields.grid()):
        for col, text in enumerate(values):
            _centred_text(c, font, text, x0 + col * CELL_W, y1 - (row + 1) * CELL_H)
    c.showPage()
    c.save()
    return buffer.getvalue()


def _centred_text(c, font: str, text: str, x: float, y: float) -> None:  # type: ignore[no-untyped-def]
    from reportlab.pdfbase.pdfmetrics import stringWidth

    size = 10.0
    while size > 5 and stringWidth(text, font, size) > CELL_W - 2:
        size -= 0.5
    c.setFont(font, size)
    c.drawCentredString(x + CELL_W / 2, y + (CELL_H - size * 0.8) / 2, text)


def stamp_access_copy(source: Path, target: Path, fields: StampFields) -> Path:
    """Write ``target``: a copy of ``source`` with the 归档章 on page 1. ``source`` is not modified."""
    import pikepdf

    if Path(source).resolve() == Path(target).resolve():
        raise BadInput("利用副本不能覆盖原件", "the access copy must not overwrite the original")
    try:
        with pikepdf.open(source) as pdf:
            if not pdf.pages:
                raise BadInput(f"{source} 没有页面", f"{source} has no pages")
            page = pdf.pages[0]
            x_min, y_min, x_max, y_max = (float(v) for v in page.mediabox)
            overlay = pikepdf.open(io.BytesIO(overlay_pdf(fields, x_max - x_min, y_max - y_min)))
            page.add_overlay(overlay.pages[0], pikepdf.Rectangle(x_min, y_min, x_max, y_max))
            target.parent.mkdir(parents=True, exist_ok=True)
            pdf.save(target)
    except pikepdf.PdfError as exc:
        raise BadInput(f"{Path(source).name} 不是可读的 PDF: {exc}", f"{Path(source).name} is not a readable PDF: {exc}") from exc
    except OSError as exc:
        raise StorageError(f"无法生成利用副本 {target}: {exc}", f"cannot write access copy {target}: {exc}") from exc
    return target


def page_count(source: Path) -> int:
    """Pages of a PDF, for the stamp's 页数 when the catalogue has none."""
    import pikepdf

    try:
        with pikepdf.open(source) as pdf:
            return len(pdf.pages)
    except pikepdf.PdfError as exc:
        raise BadInput(f"{Path(source).name} 不是可读的 PDF: {exc}", f"{Path(source).name} is not a readable PDF: {exc}") from exc
