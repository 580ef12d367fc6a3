"""X.509 certificates with SM2 keys and SM2-with-SM3 signatures, built and checked with asn1crypto.

Why asn1crypto: ``cryptography`` refuses SM2 keys outright, so Lantai builds and parses the
certificate structures itself and signs the DER ``TBSCertificate`` with :mod:`lantai.crypto.sm2`
(default signer ID ``1234567812345678``, as OpenSSL 3 and GM/T 0015 use for certificates).
RSA certificates (sha256WithRSA and relatives) are accepted for verification only; their
signatures are checked with ``cryptography``.

This module has no file I/O; :mod:`lantai.crypto.keystore` decides where keys and certificates
live. Chain checks (:func:`validate_certificate`) return findings and raise nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asn1crypto import keys, pem, x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.serialization import load_der_public_key

from lantai.checks.registry import finding
from lantai.crypto import sm2
from lantai.domain.findings import Finding
from lantai.errors import BadInput

keys.NamedCurve.register("sm2p256v1", sm2.OID_SM2_CURVE, 32)

RULE = "certificate"
RSA_SIGNATURE_HASHES = {
    "1.2.840.113549.1.1.11": hashes.SHA256,
    "1.2.840.113549.1.1.12": hashes.SHA384,
    "1.2.840.113549.1.1.13": hashes.SHA512,
}
MAX_CHAIN_DEPTH = 8


@dataclass(frozen=True)
class CertificateAuthority:
    """A CA certificate (DER) together with its SM2 key pair, able to issue certificates."""

    certificate: bytes
    keypair: sm2.Sm2KeyPair


@dataclass(frozen=True)
class CertificateInfo:
    """What people and JSON output need to know about a certificate."""

    subject: str
    issuer: str
    common_name: str
    serial: str
    not_before: datetime
    not_after: datetime
    key_algorithm: str
    signature_algorithm: str
    is_ca: bool
    fingerprint_sm3: str

    def to_dict(self) -> dict[str, object]:
        data = dict(self.__dict__)
        data["not_before"] = self.not_before.isoformat()
        data["not_after"] = self.not_after.isoformat()
        return data


# --- building -------------------------------------------------------------------------------------


def create_local_ca(
    common_name: str, organization: str, keypair: sm2.Sm2KeyPair | None = None, *, valid_years: int = 20
) -> CertificateAuthority:
    """A self-signed SM2 root CA for one archive (basicConstraints CA, keyCertSign + cRLSign)."""
    keypair = keypair or sm2.generate_keypair()
    name = _name(common_name, organization)
    tbs = _tbs(name, name, keypair.public_key, keypair.public_key, timedelta(days=365 * valid_years), ca=True)
    return CertificateAuthority(_sign_tbs(tbs, keypair), keypair)


def issue_certificate(
    ca: CertificateAuthority,
    subject_cn: str,
    keypair: sm2.Sm2KeyPair,
    *,
    organization: str | None = None,
    valid_days: int = 365 * 10,
) -> bytes:
    """An end-entity SM2 signing certificate (digitalSignature + nonRepudiation) issued by ``ca``."""
    issuer = x509.Certificate.load(ca.certificate)
    org = organization or issuer.subject.native.get("organization_name", subject_cn)
    subject = _name(subject_cn, org)
    tbs = _tbs(
        subject,
        issuer.subject,
        keypair.public_key,
        ca.keypair.public_key,
        timedelta(days=valid_days),
        ca=False,
    )
    return _sign_tbs(tbs, ca.keypair)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name.build(
        {"country_name": "CN", "organization_name": organization, "common_name": common_name}
    )


def _tbs(
    subject: x509.Name,
    issuer: x509.Name,
    public_key: bytes,
    issuer_public_key: bytes,
    lifetime: timedelta,
    *,
    ca: bool,
) -> x509.TbsCertificate:
    now = datetime.now(UTC).replace(microsecond=0)
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    extensions = [
        {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
        {"extn_id": "key_usage", "critical": True, "extn_value": usage},
        {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(public_key)},
        {
            "extn_id": "authority_key_identifier",
            "critical": False,
            "extn_value": {"key_identifier": _key_id(issuer_public_key)},
        },
    ]
    return x509.TbsCertificate(
        {
            "version": "v3",
            "serial_number": secrets.randbits(127) + 1,
            "signature": {"algorithm": sm2.OID_SM2_WITH_SM3},
            "issuer": issuer,
            "validity": {"not_before": _time(now - timedelta(minutes=5)), "not_after": _time(now + lifetime)},
            "subject": subject,
            "subject_public_key_info": sm2_public_key_info(public_key),
            "extensions": extensions,
        }
    )


def _time(moment: datetime) -> x509.Time:
    return x509.Time({"utc_time" if moment.year < 2050 else "general_time": moment})


def _key_id(public_key: bytes) -> bytes:
    return hashlib.sha1(public_key, usedforsecurity=False).digest()  # RFC 5280 §4.2.1.2 method (1)


def sm2_public_key_info(public_key: bytes) -> keys.PublicKeyInfo:
    return keys.PublicKeyInfo(
        {
            "algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value="sm2p256v1"),
            },
            "public_key": sm2.normalize_public_key(public_key),
        }
    )


def _sign_tbs(tbs: x509.TbsCertificate, keypair: sm2.Sm2KeyPair) -> bytes:
    signature = sm2.sign(keypair.private_key, keypair.public_key, tbs.dump())
    cert = x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": {"algorithm": sm2.OID_SM2_WITH_SM3},
            "signature_value": signature,
        }
    )
    return cert.dump()


# --- private keys (PKCS#8, readable by OpenSSL) -------------------------------------------------


def encode_private_key(keypair: sm2.Sm2KeyPair) -> bytes:
    """PEM ``PRIVATE KEY`` (PKCS#8 wrapping an RFC 5915 ECPrivateKey on the SM2 curve)."""
    ec_key = keys.ECPrivateKey(
        {
            "version": "ecPrivkeyVer1",
            "private_key": int.from_bytes(keypair.private_key, "big"),
            "public_key": keypair.public_key,
        }
    )
    ec_key["private_key"].set_encoded_width(32)
    info = keys.PrivateKeyInfo(
        {
            "version": 0,
            "private_key_algorithm": {
                "algorithm": "ec",
                "parameters": keys.ECDomainParameters(name="named", value="sm2p256v1"),
            },
            "private_key": ec_key,
        }
    )
    return pem.armor("PRIVATE KEY", info.dump())


def decode_private_key(data: bytes) -> sm2.Sm2KeyPair:
    """Inverse of :func:`encode_private_key`; raises BadInput for anything that is not an SM2 key."""
    try:
        der = pem.unarmor(data)[2] if pem.detect(data) else data
        info = keys.PrivateKeyInfo.load(der)
        if info["private_key_algorithm"]["parameters"].chosen.dotted != sm2.OID_SM2_CURVE:
            raise ValueError("not an SM2 key")
        ec_key = info["private_key"].parsed
        keypair = sm2.Sm2KeyPair(
            ec_key["private_key"].native.to_bytes(32, "big"),
            sm2.normalize_public_key(ec_key["public_key"].native),
        )
    except Exception as exc:  # asn1crypto and int conversions raise several types
        raise BadInput("无法读取 SM2 私钥文件", "cannot read SM2 private key") from exc
    return keypair


# --- parsing ----------------------------------------------------------------------------------------


def load_certificate(data: bytes) -> x509.Certificate:
    """Parse a PEM or DER certificate; BadInput when it is neither."""
    try:
        der = pem.unarmor(data)[2] if pem.detect(data) else bytes(data)
        cert = x509.Certificate.load(der, strict=True)
        _ = cert.native  # force full parse now, not at first use
    except Exception as exc:  # asn1crypto raises ValueError, TypeError, OverflowError …
        raise BadInput("证书格式无效（既不是 PEM 也不是 DER）", "not a PEM or DER X.509 certificate") from exc
    return cert


def certificate_to_pem(cert_der: bytes) -> bytes:
    return pem.armor("CERTIFICATE", cert_der)


def describe_certificate(cert: x509.Certificate) -> CertificateInfo:
    return CertificateInfo(
        subject=cert.subject.human_friendly,
        issuer=cert.issuer.human_friendly,
        common_name=str(cert.subject.native.get("common_name", cert.subject.human_friendly)),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before,
        not_after=cert.not_valid_after,
        key_algorithm="SM2" if is_sm2_key(cert) else cert.public_key.algorithm.upper(),
        signature_algorithm=cert["signature_algorithm"]["algorithm"].dotted,
        is_ca=bool(cert.ca),
        fingerprint_sm3=hashlib.new("sm3", cert.dump()).hexdigest(),
    )


def is_sm2_key(cert: x509.Certificate) -> bool:
    algorithm = cert.public_key["algorithm"]
    if algorithm["algorithm"].native != "ec":
        return algorithm["algorithm"].dotted == sm2.OID_SM2_CURVE
    return algorithm["parameters"].chosen.dotted == sm2.OID_SM2_CURVE


# --- signatures -----------------------------------------------------------------------------------


def verify_with_certificate(
    cert: x509.Certificate, algorithm_oid: str, message: bytes, signature: bytes
) -> bool:
    """Check ``signature`` over ``message`` with the certificate's key; never raises.

    SM2-with-SM3 (default signer ID) for SM2 keys; PKCS#1 v1.5 with SHA-256/384/512 for RSA keys.
    """
    try:
        if algorithm_oid == sm2.OID_SM2_WITH_SM3:
            return is_sm2_key(cert) and sm2.verify(cert.public_key["public_key"].native, message, signature)
        hash_cls = RSA_SIGNATURE_HASHES.get(algorithm_oid)
        if hash_cls is None or cert.public_key.algorithm != "rsa":
            return False
        key = load_der_public_key(cert.public_key.dump())
        assert isinstance(key, rsa.RSAPublicKey)
        key.verify(signature, message, padding.PKCS1v15(), hash_cls())
        return True
    except (InvalidSignature, ValueError, TypeError, AssertionError):
        return False


def is_signed_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s key verifies ``cert``'s signature over its TBSCertificate."""
    algorithm = cert["signature_algorithm"]["algorithm"].dotted
    return verify_with_certificate(
        issuer, algorithm, cert["tbs_certificate"].dump(), cert["signature_value"].native
    )


# --- validation -----------------------------------------------------------------------------------


def check_validity(cert: x509.Certificate, at: datetime | None = None) -> list[Finding]:
    at = at or datetime.now(UTC)
    subject = cert.subject.human_friendly
    if at < cert.not_valid_before:
        return [
            finding("cert-not-yet-valid", subject, date=f"{cert.not_valid_before:%Y-%m-%d}")
        ]
    if at > cert.not_valid_after:
        return [finding("cert-expired", subject, date=f"{cert.not_valid_after:%Y-%m-%d}")]
    return []


def validate_certificate(
    cert: x509.Certificate,
    trusted: Iterable[x509.Certificate],
    intermediates: Iterable[x509.Certificate] = (),
    at: datetime | None = None,
) -> list[Finding]:
    """Validity of every certificate on the path and a chain of valid signatures to a trusted CA."""
    trusted_list = list(trusted)
    pool = trusted_list + list(intermediates)
    findings = check_validity(cert, at)
    current = cert
    for _ in range(MAX_CHAIN_DEPTH):
        if any(current.dump() == t.dump() for t in trusted_list):
            return findings
        issuer = _find_issuer(current, pool)
        if issuer is None or issuer.dump() == current.dump():  # no issuer, or self-signed but not trusted
            return [*findings, _no_trusted_issuer(cert, current, pool)]
        if not issuer.ca:
            findings.append(
                finding("cert-issuer-not-ca", issuer.subject.human_friendly)
            )
        findings += check_validity(issuer, at)
        current = issuer
    return [*findings, finding("cert-chain-too-long", cert.subject.human_friendly, limit=MAX_CHAIN_DEPTH)]


def _find_issuer(cert: x509.Certificate, pool: list[x509.Certificate]) -> x509.Certificate | None:
    for candidate in pool:
        if candidate.subject == cert.issuer and is_signed_by(cert, candidate):
            return candidate
    return None


def _no_trusted_issuer(
    cert: x509.Certificate, last: x509.Certificate, pool: list[x509.Certificate]
) -> Finding:
    """Tell a forged or altered certificate (issuer known, signature wrong) from an unknown issuer."""
    named_issuers = [c for c in [*pool, last] if c.subject == last.issuer]
    if named_issuers and not any(is_signed_by(last, c) for c in named_issuers):
        return finding("cert-signature", last.subject.human_friendly, issuer=last.issuer.human_friendly)
    return finding("cert-untrusted", cert.subject.human_friendly, issuer=last.issuer.human_friendly)
