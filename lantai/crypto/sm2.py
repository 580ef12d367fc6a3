"""SM2 signatures (GB/T 32918) with SM3 (GB/T 32905), over ``gmssl-pyx``.

Why a wrapper: gmssl-pyx takes 64-byte raw public keys and DER signatures only, raises its own
exception types on malformed input and prints GmSSL error traces to stderr whenever a verify
fails. Callers across Lantai (EEP, OFD seals, transfer receipts, certificates) need one
predictable contract instead:

* public keys are accepted as 64-byte ``x||y`` or 65-byte ``04||x||y`` and returned as 65 bytes;
* signatures are produced as DER ``SEQUENCE {r, s}`` and accepted as DER or raw 64-byte ``r||s``;
* ``verify`` answers ``True`` or ``False`` and never raises, whatever it is given.

Streaming: an SM2-with-SM3 signature is over ``e = SM3(Z || M)`` where ``Z`` binds the signer ID
and public key. :func:`message_hasher` returns an SM3 object already fed with ``Z``; feed it the
message in chunks and pass ``digest()`` to :func:`sign_digest` / :func:`verify_digest`. The
result is byte-for-byte the same as :func:`sign` over the whole message, so any SM2 verifier
(OpenSSL, Tongsuo) checks it without knowing it was computed incrementally.
"""

from __future__ import annotations

import hashlib
import os
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass

import gmssl_pyx
from asn1crypto.algos import DSASignature

DEFAULT_SIGNER_ID: bytes = b"1234567812345678"
OID_SM2_WITH_SM3 = "1.2.156.10197.1.501"
OID_SM3 = "1.2.156.10197.1.401"
OID_SM2_CURVE = "1.2.156.10197.1.301"

# Curve parameters of the recommended SM2 curve (GB/T 32918.5), needed to compute Z.
_P = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFF", 16)
_A = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF00000000FFFFFFFFFFFFFFFC", 16)
_B = int("28E9FA9E9D9F5E344D5A9E4BCF6509A7F39789F515AB8F92DDBCBD414D940E93", 16)
_N = int("FFFFFFFEFFFFFFFFFFFFFFFFFFFFFFFF7203DF6B21C6052B53BBF40939D54123", 16)
_GX = int("32C4AE2C1F1981195F9904466A39C9948FE30BBFF2660BE1715A4589334C74C7", 16)
_GY = int("BC3736A2F4F6779C59BDCEE36B692153D0A9877CC62A474002DF32E52139F0A0", 16)

_GMSSL_TRACE_MARKER = b"/GmSSL/"
_stderr_lock = threading.Lock()


@dataclass(frozen=True)
class Sm2KeyPair:
    """An SM2 key pair: 32-byte private scalar and 65-byte uncompressed public point."""

    private_key: bytes
    public_key: bytes

    def __repr__(self) -> str:  # never print the private key into logs
        return f"Sm2KeyPair(public_key={self.public_key.hex()})"


class InvalidSm2Key(ValueError):
    """A public or private key that is not usable on the SM2 curve."""


def generate_keypair() -> Sm2KeyPair:
    public_raw, private_key = gmssl_pyx.sm2_key_generate()
    return Sm2KeyPair(private_key=private_key, public_key=b"\x04" + public_raw)


def normalize_public_key(public_key: bytes) -> bytes:
    """Return the 65-byte ``04||x||y`` form; raise :class:`InvalidSm2Key` when not on the curve."""
    try:
        raw = gmssl_pyx.normalize_sm2_public_key(bytes(public_key))
    except (gmssl_pyx.GmsslInnerError, TypeError, ValueError) as exc:
        raise InvalidSm2Key("SM2 公钥无效") from exc
    return b"\x04" + raw


def compute_z(public_key: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bytes:
    """Z = SM3(ENTL || ID || a || b || xG || yG || xA || yA) per GB/T 32918.2 §5.5."""
    point = normalize_public_key(public_key)[1:]
    if len(signer_id) * 8 > 0xFFFF:
        raise ValueError("SM2 signer ID too long")
    h = hashlib.new("sm3")
    h.update((len(signer_id) * 8).to_bytes(2, "big") + signer_id)
    for value in (_A, _B, _GX, _GY):
        h.update(value.to_bytes(32, "big"))
    h.update(point)
    return h.digest()


def message_hasher(public_key: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> hashlib._Hash:
    """An SM3 object primed with Z: feed the message, then sign or verify its ``digest()``."""
    h = hashlib.new("sm3")
    h.update(compute_z(public_key, signer_id))
    return h


def sign(
    private_key: bytes, public_key: bytes, message: bytes, signer_id: bytes = DEFAULT_SIGNER_ID
) -> bytes:
    """SM2-with-SM3 signature (with Z) over ``message``, DER encoded."""
    raw_public = normalize_public_key(public_key)[1:]
    _check_private_key(private_key)
    return gmssl_pyx.sm2_sign(bytes(private_key), raw_public, bytes(message), signer_id)


def sign_digest(private_key: bytes, e: bytes) -> bytes:
    """Sign ``e = SM3(Z || M)`` from :func:`message_hasher`; DER encoded."""
    _check_private_key(private_key)
    if len(e) != 32:
        raise ValueError("SM3 digest must be 32 bytes")
    return gmssl_pyx.sm2_sign_sm3_digest(bytes(private_key), bytes(e))


def verify(public_key: bytes, message: bytes, signature: bytes, signer_id: bytes = DEFAULT_SIGNER_ID) -> bool:
    """True only if ``signature`` (DER or raw r||s) is a valid SM2-with-SM3 signature of ``message``."""
    try:
        e = message_hasher(public_key, signer_id)
        e.update(bytes(message))
    except (InvalidSm2Key, TypeError, ValueError):
        return False
    return verify_digest(public_key, e.digest(), signature)


def verify_digest(public_key: bytes, e: bytes, signature: bytes) -> bool:
    """Verify a signature over ``e = SM3(Z || M)``; never raises."""
    try:
        raw_public = normalize_public_key(public_key)[1:]
        der = to_der_signature(signature)
        if len(e) != 32:
            return False
        with _quiet_gmssl_stderr():
            return bool(gmssl_pyx.sm2_verify_sm3_digest(raw_public, bytes(e), der))
    except Exception:  # the contract is "False on anything malformed"
        return False


def to_der_signature(signature: bytes) -> bytes:
    """Canonical DER ``SEQUENCE {r, s}`` from DER or raw 64-byte ``r||s``; ValueError if neither."""
    signature = bytes(signature)
    if len(signature) == 64:
        r, s = int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big")
    else:
        try:
            parsed = DSASignature.load(signature, strict=True)
            r, s = parsed["r"].native, parsed["s"].native
        except Exception as exc:  # asn1crypto raises several types
            raise ValueError("not a DER SM2 signature") from exc
    if not (0 < r < _N and 0 < s < _N):
        raise ValueError("SM2 signature value out of range")
    der = DSASignature({"r": r, "s": s}).dump()
    if len(signature) != 64 and der != signature:
        raise ValueError("SM2 signature is not canonical DER")
    return der


def to_raw_signature(signature: bytes) -> bytes:
    """Raw 64-byte ``r||s`` form, as some OFD and GM/T structures carry it."""
    parsed = DSASignature.load(to_der_signature(signature))
    return parsed["r"].native.to_bytes(32, "big") + parsed["s"].native.to_bytes(32, "big")


def _check_private_key(private_key: bytes) -> None:
    if len(private_key) != 32 or not 0 < int.from_bytes(private_key, "big") < _N - 1:
        raise InvalidSm2Key("SM2 私钥无效")


@contextmanager
def _quiet_gmssl_stderr() -> Iterator[None]:
    """Hide GmSSL's C-level error traces, which a failed verify writes straight to fd 2.

    fd 2 is pointed at a temporary file for the duration of the call; afterwards every line that
    is not a GmSSL trace is written back to the real stderr, so output from other threads during
    that window is delayed, never lost. A lock keeps concurrent verifies from interleaving.
    """
    with _stderr_lock:
        with suppress(Exception):  # a closed or replaced sys.stderr must not break verify
            sys.stderr.flush()
        with tempfile.TemporaryFile() as sink:
            saved = os.dup(2)
            os.dup2(sink.fileno(), 2)
            try:
                yield
            finally:
                os.dup2(saved, 2)
                os.close(saved)
                sink.seek(0)
                kept = [
                    line for line in sink.read().splitlines(keepends=True) if _GMSSL_TRACE_MARKER not in line
                ]
                if kept:
                    os.write(2, b"".join(kept))
