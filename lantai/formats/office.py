"""Office files (DOCX/XLSX/PPTX, and legacy OLE2 documents): they open and are not password protected.

A password-protected OOXML file is not a ZIP at all but an OLE2 compound file holding an
``EncryptedPackage`` stream (MS-OFFCRYPTO); that is how encryption is recognised. ZIP-based files
are read with the bounded reader (``safezip``): the content-types part and the main document part
must exist and parse. Macros (``vbaProject.bin``) are reported as a warning.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.checks.registry import finding
from lantai.domain.findings import Finding
from lantai.formats.safexml import parse_xml
from lantai.packages import zipsafe as safezip

OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
MAIN_PARTS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml", "pptx": "ppt/presentation.xml"}
PART_LIMITS = safezip.ZipLimits(max_member_bytes=64 * 1024 * 1024)


@dataclass(slots=True)
class OfficeResult:
    ok: bool
    kind: str | None = None  # docx | xlsx | pptx | ole2 | unknown
    encrypted: bool = False
    macros: bool = False
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "kind": self.kind, "encrypted": self.encrypted, "macros": self.macros,
                "findings": [f.to_dict() for f in self.findings]}


def check_office(path: str | Path) -> OfficeResult:
    """Check one office file. Never raises for bad content."""
    path = Path(path)
    result = OfficeResult(False)
    try:
        with open(path, "rb") as fh:
            magic = fh.read(8)
        if magic == OLE_MAGIC:
            _ole(path, result)
        elif magic[:2] == b"PK":
            _ooxml(path, result)
        else:
            result.kind = "unknown"
            _fail(result, path, "office-open", "not_office")
    except Exception as exc:
        _fail(result, path, "office-open", "crashed", error=f"{type(exc).__name__}: {exc}")
    result.ok = not any(f.is_error for f in result.findings)
    return result


def _ole(path: Path, result: OfficeResult) -> None:
    import olefile

    result.kind = "ole2"
    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(entry) for entry in ole.listdir()}
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
        result.encrypted = True
        _fail(result, path, "office-encrypted")
    if "Macros/VBA" in "\n".join(streams) or "_VBA_PROJECT_CUR/VBA" in "\n".join(streams):
        result.macros = True
        _fail(result, path, "office-macros")


def _ooxml(path: Path, result: OfficeResult) -> None:
    try:
        zf = safezip.open_zip(path)
    except (zipfile.BadZipFile, safezip.ZipLimitError, OSError, EOFError) as exc:
        _fail(result, path, "office-open", "container", error=str(exc))
        return
    with zf:
        types = safezip.find_member(zf, "[Content_Types].xml")
        if types is None:
            _fail(result, path, "office-open", "no_content_types")
            return
        result.kind = next((k for k, part in MAIN_PARTS.items() if safezip.find_member(zf, part)), "unknown")
        if result.kind == "unknown":
            _fail(result, path, "office-open", "no_main_part")
            return
        for name in ("[Content_Types].xml", MAIN_PARTS[result.kind]):
            info = safezip.find_member(zf, name)
            try:
                parse_xml(safezip.read_member(zf, info, PART_LIMITS), name)  # type: ignore[arg-type]
            except Exception as exc:
                _fail(result, path, "office-open", "part", part=name, error=str(exc))
        if any(n.lower().endswith("vbaproject.bin") for n in zf.namelist()):
            result.macros = True
            _fail(result, path, "office-macros")


def _fail(result: OfficeResult, path: Path, code: str, variant: str = "", **params: str) -> None:
    result.findings.append(finding(code, str(path), variant, **params))
