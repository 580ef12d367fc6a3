"""Passphrase-encrypted bundles: how a backup carries the archive's keys and accounts.

A backup must hold ``keys/`` (the SM2 keys that authenticate the audit chain and sign packages)
and the accounts, yet a backup disk is exactly what gets lost or carried off-site. So these travel
encrypted under a passphrase the operator keeps apart from the backup:

* key derivation: scrypt (RFC 7914; N = 2^15, r = 8, p = 1, 16-byte random salt) → 16-byte key;
* encryption: SM4 in GCM mode (GB/T 32907, authenticated; 12-byte random nonce, 16-byte tag),
  with the header (format, KDF parameters, salt, nonce) as associated data, so a changed header
  or ciphertext and a wrong passphrase alike fail to decrypt — never decrypt to garbage.

The file is one JSON line header, a newline, then the ciphertext with the tag appended.
"""

from __future__ import annotations

import json
import os
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from lantai.errors import BadInput, IntegrityError

FORMAT = "lantai-key-bundle/1"
CIPHER = "SM4-GCM"
MIN_PASSPHRASE = 12
_SCRYPT = {"n": 2**15, "r": 8, "p": 1}
_TAG = 16


class WrongPassphrase(IntegrityError):
    """The bundle does not decrypt: a wrong passphrase, or the bundle was changed."""

    code = "bundle_undecryptable"


def _key(passphrase: str, salt: bytes, params: dict[str, int]) -> bytes:
    return Scrypt(salt=salt, length=16, n=params["n"], r=params["r"], p=params["p"]).derive(passphrase.encode("utf-8"))


def check_passphrase(passphrase: str | None) -> str:
    if not passphrase or len(passphrase) < MIN_PASSPHRASE:
        raise BadInput(f"备份口令至少 {MIN_PASSPHRASE} 个字符", f"the backup passphrase needs at least {MIN_PASSPHRASE} characters")
    return passphrase


def seal(payload: dict[str, Any], passphrase: str) -> bytes:
    """Encrypt a JSON-able payload under the passphrase."""
    check_passphrase(passphrase)
    salt, nonce = os.urandom(16), os.urandom(12)
    header = {"format": FORMAT, "cipher": CIPHER, "kdf": "scrypt", **_SCRYPT, "salt": salt.hex(), "nonce": nonce.hex()}
    head = json.dumps(header, sort_keys=True).encode("ascii")
    encryptor = Cipher(algorithms.SM4(_key(passphrase, salt, _SCRYPT)), modes.GCM(nonce)).encryptor()
    encryptor.authenticate_additional_data(head)
    body = encryptor.update(json.dumps(payload, ensure_ascii=False).encode("utf-8")) + encryptor.finalize()
    return head + b"\n" + body + encryptor.tag


def describe(data: bytes) -> dict[str, Any]:
    """The bundle's header (what a restorer needs to know to open it), without decrypting."""
    head, _sep, _body = data.partition(b"\n")
    try:
        header = json.loads(head)
    except ValueError as exc:
        raise WrongPassphrase("密钥包头部已损坏", "the key bundle's header is damaged") from exc
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise WrongPassphrase("不是兰台密钥包", "not a Lantai key bundle")
    return header


def open_sealed(data: bytes, passphrase: str) -> dict[str, Any]:
    """Decrypt and authenticate; WrongPassphrase when the passphrase or the bytes are wrong."""
    header = describe(data)
    head, _sep, rest = data.partition(b"\n")
    if header.get("cipher") != CIPHER or header.get("kdf") != "scrypt" or len(rest) < _TAG:
        raise WrongPassphrase("密钥包格式不受支持或已截断", "unsupported or truncated key bundle")
    try:
        params = {k: int(header[k]) for k in ("n", "r", "p")}
        key = _key(passphrase, bytes.fromhex(header["salt"]), params)
        decryptor = Cipher(algorithms.SM4(key), modes.GCM(bytes.fromhex(header["nonce"]), rest[-_TAG:])).decryptor()
        decryptor.authenticate_additional_data(head)
        plain = decryptor.update(rest[:-_TAG]) + decryptor.finalize()
    except (InvalidTag, ValueError, KeyError) as exc:
        raise WrongPassphrase("密钥包无法解密：口令错误或密钥包已被改动",
                              "the key bundle does not decrypt: wrong passphrase or changed bundle") from exc
    return json.loads(plain)
