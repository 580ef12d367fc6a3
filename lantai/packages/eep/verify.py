"""Verify a DA/T 48 EEP: structure, IDs, data, signatures, certificates and the 修改型 chain.

Returns findings (rule / element / Chinese message / code) and raises nothing for a bad
package: a verifier that stops at the first problem hides the others. The signature rule it
checks is the one :mod:`.writer` documents (SM2 over SM3 of the exclusive C14N of 被签名对象).
Certificates are judged at the 签名时间 they sign for, so an archived package stays verifiable
after its certificate expires; trust comes from the key store's trusted CAs.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections import Counter
from dataclasses import replace
from datetime import datetime
from pathlib import Path

from lxml import etree

from lantai.checks.registry import finding
from lantai.crypto import certs, sm2
from lantai.crypto.keystore import Keystore
from lantai.domain.clock import BEIJING
from lantai.domain.findings import Finding
from lantai.domain.metadata import record_from_element
from lantai.errors import LantaiError
from lantai.packages.eep import names as n
from lantai.packages.eep.reader import ParsedPackage, element_path, parse_package
from lantai.packages.eep.sip_io import declared_size
from lantai.packages.eep.structure import check_structure

_NCNAME = re.compile(r"^[^\W\d][\w.\-]*$")
KNOWN_ALGORITHMS = {sm2.OID_SM2_WITH_SM3, *certs.RSA_SIGNATURE_HASHES}


def verify_eep(path: Path, keystore: Keystore | None) -> list[Finding]:
    """Parse ``path`` in one streaming pass and check everything; [] means the package is sound."""
    return verify_parsed(parse_package(path), keystore)


def verify_parsed(package: ParsedPackage, keystore: Keystore | None) -> list[Finding]:
    findings = list(package.findings)
    root = package.root
    if root is None or findings:
        return findings
    findings += check_structure(root)
    findings += _check_records(root)
    findings += _check_headers(root)
    findings += _check_ids(root)
    findings += _check_data(package)
    findings += _check_signatures(package, keystore)
    return findings


# --- headers ------------------------------------------------------------------------------------


def _check_headers(root: etree._Element) -> list[Finding]:
    findings: list[Finding] = []
    version = _text(root, "版本")
    if version != n.EEP_VERSION:
        findings.append(_f("eep-version", "电子文件封装包/版本", "wrong", expected=n.EEP_VERSION, found=version))
    for depth, signed in enumerate(_signed_objects(root)):
        findings += _check_signed_header(
            signed, version, revision_expected=len(_signed_objects(root)) - 1 - depth
        )
    return findings


def _signed_objects(root: etree._Element) -> list[etree._Element]:
    """被签名对象 from the newest (the root's) down to the original, following 原封装包."""
    chain = []
    current = _child(root, "被签名对象")
    while current is not None:
        chain.append(current)
        original = _child(_child(current, "修改封装内容"), "原封装包")
        current = _child(original, "被签名对象")
    return chain


def _check_signed_header(
    signed: etree._Element, version: str | None, revision_expected: int
) -> list[Finding]:
    path = element_path(signed)
    findings = []
    if signed.get("eep版本") != version:
        findings.append(
            _f("eep-version", path, "inconsistent", attribute=signed.get("eep版本"), version=version)
        )
    kind = _text(signed, "封装包类型")
    if kind not in n.TYPE_DESCRIPTIONS:
        return [*findings, _f("eep-type", path, "invalid", kind=kind)]
    if _text(signed, "封装包类型描述") != n.TYPE_DESCRIPTIONS[kind]:
        findings.append(_f("eep-type", path, "description"))
    body = "封装内容" if kind == n.TYPE_ORIGINAL else "修改封装内容"
    if _child(signed, body) is None:
        findings.append(_f("eep-type", path, "body", kind=kind, body=body))
    if (kind == n.TYPE_ORIGINAL) != (revision_expected == 0):
        findings.append(_f("eep-chain", path, kind=kind))
    if not _is_datetime(_text(signed, "封装包创建时间")):
        findings.append(_f("eep-datetime", path + "/封装包创建时间"))
    return findings


def _check_records(root: etree._Element) -> list[Finding]:
    """Element names and order inside each 文件实体, as the DA/T 46 model reads them."""
    findings = []
    for record in root.iter(n.q("文件实体")):
        try:
            notes = record_from_element(record).parse_notes
        except LantaiError as exc:
            findings.append(_f("eep-record", element_path(record), "unparsed", detail=exc.message_zh, detail_en=exc.message_en))
            continue
        findings += [
            _f("eep-record", f"{element_path(record)}/{where}", kind if kind in _NOTES else "other", note=kind)
            for kind, where in notes
        ]
    return findings


_NOTES = frozenset({"unknown", "repeated", "order"})  # variants of eep-record in the registry


# --- identifiers ----------------------------------------------------------------------------------


def _check_ids(root: etree._Element) -> list[Finding]:
    ids: Counter[str] = Counter()
    findings: list[Finding] = []
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        values = [element.get(a) for a in n.ID_ATTRIBUTES if element.get(a) is not None]
        if n.local(element.tag) in n.ID_ELEMENTS:
            values.append((element.text or "").strip())
        for value in values:
            ids[value] += 1
            if not _NCNAME.match(value or ""):
                findings.append(
                    _f("eep-id-invalid", element_path(element), value=value)
                )
    findings += [
        _f("eep-id-duplicate", "电子文件封装包", value=v, count=c)
        for v, c in ids.items()
        if c > 1
    ]
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        refs = [element.get(a) for a in n.IDREF_ATTRIBUTES if element.get(a) is not None]
        if n.local(element.tag) in n.IDREF_ELEMENTS:
            refs.append((element.text or "").strip())
        findings += [
            _f("eep-idref", element_path(element), "missing", ref=ref)
            for ref in refs
            if ref not in ids
        ]
    return findings


# --- data -------------------------------------------------------------------------------------------


def _check_data(package: ParsedPackage) -> list[Finding]:
    findings: list[Finding] = []
    by_id = {record.element.get("编码数据ID"): record for record in package.data.values()}
    for record in package.data.values():
        element = record.element
        path = element_path(element)
        if record.error:
            findings.append(_f("eep-base64", path, record.error, missing=record.missing))
            continue
        reference = element.get("引用编码数据ID")
        if reference is not None:
            target = by_id.get(reference)
            if record.has_text:
                findings.append(_f("eep-data", path, "both"))
            elif target is not None and target.element.get("引用编码数据ID") is not None:
                findings.append(
                    _f("eep-idref", path, "chained", ref=reference)
                )
            record = target or record
        size = declared_size(element.getparent()) if element.getparent() is not None else None
        if reference is None and not record.has_text and size != 0:
            findings.append(_f("eep-data", path, "empty"))
            continue
        if size is not None and size != record.size and not record.error:
            findings.append(_f("eep-size", path, decoded=record.size, declared=size))
    return findings


# --- signatures ------------------------------------------------------------------------------------


def _check_signatures(package: ParsedPackage, keystore: Keystore | None) -> list[Finding]:
    root = package.root
    assert root is not None
    findings: list[Finding] = []
    block, lock = _child(root, "电子签名块"), _child(root, "锁定签名")
    if block is None or lock is None:
        return [_f("eep-signature-missing", "电子文件封装包", "package")]
    for signed in _signed_objects(root):
        holder = signed.getparent()
        signatures = _child(holder, "电子签名块") if holder is not root else block
        if signatures is None:
            findings.append(_f("eep-signature-missing", element_path(signed), "original"))
            continue
        for signature in signatures:
            if isinstance(signature.tag, str) and n.local(signature.tag) == "电子签名":
                findings += _check_one(signature, package.digests.get(signed), keystore)
    target = _locked_signature(block, _text(lock, "被锁定签名标识符"))
    if target is None:
        findings.append(_f("eep-lock", element_path(lock)))
    else:
        findings += _check_one(lock, package.digests.get(target), keystore)
    return findings


def _locked_signature(block: etree._Element, identifier: str | None) -> etree._Element | None:
    for signature in block:
        if isinstance(signature.tag, str) and _text(signature, "签名标识符") == identifier:
            return signature
    return None


def _check_one(signature: etree._Element, digest: bytes | None, keystore: Keystore | None) -> list[Finding]:
    path = element_path(signature)
    algorithm = _text(signature, "签名算法标识")
    if algorithm not in KNOWN_ALGORITHMS:
        return [_f("eep-signature-algorithm", path, algorithm=algorithm)]
    chain = [_b64(c.text) for c in signature.iter(n.q("证书"))]
    try:
        signer = certs.load_certificate(chain[0] or b"") if chain else None
    except Exception:  # BadInput from asn1crypto parsing
        signer = None
    if signer is None:
        return [_f("eep-certificate", path)]
    value = _b64(_text(signature, "签名结果"))
    if digest is None or value is None or not certs.verify_with_certificate(signer, algorithm, digest, value):
        return [
            _f("eep-signature", path,
               signer=signer.subject.native.get("common_name", signer.subject.human_friendly))
        ]
    if keystore is None:
        return []
    extras = [certs.load_certificate(c) for c in chain[1:] if c]
    at = _datetime(_text(signature, "签名时间"))
    trusted = keystore.trusted_certificates()
    return [
        replace(f, element=path + "/证书块")
        for f in certs.validate_certificate(signer, trusted, [*keystore.agency_certificates(), *extras], at)
    ]


# --- helpers --------------------------------------------------------------------------------------


def _child(element: etree._Element | None, name: str) -> etree._Element | None:
    if element is None:
        return None
    for child in element:
        if isinstance(child.tag, str) and n.local(child.tag) == name:
            return child
    return None


def _text(element: etree._Element | None, name: str) -> str | None:
    child = _child(element, name)
    return (child.text or "").strip() if child is not None else None


def _b64(text: str | None) -> bytes | None:
    try:
        return base64.b64decode("".join((text or "").split()), validate=True) if text else None
    except (binascii.Error, ValueError):
        return None


def _is_datetime(text: str | None) -> bool:
    return _datetime(text) is not None


def _datetime(text: str | None) -> datetime | None:
    try:
        value = datetime.fromisoformat(text or "")
    except ValueError:
        return None
    return value if value.tzinfo else value.replace(tzinfo=BEIJING)  # xs:dateTime without zone: local time


def _f(code: str, element: str, variant: str = "", /, **params: object) -> Finding:
    """A finding of this verifier; its rule, severity and text come from the check registry."""
    return finding(code, element, variant, **params)
