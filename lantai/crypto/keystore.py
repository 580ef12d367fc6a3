"""The archive's key store: its own SM2 keys and certificates, trusted CAs, agencies' certificates.

Layout of the ``keys/`` directory the caller passes (``Settings.keys_dir``)::

    keys/                      0700
      ca.key                   0600  PKCS#8 PEM, SM2 key of the archive's local root CA
      ca.pem                         self-signed CA certificate (SM2-with-SM3)
      signing.key              0600  PKCS#8 PEM, SM2 key the archive signs packages with
      signing.pem                    signing certificate issued by ca.pem
      trusted/<fp>.pem               CAs whose chains are accepted (the local CA is always here)
      agencies/<fp>.pem              certificates imported from agencies (also used as intermediates)

``<fp>`` is the first 16 hex digits of the certificate's SM3 fingerprint, so importing the same
certificate twice is a no-op. Private keys are written to a temporary file created 0600 and
renamed into place, so a crash never leaves a readable or half-written key.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from asn1crypto import x509

from lantai.checks.registry import finding
from lantai.crypto import certs, sm2
from lantai.domain.findings import Finding
from lantai.errors import BadInput, NotFound

CA_KEY = "ca.key"
CA_CERT = "ca.pem"
SIGNING_KEY = "signing.key"
SIGNING_CERT = "signing.pem"
TRUSTED_DIR = "trusted"
AGENCIES_DIR = "agencies"


@dataclass(frozen=True)
class Keystore:
    directory: Path
    archive_name: str

    @property
    def certificate_path(self) -> Path:
        return self.directory / SIGNING_CERT

    @property
    def ca_certificate_path(self) -> Path:
        return self.directory / CA_CERT

    def signing_key(self) -> sm2.Sm2KeyPair:
        return _read_key(self.directory / SIGNING_KEY)

    def signing_certificate(self) -> bytes:
        """DER of the archive's signing certificate."""
        return _read_cert(self.certificate_path).dump()

    def certificate_authority(self) -> certs.CertificateAuthority:
        """The local CA, e.g. to issue per-organ seal certificates for demo data."""
        return certs.CertificateAuthority(
            _read_cert(self.ca_certificate_path).dump(), _read_key(self.directory / CA_KEY)
        )

    def import_certificate(self, path: Path) -> certs.CertificateInfo:
        """Keep an agency's certificate so its packages' signatures can be checked."""
        return self._add(path, AGENCIES_DIR)

    def trust_ca(self, path: Path) -> certs.CertificateInfo:
        """Accept every certificate that chains to this CA; refuses non-CA certificates."""
        cert = certs.load_certificate(_read_input(path))
        if not cert.ca and cert.subject != cert.issuer:
            raise BadInput("该证书不是 CA 证书，不能设为受信任的 CA", "certificate is not a CA certificate")
        return self._add(path, TRUSTED_DIR)

    def trusted_certificates(self) -> list[x509.Certificate]:
        return _read_dir(self.directory / TRUSTED_DIR)

    def agency_certificates(self) -> list[x509.Certificate]:
        return _read_dir(self.directory / AGENCIES_DIR)

    def verify_certificate(self, cert_der: bytes, at: datetime | None = None) -> list[Finding]:
        """Validity and a chain of valid signatures to a trusted CA; a parse failure is a finding."""
        try:
            cert = certs.load_certificate(cert_der)
        except BadInput as exc:
            return [finding("cert-malformed", "证书", detail=exc.message_zh, detail_en=exc.message_en)]
        return certs.validate_certificate(cert, self.trusted_certificates(), self.agency_certificates(), at)

    def list_certificates(self) -> list[dict[str, object]]:
        """Every certificate in the store with its role (签名 / 本地CA / 受信任CA / 机构)."""
        rows: list[dict[str, object]] = []
        for role, paths in (
            ("signing", [self.certificate_path]),
            ("local_ca", [self.ca_certificate_path]),
            ("trusted", sorted((self.directory / TRUSTED_DIR).glob("*.pem"))),
            ("agency", sorted((self.directory / AGENCIES_DIR).glob("*.pem"))),
        ):
            for path in paths:
                info = certs.describe_certificate(_read_cert(path)).to_dict()
                rows.append({"role": role, "path": str(path), **info})
        return rows

    def _add(self, path: Path, subdir: str) -> certs.CertificateInfo:
        cert = certs.load_certificate(_read_input(path))
        info = certs.describe_certificate(cert)
        target = self.directory / subdir / f"{info.fingerprint_sm3[:16]}.pem"
        if not target.exists():
            _write_atomic(target, certs.certificate_to_pem(cert.dump()), 0o644)
        return info


def init_keystore(keys_dir: Path, archive_name: str) -> Keystore:
    """Create (or complete) the key store; running it again changes nothing."""
    keys_dir = Path(keys_dir)
    for directory in (keys_dir, keys_dir / TRUSTED_DIR, keys_dir / AGENCIES_DIR):
        directory.mkdir(parents=True, exist_ok=True)
    keys_dir.chmod(0o700)
    ca = _ensure_ca(keys_dir, archive_name)
    _ensure_signing(keys_dir, archive_name, ca)
    store = Keystore(keys_dir, archive_name)
    store.trust_ca(keys_dir / CA_CERT)
    return store


def open_keystore(keys_dir: Path, archive_name: str = "") -> Keystore:
    """An existing key store; NotFound when ``init`` has not been run."""
    if not (Path(keys_dir) / SIGNING_KEY).is_file():
        raise NotFound("密钥库尚未初始化，请先运行 lantai keys init", "key store not initialised")
    return Keystore(Path(keys_dir), archive_name)


def _ensure_ca(keys_dir: Path, archive_name: str) -> certs.CertificateAuthority:
    keypair = _ensure_key(keys_dir / CA_KEY)
    cert_path = keys_dir / CA_CERT
    if cert_path.exists():
        return certs.CertificateAuthority(_read_cert(cert_path).dump(), keypair)
    ca = certs.create_local_ca(f"{archive_name} 本地根CA", archive_name, keypair)
    _write_atomic(cert_path, certs.certificate_to_pem(ca.certificate), 0o644)
    return ca


def _ensure_signing(keys_dir: Path, archive_name: str, ca: certs.CertificateAuthority) -> None:
    keypair = _ensure_key(keys_dir / SIGNING_KEY)
    cert_path = keys_dir / SIGNING_CERT
    if not cert_path.exists():
        cert = certs.issue_certificate(ca, f"{archive_name} 档案签名", keypair, organization=archive_name)
        _write_atomic(cert_path, certs.certificate_to_pem(cert), 0o644)


def _ensure_key(path: Path) -> sm2.Sm2KeyPair:
    if path.exists():
        path.chmod(0o600)
        return _read_key(path)
    keypair = sm2.generate_keypair()
    _write_atomic(path, certs.encode_private_key(keypair), 0o600)
    return keypair


def _write_atomic(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        os.fchmod(fd, mode)
        os.write(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)


def _read_key(path: Path) -> sm2.Sm2KeyPair:
    if not path.is_file():
        raise NotFound(f"私钥文件不存在：{path}", f"private key file missing: {path}")
    return certs.decode_private_key(path.read_bytes())


def _read_cert(path: Path) -> x509.Certificate:
    if not path.is_file():
        raise NotFound(f"证书文件不存在：{path}", f"certificate file missing: {path}")
    return certs.load_certificate(path.read_bytes())


def _read_input(path: Path) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        raise BadInput(f"无法读取证书文件：{path}", f"cannot read certificate file: {path}") from exc


def _read_dir(directory: Path) -> list[x509.Certificate]:
    return [_read_cert(p) for p in sorted(directory.glob("*.pem"))]


def sm3_fingerprint(cert_der: bytes) -> str:
    return hashlib.new("sm3", cert_der).hexdigest()
