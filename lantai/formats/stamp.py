"""The 归档章 (archiving stamp, DA/T 22-2015 §6.6) drawn onto an *access copy* of a PDF.

The stamp is a 2×3 grid in red — 全宗号 | 年度 | 件号 over 机构(问题) | 保管期限 | 页数. Its cells
are fitted to their text: each column as wide as its longer value at 10 pt (never narrower than
12 mm), the font shrinking to 6 pt and then the whole stamp scaling down when a long 机构 name
would push it past the page's margins — so no text leaves its cell and the stamp never leaves
the page. It goes in a blank area at the top of page 1: top centre as DA/T 22-2015 says, else
the top right, else the top left (the caller says what is blank, from a low-resolution render);
when nothing is blank, top centre. reportlab draws it on a transparent one-page overlay the size
of that page; pikepdf lays the overlay over page 1 of a copy. The source is only ever opened for
reading, so the archived original keeps its bytes and its digests.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from lantai.errors import BadInput, StorageError
from lantai.formats import fonts

MM = 72 / 25.4
CELL_W, CELL_H = 16 * MM, 7.5 * MM  # the usual paper 归档章: 48 mm × 15 mm
MIN_CELL_W, PAD = 12 * MM, 1.5 * MM
FONT_MAX, FONT_MIN = 10.0, 6.0
TOP_MARGIN = SIDE_MARGIN = 6 * MM
STAMP_RED = (0.86, 0.08, 0.08)
PLACES = ("top-centre", "top-right", "top-left")

Box = tuple[float, float, float, float]  # x0, y0, x1, y1 in PDF points, origin bottom-left
BlankTest = Callable[[Box], bool]


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

    def text(self) -> list[str]:
        """The values as they appear in the stamp (what a reader of the copy can find in it)."""
        return [v for row in self.grid() for v in row if v]


@dataclass(frozen=True)
class StampLayout:
    """Column widths and font size fitted to the text; the stamp's box on the page."""

    widths: tuple[float, float, float]
    row_height: float
    font_size: float
    box: Box

    @property
    def width(self) -> float:
        return sum(self.widths)


def _font_name() -> str:
    return fonts.reportlab_cjk()


def _widths(fields: StampFields, font: str, size: float) -> list[float]:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    grid = fields.grid()
    return [max(MIN_CELL_W, max(stringWidth(row[col], font, size) for row in grid) + 2 * PAD) for col in range(3)]


def layout(fields: StampFields, page_width: float, page_height: float, blank: BlankTest | None = None) -> StampLayout:
    """Fit the cells to the text and the stamp to the page, then pick its place (see the module)."""
    font, size = _font_name(), FONT_MAX
    room = max(page_width - 2 * SIDE_MARGIN, 1.0)
    widths = _widths(fields, font, size)
    while sum(widths) > room and size > FONT_MIN:
        size -= 0.5
        widths = _widths(fields, font, size)
    scale = min(1.0, room / sum(widths), max(page_height - 2 * TOP_MARGIN, 1.0) / (2 * CELL_H))
    widths = [w * scale for w in widths]
    row, size = CELL_H * scale, size * scale
    boxes = [stamp_box(page_width, page_height, sum(widths), 2 * row, place) for place in PLACES]
    chosen = next((b for b in boxes if blank is None or blank(b)), boxes[0])
    return StampLayout((widths[0], widths[1], widths[2]), row, size, chosen)


def stamp_box(page_width: float, page_height: float, width: float = 3 * CELL_W, height: float = 2 * CELL_H,
              place: str = "top-centre") -> Box:
    """(x0, y0, x1, y1) of a stamp of that size at ``place`` on the page, origin bottom-left."""
    x0 = {"top-centre": (page_width - width) / 2, "top-right": page_width - SIDE_MARGIN - width,
          "top-left": SIDE_MARGIN}[place]
    x0 = min(max(x0, 0.0), max(page_width - width, 0.0))
    y1 = page_height - TOP_MARGIN
    return x0, y1 - height, x0 + width, y1


def overlay_pdf(fields: StampFields, page_width: float, page_height: float, fitted: StampLayout | None = None) -> bytes:
    """A one-page PDF, transparent except for the red stamp."""
    from reportlab.pdfgen import canvas

    fields.check()
    fitted = fitted or layout(fields, page_width, page_height)
    buffer = io.BytesIO()
    c = canvas.Canvas(buffer, pagesize=(page_width, page_height), initialFontName=_font_name())
    x0, y0, x1, y1 = fitted.box
    c.setStrokeColorRGB(*STAMP_RED)
    c.setFillColorRGB(*STAMP_RED)
    c.setLineWidth(1.2)
    c.rect(x0, y0, x1 - x0, y1 - y0)
    c.line(x0, y0 + fitted.row_height, x1, y0 + fitted.row_height)
    edges = [x0, x0 + fitted.widths[0], x0 + fitted.widths[0] + fitted.widths[1]]
    for x in edges[1:]:
        c.line(x, y0, x, y1)
    font = _font_name()
    c.setFont(font, fitted.font_size)
    for row, values in enumerate(fields.grid()):
        baseline = y1 - (row + 1) * fitted.row_height + (fitted.row_height - fitted.font_size * 0.8) / 2
        for col, text in enumerate(values):
            c.drawCentredString(edges[col] + fitted.widths[col] / 2, baseline, text)
    c.showPage()
    c.save()
    return buffer.getvalue()


def stamp_first_page(pdf: object, fields: StampFields, blank: BlankTest | None = None) -> StampLayout:
    """Lay the stamp over page 1 of an open pikepdf document (an access copy being built)."""
    import pikepdf

    assert isinstance(pdf, pikepdf.Pdf)
    if not pdf.pages:
        raise BadInput("文件没有页面，无法加盖归档章", "the document has no pages to stamp")
    page = pdf.pages[0]
    x_min, y_min, x_max, y_max = (float(v) for v in page.mediabox)
    fitted = layout(fields, x_max - x_min, y_max - y_min, blank)
    overlay = pikepdf.open(io.BytesIO(overlay_pdf(fields, x_max - x_min, y_max - y_min, fitted)))
    page.add_overlay(overlay.pages[0], pikepdf.Rectangle(x_min, y_min, x_max, y_max))
    pdf.docinfo["/LantaiStamp"] = " ".join(f"{v:.2f}" for v in fitted.box)
    return fitted


def stamp_access_copy(source: Path, target: Path, fields: StampFields, blank: BlankTest | None = None) -> Path:
    """Write ``target``: a copy of ``source`` with the 归档章 on page 1. ``source`` is not modified."""
    import pikepdf

    if Path(source).resolve() == Path(target).resolve():
        raise BadInput("利用副本不能覆盖原件", "the access copy must not overwrite the original")
    fields.check()
    try:
        with pikepdf.open(source) as pdf:
            stamp_first_page(pdf, fields, blank)
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


def stamp_image(image: object, fields: StampFields, dpi: float) -> StampLayout:
    """Draw the 归档章 on a rendered page (a page preview) where :func:`layout` puts it on the PDF."""
    from PIL import Image, ImageDraw

    from lantai.formats.access_pdf import blank_test

    assert isinstance(image, Image.Image)
    fields.check()
    scale = dpi / 72
    width, height = image.width / scale, image.height / scale
    fitted = layout(fields, width, height, blank_test(image, width, height))
    x0, y0, x1, y1 = fitted.box
    red = tuple(round(c * 255) for c in STAMP_RED)
    draw = ImageDraw.Draw(image)
    line = max(1, round(1.2 * scale))
    top, bottom = (height - y1) * scale, (height - y0) * scale
    draw.rectangle((x0 * scale, top, x1 * scale, bottom), outline=red, width=line)
    draw.line((x0 * scale, top + fitted.row_height * scale, x1 * scale, top + fitted.row_height * scale), fill=red, width=line)
    edges = [x0, x0 + fitted.widths[0], x0 + fitted.widths[0] + fitted.widths[1]]
    for x in edges[1:]:
        draw.line((x * scale, top, x * scale, bottom), fill=red, width=line)
    font = fonts.pil_font(fitted.font_size * scale, fonts.EMBEDDABLE)
    for row, values in enumerate(fields.grid()):
        middle = top + (row + 0.5) * fitted.row_height * scale
        for col, text in enumerate(values):
            draw.text(((edges[col] + fitted.widths[col] / 2) * scale, middle), text, fill=red, font=font, anchor="mm")
    return fitted
