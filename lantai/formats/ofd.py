"""OFD (GB/T 33190-2016) validation for the archive: STANDARDS §9.5, plus resources and seals.

Steps, each with its own finding code so a report can say which rule broke:

* ``ofd-1`` the ZIP container opens and is safe (sizes checked before reading, no traversal);
* ``ofd-2`` ``OFD.xml`` exists, its root is ``ofd:OFD`` with Version (1.0/1.1/1.2) and DocType
  (OFD or OFD-A);
* ``ofd-3`` every DocRoot resolves and parses;
* ``ofd-4`` every ``Page/@BaseLoc`` resolves (relative to the document's directory) and parses;
* ``ofd-5`` resources: PublicRes/DocumentRes/PageRes files and the media/font files they name;
* ``ofd-6`` signatures: each Reference digest (SM3 or SHA-256) recomputed and compared, and the
  seal or signature in ``SignedValue.dat`` verified (``ofd_seal``);
* ``ofd-7`` no encryption (``Encryptions.xml``; DA/T 70 usability 3-4).

Real producers (Suwell) write the namespace ``http://www.ofdspec.org`` without ``/2016``; that is
accepted with a warning, since inner parts are matched by local name anyway.
``validate_ofd`` never raises for bad content.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lxml import etree

from lantai.checks.registry import finding
from lantai.domain.findings import Finding, Severity
from lantai.errors import UnsafeInput
from lantai.formats import ofd_parts as parts
from lantai.formats.ofd_seal import verify_signed_value
from lantai.formats.safexml import child, children, descendants, local_name, namespace, parse_xml
from lantai.packages import zipsafe as safezip

OFD_NAMESPACE = "http://www.ofdspec.org/2016"
LEGACY_NAMESPACE = "http://www.ofdspec.org"
ACCEPTED_VERSIONS = frozenset({"1.0", "1.1", "1.2"})
ACCEPTED_DOC_TYPES = frozenset({"OFD", "OFD-A"})
XML_LIMITS = safezip.ZipLimits(max_member_bytes=32 * 1024 * 1024)
CHECK_METHODS = {"sm3": "sm3", "1.2.156.10197.1.401": "sm3", "sha256": "sha256", "sha-256": "sha256",
                 "2.16.840.1.101.3.4.2.1": "sha256", "sha1": "sha1", "sha-1": "sha1", "1.3.14.3.2.26": "sha1",
                 "md5": "md5", "1.2.840.113549.2.5": "md5"}


@dataclass(slots=True)
class SignatureResult:
    id: str
    type: str
    provider: str | None
    check_method: str | None
    references_ok: int = 0
    references_failed: list[dict[str, str]] = field(default_factory=list)
    seal_signature_valid: bool | None = None
    seal: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "type": self.type, "provider": self.provider, "check_method": self.check_method,
                "references_ok": self.references_ok, "references_failed": list(self.references_failed),
                "seal_signature_valid": self.seal_signature_valid, "seal": dict(self.seal)}


@dataclass(slots=True)
class OfdResult:
    valid: bool
    version: str | None
    doc_type: str | None
    page_count: int
    signatures: list[SignatureResult]
    findings: list[Finding]

    def to_dict(self) -> dict[str, Any]:
        return {"valid": self.valid, "version": self.version, "doc_type": self.doc_type,
                "page_count": self.page_count, "signatures": [s.to_dict() for s in self.signatures],
                "findings": [f.to_dict() for f in self.findings]}


class _Stop(Exception):
    """Validation cannot continue (container or OFD.xml unusable); findings say why."""


class _Validator:
    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.findings: list[Finding] = []
        self.version: str | None = None
        self.doc_type: str | None = None
        self.page_count = 0
        self.signatures: list[SignatureResult] = []

    # -- findings ------------------------------------------------------------------------------
    def fail(self, code: str, element: str, variant: str = "", severity: Severity | None = None,
             **params: Any) -> None:
        """Record a finding; its text comes from the check registry (``findings.ofd-N``)."""
        self.findings.append(finding(code, element, variant, severity=severity, **params))

    # -- parts ---------------------------------------------------------------------------------
    def member(self, name: str) -> zipfile.ZipInfo | None:
        return safezip.find_member(self.zf, name)

    def xml(self, name: str, code: str, missing: Severity = Severity.ERROR) -> etree._Element | None:
        """Parse a part. ``missing`` is WARNING for index parts whose absence loses no content."""
        info = self.member(name)
        if info is None:
            self.fail(code, name, "part_missing", missing, part=name)
            return None
        try:
            return parse_xml(safezip.read_member(self.zf, info, XML_LIMITS), name)
        except safezip.ZipEncryptedError:
            self.fail("ofd-7", name, "part", part=name)
        except (safezip.ZipLimitError, UnsafeInput) as exc:
            self.fail(code, name, "part_unsafe", part=name, error=str(exc))
        except (ValueError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            self.fail(code, name, "part_unparsed", part=name, error=str(exc))
        return None

    # -- steps ---------------------------------------------------------------------------------
    def run(self) -> None:
        if self.member("Encryptions.xml") is not None:
            self.fail("ofd-7", "Encryptions.xml", "document")
        documents = parts.document_refs(self.ofd_root())
        if not documents:
            self.fail("ofd-2", "OFD.xml", "no_docbody")
        for ref in documents:
            self.doc_body(ref)

    def ofd_root(self) -> etree._Element:
        root = self.xml("OFD.xml", "ofd-2")
        if root is None:
            raise _Stop
        if local_name(root) != "OFD":
            self.fail("ofd-2", "OFD.xml", "root", root=local_name(root))
            raise _Stop
        ns = namespace(root)
        if ns == LEGACY_NAMESPACE:
            self.fail("ofd-2", "OFD.xml", "legacy_namespace", namespace=ns)
        elif ns != OFD_NAMESPACE:
            self.fail("ofd-2", "OFD.xml", "namespace", namespace=ns or "-")
        self.version, self.doc_type = root.get("Version"), root.get("DocType")
        if not self.version:
            self.fail("ofd-2", "OFD.xml", "no_version")
        elif self.version not in ACCEPTED_VERSIONS:
            self.fail("ofd-2", "OFD.xml", "unknown_version", version=self.version)
        if self.doc_type not in ACCEPTED_DOC_TYPES:
            self.fail("ofd-2", "OFD.xml", "doc_type", doc_type=self.doc_type or "-")
        return root

    def doc_body(self, ref: parts.DocumentRef) -> None:
        if not ref.path:
            self.fail("ofd-3", "OFD.xml", "no_docroot")
            return
        document = self.xml(ref.path, "ofd-3")
        if document is not None:
            self.document(ref.path, document)
        if ref.signatures:
            self.signature_list(ref.signatures)

    def document(self, doc_path: str, document: etree._Element) -> None:
        pages = parts.page_refs(document, doc_path)
        if not pages:
            self.fail("ofd-4", doc_path, "no_pages")
        for res_path in parts.resource_paths(document, doc_path):
            self.resource_file(res_path)
        for template in parts.template_refs(document, doc_path):
            self.part_exists(template.path, "ofd-4", "template page")
        for page in pages:
            self.page(page)
        self.page_count += len(pages)
        for name in ("Annotations", "Attachments", "CustomTags"):
            for ref in children(document, name):
                self.part_exists(parts.relative(doc_path, ref), "ofd-5", name, Severity.WARNING)

    def page(self, ref: parts.PageRef) -> None:
        if not ref.path:
            self.fail("ofd-4", "Document.xml", "no_baseloc", page=ref.id)
            return
        content = self.xml(ref.path, "ofd-4")
        if content is None:
            return
        for res_path in parts.page_resource_paths(content, ref.path):
            self.resource_file(res_path)

    def part_exists(self, path: str, code: str, what: str, severity: Severity = Severity.ERROR) -> None:
        if path and self.member(path) is None:
            self.fail(code, path, "referenced_missing", severity, part=path, what=what)

    def resource_file(self, res_path: str) -> None:
        if not res_path:
            return
        res = self.xml(res_path, "ofd-5", missing=Severity.WARNING)
        if res is None:
            return
        base = parts.resource_base(res, res_path)
        for tag in ("MediaFile", "FontFile", "Thumbnail", "Substitution"):
            for ref in descendants(res, tag):
                target = parts.resolve(base, parts.text(ref))
                if target and self.member(target) is None:
                    self.fail("ofd-5", res_path, "resource_missing", part=target)

    # -- signatures ----------------------------------------------------------------------------
    def signature_list(self, path: str) -> None:
        # A declared but absent list leaves the document unsigned: worth a warning, not a failure.
        listing = self.xml(path, "ofd-6", missing=Severity.WARNING)
        if listing is None:
            return
        for ref in parts.signature_refs(listing, path):
            result = SignatureResult(id=ref.id, type=ref.type, provider=None, check_method=None)
            self.signatures.append(result)
            self.signature(ref.path, result)

    def signature(self, path: str, result: SignatureResult) -> None:
        info = self.member(path) if path else None
        if info is None:
            self.fail("ofd-6", path or "Signatures.xml", "signature_missing", part=path)
            return
        try:
            raw = safezip.read_member(self.zf, info, XML_LIMITS)
            sig = parse_xml(raw, path)
        except (ValueError, UnsafeInput, zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            self.fail("ofd-6", path, "signature_unparsed", part=path, error=str(exc))
            return
        signed_info = child(sig, "SignedInfo")
        provider = child(signed_info, "Provider") if signed_info is not None else None
        result.provider = provider.get("ProviderName") if provider is not None else None
        references = child(signed_info, "References") if signed_info is not None else None
        if references is None:
            self.fail("ofd-6", path, "no_references")
        else:
            self.references(path, references, result)
        self.signed_value(path, sig, raw, result)

    def references(self, path: str, references: etree._Element, result: SignatureResult) -> None:
        method = references.get("CheckMethod") or "SM3"
        result.check_method = method
        algorithm = _check_method(method)
        if algorithm is None:
            self.fail("ofd-6", path, "unsupported_method", method=method)
        elif algorithm in ("sha1", "md5"):
            self.fail("ofd-6", path, "weak_method", method=method)
        for ref in children(references, "Reference"):
            file_ref = ref.get("FileRef") or ""
            reason = self.reference(file_ref, parts.text(child(ref, "CheckValue")), algorithm)
            if reason is None:
                result.references_ok += 1
            else:
                result.references_failed.append({"file": file_ref, "reason": reason})
                self.fail("ofd-6", path, "reference_failed", part=file_ref, reason=reason)

    def reference(self, file_ref: str, check_value: str, algorithm: str | None) -> str | None:
        if algorithm is None:
            return "unsupported"
        info = self.member(parts.resolve("", file_ref))
        if info is None:
            return "missing"
        try:
            expected = base64.b64decode(check_value.strip(), validate=False)
        except (binascii.Error, ValueError):
            return "bad_check_value"
        hasher = hashlib.new(algorithm)
        try:
            for chunk in safezip.iter_member(self.zf, info):
                hasher.update(chunk)
        except (safezip.ZipLimitError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
            return "unreadable"
        return None if hasher.digest() == expected else "mismatch"

    def signed_value(self, path: str, sig: etree._Element, raw: bytes, result: SignatureResult) -> None:
        loc = parts.text(child(sig, "SignedValue"))
        target = parts.signed_value_path(sig, path)
        info = self.member(target) if target else None
        if info is None:
            self.fail("ofd-6", path, "value_missing", part=loc)
            result.seal_signature_valid = False
            return
        try:
            value = safezip.read_member(self.zf, info, XML_LIMITS)
        except (safezip.ZipLimitError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError) as exc:
            self.fail("ofd-6", target, "value_unreadable", error=str(exc))
            result.seal_signature_valid = False
            return
        report = verify_signed_value(value, raw)
        result.seal = report.to_dict()
        ok = report.signature_valid is not False and report.data_hash_ok is not False
        result.seal_signature_valid = None if report.signature_valid is None and ok else ok
        if not ok:
            self.fail("ofd-6", target, "value_invalid", problems="; ".join(report.problems))
        elif report.signature_valid is None:
            self.fail("ofd-6", target, "value_unverified", problems="; ".join(report.problems))


def _check_method(method: str) -> str | None:
    key = method.strip().lower()
    if key in CHECK_METHODS:
        return CHECK_METHODS[key]
    if key.startswith("1.2.156.10197.1.401"):  # vendor sub-arcs of SM3 (e.g. .401.2 in iOFD files)
        return "sm3"
    return None


def validate_ofd(path: str | Path) -> OfdResult:
    """Validate one OFD file. Never raises for bad content: problems become error findings."""
    validator: _Validator | None = None
    try:
        with safezip.open_zip(Path(path)) as zf:
            validator = _Validator(zf)
            with contextlib.suppress(_Stop):
                validator.run()
    except (zipfile.BadZipFile, safezip.ZipLimitError, OSError, EOFError, ValueError, RuntimeError) as exc:
        findings = (validator.findings if validator else []) + [
            finding("ofd-1", str(path), error=str(exc))]
        return OfdResult(False, None, None, 0, validator.signatures if validator else [], findings)
    except Exception as exc:  # last line of defence: a hostile file must not stop a batch
        return OfdResult(False, None, None, 0, [], [
            finding("ofd-1", str(path), "crashed", error=f"{type(exc).__name__}: {exc}")])
    valid = not any(f.is_error for f in validator.findings)
    return OfdResult(valid, validator.version, validator.doc_type, validator.page_count, validator.signatures,
                     validator.findings)
