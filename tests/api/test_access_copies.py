"""Access copies over HTTP on generated 公文 that were arranged (so they have a 归档章): the item page
previews the 正本, never the 处理单; PDF and OFD access copies carry the stamp (text extractable,
inside the page) and the watermark; the OFD 正本 is an access PDF with its seal and a page viewer;
print is registered as its own method; internal files stay hidden from readers."""

from __future__ import annotations

import io
import json
import re
import shutil
import subprocess
from pathlib import Path
from urllib.parse import quote

import pikepdf
import pypdf
import pytest
from PIL import Image
from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.catalog.use import UseRegisterEntry
from lantai.demo.generate import generate
from lantai.domain.reference import EXCHANGE_FILE_NAME
from tests.api.conftest import World

PDF, OFD, FORM = "content/正本.pdf", "content/正本.ofd", "content/公文处理单.pdf"


@pytest.fixture(scope="module")
def arranged(world: World) -> dict[str, Item]:
    """Generated 公文 ingested on the production path, their fonds imported and arranged: id → row."""
    from lantai.services.arrange import arrange, import_fonds
    from lantai.services.ingest import ingest_paths

    batch = world.tmp / "access-batch"
    generate(batch, year=2025, items=4, seed=7, workers=1)
    report = ingest_paths(world.archive, sorted(p for p in batch.iterdir() if (p / "元数据.xml").is_file()))
    assert any(i.status == "accepted" for i in report.items), report.to_dict()
    import_fonds(world.archive, json.loads((batch / EXCHANGE_FILE_NAME).read_text(encoding="utf-8")), actor="seed")
    arrange(world.archive, "Z101", 2025, actor="seed")
    with world.archive.sessions() as session:
        rows = session.scalars(select(Item).where(Item.fonds_code == "Z101", Item.item_number.is_not(None))).all()
        return {r.record_id: r for r in rows}


def cleared(arranged: dict[str, Item], clearance: tuple[str, ...] = ("公开", "内部", "秘密", "机密")) -> Item:
    return next(i for i in sorted(arranged.values(), key=lambda i: i.record_id) if i.security_classification in clearance)


def urlq(path: str) -> str:
    """A path as the templates' ``urlq`` filter writes it into links."""
    return quote(path, safe="")


def url(record_id: str, tail: str, path: str) -> str:
    return f"/api/v1/items/{record_id}/{tail}?path={quote(path)}"


def stamp_values(item: Item) -> list[str]:
    return [item.fonds_code, str(item.year), item.archival_code.rsplit("-", 1)[-1], item.retention,
            str(item.page_count)]


def test_the_item_page_previews_the_principal_document_not_the_handling_form(world: World, arranged) -> None:
    item = cleared(arranged)
    detail = world.client("archivist").get(f"/api/v1/items/{item.record_id}").json()
    assert detail["principal"] == [PDF, OFD] and FORM not in detail["principal"]
    assert {f["logical_path"] for f in detail["files"] if f["principal"]} == {PDF, OFD}
    page = world.session_client("archivist").get(f"/items/{item.record_id}")
    assert page.status_code == 200
    frame = re.search(r'<iframe class="pdf" title="正本预览" src="([^"]+)"', page.text)
    assert frame and urlq(PDF) in frame.group(1) and urlq(FORM) not in frame.group(1)
    assert f"/items/{item.record_id}/reader?path={urlq(OFD)}" in page.text  # the OFD 正本's page viewer is linked
    assert urlq(FORM) in page.text  # the 处理单 is still there for whoever asks for it by name


def test_internal_and_derivative_files_are_not_listed_to_readers(world: World, arranged) -> None:
    item = cleared(arranged, ("公开", "内部"))
    files = [f["logical_path"] for f in world.client("reader").get(f"/api/v1/items/{item.record_id}").json()["files"]]
    assert files and not [f for f in files if f.startswith(("lantai/", "derivatives/"))]


def page_words(pdf: bytes, page: int = 0) -> list[tuple[str, float, float]]:
    """(text, x, y) of each text run on a page, as pypdf sees it."""
    runs: list[tuple[str, float, float]] = []

    def visit(text: str, _cm, tm, _font, _size) -> None:
        if text.strip():
            runs.append((text.strip(), float(tm[4]), float(tm[5])))

    pypdf.PdfReader(io.BytesIO(pdf)).pages[page].extract_text(visitor_text=visit)
    return runs


def assert_stamped_inside(pdf: bytes, item: Item) -> None:
    text = pypdf.PdfReader(io.BytesIO(pdf)).pages[0].extract_text()
    for value in stamp_values(item):
        assert value in text, (value, text[:300])
    with pikepdf.open(io.BytesIO(pdf)) as doc:
        x0, y0, x1, y1 = (float(v) for v in str(doc.docinfo["/LantaiStamp"]).split())
        left, bottom, right, top = (float(v) for v in doc.pages[0].mediabox)
        assert left <= x0 < x1 <= right and bottom <= y0 < y1 <= top
        assert y1 > top - 30 * 72 / 25.4  # at the top of the page
    runs = page_words(pdf)
    for value in stamp_values(item):  # each value is drawn inside the stamp's box (the page may repeat one)
        assert any(w == value and x0 <= x <= x1 and y0 <= y <= y1 for w, x, y in runs), (value, runs[:20])


def test_the_pdf_access_copy_carries_the_stamp_and_the_watermark(world: World, arranged, tmp_path: Path) -> None:
    item = cleared(arranged)
    before = world.archive.store.read_bytes(item.record_id, PDF)
    response = world.client("archivist").get(url(item.record_id, "content", PDF))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert_stamped_inside(response.content, item)
    assert "测试archivist" in pypdf.PdfReader(io.BytesIO(response.content)).pages[-1].extract_text()
    assert world.archive.store.read_bytes(item.record_id, PDF) == before
    assert_pdfa_2b(response.content, tmp_path)  # the 正本 is PDF/A-2b: the stamp and watermark keep it so


def assert_pdfa_2b(pdf: bytes, tmp_path: Path) -> None:
    """The copy keeps (or, from an OFD, makes) a PDF/A-2b claim that Lantai's validator accepts."""
    from lantai.formats.pdfa import validate_pdfa

    path = tmp_path / f"copy-{len(list(tmp_path.iterdir()))}.pdf"
    path.write_bytes(pdf)
    result = validate_pdfa(path)
    assert (result.declared, result.compliant) == ("2b", True), result.violations


def red_share(png: bytes) -> float:
    image = Image.open(io.BytesIO(png)).convert("RGB").reduce(2)
    red = sum(1 for r, g, b in image.getdata() if r > 170 and g < 110 and b < 110)
    return red / (image.width * image.height)


def test_the_ofd_principal_is_an_access_pdf_with_stamp_and_seal(world: World, arranged, tmp_path: Path) -> None:
    from lantai.formats.ofd_render import page_count, render_page

    item = cleared(arranged)
    response = world.client("archivist").get(url(item.record_id, "content", OFD))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert 'filename*=utf-8' in response.headers["content-disposition"] and ".pdf" in response.headers["content-disposition"]
    ofd = world.archive.store.read_bytes(item.record_id, OFD)
    pages = page_count(io.BytesIO(ofd))
    assert len(pypdf.PdfReader(io.BytesIO(response.content)).pages) == pages
    assert_stamped_inside(response.content, item)
    assert_pdfa_2b(response.content, tmp_path)
    copy = tmp_path / "copy.pdf"
    copy.write_bytes(response.content)
    for n in range(pages):  # the seal (red, on the signature page) survives into the copy
        original = io.BytesIO()
        render_page(io.BytesIO(ofd), n, 50).save(original, "PNG")
        subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", str(n + 1), "-l", str(n + 1), "-singlefile", str(copy),
                        str(tmp_path / f"p{n}")], check=True)
        rendered = (tmp_path / f"p{n}.png").read_bytes()
        assert red_share(rendered) >= red_share(original.getvalue()) * 0.8, n


def test_the_ofd_page_viewer_renders_each_page(world: World, arranged) -> None:
    item = cleared(arranged)
    client = world.session_client("archivist")
    viewer = client.get(f"/items/{item.record_id}/reader?path={quote(OFD)}&page=2")
    assert viewer.status_code == 200 and "第 2 页，共" in viewer.text
    assert f"/items/{item.record_id}/pages/2.png?path={urlq(OFD)}" in viewer.text
    first = client.get(f"/items/{item.record_id}/pages/1.png?path={quote(OFD)}")
    second = client.get(f"/items/{item.record_id}/pages/2.png?path={quote(OFD)}")
    assert first.status_code == second.status_code == 200 and first.content != second.content
    assert Image.open(io.BytesIO(first.content)).size == (794, 1123)
    top = Image.open(io.BytesIO(first.content)).convert("RGB").crop((250, 15, 544, 90))
    assert sum(1 for r, g, b in top.getdata() if r > 170 and g < 90 and b < 90) > 200  # the red 归档章 on page 1
    pdf_reader = client.get(f"/items/{item.record_id}/reader?path={quote(PDF)}")  # a PDF reads page by page too
    assert pdf_reader.status_code == 200 and f"/items/{item.record_id}/pages/1.png?path={urlq(PDF)}" in pdf_reader.text
    assert client.get(f"/items/{item.record_id}/reader?path={quote(FORM)}&page=1").status_code == 200  # asked for by name


def test_print_is_its_own_method_in_the_use_register(world: World, arranged) -> None:
    item = cleared(arranged)
    client = world.session_client("archivist")
    printed = client.get(f"/items/{item.record_id}/print?path={quote(OFD)}")
    assert printed.status_code == 200 and printed.headers["content-disposition"].startswith("inline")
    assert_stamped_inside(printed.content, item)
    with world.archive.sessions() as session:
        entry = session.scalars(select(UseRegisterEntry).where(UseRegisterEntry.record_id == item.record_id,
                                                              UseRegisterEntry.method == "打印")
                                .order_by(UseRegisterEntry.id.desc())).first()
    assert entry is not None and entry.username == "archivist" and entry.path == OFD
    assert entry.pages == len(pypdf.PdfReader(io.BytesIO(printed.content)).pages)


def test_a_file_without_an_access_format_or_rendition_is_refused_clearly(world: World, arranged) -> None:
    item = cleared(arranged)
    response = world.client("archivist").get(url(item.record_id, "content", "content/定稿.docx"))
    assert response.status_code == 422 and "PDF/A" in response.json()["message"]


@pytest.mark.libreoffice
@pytest.mark.skipif(shutil.which("soffice") is None, reason="LibreOffice (soffice) is not installed")
def test_the_docx_final_draft_is_served_as_its_migrated_pdfa(world: World, arranged, tmp_path: Path) -> None:
    from lantai.domain.roles import Role
    from lantai.services import migration
    from tests.api.conftest import make_account

    item = cleared(arranged)
    result = migration.run(world.archive, "archivist", record_ids=[item.record_id], workers=1)
    assert result["failed"] == 0 and any(m["source"] == "content/定稿.docx"
                                         for r in result["results"] for m in r["migrated"])
    detail = world.client("archivist").get(f"/api/v1/items/{item.record_id}").json()
    files = {f["logical_path"]: f for f in detail["files"]}
    assert files["content/定稿.docx"]["rendition"] == "content/定稿.pdf"
    assert detail["principal"][0] == PDF  # the migrated 定稿 does not displace the 正本
    response = world.client("archivist").get(url(item.record_id, "content", "content/定稿.docx"))
    assert response.status_code == 200 and response.headers["content-type"] == "application/pdf"
    assert "定稿.pdf" in response.headers["content-disposition"] or "%E5%AE%9A%E7%A8%BF.pdf" in \
        response.headers["content-disposition"]
    assert_stamped_inside(response.content, item)
    assert_pdfa_2b(response.content, tmp_path)  # made from the PDF/A rendition, the copy is PDF/A too
    page = world.session_client("archivist").get(f"/items/{item.record_id}")
    assert "下载利用副本（PDF/A 转换版）" in page.text
    staff = {f["logical_path"] for f in detail["files"]}
    assert migration.MIGRATIONS_PATH in staff  # the record of the migration is there, for staff only
    make_account(world.archive, "docx-reader", [Role.READER.value], "机密")
    reader = world.session_client("docx-reader")
    seen = reader.get(f"/api/v1/items/{item.record_id}").json()["files"]
    assert {f["logical_path"] for f in seen} >= {PDF, "content/定稿.docx"}
    assert not [f for f in seen if f["logical_path"].startswith(("lantai/", "derivatives/"))]
    reader_page = reader.get(f"/items/{item.record_id}").text
    assert "下载利用副本（PDF/A 转换版）" in reader_page
    assert "lantai/" not in reader_page and "derivatives/" not in reader_page
    copy = reader.get(url(item.record_id, "content", "content/定稿.docx"))
    assert copy.status_code == 200 and "测试docx-reader" in pypdf.PdfReader(io.BytesIO(copy.content)).pages[-1].extract_text()
    for internal in (migration.MIGRATIONS_PATH, "lantai/ingest.json", "derivatives/text.txt"):
        assert reader.get(url(item.record_id, "content", internal)).status_code == 404, internal
