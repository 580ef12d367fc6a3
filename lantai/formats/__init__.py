"""Format identification and validation: PRONOM, PDF, PDF/A, OFD, images, office files.

The facade resolves its names lazily so that importing one validator does not load every library
(fido's signatures, pikepdf, Pillow) into processes that need only one of them.

    identify(path) -> FormatInfo            PRONOM PUID, MIME, version, lying extensions
    inspect_pdf(path) -> PdfInfo            opens, pages parse, encryption, producer, signatures
    validate_pdfa(path) -> PdfaResult       ISO 19005-1/2/3 rules by clause (A/B/U), without veraPDF
    validate_ofd(path) -> OfdResult         GB/T 33190 structure, reference digests, SES seals
    check_image(path) -> ImageResult        full decode under an explicit pixel limit
    check_office(path) -> OfficeResult      OOXML opens and is not password protected
"""

from __future__ import annotations

import importlib
from typing import Any

# Imported eagerly: the function shares its name with its module, and a lazy lookup would return
# the module once anything imported ``lantai.formats.identify``. The module itself is light —
# fido's signatures load on first use.
from lantai.formats.identify import FormatInfo, identify

_EXPORTS = {
    "inspect_pdf": "lantai.formats.pdf",
    "PdfInfo": "lantai.formats.pdf",
    "validate_pdfa": "lantai.formats.pdfa",
    "PdfaResult": "lantai.formats.pdfa",
    "validate_ofd": "lantai.formats.ofd",
    "OfdResult": "lantai.formats.ofd",
    "check_image": "lantai.formats.images",
    "ImageResult": "lantai.formats.images",
    "check_office": "lantai.formats.office",
    "OfficeResult": "lantai.formats.office",
}

__all__ = [  # noqa: RUF022 - grouped by validator, not alphabetically
    "FormatInfo", "identify", "PdfInfo", "inspect_pdf", "PdfaResult", "validate_pdfa", "OfdResult", "validate_ofd",
    "ImageResult", "check_image", "OfficeResult", "check_office",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lantai.formats' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
