"""SM2 certificates and the key store: building, parsing, chains, trust, RSA interoperability."""

from __future__ import annotations

import shutil
import stat
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from asn1crypto import x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

from lantai.crypto import certs, keystore, sm2
from lantai.errors import BadInput

ARCHIVE = "测试市档案馆"


@pytest.fixture()
def store(tmp_path: Path) -> keystore.Keystore:
    return keystore.init_keystore(tmp_path / "keys", ARCHIVE)


def _codes(findings: list) -> set[str]:
    return {f.code for f in findings}


def test_init_creates_layout_with_private_keys_0600(store: keystore.Keystore) -> None:
    d = store.directory
    for name in ("ca.key", "signing.key"):
        assert stat.S_IMODE((d / name).stat().st_mode) == 0o600
    assert stat.S_IMODE(d.stat().st_mode) == 0o700
    assert (d / "ca.pem").read_bytes().startswith(b"-----BEGIN CERTIFICATE-----")
    assert len(list((d / "trusted").glob("*.pem"))) == 1
    assert (d / "agencies").is_dir()


def test_init_is_idempotent(store: keystore.Keystore) -> None:
    before = store.signing_certificate(), store.signing_key()
    again = keystore.init_keystore(store.directory, ARCHIVE)
    assert (again.signing_certificate(), again.signing_key()) == before
    assert len(list((store.directory / "trusted").glob("*.pem"))) == 1


def test_init_completes_a_half_written_store(store: keystore.Keystore) -> None:
    key = store.signing_key()
    (store.directory / "signing.pem").unlink()
    again = keystore.init_keystore(store.directory, ARCHIVE)
    assert again.signing_key() == key
    assert again.verify_certificate(again.signing_certificate()) == []


def test_signing_certificate_is_sm2_and_chains_to_local_ca(store: keystore.Keystore) -> None:
    cert = certs.load_certificate(store.signing_certificate())
    info = certs.describe_certificate(cert)
    assert info.key_algorithm == "SM2" and info.signature_algorithm == sm2.OID_SM2_WITH_SM3
    assert ARCHIVE in info.subject and not info.is_ca
    assert cert.public_key["public_key"].native == store.signing_key().public_key
    assert store.verify_certificate(store.signing_certificate()) == []


@pytest.mark.skipif(shutil.which("openssl") is None, reason="openssl CLI absent")
def test_openssl_accepts_our_certificates_and_keys(store: keystore.Keystore) -> None:
    d = store.directory
    result = subprocess.run(
        [
            "openssl",
            "verify",
            "-vfyopt",
            "distid:1234567812345678",
            "-CAfile",
            d / "ca.pem",
            d / "signing.pem",
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    key_text = subprocess.run(
        ["openssl", "pkey", "-in", d / "signing.key", "-noout", "-text"], capture_output=True
    )
    assert key_text.returncode == 0 and b"SM2" in key_text.stdout


def test_private_key_pem_round_trip() -> None:
    keypair = sm2.generate_keypair()
    assert certs.decode_private_key(certs.encode_private_key(keypair)) == keypair
    with pytest.raises(BadInput):
        certs.decode_private_key(b"-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")


def test_validity_window(store: keystore.Keystore) -> None:
    cert = store.signing_certificate()
    assert "cert-expired" in _codes(
        store.verify_certificate(cert, at=datetime.now(UTC) + timedelta(days=365 * 11))
    )
    assert "cert-not-yet-valid" in _codes(
        store.verify_certificate(cert, at=datetime.now(UTC) - timedelta(days=1))
    )


def test_foreign_ca_is_untrusted_until_trusted(store: keystore.Keystore, tmp_path: Path) -> None:
    other_ca = certs.create_local_ca("某县档案馆 本地根CA", "某县档案馆")
    leaf = certs.issue_certificate(other_ca, "某县人民政府办公室", sm2.generate_keypair())
    assert _codes(store.verify_certificate(leaf)) == {"cert-untrusted"}
    ca_file = tmp_path / "other-ca.pem"
    ca_file.write_bytes(certs.certificate_to_pem(other_ca.certificate))
    info = store.trust_ca(ca_file)
    assert info.is_ca
    assert store.verify_certificate(leaf) == []


def test_trust_ca_refuses_end_entity_certificate(store: keystore.Keystore, tmp_path: Path) -> None:
    leaf_file = tmp_path / "leaf.pem"
    leaf_file.write_bytes(certs.certificate_to_pem(store.signing_certificate()))
    with pytest.raises(BadInput):
        store.trust_ca(leaf_file)


def test_import_certificate_is_idempotent_and_listed(store: keystore.Keystore, tmp_path: Path) -> None:
    agency = certs.issue_certificate(store.certificate_authority(), "某局办公室", sm2.generate_keypair())
    path = tmp_path / "agency.der"
    path.write_bytes(agency)
    store.import_certificate(path)
    store.import_certificate(path)
    roles = [row["role"] for row in store.list_certificates()]
    assert roles.count("agency") == 1 and roles.count("signing") == 1


def test_import_rejects_garbage(store: keystore.Keystore, tmp_path: Path) -> None:
    path = tmp_path / "junk.pem"
    path.write_bytes(b"not a certificate")
    with pytest.raises(BadInput):
        store.import_certificate(path)
    assert _codes(store.verify_certificate(b"\x30\x03\x02\x01\x01")) == {"cert-malformed"}


def test_altered_certificate_fails_signature(store: keystore.Keystore) -> None:
    cert = x509.Certificate.load(store.signing_certificate())
    tbs = cert["tbs_certificate"]
    tbs["serial_number"] = tbs["serial_number"].native + 1
    forged = x509.Certificate(
        {
            "tbs_certificate": tbs,
            "signature_algorithm": cert["signature_algorithm"],
            "signature_value": cert["signature_value"],
        }
    ).dump(force=True)
    assert _codes(store.verify_certificate(forged)) == {"cert-signature"}


def test_certificate_signed_by_wrong_key_fails(store: keystore.Keystore) -> None:
    impostor = certs.CertificateAuthority(store.certificate_authority().certificate, sm2.generate_keypair())
    forged = certs.issue_certificate(impostor, "伪造证书", sm2.generate_keypair())
    assert _codes(store.verify_certificate(forged)) == {"cert-signature"}


def _rsa_cert(
    subject: str, key: rsa.RSAPrivateKey, issuer: str, issuer_key: rsa.RSAPrivateKey, ca: bool
) -> bytes:
    now = datetime.now(UTC)
    builder = (
        cx509.CertificateBuilder()
        .subject_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, subject)]))
        .issuer_name(cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, issuer)]))
        .public_key(key.public_key())
        .serial_number(cx509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(cx509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    return builder.sign(issuer_key, hashes.SHA256()).public_bytes(serialization.Encoding.DER)


def test_rsa_sha256_chain_and_signature(store: keystore.Keystore, tmp_path: Path) -> None:
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_der = _rsa_cert("RSA 根CA", ca_key, "RSA 根CA", ca_key, ca=True)
    leaf_der = _rsa_cert("RSA 机构", leaf_key, "RSA 根CA", ca_key, ca=False)
    assert _codes(store.verify_certificate(leaf_der)) == {"cert-untrusted"}
    (tmp_path / "rsa-ca.der").write_bytes(ca_der)
    store.trust_ca(tmp_path / "rsa-ca.der")
    assert store.verify_certificate(leaf_der) == []
    leaf = certs.load_certificate(leaf_der)
    assert certs.describe_certificate(leaf).key_algorithm == "RSA"
    signature = leaf_key.sign(b"message", padding.PKCS1v15(), hashes.SHA256())
    assert certs.verify_with_certificate(leaf, "1.2.840.113549.1.1.11", b"message", signature)
    assert not certs.verify_with_certificate(leaf, "1.2.840.113549.1.1.11", b"messagE", signature)
    assert not certs.verify_with_certificate(leaf, sm2.OID_SM2_WITH_SM3, b"message", signature)


def test_issue_certificate_for_a_seal_key(store: keystore.Keystore) -> None:
    seal_key = sm2.generate_keypair()
    der = certs.issue_certificate(
        store.certificate_authority(), "某市人民政府", seal_key, organization="某市人民政府"
    )
    cert = certs.load_certificate(der)
    assert cert.public_key["public_key"].native == seal_key.public_key
    message = "公章".encode()
    signature = sm2.sign(seal_key.private_key, seal_key.public_key, message)
    assert certs.verify_with_certificate(cert, sm2.OID_SM2_WITH_SM3, message, signature)
    assert store.verify_certificate(der) == []


def test_keys_cli_exit_codes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from lantai.cli.keys import keys_app

    monkeypatch.setenv("LANTAI_HOME", str(tmp_path / "home"))
    runner = CliRunner()
    assert runner.invoke(keys_app, ["list", "--json"]).exit_code == 2  # not initialised
    assert runner.invoke(keys_app, ["init", "--json"]).exit_code == 0
    listed = json.loads(runner.invoke(keys_app, ["list", "--json"]).output)
    assert {row["role"] for row in listed["certificates"]} == {"signing", "local_ca", "trusted"}
    foreign = certs.issue_certificate(
        certs.create_local_ca("外部CA", "外部"), "外部机构", sm2.generate_keypair()
    )
    (tmp_path / "foreign.der").write_bytes(foreign)
    result = runner.invoke(keys_app, ["import-cert", str(tmp_path / "foreign.der"), "--json"])
    assert result.exit_code == 1 and json.loads(result.output)["findings"][0]["code"] == "cert-untrusted"
    (tmp_path / "junk.pem").write_bytes(b"junk")
    assert runner.invoke(keys_app, ["trust-ca", str(tmp_path / "junk.pem"), "--json"]).exit_code == 2
