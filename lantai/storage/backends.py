"""Where a storage root's bytes live: a local or mounted file system, or S3-compatible object storage.

A backend knows keys (``/``-separated paths under the root) and bytes, nothing of OCFL; the
layout lives in :mod:`lantai.storage.ocfl` and :mod:`lantai.storage.replica`. Each backend writes a
key atomically — a reader sees the old bytes or the new ones, never a torn file — and raises
:class:`RootUnavailable` when the root cannot be reached at all (an unmounted disk, a gateway that
does not answer), which replication treats as "wait and retry", and :class:`StorageError` or
:class:`~lantai.errors.DiskFull` when a write failed (nothing half-written is left under the key).

URLs: ``file:///absolute/path`` and ``s3://bucket/prefix``. S3 credentials and the endpoint come
from settings, never from the URL, so a root's URL can be shown and journalled as it is.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import errno
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol
from urllib.parse import unquote, urlsplit

from lantai.errors import BadInput, DiskFull, NotFound, StorageError

CHUNK = 1024 * 1024


class RootUnavailable(StorageError):
    """The root cannot be reached right now (network, mount, gateway): retry later, lose nothing."""

    code = "root_unavailable"


class RetentionLocked(StorageError):
    """A write-once (object lock) root refuses to delete bytes whose retention has not expired."""

    code = "retention_locked"


class Backend(Protocol):
    """What a storage root needs from where its bytes live."""

    url: str
    locked: bool  # writes are retained under object lock (nobody can delete or overwrite them)

    def check(self) -> None: ...
    def exists(self, key: str) -> bool: ...
    def size(self, key: str) -> int | None: ...
    def read(self, key: str) -> bytes: ...
    def open(self, key: str) -> BinaryIO: ...
    def put(self, key: str, source: BinaryIO, on_chunk: Callable[[bytes], None] | None = None) -> int: ...
    def put_bytes(self, key: str, data: bytes) -> None: ...
    def keys(self, prefix: str = "") -> Iterator[str]: ...
    def local_path(self, key: str) -> Path | None: ...
    def delete(self, key: str) -> bool: ...


@dataclass(frozen=True)
class S3Options:
    """Connection and retention settings of S3 roots (from :class:`lantai.settings.Settings`)."""

    endpoint_url: str | None = None
    access_key: str | None = None
    secret_key: str | None = None
    region: str = "us-east-1"
    object_lock_days: int = 0  # COMPLIANCE retention of every write, where the bucket has object lock
    connect_timeout: float = 5.0


def parse_root_url(url: str) -> tuple[str, str, str]:
    """``(scheme, location, prefix)`` of a root URL; refuses anything but file:// and s3://."""
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path.startswith("/") and parts.netloc in ("", "localhost"):
        return "file", unquote(parts.path), ""
    if parts.scheme == "s3" and parts.netloc:
        return "s3", parts.netloc, unquote(parts.path).strip("/")
    raise BadInput(f"无法识别的存储根地址: {url!r}（应为 file:///绝对路径 或 s3://存储桶/前缀）",
                   f"unrecognised storage root URL: {url!r} (file:///absolute/path or s3://bucket/prefix)")


def open_backend(url: str, s3: S3Options | None = None) -> Backend:
    """The backend a root URL names (nothing is contacted yet)."""
    scheme, location, prefix = parse_root_url(url)
    if scheme == "file":
        return FileBackend(Path(location), url)
    return S3Backend(location, prefix, s3 or S3Options(), url)


class FileBackend:
    """A directory on a local or mounted file system. The directory must exist: a root whose mount
    point vanished is unavailable, not silently recreated on the wrong disk."""

    locked = False

    def __init__(self, root: Path, url: str | None = None, *, fsync: bool = True) -> None:
        self.root = root
        self.url = url or root.as_uri()
        self.fsync = fsync

    def check(self) -> None:
        if not self.root.is_dir():
            raise RootUnavailable(f"存储根目录不可用: {self.root}", f"storage root not reachable: {self.root}")

    def _path(self, key: str) -> Path:
        return self.root / key

    def local_path(self, key: str) -> Path | None:
        return self._path(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int | None:
        try:
            return self._path(key).stat().st_size
        except OSError:
            return None

    def read(self, key: str) -> bytes:
        with self.open(key) as fh:
            return fh.read()

    def open(self, key: str) -> BinaryIO:
        self.check()
        try:
            return open(self._path(key), "rb")
        except FileNotFoundError:
            raise NotFound(f"存储根中没有 {key}", f"no {key} in the root") from None
        except OSError as exc:
            raise StorageError(f"无法读取 {key}: {exc}", f"cannot read {key}: {exc}") from exc

    def put(self, key: str, source: BinaryIO, on_chunk: Callable[[bytes], None] | None = None) -> int:
        """Write to a temporary name beside the key, flush, then rename over it."""
        self.check()
        target = self._path(key)
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.tmp")
        size = 0
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(tmp, "xb") as out:
                while chunk := source.read(CHUNK):
                    if on_chunk:
                        on_chunk(chunk)
                    out.write(chunk)
                    size += len(chunk)
                if self.fsync:
                    out.flush()
                    os.fsync(out.fileno())
            os.replace(tmp, target)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            if isinstance(exc, OSError):
                if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
                    raise DiskFull(f"存储根空间已满: {self.root}", f"no space left on {self.root}") from exc
                raise StorageError(f"写入 {key} 失败: {exc}", f"writing {key} failed: {exc}") from exc
            raise
        return size

    def put_bytes(self, key: str, data: bytes) -> None:
        import io

        self.put(key, io.BytesIO(data))

    def delete(self, key: str) -> bool:
        """Remove a file (a destruction); True when it was there. Empty directories are left to
        the caller's layout (OCFL content directories are removed by ``OcflRoot``)."""
        path = self._path(key)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        except OSError as exc:
            raise StorageError(f"无法删除 {key}: {exc}", f"cannot delete {key}: {exc}") from exc
        for parent in path.parents:  # OCFL forbids empty directories; stop at the first non-empty one
            if parent == self.root or not parent.is_relative_to(self.root):
                break
            try:
                parent.rmdir()
            except OSError:
                break
        return True

    def keys(self, prefix: str = "") -> Iterator[str]:
        base = self.root / prefix if prefix else self.root
        for dirpath, _dirs, files in os.walk(base):
            for name in files:
                yield os.path.relpath(os.path.join(dirpath, name), self.root).replace(os.sep, "/")


class S3Backend:
    """A bucket (and key prefix) on S3-compatible storage, through boto3.

    Where the bucket has object lock enabled and ``object_lock_days`` is set, every object is
    written in COMPLIANCE mode with that retention: nobody, the root account included, can delete
    or overwrite the stored version before it expires. A later write of the same key (the root
    inventory of a new OCFL version) becomes a new S3 version; the earlier ones stay retained.
    """

    def __init__(self, bucket: str, prefix: str, options: S3Options, url: str | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix
        self.options = options
        self.url = url or f"s3://{bucket}/{prefix}"
        self._client: Any = None
        self._locked: bool | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3  # only S3 roots pay for boto3's import
            from botocore.config import Config

            config = Config(s3={"addressing_style": "path"}, connect_timeout=self.options.connect_timeout,
                            read_timeout=60, retries={"max_attempts": 2, "mode": "standard"})
            self._client = boto3.client("s3", endpoint_url=self.options.endpoint_url, region_name=self.options.region,
                                        aws_access_key_id=self.options.access_key,
                                        aws_secret_access_key=self.options.secret_key, config=config)
        return self._client

    def _key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _call(self, what: str, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """Run one S3 request, translating boto's errors into the archive's error tree."""
        from botocore.exceptions import BotoCoreError, ClientError, EndpointConnectionError

        try:
            return fn(**kwargs)
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code", "")
            if code in ("NoSuchKey", "404", "NotFound"):
                raise NotFound(f"存储根中没有 {what}", f"no {what} in {self.url}") from None
            if code in ("NoSuchBucket",):
                raise RootUnavailable(f"存储桶不存在: {self.bucket}", f"no such bucket: {self.bucket}") from exc
            if code in ("EntityTooLarge", "QuotaExceeded", "InsufficientCapacity"):
                raise DiskFull(f"对象存储空间不足: {self.url}", f"object storage full: {self.url} ({code})") from exc
            raise StorageError(f"对象存储请求失败（{what}）: {code}", f"S3 request failed ({what}): {exc}") from exc
        except EndpointConnectionError as exc:
            raise RootUnavailable(f"对象存储不可达: {self.options.endpoint_url}",
                                  f"object storage not reachable: {exc}") from exc
        except BotoCoreError as exc:
            raise RootUnavailable(f"对象存储不可达: {exc}", f"object storage not reachable: {exc}") from exc

    @property
    def locked(self) -> bool:
        """Whether writes carry COMPLIANCE retention (the bucket has object lock and a retention is set)."""
        if self._locked is None:
            if self.options.object_lock_days <= 0:
                self._locked = False
            else:
                try:
                    config = self._call("object lock", self.client.get_object_lock_configuration, Bucket=self.bucket)
                    self._locked = config.get("ObjectLockConfiguration", {}).get("ObjectLockEnabled") == "Enabled"
                except (StorageError, NotFound) as exc:
                    if isinstance(exc, RootUnavailable):
                        raise
                    self._locked = False
        return self._locked

    def check(self) -> None:
        try:
            self._call("bucket", self.client.head_bucket, Bucket=self.bucket)
        except NotFound:  # HEAD answers a bare 404 for a missing bucket
            raise RootUnavailable(f"存储桶不存在: {self.bucket}", f"no such bucket: {self.bucket}") from None

    def create_bucket(self) -> None:
        """Create the bucket with object lock (and so versioning) enabled, if it is not there."""
        try:
            self.check()
        except RootUnavailable:
            self._call("bucket", self.client.create_bucket, Bucket=self.bucket, ObjectLockEnabledForBucket=True)
            self._locked = None

    def local_path(self, key: str) -> Path | None:
        return None

    def exists(self, key: str) -> bool:
        return self.size(key) is not None

    def size(self, key: str) -> int | None:
        try:
            head = self._call(key, self.client.head_object, Bucket=self.bucket, Key=self._key(key))
        except NotFound:
            return None
        return int(head["ContentLength"])

    def read(self, key: str) -> bytes:
        with contextlib.closing(self.open(key)) as body:
            return body.read()

    def open(self, key: str) -> BinaryIO:
        response = self._call(key, self.client.get_object, Bucket=self.bucket, Key=self._key(key))
        return response["Body"]  # a streaming body: read in chunks, memory stays flat

    def _retention(self) -> dict[str, Any]:
        if not self.locked:
            return {}
        until = dt.datetime.now(dt.UTC) + dt.timedelta(days=self.options.object_lock_days)
        return {"ObjectLockMode": "COMPLIANCE", "ObjectLockRetainUntilDate": until}

    @staticmethod
    def _transfer() -> Any:
        from boto3.s3.transfer import TransferConfig

        return TransferConfig(multipart_threshold=64 * CHUNK, multipart_chunksize=16 * CHUNK, max_concurrency=4)

    def put(self, key: str, source: BinaryIO, on_chunk: Callable[[bytes], None] | None = None) -> int:
        """Stream ``source`` up (multipart above 64 MB); S3 makes the key appear only when complete."""
        reader = _Tap(source, on_chunk)
        self._call(key, self.client.upload_fileobj, Fileobj=reader, Bucket=self.bucket, Key=self._key(key),
                   ExtraArgs=self._retention(), Config=self._transfer())
        return reader.size

    def put_file(self, key: str, path: Path) -> int:
        """Upload a local file; its parts are read and sent on several threads (multipart above 64 MB)."""
        try:
            size = path.stat().st_size
        except FileNotFoundError:
            raise NotFound(f"本地文件缺失: {path}", f"local file missing: {path}") from None
        self._call(key, self.client.upload_file, Filename=str(path), Bucket=self.bucket, Key=self._key(key),
                   ExtraArgs=self._retention(), Config=self._transfer())
        return size

    def delete(self, key: str) -> bool:
        """Remove every version of a key (a destruction); ``RetentionLocked`` while object lock
        retention holds any of them. True when something was deleted."""
        prefix = self._key(key)
        listed = self._call(key, self.client.list_object_versions, Bucket=self.bucket, Prefix=prefix)
        versions = [v for kind in ("Versions", "DeleteMarkers") for v in listed.get(kind, []) if v["Key"] == prefix]
        for version in versions:
            try:
                self._call(key, self.client.delete_object, Bucket=self.bucket, Key=prefix, VersionId=version["VersionId"])
            except StorageError as exc:
                if "AccessDenied" in str(exc.message_en) or "object lock" in str(exc.message_en).lower():
                    raise RetentionLocked(f"对象锁定保留期未满，暂不能删除 {key}（{self.url}）；到期后销毁将继续",
                                          f"object lock retention still holds {key} on {self.url}; the destruction "
                                          "resumes when it expires", key=key) from exc
                raise
        return bool(versions)

    def put_bytes(self, key: str, data: bytes) -> None:
        self._call(key, self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data, **self._retention())

    def put_plain(self, key: str, data: bytes) -> None:
        """Write a small object without retention (bookkeeping such as a writer's lock, not records)."""
        self._call(key, self.client.put_object, Bucket=self.bucket, Key=self._key(key), Body=data)

    def modified(self, prefix: str) -> list[tuple[str, dt.datetime]]:
        """(key, last modified) of the current objects under a prefix, in key order."""
        paginator = self.client.get_paginator("list_objects_v2")
        pages = self._call("list", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=self._key(prefix))))
        cut = len(self.prefix) + 1 if self.prefix else 0
        return sorted((obj["Key"][cut:], obj["LastModified"]) for page in pages for obj in page.get("Contents", []))

    def delete_current(self, key: str) -> None:
        """Hide a key (a delete marker where the bucket keeps versions; retained versions stay)."""
        self._call(key, self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def keys(self, prefix: str = "") -> Iterator[str]:
        paginator = self.client.get_paginator("list_objects_v2")
        start = self._key(prefix) if prefix else (f"{self.prefix}/" if self.prefix else "")
        pages = self._call("list", lambda: list(paginator.paginate(Bucket=self.bucket, Prefix=start)))
        cut = len(self.prefix) + 1 if self.prefix else 0
        for page in pages:
            for obj in page.get("Contents", []):
                yield obj["Key"][cut:]


class _Tap:
    """A read-only file object that shows every chunk read to a callback (digest while uploading)."""

    def __init__(self, source: BinaryIO, on_chunk: Callable[[bytes], None] | None) -> None:
        self._source = source
        self._on_chunk = on_chunk
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        chunk = self._source.read(n)
        if chunk:
            self.size += len(chunk)
            if self._on_chunk:
                self._on_chunk(chunk)
        return chunk
