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

from lantai.domain.findings import Finding, Severity
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
            _fail(result, path, "office-open", "不是 OOXML 或 OLE2 办公文档", "neither an OOXML nor an OLE2 file")
    except Exception as exc:
        _fail(result, path, "office-open", f"办公文档无法打开: {type(exc).__name__}",
              f"office file does not open: {type(exc).__name__}: {exc}")
    result.ok = not any(f.is_error for f in result.findings)
    return result


def _ole(path: Path, result: OfficeResult) -> None:
    import olefile

    result.kind = "ole2"
    with olefile.OleFileIO(str(path)) as ole:
        streams = {"/".join(entry) for entry in ole.listdir()}
    if "EncryptedPackage" in streams or "EncryptionInfo" in streams:
        result.encrypted = True
        _fail(result, path, "office-encrypted", "办公文档设有密码（加密的 OOXML）",
              "password-protected office document (encrypted OOXML package)")
    if "Macros/VBA" in "\n".join(streams) or "_VBA_PROJECT_CUR/VBA" in "\n".join(streams):
        result.macros = True
        _fail(result, path, "office-macros", "文档含宏", "the document contains macros", Severity.WARNING)


def _ooxml(path: Path, result: OfficeResult) -> None:
    try:
        zf = safezip.open_zip(path)
    except (zipfile.BadZipFile, safezip.ZipLimitError, OSError, EOFError) as exc:
        _fail(result, path, "office-open", "办公文档容器损坏或不安全", f"the office ZIP container is unusable: {exc}")
        return
    with zf:
        types = safezip.find_member(zf, "[Content_Types].xml")
        if types is None:
            _fail(result, path, "office-open", "缺少 [Content_Types].xml", "[Content_Types].xml is missing")
            return
        result.kind = next((k for k, part in MAIN_PARTS.items() if safezip.find_member(zf, part)), "unknown")
        if result.kind == "unknown":
            _fail(result, path, "office-open", "找不到主文档部件", "no main document part (word/xl/ppt)")
            return
        for name in ("[Content_Types].xml", MAIN_PARTS[result.kind]):
            info = safezip.find_member(zf, name)
            try:
                parse_xml(safezip.read_member(zf, info, PART_LIMITS), name)  # type: ignore[arg-type]
            except Exception as exc:
                _fail(result, path, "office-open", f"部件 {name} 无法解析", f"part {name} does not parse: {exc}")
        if any(n.lower().endswith("vbaproject.bin") for n in zf.namelist()):
            result.macros = True
            _fail(result, path, "office-macros", "文档含宏", "the document contains macros", Severity.WARNING)


def _fail(result: OfficeResult, path: Path, code: str, zh: str, en: str, severity: Severity = Severity.ERROR) -> None:
    result.findings.append(Finding(rule="file", element=str(path), message=zh, message_en=en, severity=severity,
                                   code=code))
