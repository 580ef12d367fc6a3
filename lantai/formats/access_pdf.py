"""Access PDFs (利用副本): what a reader receives of a PDF or an OFD — the 归档章 on page 1 in a
blank area at the top (:mod:`lantai.formats.stamp`) and the user + time watermark on every page
(:mod:`lantai.formats.watermark`), built in one pass; the stored original is only read.

An OFD becomes a PDF of its rendered pages (:func:`lantai.formats.ofd_render.render_pages` paints
the seals' appearances, so the 电子印章 is visible on the copy) at ``OFD_DPI``, one JPEG per page;
the stamp and the watermark are vector text over them, so they stay searchable and sharp.
"""

from __future__ import annotations

import dataclasses
import io
import shutil
import subprocess
import tempfile
import zlib
from pathlib import Path
from typing import IO, Any

from lantai.errors import BadInput
from lantai.formats import stamp as stamps
from lantai.formats.ofd_render import render_pages
from lantai.formats.watermark import watermark_pages

OFD_DPI = 150
BLANK_DPI = 36
INK = 200  # a pixel darker than this (0–255 grey) is ink
MAX_INK_SHARE = 0.002


def add_image_page(pdf: Any, image: Any, x_dpi: float, y_dpi: float, *, jpeg_quality: int | None = None) -> Any:
    """Append a page the size of ``image`` at its resolution, showing only that image (RGB).

    JPEG (DCT) keeps rendered pages small; Flate is lossless for archival renditions.
    """
    import pikepdf

    rgb = image.convert("RGB")
    if jpeg_quality:
        buffer = io.BytesIO()
        rgb.save(buffer, "JPEG", quality=jpeg_quality, optimize=True)
        data, codec = buffer.getvalue(), pikepdf.Name.DCTDecode
    else:
        data, codec = zlib.compress(rgb.tobytes(), 6), pikepdf.Name.FlateDecode
    width, height = rgb.width * 72 / x_dpi, rgb.height * 72 / y_dpi
    picture = pikepdf.Stream(pdf, data, Type=pikepdf.Name.XObject, Subtype=pikepdf.Name.Image, Width=rgb.width,
                             Height=rgb.height, ColorSpace=pikepdf.Name.DeviceRGB, BitsPerComponent=8, Filter=codec)
    page = pdf.add_blank_page(page_size=(width, height))
    page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=picture))
    page.Contents = pdf.make_stream(f"q {width:.4f} 0 0 {height:.4f} 0 0 cm /Im0 Do Q".encode("ascii"))
    return page


def blank_test(image: Any, page_width: float, page_height: float) -> stamps.BlankTest:
    """Whether a box (PDF points) of a page rendered as ``image`` is blank: almost no ink in it."""
    grey = image.convert("L")
    sx, sy = grey.width / page_width, grey.height / page_height

    def blank(box: stamps.Box) -> bool:
        x0, y0, x1, y1 = box
        region = grey.crop((int(x0 * sx), int((page_height - y1) * sy), int(x1 * sx) + 1, int((page_height - y0) * sy) + 1))
        histogram = region.histogram()
        inked = sum(histogram[:INK])
        return inked <= MAX_INK_SHARE * max(1, region.width * region.height)

    return blank


def _pdf_blank_test(source: Path, page_width: float, page_height: float) -> stamps.BlankTest | None:
    """Render page 1 small with pdftoppm to see where the page is blank (None: cannot tell)."""
    from PIL import Image

    if shutil.which("pdftoppm") is None:
        return None
    with tempfile.TemporaryDirectory(prefix="blank-") as work:
        prefix = Path(work) / "p"
        result = subprocess.run(["pdftoppm", "-gray", "-r", str(BLANK_DPI), "-f", "1", "-l", "1", "-singlefile",
                                 str(source), str(prefix)], capture_output=True, timeout=60, check=False)
        png = prefix.with_suffix(".pgm")
        if result.returncode != 0 or not png.exists():
            return None
        with Image.open(png) as image:
            image.load()
            return blank_test(image.copy(), page_width, page_height)


def _with_pages(fields: stamps.StampFields, pages: int) -> stamps.StampFields:
    """页数 from the file itself when the catalogue does not know the item's page count."""
    return fields if fields.pages not in ("", None) else dataclasses.replace(fields, pages=pages)


def pdf_access_copy(source: Path, out: IO[bytes], text: str, fields: stamps.StampFields | None) -> int:
    """The stamped, watermarked copy of a stored PDF; returns its page count."""
    import pikepdf

    try:
        with pikepdf.open(source) as pdf:
            if fields is not None:
                x0, y0, x1, y1 = (float(v) for v in pdf.pages[0].mediabox) if pdf.pages else (0, 0, 0, 0)
                stamps.stamp_first_page(pdf, _with_pages(fields, len(pdf.pages)),
                                        _pdf_blank_test(source, x1 - x0, y1 - y0))
            keep = watermark_pages(pdf, text)
            pdf.save(out)
            pages = len(pdf.pages)
    except pikepdf.PdfError as exc:
        raise BadInput(f"文件不是可读的 PDF: {exc}", f"not a readable PDF: {exc}") from exc
    for overlay in keep:
        overlay.close()
    return pages


def ofd_access_copy(source: Path | IO[bytes], out: IO[bytes], text: str, fields: stamps.StampFields | None,
                    dpi: int = OFD_DPI) -> int:
    """An access PDF rendered from an OFD, seal visible, stamped and watermarked; returns pages."""
    import pikepdf


    pdf = pikepdf.new()
    first: list[Any] = []

    def add(index: int, image: Any) -> None:
        add_image_page(pdf, image, dpi, dpi, jpeg_quality=85)
        if index == 0:
            first.append(image.convert("L").reduce(4))

    pages = render_pages(source, add, dpi=dpi)
    if fields is not None and first:
        x0, y0, x1, y1 = (float(v) for v in pdf.pages[0].mediabox)
        stamps.stamp_first_page(pdf, _with_pages(fields, pages), blank_test(first[0], x1 - x0, y1 - y0))
    keep = watermark_pages(pdf, text)
    pdf.docinfo["/Producer"] = "Lantai access copy (OFD rendered by lantai.formats.ofd_render)"
    pdf.save(out)
    for overlay in keep:
        overlay.close()
    return pages
