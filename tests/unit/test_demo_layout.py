"""GB/T 9704 geometry of the generated 正本, checked on a rendered page, and the planner."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from lantai.demo import fonts, seal
from lantai.demo.layout import layout_document
from lantai.demo.pdf import render_pdf
from lantai.demo.plan import DOC_TYPES, plan_year
from tests.gbt9704 import assert_gbt9704_header

DPI = 100
MM = DPI / 25.4


def _first_downward(seed: int = 4):
    return next(p for p in plan_year(2025, 30, seed) if not p.upward and p.doc_type not in ("纪要", "命令（令）"))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler-utils not installed")
def test_red_separator_and_masthead_sit_where_gbt_9704_puts_them(tmp_path: Path) -> None:
    from PIL import Image

    plan = _first_downward()
    pdf = render_pdf(layout_document(plan, seal.seal_png(plan.organ.name, opaque=True)))
    (tmp_path / "doc.pdf").write_bytes(pdf)
    subprocess.run(["pdftoppm", "-r", str(DPI), "-f", "1", "-l", "1", "-png", str(tmp_path / "doc.pdf"),
                    str(tmp_path / "p")], check=True, timeout=60)
    image = Image.open(next(tmp_path.glob("p*.png"))).convert("RGB")
    assert_gbt9704_header(image, DPI)


def test_body_lines_fit_the_28_by_22_grid() -> None:
    plan = _first_downward()
    layout = layout_document(plan, None)
    for page in layout.pages:
        for run in page.runs:
            assert run.x >= 28 - 0.01 and run.x + fonts.text_width(run.text, run.size) * run.hscale <= 184 + 6
    body = [r for r in layout.pages[0].runs if abs(r.size - 156 / 28) < 1e-6]
    assert max(len(r.text) for r in body) <= 29  # 28 characters, one hanging punctuation mark


def test_a_year_covers_all_fifteen_types_with_gapless_numbers() -> None:
    plans = plan_year(2025, 60, 9)
    assert {p.doc_type for p in plans[:15]} == set(DOC_TYPES)
    by_prefix: dict[str, list[int]] = {}
    for p in plans:
        by_prefix.setdefault(p.prefix, []).append(p.serial)
        assert re.fullmatch(r"青[\u4e00-\u9fff]+〔2025〕[1-9]\d*号", p.document_number)
        assert (p.signer != "") == p.upward
    for serials in by_prefix.values():
        assert sorted(serials) == list(range(1, len(serials) + 1))
    levels = [p.security for p in plans]
    assert levels.count("公开") > len(plans) / 2 and set(levels) <= {"公开", "内部", "秘密", "机密"}


def test_planning_is_deterministic() -> None:
    a, b = plan_year(2025, 20, 3), plan_year(2025, 20, 3)
    assert [(p.title, p.document_number, p.body) for p in a] == [(p.title, p.document_number, p.body) for p in b]


def test_ofd_font_subset_maps_unicode() -> None:
    from fontTools.ttLib import TTFont

    font = TTFont(io.BytesIO(fonts.ofd_font_subset("青禾区人民政府〔2025〕号")))
    cmap = font.getBestCmap()
    assert {ord(c) for c in "青禾区〔2025〕号"} <= set(cmap)
    assert font["maxp"].numGlyphs < 40
