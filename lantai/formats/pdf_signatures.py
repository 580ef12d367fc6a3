"""PDF digital signatures: which bytes were signed, by whom, and whether they are unchanged.

For every signature field the signed ``/ByteRange`` is digested in a streaming pass with the
algorithm the CMS names, and compared with the signed ``messageDigest`` attribute; the CMS
signature over the signed attributes is then verified with the signer certificate (RSA and ECDSA
via ``cryptography``, SM2 via ``lantai.crypto.sm2``). No trust chain is built — that needs trust
anchors the archive does not have — so ``status`` speaks about integrity, not identity.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import pikepdf
from asn1crypto import cms, x509

from lantai.crypto import sm2

CHUNK = 1024 * 1024
DIGESTS = {"sha1": "sha1", "sha256": "sha256", "sha384": "sha384", "sha512": "sha512", "md5": "md5",
           "1.2.156.10197.1.401": "sm3", "sm3": "sm3"}


@dataclass(slots=True)
class PdfSignature:
    """``status``: valid | digest_mismatch | signature_invalid | unverified | malformed."""

    field: str
    sub_filter: str | None
    signer: str | None = None
    signing_time: str | None = None
    digest_algorithm: str | None = None
    byte_range: list[int] = field(default_factory=list)
    covers_whole_file: bool = False
    digest_ok: bool | None = None
    signature_ok: bool | None = None
    status: str = "malformed"
    problems: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def find_signatures(pdf: pikepdf.Pdf, path: Path) -> list[PdfSignature]:
    size = path.stat().st_size
    return [_check(name, value, path, size) for name, value in _signature_fields(pdf)]


def _signature_fields(pdf: pikepdf.Pdf) -> list[tuple[str, pikepdf.Dictionary]]:
    form = pdf.Root.get("/AcroForm")
    fields = form.get("/Fields") if isinstance(form, pikepdf.Dictionary) else None
    found: list[tuple[str, pikepdf.Dictionary]] = []
    stack = [(f, "") for f in fields] if isinstance(fields, pikepdf.Array) else []
    visited = 0
    while stack and visited < 10_000:
        node, prefix = stack.pop()
        visited += 1
        if not isinstance(node, pikepdf.Dictionary):
            continue
        name = f"{prefix}.{node.get('/T')}" if prefix else str(node.get("/T", ""))
        value = node.get("/V")
        if str(node.get("/FT")) == "/Sig" and isinstance(value, pikepdf.Dictionary):
            found.append((name, value))
        stack.extend((kid, name) for kid in node.get("/Kids", []) or [])
    return found


def _check(name: str, value: pikepdf.Dictionary, path: Path, size: int) -> PdfSignature:
    sig = PdfSignature(field=name, sub_filter=str(value.get("/SubFilter")) if "/SubFilter" in value else None)
    try:
        byte_range = [int(x) for x in value.get("/ByteRange", [])]
        contents = bytes(value.get("/Contents"))
    except Exception as exc:
        sig.problems.append(f"ByteRange/Contents unreadable: {exc}")
        return sig
    sig.byte_range = byte_range
    if len(byte_range) != 4 or min(byte_range) < 0 or byte_range[2] + byte_range[3] > size:
        sig.problems.append("ByteRange is malformed or points outside the file")
        return sig
    sig.covers_whole_file = byte_range[0] == 0 and byte_range[2] + byte_range[3] == size
    if not sig.covers_whole_file:
        sig.problems.append("the file was changed or extended after this signature (ByteRange does not cover it)")
    try:
        # DER carries its own length and asn1crypto ignores the zero padding after it; stripping zeros
        # would also cut a signature whose last byte is 0x00 (1 in 256) and call it malformed.
        signed = cms.ContentInfo.load(contents)["content"]
        signer = signed["signer_infos"][0]
    except Exception as exc:
        sig.problems.append(f"CMS does not parse: {type(exc).__name__}")
        return sig
    _verify(sig, signed, signer, path, byte_range)
    return sig


def _verify(sig: PdfSignature, signed: cms.SignedData, signer: cms.SignerInfo, path: Path,
            byte_range: list[int]) -> None:
    algorithm = DIGESTS.get(signer["digest_algorithm"]["algorithm"].native) or \
        DIGESTS.get(signer["digest_algorithm"]["algorithm"].dotted)
    sig.digest_algorithm = algorithm
    cert = _certificate(signed, signer)
    sig.signer = cert.subject.human_friendly if cert is not None else None
    attrs = signer["signed_attrs"]
    expected = None
    if attrs.native is not None:
        for attr in attrs:
            if attr["type"].native == "message_digest":
                expected = attr["values"][0].native
            elif attr["type"].native == "signing_time":
                sig.signing_time = str(attr["values"][0].native)
    if algorithm is None or expected is None:
        sig.problems.append("digest algorithm unsupported or no signed messageDigest")
        sig.status = "unverified"
        return
    sig.digest_ok = _digest_ranges(path, byte_range, algorithm) == expected
    if not sig.digest_ok:
        sig.status = "digest_mismatch"
        sig.problems.append("the signed byte range does not match the signed message digest")
        return
    sig.signature_ok = _signature(cert, signer, b"\x31" + attrs.dump()[1:], algorithm, sig)
    sig.status = {True: "valid", False: "signature_invalid", None: "unverified"}[sig.signature_ok]


def _digest_ranges(path: Path, byte_range: list[int], algorithm: str) -> bytes:
    hasher = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for start, length in ((byte_range[0], byte_range[1]), (byte_range[2], byte_range[3])):
            fh.seek(start)
            remaining = length
            while remaining > 0 and (chunk := fh.read(min(CHUNK, remaining))):
                hasher.update(chunk)
                remaining -= len(chunk)
    return hasher.digest()


def _certificate(signed: cms.SignedData, signer: cms.SignerInfo) -> x509.Certificate | None:
    certs = [c.chosen for c in signed["certificates"] or [] if isinstance(c.chosen, x509.Certificate)]
    sid = signer["sid"]
    for cert in certs:
        if sid.name == "issuer_and_serial_number" and cert.serial_number == sid.chosen["serial_number"].native:
            return cert
    return certs[0] if certs else None


def _signature(cert: x509.Certificate | None, signer: cms.SignerInfo, message: bytes, algorithm: str,
               sig: PdfSignature) -> bool | None:
    if cert is None:
        sig.problems.append("no signer certificate in the CMS")
        return None
    signature = signer["signature"].native
    key_algo = cert.public_key.algorithm
    try:
        if algorithm == "sm3" or signer["signature_algorithm"]["algorithm"].dotted.startswith("1.2.156.10197"):
            key = bytes(cert["tbs_certificate"]["subject_public_key_info"]["public_key"].contents)[1:]
            return sm2.verify(key, message, signature)
        from cryptography.exceptions import InvalidSignature
        from cryptography.hazmat.primitives import hashes, serialization
        from cryptography.hazmat.primitives.asymmetric import ec, padding

        public = serialization.load_der_public_key(cert.public_key.dump())
        hash_cls = {"sha1": hashes.SHA1, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
                    "sha512": hashes.SHA512}[algorithm]()
        try:
            if signer["signature_algorithm"]["algorithm"].native == "rsassa_pss":
                sig.problems.append("RSASSA-PSS signatures are not verified here")
                return None
            if key_algo == "rsa":
                public.verify(signature, message, padding.PKCS1v15(), hash_cls)  # type: ignore[union-attr]
            elif key_algo == "ec":
                public.verify(signature, message, ec.ECDSA(hash_cls))  # type: ignore[union-attr,call-arg]
            else:
                sig.problems.append(f"public key algorithm {key_algo} not verified here")
                return None
        except InvalidSignature:
            sig.problems.append("the CMS signature does not verify with the signer certificate")
            return False
        return True
    except Exception as exc:
        sig.problems.append(f"signature not verifiable: {type(exc).__name__}: {exc}")
        return None
