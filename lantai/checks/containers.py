"""Looking inside ZIP containers for DA/T 70 3-4: encryption, non-public compression, nesting.

Nested archives are opened from bounded in-memory reads (never extracted to disk) up to a depth
limit; anything beyond the limits — declared sizes, member counts, compression ratio, depth —
is reported as "cannot be inspected safely" rather than risked.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from lantai.packages import zipsafe

NESTED_MEMBER_LIMIT = 64 * 1024 * 1024
ARCHIVE_SUFFIXES = (".zip", ".jar", ".docx", ".xlsx", ".pptx", ".odt", ".ods", ".ofd")


@dataclass(frozen=True)
class ContainerLimits:
    max_depth: int = 3
    max_members: int = 10_000
    max_ratio: int = 200
    max_total_bytes: int = 4 * 1024**3
    public_methods: frozenset[int] = frozenset({0, 8, 9, 12, 14, 95})

    @classmethod
    def from_profile(cls, section: dict[str, Any]) -> ContainerLimits:
        return cls(int(section.get("max_depth", 3)), int(section.get("max_members", 10_000)),
                   int(section.get("max_ratio", 200)), int(section.get("max_total_bytes", 4 * 1024**3)),
                   frozenset(section.get("public_zip_methods", [0, 8, 9, 12, 14, 95])))


def inspect_zip(path: Path, limits: ContainerLimits) -> list[tuple[str, dict[str, Any]]]:
    """Problems as (rule, params): 3-4a encrypted, 3-4b method, 3-4c unsafe or uninspectable."""
    try:
        with open(path, "rb") as fh:
            return _inspect(fh, limits, 0, "")
    except OSError as exc:
        return [("3-4c", {"reason": f"无法读取: {exc.strerror or exc}"})]


def _inspect(stream: IO[bytes], limits: ContainerLimits, depth: int, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    if depth > limits.max_depth:
        return [("3-4c", {"reason": f"压缩包嵌套超过 {limits.max_depth} 层（{prefix}）"})]
    try:
        zf = zipfile.ZipFile(stream)
        infos = zf.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError, NotImplementedError) as exc:
        return [("3-4c", {"reason": f"{prefix or 'ZIP'} 已损坏: {exc}"})] if depth else []
    with zf:
        problems = _members(infos, limits, prefix)
        if problems:
            return problems
        for info in infos:
            if info.filename.lower().endswith(ARCHIVE_SUFFIXES) and info.file_size:
                problems += _nested(zf, info, limits, depth, prefix)
                if problems:
                    break
    return problems


def _members(infos: list[zipfile.ZipInfo], limits: ContainerLimits, prefix: str) -> list[tuple[str, dict[str, Any]]]:
    if len(infos) > limits.max_members:
        return [("3-4c", {"reason": f"{prefix}条目过多（{len(infos)}）"})]
    total = zipsafe.declared_total(infos)
    if total > limits.max_total_bytes:
        return [("3-4c", {"reason": f"{prefix}解压后 {total} 字节，超过上限，疑似 zip 炸弹"})]
    problems: list[tuple[str, dict[str, Any]]] = []
    for info in infos:
        name = prefix + info.filename
        if zipsafe.encrypted(info):
            problems.append(("3-4a", {"kind": f"ZIP 条目 {name} 加密"}))
        elif info.compress_type not in limits.public_methods:
            problems.append(("3-4b", {"method": f"ZIP 方法 {info.compress_type}（{name}）"}))
        elif zipsafe.suspicious_ratio(info, limits.max_ratio):
            problems.append(("3-4c", {"reason": f"{name} 压缩比 {info.file_size // max(info.compress_size, 1)}，疑似 zip 炸弹"}))
    return problems


def _nested(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limits: ContainerLimits, depth: int,
            prefix: str) -> list[tuple[str, dict[str, Any]]]:
    if info.file_size > NESTED_MEMBER_LIMIT:
        return []  # too big to open in memory; clamd still scans it with its own limits
    try:
        with zf.open(info) as member:
            data = member.read(NESTED_MEMBER_LIMIT + 1)
    except (zipfile.BadZipFile, OSError, ValueError, RuntimeError, EOFError, NotImplementedError):
        return []
    if not data.startswith(b"PK"):
        return []
    return _inspect(io.BytesIO(data), limits, depth + 1, f"{prefix}{info.filename}/")
