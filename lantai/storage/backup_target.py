"""Where backups and offline carriers are written: a destination addressed by a URL.

Two kinds: ``file://`` (a local disk, a mounted removable disk or a network share) and
``s3://bucket/prefix`` on S3-compatible object storage (:class:`S3BackupTarget`, through the
storage roots' :class:`~lantai.storage.backends.S3Backend`, so credentials and endpoint come from
settings and an object-lock bucket keeps every backup file under COMPLIANCE retention). The backup
service never touches a destination itself: it asks a target to copy a file in or out by a
relative POSIX path, and each copy is digested in the same pass and lands under its final name
only once it is complete (temporary name, fsync, rename on a file system; S3 shows a key only once
its upload completed) — a copy killed half-way leaves nothing a reader could mistake for a whole file.

A directory is published whole by a rename on a file system (:attr:`BackupTarget.renames`); object
storage has no rename, so there a version is written in place and its marker file last.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
import os
import shutil
import socket
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import unquote, urlparse

from lantai.crypto.digests import copy_and_digest, digest_file
from lantai.errors import BadInput, NotFound, StorageError, storage_error
from lantai.storage.backends import S3Backend, parse_root_url

ALGORITHMS = ("sm3", "sha512")


def _safe_relative(relative: str) -> str:
    """A path inside the destination: no absolute paths, no ``..``, no empty parts."""
    parts = relative.split("/")
    if not relative or relative.startswith("/") or "\\" in relative or any(p in ("", ".", "..") for p in parts):
        raise BadInput(f"备份中的非法路径: {relative!r}", f"illegal path in a backup: {relative!r}")
    return str(PurePosixPath(relative))


class BackupTarget:
    """A backup destination on a file system (``file:///path`` or a plain path)."""

    renames = True  # a directory written under a hidden name is renamed into place whole

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = Path(os.path.abspath(root))
        self.fsync = fsync

    @property
    def url(self) -> str:
        return self.root.as_uri()

    def inside(self, directory: Path) -> bool:
        """Whether the destination is ``directory`` or lies under it."""
        home, root = directory.resolve(), self.root.resolve()
        return root == home or home in root.parents

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
    return storage_error(exc, (f"磁盘空间不足，无法写入 {where}", f"disk full writing {where}"),
                         (f"无法写入 {where}: {exc.strerror or exc}", f"cannot write {where}: {exc}"))


class S3BackupTarget:
    """A backup destination on S3-compatible object storage (``s3://bucket/prefix``).

    The same interface as :class:`BackupTarget`. Differences that the backup service sees:
    ``renames`` is False (a version is written in place, its marker last), and ``lock`` is an
    object per writer kept fresh by a heartbeat (:meth:`lock`), so a lock left by a killed writer
    goes stale after :attr:`LOCK_STALE_SECONDS`.
    Existence checks are answered from one listing of the destination taken when first asked
    (and kept up to date by this writer), not by a request per file.
    """

    renames = False
    LOCKS = ".lantai-backup.lock"
    LOCK_STALE_SECONDS = 900
    HEARTBEAT_SECONDS = 60

    def __init__(self, url: str, s3: Any, *, fsync: bool = True) -> None:

        _scheme, bucket, prefix = parse_root_url(url)
        self.backend = S3Backend(bucket, prefix, s3, url)
        self.fsync = fsync  # of local files written by copy_out
        self._listing: set[str] | None = None
        self._listing_lock = threading.Lock()

    @property
    def url(self) -> str:
        return str(self.backend.url)

    def inside(self, directory: Path) -> bool:
        return False

    def _known(self) -> set[str]:
        with self._listing_lock:
            if self._listing is None:
                self._listing = set(self.backend.keys())
            return self._listing

    def _added(self, relative: str) -> None:
        with self._listing_lock:
            if self._listing is not None:
                self._listing.add(relative)

    # -- reading ---------------------------------------------------------------------------
    def exists(self, relative: str) -> bool:
        return _safe_relative(relative) in self._known()

    def size(self, relative: str) -> int:
        size = self.backend.size(_safe_relative(relative))
        return -1 if size is None else size

    def read_bytes(self, relative: str) -> bytes:
        try:
            return self.backend.read(_safe_relative(relative))
        except NotFound:
            raise NotFound(f"备份中缺少文件 {relative}", f"file missing from the backup: {relative}") from None

    def digest(self, relative: str, algorithms: tuple[str, ...] = ALGORITHMS) -> dict[str, str] | None:
        """Digests of an object, streamed (memory stays flat); None when missing or unreadable."""
        import hashlib

        hashes = {name: hashlib.new(name) for name in algorithms}
        try:
            with contextlib.closing(self.backend.open(_safe_relative(relative))) as body:
                while chunk := body.read(1 << 20):
                    for h in hashes.values():
                        h.update(chunk)
        except StorageError:
            return None
        return {name: h.hexdigest() for name, h in hashes.items()}

    # -- writing ---------------------------------------------------------------------------
    @contextlib.contextmanager
    def lock(self) -> Iterator[None]:
        """One writer per destination, across processes and machines.

        Each writer puts ``.lantai-backup.lock/<start time>-<token>`` and rewrites it every
        :attr:`HEARTBEAT_SECONDS`; the writer whose fresh lock sorts first holds the destination,
        any later one withdraws its own and is refused. A lock not rewritten for
        :attr:`LOCK_STALE_SECONDS` belongs to a writer that died and is ignored. (Conditional
        writes would be simpler, but Ceph RGW ignores ``If-None-Match`` on versioned buckets, and
        object-lock buckets are always versioned.)
        """
        self.prepare()
        now = dt.datetime.now(dt.UTC)
        key = f"{self.LOCKS}/{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:12]}"
        body = json.dumps({"host": socket.gethostname(), "pid": os.getpid(), "since": now.isoformat()}).encode("utf-8")
        self.backend.put_plain(key, body)
        fresh = [k for k, modified in self.backend.modified(f"{self.LOCKS}/")
                 if (dt.datetime.now(dt.UTC) - modified).total_seconds() < self.LOCK_STALE_SECONDS]
        if fresh and fresh[0] != key:
            with contextlib.suppress(StorageError, NotFound):
                self.backend.delete_current(key)
            holder = self._holder(fresh[0])
            raise StorageError(f"另一个备份正在写入 {self.url}（{holder.get('host', '')} 进程 {holder.get('pid', '')}，"
                               f"开始于 {holder.get('since', '')}）", f"another backup is writing to {self.url}",
                               holder=holder)
        stop = threading.Event()
        beat = threading.Thread(target=self._heartbeat, args=(key, body, stop), daemon=True, name="backup-lock")
        beat.start()
        try:
            yield
        finally:
            stop.set()
            beat.join(timeout=5)
            with contextlib.suppress(StorageError, NotFound):
                self.backend.delete_current(key)

    def _holder(self, key: str) -> dict[str, Any]:
        try:
            holder = json.loads(self.backend.read(key))
        except (StorageError, NotFound, ValueError):
            return {}
        return holder if isinstance(holder, dict) else {}

    def _heartbeat(self, key: str, body: bytes, stop: threading.Event) -> None:
        while not stop.wait(self.HEARTBEAT_SECONDS):
            with contextlib.suppress(StorageError):
                self.backend.put_plain(key, body)

    def prepare(self) -> None:
        """Reach the bucket, creating it (with object lock, hence versioning) when it is absent."""
        self.backend.create_bucket()

    def copy_in(self, relative: str, source: Path, algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
        """Upload a local file (parts read and sent on several threads) while digesting it on another."""
        from concurrent.futures import ThreadPoolExecutor

        key = _safe_relative(relative)
        try:
            with ThreadPoolExecutor(max_workers=1) as pool:
                digests = pool.submit(digest_file, source, algorithms)
                size = self.backend.put_file(key, source)
                found, digested = digests.result()
        except OSError as exc:
            raise StorageError(f"无法读取 {source}: {exc}", f"cannot read {source}: {exc}") from exc
        if digested != size:
            raise StorageError(f"{source} 在复制期间发生变化", f"{source} changed while it was copied")
        self._added(key)
        return found, size

    def copy_in_prefix(self, relative: str, source: Path, length: int) -> tuple[dict[str, str], int]:
        with open(source, "rb") as fh:
            return self._write_stream(relative, _Prefix(fh, length))

    def write_bytes(self, relative: str, data: bytes) -> None:
        self._write_stream(relative, io.BytesIO(data), ())

    def copy_out(self, relative: str, target: Path, algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
        """Stream an object to a local path (atomically), digesting it."""
        try:
            body = self.backend.open(_safe_relative(relative))
        except NotFound:
            raise NotFound(f"备份中缺少文件 {relative}", f"file missing from the backup: {relative}") from None
        try:
            with contextlib.closing(body):
                return _atomic_copy(body, target, fsync=self.fsync, algorithms=algorithms)
        except OSError as exc:
            raise _translate(exc, target) from exc

    def publish_dir(self, partial: str, final: str) -> None:
        """Nothing to rename: a version was written under its final keys, its marker last."""

    def remove_tree(self, relative: str) -> None:
        """Hide every object under a prefix (a delete marker each; retained versions stay retained)."""
        prefix = _safe_relative(relative) + "/"
        for key in [k for k in self._known() if k.startswith(prefix)]:
            with contextlib.suppress(StorageError, NotFound):
                self.backend.delete_current(key)
            with self._listing_lock:
                self._listing.discard(key)  # type: ignore[union-attr]

    def _write_stream(self, relative: str, stream: Any,
                      algorithms: tuple[str, ...] = ALGORITHMS) -> tuple[dict[str, str], int]:
        import hashlib

        key = _safe_relative(relative)
        hashes = [hashlib.new(name) for name in algorithms]

        def update(chunk: bytes) -> None:
            for h in hashes:
                h.update(chunk)

        size = self.backend.put(key, stream, on_chunk=update)
        self._added(key)
        return {name: h.hexdigest() for name, h in zip(algorithms, hashes, strict=True)}, size


Target = BackupTarget | S3BackupTarget


def open_backup_target(url: str, *, fsync: bool = True, s3: Any = None) -> Target:
    """A destination from ``file:///…``, a plain path or ``s3://bucket/prefix`` (``s3``: the
    settings' :class:`~lantai.storage.backends.S3Options`); other schemes are refused clearly."""
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        path = unquote(parsed.path) if parsed.scheme == "file" else url
        if not path:
            raise BadInput("备份位置为空", "empty backup location")
        return BackupTarget(Path(path).expanduser(), fsync=fsync)
    if parsed.scheme == "s3":
        from lantai.storage.backends import S3Options

        if not parsed.netloc:
            raise BadInput(f"S3 备份位置缺少存储桶: {url}（应为 s3://存储桶/前缀）",
                           f"the S3 backup location names no bucket: {url} (s3://bucket/prefix)", url=url)
        return S3BackupTarget(url, s3 or S3Options(), fsync=fsync)
    raise BadInput(f"不支持的备份位置: {url}", f"unsupported backup location: {url}", url=url)
