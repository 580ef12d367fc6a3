"""One open PDF shared by the checks that read the same file, with each page's content parsed once.

``inspect_pdf`` (does every page parse?) and ``validate_pdfa`` (the PDF/A rules over every content
operator) each opened the file with qpdf and parsed every page's content stream: per 公文 PDF, a
second open and a second parse of every page. :func:`open_shared` opens it once; both take the
result as ``shared``, and neither closes it (it closes when the last reference goes, at the end of
the item's checks). A file qpdf cannot open gives None, and each check then opens it as before,
so its own error path and message are unchanged.

Parsed pages are kept up to :data:`CACHE_INSTRUCTIONS` operators per document; past that a page is
parsed again when asked, so a huge document costs time, never unbounded memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pikepdf

CACHE_INSTRUCTIONS = 200_000


class SharedPdf:
    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self._pages: dict[tuple[int, int], list[Any] | Exception] = {}
        self._kept = 0

    def parse_page(self, page: pikepdf.Page) -> list[Any]:
        """``pikepdf.parse_content_stream(page)``, answered once per page (its error too)."""
        key = page.obj.objgen
        result = self._pages.get(key) if key != (0, 0) else None
        if result is None:
            try:
                result = pikepdf.parse_content_stream(page)
            except Exception as exc:
                result = exc
            size = len(result) if isinstance(result, list) else 1
            if key != (0, 0) and self._kept + size <= CACHE_INSTRUCTIONS:
                self._pages[key] = result
                self._kept += size
        if isinstance(result, Exception):
            raise result
        return result


def open_shared(path: str | Path) -> SharedPdf | None:
    """The file opened as the checks open it, or None when that fails (each check then says why)."""
    try:
        return SharedPdf(pikepdf.open(path))
    except Exception:
        return None


def parser(shared: SharedPdf | None) -> Any:
    """A ``parse_content_stream`` that answers pages from ``shared`` when there is one."""
    if shared is None:
        return pikepdf.parse_content_stream

    def parse(target: Any) -> list[Any]:
        if isinstance(target, pikepdf.Page):
            return shared.parse_page(target)
        return pikepdf.parse_content_stream(target)

    return parse
