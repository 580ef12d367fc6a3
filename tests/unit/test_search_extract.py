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


def _python_docx_text(data: bytes) -> str:
    """What the search text was when python-docx read DOCX files: the reference for the lxml reader."""
    import docx

    document = docx.Document(io.BytesIO(data))
    chunks = [p.text for p in document.paragraphs]
    chunks += ["\t".join(cell.text for cell in row.cells) for table in document.tables for row in table.rows]
    return "\n".join(c for c in chunks if c)


def _rich_docx() -> bytes:
    """A DOCX with what python-docx reads in its own way: runs with tabs, breaks of every type, a
    no-break hyphen, a hyperlink, tracked insertions (not read), merged cells across and down, a row
    starting late, a nested table, a comment inside a text element."""
    import docx
    from docx.oxml import parse_xml
    from docx.oxml.ns import nsdecls

    document = docx.Document()
    document.add_paragraph("关于做好档案移交工作的通知")
    document.add_paragraph("")
    w = nsdecls("w", "r")
    body = document.element.body
    body.insert(len(body) - 1, parse_xml(
        f'<w:p {w}><w:r><w:t xml:space="preserve">甲 </w:t><w:tab/><w:t>乙</w:t><w:br/><w:t>丙</w:t>'
        f'<w:br w:type="page"/><w:t>丁</w:t><w:cr/><w:noBreakHyphen/><w:ptab w:relativeTo="margin" '
        f'w:alignment="left" w:leader="none"/><w:t>戊<!-- note -->己</w:t></w:r>'
        f'<w:hyperlink r:id="rId99"><w:r><w:t>链接</w:t></w:r></w:hyperlink>'
        f'<w:ins w:id="1" w:author="a" w:date="2025-01-01T00:00:00Z"><w:r><w:t>插入</w:t></w:r></w:ins>'
        f'<w:r><w:br w:type="textWrapping"/><w:t> </w:t></w:r></w:p>'))
    table = document.add_table(rows=4, cols=3)
    for r, row in enumerate(table.rows):
        for c, cell in enumerate(row.cells):
            cell.text = f"格{r}{c}"
    table.cell(0, 0).merge(table.cell(0, 1))
    table.cell(1, 2).merge(table.cell(3, 2))
    table.cell(2, 0).merge(table.cell(3, 1))
    table.cell(1, 0).add_paragraph("第二段")
    table.cell(1, 1).add_table(rows=1, cols=1).cell(0, 0).text = "嵌套"
    late = document.add_table(rows=2, cols=2)
    late.cell(0, 0).text, late.cell(1, 1).text = "首", "尾"
    tr = late.rows[1]._tr
    tr.remove(tr.tc_lst[0])
    tr.insert(0, parse_xml(f'<w:trPr {w}><w:gridBefore w:val="1"/></w:trPr>'))
    document.add_paragraph("附件：1. 名册")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def test_docx_text_is_what_python_docx_gave() -> None:
    data = _rich_docx()
    expected = _python_docx_text(data)
    assert "格00\n格01\t格00\n格01\t格02" in expected and "嵌套" not in expected and "戊链接" in expected
    assert extract_text(data) == expected


def test_docx_that_python_docx_refused_still_fails() -> None:
    data = _rich_docx()
    macro = _rewrite(data, "[Content_Types].xml", lambda x: x.replace(
        b"wordprocessingml.document.main+xml", b"ms-word.document.macroEnabled.main+xml"))
    with pytest.raises(ExtractionFailed):
        extract_text(macro)
    dtd = _rewrite(data, "word/document.xml", lambda x: x.replace(
        b"?>", b'?><!DOCTYPE w:document [<!ENTITY x "y">]>', 1))
    with pytest.raises(ExtractionFailed):
        extract_text(dtd)
    no_body = _rewrite(data, "word/document.xml", lambda x: x[:x.index(b"<w:body>")] + b"</w:document>")
    with pytest.raises(ExtractionFailed):
        extract_text(no_body)


def test_docx_container_is_opened_with_the_zip_limits() -> None:
    """A DOCX is a ZIP from outside: its directory is checked as every package's is (here a member
    named to escape), before any part is read."""
    out = io.BytesIO(_rich_docx())
    with zipfile.ZipFile(out, "a") as zf:
        zf.writestr("../../逃逸.xml", b"<x/>")
    with pytest.raises(ExtractionFailed):
        extract_text(out.getvalue())


def _rewrite(data: bytes, member: str, change) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            content = source.read(info)
            target.writestr(info.filename, change(content) if info.filename == member else content)
    return out.getvalue()


def test_docx_text_does_not_load_python_docx(tmp_path: Path) -> None:
    """python-docx is a test dependency only: the ingest workers read DOCX with lxml."""
    import subprocess
    import sys

    sample = tmp_path / "定稿.docx"
    sample.write_bytes(_rich_docx())
    code = ("import sys; from lantai.search.extract import extract_text; "
            f"assert '名册' in extract_text({str(sample)!r}); print('docx' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
