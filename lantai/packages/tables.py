"""Printed tables (登记簿, 审计记录, 统计表): one heading, one table, summary lines — as XLSX and as PDF.

Both forms are meant to be printed on A4 landscape: the XLSX sets the page to A4 landscape,
fits all columns to one page wide (as many pages tall as it takes), repeats the header row,
wraps long text columns and names a CJK font (宋体, as Chinese office suites expect), so it
prints right without anyone adjusting it. Cells are written formula-safe
(:func:`lantai.domain.cells.safe_row`). The PDF is HTML rendered by the catalogue's WeasyPrint
path with its fonts.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from lantai.domain.cells import safe_row
from lantai.packages.catalogue import FONT_STACK, _render_pdf, _save

CJK_FONT = "宋体"  # what the XLSX names; office suites substitute SimSun / Noto Serif CJK SC


def setup_a4_landscape(sheet: Any, widths: Sequence[float], header_row: int) -> None:
    """A4 landscape, fit to one page wide, header row repeated on every printed page."""
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.properties import PageSetupProperties

    for index, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(index)].width = width
    sheet.sheet_properties.pageSetUpPr = PageSetupProperties(fitToPage=True)
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = 9  # A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0  # as many pages tall as needed
    sheet.print_title_rows = f"{header_row}:{header_row}"
    sheet.oddFooter.center.text = "第 &P 页 共 &N 页"


def styled_row(sheet: Any, values: Iterable[Any], *, bold: bool = False, wrap: Sequence[int] = ()) -> list[Any]:
    """Write-only cells in the CJK font; columns (0-based) in ``wrap`` wrap their text."""
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    font = Font(name=CJK_FONT, bold=bold, size=10)
    cells = []
    for index, value in enumerate(values):
        cell = WriteOnlyCell(sheet, value=value)
        cell.font = font
        cell.alignment = Alignment(wrap_text=index in wrap or bold, vertical="top",
                                   horizontal="center" if bold else None)
        cells.append(cell)
    return cells


def write_xlsx(rows: Iterable[Sequence[Any]], columns: Sequence[str], heading: str, summary: Sequence[str],
               target: Path, *, sheet_title: str, widths: Sequence[float], wrap: Sequence[int] = (),
               summary_title: str = "统计") -> None:
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_title[:31])
    setup_a4_landscape(sheet, widths, header_row=2)
    sheet.append(styled_row(sheet, [heading], bold=True))
    sheet.append(styled_row(sheet, columns, bold=True))
    for row in rows:
        sheet.append(styled_row(sheet, safe_row(row), wrap=wrap))  # a 题名 like =HYPERLINK(…) stays text
    if summary:
        extra = workbook.create_sheet(summary_title[:31])
        for line in summary:
            extra.append(styled_row(extra, [line]))
    _save(workbook.save, target)


_CSS = """
@page { size: A4 landscape; margin: 15mm 10mm;
        @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页"; font-size: 9pt; } }
body { font-family: %(fonts)s; font-size: 8.5pt; }
h1 { text-align: center; font-size: 16pt; letter-spacing: 0.3em; }
table { width: 100%%; border-collapse: collapse; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 0.5pt solid #000; padding: 0.8mm 1mm; word-wrap: break-word; }
th { background: #eee; }
"""


def table_html(rows: Iterable[Sequence[Any]], columns: Sequence[str], heading: str, summary: Sequence[str]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    lines = "".join(f"<p>{e(line)}</p>" for line in summary)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_CSS % {"fonts": FONT_STACK}}'
            f"</style></head><body><h1>{e(heading)}</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            f"</table>{lines}</body></html>")


def write_pdf(rows: Iterable[Sequence[Any]], columns: Sequence[str], heading: str, summary: Sequence[str],
              target: Path) -> None:
    _render_pdf(table_html(rows, columns, heading, summary), target)
