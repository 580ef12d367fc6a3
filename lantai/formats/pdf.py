"""PDF usability and authenticity facts for DA/T 70: opens, every page parses, encryption,
creating application, and digital signatures over their signed byte ranges.

``inspect_pdf`` never raises for bad content: a corrupt, truncated or password-protected file
gives ``ok`` False with findings that say why.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from lantai.checks.registry import finding
from lantai.domain.findings import Finding
from lantai.formats.pdf_open import SharedPdf, parser
from lantai.formats.pdf_signatures import PdfSignature, find_signatures

MAX_PAGE_ERRORS = 20


@dataclass(slots=True)
class PdfInfo:
    ok: bool
    pdf_version: str | None = None
    page_count: int = 0
    encrypted: bool = False
    password_required: bool = False
    producer: str | None = None
    creator: str | None = None
    page_errors: list[str] = field(default_factory=list)
    signatures: list[PdfSignature] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "pdf_version": self.pdf_version, "page_count": self.page_count,
                "encrypted": self.encrypted, "password_required": self.password_required,
                "producer": self.producer, "creator": self.creator, "page_errors": list(self.page_errors),
                "signatures": [s.to_dict() for s in self.signatures],
                "findings": [f.to_dict() for f in self.findings]}


def inspect_pdf(path: str | Path, shared: SharedPdf | None = None) -> PdfInfo:
    """``shared``: the file already opened (:func:`lantai.formats.pdf_open.open_shared`), left open."""
    path = Path(path)
    try:
        return _inspect(path, shared)
    except Exception as exc:  # a hostile file must never stop a batch
        return PdfInfo(False, findings=[finding("pdf-open", str(path), "crashed", error=f"{type(exc).__name__}: {exc}")])


def _inspect(path: Path, shared: SharedPdf | None = None) -> PdfInfo:
    try:
        pdf = shared.pdf if shared is not None else pikepdf.open(path)
    except pikepdf.PasswordError:
        return PdfInfo(False, encrypted=True, password_required=True, findings=[finding("pdf-password", str(path))])
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        return PdfInfo(False, findings=[finding("pdf-open", str(path), error=str(exc))])
    with pdf if shared is None else contextlib.nullcontext():
        info = PdfInfo(True, pdf_version=pdf.pdf_version, page_count=len(pdf.pages),
                       encrypted=pdf.is_encrypted)
        info.producer, info.creator = _application(pdf)
        if info.encrypted:
            info.findings.append(finding("pdf-encrypted", str(path)))
        _pages(pdf, info, path, parser(shared))
        info.signatures = find_signatures(pdf, path)
    for sig in info.signatures:
        if sig.status in ("digest_mismatch", "signature_invalid", "malformed"):
            info.findings.append(finding("pdf-signature", sig.field, "invalid", field=sig.field, status=sig.status,
                                          problems="; ".join(sig.problems)))
        elif not sig.covers_whole_file:
            info.findings.append(finding("pdf-signature", sig.field, "changed_after", field=sig.field))
    info.ok = not any(f.is_error for f in info.findings)
    return info


def _application(pdf: pikepdf.Pdf) -> tuple[str | None, str | None]:
    producer = creator = None
    docinfo = pdf.trailer.get("/Info")
    if isinstance(docinfo, pikepdf.Dictionary):
        producer = str(docinfo.get("/Producer")) if "/Producer" in docinfo else None
        creator = str(docinfo.get("/Creator")) if "/Creator" in docinfo else None
    if producer is None or creator is None:
        try:
            meta = pdf.open_metadata()
            producer = producer or meta.get("pdf:Producer")
            creator = creator or meta.get("xmp:CreatorTool")
        except Exception:
            pass
    return producer, creator


def _pages(pdf: pikepdf.Pdf, info: PdfInfo, path: Path, parse: Any = pikepdf.parse_content_stream) -> None:
    if info.page_count == 0:
        info.findings.append(finding("pdf-pages", str(path), "none"))
    for number, page in enumerate(pdf.pages, start=1):
        try:
            parse(page)
        except Exception as exc:
            info.page_errors.append(f"page {number}: {exc}")
            if len(info.page_errors) >= MAX_PAGE_ERRORS:
                break
    if info.page_errors:
        info.findings.append(finding("pdf-pages", str(path), "unparsed", count=len(info.page_errors),
                                      first=info.page_errors[0]))
