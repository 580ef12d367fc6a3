"""PDF inspection on PDFs the tests build: pages, encryption, producer, signatures over ByteRange."""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pikepdf
from asn1crypto import cms, x509
from cryptography import x509 as cx509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from lantai.formats.pdf import inspect_pdf

PLACEHOLDER = 8192


def make_pdf(path: Path, pages: int = 2, **save: object) -> Path:
    pdf = pikepdf.new()
    for _ in range(pages):
        pdf.add_blank_page()
    pdf.docinfo["/Producer"] = "兰台测试 Producer"
    pdf.docinfo["/Creator"] = "WPS Office"
    pdf.save(path, **save)
    return path


def test_plain_pdf(tmp_path: Path) -> None:
    info = inspect_pdf(make_pdf(tmp_path / "a.pdf", pages=3))
    assert info.ok and info.page_count == 3
    assert (info.producer, info.creator) == ("兰台测试 Producer", "WPS Office")
    assert not info.encrypted and not info.signatures


def test_password_and_owner_encryption(tmp_path: Path) -> None:
    user = inspect_pdf(make_pdf(tmp_path / "u.pdf", encryption=pikepdf.Encryption(owner="o", user="u")))
    assert not user.ok and user.password_required
    owner = inspect_pdf(make_pdf(tmp_path / "o.pdf", encryption=pikepdf.Encryption(owner="o", user="")))
    assert not owner.ok and owner.encrypted and not owner.password_required
    assert {f.code for f in owner.findings} == {"pdf-encrypted"}


def test_corrupt_and_truncated(tmp_path: Path) -> None:
    (tmp_path / "junk.pdf").write_bytes(b"%PDF-1.7\n" + b"\x00garbage" * 100)
    assert not inspect_pdf(tmp_path / "junk.pdf").ok
    whole = make_pdf(tmp_path / "w.pdf").read_bytes()
    (tmp_path / "t.pdf").write_bytes(whole[: len(whole) // 3])
    result = inspect_pdf(tmp_path / "t.pdf")
    assert result.ok in (False, True)  # qpdf may recover; it must not raise
    (tmp_path / "empty.pdf").write_bytes(b"")
    assert not inspect_pdf(tmp_path / "empty.pdf").ok


def test_broken_content_stream_is_reported(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    broken = pdf.make_stream(b"this is not deflate data")
    broken.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].obj.Contents = broken
    pdf.save(tmp_path / "bad.pdf")
    info = inspect_pdf(tmp_path / "bad.pdf")
    assert not info.ok and info.page_errors


# -- signatures -------------------------------------------------------------------------------------
def _key_and_cert() -> tuple[ec.EllipticCurvePrivateKey, bytes]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = cx509.Name([cx509.NameAttribute(NameOID.COMMON_NAME, "兰台测试签名")])
    now = datetime.now(UTC)
    cert = (cx509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(7).not_valid_before(now - timedelta(days=1)).not_valid_after(now + timedelta(days=30))
            .sign(key, hashes.SHA256()))
    return key, cert.public_bytes(serialization.Encoding.DER)


def _cms(digest: bytes, key: ec.EllipticCurvePrivateKey, cert_der: bytes) -> bytes:
    cert = x509.Certificate.load(cert_der)
    attrs = cms.CMSAttributes([
        cms.CMSAttribute({"type": "content_type", "values": ["data"]}),
        cms.CMSAttribute({"type": "message_digest", "values": [digest]}),
    ])
    signature = key.sign(attrs.dump(), ec.ECDSA(hashes.SHA256()))
    signer = cms.SignerInfo({
        "version": "v1", "sid": cms.SignerIdentifier({"issuer_and_serial_number": {
            "issuer": cert.issuer, "serial_number": cert.serial_number}}),
        "digest_algorithm": {"algorithm": "sha256"}, "signed_attrs": attrs,
        "signature_algorithm": {"algorithm": "sha256_ecdsa"}, "signature": signature,
    })
    signed = cms.SignedData({"version": "v1", "digest_algorithms": [{"algorithm": "sha256"}],
                             "encap_content_info": {"content_type": "data"}, "certificates": [cert],
                             "signer_infos": [signer]})
    return cms.ContentInfo({"content_type": "signed_data", "content": signed}).dump()


def make_signed(path: Path, *, tamper: bool = False, append: bool = False, ends_in_zero: bool = False) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    sig = pdf.make_indirect(pikepdf.Dictionary(
        Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"), SubFilter=pikepdf.Name("/adbe.pkcs7.detached"),
        ByteRange=pikepdf.Array([0, 1111111111, 2222222222, 3333333333]),
        Contents=pikepdf.String(b"\xff" * PLACEHOLDER)))
    field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("签名1"), V=sig,
                                                 Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget,
                                                 Rect=[0, 0, 0, 0], F=132))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field], SigFlags=3)
    pdf.save(path, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    data = bytearray(path.read_bytes())
    start = data.index(b"<" + b"ff" * PLACEHOLDER)
    end = start + 2 + 2 * PLACEHOLDER
    ranges = f"0 {start} {end} {len(data) - end}".encode()
    old = re.search(rb"/ByteRange \[ ?0 1111111111 2222222222 3333333333 ?\]", data)
    assert old is not None
    data[old.start():old.end()] = (b"/ByteRange [" + ranges + b"]").ljust(old.end() - old.start())
    digest = hashlib.sha256(bytes(data[:start]) + bytes(data[end:])).digest()
    key, cert = _key_and_cert()
    der = _cms(digest, key, cert)
    while ends_in_zero and der[-1] != 0:  # ECDSA signatures end in 0x00 once in 256
        der = _cms(digest, key, cert)
    blob = der.hex().encode().ljust(2 * PLACEHOLDER, b"0")
    data[start + 1:end - 1] = blob
    if tamper:
        data[start - 40] ^= 0x01
    if append:
        data += b"\n% appended after signing\n"
    path.write_bytes(bytes(data))
    return path


def test_valid_signature(tmp_path: Path) -> None:
    info = inspect_pdf(make_signed(tmp_path / "s.pdf"))
    [sig] = info.signatures
    assert sig.status == "valid", sig.problems
    assert sig.digest_ok and sig.signature_ok and sig.covers_whole_file
    assert "兰台测试签名" in sig.signer
    assert info.ok


def test_a_signature_whose_der_ends_in_a_zero_byte_is_valid(tmp_path: Path) -> None:
    """The zero padding of /Contents must not be confused with the signature's own last byte."""
    info = inspect_pdf(make_signed(tmp_path / "z.pdf", ends_in_zero=True))
    assert info.signatures[0].status == "valid", info.signatures[0].problems


def test_tampered_signature(tmp_path: Path) -> None:
    info = inspect_pdf(make_signed(tmp_path / "t.pdf", tamper=True))
    assert info.signatures[0].status == "digest_mismatch"
    assert not info.ok


def test_changed_after_signing_is_warned(tmp_path: Path) -> None:
    info = inspect_pdf(make_signed(tmp_path / "a.pdf", append=True))
    assert info.signatures[0].status == "valid" and not info.signatures[0].covers_whole_file
    assert any(f.code == "pdf-signature" and not f.is_error for f in info.findings)


def test_garbage_signature_contents(tmp_path: Path) -> None:
    path = make_signed(tmp_path / "g.pdf")
    data = bytearray(path.read_bytes())
    start = data.index(b"/Contents <") + len(b"/Contents <")
    data[start:start + 20] = b"0" * 20
    path.write_bytes(bytes(data))
    assert inspect_pdf(path).signatures[0].status in ("malformed", "digest_mismatch")
