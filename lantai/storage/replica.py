"""An OCFL storage root on any :mod:`backend <lantai.storage.backends>`: what replication,
scheduled fixity and repair need to read, copy and check objects on a root that is not the
primary store (a second disk, a mounted off-site share, an S3 bucket) — and on the primary too,
seen through a file backend, so every root is checked and repaired the same way.

The layout is the primary's (:mod:`lantai.storage.ocfl`, extension 0003), so each root is a
complete OCFL storage root that OCFL tools can read on its own.

Copy order keeps a root consistent at every moment: an object's content files and version
inventories go first, its root inventory and sidecar last. A copy interrupted half-way leaves the
object at its previous version (extra content files of a version not yet declared are harmless
and are overwritten with the same bytes when the copy is retried).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from lantai.errors import BadInput, Conflict, FixityMismatch, NotFound, StorageError
from lantai.storage.backends import CHUNK, Backend
from lantai.storage.ocfl import (
    FIXITY_ALGORITHM,
    OBJECT_DECLARATION,
    ROOT_DECLARATION,
    object_relative_path,
    root_files,
    sidecar_bytes,
)

_VERSION_OF = re.compile(r"^v([1-9]\d*)/")
INVENTORY = "inventory.json"  # how repairs and problems name an object's inventories


@dataclass(frozen=True)
class ContentFile:
    """One content file an inventory names: where it sits in the object and its digests."""

    content_path: str
    sha512: str
    sm3: str


@dataclass(frozen=True)
class FileCheck:
    """The outcome of checking one content file on one root (``actual`` says why it failed)."""

    content_path: str
    ok: bool
    actual: str
    size: int


@dataclass
class CopyResult:
    """What copying one object to a root did."""

    object_id: str
    version: int
    files: int = 0
    bytes: int = 0


def content_files(inventory: dict) -> list[ContentFile]:
    """Every content file of every version an inventory names, with its SHA-512 and SM3."""
    sm3_of = {p: d for d, paths in inventory.get("fixity", {}).get(FIXITY_ALGORITHM, {}).items() for p in paths}
    return [ContentFile(path, sha512, sm3_of.get(path, "")) for sha512, paths in inventory["manifest"].items()
            for path in paths]


def version_of(content_path: str) -> int:
    match = _VERSION_OF.match(content_path)
    return int(match.group(1)) if match else 0


class OcflRoot:
    """One named OCFL storage root on a backend."""

    def __init__(self, name: str, backend: Backend) -> None:
        self.name = name
        self.backend = backend

    @property
    def url(self) -> str:
        return self.backend.url

    # -- root ------------------------------------------------------------------------------
    def initialise(self) -> None:
        """Write the root's declaration files if absent (idempotent)."""
        self.backend.check()
        if self.backend.exists(ROOT_DECLARATION):
            return
        for key, data in root_files().items():
            self.backend.put_bytes(key, data)

    def key(self, object_id: str, path: str = "") -> str:
        base = object_relative_path(object_id)
        return f"{base}/{path}" if path else base

    # -- inventories -----------------------------------------------------------------------
    def inventory_bytes(self, object_id: str, version: str | None = None) -> bytes | None:
        """The bytes of the root (or ``vN``) inventory when they match their sidecar; None when absent.

        A mismatch raises :class:`FixityMismatch`: a torn or damaged inventory is never trusted.
        """
        base = f"{version}/" if version else ""
        try:
            data = self.backend.read(self.key(object_id, f"{base}inventory.json"))
            sidecar = self.backend.read(self.key(object_id, f"{base}inventory.json.sha512")).split()
        except NotFound:
            return None
        if not sidecar or sidecar[0].decode("ascii", "replace") != hashlib.sha512(data).hexdigest():
            raise FixityMismatch(f"对象 {object_id} 的清单与其校验文件不符（{self.name}）",
                                 f"inventory of {object_id} does not match its sidecar on {self.name}")
        return data

    def inventory(self, object_id: str) -> dict | None:
        data = self.inventory_bytes(object_id)
        return json.loads(data) if data is not None else None

    def head(self, object_id: str) -> int:
        """The object's head version on this root; 0 when absent or its inventory is not trustworthy."""
        try:
            inventory = self.inventory(object_id)
        except (FixityMismatch, ValueError):
            return 0
        return int(inventory["head"][1:]) if inventory else 0

    # -- content ---------------------------------------------------------------------------
    def open_content(self, object_id: str, content_path: str) -> BinaryIO:
        return self.backend.open(self.key(object_id, content_path))

    def check_content(self, object_id: str, item: ContentFile) -> FileCheck:
        """Stream one content file through SM3 (memory stays flat) and compare with the inventory."""
        digest = hashlib.new(FIXITY_ALGORITHM)
        size = 0
        try:
            with self.open_content(object_id, item.content_path) as fh:
                while chunk := fh.read(CHUNK):
                    digest.update(chunk)
                    size += len(chunk)
        except NotFound:
            return FileCheck(item.content_path, False, "missing", -1)
        except (StorageError, OSError) as exc:
            return FileCheck(item.content_path, False, f"unreadable: {exc}", size)
        actual = digest.hexdigest()
        return FileCheck(item.content_path, actual == item.sm3, actual, size)

    def destroy_content(self, object_id: str, content_paths: list[str]) -> list[str]:
        """Delete these content files of the object on this root (a destruction, after the tombstone
        version is committed); idempotent. ``RetentionLocked`` when object lock still holds one."""
        deleted = []
        for content_path in content_paths:
            if not re.fullmatch(r"v[1-9]\d*/content/.+", content_path) or ".." in content_path.split("/"):
                raise BadInput(f"非法的内容路径: {content_path!r}", f"illegal content path: {content_path!r}")
            if self.backend.delete(self.key(object_id, content_path)):
                deleted.append(content_path)
        return deleted

    def put_content(self, object_id: str, item: ContentFile, source: BinaryIO) -> int:
        """Write one content file, checking its SM3 while it streams; a file that does not match
        the inventory is refused (on a file root before it replaces anything; S3 makes a key
        visible only when its upload completes, so the bad bytes are reported, not served as
        the object's state: no inventory names them until a good copy has been written)."""
        digest = hashlib.new(FIXITY_ALGORITHM)
        verified = _Verifying(source, digest, item, object_id, self.name)
        size = self.backend.put(self.key(object_id, item.content_path), verified, on_chunk=None)
        verified.finish()  # a backend that stopped reading at the size it expected never saw the end
        return size

    def put_local_content(self, object_id: str, item: ContentFile, path: Path) -> int:
        """Write one content file from a local file, on a backend that uploads files itself (S3).

        The upload reads its parts on several threads (a stream it could not seek would be read
        and sent one part at a time); the SM3 of the same file is computed meanwhile on another
        thread. Committed OCFL content never changes, and the file's size and modification time
        are compared before and after: a mismatch of either, or of the SM3 with the inventory,
        refuses the copy as :meth:`put_content` does (the key's bad bytes are named by no inventory).
        """
        try:
            before = os.stat(path)
        except FileNotFoundError:
            raise NotFound(f"源文件缺失: {object_id} / {item.content_path}",
                           f"source file missing: {object_id} / {item.content_path}") from None
        with ThreadPoolExecutor(max_workers=1) as pool:
            digest = pool.submit(_sm3_of_file, path)
            size = self.backend.put_file(self.key(object_id, item.content_path), path)  # type: ignore[attr-defined]
            try:
                actual = digest.result()
            except OSError as exc:
                raise StorageError(f"无法读取源文件 {path}: {exc}", f"cannot read the source file {path}: {exc}") from exc
        after = os.stat(path)
        if actual != item.sm3 or size != before.st_size or (before.st_size, before.st_mtime_ns) != (
                after.st_size, after.st_mtime_ns):
            raise FixityMismatch(f"源文件摘要与清单不符，拒绝复制: {object_id} / {item.content_path}",
                                 f"source copy does not match the inventory, not copied to {self.name}: "
                                 f"{object_id} / {item.content_path}", object=object_id, file=item.content_path)
        return size

    # -- copying an object -----------------------------------------------------------------
    def copy_object_from(self, source: OcflRoot, object_id: str,
                         on_bytes: Callable[[int], None] | None = None) -> CopyResult:
        """Bring this root's copy of an object up to the source's head, versions it lacks only.

        Every content file is checked against the source inventory's SM3 as it streams, so a
        damaged source copy is never propagated (:class:`FixityMismatch`, nothing declared).
        """
        root_inventory = source.inventory_bytes(object_id)
        if root_inventory is None:
            raise NotFound(f"{source.name} 中没有对象 {object_id}", f"no object {object_id} on {source.name}")
        inventory = json.loads(root_inventory)
        head = int(inventory["head"][1:])
        have = self.head(object_id)
        result = CopyResult(object_id, head)
        if have > head:
            raise Conflict(f"{self.name} 中对象 {object_id} 的版本 v{have} 比源 {source.name} 的 v{head} 更新",
                           f"{self.name} holds v{have} of {object_id}, newer than {source.name}'s v{head}")
        if have == head:
            return result
        if have == 0:
            self.backend.put_bytes(self.key(object_id, OBJECT_DECLARATION), b"ocfl_object_1.1\n")
        for item in content_files(inventory):
            if version_of(item.content_path) <= have:
                continue
            local = source.backend.local_path(source.key(object_id, item.content_path))
            if local is not None and hasattr(self.backend, "put_file"):
                size = self.put_local_content(object_id, item, local)
            else:
                with source.open_content(object_id, item.content_path) as fh:
                    size = self.put_content(object_id, item, fh)
            result.files += 1
            result.bytes += size
            if on_bytes:
                on_bytes(size)
        for number in range(have + 1, head + 1):
            data = source.inventory_bytes(object_id, f"v{number}")
            if data is None:
                raise StorageError(f"{source.name} 中对象 {object_id} 缺少 v{number} 的清单",
                                   f"{source.name} lacks the v{number} inventory of {object_id}")
            self.put_inventory(object_id, f"v{number}/", data)
        self.put_inventory(object_id, "", root_inventory)  # last: now the root declares the new head
        return result

    def restore_inventories_from(self, source: OcflRoot, object_id: str, head: int) -> None:
        """Rewrite the object's declaration and inventories up to ``head`` from ``source``'s sound ones
        (the root inventory is ``v{head}``'s, byte for byte, as OCFL has it)."""
        if not self.backend.exists(self.key(object_id, OBJECT_DECLARATION)):
            self.backend.put_bytes(self.key(object_id, OBJECT_DECLARATION), b"ocfl_object_1.1\n")
        for number in range(1, head + 1):
            data = source.inventory_bytes(object_id, f"v{number}")
            if data is None:
                raise NotFound(f"{source.name} 中对象 {object_id} 缺少 v{number} 的清单",
                               f"{source.name} lacks the v{number} inventory of {object_id}")
            self.put_inventory(object_id, f"v{number}/", data)
        root_inventory = source.inventory_bytes(object_id, f"v{head}")
        assert root_inventory is not None  # read just above
        self.put_inventory(object_id, "", root_inventory)

    def put_inventory(self, object_id: str, base: str, data: bytes) -> None:
        """Write an inventory and its sidecar (``base``: "" for the root one, "vN/" for a version's)."""
        self.backend.put_bytes(self.key(object_id, f"{base}inventory.json"), data)  # one request each on S3
        self.backend.put_bytes(self.key(object_id, f"{base}inventory.json.sha512"), sidecar_bytes(data))


def _sm3_of_file(path: Path) -> str:
    digest = hashlib.new(FIXITY_ALGORITHM)
    with open(path, "rb", buffering=0) as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


class _Verifying:
    """A file object that digests what it hands out and, at end of stream, refuses a mismatch."""

    def __init__(self, source: BinaryIO, digest: hashlib._Hash, item: ContentFile, object_id: str, root: str) -> None:
        self._source, self._digest, self._item, self._object_id, self._root = source, digest, item, object_id, root

    def read(self, n: int = -1) -> bytes:
        chunk = self._source.read(n)
        if chunk:
            self._digest.update(chunk)
        else:
            self.finish()
        return chunk

    def finish(self) -> None:
        if self._digest.hexdigest() != self._item.sm3:
            raise FixityMismatch(f"源文件摘要与清单不符，拒绝复制: {self._object_id} / {self._item.content_path}",
                                 f"source copy does not match the inventory, not copied to {self._root}: "
                                 f"{self._object_id} / {self._item.content_path}",
                                 object=self._object_id, file=self._item.content_path)
