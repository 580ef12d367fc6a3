"""Text of PDF, OFD, DOCX and XLSX files for the search index.

Extractors return text; the lead stores it as a derivative in the item's OCFL object, so a
reindex never extracts again. Layout-based formats (PDF, OFD) break a Chinese sentence at the
end of every printed line — ``参\\n加工作``, or a 文号 split as ``（路中医发\\n〔2011〕10号）`` — so
lines are re-joined: no separator between Chinese characters or punctuation, one space between
two Latin/digit runs, and a line break kept only after sentence-ending punctuation or a blank
line. Output stops at ``max_chars`` (default 1,000,000 characters, about 3 MB), so one huge
spreadsheet cannot swamp the index.

PDF text comes from PDFium (pypdfium2): about 6× less CPU than pypdf's pure-Python content-stream
parser, the same words on the demo 公文, and whole words where pypdf spaced out the letters of
composite fonts. A PDF PDFium cannot open is read with pypdf instead, so a file either library
can read still yields text, and one neither can read raises :class:`ExtractionFailed` as before.
PDFium is not thread-safe: every call into it holds one process-wide lock.

Unsupported formats (images, audio) yield ``""``; a file that claims a supported format but
cannot be read raises :class:`ExtractionFailed`, which ingest records without rejecting the item.
"""

from __future__ import annotations

import io
import re
import threading
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from lantai.errors import BadInput

MAX_CHARS = 1_000_000
_PDFIUM = threading.Lock()  # PDFium is one non-thread-safe library per process
_END = "。！？；：!?;:」』”）)】"
_ASCII_WORD = re.compile(r"[A-Za-z0-9]$")
_ASCII_START = re.compile(r"^[A-Za-z0-9]")


class ExtractionFailed(BadInput):
    code = "extraction_failed"


def extract_text(source: str | Path | bytes, *, max_chars: int = MAX_CHARS, kind: str | None = None) -> str:
    """Text of a file (path or bytes); ``kind`` (pdf, ofd, docx, xlsx, txt) overrides detection."""
    data = source if isinstance(source, bytes) else Path(source).read_bytes()
    kind = kind or detect(data)
    extractor = _EXTRACTORS.get(kind or "")
    if extractor is None:
        return ""
    try:
        if kind == "pdf":
            return _capped(_pdf(data, max_chars), max_chars)
        return _capped(extractor(data), max_chars)
    except ExtractionFailed:
        raise
    except Exception as exc:  # each library has its own error tree; all mean "unreadable"
        raise ExtractionFailed(f"无法提取文本（{kind}）: {exc}", f"cannot extract text ({kind}): {exc}") from exc


def detect(data: bytes) -> str | None:
    """pdf, ofd, docx, xlsx or None, from the content (extensions lie)."""
    if data[:1024].lstrip().startswith(b"%PDF") or b"%PDF-" in data[:1024]:
        return "pdf"
    if data[:4] != b"PK\x03\x04":
        return None
    try:
        names = set(zipfile.ZipFile(io.BytesIO(data)).namelist())
    except zipfile.BadZipFile:
        return None
    if "OFD.xml" in names:
        return "ofd"
    if "word/document.xml" in names:
        return "docx"
    if "xl/workbook.xml" in names:
        return "xlsx"
    return None


def join_lines(lines: Iterable[str]) -> str:
    """Re-join printed lines into running text (see the module docstring for the rules)."""
    out: list[str] = []
    for raw in lines:
        line = raw.strip()
        if not line:
            if out and out[-1] != "\n":
                out.append("\n")
            continue
        if out and out[-1] != "\n":
            previous = out[-1]
            if previous[-1] in _END:
                out.append("\n")
            elif _ASCII_WORD.search(previous) and _ASCII_START.match(line):
                out.append(" ")
        out.append(line)
    return "".join(out).strip()


def _capped(parts: Iterator[str], max_chars: int) -> str:
    chunks, size = [], 0
    for part in parts:
        chunks.append(part)
        size += len(part)
        if size >= max_chars:
            break
    return "\n".join(c for c in chunks if c)[:max_chars]


def _pdf(data: bytes, max_chars: int = MAX_CHARS) -> Iterator[str]:
    """Pages' text through PDFium; through pypdf when PDFium cannot open the file."""
    import pypdfium2

    try:
        pages = _pdfium_pages(pypdfium2, data, max_chars)
    except pypdfium2.PdfiumError:
        return _pypdf(data)
    return iter(pages)


def _pdfium_pages(pdfium: Any, data: bytes, max_chars: int) -> list[str]:
    """Text of the pages until ``max_chars`` is reached; every PDFium handle closed on return.

    Pages are read under the lock into a list (not yielded), so no handle or lock outlives the call
    whatever the caller does with the result; a page is read only while the budget lasts.
    """
    pages: list[str] = []
    with _PDFIUM:
        document = pdfium.PdfDocument(data)
        try:
            for index in range(len(document)):
                if max_chars <= 0:
                    break
                page = document.get_page(index)
                try:
                    textpage = page.get_textpage()
                    try:
                        text = textpage.get_text_range(count=min(textpage.count_chars(), max_chars))
                    finally:
                        textpage.close()
                finally:
                    page.close()
                pages.append(join_lines(text.splitlines()))
                max_chars -= len(pages[-1])
        finally:
            document.close()
    return pages


def _pypdf(data: bytes) -> Iterator[str]:
    from pypdf import PdfReader

    reader = PdfReader(io.BytesIO(data))
    if reader.is_encrypted:
        reader.decrypt("")  # owner-password-only PDFs open with an empty user password
    for page in reader.pages:
        yield join_lines((page.extract_text() or "").splitlines())


def _ofd(data: bytes) -> Iterator[str]:
    import ofdkit

    with ofdkit.open(data) as document:
        for page in document.text("\f").split("\f"):
            yield join_lines(page.splitlines())


_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
_W_P, _W_TBL, _W_TR, _W_TC, _W_R, _W_T = (_W + n for n in ("p", "tbl", "tr", "tc", "r", "t"))
_W_RUN_TEXT = {_W + "tab": "\t", _W + "ptab": "\t", _W + "cr": "\n", _W + "noBreakHyphen": "-"}
_PACKAGE_RELS = "{http://schemas.openxmlformats.org/package/2006/relationships}"
_CONTENT_TYPES = "{http://schemas.openxmlformats.org/package/2006/content-types}"
_OFFICE_DOCUMENT = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument"
_WML_MAIN = "application/vnd.openxmlformats-officedocument.wordprocessingml.document.main+xml"


def _docx(data: bytes) -> Iterator[str]:
    """The body's paragraphs, then each row of the body's tables (cells joined by tabs).

    The same text python-docx gave (``Document.paragraphs`` then ``Document.tables`` rows, merged
    cells repeated as it repeats them), read with lxml straight from ``word/document.xml``: python-docx
    built an object model of every part of the package first, about 5× the CPU. The main part is
    found and type-checked as python-docx finds it (the package's officeDocument relationship,
    a WordprocessingML document content type), streamed from the ZIP within the member limits,
    parsed without entities, network or DTD (a DTD is refused), one body-level block at a time.
    """
    from lantai.packages import zipsafe

    with zipsafe.open_zip(io.BytesIO(data)) as zf:
        info = zf.getinfo(_docx_main_part(zf))
        paragraphs: list[str] = []
        tables: list[str] = []
        _docx_blocks(zipsafe.iter_member(zf, info), paragraphs, tables)
    yield from paragraphs
    yield from tables


def _small_xml(zf: zipfile.ZipFile, name: str) -> Any:
    from lantai.formats.safexml import parse_xml
    from lantai.packages import zipsafe

    return parse_xml(zipsafe.read_member(zf, zf.getinfo(name)), name)


def _docx_main_part(zf: zipfile.ZipFile) -> str:
    """Member name of the package's main document part; ValueError unless it is a Word document."""
    import posixpath

    targets = [rel.get("Target") or "" for rel in _small_xml(zf, "_rels/.rels").iter(_PACKAGE_RELS + "Relationship")
               if rel.get("Type") == _OFFICE_DOCUMENT]
    if len(targets) != 1:
        raise ValueError(f"{len(targets)} officeDocument relationships in the package")
    partname = posixpath.normpath(posixpath.join("/", targets[0]))
    types = _small_xml(zf, "[Content_Types].xml")
    content_type = next((o.get("ContentType") for o in types.iter(_CONTENT_TYPES + "Override")
                         if (o.get("PartName") or "").lower() == partname.lower()), None)
    if content_type is None:
        extension = posixpath.splitext(partname)[1].lstrip(".").lower()
        content_type = next((d.get("ContentType") for d in types.iter(_CONTENT_TYPES + "Default")
                             if (d.get("Extension") or "").lower() == extension), None)
    if content_type != _WML_MAIN:
        raise ValueError(f"not a Word document: content type of {partname} is {content_type}")
    return partname.lstrip("/")


def _docx_blocks(chunks: Iterable[bytes], paragraphs: list[str], tables: list[str]) -> None:
    """Text of ``w:document/w:body``'s paragraphs and table rows, parsed as the chunks arrive; each
    block is dropped once read, so memory holds one block (a table is one block), not the document."""
    from lxml import etree

    parser = etree.XMLPullParser(events=("start", "end"), resolve_entities=False, no_network=True,
                                 load_dtd=False, huge_tree=False)
    root = body = None
    for chunk in chunks:
        parser.feed(chunk)
        for event, element in parser.read_events():
            if root is None:
                docinfo = element.getroottree().docinfo
                if docinfo.doctype or docinfo.internalDTD is not None:
                    raise ValueError("word/document.xml has a DTD; refused")
                if element.tag != _W + "document":
                    raise ValueError(f"the main part's root is {element.tag}, not w:document")
                root = element
                continue
            parent = element.getparent()
            if event == "start":
                if body is None and parent is root and element.tag == _W + "body":
                    body = element
                continue
            if body is None or parent is not body:
                continue
            if element.tag == _W_P:
                paragraphs.append(_paragraph_text(element))
            elif element.tag == _W_TBL:
                tables.extend("\t".join(_cell_text(tc) for tc in _row_cells(tr))
                              for tr in element if tr.tag == _W_TR)
            element.clear()
            while element.getprevious() is not None:
                del body[0]
    parser.close()
    if root is None or body is None:
        raise ValueError("word/document.xml has no w:body")


def _paragraph_text(p: Any) -> str:
    """python-docx's ``Paragraph.text``: the paragraph's runs and its hyperlinks' runs."""
    parts = []
    for child in p:
        if child.tag == _W_R:
            parts.append(_run_text(child))
        elif child.tag == _W + "hyperlink":
            parts.extend(_run_text(run) for run in child if run.tag == _W_R)
    return "".join(parts)


def _run_text(run: Any) -> str:
    """python-docx's ``Run.text``: text, tabs, soft breaks (a page or column break is no text)."""
    parts = []
    for child in run:
        tag = child.tag
        if tag == _W_T:
            parts.append(child.text or "")
        elif tag == _W + "br":
            parts.append("\n" if child.get(_W + "type", "textWrapping") == "textWrapping" else "")
        elif tag in _W_RUN_TEXT:
            parts.append(_W_RUN_TEXT[tag])
    return "".join(parts)


def _cell_text(tc: Any) -> str:
    return "\n".join(_paragraph_text(p) for p in tc if p.tag == _W_P)


def _row_cells(tr: Any) -> list[Any]:
    """python-docx's ``_Row.cells``: one entry per grid column a cell spans; a cell continuing a
    vertical merge stands for the cell it continues (ValueError when there is none, as there)."""
    cells = []
    for tc in tr:
        if tc.tag != _W_TC:
            continue
        while _tc_property(tc, "vMerge", "continue") == "continue":
            tc = _tc_above(tc)
        cells.extend([tc] * int(_tc_property(tc, "gridSpan", None) or 1))
    return cells


def _tc_property(tc: Any, name: str, default: str | None) -> str | None:
    """``w:tcPr/w:<name>/@w:val`` of a cell (first of each, as python-docx reads them); None when
    the element is absent, ``default`` when only the value is."""
    properties = tc.find(_W + "tcPr")
    element = properties.find(_W + name) if properties is not None else None
    if element is None:
        return None
    value = element.get(_W + "val")
    if value is None and default is None:
        raise ValueError(f"w:{name} without w:val")
    return default if value is None else value


def _tc_above(tc: Any) -> Any:
    tr = tc.getparent()
    above = tr.getprevious()
    while above is not None and above.tag != _W_TR:
        above = above.getprevious()
    if above is None:
        raise ValueError("no tr above topmost tr in w:tbl")
    offset = _grid_before(tr) + sum(int(_tc_property(t, "gridSpan", None) or 1)
                                    for t in tc.itersiblings(_W_TC, preceding=True))
    remaining = offset - _grid_before(above)
    for candidate in above:
        if candidate.tag != _W_TC:
            continue
        if remaining < 0:
            break
        if remaining == 0:
            return candidate
        remaining -= int(_tc_property(candidate, "gridSpan", None) or 1)
    raise ValueError(f"no `tc` element at grid_offset={offset}")


def _grid_before(tr: Any) -> int:
    properties = tr.find(_W + "trPr")
    element = properties.find(_W + "gridBefore") if properties is not None else None
    if element is None:
        return 0
    value = element.get(_W + "val")
    if value is None:
        raise ValueError("w:gridBefore without w:val")
    return int(value)


def _xlsx(data: bytes) -> Iterator[str]:
    import openpyxl

    workbook = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    try:
        for sheet in workbook.worksheets:
            yield sheet.title
            for row in sheet.iter_rows(values_only=True):
                cells = [str(v) for v in row if v is not None and str(v).strip()]
                if cells:
                    yield "\t".join(cells)
    finally:
        workbook.close()


def _txt(data: bytes) -> Iterator[str]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            yield data.decode(encoding)
            return
        except UnicodeDecodeError:
            continue
    yield data.decode("utf-8", errors="replace")


_EXTRACTORS = {"pdf": _pdf, "ofd": _ofd, "docx": _docx, "xlsx": _xlsx, "txt": _txt}
