"""利用登记簿 writers: XLSX (formula-safe cells) and PDF (WeasyPrint, the catalogue's fonts)."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lantai.domain.cells import safe_row
from lantai.packages.catalogue import FONT_STACK, _render_pdf, _save


def _summary_lines(stats: dict[str, Any]) -> list[str]:
    lines = [f"利用人次 {stats['person_times']}，利用卷件次 {stats['item_times']}"]
    lines += [f"利用目的 {row['purpose']}：{row['item_times']} 卷件次" for row in stats["by_purpose"]]
    lines += [f"全宗 {row['fonds_code'] or '—'} / 年度 {row['year'] or '—'}：{row['item_times']} 卷件次"
              for row in stats["by_fonds_year"]]
    return lines


def write_xlsx(rows: Sequence[Sequence[Any]], columns: Sequence[str], heading: str, stats: dict[str, Any],
               target: Path) -> None:
    from openpyxl import Workbook

    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "利用登记簿"
    sheet.append([heading])
    sheet.append(list(columns))
    for row in rows:
        sheet.append(safe_row(row))  # a 题名 like =HYPERLINK(…) stays text
    summary = workbook.create_sheet("利用统计")
    for line in _summary_lines(stats):
        summary.append([line])
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


def register_html(rows: Sequence[Sequence[Any]], columns: Sequence[str], heading: str, stats: dict[str, Any]) -> str:
    e = html.escape
    head = "".join(f"<th>{e(c)}</th>" for c in columns)
    body = "\n".join("<tr>" + "".join(f"<td>{e(str(v))}</td>" for v in row) + "</tr>" for row in rows)
    summary = "".join(f"<p>{e(line)}</p>" for line in _summary_lines(stats))
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_CSS % {"fonts": FONT_STACK}}'
            f"</style></head><body><h1>{e(heading)}</h1><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody>"
            f"</table>{summary}</body></html>")


def write_pdf(rows: Sequence[Sequence[Any]], columns: Sequence[str], heading: str, stats: dict[str, Any],
              target: Path) -> None:
    _render_pdf(register_html(rows, columns, heading, stats), target)
