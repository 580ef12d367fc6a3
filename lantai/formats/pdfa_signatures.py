"""PDF/A-2/-3 digital signatures (ISO 19005-2 6.4.3): what a signature covers and who signed.

A signature's ByteRange must cover the file it signed — from offset 0 to the end of a revision
(an ``%%EOF`` marker; later incremental updates may follow) — leaving out only the Contents
value; the Contents must be a DER-encoded PKCS#7 object with a single signer. A signature value
that is not PKCS#7 Lantai can read (for instance a GB/T 38540 electronic seal) cannot be judged
here and gives a warning, not a verdict.
"""

from __future__ import annotations

import mmap
from pathlib import Path
from typing import Any

import pikepdf

Violation = tuple[str, str]
MAX_FIELDS = 10_000


def check_signatures(pdf: pikepdf.Pdf, path: Path, part: int) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings) for every signature field value of the interactive form."""
    if part == 1:
        return [], []
    signatures = list(_signature_values(pdf))
    if not signatures:
        return [], []
    violations: list[Violation] = []
    warnings: list[Violation] = []
    with open(path, "rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as data:
        for signature in signatures:
            problem = _byte_range_problem(signature.get("/ByteRange"), data)
            if problem:
                violations.append(("6.4.3", problem))
            signers = _signer_count(signature.get("/Contents"))
            if signers is None:
                warnings.append(("6.4.3", "a signature value is not a PKCS#7 object that can be read; its signers "
                                          "were not checked"))
            elif signers != 1:
                violations.append(("6.4.3", f"a PKCS#7 signature has {signers} signers instead of one"))
    return list(dict.fromkeys(violations)), list(dict.fromkeys(warnings))


def _signature_values(pdf: pikepdf.Pdf) -> Any:
    form = pdf.Root.get("/AcroForm")
    fields = list(form.get("/Fields", [])) if isinstance(form, pikepdf.Dictionary) else []
    seen = 0
    while fields and seen < MAX_FIELDS:
        field = fields.pop()
        seen += 1
        if not isinstance(field, pikepdf.Dictionary):
            continue
        fields.extend(list(field.get("/Kids", []) or []))
        value = field.get("/V")
        if str(field.get("/FT")) == "/Sig" and isinstance(value, pikepdf.Dictionary) and "/ByteRange" in value:
            yield value


def _byte_range_problem(byte_range: Any, data: mmap.mmap) -> str | None:
    try:
        a, b, c, d = (int(v) for v in byte_range)
    except (TypeError, ValueError):
        return "a signature's ByteRange is not four integers"
    end = c + d
    if a != 0 or b < 0 or c < b or end > len(data):
        return "a signature's ByteRange does not start at 0 or runs past the end of the file"
    if data[b:b + 1] != b"<" or data[c - 1:c] != b">":
        return "a signature's ByteRange leaves out more than the Contents value"
    tail = data[max(0, end - 8):end].rstrip(b"\r\n")
    if not tail.endswith(b"%%EOF"):
        return "a signature's ByteRange does not end at the end of a file revision"
    return None


def _signer_count(contents: Any) -> int | None:
    """Number of SignerInfos of a PKCS#7 signature; None when the value is not readable PKCS#7."""
    if not isinstance(contents, pikepdf.String):
        return None
    try:
        from asn1crypto import cms

        info = cms.ContentInfo.load(bytes(contents))  # DER has its own length; the zero padding is ignored
        if info["content_type"].native != "signed_data":
            return None
        return len(info["content"]["signer_infos"])
    except Exception:
        return None
