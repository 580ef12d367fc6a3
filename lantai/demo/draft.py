"""The 定稿 (approved final draft) as DOCX: what the drafter's word processor holds at 签发.

Same text as the 正本 without the 版头 decorations, with the page set to the GB/T 9704 margins
and the 公文 fonts named (仿宋_GB2312 body, 方正小标宋简体 title) as an OA system would save it.
"""

from __future__ import annotations

import io
from datetime import datetime

from lantai.demo.plan import DocumentPlan
from lantai.demo.zipnorm import normalize_zip


def draft_docx(plan: DocumentPlan) -> bytes:
    from docx import Document
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Mm, Pt

    document = Document()
    section = document.sections[0]
    section.page_width, section.page_height = Mm(210), Mm(297)
    section.top_margin, section.left_margin, section.right_margin, section.bottom_margin = Mm(37), Mm(28), Mm(26), Mm(35)
    number = document.add_paragraph(plan.document_number)
    number.alignment = WD_ALIGN_PARAGRAPH.CENTER
    title = document.add_paragraph()
    title.alignment = WD_ALIGN_PARAGRAPH.CENTER
    run = title.add_run(plan.title)
    run.font.name, run.font.size = "方正小标宋简体", Pt(22)
    if plan.principal:
        document.add_paragraph(plan.principal + "：")
    for paragraph in plan.body:
        p = document.add_paragraph("　　" + paragraph)
        for r in p.runs:
            r.font.name, r.font.size = "仿宋_GB2312", Pt(16)
    for attachment in plan.attachments:
        document.add_paragraph(f"　　附件{attachment.number}：{attachment.title}")
    signature = document.add_paragraph(f"{plan.organ.name}\n{plan.issued.year}年{plan.issued.month}月{plan.issued.day}日")
    signature.alignment = WD_ALIGN_PARAGRAPH.RIGHT
    moment = datetime.combine(plan.issued, datetime.min.time())
    props = document.core_properties
    props.title, props.author, props.last_modified_by = plan.title, plan.organ.clerks[0].name, plan.organ.leader.name
    props.created = props.modified = moment
    props.revision = 3
    props.category = plan.doc_type
    out = io.BytesIO()
    document.save(out)
    return normalize_zip(out.getvalue(), moment)
