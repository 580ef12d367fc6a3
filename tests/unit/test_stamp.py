"""归档章 on an access copy: red pixels in the stamp area of page 1, the original untouched."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from lantai.crypto.digests import sm3_hex
from lantai.errors import BadInput
from lantai.formats.stamp import StampFields, stamp_access_copy, stamp_box

FIELDS = StampFields("Z109", 2025, "0007", "永久", 3, "办公室")
DPI = 50


def original_pdf(path: Path, pages: int = 2) -> Path:
    c = canvas.Canvas(str(path), pagesize=A4)
    for n in range(pages):
        c.setFont("Helvetica", 14)
        c.drawString(72, 500, f"Body text of page {n + 1}")
        c.showPage()
    c.save()
    return path


def render_first_page(pdf: Path, out: Path) -> Image.Image:
    if shutil.which("pdftoppm") is None:
        pytest.skip("poppler-utils (pdftoppm) is not installed")
    subprocess.run(["pdftoppm", "-png", "-r", str(DPI), "-f", "1", "-l", "1", "-singlefile", str(pdf), str(out)], check=True)
    return Image.open(f"{out}.png").convert("RGB")


def red_pixels(image: Image.Image, box: tuple[int, int, int, int]) -> int:
    region = image.crop(box)
    return sum(1 for r, g, b in region.getdata() if r > 150 and g < 90 and b < 90)


def pixel_box(width_pt: float, height_pt: float) -> tuple[int, int, int, int]:
    x0, y0, x1, y1 = stamp_box(width_pt, height_pt)
    scale = DPI / 72
    return int(x0 * scale) - 2, int((height_pt - y1) * scale) - 2, int(x1 * scale) + 2, int((height_pt - y0) * scale) + 2


def test_stamp_is_red_in_the_top_centre_and_original_is_unchanged(tmp_path: Path) -> None:
    original = original_pdf(tmp_path / "正文.pdf")
    before = sm3_hex(original.read_bytes())
    copy = stamp_access_copy(original, tmp_path / "利用副本.pdf", FIELDS)
    assert sm3_hex(original.read_bytes()) == before
    stamped, plain = render_first_page(copy, tmp_path / "stamped"), render_first_page(original, tmp_path / "plain")
    box = pixel_box(*A4)
    assert red_pixels(stamped, box) > 100
    assert red_pixels(plain, box) == 0
    everywhere_else = red_pixels(stamped, (0, box[3] + 2, stamped.width, stamped.height))
    assert everywhere_else == 0, "stamp stays in its box"
    assert box[0] > stamped.width * 0.25 and box[2] < stamped.width * 0.75, "centred"


def test_stamp_text_is_extractable(tmp_path: Path) -> None:
    copy = stamp_access_copy(original_pdf(tmp_path / "a.pdf"), tmp_path / "b.pdf", FIELDS)
    if shutil.which("pdftotext") is None:
        pytest.skip("pdftotext missing")
    text = subprocess.run(["pdftotext", "-f", "1", "-l", "1", str(copy), "-"], capture_output=True, text=True).stdout
    for value in ("Z109", "2025", "0007", "永久", "办公室"):
        assert value in text


def test_refusals(tmp_path: Path) -> None:
    original = original_pdf(tmp_path / "a.pdf")
    with pytest.raises(BadInput):
        stamp_access_copy(original, original, FIELDS)
    with pytest.raises(BadInput):
        stamp_access_copy(original, tmp_path / "b.pdf", StampFields("Z109", 2025, "", "永久", 3))
    bogus = tmp_path / "x.pdf"
    bogus.write_bytes(b"not a pdf")
    with pytest.raises(BadInput):
        stamp_access_copy(bogus, tmp_path / "c.pdf", FIELDS)


LONG = StampFields("Z109", 2025, "0007", "定期30年", 12, "青禾区人民政府办公室综合信息科（机要保密室）")


@pytest.mark.parametrize("size", [A4, (297.6, 419.5), (150.0, 200.0)])  # A4, A6, a tiny page
def test_cells_fit_their_text_and_the_stamp_stays_on_the_page(size: tuple[float, float]) -> None:
    from reportlab.pdfbase.pdfmetrics import stringWidth

    from lantai.formats.stamp import _font_name, layout

    fitted = layout(LONG, *size)
    x0, y0, x1, y1 = fitted.box
    assert 0 <= x0 < x1 <= size[0] and 0 <= y0 < y1 <= size[1]
    assert abs((x1 - x0) - fitted.width) < 0.01
    for col in range(3):
        for row in LONG.grid():
            assert stringWidth(row[col], _font_name(), fitted.font_size) <= fitted.widths[col], (row[col], col)
    short = layout(FIELDS, *A4)
    assert short.font_size == 10 and min(short.widths) >= 12 * 72 / 25.4  # a short stamp keeps its paper size


def test_the_stamp_moves_to_a_blank_corner_when_the_top_centre_is_written_on() -> None:
    from lantai.formats.stamp import layout

    width, height = A4
    centre = layout(FIELDS, width, height).box
    moved = layout(FIELDS, width, height, blank=lambda box: box != centre).box
    assert moved[0] > width / 2  # top right
    nowhere = layout(FIELDS, width, height, blank=lambda box: False).box
    assert nowhere == centre  # nothing blank: where DA/T 22-2015 puts it
