"""The electronic seal of an OFD (GB/T 33190 §18, GB/T 38540): Signs/ parts, and their check.

Signing protects every part outside ``Doc_0/Signs/`` with an SM3 digest (CheckMethod
1.2.156.10197.1.401) listed in ``Signature.xml``; ``SignedValue.dat`` is an SES_Signature whose
dataHash is SM3(Signature.xml), signed with SM2 by the issuing organ; ``Seal.esl`` holds the seal.
:func:`check_references` recomputes the digests, which is what a tampered file breaks.
"""

from __future__ import annotations

import base64
import io
import zipfile
from dataclasses import dataclass
from datetime import datetime
from xml.etree import ElementTree as ET
from xml.sax.saxutils import escape

from lantai.crypto import sm2
from lantai.crypto.digests import new_hash
from lantai.demo import ses
from lantai.demo.ofd import DOC, NS, XML_HEAD, _n

SM3_OID = "1.2.156.10197.1.401"
SIGN_DIR = f"{DOC}/Signs/Sign_0"
SIGNATURE_XML = f"{SIGN_DIR}/Signature.xml"


@dataclass(frozen=True)
class Signer:
    """An issuing organ able to seal: its key, its certificate and its SESeal."""

    organ: str
    keypair: sm2.Sm2KeyPair
    certificate: bytes
    seal: ses.SeSeal


@dataclass(frozen=True)
class StampPlace:
    page_id: int
    x: float
    y: float
    size: float


def _sm3_b64(data: bytes) -> str:
    digest = new_hash("sm3")
    digest.update(data)
    return base64.b64encode(digest.digest()).decode()


def sign_parts(parts: dict[str, bytes], signer: Signer, place: StampPlace, at: datetime) -> dict[str, bytes]:
    """Add Signatures.xml, Signature.xml, SignedValue.dat and Seal.esl to ``parts``."""
    references = "".join(
        f'<ofd:Reference FileRef="/{escape(name)}"><ofd:CheckValue>{_sm3_b64(data)}</ofd:CheckValue></ofd:Reference>'
        for name, data in sorted(parts.items()) if not name.startswith(f"{DOC}/Signs/")
    )
    boundary = f"{_n(place.x)} {_n(place.y)} {_n(place.size)} {_n(place.size)}"
    signature_xml = (
        f'{XML_HEAD}<ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo>'
        f'<ofd:Provider ProviderName="Lantai" Version="1.0" Company="青禾区档案馆（演示）" ProtocolVer="GB/T 38540-2020"/>'
        f"<ofd:SignatureMethod>{sm2.OID_SM2_WITH_SM3}</ofd:SignatureMethod>"
        f"<ofd:SignatureDateTime>{at.strftime('%Y%m%d%H%M%SZ')}</ofd:SignatureDateTime>"
        f'<ofd:References CheckMethod="{SM3_OID}">{references}</ofd:References>'
        f'<ofd:StampAnnot ID="1" PageRef="{place.page_id}" Boundary="{boundary}"/>'
        f"<ofd:Seal><ofd:BaseLoc>/{SIGN_DIR}/Seal.esl</ofd:BaseLoc></ofd:Seal>"
        f"</ofd:SignedInfo><ofd:SignedValue>/{SIGN_DIR}/SignedValue.dat</ofd:SignedValue></ofd:Signature>"
    ).encode()
    signed_value = ses.sign_document(signer.seal, signature_xml, f"/{SIGNATURE_XML}", at, signer.certificate,
                                     signer.keypair)
    signed = dict(parts)
    signed[f"{DOC}/Signs/Signatures.xml"] = (
        f'{XML_HEAD}<ofd:Signatures xmlns:ofd="{NS}"><ofd:MaxSignId>1</ofd:MaxSignId>'
        f'<ofd:Signature ID="1" Type="Seal" BaseLoc="/{SIGNATURE_XML}"/></ofd:Signatures>'
    ).encode()
    signed[SIGNATURE_XML] = signature_xml
    signed[f"{SIGN_DIR}/SignedValue.dat"] = signed_value
    signed[f"{SIGN_DIR}/Seal.esl"] = signer.seal.dump()
    return signed


def check_references(ofd: bytes) -> list[str]:
    """Names of protected parts whose SM3 digest no longer matches (or that are missing)."""
    problems = []
    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        root = ET.fromstring(archive.read(SIGNATURE_XML))
        for reference in root.iter(f"{{{NS}}}Reference"):
            name = reference.get("FileRef", "").lstrip("/")
            expected = (reference.findtext(f"{{{NS}}}CheckValue") or "").strip()
            try:
                actual = _sm3_b64(archive.read(name))
            except KeyError:
                problems.append(name)
                continue
            if actual != expected:
                problems.append(name)
    return problems


def check_signed_value(ofd: bytes) -> bool:
    """SignedValue.dat verifies over Signature.xml with the certificate it carries."""
    with zipfile.ZipFile(io.BytesIO(ofd)) as archive:
        return ses.verify_signature(archive.read(f"{SIGN_DIR}/SignedValue.dat"), archive.read(SIGNATURE_XML))
