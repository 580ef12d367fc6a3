"""The 公文处理单 (发文处理笺): the one-page form that travels with a 公文 through 拟稿 → 办结.

Laid out with the same page primitives as the 正本 and written through the same PDF/A path.
"""

from __future__ import annotations

from lantai.demo import fonts
from lantai.demo.layout import LEFT, RIGHT, WIDTH, wrap
from lantai.demo.page import PT, RED, Layout, Page, Rule, TextRun
from lantai.demo.plan import DocumentPlan

LABEL = 12 * PT
TITLE = 20 * PT
ROW = 11.0
VALUE_X = LEFT + 30


def handling_layout(plan: DocumentPlan) -> Layout:
    page = Page()
    heading = f"{plan.organ.name}发文处理单"
    page.runs.append(TextRun(LEFT + (WIDTH - fonts.text_width(heading, TITLE)) / 2, 40, heading, TITLE, RED))
    events = {e.action: e for e in plan.events}
    rows = [
        ("文件标题", plan.title), ("发文字号", plan.document_number), ("文种", plan.doc_type),
        ("密级", plan.security + (f"★{plan.secrecy_period}" if plan.secrecy_period else "")),
        ("紧急程度", plan.urgency), ("主送", plan.principal or "（公开发布）"), ("抄送", "，".join(plan.cc)),
        ("附件", "；".join(f"{a.number}．{a.title}" for a in plan.attachments) or "无"),
    ]
    for action in ("拟稿", "核稿", "签发", "印发", "办结"):
        e = events.get(action)
        if e:
            rows.append((action, f"{e.person.name}（{e.person.position}） {e.at:%Y-%m-%d %H:%M}  {e.description}"))
    rows.append(("份数", f"{len(plan.cc) + 10}份"))
    y = 50.0
    page.rules.append(Rule(LEFT, RIGHT, y, 0.5, RED))
    for label, value in rows:
        lines = wrap(value, LABEL, RIGHT - VALUE_X - 2) or [""]
        page.runs.append(TextRun(LEFT + 2, y + 7, label, LABEL))
        for i, line in enumerate(lines):
            page.runs.append(TextRun(VALUE_X, y + 7 + i * LABEL * 1.5, line, LABEL))
        y += max(ROW, 4 + len(lines) * LABEL * 1.5)
        page.rules.append(Rule(LEFT, RIGHT, y, 0.3 if (label, value) != rows[-1] else 0.5, RED))
    return Layout([page], heading, plan.organ.name, "公文处理单", plan.document_number)
