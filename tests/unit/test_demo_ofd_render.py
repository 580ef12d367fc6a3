"""Issue 6: the OFD 正本's first page, rendered to PNG, has its red header where GB/T 9704 puts it.

The same geometry as the PDF check in ``test_demo_layout``: a full-width red separator line across
the 156 mm 版心 from the 28 mm binding margin, 4 mm below the 发文字号, and the red 发文机关标志
starting 35 mm below the top of the 版心 (37 mm top margin).
"""

from __future__ import annotations

import io
from datetime import datetime

from PIL import Image

from lantai.demo.layout import layout_document
from lantai.demo.ofd_doc import render_ofd
from lantai.demo.plan import plan_year
from lantai.formats.ofd_render import render_page_png
from tests.gbt9704 import assert_gbt9704_header

DPI = 100
MM = DPI / 25.4


def _first_page() -> Image.Image:
    plan = next(p for p in plan_year(2025, 30, 4) if not p.upward and p.doc_type not in ("纪要", "命令（令）"))
    ofd = render_ofd(layout_document(plan, None), doc_id=plan.record_code, signed_at=datetime(2025, 3, 1, 9),
                     signer=None)
    return Image.open(io.BytesIO(render_page_png(io.BytesIO(ofd), 1, dpi=DPI))).convert("RGB")


def test_red_separator_and_masthead_sit_where_gbt_9704_puts_them() -> None:
    image = _first_page()
    assert_gbt9704_header(image, DPI)
