"""The GB/T 9704 版头 geometry check shared by the PDF and OFD rendering tests."""

from __future__ import annotations

import pytest
from PIL import Image


def assert_gbt9704_header(image: Image.Image, dpi: int) -> None:
    """Red separator across the 156 mm 版心 from 28 mm, 发文机关标志 35 mm below the 版心 top
    (37 mm top margin), the 发文字号 2–4.5 mm above the line, an A4 page."""
    mm = dpi / 25.4
    width, height = image.size
    pixels = image.load()

    def red(x: int, y: int) -> bool:
        r, g, b = pixels[x, y]
        return r > 180 and g < 90 and b < 90

    def dark(x: int, y: int) -> bool:
        return sum(pixels[x, y]) < 200

    red_rows = {y: [x for x in range(width) if red(x, y)] for y in range(int(60 * mm), int(160 * mm))}
    line_rows = [y for y, xs in red_rows.items() if len(xs) > 0.9 * 156 * mm]
    assert line_rows, "no full-width red line"
    line_y = sum(line_rows) / len(line_rows) / mm
    xs = red_rows[line_rows[0]]
    assert abs(min(xs) / mm - 28) < 1.0 and abs(max(xs) / mm - 184) < 1.0  # 版心 width, 28 mm binding margin
    masthead_rows = [y for y, xs in red_rows.items() if xs and y < line_rows[0]]
    masthead_top = min(masthead_rows) / mm
    assert abs(masthead_top - (37 + 35)) < 1.5  # 发文机关标志 35 mm below the top of the 版心
    assert 10 < (max(masthead_rows) - min(masthead_rows)) / mm < 25  # a 小标宋-sized line of red characters
    # 发文字号 (black) ends just above the line: the line is 4 mm below its baseline.
    number_bottom = max(y for y in range(int(masthead_top * mm), line_rows[0])
                        if any(dark(x, y) for x in range(int(60 * mm), int(150 * mm))))
    assert 2.0 < line_y - number_bottom / mm < 4.5
    assert height / mm == pytest.approx(297, abs=1) and width / mm == pytest.approx(210, abs=1)
