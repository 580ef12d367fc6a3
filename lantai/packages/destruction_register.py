"""销毁清册 writers: XLSX (formula-safe cells) and PDF (WeasyPrint, the catalogue's fonts and layout).

Columns as archives keep the register (GB/T 18894 practice): 序号, 档号, 题名, 文号, 日期, 页数,
保管期限, 鉴定意见, 备注; below the table the 鉴定人, 批准人 and 监销人 lines are signed on paper.
Writers take plain rows and a heading and query nothing themselves.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lantai.domain.cells import safe_row
from lantai.packages.catalogue import FONT_STACK, _render_pdf, _save

COLUMNS = ("序号", "档号", "题名", "文号", "日期", "页数", "保管期限", "鉴定意见", "备注")
COLUMN_WIDTHS = (6, 26, 56, 20, 11, 6, 9, 24, 14)
TITLE = "档案销毁清册"


@dataclass(frozen=True)
class RegisterHeading:
    """What the title block and the signature lines say."""

    archive_name: str
    campaign_id: int
    fonds_code: str
    year: int
    appraisers: str  # 鉴定人: the proposer
    approvers: str  # 批准人: the 鉴定小组
    supervisor: str = ""  # 监销人: filled in phase 2 on paper
    executed_at: str = ""

    @property
    def line(self) -> str:
        parts = [f"立档单位/档案馆：{self.archive_name}", f"鉴定任务：{self.campaign_id}",
                 f"全宗号：{self.fonds_code or '全部'}", f"到期年度：{self.year}"]
        if self.executed_at:
            parts.append(f"批准执行：{self.executed_at}")
        return "　　".join(parts)

    def signatures(self) -> list[str]:
        return [f"鉴定人：{self.appraisers}　　签字：__________　　日期：__________",
                f"批准人：{self.approvers}　　签字：__________　　日期：__________",
                f"监销人：{self.supervisor or '__________'}　　签字：__________　　销毁日期：__________"]


def write_xlsx(rows: Sequence[Sequence[Any]], heading: RegisterHeading, target: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "销毁清册"
    sheet.append([TITLE])
    sheet.append([heading.line])
    sheet.append(list(COLUMNS))
    for index, width in enumerate(COLUMN_WIDTHS, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    for row in rows:
        sheet.append(safe_row(row))  # a 题名 like =HYPERLINK(…) stays text
    sheet.append([])
    for line in heading.signatures():
        sheet.append([line])
    sheet.print_title_rows = "3:3"
    sheet.page_setup.orientation = "landscape"
    _save(workbook.save, target)


_CSS = """
@page { size: A4 landscape; margin: 15mm 10mm;
        @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页"; font-size: 9pt; } }
body { font-family: %(fonts)s; font-size: 9pt; }
h1 { text-align: center; font-size: 18pt; letter-spacing: 0.4em; margin: 0 0 2mm 0; }
p.line { text-align: center; margin: 0 0 3mm 0; }
table { width: 100%%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 0.5pt solid #000; padding: 0.8mm 1mm; word-wrap: break-word; }
th { background: #eee; }
div.sign { margin-top: 8mm; page-break-inside: avoid; }
div.sign p { margin: 4mm 0; font-size: 10.5pt; }
"""


def register_html(rows: Sequence[Sequence[Any]], heading: RegisterHeading) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in COLUMNS)
    body = "\n".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    signs = "".join(f"<p>{e(line)}</p>" for line in heading.signatures())
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_CSS % {"fonts": FONT_STACK}}'
            f'</style></head><body><h1>{TITLE}</h1><p class="line">{e(heading.line)}</p><table><thead><tr>{head}'
            f'</tr></thead><tbody>{body}</tbody></table><p>共 {len(rows)} 件。</p><div class="sign">{signs}</div>'
            f"</body></html>")


def write_pdf(rows: Sequence[Sequence[Any]], heading: RegisterHeading, target: Path) -> None:
    _render_pdf(register_html(rows, heading), target)
