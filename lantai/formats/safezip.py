"""Bounded reading of ZIP containers (OFD, OOXML, ODF) from untrusted sources.

Every member is checked against its declared size and compression ratio *before* it is read, and
the read itself is capped, because the declared size in a hostile ZIP can lie. Member names are
checked for traversal so that nothing downstream ever joins them to a real path unchecked.
"""

from __future__ import annotations

import posixpath
import zipfile
from dataclasses import dataclass
from pathlib import Path

MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_RATIO = 200
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
CHUNK = 1024 * 1024


class ZipLimitError(ValueError):
    """The archive breaks a safety limit (bomb, traversal, too many members)."""


class ZipEncryptedError(ZipLimitError):
    """A member is encrypted (ZIP traditional or AES encryption); it cannot be read or trusted."""


@dataclass(frozen=True, slots=True)
class ZipLimits:
    max_member_bytes: int = MAX_MEMBER_BYTES
    max_members: int = MAX_MEMBERS
    max_ratio: int = MAX_RATIO
    max_total_bytes: int = MAX_TOTAL_BYTES


def is_zip(path: Path) -> bool:
    try:
        with open(path, "rb") as fh:
            return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")
    except OSError:
        return False


def open_zip(path: Path, limits: ZipLimits = ZipLimits()) -> zipfile.ZipFile:
    """Open ``path`` and check the central directory against ``limits``; raise ZipLimitError or BadZipFile."""
    zf = zipfile.ZipFile(path)
    try:
        infos = zf.infolist()
        if len(infos) > limits.max_members:
            raise ZipLimitError(f"{len(infos)} members exceed the limit of {limits.max_members}")
        total = sum(info.file_size for info in infos)
        if total > limits.max_total_bytes:
            raise ZipLimitError(f"declared uncompressed size {total} exceeds {limits.max_total_bytes}")
        for info in infos:
            unsafe_name(info.filename)
    except BaseException:
        zf.close()
        raise
    return zf


def unsafe_name(name: str) -> None:
    """Raise ZipLimitError for absolute names, ``..`` segments, backslashes or control characters."""
    if name.startswith("/") or "\\" in name or any(ord(ch) < 32 for ch in name):
        raise ZipLimitError(f"unsafe member name {name!r}")
    if ".." in name.split("/"):
        raise ZipLimitError(f"member name escapes the archive: {name!r}")


def find_member(zf: zipfile.ZipFile, name: str) -> zipfile.ZipInfo | None:
    """Look a member up by normalised name; OFD references sometimes start with '/' or use './'."""
    wanted = normalise(name)
    try:
        return zf.getinfo(wanted)
    except KeyError:
        pass
    lowered = wanted.lower()
    for info in zf.infolist():
        if info.filename.lower() == lowered:
            return info
    return None


def normalise(name: str) -> str:
    name = name.strip().replace("\\", "/").lstrip("/")
    norm = posixpath.normpath(name) if name else ""
    return "" if norm == "." else norm


def read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits = ZipLimits()) -> bytes:
    """Read one member, refusing it when the declared size or ratio is hostile or the data overruns."""
    check_member(info, limits)
    parts: list[bytes] = []
    size = 0
    with zf.open(info) as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            if size > info.file_size or size > limits.max_member_bytes:
                raise ZipLimitError(f"{info.filename}: data overruns its declared size")
            parts.append(chunk)
    return b"".join(parts)


def iter_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits = ZipLimits()):
    """Yield a member in chunks (for digests), with the same limits as ``read_member``."""
    check_member(info, limits)
    size = 0
    with zf.open(info) as fh:
        while chunk := fh.read(CHUNK):
            size += len(chunk)
            if size > info.file_size:
                raise ZipLimitError(f"{info.filename}: data overruns its declared size")
            yield chunk


def check_member(info: zipfile.ZipInfo, limits: ZipLimits) -> None:
    if info.file_size > limits.max_member_bytes:
        raise ZipLimitError(f"{info.filename}: {info.file_size} bytes exceed the member limit")
    if info.compress_size and info.file_size / info.compress_size > limits.max_ratio and info.file_size > CHUNK:
        raise ZipLimitError(f"{info.filename}: compression ratio suggests a zip bomb")
    if info.flag_bits & 0x1:
        raise ZipEncryptedError(f"{info.filename}: member is encrypted")
