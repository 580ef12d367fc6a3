"""Reading submission information packages (SIPs): an item directory, a zip of one, or a batch.

The SIP format (README, "SIP format"):

* an item is a directory, or a ``.zip`` of one, holding ``元数据.xml`` (root ``文件实体`` in the
  DA/T 48 namespace) and the content files each 编码 names in ``电子属性/计算机文件名``;
* ``过程信息.xml`` (root ``过程信息``: 业务实体块 + 机构人员实体块) may carry the handling record;
* ``manifest-sm3.txt`` / ``manifest-sha256.txt`` (``<hex>  <path>``) are checked when present;
* a batch is a directory of items plus ``归档登记表.csv`` with the declared count and bytes.

Everything that arrives is hostile until proven otherwise: zip names are checked for traversal
and absolute paths, sizes are bounded before and during extraction, names without the UTF-8 flag
are decoded as GBK (what Chinese Windows writes), and XML is parsed without DTDs or entities.
"""

from __future__ import annotations

import csv
import io
import os
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lantai.errors import LantaiError, PackageError, UnsafeInput
from lantai.packages import zipsafe

METADATA_NAME = "元数据.xml"
PROCESS_NAME = "过程信息.xml"
MANIFEST_NAMES = {"manifest-sm3.txt": "sm3", "manifest-sha256.txt": "sha256", "manifest-sha512.txt": "sha512"}
REGISTER_NAME = "归档登记表.csv"
RESERVED_NAMES = {METADATA_NAME, PROCESS_NAME, *MANIFEST_NAMES}


@dataclass(frozen=True)
class SipLimits:
    max_item_bytes: int = 64 * 1024**3
    max_entries: int = 10_000
    max_ratio: int = 200
    max_metadata_bytes: int = 256 * 1024**2


@dataclass
class SipEntry:
    """One file of a SIP, addressed by its path relative to the item root."""

    path: str
    size: int
    _dir_file: Path | None = None
    _zip: zipfile.ZipFile | None = None
    _zip_info: zipfile.ZipInfo | None = None

    def open(self) -> BinaryIO:
        if self._dir_file is not None:
            return open(self._dir_file, "rb")
        assert self._zip is not None and self._zip_info is not None
        return self._zip.open(self._zip_info)  # type: ignore[return-value]


@dataclass
class SipSource:
    """An opened item: its entries by relative path. Close it to release a zip handle."""

    label: str
    entries: dict[str, SipEntry] = field(default_factory=dict)
    _zip: zipfile.ZipFile | None = None

    def read(self, path: str, limit: int) -> bytes:
        entry = self.entries[path]
        if entry.size > limit:
            raise PackageError(f"{self.label}: {path} 过大（{entry.size} 字节，上限 {limit}）",
                               f"{self.label}: {path} is too large ({entry.size} bytes, limit {limit})")
        with entry.open() as fh:
            data = fh.read(limit + 1)
        if len(data) > limit:
            raise UnsafeInput(f"{self.label}: {path} 实际大小超过声明", f"{self.label}: {path} exceeds its declared size")
        return data

    def close(self) -> None:
        if self._zip is not None:
            self._zip.close()

    def __enter__(self) -> SipSource:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def check_relative_path(label: str, path: str) -> str:
    """Refuse names that could escape the item root or are not portable file names."""
    if (
        not path
        or path.startswith(("/", "\\"))
        or "\\" in path
        or (len(path) > 1 and path[1] == ":")
        or any(part in ("", ".", "..") for part in path.split("/"))
        or any(ord(c) < 32 or c == "\x7f" for c in path)
    ):
        raise UnsafeInput(
            f"{label}: 非法路径 {path!r}（含 ..、绝对路径、反斜杠或控制字符）",
            f"{label}: illegal path {path!r} (.., absolute, backslash or control characters)",
            rule="path", path=path,
        )
    return str(PurePosixPath(path))


def open_item(path: Path, limits: SipLimits = SipLimits()) -> SipSource:
    """Open an item directory or zip. Raises PackageError/UnsafeInput when it is not one."""
    if path.is_dir():
        return _open_dir(path)
    if path.is_file() and zipfile.is_zipfile(path):
        return _open_zip(path, limits)
    if not path.exists():
        raise PackageError(f"找不到 {path}", f"{path} does not exist")
    raise PackageError(f"{path} 既不是目录也不是 zip 文件", f"{path} is neither a directory nor a zip file")


def read_metadata(path: Path, limits: SipLimits = SipLimits()) -> bytes:
    """An item's 元数据.xml alone. For a directory nothing else is listed or statted.

    The batch register check reads every item's metadata before any item is staged; walking
    each item's tree there cost as much as parsing. The full safety checks of the item's other
    files still run when the item itself is opened for staging.
    """
    if not path.is_dir():
        with open_item(path, limits) as source:
            return source.read(METADATA_NAME, limits.max_metadata_bytes)
    label, target = path.name, path / METADATA_NAME
    try:
        entry = _dir_entry(label, METADATA_NAME, target)
    except FileNotFoundError:
        raise _missing_metadata(label) from None
    return SipSource(label, {METADATA_NAME: entry}).read(METADATA_NAME, limits.max_metadata_bytes)


def read_metadata_and_sizes(path: Path, limits: SipLimits = SipLimits()) -> tuple[bytes, Callable[[str], int | None]]:
    """An item's 元数据.xml and a function giving the size of one of its files (None when absent).

    For the batch's byte total (check 2-1), which counts the files as they are, not as the
    metadata declares them: a zip's sizes come from its central directory, a directory's from
    one ``lstat`` per file asked about (no walk of the tree).
    """
    if not path.is_dir():
        with open_item(path, limits) as source:
            sizes = {name: entry.size for name, entry in source.entries.items()}
            return source.read(METADATA_NAME, limits.max_metadata_bytes), sizes.get
    data = read_metadata(path, limits)

    def size_of(name: str) -> int | None:
        try:
            st = (path / check_relative_path(path.name, name)).lstat()
        except (OSError, LantaiError):
            return None
        return st.st_size if stat.S_ISREG(st.st_mode) else None

    return data, size_of


def _dir_entry(label: str, rel: str, full: Path) -> SipEntry:
    """The entry for a file of an item directory: a regular file, never a link (checked by lstat)."""
    st = full.lstat()
    if stat.S_ISLNK(st.st_mode):
        raise UnsafeInput(f"{label}: 不允许符号链接 {rel}", f"{label}: symbolic link {rel} is not allowed")
    if not stat.S_ISREG(st.st_mode):
        raise PackageError(f"{label}: {rel} 不是普通文件", f"{label}: {rel} is not a regular file")
    return SipEntry(rel, st.st_size, _dir_file=full)


def _missing_metadata(label: str) -> PackageError:
    return PackageError(f"{label}: 缺少 {METADATA_NAME}", f"{label}: {METADATA_NAME} is missing", rule="structure")


def _open_dir(root: Path) -> SipSource:
    label = root.name
    source = SipSource(label)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in sorted(dirnames):
            if (Path(dirpath) / name).is_symlink():
                raise UnsafeInput(f"{label}: 不允许符号链接 {name}", f"{label}: symbolic link {name} is not allowed")
        for name in filenames:
            full = Path(dirpath) / name
            rel = check_relative_path(label, full.relative_to(root).as_posix())
            source.entries[rel] = _dir_entry(label, rel, full)
    if METADATA_NAME not in source.entries:
        registers = [n for n in source.entries if PurePosixPath(n).name == REGISTER_NAME]
        if registers:  # a whole batch zipped and sent as one item: say so, once, in words
            raise PackageError(f"{label} 是批次包（含 {REGISTER_NAME}），不是单件；请按“批次”提交",
                               f"{label} is a batch (it holds {REGISTER_NAME}), not an item; submit it as a batch",
                               rule="structure")
        raise _missing_metadata(label)
    return source


def decode_zip_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its writer meant it (see :func:`lantai.packages.zipsafe.decode_name`)."""
    return zipsafe.decode_name(info)


def _open_zip(path: Path, limits: SipLimits) -> SipSource:
    label = path.name
    try:
        archive = zipfile.ZipFile(path)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise PackageError(f"{label}: zip 文件损坏: {exc}", f"{label}: corrupt zip: {exc}") from exc
    source = SipSource(label, _zip=archive)
    try:
        _add_zip_entries(source, archive, infos, limits)
    except Exception:
        archive.close()
        raise
    return source


def _add_zip_entries(source: SipSource, archive: zipfile.ZipFile, infos: list[zipfile.ZipInfo], limits: SipLimits) -> None:
    label = source.label
    if len(infos) > limits.max_entries:
        raise UnsafeInput(f"{label}: zip 条目过多（{len(infos)}）", f"{label}: too many zip entries ({len(infos)})")
    total = zipsafe.declared_total(infos)
    names: dict[str, zipfile.ZipInfo] = {}
    for info in infos:
        name = zipsafe.decode_name(info)
        if name.endswith("/"):
            check_relative_path(label, name.rstrip("/"))
            continue
        if zipsafe.is_symlink(info):
            raise UnsafeInput(f"{label}: zip 中不允许符号链接 {name}", f"{label}: symbolic link {name} in zip")
        name = check_relative_path(label, name)
        ratio = info.file_size / max(info.compress_size, 1)
        if total > limits.max_item_bytes or zipsafe.suspicious_ratio(info, limits.max_ratio):
            raise UnsafeInput(f"{label}: 疑似 zip 炸弹（解压后 {total} 字节，压缩比 {ratio:.0f}）",
                              f"{label}: zip bomb suspected ({total} bytes uncompressed, ratio {ratio:.0f})")
        if name in names:
            raise UnsafeInput(f"{label}: zip 中重复的条目 {name}", f"{label}: duplicate zip entry {name}")
        names[name] = info
    prefix = _common_root(names)
    for name, info in names.items():
        rel = name[len(prefix):] if prefix else name
        source.entries[rel] = SipEntry(rel, info.file_size, _zip=archive, _zip_info=info)
    if METADATA_NAME not in source.entries:
        registers = [n for n in source.entries if PurePosixPath(n).name == REGISTER_NAME]
        if registers:  # a whole batch zipped and sent as one item: say so, once, in words
            raise PackageError(f"{label} 是批次包（含 {REGISTER_NAME}），不是单件；请按“批次”提交",
                               f"{label} is a batch (it holds {REGISTER_NAME}), not an item; submit it as a batch",
                               rule="structure")
        raise _missing_metadata(label)


def _common_root(names: dict[str, zipfile.ZipInfo]) -> str:
    """A zip may hold the item files at its root or inside one top-level directory."""
    if METADATA_NAME in names:
        return ""
    tops = {n.split("/", 1)[0] for n in names}
    if len(tops) == 1 and all("/" in n for n in names):
        return f"{tops.pop()}/"
    return ""


def parse_manifest(label: str, name: str, data: bytes) -> dict[str, str]:
    """``<hex digest>  <relative path>`` per line (BagIt style)."""
    result: dict[str, str] = {}
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise PackageError(f"{label}: {name} 不是 UTF-8 文本", f"{label}: {name} is not UTF-8") from exc
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2 or not all(c in "0123456789abcdefABCDEF" for c in parts[0]):
            raise PackageError(f"{label}: {name} 第 {lineno} 行格式错误", f"{label}: {name} line {lineno} is malformed")
        path = check_relative_path(label, parts[1].strip().lstrip("*"))
        result[path] = parts[0].lower()
    return result


@dataclass(frozen=True)
class Register:
    """The batch's 归档登记表: declared item count and total bytes."""

    unit_name: str
    archived_at: str
    category: str
    items: int
    bytes: int


def read_register(batch_dir: Path) -> Register:
    path = batch_dir / REGISTER_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise PackageError(f"批次 {batch_dir.name} 缺少 {REGISTER_NAME}", f"batch {batch_dir.name} lacks {REGISTER_NAME}") from None
    text = _decode_text(raw)
    rows = list(csv.DictReader(io.StringIO(text)))
    if not rows:
        raise PackageError(f"{REGISTER_NAME} 没有数据行", f"{REGISTER_NAME} has no data row")
    row = {k.strip(): (v or "").strip() for k, v in rows[0].items() if k}
    try:
        return Register(row.get("单位名称", ""), row.get("归档时间", ""), row.get("门类", ""),
                        int(row["件数"]), int(row["字节数"]))
    except (KeyError, ValueError) as exc:
        raise PackageError(f"{REGISTER_NAME} 缺少或无效的 件数/字节数: {exc}",
                           f"{REGISTER_NAME}: missing or invalid 件数/字节数: {exc}") from exc


def _decode_text(raw: bytes) -> str:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise PackageError(f"{REGISTER_NAME} 编码无法识别", f"{REGISTER_NAME}: unknown text encoding")


def is_batch(path: Path) -> bool:
    return path.is_dir() and (path / REGISTER_NAME).is_file()


def iter_batch_items(batch_dir: Path) -> Iterator[Path]:
    """Items of a batch in a stable order: subdirectories holding 元数据.xml and zip files."""
    for child in sorted(batch_dir.iterdir(), key=lambda p: p.name):
        if child.name.startswith("."):
            continue
        if (child.is_dir() and (child / METADATA_NAME).is_file()) or (child.is_file() and child.suffix.lower() == ".zip"):
            yield child
