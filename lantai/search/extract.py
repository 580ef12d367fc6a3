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


def _docx(data: bytes) -> Iterator[str]:
    import docx

    document = docx.Document(io.BytesIO(data))
    for paragraph in document.paragraphs:
        yield paragraph.text
    for table in document.tables:
        for row in table.rows:
            yield "\t".join(cell.text for cell in row.cells)


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
