"""收集, 统计, 年报 and 移交 in Chromium at 1366×768: the batch page with every item's findings, the
statistics date range, and the printed downloads opened and checked (columns, fit-to-width, A4)."""

from __future__ import annotations

import io
from pathlib import Path

from openpyxl import load_workbook
from pypdf import PdfReader

from tests.e2e.test_browser import login, shot


def _printed_workbook(download) -> list[tuple]:  # type: ignore[no-untyped-def]
    sheet = load_workbook(io.BytesIO(Path(download.value.path()).read_bytes())).worksheets[0]
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet["A2"].font.name == "宋体"
    return [tuple(c.value for c in row) for row in sheet.iter_rows()]


def test_a_refused_batch_shows_every_items_findings(live, page) -> None:
    base, _world = live
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, base, "archivist")
    page.goto(f"{base}/collect")
    link = page.locator("a", has_text="X区人民政府办公室 · 2025 · 2 件").first
    link.click()
    page.wait_for_load_state("networkidle")
    text = page.inner_text("main")
    assert "X区人民政府办公室 · 2025 · 2 件 · 拒收" in text and "归档登记表与批次内容不符" in text
    assert "逐件检测结果（2 件）" in text and text.count("整批未接收") >= 2
    assert "重新提交更正后的包" in text
    shot(page, "13-collect-batch")


def test_statistics_date_range_export_and_the_annual_report(live, page) -> None:
    base, _world = live
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, base, "archivist")
    page.goto(f"{base}/statistics")
    page.fill("input[name=date_from]", "2000-01-01")
    with page.expect_navigation():
        page.click("form.filters button")
    assert "date_from=2000-01-01" in page.url and "接收日期 2000-01-01 至 今" in page.inner_text("main")
    growth = page.evaluate("""() => { const c = Chart.getChart(document.getElementById('chart-growth'));
        return {labels: c.data.labels, items: c.data.datasets[0].data}; }""")
    assert len(growth["labels"]) >= 2 and growth["items"][0] == 0 and growth["items"][-1] > 0  # a line from 0, not a dot
    assert page.evaluate("""() => ['chart-fonds_code', 'chart-year', 'chart-retention', 'chart-document_type',
        'chart-organisation'].every(id => { const c = Chart.getChart(document.getElementById(id));
        const axis = c.options.indexAxis === 'y' ? c.options.scales.y : c.options.scales.x;
        return axis.ticks.autoSkip === false; })""")  # every bar named
    shot(page, "14-statistics")
    with page.expect_download() as xlsx:
        page.click("text=导出 XLSX")
    rows = _printed_workbook(xlsx)
    assert rows[1] == ("统计项", "分组", "件数", "存储量（字节）", "占比或通过率")
    assert any(r[0] == "接收检测通过率" for r in rows)
    page.click("text=档案室基本情况年报")
    page.wait_for_load_state("networkidle")
    assert "档案室基本情况年报" in page.inner_text("h1")
    shot(page, "15-annual-report")
    with page.expect_download() as annual:
        page.click("text=XLSX")
    rows = _printed_workbook(annual)
    assert rows[1] == ("部分", "门类", "保管期限", "年度", "件数", "存储量（字节）")
    with page.expect_download() as pdf:
        page.click("text=PDF")
    first = PdfReader(io.BytesIO(Path(pdf.value.path()).read_bytes())).pages[0]
    assert float(first.mediabox.width) > float(first.mediabox.height)


def test_transfer_register_downloads(live, page) -> None:
    base, _world = live
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, base, "archivist")
    page.goto(f"{base}/transfers")
    received = page.locator("#received tbody tr").first.inner_text()
    assert "全部接收" in received and "暂无接收记录" not in received
    shot(page, "16-transfers")
    with page.expect_download() as xlsx:
        page.locator("a[href$='/register.xlsx']").first.click()
    rows = _printed_workbook(xlsx)
    assert rows[0][0] == "电子档案移交与接收登记表" and rows[1] == ("项目", "内容")
    with page.expect_download() as pdf:
        page.locator("a[href$='/register.pdf']").first.click()
    assert Path(pdf.value.path()).read_bytes().startswith(b"%PDF")
    with page.expect_download() as received_xlsx:  # the 接收登记表 of the received transfer
        page.locator("#received a[href$='/register.xlsx']").first.click()
    rows = _printed_workbook(received_xlsx)
    assert ("接收结论", "全部接收") in rows and ("件数", "2") in rows and ("拒收件数", "0") in rows
    with page.expect_download() as received_pdf:
        page.locator("#received a[href$='/register.pdf']").first.click()
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(Path(received_pdf.value.path()).read_bytes())).pages)
    assert "全部接收" in text and "接收单位" in text.replace(" ", "")
