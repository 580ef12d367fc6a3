"""Streaming digests: SM3 (GB/T 32905, via OpenSSL 3 in ``hashlib``) and the SHA-2 family.

Files are read once in fixed-size chunks; every requested algorithm is fed the same chunk, so a
copy-while-hashing pass costs one read and one write regardless of how many digests we keep.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

CHUNK_SIZE = 1024 * 1024
DEFAULT_ALGORITHMS = ("sha512", "sm3")


def new_hash(algorithm: str) -> hashlib._Hash:
    """Return a fresh hash object; SM3 comes from OpenSSL, never from a pure-Python fallback."""
    try:
        return hashlib.new(algorithm)
    except ValueError as exc:  # pragma: no cover - only on an OpenSSL without SM3
        raise RuntimeError(f"digest algorithm {algorithm!r} is not available in this OpenSSL") from exc


class MultiHasher:
    """Feeds one byte stream to several hash algorithms at once."""

    def __init__(self, algorithms: Iterable[str] = DEFAULT_ALGORITHMS) -> None:
        self._hashes = {name: new_hash(name) for name in algorithms}
        self.size = 0

    def update(self, chunk: bytes | memoryview) -> None:
        self.size += len(chunk)
        for h in self._hashes.values():
            h.update(chunk)

    def hexdigests(self) -> dict[str, str]:
        return {name: h.hexdigest() for name, h in self._hashes.items()}


def digest_stream(
    stream: BinaryIO, algorithms: Iterable[str] = DEFAULT_ALGORITHMS
) -> tuple[dict[str, str], int]:
    hasher = MultiHasher(algorithms)
    while chunk := stream.read(CHUNK_SIZE):
        hasher.update(chunk)
    return hasher.hexdigests(), hasher.size


def digest_file(
    path: str | os.PathLike[str], algorithms: Iterable[str] = DEFAULT_ALGORITHMS
) -> tuple[dict[str, str], int]:
    """Digest a file without holding it in memory. Returns ``({algorithm: hex}, size)``."""
    with open(path, "rb") as fh:
        return digest_stream(fh, algorithms)


def copy_and_digest(
    source: BinaryIO,
    target_path: Path,
    algorithms: Iterable[str] = DEFAULT_ALGORITHMS,
    *,
    max_bytes: int | None = None,
    fsync: bool = True,
) -> tuple[dict[str, str], int]:
    """Copy ``source`` to a new file at ``target_path`` while digesting it, in one pass.

    ``max_bytes`` bounds the copy (zip-bomb defence): exceeding it raises ``ValueError``.
    """
    hasher = MultiHasher(algorithms)
    target_path.parent.mkdir(parents=True, exist_ok=True)
    with open(target_path, "xb") as out:
        while chunk := source.read(CHUNK_SIZE):
            hasher.update(chunk)
            if max_bytes is not None and hasher.size > max_bytes:
                raise ValueError(f"stream exceeds {max_bytes} bytes")
            out.write(chunk)
        if fsync:
            out.flush()
            os.fsync(out.fileno())
    return hasher.hexdigests(), hasher.size


def sm3_hex(data: bytes) -> str:
    h = new_hash("sm3")
    h.update(data)
    return h.hexdigest()
