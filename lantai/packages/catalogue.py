"""Catalogue outputs of arrangement: 归档文件目录 (XLSX, PDF), 文件目录.XML and the 备考表 (PDF).

Writers take plain :class:`CatalogueEntry` rows so they can be fed from the catalogue database,
from a transfer package or from a test, and never query anything themselves. Column set and
order follow DA/T 22-2015 §8 (序号, 档号, 文号, 责任者, 题名, 日期, 密级, 页数, 备注); dates are
printed as YYYYMMDD as the standard shows them. PDFs are laid out by WeasyPrint on A4 landscape
with a Noto CJK font embedded, the header row repeated on every page and 第 N 页 共 M 页 below.
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from lantai.domain.cells import safe_row
from lantai.errors import BadInput, StorageError

COLUMNS = ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
COLUMN_WIDTHS = (6, 26, 20, 22, 60, 11, 7, 6, 14)  # characters, for XLSX
XML_ENCODINGS = ("UTF-8", "GB18030")
FONT_STACK = '"Noto Sans CJK SC", "Noto Serif CJK SC", "WenQuanYi Micro Hei", "WenQuanYi Zen Hei", sans-serif'


@dataclass(frozen=True)
class CatalogueEntry:
    """One row of the 归档文件目录 (one 件)."""

    sequence: int
    archival_code: str
    document_number: str = ""
    author: str = ""
    title: str = ""
    date: str = ""
    security: str = ""
    pages: int | None = None
    remarks: str = ""
    file_name: str = ""  # 电子档案名称, for 文件目录.XML

    @property
    def catalogue_date(self) -> str:
        """YYYYMMDD, the form DA/T 22-2015 prints; anything unparseable is shown as given."""
        digits = self.date.replace("-", "").replace("/", "").replace(".", "")[:8]
        return digits if digits.isdigit() else self.date

    def row(self) -> tuple[object, ...]:
        return (self.sequence, self.archival_code, self.document_number, self.author, self.title,
                self.catalogue_date, self.security, self.pages if self.pages is not None else "", self.remarks)


@dataclass(frozen=True)
class CatalogueHeading:
    """What the title block says: 全宗 and year, plus an optional subtitle (e.g. 保管期限)."""

    fonds_code: str
    fonds_name: str = ""
    year: int | None = None
    subtitle: str = ""

    @property
    def title(self) -> str:
        return "归档文件目录"

    @property
    def line(self) -> str:
        parts = [f"全宗号：{self.fonds_code}"]
        if self.fonds_name:
            parts.append(f"全宗名称：{self.fonds_name}")
        if self.year is not None:
            parts.append(f"年度：{self.year}")
        if self.subtitle:
            parts.append(self.subtitle)
        return "　　".join(parts)


def write_catalogue(entries: Iterable[CatalogueEntry], target: Path, heading: CatalogueHeading,
                    *, xml_encoding: str = "UTF-8") -> int:
    """Write by file extension (.xlsx, .pdf, .xml); returns the number of rows."""
    suffix = target.suffix.lower()
    rows = list(entries)
    if suffix == ".xlsx":
        write_xlsx(rows, target, heading)
    elif suffix == ".pdf":
        write_pdf(rows, target, heading)
    elif suffix == ".xml":
        write_xml(rows, target, encoding=xml_encoding)
    else:
        raise BadInput(f"不支持的目录格式 {target.suffix}（应为 .xlsx、.pdf 或 .xml）",
                       f"unsupported catalogue format {target.suffix} (use .xlsx, .pdf or .xml)")
    return len(rows)


# -- XLSX ---------------------------------------------------------------------------------------

def write_xlsx(entries: Iterable[CatalogueEntry], target: Path, heading: CatalogueHeading) -> None:
    """One sheet; the header is row 1 (so the file reads as a table) and repeats when printed. A4
    landscape, fit to one page wide, 题名 wrapped, in 宋体 (:mod:`lantai.packages.tables`)."""
    from openpyxl import Workbook

    from lantai.packages.tables import setup_a4_landscape, styled_row

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("归档文件目录")
    setup_a4_landscape(sheet, COLUMN_WIDTHS, header_row=1)
    sheet.oddHeader.center.text = f"{heading.title}　{heading.line}"
    sheet.append(styled_row(sheet, COLUMNS, bold=True))
    wrap = (COLUMNS.index("题名"), COLUMNS.index("责任者"), COLUMNS.index("文号"))
    for entry in entries:
        sheet.append(styled_row(sheet, safe_row(entry.row()), wrap=wrap))  # a 题名 like =HYPERLINK(…) stays text
    _save(workbook.save, target)


def _save(save, target: Path) -> None:  # type: ignore[no-untyped-def]
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        save(target)
    except OSError as exc:
        raise StorageError(f"无法写入 {target}: {exc}", f"cannot write {target}: {exc}") from exc


# -- PDF ----------------------------------------------------------------------------------------

_CATALOGUE_CSS = """
@page { size: A4 landscape; margin: 18mm 12mm 16mm 12mm;
        @bottom-center { content: "第 " counter(page) " 页 共 " counter(pages) " 页"; font-size: 9pt; } }
body { font-family: %(fonts)s; font-size: 9pt; }
h1 { text-align: center; font-size: 18pt; letter-spacing: 0.5em; margin: 0 0 2mm 0; }
p.line { text-align: center; margin: 0 0 3mm 0; }
table { width: 100%%; border-collapse: collapse; table-layout: fixed; }
thead { display: table-header-group; }
tr { page-break-inside: avoid; }
th, td { border: 0.5pt solid #000; padding: 1mm 1.2mm; vertical-align: middle; word-wrap: break-word; }
th { font-weight: bold; text-align: center; background: #eee; }
td.c { text-align: center; }
td.code { white-space: nowrap; font-size: 8.5pt; }
"""
_PDF_WIDTHS = ("4.5%", "19%", "13%", "12%", "29%", "7%", "4.5%", "4%", "7%")
_CELL_CLASS = {0: " class=c", 1: " class=code", 5: " class=c", 6: " class=c", 7: " class=c"}


def catalogue_html(entries: Iterable[CatalogueEntry], heading: CatalogueHeading) -> str:
    cols = "".join(f'<col style="width:{w}">' for w in _PDF_WIDTHS)
    head = "".join(f"<th>{name}</th>" for name in COLUMNS)
    body = "\n".join(
        "<tr>" + "".join(f'<td{_CELL_CLASS.get(i, "")}>{html.escape(str(v))}</td>'
                         for i, v in enumerate(entry.row())) + "</tr>"
        for entry in entries
    )
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_CATALOGUE_CSS % {"fonts": FONT_STACK}}'
            f'</style></head><body><h1>{heading.title}</h1><p class="line">{html.escape(heading.line)}</p>'
            f"<table><colgroup>{cols}</colgroup><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></body></html>")


def write_pdf(entries: Iterable[CatalogueEntry], target: Path, heading: CatalogueHeading) -> None:
    _render_pdf(catalogue_html(entries, heading), target)


def _render_pdf(document: str, target: Path) -> None:
    from weasyprint import HTML

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        HTML(string=document).write_pdf(target)
    except OSError as exc:
        raise StorageError(f"无法写入 {target}: {exc}", f"cannot write {target}: {exc}") from exc


# -- 备考表 --------------------------------------------------------------------------------------

@dataclass(frozen=True)
class BoxNote:
    """备考表 (DA/T 22-2015 §6.8): what is in the box and who arranged and checked it."""

    box_label: str
    item_count: int
    page_count: int
    description: str = ""  # 盒内文件情况说明: missing, damaged, corrected items …
    arranged_by: str = ""
    arranged_on: str = ""
    checked_by: str = ""
    checked_on: str = ""


_NOTE_CSS = """
@page { size: A4 portrait; margin: 25mm 25mm; }
body { font-family: %(fonts)s; font-size: 12pt; }
h1 { text-align: center; font-size: 20pt; letter-spacing: 1em; margin-bottom: 8mm; }
p.box { margin-bottom: 4mm; }
div.frame { border: 1pt solid #000; padding: 6mm; min-height: 170mm; position: relative; }
div.desc { min-height: 120mm; white-space: pre-wrap; line-height: 1.8; }
table.sign { width: 100%%; margin-top: 10mm; }
table.sign td { padding: 3mm 0; width: 50%%; }
"""


def note_html(note: BoxNote) -> str:
    e = html.escape
    summary = f"本盒共 {note.item_count} 件，{note.page_count} 页。"
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><style>{_NOTE_CSS % {"fonts": FONT_STACK}}'
            f'</style></head><body><h1>备考表</h1><p class="box">{e(note.box_label)}</p><div class="frame">'
            f'<p><b>盒内文件情况说明：</b></p><div class="desc">{e(summary)}\n{e(note.description)}</div>'
            f'<table class="sign"><tr><td>整理人：{e(note.arranged_by)}</td><td>整理日期：{e(note.arranged_on)}</td></tr>'
            f'<tr><td>检查人：{e(note.checked_by)}</td><td>检查日期：{e(note.checked_on)}</td></tr></table>'
            f"</div></body></html>")


def write_note_pdf(note: BoxNote, target: Path) -> None:
    _render_pdf(note_html(note), target)


def note_rows(note: BoxNote) -> list[tuple[str, str]]:
    """The 备考表 as (项目, 内容) rows for the printed-table writer: what the PDF states, nothing more."""
    description = f"本盒共 {note.item_count} 件，{note.page_count} 页。" + (f"\n{note.description}" if note.description else "")
    return [("盒（卷）", note.box_label), ("盒内文件情况说明", description), ("整理人", note.arranged_by),
            ("整理日期", note.arranged_on), ("检查人", note.checked_by), ("检查日期", note.checked_on)]


# -- 文件目录.XML --------------------------------------------------------------------------------

def catalogue_xml(entries: Iterable[CatalogueEntry], *, encoding: str = "UTF-8") -> bytes:
    """``<文件目录>`` with one ``<文件>`` per item (2012 transfer layout, Annex 2)."""
    encoding = encoding.upper()
    if encoding not in XML_ENCODINGS:
        raise BadInput(f"文件目录.XML 编码须为 {' 或 '.join(XML_ENCODINGS)}", f"encoding must be one of {XML_ENCODINGS}")
    root = etree.Element("文件目录")
    for entry in entries:
        item = etree.SubElement(root, "文件")
        values = (("顺序号", entry.sequence), ("档号", entry.archival_code), ("责任者", entry.author),
                  ("题名", entry.title), ("日期", entry.catalogue_date), ("密级", entry.security),
                  ("电子档案名称", entry.file_name), ("备注", entry.remarks))
        for name, value in values:
            etree.SubElement(item, name).text = str(value)
    return etree.tostring(root, xml_declaration=True, encoding=encoding, pretty_print=True)


def write_xml(entries: Iterable[CatalogueEntry], target: Path, *, encoding: str = "UTF-8") -> None:
    data = catalogue_xml(entries, encoding=encoding)
    _save(lambda path: Path(path).write_bytes(data), target)
