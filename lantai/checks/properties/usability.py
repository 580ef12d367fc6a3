"""Usability (可用性, DA/T 70 3-x): metadata parses, content format identified, allowed and
readable, PDF/A claims hold, environment metadata present, no encryption or non-public compression."""

from __future__ import annotations

from typing import Any

from lantai.checks.containers import ContainerLimits, inspect_zip
from lantai.checks.model import Outcome, found, not_applicable, passed
from lantai.checks.properties.common import encodings, finding_outcomes, metadata_guard
from lantai.checks.registry import check
from lantai.checks.subject import Subject
from lantai.errors import LantaiError
from lantai.formats.safexml import parse_xml

XML_PARSE_LIMIT = 64 * 1024 * 1024
PROPRIETARY_ARCHIVES = {"x-fmt/264": "RAR", "fmt/411": "RAR 2.9", "fmt/613": "RAR 5"}


@check("metadata_readable")
def metadata_readable(subject: Subject) -> list[Outcome]:
    if not subject.has_metadata:
        return [not_applicable("nometa")]
    outcomes = []
    if subject.metadata_error is not None:
        outcomes.append(found("3-1a", "元数据.xml", reason=subject.metadata_error))
    if subject.process_error is not None:
        outcomes.append(found("3-1c", "过程信息.xml", reason=subject.process_error))
    if subject.record is not None:
        outcomes += finding_outcomes(subject, {"3-1b"})
    return outcomes or [passed()]


@check("content_usable")
def content_usable(subject: Subject) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for name in subject.content_names():
        if subject.files[name].size == 0:
            outcomes.append(found("3-2a", name, reason="空文件", reason_en="empty file"))
            continue
        outcomes += _format_outcomes(subject, name)
        outcomes += _readability(subject, name)
    return outcomes or [passed(count=len(subject.files))]


def _format_outcomes(subject: Subject, name: str) -> list[Outcome]:
    facts = subject.facts(name)
    f = facts.format
    details = {"format": facts.format_dict(), "basis": f.basis, "warnings": list(f.warnings)}
    if f.puid is None:
        reason = "; ".join(f.warnings) or f.basis
        return [found("3-2a", name, reason=reason, details=details)]
    outcomes = []
    if f.basis == "extension":
        outcomes.append(found("3-2a", name, reason="没有匹配的格式特征，仅按扩展名判断",
                                 reason_en="no format signature matched; judged by extension only", status="warn", details=details))
    profile = subject.profile
    if f.puid not in profile.allowed_formats and facts.mime not in profile.allowed_mimes:
        outcomes.append(found("3-2b", name, name=f.name or facts.mime or "?", puid=f.puid, details=details))
    return outcomes


def _readability(subject: Subject, name: str) -> list[Outcome]:
    facts = subject.facts(name)
    reason = _unreadable_reason(facts)
    outcomes = [found("3-2c", name, reason=reason)] if reason else []
    if facts.is_pdf:
        pdfa = facts.pdfa_dict()
        if pdfa and pdfa["declared"] and pdfa["compliant"] is False:
            first = pdfa["violations"][0] if pdfa["violations"] else {"clause": "?", "message": "?"}
            outcomes.append(found("3-2d", name, declared=pdfa["declared"].upper(), count=len(pdfa["violations"]),
                                  clause=first["clause"], first=first["message"],
                                  details={"violations": pdfa["violations"][:50]}))
        if pdfa and pdfa["declared"] and pdfa.get("warnings"):
            first = pdfa["warnings"][0]
            outcomes.append(found("3-2e", name, declared=pdfa["declared"].upper(), count=len(pdfa["warnings"]),
                                  clause=first["clause"], details={"warnings": pdfa["warnings"][:50]}))
    return outcomes


def _unreadable_reason(facts: Any) -> str | None:
    if facts.is_pdf:
        return None if facts.pdf.ok else _first_error(facts.pdf.findings, "PDF 无法读取")
    if facts.is_ofd:
        return None if facts.ofd.valid else _first_error(facts.ofd.findings, "OFD 结构无效")
    if facts.is_image:
        return None if facts.image.ok else _first_error(facts.image.findings, "图像无法解码")
    if facts.is_office:
        return None if facts.office.ok else _first_error(facts.office.findings, "办公文档无法打开")
    if facts.is_xml:
        return _xml_reason(facts.path)
    return None


def _first_error(findings: list[Any], default: str) -> str:
    errors = [f for f in findings if f.is_error] or list(findings)
    return errors[0].message if errors else default


def _xml_reason(path: Any) -> str | None:

    try:
        if path.stat().st_size > XML_PARSE_LIMIT:
            return None
        parse_xml(path.read_bytes(), path.name)
    except LantaiError as exc:
        return exc.message_zh
    except (ValueError, OSError) as exc:
        return str(exc)
    return None


@check("environment_metadata")
def environment_metadata(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    outcomes: list[Outcome] = []
    for _doc, _data, encoding, name in encodings(subject):
        if not (encoding.document_creating_application or "").strip():
            outcomes.append(found("3-3a", name))
        if not (encoding.format_information or "").strip():
            outcomes.append(found("3-3b", name))
    if not any((d or "").strip() for d in subject.record.information_system_descriptions):
        outcomes.append(found("3-3c"))
    return outcomes or [passed()]


@check("no_encryption")
def no_encryption(subject: Subject) -> list[Outcome]:
    limits = ContainerLimits.from_profile(subject.profile.section("containers"))
    outcomes: list[Outcome] = []
    for name in subject.content_names():
        if subject.files[name].size == 0:
            continue
        outcomes += _encryption(subject, name, limits)
    return outcomes or [passed(count=len(subject.files))]


# What kind of encryption 3-4a found, in both languages (``kind`` is prose: see registry.TEXT_PARAMS).
ENCRYPTION = {
    "pdf_password": {"kind": "PDF 需要打开密码", "kind_en": "the PDF needs a password to open"},
    "pdf_permissions": {"kind": "PDF 加密（权限密码）", "kind_en": "PDF encrypted with an owner password"},
    "office": {"kind": "办公文档设有密码", "kind_en": "password-protected office document"},
    "ofd": {"kind": "OFD 加密（Encryptions.xml）", "kind_en": "OFD encrypted (Encryptions.xml)"},
    "odf": {"kind": "ODF 文档设有密码", "kind_en": "password-protected ODF document"},
}


def _encryption(subject: Subject, name: str, limits: ContainerLimits) -> list[Outcome]:
    facts = subject.facts(name)
    outcomes = []
    if facts.is_pdf and facts.pdf is not None and (facts.pdf.encrypted or facts.pdf.password_required):
        outcomes.append(found("3-4a", name, **(ENCRYPTION["pdf_password"] if facts.pdf.password_required
                                               else ENCRYPTION["pdf_permissions"])))
    if facts.is_office and facts.office is not None and facts.office.encrypted:
        outcomes.append(found("3-4a", name, **ENCRYPTION["office"]))
    if facts.is_ofd and facts.ofd is not None and any(f.code == "ofd-7" for f in facts.ofd.findings):
        outcomes.append(found("3-4a", name, **ENCRYPTION["ofd"]))
    if facts.format.puid in PROPRIETARY_ARCHIVES:
        outcomes.append(found("3-4b", name, method=PROPRIETARY_ARCHIVES[facts.format.puid]))
    if facts.mime.startswith("application/vnd.oasis.opendocument") and _odf_encrypted(facts.path):
        outcomes.append(found("3-4a", name, **ENCRYPTION["odf"]))
    if _is_zip(facts.path) and not facts.is_office:
        outcomes += [found(rule, name, **params) for rule, params in inspect_zip(facts.path, limits)]
    return outcomes


def _is_zip(path: Any) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) == b"PK\x03\x04"
    except OSError:
        return False


def _odf_encrypted(path: Any) -> bool:
    """ODF encryption leaves the ZIP readable; META-INF/manifest.xml then carries encryption-data."""
    import zipfile

    try:
        with zipfile.ZipFile(path) as zf:
            info = zf.getinfo("META-INF/manifest.xml")
            if info.file_size > 4 * 1024 * 1024:
                return False
            return b"encryption-data" in zf.read(info)
    except (KeyError, zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError, NotImplementedError):
        return False
