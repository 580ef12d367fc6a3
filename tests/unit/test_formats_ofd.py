"""OFD validation on packages the tests write themselves: structure, resources, digests, seals."""

from __future__ import annotations

import base64
import hashlib
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from asn1crypto import core, keys, x509

from lantai.crypto import sm2
from lantai.formats.ofd import validate_ofd
from lantai.formats.ofd_seal import SesSignatureV4, verify_signed_value

NS = "http://www.ofdspec.org/2016"


def ofd_xml(version: str = "1.2", doc_type: str = "OFD", signatures: bool = False, ns: str = NS) -> bytes:
    sig = "<ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>" if signatures else ""
    return (f'<?xml version="1.0" encoding="UTF-8"?><ofd:OFD xmlns:ofd="{ns}" Version="{version}" '
            f'DocType="{doc_type}"><ofd:DocBody><ofd:DocInfo><ofd:DocID>1</ofd:DocID></ofd:DocInfo>'
            f"<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>{sig}</ofd:DocBody></ofd:OFD>").encode()


DOCUMENT = (f'<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData><ofd:MaxUnitID>9</ofd:MaxUnitID>'
            "<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>"
            '<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>').encode()
PUBLIC_RES = (f'<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:MultiMedias><ofd:MultiMedia ID="5" Type="Image">'
              "<ofd:MediaFile>seal.png</ofd:MediaFile></ofd:MultiMedia></ofd:MultiMedias></ofd:Res>").encode()
CONTENT = f'<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="2"/></ofd:Content></ofd:Page>'.encode()


def base_parts(**kwargs: object) -> dict[str, bytes]:
    return {"OFD.xml": ofd_xml(**kwargs), "Doc_0/Document.xml": DOCUMENT, "Doc_0/PublicRes.xml": PUBLIC_RES,
            "Doc_0/Pages/Page_0/Content.xml": CONTENT, "Doc_0/Res/seal.png": b"\x89PNG fake"}


def write(path: Path, parts: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def _certificate(public_key: bytes) -> bytes:
    """A self-made X.509 shell around an SM2 public key: the verifier only needs the key."""
    spki = keys.PublicKeyInfo({
        "algorithm": {"algorithm": "ec", "parameters": keys.ECDomainParameters(
            name="named", value="1.2.156.10197.1.301")},
        "public_key": sm2.normalize_public_key(public_key),
    })
    name = x509.Name.build({"common_name": "兰台测试印章", "country_name": "CN"})
    tbs = x509.TbsCertificate({
        "version": "v3", "serial_number": 1, "signature": {"algorithm": "1.2.156.10197.1.501"},
        "issuer": name, "subject": name, "subject_public_key_info": spki,
        "validity": {"not_before": x509.Time(name="utc_time", value=datetime(2024, 1, 1, tzinfo=UTC)),
                     "not_after": x509.Time(name="utc_time", value=datetime(2034, 1, 1, tzinfo=UTC))},
    })
    return x509.Certificate({"tbs_certificate": tbs, "signature_algorithm": {"algorithm": "1.2.156.10197.1.501"},
                             "signature_value": b"\x00" * 8}).dump()


def seq(*items: core.Asn1Value | bytes) -> bytes:
    return core.Sequence(contents=b"".join(i if isinstance(i, bytes) else i.dump() for i in items)).dump()


def _seal() -> bytes:
    header = seq(core.IA5String("ES"), core.Integer(4), core.IA5String("LT"))
    prop = seq(core.Integer(1), core.UTF8String("兰台测试章"))
    return seq(seq(header, core.IA5String("seal-1"), prop))


def ses_v4(signature_xml: bytes, keypair: sm2.Sm2KeyPair, *, tamper: bool = False) -> bytes:
    tbs = seq(core.Integer(4), _seal(), core.GeneralizedTime(datetime(2026, 1, 1, tzinfo=UTC)),
              core.OctetBitString(hashlib.new("sm3", signature_xml).digest()), core.IA5String("/Doc_0/Signs/Sign_0"))
    signature = sm2.sign(keypair.private_key, keypair.public_key, tbs + (b"x" if tamper else b""))
    return SesSignatureV4({
        "to_sign": SesSignatureV4._fields[0][1].load(tbs), "cert": _certificate(keypair.public_key),
        "signature_algorithm": "1.2.156.10197.1.501", "signature": signature,
    }).dump()


def signed_parts(*, tamper_content: bool = False, tamper_seal: bool = False, method: str = "SM3",
                 algorithm: str = "sm3") -> dict[str, bytes]:
    parts = base_parts(signatures=True)
    protected = ["/Doc_0/Document.xml", "/Doc_0/Pages/Page_0/Content.xml", "/OFD.xml"]
    refs = "".join(
        f'<ofd:Reference FileRef="{ref}"><ofd:CheckValue>'
        f"{base64.b64encode(hashlib.new(algorithm, parts[ref[1:]]).digest()).decode()}"
        "</ofd:CheckValue></ofd:Reference>" for ref in protected)
    signature_xml = (f'<ofd:Signature xmlns:ofd="{NS}"><ofd:SignedInfo><ofd:Provider ProviderName="lantai-test"/>'
                     "<ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod>"
                     f'<ofd:References CheckMethod="{method}">{refs}</ofd:References></ofd:SignedInfo>'
                     "<ofd:SignedValue>/Doc_0/Signs/Sign_0/SignedValue.dat</ofd:SignedValue></ofd:Signature>").encode()
    parts["Doc_0/Signs/Signatures.xml"] = (f'<ofd:Signatures xmlns:ofd="{NS}"><ofd:MaxSignId>1</ofd:MaxSignId>'
                                           '<ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/>'
                                           "</ofd:Signatures>").encode()
    parts["Doc_0/Signs/Sign_0/Signature.xml"] = signature_xml
    parts["Doc_0/Signs/Sign_0/SignedValue.dat"] = ses_v4(signature_xml, sm2.generate_keypair(), tamper=tamper_seal)
    if tamper_content:
        parts["Doc_0/Pages/Page_0/Content.xml"] = CONTENT.replace(b'ID="2"', b'ID="3"')
    return parts


def test_minimal_ofd_is_valid(tmp_path: Path) -> None:
    result = validate_ofd(write(tmp_path / "a.ofd", base_parts()))
    assert result.valid, [f.message_en for f in result.findings]
    assert (result.version, result.doc_type, result.page_count) == ("1.2", "OFD", 1)


@pytest.mark.parametrize(("version", "doc_type"), [("1.0", "OFD"), ("1.2", "OFD-A"), ("1.1", "OFD")])
def test_accepted_versions_and_doc_types(tmp_path: Path, version: str, doc_type: str) -> None:
    assert validate_ofd(write(tmp_path / "a.ofd", base_parts(version=version, doc_type=doc_type))).valid


def _codes(result) -> set[str]:
    return {f.code for f in result.findings if f.is_error}


def test_structure_failures(tmp_path: Path) -> None:
    wrong_type = validate_ofd(write(tmp_path / "t.ofd", base_parts(doc_type="PDF")))
    assert not wrong_type.valid and "ofd-2" in _codes(wrong_type)
    wrong_ns = validate_ofd(write(tmp_path / "n.ofd", base_parts(ns="http://example.org/x")))
    assert not wrong_ns.valid
    no_page = base_parts()
    del no_page["Doc_0/Pages/Page_0/Content.xml"]
    assert "ofd-4" in _codes(validate_ofd(write(tmp_path / "p.ofd", no_page)))
    no_root = base_parts()
    del no_root["Doc_0/Document.xml"]
    assert "ofd-3" in _codes(validate_ofd(write(tmp_path / "d.ofd", no_root)))
    no_media = base_parts()
    del no_media["Doc_0/Res/seal.png"]
    assert "ofd-5" in _codes(validate_ofd(write(tmp_path / "m.ofd", no_media)))
    encrypted = base_parts() | {"Encryptions.xml": b"<Encryptions/>"}
    assert "ofd-7" in _codes(validate_ofd(write(tmp_path / "e.ofd", encrypted)))
    assert not validate_ofd(write(tmp_path / "x.ofd", {"readme.txt": b"hi"})).valid


def test_signed_ofd_verifies(tmp_path: Path) -> None:
    result = validate_ofd(write(tmp_path / "s.ofd", signed_parts()))
    assert result.valid, [f.message_en for f in result.findings]
    [sig] = result.signatures
    assert (sig.references_ok, sig.references_failed, sig.seal_signature_valid) == (3, [], True)
    assert sig.seal["seal_name"] == "兰台测试章"
    assert "兰台测试印章" in sig.seal["signer_subject"]


def test_sha256_references(tmp_path: Path) -> None:
    result = validate_ofd(write(tmp_path / "s.ofd", signed_parts(method="SHA256", algorithm="sha256")))
    assert result.valid and result.signatures[0].references_ok == 3


def test_tampered_content_and_seal_fail(tmp_path: Path) -> None:
    content = validate_ofd(write(tmp_path / "c.ofd", signed_parts(tamper_content=True)))
    assert not content.valid
    assert content.signatures[0].references_failed == [
        {"file": "/Doc_0/Pages/Page_0/Content.xml", "reason": "mismatch"}]
    seal = validate_ofd(write(tmp_path / "v.ofd", signed_parts(tamper_seal=True)))
    assert not seal.valid and seal.signatures[0].seal_signature_valid is False


def test_seal_parser_survives_garbage() -> None:
    for blob in (b"", b"\x30\x03\x02\x01", b"\x30\x80" + b"\x00" * 10, bytes(range(256))):
        report = verify_signed_value(blob, b"<x/>")
        assert report.signature_valid is not True


def test_hostile_containers(tmp_path: Path) -> None:
    bomb = base_parts() | {"Doc_0/Pages/Page_0/Content.xml": b"<a>" + b" " * (40 * 1024 * 1024) + b"</a>"}
    result = validate_ofd(write(tmp_path / "bomb.ofd", bomb))
    assert not result.valid and "ofd-4" in _codes(result)
    traversal = base_parts() | {"../evil.txt": b"x"}
    assert "ofd-1" in _codes(validate_ofd(write(tmp_path / "trav.ofd", traversal)))
    dtd = base_parts()
    dtd["OFD.xml"] = b'<!DOCTYPE x [<!ENTITY e "boom">]>' + dtd["OFD.xml"].split(b"?>", 1)[1]
    assert not validate_ofd(write(tmp_path / "dtd.ofd", dtd)).valid
    (tmp_path / "trunc.ofd").write_bytes((tmp_path / "bomb.ofd").read_bytes()[:500])
    assert "ofd-1" in _codes(validate_ofd(tmp_path / "trunc.ofd"))
    assert not validate_ofd(tmp_path / "missing.ofd").valid
