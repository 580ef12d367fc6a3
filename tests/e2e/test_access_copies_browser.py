"""In Chromium: the item page previews the 正本 (a stamped, watermarked PDF), not the 处理单, and the
OFD 正本 is read page by page with images the browser really decodes."""

from __future__ import annotations

import json
from urllib.parse import quote

from tests.e2e.test_browser import login, shot


def arranged_demo_item(world) -> str:
    from lantai.demo.generate import generate
    from lantai.domain.reference import EXCHANGE_FILE_NAME
    from lantai.services.arrange import arrange, current_reference, import_fonds
    from lantai.services.ingest import ingest_paths

    batch = world.tmp / "browser-access"
    if not batch.exists():
        generate(batch, year=2025, items=2, seed=3, workers=1)
        report = ingest_paths(world.archive, sorted(p for p in batch.iterdir() if (p / "元数据.xml").is_file()))
        reference, _version = current_reference(world.archive)
        if "Z101" not in reference.fonds:
            import_fonds(world.archive, json.loads((batch / EXCHANGE_FILE_NAME).read_text(encoding="utf-8")), actor="e2e")
        arrange(world.archive, "Z101", 2025, actor="e2e")
        assert any(i.status == "accepted" for i in report.items)
    from sqlalchemy import select

    from lantai.catalog.models import Item

    with world.archive.sessions() as session:
        return session.scalars(select(Item.record_id).where(Item.fonds_code == "Z101",
                                                             Item.security_classification.in_(("公开", "内部", "秘密", "机密")))
                               .order_by(Item.record_id)).first()


def test_the_principal_is_previewed_and_the_ofd_is_read_page_by_page(live, page) -> None:
    base, world = live
    record_id = arranged_demo_item(world)
    login(page, base, "archivist")
    pdfs = []
    page.on("response", lambda r: pdfs.append(r) if "/view?" in r.url else None)
    page.goto(f"{base}/items/{record_id}")
    page.wait_for_load_state("networkidle")
    source = page.locator("iframe.pdf").get_attribute("src") or ""
    assert quote("content/正本.pdf", safe="") in source and quote("处理单") not in source
    assert any(r.status == 200 and r.headers.get("content-type") == "application/pdf" for r in pdfs)
    assert "首页加盖归档章" in page.inner_text("body")
    page.click("text=逐页阅览 >> nth=0")
    page.wait_for_load_state("networkidle")
    assert "第 1 页，共" in page.content()
    image = page.locator("img.page")
    assert image.evaluate("img => img.complete && img.naturalWidth") == 794
    page.click("text=下一页")
    page.wait_for_load_state("networkidle")
    assert "第 2 页，共" in page.content()
    assert page.locator("img.page").evaluate("img => img.complete && img.naturalWidth") == 794
    shot(page, "21-ofd-reader")
