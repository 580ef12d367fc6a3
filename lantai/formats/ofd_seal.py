"""OFD electronic seals and signatures: ``SignedValue.dat`` per GB/T 38540 (v4) and GM/T 0031 (v1).

No Python library knows these ASN.1 structures, so they are declared here with asn1crypto. Only
the parts a verifier needs are typed strictly (``TBS_Sign``, the signer certificate, the data hash,
the signature); the seal itself (``SESeal``) is kept as raw DER and read best-effort for its name,
because vendors differ in its details and a cosmetic difference must not hide a valid signature.

Verification (STANDARDS §9.4):
1. ``dataHash`` must equal SM3 over the bytes of ``Signature.xml``;
2. the SM2 signature over DER(``TBS_Sign``) must verify with the signer certificate's public key
   (``lantai.crypto.sm2.verify``, default signer ID 1234567812345678).

``Type="Sign"`` signatures carry a CMS ``SignedData`` (GM/T 0010 OID 1.2.156.10197.6.1.4.2.2 or
PKCS#7) instead; its message digest is compared with SM3/SHA-256 of ``Signature.xml`` and the SM2
signature over the signed attributes is verified the same way.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from asn1crypto import cms, core, x509

from lantai.crypto import sm2

SM2_SIGN_OIDS = frozenset({"1.2.156.10197.1.501", "1.2.156.10197.1.301.1"})
DIGEST_OIDS = {"1.2.156.10197.1.401": "sm3", "2.16.840.1.101.3.4.2.1": "sha256", "1.3.14.3.2.26": "sha1"}


# -- ASN.1 declarations --------------------------------------------------------------------------
class TbsSignV4(core.Sequence):
    """GB/T 38540-2020 TBS_Sign."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("version", core.Integer),
        ("eseal", core.Any),
        ("time_info", core.Any),
        ("data_hash", core.OctetBitString),
        ("property_info", core.Any),
        ("ext_datas", core.Any, {"explicit": 0, "optional": True}),
    ]


class SesSignatureV4(core.Sequence):
    """GB/T 38540-2020 SES_Signature."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("to_sign", TbsSignV4),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
        ("signature", core.OctetBitString),
        ("time_stamp", core.Any, {"explicit": 0, "optional": True}),
    ]


class TbsSignV1(core.Sequence):
    """GM/T 0031-2014 TBS_Sign (also written with version 2 by some vendors)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [
        ("version", core.Integer),
        ("eseal", core.Any),
        ("time_info", core.Any),
        ("data_hash", core.OctetBitString),
        ("property_info", core.Any),
        ("cert", core.OctetString),
        ("signature_algorithm", core.ObjectIdentifier),
    ]


class SesSignatureV1(core.Sequence):
    """GM/T 0031-2014 SES_Signature."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [("to_sign", TbsSignV1), ("signature", core.OctetBitString)]


class ContentInfo(core.Sequence):
    """CMS ContentInfo with any content type (GM/T 0010 uses its own OIDs for SignedData)."""

    _fields: ClassVar[list[tuple[Any, ...]]] = [("content_type", core.ObjectIdentifier), ("content", core.Any, {"explicit": 0})]


class SesHeader(core.Sequence):
    _fields: ClassVar[list[tuple[Any, ...]]] = [("id", core.IA5String), ("version", core.Integer), ("vid", core.IA5String)]


# -- results ---------------------------------------------------------------------------------------
@dataclass(slots=True)
class SealReport:
    """What ``SignedValue.dat`` says and whether it holds. ``signature_valid`` None = not checkable."""

    kind: str = "unknown"  # ses_v4 | ses_v1 | cms | unknown
    ses_version: int | None = None
    data_hash_ok: bool | None = None
    signature_valid: bool | None = None
    signature_algorithm: str | None = None
    signer_subject: str | None = None
    seal_name: str | None = None
    seal_id: str | None = None
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def verify_signed_value(signed_value: bytes, signature_xml: bytes) -> SealReport:
    """Parse and verify one ``SignedValue.dat`` against the bytes of its ``Signature.xml``."""
    report = SealReport()
    try:
        first_tag = core.Sequence.load(signed_value, strict=False).contents[:1]
    except Exception as exc:
        report.problems.append(f"SignedValue is not DER: {exc}")
        return report
    try:
        if first_tag == b"\x06":  # SEQUENCE { OID, [0] content }: a CMS ContentInfo
            _verify_cms(signed_value, signature_xml, report)
        else:
            _verify_ses(signed_value, signature_xml, report)
    except Exception as exc:  # hostile DER can break asn1crypto in many ways
        report.problems.append(f"cannot parse SignedValue: {type(exc).__name__}: {exc}")
        report.signature_valid = False if report.signature_valid is None and report.kind != "unknown" else \
            report.signature_valid
    return report


def _verify_ses(data: bytes, signature_xml: bytes, report: SealReport) -> None:
    version = int(core.Sequence.load(core.Sequence.load(data, strict=False)[0].dump())[0].native)
    report.ses_version = version
    if version >= 4:
        report.kind = "ses_v4"
        parsed: Any = SesSignatureV4.load(data, strict=False)
        cert_der, algorithm = parsed["cert"].native, parsed["signature_algorithm"].dotted
    else:
        report.kind = "ses_v1"
        parsed = SesSignatureV1.load(data, strict=False)
        cert_der, algorithm = parsed["to_sign"]["cert"].native, parsed["to_sign"]["signature_algorithm"].dotted
    tbs = parsed["to_sign"]
    report.signature_algorithm = algorithm
    report.data_hash_ok = tbs["data_hash"].native == hashlib.new("sm3", signature_xml).digest()
    if not report.data_hash_ok:
        report.problems.append("dataHash differs from SM3(Signature.xml)")
    _read_seal(tbs["eseal"].dump(), report)
    report.signature_valid = _verify_sm2(cert_der, algorithm, tbs.dump(force=False), parsed["signature"].native,
                                         report)


def _verify_cms(data: bytes, signature_xml: bytes, report: SealReport) -> None:
    report.kind = "cms"
    signed = ContentInfo.load(data, strict=False)["content"].parse(cms.SignedData)
    signer = signed["signer_infos"][0]
    certs = [c.chosen for c in signed["certificates"] if isinstance(c.chosen, x509.Certificate)] \
        if signed["certificates"].native is not None else []
    cert = _signer_certificate(certs, signer)
    digest_oid = signer["digest_algorithm"]["algorithm"].dotted
    algorithm = signer["signature_algorithm"]["algorithm"].dotted
    report.signature_algorithm = algorithm
    expected = None
    signed_attrs = signer["signed_attrs"]
    if signed_attrs.native is not None:
        for attr in signed_attrs:
            if attr["type"].native == "message_digest":
                expected = attr["values"][0].native
    name = DIGEST_OIDS.get(digest_oid)
    if expected is not None and name:
        report.data_hash_ok = hashlib.new(name, signature_xml).digest() == expected
        if not report.data_hash_ok:
            report.problems.append("CMS message digest differs from the digest of Signature.xml")
    if cert is None:
        report.problems.append("CMS carries no signer certificate")
        return
    report.signer_subject = cert.subject.human_friendly
    # Signed attributes are signed as a SET (tag 0x31), not with their [0] IMPLICIT tag.
    message = b"\x31" + signed_attrs.dump()[1:] if signed_attrs.native is not None else signature_xml
    report.signature_valid = _verify_public_key(cert, algorithm, message, signer["signature"].native, report)


def _signer_certificate(certs: list[x509.Certificate], signer: cms.SignerInfo) -> x509.Certificate | None:
    sid = signer["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number" and cert.serial_number == sid.chosen["serial_number"].native:
            return cert
    return certs[0] if certs else None


def _verify_sm2(cert_der: bytes, algorithm: str, message: bytes, signature: bytes, report: SealReport) -> bool | None:
    try:
        cert = x509.Certificate.load(cert_der)
        report.signer_subject = cert.subject.human_friendly
    except Exception as exc:
        report.problems.append(f"signer certificate does not parse: {exc}")
        return False
    return _verify_public_key(cert, algorithm, message, signature, report)


def _verify_public_key(cert: x509.Certificate, algorithm: str, message: bytes, signature: bytes,
                       report: SealReport) -> bool | None:
    if algorithm not in SM2_SIGN_OIDS:
        report.problems.append(f"signature algorithm {algorithm} is not verified here (only SM2-with-SM3)")
        return None
    point = cert["tbs_certificate"]["subject_public_key_info"]["public_key"]
    key = bytes(point.contents)[1:] if isinstance(point, core.BitString) else point.native
    if isinstance(key, tuple):  # asn1crypto may present an ECPoint as (x, y)
        key = b"\x04" + key[0].to_bytes(32, "big") + key[1].to_bytes(32, "big")
    if not isinstance(key, bytes):
        key = bytes(point.contents)
    valid = sm2.verify(key, message, signature)
    if not valid:
        report.problems.append("SM2 signature does not verify with the signer certificate")
    return valid


# -- the seal (SESeal), read loosely -----------------------------------------------------------------
# SESeal → SES_SealInfo (index 0) → header (0), esID (1), property (2, name at 1), picture (3, data at 1),
# in GM/T 0031 (v1) and GB/T 38540 (v4) alike; an SES_Signature holds the SESeal at toSign (0) → eseal (1).
def _element(der: bytes, index: int) -> core.Sequence:
    return core.Sequence.load(core.Sequence.load(der, strict=False)[index].dump(), strict=False)


def seal_info(seal_der: bytes) -> core.Sequence:
    """The SES_SealInfo of an SESeal (``Seal.esl``, or the eseal inside a signature)."""
    return _element(seal_der, 0)


def seal_of_signature(signed_value: bytes) -> bytes:
    """The DER of the SESeal inside an SES_Signature (``SignedValue.dat``)."""
    return _element(_element(signed_value, 0).dump(), 1).dump()


def seal_picture(seal_der: bytes) -> bytes | None:
    """The picture data of an SESeal (PNG, JPEG … or an OFD), for painting; None when unreadable."""
    try:
        picture = core.Sequence.load(seal_info(seal_der)[3].dump(), strict=False)
        data = core.OctetString.load(picture[1].dump()).native
    except Exception:  # asn1crypto raises many kinds of errors on foreign structures
        return None
    return data if isinstance(data, bytes) else None


def _read_seal(seal_der: bytes, report: SealReport) -> None:
    """Seal name and id for the report (SES_SealInfo → header, esID, property.name).

    Failures here are recorded, never fatal: the seal's appearance data is not what we verify.
    """
    try:
        info = seal_info(seal_der)
        header = SesHeader.load(info[0].dump())
        if header["id"].native != "ES":
            report.problems.append("seal header ID is not 'ES'")
        report.seal_id = core.IA5String.load(info[1].dump()).native
        prop = core.Sequence.load(info[2].dump(), strict=False)
        report.seal_name = core.UTF8String.load(prop[1].dump()).native
    except Exception as exc:
        report.problems.append(f"seal (SESeal) details not readable: {type(exc).__name__}")
