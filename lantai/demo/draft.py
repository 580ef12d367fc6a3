"""The 定稿 (approved final draft) as DOCX: what the drafter's word processor holds at 签发.

Same text as the 正本 without the 版头 decorations, with the page set to the GB/T 9704 margins
and the 公文 fonts named (仿宋_GB2312 body, 方正小标宋简体 title, 黑体 headings) as an OA
system would save it.
"""

from __future__ import annotations

from datetime import datetime

from lantai.demo.docx import DocProps, Para, write_docx
from lantai.demo.plan import DocumentPlan


def draft_docx(plan: DocumentPlan) -> bytes:
    paragraphs = [Para(plan.document_number, align="center"),
                  Para(plan.title, font="方正小标宋简体", size_pt=22, align="center")]
    if plan.principal:
        paragraphs.append(Para(plan.principal + "：", align="left"))
    for text in plan.body:
        heading = len(text) < 12 and text[:2] in {f"{n}、" for n in "一二三四五六"}
        paragraphs.append(Para(text, font="黑体" if heading else "仿宋_GB2312", indent_chars=2))
    for attachment in plan.attachments:
        paragraphs.append(Para(f"附件{attachment.number}：{attachment.title}", indent_chars=2))
    issued = plan.issued
    paragraphs.append(Para(f"{plan.organ.name}\n{issued.year}年{issued.month}月{issued.day}日", align="right"))
    props = DocProps(plan.title, plan.organ.clerks[0].name, plan.organ.leader.name,
                     datetime.combine(issued, datetime.min.time()), plan.doc_type, 3)
    return write_docx(paragraphs, props)
