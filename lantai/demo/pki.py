"""The demo's keys and certificates: a seal-making CA and one SM2 key + certificate per organ.

Keys are generated at generation time (never shipped in the repository). Certificates are
back-dated to the start of the generated year: :func:`lantai.crypto.certs.issue_certificate`
starts validity *now*, and a seal applied in 2025 with a certificate valid only from today would
rightly fail a 固化信息 check. The structure is the same as ``certs`` builds (SM2-with-SM3 X.509
v3, basicConstraints, keyUsage, key identifiers), only the validity window is chosen here.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509

from lantai.crypto import sm2
from lantai.crypto.certs import sm2_public_key_info
from lantai.demo import district, seal, ses
from lantai.demo.ofd_sign import Signer

CA_NAME = "青禾区电子印章演示CA"
CA_ORG = "青禾区档案馆（演示）"
SEAL_SIZE_MM = 42


@dataclass(frozen=True)
class SignerMaterial:
    """What a worker process needs to seal for one organ (plain bytes: cheap to pickle)."""

    organ_code: str
    private_key: bytes
    public_key: bytes
    certificate: bytes
    seal: bytes  # DER SESeal

    def signer(self, organ_name: str) -> Signer:
        keypair = sm2.Sm2KeyPair(self.private_key, self.public_key)
        return Signer(organ_name, keypair, self.certificate, ses.SeSeal.load(self.seal))


@dataclass(frozen=True)
class DemoPki:
    ca_certificate: bytes
    signers: dict[str, SignerMaterial]


def build_pki(year: int) -> DemoPki:
    """A CA valid from ``year`` for 20 years, and a sealed signer for every organ of the district."""
    start = datetime(year, 1, 1, tzinfo=UTC)
    ca_keys = sm2.generate_keypair()
    ca_name = _name(CA_NAME, CA_ORG)
    ca_cert = _certificate(ca_name, ca_name, ca_keys.public_key, ca_keys, start, start.replace(year=year + 20), ca=True)
    signers = {}
    for organ in district.ORGANS:
        keys = sm2.generate_keypair()
        end = start.replace(year=year + 10)
        cert = _certificate(_name(organ.name, organ.name), ca_name, keys.public_key, ca_keys, start, end, ca=False)
        seal_obj = ses.make_seal(es_id=f"{organ.code}-{year}", name=organ.name, signer_cert=cert,
                                 picture_png=seal.seal_png(organ.name), size_mm=SEAL_SIZE_MM, valid_start=start,
                                 valid_end=end, maker_cert=ca_cert, maker_keypair=ca_keys)
        signers[organ.code] = SignerMaterial(organ.code, keys.private_key, keys.public_key, cert, seal_obj.dump())
    return DemoPki(ca_cert, signers)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name.build({"country_name": "CN", "organization_name": organization, "common_name": common_name})


def _key_id(public_key: bytes) -> bytes:
    return hashlib.sha1(sm2.normalize_public_key(public_key), usedforsecurity=False).digest()


def _certificate(subject: x509.Name, issuer: x509.Name, public_key: bytes, issuer_keys: sm2.Sm2KeyPair,
                 not_before: datetime, not_after: datetime, *, ca: bool) -> bytes:
    usage = {"key_cert_sign", "crl_sign"} if ca else {"digital_signature", "non_repudiation"}
    tbs = x509.TbsCertificate({
        "version": "v3",
        "serial_number": secrets.randbits(127) + 1,
        "signature": {"algorithm": sm2.OID_SM2_WITH_SM3},
        "issuer": issuer,
        "validity": {"not_before": x509.Time({"utc_time": not_before}),
                     "not_after": x509.Time({"utc_time": not_after})},
        "subject": subject,
        "subject_public_key_info": sm2_public_key_info(public_key),
        "extensions": [
            {"extn_id": "basic_constraints", "critical": True, "extn_value": {"ca": ca}},
            {"extn_id": "key_usage", "critical": True, "extn_value": usage},
            {"extn_id": "key_identifier", "critical": False, "extn_value": _key_id(public_key)},
            {"extn_id": "authority_key_identifier", "critical": False,
             "extn_value": {"key_identifier": _key_id(issuer_keys.public_key)}},
        ],
    })
    signature = ses.sm2_sign(issuer_keys, tbs.dump())
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": {"algorithm": sm2.OID_SM2_WITH_SM3},
                             "signature_value": signature}).dump()
