"""归档文件目录 (XLSX, PDF), 文件目录.XML and 备考表: real files, read back with independent tools."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from lxml import etree
from openpyxl import load_workbook

from lantai.errors import BadInput
from lantai.packages.catalogue import (
    COLUMNS,
    BoxNote,
    CatalogueEntry,
    CatalogueHeading,
    catalogue_xml,
    write_catalogue,
    write_note_pdf,
)

HEADING = CatalogueHeading("Z109", "示范区人民政府", 2025, "保管期限：永久")


def entries(n: int) -> list[CatalogueEntry]:
    return [CatalogueEntry(i, f"Z109-WS·2025-Y-BGS-{i:04d}", f"示政发〔2025〕{i}号", "示范区人民政府",
                           f"关于做好第{i}项归档工作的通知", "2025-03-18", "公开", 3, "" if i % 2 else "有附件",
                           f"Z109-WS·2025-Y-BGS-{i:04d}.pdf") for i in range(1, n + 1)]


def pdftotext(path: Path) -> str:
    if shutil.which("pdftotext") is None:
        pytest.skip("poppler-utils (pdftotext) is not installed")
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True, text=True).stdout


def test_xlsx_has_the_columns_and_one_row_per_item(tmp_path: Path) -> None:
    target = tmp_path / "目录.xlsx"
    assert write_catalogue(entries(25), target, HEADING) == 25
    sheet = load_workbook(target).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == COLUMNS
    assert len(rows) == 26
    assert rows[1][:6] == (1, "Z109-WS·2025-Y-BGS-0001", "示政发〔2025〕1号", "示范区人民政府", "关于做好第1项归档工作的通知", "20250318")
    assert sheet.print_title_rows == "$1:$1"


def test_pdf_catalogue_renders_chinese_repeats_header_and_numbers_pages(tmp_path: Path) -> None:
    target = tmp_path / "目录.pdf"
    write_catalogue(entries(60), target, HEADING)
    text = pdftotext(target)
    pages = text.split("\f")
    pages = [p for p in pages if p.strip()]
    assert len(pages) >= 2
    assert "归 档 文 件 目 录" in text or "归档文件目录" in text.replace(" ", "")
    assert "关于做好第60项归档工作的通知" in text
    assert "Z109-WS·2025-Y-BGS-0060" in text  # 档号 kept on one line
    for number, page in enumerate(pages, start=1):
        assert "档号" in page and "责任者" in page, "header row repeats on every page"
        assert f"第{number}页共{len(pages)}页" in page.replace(" ", "")
    fonts = subprocess.run(["pdffonts", str(target)], capture_output=True, text=True).stdout
    assert "CJK" in fonts and " yes " in fonts  # embedded


def test_box_note_pdf(tmp_path: Path) -> None:
    target = tmp_path / "备考表.pdf"
    write_note_pdf(BoxNote("Z109-WS·2025-Y-BGS 第1盒", 12, 40, "第0007件为更正后件号。", "李华", "2026-01-05", "王强", "2026-01-06"), target)
    text = pdftotext(target).replace(" ", "")
    for expected in ("备考表", "盒内文件情况说明", "本盒共12件，40页", "整理人：李华", "检查日期：2026-01-06", "第0007件为更正后件号"):
        assert expected in text


@pytest.mark.parametrize("encoding", ["UTF-8", "GB18030"])
def test_catalogue_xml(encoding: str) -> None:
    data = catalogue_xml(entries(3), encoding=encoding)
    assert data.startswith(f"<?xml version='1.0' encoding='{encoding}'?>".encode())
    root = etree.fromstring(data)
    assert root.tag == "文件目录" and len(root) == 3
    first = root[0]
    assert [child.tag for child in first] == ["顺序号", "档号", "责任者", "题名", "日期", "密级", "电子档案名称", "备注"]
    assert first.findtext("题名") == "关于做好第1项归档工作的通知"
    assert first.findtext("电子档案名称") == "Z109-WS·2025-Y-BGS-0001.pdf"


def test_unknown_format_and_encoding(tmp_path: Path) -> None:
    with pytest.raises(BadInput):
        write_catalogue(entries(1), tmp_path / "x.docx", HEADING)
    with pytest.raises(BadInput):
        catalogue_xml(entries(1), encoding="BIG5")
