"""An OCFL 1.1 storage root on local disk: one object per archived item, a new version per change.

Only this module knows the on-disk layout. Objects use storage-layout extension 0003 (hashed
n-tuple tree with the object id as the encapsulating directory) so ``ocfl-py`` and other OCFL
tools can walk the root. Inventories use SHA-512 as OCFL requires; SM3 sits in the fixity block.

Atomicity. A version is built completely in a staging directory on the same file system, with
its own ``vN/inventory.json`` and sidecar, and is then moved in with ``rename``:

* a new object (v1) is one directory rename — it is either absent or complete;
* a later version renames ``vN`` into the object, then replaces the root inventory and sidecar
  with ``os.replace``. A crash between those steps leaves a complete ``vN`` whose inventory is
  newer than the root's; :meth:`OcflStore.reconcile_object` finishes the job by copying the
  newest version inventory to the root. Nothing is ever overwritten in place.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import datetime as dt
import fcntl
import functools
import hashlib
import json
import os
import re
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from lantai.crypto.digests import copy_and_digest, digest_file
from lantai.errors import BadInput, NotFound, StorageError, storage_error
from lantai.storage.inspect import ObjectInspection, inspect_object

OCFL_VERSION = "1.1"
INVENTORY_TYPE = "https://ocfl.io/1.1/spec/#inventory"
LAYOUT_EXTENSION = "0003-hash-and-id-n-tuple-storage-layout"
DIGEST_ALGORITHM = "sha512"
FIXITY_ALGORITHM = "sm3"
ROOT_DECLARATION = "0=ocfl_1.1"
OBJECT_DECLARATION = "0=ocfl_object_1.1"
INVENTORY_FILE = "inventory.json"  # what exports and findings call an object's inventory


@dataclass(frozen=True, slots=True)
class StoredFile:
    """A file as the store knows it: logical path in a version plus its digests and size."""

    logical_path: str
    sha512: str
    sm3: str
    size: int
    content_path: str = ""


@dataclass
class PreparedVersion:
    """A version fully written to staging, ready for :meth:`OcflStore.commit`."""

    object_id: str
    version: int
    staging_dir: Path
    inventory: dict
    files: list[StoredFile] = field(default_factory=list)


# Characters extension 0003 keeps as they are in the object directory name; others are %-encoded.
_UNENCODED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")


def _now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _safe_logical_path(path: str) -> str:
    """Refuse logical paths that could escape the object or break OCFL's path rules."""
    pure = PurePosixPath(path)
    if (
        not path
        or path.startswith("/")
        or "\\" in path
        or any(part in ("", ".", "..") for part in path.split("/"))
        or any(ord(c) < 32 for c in path)
        or str(pure) != path
    ):
        raise BadInput(f"非法的逻辑路径: {path!r}", f"illegal logical path: {path!r}")
    return path


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@functools.cache
def _libc() -> ctypes.CDLL:
    """Loaded once: ``find_library`` runs ``ldconfig -p`` in a subprocess on every call."""
    return ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)


def sync_filesystem(path: Path) -> None:
    """Flush everything written to the file system holding ``path`` with one syncfs(2) call.

    Cheaper than an fsync per file and per directory when many small files were staged: the same
    data reaches the disk, in one request. Falls back to sync(2) where syncfs is unavailable.
    """
    fd = os.open(path, os.O_RDONLY)
    try:
        libc = _libc()
        if getattr(libc, "syncfs", None) is None or libc.syncfs(fd) != 0:
            os.sync()
    except OSError:
        os.sync()
    finally:
        os.close(fd)


def _fsync_tree(path: Path) -> None:
    for dirpath, _dirnames, filenames in os.walk(path):
        for name in filenames:
            fd = os.open(os.path.join(dirpath, name), os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
        _fsync_dir(Path(dirpath))


def _remove_empty_dirs(top: Path) -> None:
    """OCFL forbids empty directories in content; deduplication can leave some behind."""
    if not top.is_dir():
        return
    for dirpath, _dirnames, _filenames in os.walk(top, topdown=False):
        with contextlib.suppress(OSError):
            os.rmdir(dirpath)  # only succeeds when empty


def _inventory_bytes(inventory: dict) -> bytes:
    return json.dumps(inventory, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8")


def _write_inventory(directory: Path, inventory: dict | bytes) -> None:
    data = inventory if isinstance(inventory, bytes) else _inventory_bytes(inventory)
    (directory / "inventory.json").write_bytes(data)
    (directory / "inventory.json.sha512").write_bytes(sidecar_bytes(data))


def new_object_content_dir(staging_dir: Path) -> Path:
    """Where a new object's version keeps its content while it is built in ``staging_dir``.

    Ingest copies submitted files straight here, so building the version moves nothing; the
    staging directory then becomes the object itself (see :meth:`VersionBuilder.prepare`).
    Nothing but the version may be put in such a staging directory.
    """
    return staging_dir / "v1" / "content"


class VersionBuilder:
    """Collects the state of one new version in staging. Not thread-safe; one per commit."""

    def __init__(self, store: OcflStore, object_id: str, previous: dict | None, staging_dir: Path) -> None:
        self._store = store
        self.object_id = object_id
        self.previous = previous
        self.version = 1 if previous is None else int(previous["head"][1:]) + 1
        self.staging_dir = staging_dir
        self._vdir = staging_dir / f"v{self.version}"
        self._state: dict[str, StoredFile] = {}
        self._new_content: dict[str, StoredFile] = {}  # sha512 -> file stored in this version
        if previous is not None:
            self._state = dict(self._store._state_files(previous).items())

    @property
    def logical_paths(self) -> list[str]:
        return sorted(self._state)

    def add_stream(self, logical_path: str, source: BinaryIO, *, max_bytes: int | None = None) -> StoredFile:
        """Copy a stream into the version, computing SHA-512 and SM3 in the same pass."""
        logical_path = _safe_logical_path(logical_path)
        target = self._vdir / "content" / logical_path
        if target.exists():
            raise BadInput(f"重复的逻辑路径: {logical_path}", f"duplicate logical path: {logical_path}")
        digests, size = copy_and_digest(source, target, max_bytes=max_bytes, fsync=False)
        return self._record(logical_path, digests["sha512"], digests["sm3"], size, target)

    def add_bytes(self, logical_path: str, data: bytes) -> StoredFile:
        import io

        return self.add_stream(logical_path, io.BytesIO(data))

    def add_staged_file(self, logical_path: str, staged: Path, sha512: str, sm3: str, size: int) -> StoredFile:
        """Take a file that was already copied and digested in staging (same file system).

        A file staged where this version keeps it (see :func:`new_object_content_dir`) stays put;
        any other is moved in.
        """
        logical_path = _safe_logical_path(logical_path)
        target = self._vdir / "content" / logical_path
        if staged != target:
            target.parent.mkdir(parents=True, exist_ok=True)
            os.replace(staged, target)
        return self._record(logical_path, sha512, sm3, size, target)

    def remove(self, logical_path: str) -> None:
        self._state.pop(logical_path, None)

    def _record(self, logical_path: str, sha512: str, sm3: str, size: int, target: Path) -> StoredFile:
        existing_paths = self._store._manifest_paths(self.previous, sha512) if self.previous else []
        if existing_paths or sha512 in self._new_content:
            target.unlink()  # deduplicated: OCFL points the new logical path at the existing content
            content_path = existing_paths[0] if existing_paths else self._new_content[sha512].content_path
        else:
            content_path = f"v{self.version}/content/{logical_path}"
        stored = StoredFile(logical_path, sha512, sm3, size, content_path)
        if not existing_paths and sha512 not in self._new_content:
            self._new_content[sha512] = stored
        self._state[logical_path] = stored
        return stored

    def prepare(self, *, message: str, user_name: str, user_address: str = "urn:lantai:system",
                created: str | None = None) -> PreparedVersion:
        """Write the new inventory into staging and fsync everything staged."""
        inventory = self._build_inventory(message, user_name, user_address, created or _now())
        self._vdir.mkdir(parents=True, exist_ok=True)
        _remove_empty_dirs(self._vdir / "content")
        data = _inventory_bytes(inventory)  # the version's and the root's inventory are the same bytes
        _write_inventory(self._vdir, data)
        if self.version == 1:
            # The staging directory becomes the object: committing it is one rename that leaves
            # nothing to delete. (On file systems without a journal, ext4 scans past recently
            # deleted inodes on every create, so deleting per item slows every later item.)
            (self.staging_dir / OBJECT_DECLARATION).write_text("ocfl_object_1.1\n", encoding="utf-8")
            _write_inventory(self.staging_dir, data)
        if self._store.fsync:
            _fsync_tree(self.staging_dir)
        return PreparedVersion(self.object_id, self.version, self.staging_dir, inventory, list(self._state.values()))

    def _build_inventory(self, message: str, user_name: str, user_address: str, created: str) -> dict:
        prev = self.previous or {}
        manifest: dict[str, list[str]] = {k: list(v) for k, v in prev.get("manifest", {}).items()}
        fixity: dict[str, list[str]] = {k: list(v) for k, v in prev.get("fixity", {}).get(FIXITY_ALGORITHM, {}).items()}
        for sha512, stored in self._new_content.items():
            manifest.setdefault(sha512, []).append(stored.content_path)
            fixity.setdefault(stored.sm3, []).append(stored.content_path)
        state: dict[str, list[str]] = {}
        for logical, stored in sorted(self._state.items()):
            state.setdefault(stored.sha512, []).append(logical)
        versions = dict(prev.get("versions", {}))
        versions[f"v{self.version}"] = {
            "created": created,
            "message": message,
            "user": {"name": user_name, "address": user_address},
            "state": state,
        }
        return {
            "id": self.object_id,
            "type": INVENTORY_TYPE,
            "digestAlgorithm": DIGEST_ALGORITHM,
            "head": f"v{self.version}",
            "manifest": manifest,
            "versions": versions,
            "fixity": {FIXITY_ALGORITHM: fixity},
        }


def root_files() -> dict[str, bytes]:
    """The files of an empty storage root, in writing order (the declaration last), on any backend."""
    config = {"extensionName": LAYOUT_EXTENSION, "digestAlgorithm": "sha256", "tupleSize": 3, "numberOfTuples": 3}
    layout = {"extension": LAYOUT_EXTENSION, "description": "Hashed n-tuple tree with object id directory"}
    return {f"extensions/{LAYOUT_EXTENSION}/config.json": json.dumps(config, indent=2).encode("utf-8"),
            "ocfl_layout.json": json.dumps(layout, indent=2).encode("utf-8"),
            ROOT_DECLARATION: b"ocfl_1.1\n"}


def object_relative_path(object_id: str) -> str:
    """Where extension 0003 puts an object under any storage root (``/``-separated)."""
    return _object_relative_path(object_id)


def sidecar_bytes(inventory: bytes) -> bytes:
    """The ``inventory.json.sha512`` sidecar of an inventory's bytes."""
    return f"{hashlib.sha512(inventory).hexdigest()}  inventory.json\n".encode()


@functools.lru_cache(maxsize=65536)
def _object_relative_path(object_id: str) -> str:
    """Extension 0003: three 3-hex-digit tuples of the id's SHA-256, then the %-encoded id.

    Cached because ingest asks for the same objects' paths several times per commit.
    """
    digest = hashlib.sha256(object_id.encode("utf-8")).hexdigest()
    encoded = "".join(c if c in _UNENCODED else "".join(f"%{b:02x}" for b in c.encode()) for c in object_id)
    if len(encoded) > 100:
        encoded = f"{encoded[:100]}-{digest}"
    return f"{digest[0:3]}/{digest[3:6]}/{digest[6:9]}/{encoded}"


class OcflStore:
    """An OCFL storage root. Small interface on purpose so an S3 backend can implement it later."""

    def __init__(self, root: Path, staging: Path, *, fsync: bool = True) -> None:
        """``fsync=False`` leaves durability to the caller (a group commit calls :meth:`sync`)."""
        self.root = Path(root)
        self.staging = Path(staging)
        self.fsync = fsync

    def sync(self) -> None:
        """Make everything staged and committed so far durable (one syncfs for the store's disk)."""
        sync_filesystem(self.root)

    # -- root ------------------------------------------------------------------------------
    def initialise(self) -> None:
        """Create the storage root if absent (idempotent)."""
        self.root.mkdir(parents=True, exist_ok=True)
        self.staging.mkdir(parents=True, exist_ok=True)
        declaration = self.root / ROOT_DECLARATION
        if declaration.exists():
            return
        for key, data in root_files().items():  # the declaration last: it says the root is complete
            (self.root / key).parent.mkdir(parents=True, exist_ok=True)
            (self.root / key).write_bytes(data)

    def is_initialised(self) -> bool:
        """Whether the storage root carries its OCFL declaration (``lantai init`` has run)."""
        return (self.root / ROOT_DECLARATION).exists()

    def check_initialised(self) -> None:
        if not self.is_initialised():
            raise StorageError(
                f"存储根目录未初始化: {self.root}（请先运行 lantai init）",
                f"storage root not initialised: {self.root} (run lantai init)",
            )

    # -- paths -----------------------------------------------------------------------------
    def object_path(self, object_id: str) -> Path:
        return self.root / _object_relative_path(object_id)

    def has_object_dir(self, object_id: str) -> bool:
        """Whether the object's directory is there at all (sound or damaged)."""
        return self.object_path(object_id).is_dir()

    def exists(self, object_id: str) -> bool:
        return (self.object_path(object_id) / "inventory.json").is_file()

    # -- reading ---------------------------------------------------------------------------
    def read_inventory(self, object_id: str) -> dict:
        path = self.object_path(object_id) / "inventory.json"
        try:
            return json.loads(path.read_bytes())
        except FileNotFoundError:
            raise NotFound(f"存储中没有对象 {object_id}", f"no object {object_id} in the store") from None
        except (OSError, ValueError) as exc:
            raise StorageError(f"无法读取对象 {object_id} 的清单: {exc}", f"cannot read inventory of {object_id}: {exc}") from exc

    def head_version(self, object_id: str) -> int | None:
        if not self.exists(object_id):
            return None
        return int(self.read_inventory(object_id)["head"][1:])

    def _state_files(self, inventory: dict, version: str | None = None) -> dict[str, StoredFile]:
        version = version or inventory["head"]
        sm3_by_content = {p: d for d, paths in inventory.get("fixity", {}).get(FIXITY_ALGORITHM, {}).items() for p in paths}
        files: dict[str, StoredFile] = {}
        for sha512, logicals in inventory["versions"][version]["state"].items():
            content_path = inventory["manifest"][sha512][0]
            for logical in logicals:
                files[logical] = StoredFile(logical, sha512, sm3_by_content.get(content_path, ""), -1, content_path)
        return files

    @staticmethod
    def _manifest_paths(inventory: dict | None, sha512: str) -> list[str]:
        return list((inventory or {}).get("manifest", {}).get(sha512, []))

    def files(self, object_id: str, version: int | None = None, *, inventory: dict | None = None) -> list[StoredFile]:
        """Files of a version (head by default), with sizes read from disk (-1 when missing).

        Pass the ``inventory`` already read to spare reading it again (rebuild projects every object).
        """
        inventory = inventory or self.read_inventory(object_id)
        vname = f"v{version}" if version else inventory["head"]
        if vname not in inventory["versions"]:
            raise NotFound(f"对象 {object_id} 没有版本 {vname}", f"object {object_id} has no version {vname}")
        base = self.object_path(object_id)
        result = []
        for stored in self._state_files(inventory, vname).values():
            try:
                size = (base / stored.content_path).stat().st_size
            except FileNotFoundError:
                size = -1
            result.append(StoredFile(stored.logical_path, stored.sha512, stored.sm3, size, stored.content_path))
        return sorted(result, key=lambda f: f.logical_path)

    def open(self, object_id: str, logical_path: str, version: int | None = None) -> BinaryIO:
        for stored in self.files(object_id, version):
            if stored.logical_path == logical_path:
                return open(self.object_path(object_id) / stored.content_path, "rb")
        raise NotFound(f"对象 {object_id} 中没有文件 {logical_path}", f"object {object_id} has no file {logical_path}")

    def read_bytes(self, object_id: str, logical_path: str, version: int | None = None) -> bytes:
        with self.open(object_id, logical_path, version) as fh:
            return fh.read()

    def content_path(self, object_id: str, content_path: str) -> Path:
        return self.object_path(object_id) / content_path

    def iter_object_ids(self) -> Iterator[str]:
        """Every object id whose root inventory can be read (ids come from the inventories).

        Damaged objects are skipped here; :meth:`iter_object_dirs` and :meth:`inspect_object`
        are how ``verify`` and ``rebuild`` find and name them.
        """
        for objdir in self.iter_object_dirs():
            try:
                yield json.loads((objdir / "inventory.json").read_bytes())["id"]
            except (OSError, ValueError, KeyError, TypeError):
                continue

    def iter_object_dirs(self) -> Iterator[Path]:
        """Every object directory the layout places under the root, damaged or not.

        Extension 0003 puts objects exactly three tuple directories deep, so a directory there is
        an object whether or not its declaration or inventory survived — which is what lets
        ``verify`` and ``rebuild`` name a damaged object instead of silently skipping it.
        """
        for tuple1 in _subdirs(self.root, skip=("extensions",)):
            for tuple2 in _subdirs(tuple1):
                for tuple3 in _subdirs(tuple2):
                    yield from _subdirs(tuple3)

    def object_id_of_dir(self, objdir: Path) -> str:
        """The id an object directory stands for: from its name (0003 %-encodes the id)."""
        name = objdir.name
        if len(name) > 100 and re.fullmatch(r".{100}-[0-9a-f]{64}", name):
            with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
                return str(json.loads((objdir / "inventory.json").read_bytes())["id"])
        try:
            return re.sub(rb"%([0-9a-f]{2})", lambda m: bytes([int(m.group(1), 16)]), name.encode()).decode("utf-8")
        except UnicodeDecodeError:
            return name

    def inspect_object(self, objdir: Path, object_id: str | None = None) -> ObjectInspection:
        """Check an object's structure without reading its content files (see :mod:`.inspect`)."""
        return inspect_object(self, objdir, object_id)

    def inventory_with_sidecar(self, objdir: Path, version: str | None = None) -> tuple[bytes | None, str | None]:
        """Bytes of an inventory (root, or ``vN``'s) and the digest its sidecar declares.

        ``None`` stands for a missing or unreadable file; the caller decides what that means.
        """
        base = objdir / version if version else objdir
        try:
            data: bytes | None = (base / "inventory.json").read_bytes()
        except OSError:
            data = None
        try:
            words = (base / "inventory.json.sha512").read_text(encoding="utf-8").split()
            sidecar: str | None = words[0] if words else ""
        except (OSError, UnicodeDecodeError):
            sidecar = None
        return data, sidecar

    def object_entries(self, objdir: Path) -> dict[str, bool]:
        """What sits at an object's root: name → whether it is a directory (one scandir, no stat)."""
        try:
            with os.scandir(objdir) as entries:
                return {e.name: e.is_dir(follow_symlinks=False) for e in entries}
        except OSError:
            return {}

    def version_dirs(self, objdir: Path, entries: dict[str, bool] | None = None) -> list[str]:
        """Names of the ``vN`` directories of an object, in version order."""
        entries = self.object_entries(objdir) if entries is None else entries
        names = [name for name, is_dir in entries.items() if is_dir and re.fullmatch(r"v[1-9]\d*", name)]
        return sorted(names, key=lambda n: int(n[1:]))

    def content_files_on_disk(self, object_id: str, versions: list[str] | None = None) -> Iterator[str]:
        """Every file under ``vN/content/`` of an object as a content path (one scandir per directory).

        ``versions`` (the ``vN`` directories, when already listed) spares listing the object again.
        """
        base = self.object_path(object_id)
        for version in self.version_dirs(base) if versions is None else versions:
            content = base / version / "content"
            if not content.is_dir():
                continue
            stack = [(str(content), f"{version}/content")]
            while stack:
                directory, rel = stack.pop()
                for entry in os.scandir(directory):
                    child = f"{rel}/{entry.name}"
                    if entry.is_dir(follow_symlinks=False):
                        stack.append((entry.path, child))
                    else:
                        yield child

    def iter_content(self, object_id: str, *, inventory: dict | None = None) -> Iterator[tuple[str, str, str, Path]]:
        """Every content file of every version: (content path, sha512, sm3, absolute path)."""
        inventory = inventory or self.read_inventory(object_id)
        base = self.object_path(object_id)
        sm3_by_content = {p: d for d, paths in inventory.get("fixity", {}).get(FIXITY_ALGORITHM, {}).items() for p in paths}
        for sha512, paths in inventory["manifest"].items():
            for content_path in paths:
                yield content_path, sha512, sm3_by_content.get(content_path, ""), base / content_path

    # -- copying out (backup, carriers) ----------------------------------------------------
    def relative_object_path(self, object_id: str) -> str:
        """The object's directory relative to the storage root (a backup mirrors the same layout)."""
        return _object_relative_path(object_id)

    def root_files(self) -> list[tuple[str, Path]]:
        """The storage root's own files (declaration, layout, extension config): (relative, absolute)."""
        found = [(name, self.root / name) for name in ("0=ocfl_1.1", "ocfl_layout.json") if (self.root / name).is_file()]
        ext = self.root / "extensions"
        if ext.is_dir():
            found += [(p.relative_to(self.root).as_posix(), p) for p in sorted(ext.rglob("*")) if p.is_file()]
        return found

    def version_tree(self, object_id: str, version: int) -> list[tuple[str, Path]]:
        """Every file of one version directory, as (path relative to the object, absolute path).

        A committed ``vN`` directory never changes again, which is what lets a backup copy each
        version once and skip it in every later backup.
        """
        vdir = self.object_path(object_id) / f"v{version}"
        if not vdir.is_dir():
            raise NotFound(f"对象 {object_id} 没有版本目录 v{version}", f"object {object_id} has no directory v{version}")
        base = self.object_path(object_id)
        return [(p.relative_to(base).as_posix(), p) for p in sorted(vdir.rglob("*")) if p.is_file()]

    @staticmethod
    def version_dir_name(version: int) -> str:
        return f"v{version}"

    @staticmethod
    def version_marker(version: int) -> str:
        """The file (relative to the object) whose presence shows a copied version is whole: its inventory."""
        return f"v{version}/inventory.json"

    def object_root_files(self, object_id: str) -> list[tuple[str, Path]]:
        """The object-root files a copy needs besides its versions: the object's declaration.

        The root inventory and sidecar are not listed: they are the head version's, byte for byte
        (:meth:`head_inventory_files`, :meth:`finish_restored_object`).
        """
        name = "0=ocfl_object_1.1"
        return [(name, self.object_path(object_id) / name)]

    def head_inventory_files(self, object_id: str, head: int) -> list[tuple[str, Path]]:
        """The root inventory and sidecar as of ``head``: (name at the object root, the version's file)."""
        vdir = self.object_path(object_id) / f"v{head}"
        return [(name, vdir / name) for name in ("inventory.json", "inventory.json.sha512")]

    @staticmethod
    def in_versions(relative: str, head: int) -> bool:
        """Whether a path relative to the object belongs to the state up to ``head`` (a version or the root)."""
        first, sep, _rest = relative.partition("/")
        if not sep:
            return not first.startswith("inventory.json")  # the declaration; never a newer root inventory
        return bool(re.fullmatch(r"v[1-9]\d*", first)) and int(first[1:]) <= head

    @staticmethod
    def copy_algorithms(inventory: dict, relative: str) -> tuple[str, ...]:
        """Digests a copy of one file of an object needs: SM3 alone for content with SM3 fixity (the
        inventory vouches for it), SM3 and SHA-512 for the rest (inventories are checked by sidecar)."""
        fixity = inventory.get("fixity", {}).get(FIXITY_ALGORITHM, {})
        if any(relative in paths for paths in fixity.values()):
            return (FIXITY_ALGORITHM,)
        return (FIXITY_ALGORITHM, DIGEST_ALGORITHM)

    def version_copy_problem(self, object_id: str, inventory: dict, version: int,
                             copied: dict[str, dict[str, str]]) -> tuple[str, str] | None:
        """Whether a copy of ``vN`` (path relative to the object → its digests) is the version the
        inventory describes: (file, ``inventory_missing`` | ``inventory_digest`` | ``content_digest``)
        or None. Content is judged by SM3 fixity where the copy has it, else by SHA-512."""
        name = f"v{version}/inventory.json"
        if name not in copied or f"{name}.sha512" not in copied:
            return name, "inventory_missing"
        _data, sidecar = self.inventory_with_sidecar(self.object_path(object_id), f"v{version}")
        if copied[name].get(DIGEST_ALGORITHM) != sidecar:
            return name, "inventory_digest"
        sha512_of = {path: sha512 for sha512, paths in inventory["manifest"].items() for path in paths}
        sm3_of = {path: sm3 for sm3, paths in inventory.get("fixity", {}).get(FIXITY_ALGORITHM, {}).items()
                  for path in paths}
        for relative, digests in sorted(copied.items()):
            if not relative.startswith(f"v{version}/content/"):
                continue
            if FIXITY_ALGORITHM in digests and relative in sm3_of:
                if digests[FIXITY_ALGORITHM] != sm3_of[relative]:
                    return relative, "content_digest"
            elif digests.get(DIGEST_ALGORITHM) != sha512_of.get(relative):
                return relative, "content_digest"
        return None

    @staticmethod
    def differing_versions(first: dict, second: dict, head: int) -> list[int]:
        """Versions 1…head whose logical state differs between two inventories of one object."""
        return [n for n in range(1, head + 1)
                if first.get("versions", {}).get(f"v{n}", {}).get("state")
                != second.get("versions", {}).get(f"v{n}", {}).get("state")]

    def restore_path(self, relative: str) -> Path:
        """Where a file that a backup names relative to a storage root goes when it is restored here."""
        return self.root / _safe_logical_path(relative)

    def finish_restored_object(self, object_id: str, head: int) -> None:
        """Give an object restored version by version its root inventory: the head version's, byte for byte.

        A backup keeps only version directories (they never change); the root inventory of any
        backed-up state is the inventory of its head version, as OCFL requires.
        """
        objdir = self.object_path(object_id)
        if not (objdir / f"v{head}" / "inventory.json").is_file():
            raise NotFound(f"恢复的对象 {object_id} 缺少 v{head}", f"restored object {object_id} lacks v{head}")
        self._replace_root_inventory(objdir, objdir / f"v{head}")

    # -- writing ---------------------------------------------------------------------------
    def new_staging_dir(self) -> Path:
        path = self.staging / f"tx-{uuid.uuid4().hex}"
        path.mkdir(parents=True)
        return path

    def begin_version(self, object_id: str, staging_dir: Path | None = None) -> VersionBuilder:
        previous = self.read_inventory(object_id) if self.exists(object_id) else None
        return VersionBuilder(self, object_id, previous, staging_dir or self.new_staging_dir())

    @contextlib.contextmanager
    def object_lock(self, object_id: str) -> Iterator[None]:
        """Serialise writers of one object across processes (flock on a staging lock file)."""
        lock_dir = self.staging / "locks"
        lock_dir.mkdir(parents=True, exist_ok=True)
        name = hashlib.sha256(object_id.encode()).hexdigest()
        with open(lock_dir / name, "a+b") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def commit(self, prepared: PreparedVersion, *, sync: bool = True) -> int:
        """Move a prepared version into the store. Returns the committed version number.

        ``sync=False`` skips the per-object directory fsync for a caller that makes a whole group
        of renames durable with one :meth:`sync` afterwards.
        """
        target = self.object_path(prepared.object_id)
        moved_in = False
        try:
            if prepared.version == 1:
                if target.exists():
                    raise StorageError(
                        f"对象 {prepared.object_id} 已存在", f"object {prepared.object_id} already exists"
                    )
                target.parent.mkdir(parents=True, exist_ok=True)
                os.rename(prepared.staging_dir, target)
                if self.fsync and sync:
                    _fsync_dir(target.parent)
                return prepared.version
            else:
                head = self.head_version(prepared.object_id)
                if head != prepared.version - 1:
                    raise StorageError(
                        f"对象 {prepared.object_id} 已被并发修改", f"object {prepared.object_id} changed concurrently"
                    )
                os.rename(prepared.staging_dir / f"v{prepared.version}", target / f"v{prepared.version}")
                moved_in = True
                self._replace_root_inventory(target, target / f"v{prepared.version}")
        except OSError as exc:
            # ``moved_in``: the version directory is in the object, its root inventory not yet
            # replaced — the change reached the store and recovery (reconcile_object) finishes it.
            raise _commit_error(prepared.object_id, exc, moved_in=moved_in) from exc
        shutil.rmtree(prepared.staging_dir, ignore_errors=True)
        return prepared.version

    def _replace_root_inventory(self, objdir: Path, vdir: Path) -> None:
        for name in ("inventory.json", "inventory.json.sha512"):
            tmp = objdir / f".{name}.tmp"
            try:
                shutil.copyfile(vdir / name, tmp)
                if self.fsync:
                    with open(tmp, "rb") as fh:
                        os.fsync(fh.fileno())
                os.replace(tmp, objdir / name)
            except OSError:
                tmp.unlink(missing_ok=True)  # OCFL allows no stray file in an object root
                raise
        if self.fsync:
            _fsync_dir(objdir)

    def destroy_content(self, object_id: str, content_paths: list[str]) -> list[str]:
        """Delete these content files of every version of an object: the one place bytes are destroyed.

        Only a destruction (:mod:`lantai.services.destruction`) calls this, after the object's
        tombstone version naming each path and its digests has been committed. Idempotent (a path
        already gone is skipped, so a resumed destruction repeats it safely); returns the paths
        deleted now. Empty directories left behind are removed (OCFL forbids them) and the object
        directory is flushed. Replicas of the store are to hook in here, so nothing is deleted
        from one copy and kept silently in another.
        """
        base = self.object_path(object_id)
        deleted = []
        for content_path in content_paths:
            if not re.fullmatch(r"v[1-9]\d*/content/.+", content_path) or ".." in content_path.split("/"):
                raise BadInput(f"非法的内容路径: {content_path!r}", f"illegal content path: {content_path!r}")
            target = base / content_path
            try:
                target.unlink()
            except FileNotFoundError:
                continue
            except OSError as exc:
                raise StorageError(f"无法删除 {object_id} 的文件 {content_path}: {exc}",
                                   f"cannot delete {content_path} of {object_id}: {exc}") from exc
            deleted.append(content_path)
        for version in self.version_dirs(base):
            _remove_empty_dirs(base / version / "content")
        if self.fsync and base.is_dir():
            _fsync_tree(base)
        return deleted

    def abort(self, staging_dir: Path) -> None:
        shutil.rmtree(staging_dir, ignore_errors=True)

    # -- recovery --------------------------------------------------------------------------
    def reconcile_object(self, object_id: str) -> bool:
        """Make the root inventory agree with the newest complete version directory.

        Returns True when something was repaired.
        """
        objdir = self.object_path(object_id)
        if not objdir.is_dir():
            return False
        versions = sorted(
            (int(p.name[1:]) for p in objdir.iterdir() if p.is_dir() and re.fullmatch(r"v[1-9]\d*", p.name)),
        )
        if not versions:
            return False
        newest = objdir / f"v{versions[-1]}"
        try:
            root_bytes = (objdir / "inventory.json").read_bytes()
            sidecar = (objdir / "inventory.json.sha512").read_text(encoding="utf-8").split()[0]
        except (OSError, IndexError):
            root_bytes, sidecar = b"", ""
        newest_bytes = (newest / "inventory.json").read_bytes()
        if root_bytes == newest_bytes and sidecar == hashlib.sha512(root_bytes).hexdigest():
            return False
        self._replace_root_inventory(objdir, newest)
        return True

    def clean_staging(self) -> int:
        """Remove abandoned staging transactions (called when no ingest is running)."""
        removed = 0
        if not self.staging.is_dir():
            return 0
        for path in self.staging.glob("tx-*"):
            shutil.rmtree(path, ignore_errors=True)
            removed += 1
        return removed


def _commit_error(object_id: str, exc: OSError, *, moved_in: bool) -> StorageError:
    return storage_error(exc, (f"磁盘空间不足，对象 {object_id} 的新版本未能提交完整；请释放空间后重新运行（恢复程序会补齐或回滚）",
                               f"disk full: the new version of {object_id} was not fully committed; free space and "
                               "run the command again (recovery completes or rolls it back)"),
                         (f"提交对象 {object_id} 失败: {exc}", f"commit of {object_id} failed: {exc}"),
                         object=object_id, moved_in=moved_in)


def _subdirs(path: Path, skip: tuple[str, ...] = ()) -> list[Path]:
    try:
        return sorted(Path(e.path) for e in os.scandir(path) if e.is_dir(follow_symlinks=False) and e.name not in skip)
    except OSError:
        return []


def verify_file(path: Path, algorithm: str, expected: str) -> tuple[bool, str]:
    """Recompute one digest of a stored file; returns (ok, actual)."""
    try:
        digests, _size = digest_file(path, (algorithm,))
    except OSError as exc:
        return False, f"unreadable: {exc}"
    return digests[algorithm] == expected, digests[algorithm]
