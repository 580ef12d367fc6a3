"""Where backups and offline carriers are written: a destination addressed by a URL.

Only ``file://`` destinations (a local disk, a mounted removable disk or a network share) exist
today; an S3 destination will implement the same small interface once the store has named
storage roots (issue 18 point 1). The backup service never touches the file system of a
destination itself: it asks a :class:`BackupTarget` to copy a file in or out by a relative POSIX
path, and each copy is digested in the same pass and lands under its final name only once it is
complete (temporary name, fsync, rename) — a copy killed half-way leaves nothing a reader could
mistake for a whole file.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlparse

from lantai.crypto.digests import copy_and_digest, digest_file
from lantai.errors import BadInput, DiskFull, NotFound, StorageError, is_disk_full

ALGORITHMS = ("sm3", "sha512")


def _safe_relative(relative: str) -> str:
    """A path inside the destination: no absolute paths, no ``..``, no empty parts."""
    parts = relative.split("/")
    if not relative or relative.startswith("/") or "\\" in relative or any(p in ("", ".", "..") for p in parts):
        raise BadInput(f"备份中的非法路径: {relative!r}", f"illegal path in a backup: {relative!r}")
    return str(PurePosixPath(relative))


class BackupTarget:
    """A backup destination on a file system (``file:///path`` or a plain path)."""

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(os.path.abspath(root))
        self.fsync = fsync

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def path(self, relative: str) -> Path:
        return self.root / _safe_relative(relative)

    # -- reading ---------------------------------------------------------------------------
    def exists(self, relative: str) -> bool:
        return self.path(relative).is_file()

    def is_dir(self, relative: str) -> bool:
        return self.path(relative).is_dir()

    def size(self, relative: str) -> int:
        try:
            return self.path(relative).stat().st_size
        except OSError:
            return -1

    def read_bytes(self, relative: str) -> bytes:
        try:
            return self.path(relative).read_bytes()
        except FileNotFoundError:
            raise NotFound(f"备份中缺少文件 {relative}", f"file missing from the backup: {relative}") from None
        except OSError as exc:
            raise StorageError(f"无法读取备份文件 {relative}: {exc}", f"cannot read {relative}: {exc}") from exc

    def digest(self, relative: str, algorithms: tuple[str, ...] = ALGORITHMS) -> dict[str, str] | None:
        """Digests (SM3 and SHA-512 by default) of a file in the destination; None when missing or unreadable."""
        try:
            return digest_file(self.path(relative), algorithms)[0]
        except OSError:
            return None

    def list_dir(self, relative: str) -> list[str]:
        """Names directly under a directory of the destination (empty when it is absent)."""
        try:
            return sorted(os.listdir(self.path(relative)))
        except OSError:
            return []

    def iter_files(self, relative: str = "") -> Iterator[str]:
        """Every regular file under a directory, as paths relative to the destination root."""
        top = self.path(relative) if relative else self.root
        for dirpath, dirnames, filenames in os.walk(top):
            dirnames.sort()
            for name in sorted(filenames):
                yield (Path(dirpath) / name).relative_to(self.root).as_posix()

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One writer per destination: a second backup to it waits for the first to finish."""
        import fcntl

        self.prepare()
        with open(self.root / ".lantai-backup.lock", "a+b") as fh:
            try:
                fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise StorageError(f"另一个备份正在写入 {self.root}", f"another backup is writing to {self.root}") from None
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def prepare(self) -> None:
        """Create the destination directory (it may already hold earlier backups)."""
        try:
            self.root.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise _translate(exc, self.root) from exc

    def copy_in(self, relative: str, source: Path, algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
        """Copy a local file to ``relative``, digesting it; replaces an existing file atomically."""
        target = self.path(relative)
        with open(source, "rb") as fh:
            return self._write_stream(target, fh, algorithms)

    def copy_in_prefix(self, relative: str, source: Path, length: int) -> tuple[dict[str, str], int]:
        """Copy the first ``length`` bytes of a file that may be growing (the audit journal)."""
        with open(source, "rb") as fh:
            return self._write_stream(self.path(relative), _Prefix(fh, length))

    def write_bytes(self, relative: str, data: bytes) -> None:
        import io

        self._write_stream(self.path(relative), io.BytesIO(data))

    def copy_out(self, relative: str, target: Path, algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
        """Copy a file of the destination to a local path (atomically), digesting it as it streams."""
        try:
            with open(self.path(relative), "rb") as fh:
                return _atomic_copy(fh, target, fsync=self.fsync, algorithms=algorithms)
        except FileNotFoundError:
            raise NotFound(f"备份中缺少文件 {relative}", f"file missing from the backup: {relative}") from None
        except OSError as exc:
            raise _translate(exc, target) from exc

    def publish_dir(self, partial: str, final: str) -> None:
        """Rename a fully written directory into place (a version copied whole, or nothing)."""
        try:
            os.rename(self.path(partial), self.path(final))
            if self.fsync:
                _fsync_dir(self.path(final).parent)
        except OSError as exc:
            raise _translate(exc, self.path(final)) from exc

    def remove_tree(self, relative: str) -> None:
        shutil.rmtree(self.path(relative), ignore_errors=True)

    def _write_stream(self, target: Path, stream: object,
                      algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
        try:
            return _atomic_copy(stream, target, fsync=self.fsync, algorithms=algorithms)
        except OSError as exc:
            raise _translate(exc, target) from exc


class _Prefix:
    """A reader that stops after ``length`` bytes."""

    def __init__(self, fh: object, length: int) -> None:
        self._fh, self._left = fh, length

    def read(self, size: int = -1) -> bytes:
        if self._left <= 0:
            return b""
        size = self._left if size < 0 else min(size, self._left)
        data = self._fh.read(size)  # type: ignore[attr-defined]
        self._left -= len(data)
        return data


def _atomic_copy(stream: object, target: Path, *, fsync: bool,
                 algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
    partial = target.with_name(f".{target.name}.{uuid.uuid4().hex[:8]}.part")
    try:
        digests, size = copy_and_digest(stream, partial, algorithms, fsync=fsync)  # type: ignore[arg-type]
        os.replace(partial, target)
    except BaseException:
        with contextlib.suppress(OSError):
            partial.unlink()
        raise
    return digests, size


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _translate(exc: OSError, where: Path) -> StorageError:
    if is_disk_full(exc):
        return DiskFull(f"磁盘空间不足，无法写入 {where}", f"disk full writing {where}")
    return StorageError(f"无法写入 {where}: {exc.strerror or exc}", f"cannot write {where}: {exc}")


def open_backup_target(url: str, *, fsync: bool = True) -> BackupTarget:
    """A destination from ``file:///…`` or a plain path; other schemes are refused clearly."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        path = unquote(parsed.path) if parsed.scheme == "file" else url
        if not path:
            raise BadInput("备份位置为空", "empty backup location")
        return BackupTarget(Path(path).expanduser(), fsync=fsync)
    if parsed.scheme == "s3":
        raise BadInput("暂不支持 S3 备份位置（待存储根与副本功能提供 S3 后端），请使用目录或 file:// 地址",
                       "S3 backup destinations are not supported yet (they come with the storage roots); "
                       "use a directory or a file:// URL", url=url)
    raise BadInput(f"不支持的备份位置: {url}", f"unsupported backup location: {url}", url=url)
