"""Painting a :class:`page.Layout` into a PDF with reportlab, then making it PDF/A-2b.

reportlab embeds a TrueType subset of ZenHei for every font use, so text stays extractable
(pypdf, pdftotext) and the file carries its fonts. The seal is drawn with a colour-key mask
(white is see-through) rather than an alpha channel, so the page has no transparency group.
"""

from __future__ import annotations

import copy
import io
from functools import lru_cache

from reportlab import rl_config
from reportlab.lib.utils import ImageReader
from reportlab.pdfbase import pdfdoc
from reportlab.pdfgen import canvas
from reportlab.pdfgen.canvas import _digester

from lantai.demo import fonts
from lantai.demo.page import PAGE_HEIGHT, PAGE_WIDTH, Layout, Page, Picture
from lantai.formats import pdfa_write as pdfa

MM = 72 / 25.4
CREATOR = "Lantai demo generator"
PRODUCER = "Lantai demo generator (reportlab, pikepdf)"
SEAL_MASK = [235, 255, 235, 255, 235, 255]  # colour key: near-white is see-through (a list, as drawImage names it)
rl_config.useA85 = 0  # ASCII85 is pure Python in reportlab 5 and dominated image output time


def render_pdf(layout: Layout, *, created: str | None = None) -> bytes:
    """PDF/A-2b bytes of ``layout``; ``created`` (ISO date-time) makes the output reproducible."""
    return pdfa.to_pdfa(_draw(layout), layout.title, layout.author, created=created, subject=layout.subject,
                        keywords=layout.keywords, producer=PRODUCER)


def _draw(layout: Layout) -> bytes:
    font = fonts.pdf_font().fontName
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(PAGE_WIDTH * MM, PAGE_HEIGHT * MM), invariant=1, pageCompression=1,
                        initialFontName=font, initialFontSize=12)
    pdf.setCreator(CREATOR)
    pdf.setTitle(layout.title)
    pdf.setAuthor(layout.author)
    for page in layout.pages:
        _draw_page(pdf, page, font)
        pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _draw_page(pdf: canvas.Canvas, page: Page, font: str) -> None:
    for picture in page.pictures:
        _picture(pdf, picture)
    for rule in page.rules:
        pdf.setStrokeColorRGB(*(c / 255 for c in rule.color))
        pdf.setLineWidth(rule.width * MM)
        y = (PAGE_HEIGHT - rule.y) * MM
        pdf.line(rule.x1 * MM, y, rule.x2 * MM, y)
    for run in page.runs:
        text = pdf.beginText(run.x * MM, (PAGE_HEIGHT - run.y) * MM)
        text.setFont(font, run.size * MM)
        text.setFillColorRGB(*(c / 255 for c in run.color))
        if run.hscale != 1.0:
            text.setHorizScale(run.hscale * 100)
        text.textOut(run.text)
        pdf.drawText(text)
    if page.stamp is not None:
        _picture(pdf, page.stamp)


def _picture(pdf: canvas.Canvas, picture: Picture) -> None:
    mask = SEAL_MASK if picture.color_key else None
    box = (picture.x * MM, (PAGE_HEIGHT - picture.y - picture.height) * MM, picture.width * MM, picture.height * MM)
    if picture.color_key:  # the organ's seal: the same few pictures in every document
        _draw_encoded(pdf, _encoded(picture.data), *box)
    else:
        pdf.drawImage(ImageReader(io.BytesIO(picture.data)), *box, mask=mask)


@lru_cache(maxsize=64)
def _encoded(data: bytes) -> pdfdoc.PDFImageXObject:
    """The image XObject reportlab's drawImage would build (decode, MD5 name, deflate), made once
    per process: that was 5–8 ms of every 正本 for a picture that never changes."""
    image = ImageReader(io.BytesIO(data))
    name = _digester(image.getRGBData() + str(SEAL_MASK).encode())
    xobject = pdfdoc.PDFImageXObject(name, image, mask=SEAL_MASK)
    xobject.name = name
    return xobject


def _draw_encoded(pdf: canvas.Canvas, encoded: pdfdoc.PDFImageXObject, x: float, y: float, width: float,
                  height: float) -> None:
    """``canvas.drawImage`` for an already encoded image: register it once per document, then paint."""
    name = encoded.name
    registered = pdf._doc.getXObjectName(name)
    if not pdf._doc.idToObject.get(registered):
        xobject = copy.copy(encoded)
        pdf._setXObjects(xobject)
        pdf._doc.Reference(xobject, registered)
        pdf._doc.addForm(name, xobject)
    pdf._currentPageHasImages = 1
    pdf.saveState()
    pdf.translate(x, y)
    pdf.scale(width, height)
    pdf._code.append(f"/{registered} Do")
    pdf.restoreState()
    pdf._formsinuse.append(name)
