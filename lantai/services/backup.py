"""Backups (DA/T 70 bc 3-4, GB/T 18894 近线/离线备份): ``lantai backup create DEST``.

A backup is self-describing: its destination holds everything needed to rebuild a working archive
on an empty machine, and says so in plain words (``恢复说明.TXT``) and in JSON (``lantai-backup.json``)::

    DEST/
      lantai-backup.json         format, archive, every backup set with its manifest's SM3, how to restore
      恢复说明.TXT                 the same for people
      store/                      the OCFL storage root, version directories only ever added
        0=ocfl_1.1 …              (root inventories: the newest set's; a restore takes each set's own)
      sets/<name>/                one per run of ``backup create``
        set.json                  objects and the head version each had, the audit head, what is inside
        manifest-sm3.txt          SM3 of every file this set needs (store files included) — the integrity proof
        audit/chain.jsonl         the audit journal (whole entries only) …
        audit/checkpoints/        … and its signed checkpoints
        keys.bundle               keys/ and the accounts (users, API tokens), SM4-GCM under a passphrase
        参考数据.json, 参考数据.toml  reference data (``lantai fonds export`` and the full TOML)
        home/                     check reports, transfer records, profiles, lantai.toml

The catalogue and the search index are not in it: a restore rebuilds them (``lantai rebuild``).

Incremental by OCFL version: a committed ``vN`` never changes, so a version already in the
destination is not copied again; each is copied into a hidden directory, verified against its
inventory (SHA-512 of every content file, the inventory's sidecar) and renamed into place, so a
backup killed at any moment leaves only whole versions and the next run carries on. A set exists
once its ``set.json`` and manifest are written and it is listed in ``lantai-backup.json``.

Consistency: the object heads are read first and only those versions are copied; the journal is
copied afterwards, so it may name a change newer than the set (never the other way round).
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import time
import uuid
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.access import ApiToken
from lantai.catalog.models import User
from lantai.crypto import bundle
from lantai.crypto.digests import digest_file, sm3_hex
from lantai.domain.reference import dump_reference
from lantai.errors import BadInput, IntegrityError, LantaiError
from lantai.services.arrange_reference import current_reference, export_fonds
from lantai.services.keys import keystore
from lantai.storage.backup_target import Target, open_backup_target

if TYPE_CHECKING:
    from lantai.services.archive import Archive

FORMAT = "lantai-backup/1"
INDEX = "lantai-backup.json"
README = "恢复说明.TXT"
STORE = "store"
SETS = "sets"
MANIFEST = "manifest-sm3.txt"
SET_FILE = "set.json"
KEY_BUNDLE = "keys.bundle"
JOURNAL = "audit/chain.jsonl"
CHECKPOINTS = "audit/checkpoints"
HOME = "home"
HOME_ITEMS = ("reports", "transfers", "profiles")  # what of the home, beside store, audit and keys, is kept
SETTINGS_FILE = "lantai.toml"
PASSPHRASE_ENV = "LANTAI_BACKUP_PASSPHRASE"
Progress = Callable[[int], None]  # bytes just copied (or 0 for a version skipped)

RESTORE_STEPS = [
    "在新机器上安装同版本兰台，设置 LANTAI_HOME 指向一个空目录（PostgreSQL 目录库时另设 LANTAI_DATABASE_URL，库须为空）",
    f"设置环境变量 {PASSPHRASE_ENV} 为备份口令（口令不随备份保存）",
    "运行 lantai backup restore <本目录>：逐文件核对 SM3 后复制存储、审计日志与检查点、密钥和账号，"
    "再由存储重建目录数据库与检索索引并校验审计链",
    "中断后再次运行同一命令即从中断处继续",
]


@dataclass
class BackupResult:
    """What one ``backup create`` did; ``problems`` names each object that could not be backed up."""

    destination: str
    set_name: str
    objects: int = 0
    versions_copied: int = 0
    versions_present: int = 0
    files_copied: int = 0
    bytes_copied: int = 0
    files: int = 0
    manifest_sm3: str = ""
    problems: list[dict[str, Any]] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "destination": self.destination, "set": self.set_name, "objects": self.objects,
                "versions_copied": self.versions_copied, "versions_present": self.versions_present,
                "files_copied": self.files_copied, "bytes_copied": self.bytes_copied, "files": self.files,
                "manifest_sm3": self.manifest_sm3, "problems": self.problems, "seconds": self.seconds}


# -- the index and manifests (shared with restore and verify) ------------------------------------

def read_index(target: Target) -> dict[str, Any] | None:
    """``lantai-backup.json``, or None when the destination holds no backup yet."""
    if not target.exists(INDEX):
        return None
    try:
        index = json.loads(target.read_bytes(INDEX))
    except ValueError as exc:
        raise IntegrityError(f"备份索引 {INDEX} 已损坏", f"the backup index {INDEX} is damaged") from exc
    if not isinstance(index, dict) or index.get("format") != FORMAT:
        raise BadInput(f"{target.url} 不是兰台备份（{INDEX} 格式不符）", f"{target.url} is not a Lantai backup")
    return index


def set_dir(name: str) -> str:
    return f"{SETS}/{name}"


def parse_manifest(data: bytes) -> dict[str, str]:
    """``<sm3>  <path>`` lines → {path: sm3}."""
    entries: dict[str, str] = {}
    for line in data.decode("utf-8").splitlines():
        digest, sep, path = line.partition("  ")
        if sep and len(digest) == 64:
            entries[path] = digest
    return entries


def manifest_bytes(entries: dict[str, str]) -> bytes:
    return "".join(f"{sm3}  {path}\n" for path, sm3 in sorted(entries.items())).encode("utf-8")


def archive_identity(archive: Archive) -> str:
    """The archive a backup belongs to: the SM3 of its signing certificate (a new key is a new archive)."""

    store = keystore(archive.settings)
    return sm3_hex(store.signing_certificate()) if store is not None else ""


def latest_set(index: dict[str, Any], name: str | None = None) -> dict[str, Any]:
    sets = index.get("sets") or []
    if not sets:
        raise BadInput("备份中没有完整的备份集", "the backup holds no complete backup set")
    if name is None:
        return sets[-1]
    for entry in sets:
        if entry.get("name") == name:
            return entry
    raise BadInput(f"备份中没有备份集 {name}", f"no backup set {name} in the backup",
                   sets=[s.get("name") for s in sets])


def now_utc() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


# -- create --------------------------------------------------------------------------------------

def create_backup(archive: Archive, destination: str, *, passphrase: str, actor: str = "system",
                  on_total: Callable[[int], None] | None = None, progress: Progress | None = None) -> BackupResult:
    """Write a new backup set to ``destination`` (incremental over the sets already there)."""
    bundle.check_passphrase(passphrase)
    target = open_backup_target(destination, fsync=archive.settings.fsync, s3=archive.settings.s3_options)
    _refuse_inside_home(archive, target)
    started = time.perf_counter()
    with target.lock():
        index = read_index(target) or _new_index(archive)
        identity = archive_identity(archive)
        if index.get("archive_id") and index["archive_id"] != identity:
            raise BadInput("该位置保存的是另一个档案库的备份", "the destination holds another archive's backup",
                           destination=target.url)
        name = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ") + "-" + uuid.uuid4().hex[:6]
        result = BackupResult(target.url, name)
        archive.audit.checkpoint()  # the journal copied below ends at a signed head
        known = _known_digests(target, index)
        entries: dict[str, str] = {}
        objects = _copy_store(archive, target, known, entries, result, on_total, progress)
        _write_set(archive, target, name, objects, entries, passphrase, result)
        index["archive_id"] = identity
        index["sets"] = [*index.get("sets", []), {"name": name, "created": now_utc(), "objects": result.objects,
                                                  "manifest_sm3": result.manifest_sm3, "files": result.files,
                                                  "damaged": [p["object"] for p in result.problems]}]
        target.write_bytes(INDEX, json.dumps(index, ensure_ascii=False, indent=2).encode("utf-8"))
        target.write_bytes(README, _readme(index).encode("utf-8"))
    result.seconds = round(time.perf_counter() - started, 3)
    archive.audit.append(actor, "backup.created", target.url, {
        "set": name, "ok": result.ok, "objects": result.objects, "versions_copied": result.versions_copied,
        "bytes_copied": result.bytes_copied, "manifest_sm3": result.manifest_sm3,
        "damaged": [p["object"] for p in result.problems][:100]})
    return result


def _refuse_inside_home(archive: Archive, target: Target) -> None:
    if target.inside(archive.home):
        raise BadInput("备份位置不能在档案目录之内", "the backup destination cannot be inside the archive home",
                       destination=target.url)


def _new_index(archive: Archive) -> dict[str, Any]:
    return {"format": FORMAT, "archive": archive.settings.archive_name, "archive_id": "", "created": now_utc(),
            "contents": {
                STORE: "OCFL 1.1 存储根（各版本目录；根清单以最新备份集为准）",
                f"{SETS}/<备份集>/{MANIFEST}": "该备份集全部文件的 SM3（含 store/ 下的版本文件）",
                f"{SETS}/<备份集>/{SET_FILE}": "对象及其备份时的最新版本、审计链头、内容说明",
                f"{SETS}/<备份集>/{JOURNAL}": "审计日志（SM3 链，HMAC-SM3 认证）",
                f"{SETS}/<备份集>/{CHECKPOINTS}/": "审计链签名检查点（SM2）",
                f"{SETS}/<备份集>/{KEY_BUNDLE}": "密钥库与账号（scrypt 派生密钥，SM4-GCM 加密）",
                f"{SETS}/<备份集>/参考数据.json": "全宗与机构参考数据（lantai fonds export 格式）",
                f"{SETS}/<备份集>/{HOME}/": "检测报告、移交记录、检测方案、lantai.toml",
            },
            "not_included": "目录数据库与检索索引：恢复时由存储重建（lantai rebuild）",
            "restore": {"command": "lantai backup restore <备份位置>", "passphrase_env": PASSPHRASE_ENV,
                        "steps": RESTORE_STEPS},
            "sets": []}


def _readme(index: dict[str, Any]) -> str:
    lines = ["兰台电子档案备份 — 恢复说明", "", f"档案馆：{index.get('archive', '')}", f"格式：{FORMAT}", "",
             "内容："] + [f"  {k}  {v}" for k, v in index["contents"].items()]
    lines += ["", f"不含：{index['not_included']}", "", "恢复步骤："]
    lines += [f"  {n}. {step}" for n, step in enumerate(RESTORE_STEPS, start=1)]
    lines += ["", "备份集（最新在后）："]
    lines += [f"  {s['name']}  {s['created']}  {s['objects']} 件  清单 SM3 {s['manifest_sm3']}" for s in index["sets"]]
    return "\r\n".join(lines) + "\r\n"


def _known_digests(target: Target, index: dict[str, Any]) -> dict[str, str]:
    """SM3 of the store files earlier sets already hold, from the newest set's manifest (no re-reading)."""
    for entry in reversed(index.get("sets") or []):
        try:
            data = target.read_bytes(f"{set_dir(entry['name'])}/{MANIFEST}")
        except LantaiError:
            continue
        if sm3_hex(data) == entry.get("manifest_sm3"):
            return {p: d for p, d in parse_manifest(data).items() if p.startswith(f"{STORE}/")}
    return {}


@dataclass
class _ObjectCopy:
    """What backing up one object did (built in a worker thread, merged by the caller)."""

    object_id: str
    path: str = ""
    head: int = 0
    entries: dict[str, str] = field(default_factory=dict)
    copied: int = 0
    present: int = 0
    files: int = 0
    bytes: int = 0
    problem: dict[str, Any] | None = None


def _copy_store(archive: Archive, target: Target, known: dict[str, str], entries: dict[str, str],
                result: BackupResult, on_total: Callable[[int], None] | None,
                progress: Progress | None) -> dict[str, dict[str, Any]]:
    """Every object, ``workers`` at a time: copying and digesting release the GIL (file I/O, hashlib)."""
    store = archive.store
    for relative, path in store.root_files():
        entries[f"{STORE}/{relative}"] = target.copy_in(f"{STORE}/{relative}", path)[0]["sm3"]
    dirs = list(store.iter_object_dirs())
    if on_total:
        on_total(len(dirs))
    objects: dict[str, dict[str, Any]] = {}
    workers = max(1, archive.settings.workers)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: set[Future[_ObjectCopy]] = set()
        for objdir in dirs:
            pending.add(pool.submit(_backup_object, archive, target, objdir, known))
            if len(pending) >= 4 * workers:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                _merge(done, entries, objects, result, progress)
        _merge(set(pending), entries, objects, result, progress)
    result.objects = len(objects)
    return objects


def _merge(done: set[Future[_ObjectCopy]], entries: dict[str, str], objects: dict[str, dict[str, Any]],
           result: BackupResult, progress: Progress | None) -> None:
    for future in done:
        copy = future.result()
        entries.update(copy.entries)
        result.versions_copied += copy.copied
        result.versions_present += copy.present
        result.files_copied += copy.files
        result.bytes_copied += copy.bytes
        if copy.problem:
            result.problems.append({"object": copy.object_id, **copy.problem})
        if copy.head:
            objects[copy.object_id] = {"head": copy.head, "path": copy.path}
        if progress:
            progress(copy.bytes)


def _backup_object(archive: Archive, target: Target, objdir: Path, known: dict[str, str]) -> _ObjectCopy:
    store = archive.store
    inspection = store.inspect_object(objdir)
    copy = _ObjectCopy(inspection.object_id)
    if not inspection.ok or inspection.inventory is None:
        copy.problem = {"problem": "damaged", "message": "对象结构受损，未备份", "message_en": "damaged object, not backed up",
                        "details": [p.to_dict() for p in inspection.problems][:20]}
        return copy
    copy.path = store.relative_object_path(copy.object_id)
    _copy_object(store, target, copy, inspection.inventory, known)
    return copy


def _copy_object(store: Any, target: Target, copy: _ObjectCopy, inventory: dict[str, Any],
                 known: dict[str, str]) -> None:
    """Copy the versions of one object the destination lacks; ``copy.head`` is the head backed up."""
    base = f"{STORE}/{copy.path}"
    for name, path in store.object_root_files(copy.object_id):
        key = f"{base}/{name}"
        copy.entries[key] = known.get(key) if target.exists(key) and known.get(key) else \
            target.copy_in(key, path)[0]["sm3"]
    head = int(inventory["head"][1:])
    for version in range(1, head + 1):
        if target.exists(f"{base}/{store.version_marker(version)}"):
            _record_present(target, store.version_tree(copy.object_id, version), base, known, copy.entries)
            copy.present += 1
            continue
        problem = _copy_version(store, target, copy, version, base, inventory)
        if problem:
            copy.problem = {"problem": "unsound_version", **problem}
            copy.head = version - 1
            return
        copy.copied += 1
    copy.head = head
    if copy.copied or not target.exists(f"{base}/{store.head_inventory_files(copy.object_id, head)[0][0]}"):
        for name, path in store.head_inventory_files(copy.object_id, head):  # store/ stays a valid OCFL root
            target.copy_in(f"{base}/{name}", path, ("sm3",))


def _record_present(target: Target, tree: list[tuple[str, Path]], base: str, known: dict[str, str],
                    entries: dict[str, str]) -> None:
    for relative, _path in tree:
        key = f"{base}/{relative}"
        digest = known.get(key) or (target.digest(key, ("sm3",)) or {}).get("sm3", "")
        entries[key] = digest


_UNSOUND = {
    "inventory_missing": ("版本清单缺失，未备份该版本", "the version inventory is missing; version not backed up"),
    "inventory_digest": ("版本清单与其 SHA-512 旁注文件不符，未备份该版本",
                         "the version inventory does not match its sidecar; version not backed up"),
    "content_digest": ("文件摘要与存储清单不符（存储中的文件已损坏），未备份该版本",
                       "the file does not match the inventory (damaged in the store); version not backed up"),
}


def _copy_version(store: Any, target: Target, copy: _ObjectCopy, version: int, base: str,
                  inventory: dict[str, Any]) -> dict[str, Any] | None:
    """Copy ``vN`` whole, check it against the inventory, and only then make it count.

    On a file system the version is written into a hidden directory and renamed into place; on
    object storage (no rename) it is written under its final keys and its marker — the version
    inventory, whose presence says the version is whole — is uploaded last, after the check.
    A version whose bytes disagree with the inventory must not become the backup of record.
    """
    final = f"{base}/{store.version_dir_name(version)}"
    staged = f"{base}/.{store.version_dir_name(version)}.partial" if target.renames else final
    marker = store.version_marker(version)
    if target.renames:
        target.remove_tree(staged)
    tree = store.version_tree(copy.object_id, version)
    deferred = [] if target.renames else [(r, p) for r, p in tree if r == marker]
    copied: dict[str, dict[str, str]] = {}
    for relative, path in tree:
        algorithms = store.copy_algorithms(inventory, relative)
        if (relative, path) in deferred:
            copied[relative] = digest_file(path, algorithms)[0]
            continue
        digests, size = target.copy_in(f"{staged}/{relative.split('/', 1)[1]}", path, algorithms)
        copied[relative] = digests
        copy.files += 1
        copy.bytes += size
    problem = store.version_copy_problem(copy.object_id, inventory, version, copied)
    if problem:
        target.remove_tree(staged)
        zh, en = _UNSOUND[problem[1]]
        return {"file": problem[0], "message": zh, "message_en": en}
    for relative, path in deferred:
        digests, size = target.copy_in(f"{base}/{relative}", path, store.copy_algorithms(inventory, relative))
        if digests != copied[relative]:
            return {"file": relative, "message": _UNSOUND["inventory_digest"][0], "message_en": _UNSOUND["inventory_digest"][1]}
        copy.files += 1
        copy.bytes += size
    target.publish_dir(staged, final)
    for relative, digests in copied.items():
        copy.entries[f"{base}/{relative}"] = digests["sm3"]
    return None


def _write_set(archive: Archive, target: Target, name: str, objects: dict[str, dict[str, Any]],
               entries: dict[str, str], passphrase: str, result: BackupResult) -> None:
    base = set_dir(name)
    settings = archive.settings
    for path in sorted(settings.audit_checkpoints.glob("cp-*.json")):  # first: none may sign past the journal copy
        entries[f"{base}/{CHECKPOINTS}/{path.name}"] = target.copy_in(f"{base}/{CHECKPOINTS}/{path.name}", path)[0]["sm3"]
    size = archive.audit.stable_size()
    entries[f"{base}/{JOURNAL}"] = target.copy_in_prefix(f"{base}/{JOURNAL}", settings.audit_journal, size)[0]["sm3"]
    last = _last_entry(settings.audit_journal, size)
    sealed = bundle.seal(_key_payload(archive), passphrase)
    target.write_bytes(f"{base}/{KEY_BUNDLE}", sealed)
    entries[f"{base}/{KEY_BUNDLE}"] = sm3_hex(sealed)
    for file_name, data in _reference_files(archive).items():
        target.write_bytes(f"{base}/{file_name}", data)
        entries[f"{base}/{file_name}"] = sm3_hex(data)
    for relative, path in _home_files(archive):
        entries[f"{base}/{HOME}/{relative}"] = target.copy_in(f"{base}/{HOME}/{relative}", path)[0]["sm3"]
    description = {"format": FORMAT, "name": name, "created": now_utc(), "archive": settings.archive_name,
                   "home": str(settings.home), "objects": objects,
                   "audit": {"bytes": size, "head_seq": last.get("seq", 0), "head_hash": last.get("hash", "")},
                   "key_bundle": bundle.describe(sealed), "damaged": [p["object"] for p in result.problems]}
    data = json.dumps(description, ensure_ascii=False, indent=1, sort_keys=True).encode("utf-8")
    target.write_bytes(f"{base}/{SET_FILE}", data)
    entries[f"{base}/{SET_FILE}"] = sm3_hex(data)
    manifest = manifest_bytes(entries)
    target.write_bytes(f"{base}/{MANIFEST}", manifest)
    result.manifest_sm3 = sm3_hex(manifest)
    result.files = len(entries)


def _last_entry(journal: Path, size: int) -> dict[str, Any]:
    """The last whole entry within the first ``size`` bytes of the journal (the head the copy ends at)."""
    if size <= 0:
        return {}
    with open(journal, "rb") as fh:
        fh.seek(max(0, size - 256 * 1024))
        lines = fh.read(size - fh.tell()).rstrip(b"\n").split(b"\n")
    try:
        return json.loads(lines[-1])
    except ValueError:
        return {}


def _key_payload(archive: Archive) -> dict[str, Any]:
    """keys/ (every file, with its mode) and the accounts: users and their API tokens, as rows."""
    keys_dir = archive.settings.keys_dir
    files = {p.relative_to(keys_dir).as_posix(): {"mode": p.stat().st_mode & 0o777,
                                                  "data": base64.b64encode(p.read_bytes()).decode("ascii")}
             for p in sorted(keys_dir.rglob("*")) if p.is_file() and not p.name.startswith(".")}
    with archive.sessions() as session:
        users = [_row(u, exclude=("id",)) for u in session.scalars(select(User).order_by(User.id))]
        names = dict(session.execute(select(User.id, User.username)).all())
        tokens = [{**_row(t, exclude=("id", "user_id")), "username": names.get(t.user_id, "")}
                  for t in session.scalars(select(ApiToken).order_by(ApiToken.id))]
    return {"keys": files, "users": users, "tokens": tokens}


def _row(obj: Any, *, exclude: tuple[str, ...]) -> dict[str, Any]:
    row = {}
    for column in obj.__table__.columns:
        if column.key in exclude:
            continue
        value = getattr(obj, column.key)
        row[column.key] = value.isoformat() if isinstance(value, dt.datetime) else value
    return row


def _reference_files(archive: Archive) -> dict[str, bytes]:
    """The reference data in the exchange format and as the full TOML (all fonds, schedules, rules)."""

    reference, _version = current_reference(archive)
    document = export_fonds(archive)
    return {"参考数据.json": (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8"),
            "参考数据.toml": dump_reference(reference).encode("utf-8")}


def _home_files(archive: Archive) -> list[tuple[str, Path]]:
    home = archive.home
    found = [(SETTINGS_FILE, home / SETTINGS_FILE)] if (home / SETTINGS_FILE).is_file() else []
    for name in HOME_ITEMS:
        top = home / name
        if top.is_dir():
            found += [(p.relative_to(home).as_posix(), p) for p in sorted(top.rglob("*"))
                      if p.is_file() and not p.name.endswith(".part")]
    return found


def passphrase_from_env(name: str = PASSPHRASE_ENV) -> str:
    """The passphrase from the environment variable the operator named (never from a file in the home)."""
    value = os.environ.get(name, "")
    if not value:
        raise BadInput(f"请在环境变量 {name} 中提供备份口令", f"set the backup passphrase in the environment variable {name}")
    return value
