"""A small WordprocessingML (DOCX) writer for the 定稿 and the DOCX notes.

python-docx parses its 37 KB default template for every document (about 35 ms); the generator
needs only paragraphs with a font, a size, an alignment and a first-line indent, so it writes the
five parts of a minimal, valid package directly (~1 ms). Word, WPS, LibreOffice and python-docx
open the result.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from xml.sax.saxutils import escape

W = "http://schemas.openxmlformats.org/wordprocessingml/2006/main"
TWIPS_PER_MM = 1440 / 25.4


@dataclass(frozen=True)
class Para:
    text: str
    font: str = "仿宋_GB2312"
    size_pt: float = 16
    align: str = "both"  # left | center | right | both
    indent_chars: int = 0  # first-line indent in characters
    bold: bool = False


@dataclass(frozen=True)
class DocProps:
    title: str
    author: str
    modified_by: str
    created: datetime
    category: str = ""
    revision: int = 1


def write_docx(paragraphs: list[Para], props: DocProps, *, margins_mm: tuple[float, float, float, float] = (37, 26, 35, 28)) -> bytes:
    """Paragraphs on A4 with ``margins_mm`` = (top, right, bottom, left); reproducible ZIP output."""
    parts = {
        "[Content_Types].xml": _content_types(),
        "_rels/.rels": _package_rels(),
        "word/document.xml": _document(paragraphs, margins_mm),
        "word/_rels/document.xml.rels": _document_rels(),
        "word/styles.xml": _styles(),
        "docProps/core.xml": _core(props),
        "docProps/app.xml": _app(),
    }
    stamp = (props.created.year, props.created.month, props.created.day, 0, 0, 0)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, xml in parts.items():
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n' + xml).encode())
    return out.getvalue()


def _content_types() -> str:
    base = "application/vnd.openxmlformats-officedocument"
    return (
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/word/document.xml" ContentType="{base}.wordprocessingml.document.main+xml"/>'
        f'<Override PartName="/word/styles.xml" ContentType="{base}.wordprocessingml.styles+xml"/>'
        '<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>'
        f'<Override PartName="/docProps/app.xml" ContentType="{base}.extended-properties+xml"/></Types>'
    )


def _package_rels() -> str:
    rel = "http://schemas.openxmlformats.org"
    return (
        f'<Relationships xmlns="{rel}/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel}/officeDocument/2006/relationships/officeDocument" Target="word/document.xml"/>'
        f'<Relationship Id="rId2" Type="{rel}/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/>'
        f'<Relationship Id="rId3" Type="{rel}/officeDocument/2006/relationships/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )


def _document_rels() -> str:
    rel = "http://schemas.openxmlformats.org"
    return (f'<Relationships xmlns="{rel}/package/2006/relationships"><Relationship Id="rId1" '
            f'Type="{rel}/officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>')


def _styles() -> str:
    return (
        f'<w:styles xmlns:w="{W}"><w:docDefaults><w:rPrDefault><w:rPr>'
        '<w:rFonts w:ascii="Times New Roman" w:hAnsi="Times New Roman" w:eastAsia="仿宋_GB2312"/>'
        '<w:sz w:val="32"/><w:lang w:val="en-US" w:eastAsia="zh-CN"/></w:rPr></w:rPrDefault></w:docDefaults>'
        '<w:style w:type="paragraph" w:default="1" w:styleId="Normal"><w:name w:val="Normal"/></w:style></w:styles>'
    )


def _run(p: Para) -> str:
    bold = "<w:b/>" if p.bold else ""
    size = round(p.size_pt * 2)
    return (f'<w:r><w:rPr><w:rFonts w:eastAsia="{escape(p.font)}"/>{bold}<w:sz w:val="{size}"/>'
            f'<w:szCs w:val="{size}"/></w:rPr><w:t xml:space="preserve">{escape(p.text)}</w:t></w:r>')


def _paragraph(p: Para) -> str:
    indent = f'<w:ind w:firstLineChars="{p.indent_chars * 100}"/>' if p.indent_chars else ""
    runs = "".join(_run(Para(line, p.font, p.size_pt, p.align, 0, p.bold)) if i == 0 else
                   "<w:r><w:br/></w:r>" + _run(Para(line, p.font, p.size_pt, p.align, 0, p.bold))
                   for i, line in enumerate(p.text.split("\n")))
    return f'<w:p><w:pPr><w:spacing w:line="560" w:lineRule="exact"/>{indent}<w:jc w:val="{p.align}"/></w:pPr>{runs}</w:p>'


def _document(paragraphs: list[Para], margins: tuple[float, float, float, float]) -> str:
    top, right, bottom, left = (round(m * TWIPS_PER_MM) for m in margins)
    body = "".join(_paragraph(p) for p in paragraphs)
    section = (f'<w:sectPr><w:pgSz w:w="11906" w:h="16838"/><w:pgMar w:top="{top}" w:right="{right}" '
               f'w:bottom="{bottom}" w:left="{left}" w:header="851" w:footer="992" w:gutter="0"/>'
               '<w:docGrid w:type="linesAndChars" w:linePitch="579" w:charSpace="-849"/></w:sectPr>')
    return f'<w:document xmlns:w="{W}"><w:body>{body}{section}</w:body></w:document>'


def _core(props: DocProps) -> str:
    stamp = props.created.strftime("%Y-%m-%dT%H:%M:%SZ")
    return (
        '<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<dc:title>{escape(props.title)}</dc:title><dc:creator>{escape(props.author)}</dc:creator>"
        f"<cp:lastModifiedBy>{escape(props.modified_by)}</cp:lastModifiedBy><cp:revision>{props.revision}</cp:revision>"
        f"<cp:category>{escape(props.category)}</cp:category>"
        f'<dcterms:created xsi:type="dcterms:W3CDTF">{stamp}</dcterms:created>'
        f'<dcterms:modified xsi:type="dcterms:W3CDTF">{stamp}</dcterms:modified></cp:coreProperties>'
    )


APPLICATION = "Lantai demo generator"
"""What wrote the file: the package's ``Application`` property and the item's 文档创建程序 say the same."""


def _app() -> str:
    return ('<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties">'
            f"<Application>{APPLICATION}</Application></Properties>")
