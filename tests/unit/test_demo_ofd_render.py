"""Issue 6: the OFD 正本's first page, rendered to PNG, has its red header where GB/T 9704 puts it.

The same geometry as the PDF check in ``test_demo_layout``: a full-width red separator line across
the 156 mm 版心 from the 28 mm binding margin, 4 mm below the 发文字号, and the red 发文机关标志
starting 35 mm below the top of the 版心 (37 mm top margin).
"""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from PIL import Image

from lantai.demo.layout import layout_document
from lantai.demo.ofd_doc import render_ofd
from lantai.demo.plan import plan_year
from lantai.formats.ofd_render import render_page_png

DPI = 100
MM = DPI / 25.4


def _first_page() -> Image.Image:
    plan = next(p for p in plan_year(2025, 30, 4) if not p.upward and p.doc_type not in ("纪要", "命令（令）"))
    ofd = render_ofd(layout_document(plan, None), doc_id=plan.record_code, signed_at=datetime(2025, 3, 1, 9),
                     signer=None)
    return Image.open(io.BytesIO(render_page_png(io.BytesIO(ofd), 1, dpi=DPI))).convert("RGB")


def test_red_separator_and_masthead_sit_where_gbt_9704_puts_them() -> None:
    image = _first_page()
    width, height = image.size
    pixels = image.load()

    def red(x: int, y: int) -> bool:
        r, g, b = pixels[x, y]
        return r > 180 and g < 90 and b < 90

    def dark(x: int, y: int) -> bool:
        return sum(pixels[x, y]) < 200

    red_rows = {y: [x for x in range(width) if red(x, y)] for y in range(int(60 * MM), int(160 * MM))}
    line_rows = [y for y, xs in red_rows.items() if len(xs) > 0.9 * 156 * MM]
    assert line_rows, "no full-width red line"
    line_y = sum(line_rows) / len(line_rows) / MM
    xs = red_rows[line_rows[0]]
    assert abs(min(xs) / MM - 28) < 1.0 and abs(max(xs) / MM - 184) < 1.0  # 版心 width, 28 mm binding margin
    masthead_top = min(y for y, xs in red_rows.items() if xs and y < line_rows[0]) / MM
    assert abs(masthead_top - (37 + 35)) < 1.5  # 发文机关标志 35 mm below the top of the 版心
    masthead_rows = [y for y, xs in red_rows.items() if xs and y < line_rows[0]]
    assert 10 < (max(masthead_rows) - min(masthead_rows)) / MM < 25  # a 小标宋-sized red line of characters
    # 发文字号 (black) ends just above the line: the line is 4 mm below its baseline.
    number_bottom = max(y for y in range(int(masthead_top * MM), line_rows[0])
                        if any(dark(x, y) for x in range(int(60 * MM), int(150 * MM))))
    assert 2.0 < line_y - number_bottom / MM < 4.5
    assert height / MM == pytest.approx(297, abs=1) and width / MM == pytest.approx(210, abs=1)
