"""Browser tests with Playwright driving Debian's Chromium (headless, --no-sandbox)."""

from __future__ import annotations

from tests.api.conftest import PASSWORD, PUBLIC_ID, SECRET_ID, SECRET_TITLE
from tests.e2e.conftest import screenshot_dir


def login(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state("networkidle")


def shot(page, name: str) -> None:
    """The visible part of the page as ``docs/screenshots/NAME.png`` when LANTAI_SCREENSHOTS is set, reduced
    to a 256-colour palette (a page of flat colours and text reads the same at a third of the bytes)."""
    directory = screenshot_dir()
    if directory is None:
        return
    from PIL import Image

    target = directory / f"{name}.png"
    page.screenshot(path=str(target), full_page=False)
    with Image.open(target) as image:
        small = image.convert("RGB").quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    small.save(target, optimize=True)


def test_archivist_browses_to_an_item_and_sees_report_and_pdf(live, page) -> None:
    base, _world = live
    page.goto(f"{base}/login")
    shot(page, "01-login")
    login(page, base, "archivist")
    assert page.url.endswith("/library")
    page.click("aside >> text=示范区人民政府")
    page.click("aside >> text=2025")
    page.click("aside >> text=永久")
    page.click("aside >> text=办公室")
    assert "共" in page.inner_text("#item-table")
    shot(page, "02-library")
    pdf_responses = []
    page.on("response", lambda r: pdf_responses.append(r) if "/view?" in r.url else None)
    page.click("a:has-text('关于做好2025年度电子文件归档工作的通知')")
    page.wait_for_load_state("networkidle")
    assert f"/items/{PUBLIC_ID}" in page.url
    assert page.locator(".check-report").first.inner_text().startswith("接收检测")
    assert "通过" in page.locator(".check-report").first.inner_text()
    frame = page.locator("iframe.pdf")
    assert frame.count() == 1
    page.wait_for_timeout(500)
    assert any(r.status == 200 and r.headers.get("content-type") == "application/pdf" for r in pdf_responses)
    shot(page, "03-item")
    page.click("text=立即检测")
    page.wait_for_selector("#fixity >> text=刚刚完成")
    assert "校验通过" in page.inner_text("#fixity")


def test_under_cleared_reader_cannot_reach_secret_item(live, page) -> None:
    base, _world = live
    login(page, base, "reader")
    page.goto(f"{base}/library?fonds_code=Z109&year=2025&retention=永久&organisation=BGS")
    assert SECRET_TITLE not in page.content() and SECRET_ID not in page.content()
    page.goto(f"{base}/search?q=秘密事项")
    assert "共 0 件" in page.inner_text("#results") and SECRET_TITLE not in page.content()
    response = page.goto(f"{base}/items/{SECRET_ID}")
    assert response.status == 404 and SECRET_TITLE not in page.content()


def test_auditor_sees_the_audit_page_and_nothing_else(live, page) -> None:
    base, _world = live
    login(page, base, "auditor")
    assert page.url.endswith("/audit")
    assert "审计链完整" in page.inner_text("#chain-status")
    assert page.locator("header nav a").all_inner_texts() == ["审计"]
    for path in ("/library", "/search?q=通知", "/collect", "/statistics", "/admin", f"/items/{PUBLIC_ID}", "/arrange"):
        response = page.goto(f"{base}{path}")
        assert response.status == 403, path


def test_screenshots_of_other_pages(live, page) -> None:
    base, _world = live
    login(page, base, "archivist")
    page.goto(f"{base}/collect")
    assert "接收登记" in page.content()
    shot(page, "04-collect")
    page.goto(f"{base}/search?q=通知")
    shot(page, "05-search")
    page.goto(f"{base}/statistics")
    page.wait_for_timeout(300)
    assert page.locator("canvas#chart-year").count() == 1
    shot(page, "06-statistics")
    page.goto(f"{base}/arrange")
    shot(page, "09-arrange")
    page.context.clear_cookies()
    login(page, base, "sysadmin")
    page.goto(f"{base}/admin")
    assert "新建用户" in page.content()
    shot(page, "08-admin")


def test_preservation_dashboard_draws_its_charts(live, page) -> None:
    base, _world = live
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    login(page, base, "sysadmin")
    assert "保存" in page.locator("header nav a").all_inner_texts()
    page.goto(f"{base}/preservation")
    page.wait_for_timeout(300)
    assert "存储根与复制滞后" in page.content()
    assert "格式迁移" in page.content() and "离线载体定期检测" in page.content()
    assert page.locator("canvas").count() == 7  # lag, coverage, age, repairs, migrations, pending, carriers
    assert page.evaluate("Array.from(document.querySelectorAll('canvas')).every(c => Chart.getChart(c) !== undefined)")
    assert not errors
    shot(page, "17-preservation")


def test_reader_turns_ticked_search_results_into_an_access_request(live, page) -> None:
    """检索 → tick two results → 将选中的结果转为利用申请 → the form holds exactly those → 提交申请."""
    base, world = live
    login(page, base, "reader")
    page.goto(f"{base}/search?q=安全生产检查")
    boxes = page.locator("input[type=checkbox][form=to-request]")
    values = [boxes.nth(n).get_attribute("value") for n in range(boxes.count())]
    assert len(values) >= 2 and SECRET_ID not in values
    chosen = values[:2]
    for value in chosen:
        page.check(f"input[type=checkbox][form=to-request][value='{value}']")
    page.click("text=将选中的结果转为利用申请")
    page.wait_for_load_state("networkidle")
    assert page.url.startswith(f"{base}/use?")
    assert page.input_value("textarea[name=items]").split() == chosen
    page.select_option("select[name=purpose]", "编史修志")
    page.click("text=提交申请")
    page.wait_for_load_state("networkidle")
    assert "已提交" in page.inner_text("body")
    shot(page, "19-reader-use")
    mine = world.client("reader").get("/api/v1/requests").json()[0]
    assert [r["record_id"] for i in mine["items"] for r in i["items"]] == chosen and mine["purpose"] == "编史修志"
