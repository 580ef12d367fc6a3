"""Every page as every role in Chromium at 1366×768: no English words, short fields on one line,
and the archivist's daily work — 整理 review and confirmation, audit filters and exports."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest

from tests.api.conftest import ACCOUNTS, PUBLIC_ID
from tests.e2e.english import english_words
from tests.e2e.test_browser import login, shot

# user and token names of the test world and the replica names of its settings (data, not UI text)
DATA_NAMES = {*ACCOUNTS, "seed", "tests", "primary"}
SHORT_FIELDS = "td.nowrap, .badge, button, .kpi b, dl.card dd.nowrap"


def pages_of(page, base: str) -> list[str]:
    """The role's menu, its account page, an item, a missing item (the error page) and the 整理 year."""
    links = [a.get_attribute("href") for a in page.locator("header nav a").all()]
    extra = ["/account", "/items/Z109-WS-2025-无此件"]
    if "/library" in links:
        extra.append(f"/items/{PUBLIC_ID}")
    if "/arrange" in links:
        extra.append("/arrange/Z109/2025")
    if "/statistics" in links:
        extra.append("/statistics/annual")
    if "/collect" in links:  # a submission's page (the newest: the refused batch, for those who see it)
        page.goto(f"{base}/collect")
        details = page.locator("td:first-child a[href^='/collect/']")
        if details.count():
            extra.append(details.first.get_attribute("href"))
    return links + extra


def wrapped(page, selector: str = SHORT_FIELDS) -> list[str]:
    """Short fields whose first line of text broke onto a second line ("2025-01-/14", "定期10/年")."""
    return page.evaluate("""(selector) => Array.from(document.querySelectorAll(selector)).filter(el => {
        const walker = document.createTreeWalker(el, NodeFilter.SHOW_TEXT, {acceptNode: n => n.textContent.trim()
            ? NodeFilter.FILTER_ACCEPT : NodeFilter.FILTER_REJECT});
        const text = walker.nextNode(); if (!text || text.textContent.trim().length > 24) return false;
        const range = document.createRange(); range.selectNodeContents(text);
        const tops = new Set(Array.from(range.getClientRects()).filter(r => r.width > 0).map(r => Math.round(r.top)));
        return tops.size > 1;
    }).map(el => el.innerText.trim())""", selector)


@pytest.mark.parametrize("username", list(ACCOUNTS))
@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366", "1920"])
def test_every_page_of_every_role_is_chinese_and_keeps_short_fields_on_one_line(live, browser, username, size) -> None:
    base, _world = live
    context = browser.new_context(locale="zh-CN", viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        login(page, base, username)
        problems = {}
        for path in pages_of(page, base):
            page.goto(f"{base}{path}")
            page.wait_for_load_state("networkidle")
            text = page.inner_text("body")
            words = english_words(text, DATA_NAMES)
            if words:
                words = {w: text[max(0, text.find(w) - 40):text.find(w) + 40] for w in words}  # with context
            broken = wrapped(page)
            if words or broken:
                problems[path] = {"english": words, "wrapped": broken[:10]}
        assert not problems, problems
    finally:
        context.close()


@pytest.mark.parametrize("size", [(1366, 768), (1920, 1080)], ids=["1366", "1920"])
def test_the_item_page_keeps_its_file_table_and_summary_card_unsqueezed(live, browser, size) -> None:
    """The item page: a summary card, the files as a table whose every cell (下载利用副本 included) stays on
    one line inside the page's width, and the full metadata collapsed."""
    base, _world = live
    context = browser.new_context(locale="zh-CN", viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        login(page, base, "archivist")
        page.goto(f"{base}/items/{PUBLIC_ID}")
        page.wait_for_load_state("networkidle")
        assert page.inner_text("h1") == "关于做好2025年度电子文件归档工作的通知"  # 题名 heads the card
        card = page.inner_text("dl.card")
        for label in ("档号", "文号", "责任者", "日期", "页数", "保管期限", "密级", "状态"):
            assert label in card, label
        assert page.locator("#files tbody tr").count() >= 2
        assert "下载利用副本" in page.inner_text("#files")
        assert wrapped(page, "#files th, #files td, #files td a, dl.card dd") == []
        fits = page.evaluate("""() => { const t = document.querySelector('#files');
            const box = t.parentElement.getBoundingClientRect(), r = t.getBoundingClientRect();
            return {table: Math.round(r.right), box: Math.round(box.right), page: document.documentElement.scrollWidth,
                    view: window.innerWidth}; }""")
        assert fits["table"] <= fits["box"] + 1 and fits["page"] <= fits["view"], fits  # no sideways scrolling
        widths = page.evaluate("""() => Array.from(document.querySelectorAll('#files thead th'))
            .map(th => Math.round(th.getBoundingClientRect().width))""")
        assert min(widths[:5]) >= 40, widths  # no column pressed to a sliver
        assert page.locator("details.metadata").count() == 1 and not page.locator("details.metadata").evaluate("d => d.open")
        assert page.inner_text("body").count("编码描述") <= 1
    finally:
        context.close()


ROLE_PAGES = {  # the pages of the roles the other browser tests do not photograph, and what each must show
    "clerk": [("/collect", "18-clerk-collect", "提交")],
    "secadmin": [("/admin", "20-secadmin-admin", "角色")],
    "sysadmin": [("/admin/reference", "22-sysadmin-reference", "全宗")],
}


@pytest.mark.parametrize("username", list(ROLE_PAGES))
def test_each_role_at_its_daily_pages(live, page, username) -> None:
    """Each role's own pages at 1366×768 (the README's screenshots of the roles not shown elsewhere)."""
    base, _world = live
    login(page, base, username)
    for path, name, expected in ROLE_PAGES[username]:
        response = page.goto(f"{base}{path}")
        page.wait_for_load_state("networkidle")
        assert response.status == 200 and expected in page.inner_text("main"), path
        shot(page, name)


def test_arrange_review_selection_summary_and_confirmation(live, page) -> None:
    base, _world = live
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, base, "archivist")
    page.goto(f"{base}/arrange")
    assert "示范区人民政府（Z109）" in page.inner_text("#open-years")
    page.click("#open-years a.button")
    page.wait_for_load_state("networkidle")
    assert "保管期限表建议" in page.inner_text("table.review")
    shot(page, "10-arrange-review")
    boxes = page.locator("input[name=record_ids]")
    waiting = boxes.count()
    assert waiting >= 2
    boxes.nth(0).check()
    page.click("#confirm-selected")
    dialog = page.locator("#summary-dialog")
    dialog.wait_for()
    assert "确认所选 1 件" in dialog.inner_text() and dialog.evaluate("d => d.open")
    shot(page, "11-arrange-confirm")
    dialog.locator("[data-close]").click()
    assert page.locator("#summary-dialog").count() == 0  # 取消 changes nothing
    assert page.locator("input[name=record_ids]").count() == waiting
    page.locator("input[name=record_ids]").nth(0).check()
    page.click("#confirm-selected")
    page.locator("#summary-confirm").click()
    page.wait_for_load_state("networkidle")
    assert "已整理 1 件" in page.inner_text("#notice")
    assert page.locator("input[name=record_ids]").count() == waiting - 1  # only the ticked item was arranged
    page.locator("[data-edit]").first.click()
    edit = page.locator("dialog.edit[open]")
    edit.locator("select[name=retention]").select_option("D30")
    edit.locator("input[name=reason]").fill("按保管期限表复核")
    shot(page, "12-arrange-edit")
    edit.locator("button[type=submit]").click()
    page.wait_for_load_state("networkidle")
    assert "/arrange/Z109/2025" in page.url
    _print_the_first_volume(page)


def _print_the_first_volume(page) -> None:  # type: ignore[no-untyped-def]
    """打印: the first volume's 归档文件目录 and 备考表 downloaded from the year page and opened."""
    from openpyxl import load_workbook
    from pypdf import PdfReader

    page.goto(page.url.split("?")[0])
    first = page.locator("#print tbody tr").first
    count = int(first.locator("td.num").inner_text())
    downloads = {}
    for document, kind in (("catalogue", "xlsx"), ("catalogue", "pdf"), ("note", "xlsx"), ("note", "pdf")):
        with page.expect_download() as download:
            first.locator(f"a[href*='/print/{document}.{kind}']").click()
        downloads[document, kind] = Path(download.value.path()).read_bytes()
    sheet = load_workbook(io.BytesIO(downloads["catalogue", "xlsx"])).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0] == ("序号", "档号", "文号", "责任者", "题名", "日期", "密级", "页数", "备注")
    assert [r[0] for r in rows[1:]] == list(range(1, count + 1))
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet["E2"].alignment.wrap_text and sheet["E2"].font.name == "宋体"
    catalogue = PdfReader(io.BytesIO(downloads["catalogue", "pdf"]))
    assert len(catalogue.pages) == 1 and float(catalogue.pages[0].mediabox.width) > float(catalogue.pages[0].mediabox.height)
    note = dict(list(load_workbook(io.BytesIO(downloads["note", "xlsx"])).worksheets[0].iter_rows(values_only=True))[2:])
    assert note["盒内文件情况说明"].startswith(f"本盒共 {count} 件")
    text = PdfReader(io.BytesIO(downloads["note", "pdf"])).pages[0].extract_text().replace(" ", "")
    assert "备考表" in text and f"本盒共{count}件" in text


def test_auditor_filters_and_exports_the_audit_log(live, page) -> None:
    from openpyxl import load_workbook
    from pypdf import PdfReader

    base, _world = live
    page.set_viewport_size({"width": 1366, "height": 768})
    login(page, base, "auditor")
    assert "审计链完整" in page.inner_text("#chain-status")
    page.select_option("select[name=action]", "login.success")
    with page.expect_navigation():
        page.click("#audit-filter button")
    assert "action=login.success" in page.url
    actions = set(page.locator("table.audit tbody tr td:nth-child(4)").all_inner_texts())
    assert actions == {"登录成功"}
    shot(page, "07-audit")
    with page.expect_download() as xlsx_download:
        page.click("#export-xlsx")
    workbook = load_workbook(io.BytesIO(Path(xlsx_download.value.path()).read_bytes()))
    assert xlsx_download.value.suggested_filename == "审计记录.xlsx"
    sheet = workbook.worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[1] == ("序号", "时间", "操作人", "操作类型", "对象", "题名", "详情", "哈希")
    assert {r[3] for r in rows[2:]} == {"登录成功"}
    assert sheet.page_setup.orientation == "landscape" and sheet.page_setup.fitToWidth == 1
    assert sheet.sheet_properties.pageSetUpPr.fitToPage and sheet["A3"].font.name == "宋体"
    with page.expect_download() as pdf_download:
        page.click("#export-pdf")
    reader = PdfReader(io.BytesIO(Path(pdf_download.value.path()).read_bytes()))
    first = reader.pages[0]
    assert float(first.mediabox.width) > float(first.mediabox.height)  # A4 landscape
    text = "".join(page.extract_text() for page in reader.pages)
    shown = int(re.search(r"共 (\d+) 条", text).group(1))
    assert shown == len(rows) - 2 and text.count("登录成功") == shown + 1  # every row, and the filter line
