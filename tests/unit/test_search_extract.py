"""Text extraction for the index: PDF, OFD, DOCX, XLSX; Chinese lines re-joined; size cap."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest

from lantai.search.extract import ExtractionFailed, detect, extract_text, join_lines

LINES = ["关于进一步加强电子文件归档管理的通知", "各街道办事处：为规范电子文件归档工", "作，现将有关事项通知如下。",
         "（青政办发", "〔2025〕12号）", "OFD and PDF", "formats"]


def test_join_lines_rules() -> None:
    text = join_lines(LINES)
    assert "归档工作，现将" in text  # a sentence broken by the page width is whole again
    assert "（青政办发〔2025〕12号）" in text  # so is a 文号 split across lines
    assert "OFD and PDF formats" in text  # Latin words keep their space
    assert "如下。\n（青政办发" in text  # a line ending a sentence stays a line


def _pdf(lines: list[str]) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont
    from reportlab.pdfgen import canvas

    font = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
    if not font.exists():
        pytest.skip("WQY ZenHei font not installed")
    pdfmetrics.registerFont(TTFont("ZenHei", str(font), subfontIndex=0))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer)
    pdf.setFont("ZenHei", 12)
    for n, line in enumerate(lines):
        pdf.drawString(72, 760 - 18 * n, line)
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def test_pdf_chinese_text_is_rejoined() -> None:
    data = _pdf(LINES)
    assert detect(data) == "pdf"
    text = extract_text(data)
    assert "电子文件归档工作，现将有关事项" in text and "青政办发〔2025〕12号" in text


OFD_XML = """<?xml version="1.0" encoding="UTF-8"?>
<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" Version="1.0" DocType="OFD"><ofd:DocBody>
<ofd:DocInfo><ofd:DocID>1</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>
</ofd:DocBody></ofd:OFD>"""
DOCUMENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<ofd:Document xmlns:ofd="http://www.ofdspec.org/2016"><ofd:CommonData><ofd:MaxUnitID>10</ofd:MaxUnitID>
<ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData>
<ofd:Pages><ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>"""
CONTENT_XML = """<?xml version="1.0" encoding="UTF-8"?>
<ofd:Page xmlns:ofd="http://www.ofdspec.org/2016"><ofd:Content><ofd:Layer ID="2">{objects}</ofd:Layer>
</ofd:Content></ofd:Page>"""
TEXT_OBJECT = ('<ofd:TextObject ID="{id}" Boundary="20 {y} 170 10" Font="3" Size="5">'
               '<ofd:TextCode X="0" Y="5">{text}</ofd:TextCode></ofd:TextObject>')


def _ofd(lines: list[str]) -> bytes:
    objects = "".join(TEXT_OBJECT.format(id=3 + n, y=20 + 10 * n, text=line) for n, line in enumerate(lines))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("OFD.xml", OFD_XML)
        z.writestr("Doc_0/Document.xml", DOCUMENT_XML)
        z.writestr("Doc_0/Pages/Page_0/Content.xml", CONTENT_XML.format(objects=objects))
    return buffer.getvalue()


def test_ofd_text_objects_are_read_in_order() -> None:
    data = _ofd(LINES[:3])
    assert detect(data) == "ofd"
    assert "电子文件归档工作，现将有关事项通知如下。" in extract_text(data)


def test_real_ofd_from_the_corpus(corpus_dir: Path) -> None:
    sample = corpus_dir / "ofd-ofdrw/files/ofdrw-converter/src/test/resources/n.ofd"
    if not sample.exists():
        pytest.skip("sample OFD not in the corpus")
    assert "（路中医发〔2011〕10号）收悉" in extract_text(sample)


def test_docx_paragraphs_and_tables() -> None:
    import docx

    document = docx.Document()
    document.add_paragraph("关于做好档案移交工作的通知")
    table = document.add_table(rows=1, cols=2)
    table.rows[0].cells[0].text, table.rows[0].cells[1].text = "档号", "Q001-WS·2025-Y-0001"
    buffer = io.BytesIO()
    document.save(buffer)
    text = extract_text(buffer.getvalue())
    assert "关于做好档案移交工作的通知" in text and "档号\tQ001-WS·2025-Y-0001" in text


def test_xlsx_cells() -> None:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.title = "归档文件目录"
    sheet.append(["件号", "题名", "页数"])
    sheet.append([1, "青禾区财政局关于下达专项资金的通报", 3])
    buffer = io.BytesIO()
    workbook.save(buffer)
    text = extract_text(buffer.getvalue())
    assert "归档文件目录" in text and "1\t青禾区财政局关于下达专项资金的通报\t3" in text


def test_size_cap() -> None:
    assert len(extract_text(("档案" * 1000).encode(), kind="txt", max_chars=100)) == 100


def test_gb18030_text() -> None:
    assert extract_text("电子档案".encode("gb18030"), kind="txt") == "电子档案"


def test_unsupported_formats_give_nothing_and_broken_files_fail_clearly() -> None:
    assert extract_text(b"\x89PNG\r\n\x1a\n....") == ""
    with pytest.raises(ExtractionFailed):
        extract_text(b"%PDF-1.7\nnot really a pdf")


def _pages(pages: list[list[str]]) -> bytes:
    from pypdf import PdfWriter

    writer = PdfWriter()
    for lines in pages:
        writer.append(io.BytesIO(_pdf(lines)))
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_text_stops_reading_pages_at_the_cap(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    data = _pages([["第一页：关于档案移交的通知。"], ["第二页：附件清单。"], ["第三页：联系人。"]])
    assert "第二页" in extract_text(data) and "第三页" in extract_text(data)
    opened: list[int] = []
    original = pypdfium2.PdfDocument.get_page
    monkeypatch.setattr(pypdfium2.PdfDocument, "get_page", lambda self, i: opened.append(i) or original(self, i))
    text = extract_text(data, max_chars=8)
    assert text == "第一页：关于档案" and opened == [0]  # pages past the cap are never parsed


def test_pdf_that_pdfium_cannot_open_is_read_with_pypdf(monkeypatch: pytest.MonkeyPatch) -> None:
    import pypdfium2

    def refuse(*_args: object, **_kwargs: object) -> None:
        raise pypdfium2.PdfiumError("Failed to load document")

    monkeypatch.setattr(pypdfium2, "PdfDocument", refuse)
    assert "电子文件归档工作，现将有关事项" in extract_text(_pdf(LINES))
    with pytest.raises(ExtractionFailed):  # neither library reads it: the same error as before
        extract_text(b"%PDF-1.7\nnot really a pdf")


def test_pdf_with_a_user_password_fails_and_owner_only_opens() -> None:
    from pypdf import PdfReader, PdfWriter

    def encrypted(user: str) -> bytes:
        writer = PdfWriter(clone_from=PdfReader(io.BytesIO(_pdf(LINES))))
        writer.encrypt(user_password=user, owner_password="owner", algorithm="AES-128")
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    assert "青政办发〔2025〕12号" in extract_text(encrypted(""))
    with pytest.raises(ExtractionFailed):
        extract_text(encrypted("secret"))
