"""The one implementation of ZIP safety limits: submitted items and batches, containers (OFD,
OOXML, ODF) read by the format validators, and the DA/T 70 3-4 container inspection all judge a
ZIP by the rules here.

Every member is checked against its declared size and compression ratio *before* it is read, and
the read itself is capped, because the declared size in a hostile ZIP can lie. Member names are
checked for traversal so that nothing downstream ever joins them to a real path unchecked. Callers
report a broken limit in their own terms (a rejected item, a check finding); the rules are these.
"""

from __future__ import annotations

import posixpath
import stat
import zipfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO

MAX_MEMBER_BYTES = 64 * 1024 * 1024
MAX_MEMBERS = 20_000
MAX_RATIO = 200
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
CHUNK = 1024 * 1024
RATIO_FLOOR = 1024 * 1024  # members up to this size may compress as well as they like
AES_METHOD = 99  # WinZip AES: the member is encrypted whatever its flag says


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


def open_zip(path: Path | IO[bytes], limits: ZipLimits = ZipLimits()) -> zipfile.ZipFile:
    """Open ``path`` (a file, or bytes already in memory) and check the central directory against ``limits``; raise ZipLimitError or BadZipFile."""
    zf = zipfile.ZipFile(path)
    try:
        infos = zf.infolist()
        check_directory(infos, limits)
        for info in infos:
            unsafe_name(info.filename)
    except BaseException:
        zf.close()
        raise
    return zf


def check_directory(infos: list[zipfile.ZipInfo], limits: ZipLimits) -> None:
    """Refuse a central directory with too many members or too many declared bytes in all."""
    if len(infos) > limits.max_members:
        raise ZipLimitError(f"{len(infos)} members exceed the limit of {limits.max_members}")
    total = declared_total(infos)
    if total > limits.max_total_bytes:
        raise ZipLimitError(f"declared uncompressed size {total} exceeds {limits.max_total_bytes}")


def declared_total(infos: Iterable[zipfile.ZipInfo]) -> int:
    return sum(info.file_size for info in infos)


def suspicious_ratio(info: zipfile.ZipInfo, max_ratio: int) -> bool:
    """A member above 1 MiB that inflates more than ``max_ratio`` times (a zip bomb's signature)."""
    return info.file_size > RATIO_FLOOR and info.file_size / max(info.compress_size, 1) > max_ratio


def encrypted(info: zipfile.ZipInfo) -> bool:
    """Traditional ZIP encryption (flag bit 0) or WinZip AES (method 99)."""
    return bool(info.flag_bits & 0x1) or info.compress_type == AES_METHOD


def is_symlink(info: zipfile.ZipInfo) -> bool:
    return stat.S_ISLNK(info.external_attr >> 16)


def decode_name(info: zipfile.ZipInfo) -> str:
    """Names without the UTF-8 flag are cp437 to zipfile; Chinese tools wrote GBK (or UTF-8)."""
    if info.flag_bits & 0x800:
        return info.filename
    raw = info.filename.encode("cp437", errors="replace")
    for encoding in ("utf-8", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return info.filename


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


def iter_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ZipLimits = ZipLimits()) -> Iterator[bytes]:
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
    if suspicious_ratio(info, limits.max_ratio):
        raise ZipLimitError(f"{info.filename}: compression ratio suggests a zip bomb")
    if encrypted(info):
        raise ZipEncryptedError(f"{info.filename}: member is encrypted")


def safe_name(name: str) -> str:
    """``name`` when it is a safe relative path (else ZipLimitError), normalised."""
    unsafe_name(name)
    if not normalise(name):
        raise ZipLimitError(f"empty member name {name!r}")
    return normalise(name)


def extract(path: Path, target: Path, limits: ZipLimits, *,
            check_name: Callable[[str], str] = safe_name) -> list[Path]:
    """Unpack every file member of ``path`` under ``target`` within ``limits``; returns the files.

    The directory is judged before anything is written, each member before it is read, and each
    read is capped at the member's declared size. ``check_name`` may refuse names more strictly
    (it gets the decoded name and returns the relative path to write).
    """
    written: list[Path] = []
    with zipfile.ZipFile(path) as zf:
        infos = [info for info in zf.infolist() if not info.is_dir()]
        check_directory(infos, limits)
        for info in infos:
            if is_symlink(info):
                raise ZipLimitError(f"{info.filename}: symbolic link")
            destination = target / check_name(decode_name(info))
            destination.parent.mkdir(parents=True, exist_ok=True)
            with open(destination, "wb") as out:
                for chunk in iter_member(zf, info, limits):
                    out.write(chunk)
            written.append(destination)
    return written
