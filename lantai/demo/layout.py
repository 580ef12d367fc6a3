"""GB/T 9704-2012 page layout of a 公文, computed into format-neutral :mod:`page` objects.

Geometry (STANDARDS §8): A4; 版心 156 × 225 mm with its top 37 mm below the paper edge and its
left edge 28 mm from the binding edge; 22 lines of 28 characters. The 发文机关标志 starts 35 mm
below the top of the 版心 (80 mm on 上行文), the 发文字号 sits two blank lines under it, and the
red separator line is drawn 4 mm under the 发文字号. Title two lines under the red line; 主送机关
one line under the title; body on the line grid; 附件说明 one line under the body; signature,
date and seal after it; 版记 at the foot of the last page; page numbers 7 mm under the 版心.
"""

from __future__ import annotations

from collections.abc import Iterator

from lantai.demo import fonts
from lantai.demo.page import PT, RED, Layout, Page, Picture, Rule, TextRun
from lantai.demo.plan import DocumentPlan

LEFT, TOP, WIDTH, HEIGHT = 28.0, 37.0, 156.0, 225.0
RIGHT, BOTTOM = LEFT + WIDTH, TOP + HEIGHT
CHARS_PER_LINE, LINES_PER_PAGE = 28, 22
BODY = WIDTH / CHARS_PER_LINE  # 三号 condensed so that 28 characters fill the 版心 exactly
LINE = HEIGHT / LINES_PER_PAGE
TITLE = 22 * PT  # 二号
FOOT = 14 * PT  # 四号 (版记, 页码)
MASTHEAD = 15.0  # em size of the 发文机关标志
GLYPH_TOP = 0.85  # ZenHei ideographs reach 0.85 em above the baseline
MASTHEAD_OFFSET, MASTHEAD_OFFSET_UPWARD = 35.0, 80.0
RED_LINE_GAP = 4.0
RED_LINE_WIDTH = 0.6
SEAL = 42.0  # diameter of the 印章, mm
CLOSING_PUNCT = set("，。、；：！？）》」』】”’〕…")
OPENING_PUNCT = set("（《「『【“‘〔")


def wrap(text: str, size: float, width: float, indent: int = 0) -> list[str]:
    """Greedy line breaking with simple 禁则: no line starts with closing punctuation."""
    lines: list[str] = []
    current, used = "", indent * size
    for char in text:
        w = fonts.advance(char) * size
        if used + w > width + 0.01 and current:
            if char in CLOSING_PUNCT:  # hang it at the end of this line instead
                current += char
                lines.append(current)
                current, used = "", 0.0
                continue
            if current[-1] in OPENING_PUNCT:
                lines.append(current[:-1])
                current, used = current[-1], fonts.advance(current[-1]) * size
            else:
                lines.append(current)
                current, used = "", 0.0
        current += char
        used += w
    if current:
        lines.append(current)
    return lines


class _Flow:
    """A cursor over the line grid that opens new pages as the text runs down."""

    def __init__(self) -> None:
        self.pages: list[Page] = [Page()]
        self.row = 0  # next free grid line on the current page

    @property
    def page(self) -> Page:
        return self.pages[-1]

    def grid_top(self, row: int) -> float:
        return TOP + row * LINE

    def baseline(self, row: int, size: float) -> float:
        return self.grid_top(row) + LINE / 2 + (GLYPH_TOP - 0.5) * size  # glyphs centred in the cell

    def skip_to(self, y: float) -> None:
        """Move the cursor to the first grid line whose cell starts at or below ``y``."""
        row = 0
        while self.grid_top(row) < y - 0.01:
            row += 1
        self.row = max(self.row, row)

    def ensure(self, rows: int) -> None:
        if self.row + rows > LINES_PER_PAGE:
            self.pages.append(Page())
            self.row = 0

    def put(self, text: str, size: float = BODY, *, x: float = LEFT, align: str = "left",
            color: tuple[int, int, int] = (0, 0, 0), right_indent: float = 0.0) -> TextRun:
        self.ensure(1)
        width = fonts.text_width(text, size)
        if align == "center":
            x = LEFT + (WIDTH - width) / 2
        elif align == "right":
            x = RIGHT - right_indent - width
        run = TextRun(x, self.baseline(self.row, size), text, size, color)
        self.page.runs.append(run)
        self.row += 1
        return run

    def paragraph(self, text: str, indent: int = 2) -> None:
        for i, line in enumerate(wrap(text, BODY, WIDTH, indent)):
            self.put(line, x=LEFT + (indent * BODY if i == 0 else 0))


def layout_document(plan: DocumentPlan, seal_png: bytes | None, photos: dict[int, bytes] | None = None) -> Layout:
    """Lay out the 正本 of ``plan``; ``photos`` are JPEG attachments printed on 附件 pages."""
    flow = _Flow()
    _header(flow, plan)
    _title_block(flow, plan)
    for paragraph in plan.body:
        flow.paragraph(paragraph)
    _attachment_note(flow, plan)
    _signature(flow, plan, seal_png)
    for attachment in plan.attachments:
        if photos and attachment.number in photos:
            _photo_page(flow, attachment.number, attachment.title, photos[attachment.number])
    _colophon(flow, plan)
    _page_numbers(flow.pages)
    return Layout(flow.pages, plan.title, plan.organ.name, plan.doc_type, plan.subject)


def _header(flow: _Flow, plan: DocumentPlan) -> None:
    """份号, 密级和保密期限, 紧急程度 (top left), 发文机关标志, 发文字号 / 签发人, red line."""
    marks = [plan.copy_number] if plan.copy_number else []
    if plan.security in ("秘密", "机密"):
        marks.append(f"{plan.security}★{plan.secrecy_period}" if plan.secrecy_period else plan.security)
    if plan.urgency in ("特急", "加急"):
        marks.append(plan.urgency)
    for mark in marks:
        flow.put(mark, x=LEFT)
    top = TOP + (MASTHEAD_OFFSET_UPWARD if plan.upward else MASTHEAD_OFFSET)
    masthead = plan.organ.masthead if plan.doc_type not in ("纪要", "命令（令）") else _plain_masthead(plan)
    natural = fonts.text_width(masthead, MASTHEAD)
    hscale = min(1.0, (WIDTH - 6) / natural)
    x = LEFT + (WIDTH - natural * hscale) / 2
    baseline = top + GLYPH_TOP * MASTHEAD
    flow.page.runs.append(TextRun(x, baseline, masthead, MASTHEAD, RED, hscale))
    flow.skip_to(baseline + (1 - GLYPH_TOP) * MASTHEAD)
    flow.row += 2  # 发文字号 two blank lines under the masthead
    number_row = flow.row
    if plan.upward:
        run = flow.put(plan.document_number, x=LEFT + BODY)
        label = f"签发人：{plan.signer}"
        flow.page.runs.append(TextRun(RIGHT - BODY - fonts.text_width(label, BODY), run.y, label, BODY))
    else:
        run = flow.put(plan.document_number, align="center")
    line_y = run.y + RED_LINE_GAP
    flow.page.rules.append(Rule(LEFT, RIGHT, line_y, RED_LINE_WIDTH, RED))
    flow.skip_to(line_y)
    assert flow.row > number_row


def _plain_masthead(plan: DocumentPlan) -> str:
    return {"纪要": "青禾区人民政府常务会议纪要", "命令（令）": f"{plan.organ.name}令"}[plan.doc_type]


def _title_block(flow: _Flow, plan: DocumentPlan) -> None:
    flow.row += 1  # title two lines under the red line (one blank grid line after it)
    for line in wrap(plan.title, TITLE, WIDTH - 2 * BODY):
        flow.put(line, TITLE, align="center")
    if plan.principal:
        flow.row += 1
        for line in wrap(plan.principal + "：", BODY, WIDTH):
            flow.put(line, x=LEFT)


def _attachment_note(flow: _Flow, plan: DocumentPlan) -> None:
    if not plan.attachments:
        return
    flow.row += 1
    many = len(plan.attachments) > 1
    for a in plan.attachments:
        label = f"{a.number}．{a.title}" if many else a.title
        prefix = "附件：" if a.number == 1 else "　　　"
        lines = wrap(prefix + label, BODY, WIDTH - 2 * BODY)
        for i, line in enumerate(lines):
            flow.put(line, x=LEFT + 2 * BODY + (0 if i == 0 else 3 * BODY))


def _date_text(plan: DocumentPlan) -> str:
    d = plan.issued
    return f"{d.year}年{d.month}月{d.day}日"


def _signature(flow: _Flow, plan: DocumentPlan, seal_png: bytes | None) -> None:
    """署名 and 成文日期 right-aligned four characters in, the seal pressed over both (GB/T 9704 7.3.5)."""
    needed = 5 + (1 if plan.note else 0)
    if flow.row + needed > LINES_PER_PAGE:
        _carry_lines(flow, 2)
    flow.row += 2
    date_text = _date_text(plan)
    date_width = fonts.text_width(date_text, BODY)
    center = RIGHT - 4 * BODY - date_width / 2
    name = plan.organ.name
    sign = flow.put(name, x=center - fonts.text_width(name, BODY) / 2)
    date_run = flow.put(date_text, x=center - date_width / 2)
    if seal_png is not None:
        mid = (sign.y + date_run.y) / 2 - BODY * 0.4
        flow.page.stamp = Picture(center - SEAL / 2, mid - SEAL / 2, SEAL, SEAL, "seal", seal_png, "png", True)
    if plan.note:
        flow.put(plan.note, x=LEFT + 2 * BODY)


def _carry_lines(flow: _Flow, count: int) -> None:
    """Move the last body lines to a new page so the signature never stands alone (7.3.5.4)."""
    page = flow.page
    moved = page.runs[-count:] if len(page.runs) > count + 4 else []
    del page.runs[len(page.runs) - len(moved):]
    flow.pages.append(Page())
    flow.row = 0
    for run in moved:
        flow.page.runs.append(TextRun(run.x, flow.baseline(flow.row, run.size), run.text, run.size, run.color))
        flow.row += 1


def _photo_page(flow: _Flow, number: int, title: str, jpeg: bytes) -> None:
    """附件 pages: "附件N" top left in 黑体, the title centred, the photo under it."""
    flow.pages.append(Page())
    flow.row = 0
    flow.put(f"附件{number}", x=LEFT)
    flow.row += 1
    flow.put(title, TITLE, align="center")
    flow.row += 1
    top = flow.grid_top(flow.row)
    width, height = WIDTH, WIDTH * 3 / 4
    flow.page.pictures.append(Picture(LEFT, top, width, height, f"photo{number}", jpeg, "jpeg"))
    flow.skip_to(top + height)


def _colophon(flow: _Flow, plan: DocumentPlan) -> None:
    """版记 at the foot of the last page: 抄送 line and 印发机关/日期 line between rules."""
    cc_lines = wrap("抄送：" + "，".join(plan.cc) + "。", FOOT, WIDTH - 2 * FOOT) if plan.cc else []
    row_h = FOOT * 1.9
    height = row_h * (len(cc_lines) + 1)
    if flow.grid_top(flow.row) + height > BOTTOM:
        flow.pages.append(Page())
        flow.row = 0
    page, y = flow.page, BOTTOM - height
    page.rules.append(Rule(LEFT, RIGHT, y, 0.35))
    for line in cc_lines:
        page.runs.append(TextRun(LEFT + FOOT, y + row_h / 2 + 0.35 * FOOT, line, FOOT))
        y += row_h
    if cc_lines:
        page.rules.append(Rule(LEFT, RIGHT, y, 0.25))
    baseline = y + row_h / 2 + 0.35 * FOOT
    page.runs.append(TextRun(LEFT + FOOT, baseline, plan.organ.name, FOOT))
    printed = plan.printed
    stamp = f"{printed.year}年{printed.month}月{printed.day}日印发"
    page.runs.append(TextRun(RIGHT - FOOT - fonts.text_width(stamp, FOOT), baseline, stamp, FOOT))
    page.rules.append(Rule(LEFT, RIGHT, BOTTOM, 0.35))


def _page_numbers(pages: list[Page]) -> None:
    """"— N —" 7 mm under the 版心; odd pages right, even pages left, one character in."""
    for number, page in enumerate(pages, start=1):
        text = f"— {number} —"
        width = fonts.text_width(text, FOOT)
        x = RIGHT - FOOT - width if number % 2 else LEFT + FOOT
        page.runs.append(TextRun(x, BOTTOM + 7 + 0.8 * FOOT, text, FOOT))


def iter_text(layout: Layout) -> Iterator[str]:
    for page in layout.pages:
        for run in page.runs:
            yield run.text
