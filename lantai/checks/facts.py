"""Per-file facts for the checks, computed lazily through ``lantai.formats`` and cached.

Every property reads the file at most once per validator; results are the formats package's own
dataclasses. Nothing here raises for bad content — the validators already turn hostile input
into findings — but a validator that breaks anyway is caught and reported as unreadable.
"""

from __future__ import annotations

import contextlib
import zipfile
from functools import cached_property
from pathlib import Path
from typing import Any

from lantai.checks.timing import measure
from lantai.formats import check_image, check_office, identify, inspect_pdf, validate_ofd, validate_pdfa
from lantai.formats.pdf_open import open_shared

PDF_MIMES = frozenset({"application/pdf"})
OFD_IDS = frozenset({"lantai-fmt/ofd"})
OOXML_MIMES = ("application/vnd.openxmlformats-officedocument", "application/msword", "application/vnd.ms-excel",
               "application/vnd.ms-powerpoint", "application/vnd.ms-office")
OFFICE_EXTENSIONS = frozenset({"docx", "xlsx", "pptx", "doc", "xls", "ppt", "wps", "et", "dps"})
XML_MIMES = frozenset({"text/xml", "application/xml"})


class FileAnalysis:
    def __init__(self, path: Path, name: str) -> None:
        self.path = path
        self.name = name

    @cached_property
    def format(self) -> Any:

        with measure("fact format identification"):
            return identify(self.path)

    @property
    def mime(self) -> str:
        return (self.format.mime or "").split(";")[0].strip().lower()

    @property
    def extension(self) -> str:
        return Path(self.name).suffix.lower().lstrip(".")

    @property
    def is_pdf(self) -> bool:
        return self.mime in PDF_MIMES or (self.format.name or "").startswith(("Acrobat PDF", "Portable Document"))

    @property
    def is_ofd(self) -> bool:
        return self.format.puid in OFD_IDS

    @property
    def is_image(self) -> bool:
        return self.mime.startswith("image/") and self.mime not in ("image/svg+xml",)

    @property
    def is_office(self) -> bool:
        return self.mime.startswith(OOXML_MIMES) or (self.format.puid is None and self.extension in OFFICE_EXTENSIONS)

    @property
    def is_xml(self) -> bool:
        return self.mime in XML_MIMES or self.format.puid == "fmt/101"

    @property
    def is_plain_zip(self) -> bool:
        return self.format.puid in ("x-fmt/263",) or self.mime == "application/zip"

    @cached_property
    def _shared_pdf(self) -> Any:
        """The PDF opened once for inspection and PDF/A validation, its pages parsed once."""
        return open_shared(self.path)

    @cached_property
    def pdf(self) -> Any:

        with measure("fact PDF inspection"):
            return inspect_pdf(self.path, self._shared_pdf) if self.is_pdf else None

    @cached_property
    def pdfa(self) -> Any:

        with measure("fact PDF/A validation"):
            return validate_pdfa(self.path, self._shared_pdf) if self.is_pdf else None

    @cached_property
    def ofd(self) -> Any:

        with measure("fact OFD validation"):
            return validate_ofd(self.path) if self.is_ofd else None

    @cached_property
    def image(self) -> Any:

        with measure("fact image check"):
            return check_image(self.path) if self.is_image else None

    @cached_property
    def office(self) -> Any:

        with measure("fact office check"):
            return check_office(self.path) if self.is_office else None

    def page_count(self) -> int | None:
        if self.is_pdf and self.pdf is not None and self.pdf.ok:
            return int(self.pdf.page_count)
        if self.is_ofd and self.ofd is not None and self.ofd.valid:
            return int(self.ofd.page_count)
        return None

    def creating_application(self) -> str | None:
        if self.is_pdf and self.pdf is not None:
            return self.pdf.creator or self.pdf.producer
        return None

    def pdfa_dict(self) -> dict[str, Any] | None:
        """The report's ``pdfa`` block: present for every PDF, ``compliant`` null when nothing is claimed."""
        if not self.is_pdf:
            return None
        result = self.pdfa
        declared = (result.declared or None) if result is not None else None
        if declared is None:
            return {"declared": None, "compliant": None, "violations": []}
        return {"declared": str(declared).lower(), "compliant": bool(result.compliant),
                "violations": [_pdfa_finding(v) for v in result.violations],
                "warnings": [_pdfa_finding(w) for w in getattr(result, "warnings", [])]}

    def format_dict(self) -> dict[str, Any]:
        f = self.format
        return {"puid": f.puid, "mime": f.mime, "name": f.name, "version": f.version}


def _pdfa_finding(finding: dict[str, str]) -> dict[str, str]:
    """The report's view of one PDF/A finding: clause, registry rule and both languages."""
    keys = ("clause", "rule", "message", "message_zh", "message_en")
    return {key: finding.get(key, "") for key in keys if key in finding or key in ("clause", "message")}


def zip_is_sip(path: Path, metadata_name: str) -> bool:
    """A ZIP is a SIP item when it holds 元数据.xml at its root or inside one top directory."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")][:100_000]
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError):
        return False
    decoded = set()
    for raw in names:
        decoded.add(raw)
        with contextlib.suppress(UnicodeEncodeError, UnicodeDecodeError):
            decoded.add(raw.encode("cp437").decode("gb18030"))
    if metadata_name in decoded:
        return True
    tops = {n.split("/", 1)[0] for n in decoded if "/" in n}
    return len(tops) == 1 and f"{next(iter(tops))}/{metadata_name}" in decoded
