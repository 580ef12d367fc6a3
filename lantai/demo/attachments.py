"""附件 content: XLSX tables (openpyxl), DOCX notes (python-docx) and JPEG "photos" (Pillow).

All three are made from the plan's seeded random stream, with fixed document properties and ZIP
timestamps, so that a seed reproduces the same bytes.
"""

from __future__ import annotations

import io
import random
from datetime import datetime

from lantai.demo import phrases as ph
from lantai.demo.docx import DocProps, Para, write_docx
from lantai.demo.plan import AttachmentPlan, DocumentPlan
from lantai.demo.zipnorm import normalize_zip


def attachment_bytes(plan: DocumentPlan, attachment: AttachmentPlan) -> bytes:
    rng = random.Random(f"{plan.seed}:{plan.index}:attachment:{attachment.number}")
    moment = datetime.combine(plan.issued, datetime.min.time())
    if attachment.kind == "xlsx":
        return xlsx_table(rng, attachment.title, plan.organ.name, moment)
    if attachment.kind == "docx":
        return docx_note(rng, attachment.title, plan, moment)
    return jpeg_photo(rng)


def xlsx_table(rng: random.Random, title: str, author: str, moment: datetime) -> bytes:
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.title = "明细"
    sheet.append([title])
    sheet.append(["序号", "项目名称", "责任单位", "资金（万元）", "完成比例（%）", "备注"])
    items = rng.sample(ph.TABLE_ITEMS, rng.randrange(5, len(ph.TABLE_ITEMS)))
    for number, item in enumerate(items, start=1):
        sheet.append([number, item, rng.choice(("区发展改革委", "区财政局", "区教育局", "区卫生健康委", "各街道")),
                      rng.randrange(20, 3000), round(rng.uniform(30, 100), 1), ""])
    sheet.append(["合计", "", "", f"=SUM(D3:D{len(items) + 2})", "", ""])
    book.properties.creator = author
    book.properties.created = book.properties.modified = moment
    out = io.BytesIO()
    book.save(out)
    return normalize_zip(out.getvalue(), moment)


def docx_note(rng: random.Random, title: str, plan: DocumentPlan, moment: datetime) -> bytes:
    fill = {"subject": plan.subject, "organ": plan.organ.name, "year": plan.year, "n": rng.randrange(2, 9),
            "n2": rng.randrange(10, 90), "month": rng.randrange(2, 12), "day": rng.randrange(1, 28),
            "amount": rng.randrange(1000, 9000), "pct": round(rng.uniform(2, 9), 1), "rate": 95.0}
    paragraphs = [Para(title, font="黑体", size_pt=18, align="center")]
    paragraphs += [Para(s.format(**fill), indent_chars=2) for s in rng.sample(ph.SENTENCES, 5)]
    return write_docx(paragraphs, DocProps(title, plan.organ.clerks[1].name, plan.organ.clerks[1].name, moment))


def jpeg_photo(rng: random.Random, size: tuple[int, int] = (960, 720)) -> bytes:
    """A plausible outdoor scene: sky gradient, ground, a row of buildings with windows."""
    from PIL import Image, ImageDraw

    width, height = size
    horizon = int(height * rng.uniform(0.5, 0.65))
    image = Image.new("RGB", size)
    sky = Image.linear_gradient("L").resize((width, horizon))
    image.paste(Image.merge("RGB", [sky.point(lambda v, k=k: 90 + k * 30 + v // 3) for k in range(3)]), (0, 0))
    draw = ImageDraw.Draw(image)
    draw.rectangle((0, horizon, width, height), fill=(rng.randrange(80, 120), rng.randrange(100, 140), 70))
    x = 0
    while x < width:
        w, h = rng.randrange(60, 160), rng.randrange(80, horizon - 20)
        shade = rng.randrange(120, 210)
        draw.rectangle((x, horizon - h, x + w, horizon), fill=(shade, shade - 10, shade - 25))
        for wy in range(horizon - h + 12, horizon - 16, 22):
            for wx in range(x + 8, x + w - 12, 18):
                draw.rectangle((wx, wy, wx + 8, wy + 10), fill=(60, 80, 110))
        x += w + rng.randrange(4, 30)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=82, optimize=False)
    return out.getvalue()
