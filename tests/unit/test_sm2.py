"""SM2 wrapper: interoperability with Tongsuo in both directions, tampering, malformed input."""

from __future__ import annotations

import pytest
from tongsuopy.crypto import hashes
from tongsuopy.crypto.asymciphers import ec
from tongsuopy.crypto.exceptions import InvalidSignature

from lantai.crypto import sm2

MESSAGE = "兰台电子档案 SM2 签名测试".encode()


@pytest.fixture(scope="module")
def keypair() -> sm2.Sm2KeyPair:
    return sm2.generate_keypair()


def _tongsuo_private(kp: sm2.Sm2KeyPair) -> ec.EllipticCurvePrivateKey:
    return ec.derive_private_key(int.from_bytes(kp.private_key, "big"), ec.SM2())


def _tongsuo_public(kp: sm2.Sm2KeyPair) -> ec.EllipticCurvePublicKey:
    return ec.EllipticCurvePublicKey.from_encoded_point(ec.SM2(), kp.public_key)


def test_keypair_shape(keypair: sm2.Sm2KeyPair) -> None:
    assert len(keypair.private_key) == 32
    assert len(keypair.public_key) == 65 and keypair.public_key[0] == 4
    assert keypair.private_key.hex() not in repr(keypair)


def test_tongsuo_verifies_our_signature(keypair: sm2.Sm2KeyPair) -> None:
    signature = sm2.sign(keypair.private_key, keypair.public_key, MESSAGE)
    _tongsuo_public(keypair).verify(signature, MESSAGE, ec.ECDSA(hashes.SM3()))
    with pytest.raises(InvalidSignature):
        _tongsuo_public(keypair).verify(signature, MESSAGE + b"x", ec.ECDSA(hashes.SM3()))


def test_we_verify_tongsuo_signature(keypair: sm2.Sm2KeyPair) -> None:
    signature = _tongsuo_private(keypair).sign(MESSAGE, ec.ECDSA(hashes.SM3()))
    assert sm2.verify(keypair.public_key, MESSAGE, signature)
    assert sm2.verify(keypair.public_key[1:], MESSAGE, signature)  # 64-byte public key
    assert sm2.verify(keypair.public_key, MESSAGE, sm2.to_raw_signature(signature))  # raw r||s


def test_tampered_message_and_signature_fail(keypair: sm2.Sm2KeyPair) -> None:
    signature = sm2.sign(keypair.private_key, keypair.public_key, MESSAGE)
    assert sm2.verify(keypair.public_key, MESSAGE, signature)
    tampered = bytearray(MESSAGE)
    tampered[3] ^= 0x01
    assert not sm2.verify(keypair.public_key, bytes(tampered), signature)
    raw = bytearray(sm2.to_raw_signature(signature))
    raw[40] ^= 0x80
    assert not sm2.verify(keypair.public_key, MESSAGE, bytes(raw))
    other = sm2.generate_keypair()
    assert not sm2.verify(other.public_key, MESSAGE, signature)


def test_signer_id_is_part_of_the_signature(keypair: sm2.Sm2KeyPair) -> None:
    signature = sm2.sign(keypair.private_key, keypair.public_key, MESSAGE, signer_id=b"ALICE123@YAHOO.COM")
    assert sm2.verify(keypair.public_key, MESSAGE, signature, signer_id=b"ALICE123@YAHOO.COM")
    assert not sm2.verify(keypair.public_key, MESSAGE, signature)


def test_streamed_digest_signature_equals_whole_message_signature(keypair: sm2.Sm2KeyPair) -> None:
    hasher = sm2.message_hasher(keypair.public_key)
    for start in range(0, len(MESSAGE), 5):
        hasher.update(MESSAGE[start : start + 5])
    signature = sm2.sign_digest(keypair.private_key, hasher.digest())
    assert sm2.verify(keypair.public_key, MESSAGE, signature)
    _tongsuo_public(keypair).verify(signature, MESSAGE, ec.ECDSA(hashes.SM3()))
    assert sm2.verify_digest(
        keypair.public_key, hasher.digest(), sm2.sign(keypair.private_key, keypair.public_key, MESSAGE)
    )


@pytest.mark.parametrize(
    "public_key, signature",
    [
        (b"", b""),
        (b"\x04" + b"\x01" * 64, None),  # not on the curve
        (None, b"\x30\x02\x01"),  # truncated DER
        (None, b"\x30\x06\x02\x01\x00\x02\x01\x01"),  # r = 0
        (None, b"\x00" * 64),  # raw zero signature
        (None, b"\xff" * 64),  # raw out of range
        (None, "not bytes"),
        ("not bytes", None),
    ],
)
def test_malformed_input_returns_false(
    keypair: sm2.Sm2KeyPair, public_key: object, signature: object
) -> None:
    good = sm2.sign(keypair.private_key, keypair.public_key, MESSAGE)
    assert (
        sm2.verify(public_key if public_key is not None else keypair.public_key, MESSAGE, signature or good)
        is False
    )  # type: ignore[arg-type]


def test_failed_verify_is_quiet_on_stderr(keypair: sm2.Sm2KeyPair, capfd: pytest.CaptureFixture[str]) -> None:
    signature = sm2.sign(keypair.private_key, keypair.public_key, MESSAGE)
    assert not sm2.verify(keypair.public_key, MESSAGE + b"!", signature)
    assert not sm2.verify(keypair.public_key, MESSAGE, b"\x30\x03\x02\x01\x01")
    assert "GmSSL" not in capfd.readouterr().err


def test_invalid_private_key_is_rejected(keypair: sm2.Sm2KeyPair) -> None:
    with pytest.raises(sm2.InvalidSm2Key):
        sm2.sign(b"\x00" * 32, keypair.public_key, MESSAGE)
    with pytest.raises(sm2.InvalidSm2Key):
        sm2.sign(keypair.private_key, b"\x04" + b"\x01" * 64, MESSAGE)
