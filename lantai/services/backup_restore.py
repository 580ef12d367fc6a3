"""``lantai backup restore SRC`` and ``lantai backup verify SRC --sample N`` (DA/T 70 bc 3-4).

Restore rebuilds a working archive from a backup alone, into an empty ``LANTAI_HOME``:

1. the backup set's manifest is checked against the SM3 the backup index recorded, and the key
   bundle is decrypted (a wrong passphrase stops here, before anything is written);
2. every file the manifest names is copied and its SM3 compared — a corrupt or missing file is
   reported by name, and a restore with any is not finished;
3. keys, accounts and ``lantai.toml`` are written last (until ``lantai.toml`` exists the home is
   not an archive, so nothing can open a half-restored one), then the catalogue and the search
   index are rebuilt from the store and the journal (:func:`lantai.services.rebuild.rebuild_catalogue`)
   and the audit chain is verified.

A marker (``.lantai-restore.json``) names the source and set while a restore is under way: running
the same command again after a kill or a repaired source carries on (files already restored are
re-digested, not trusted).

Verify restores a random sample of objects into a scratch storage root in ``staging/``, checks each
file against the backup manifest, the object against its own inventories and the archive's live
inventory, and records the outcome as a bc 3-4 check run.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import json
import os
import random
import re
import shutil
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import inspect as sql_inspect
from sqlalchemy import select, text, update

from lantai.catalog import db
from lantai.catalog.access import ApiToken
from lantai.catalog.models import CheckRecord, User
from lantai.checks.backups import PROFILE, STAGE, restorability_item
from lantai.checks.report import CheckReport, new_meta
from lantai.crypto import bundle
from lantai.crypto.digests import digest_file, sm3_hex
from lantai.domain.reference import dump_reference
from lantai.errors import BadInput, IntegrityError, LantaiError
from lantai.services.archive import Archive, init_archive
from lantai.services.arrange_reference import current_reference
from lantai.services.backup import (
    CHECKPOINTS,
    HOME,
    JOURNAL,
    KEY_BUNDLE,
    MANIFEST,
    SET_FILE,
    SETTINGS_FILE,
    STORE,
    latest_set,
    parse_manifest,
    read_index,
    set_dir,
)
from lantai.services.item_checks import BACKUP_VERIFIED, keep_report, record_run
from lantai.services.rebuild import rebuild_catalogue
from lantai.settings import Settings
from lantai.storage.backup_target import Target, open_backup_target
from lantai.storage.ocfl import OcflStore, verify_file

MARKER = ".lantai-restore.json"
PARTIAL = re.compile(r"\..+\.[0-9a-f]{8}\.part")  # what BackupTarget.copy_out writes before its rename
Progress = Callable[[int], None]


@dataclass
class BackupSet:
    """One verified backup set: its manifest (trusted: its SM3 matched the index) and description."""

    target: Target
    name: str
    manifest: dict[str, str]
    description: dict[str, Any]

    @property
    def base(self) -> str:
        return set_dir(self.name)

    def object_files(self, object_id: str) -> list[str]:
        """The manifest's files of one object at the head this set holds (v1 … vHEAD and the declaration)."""
        info = self.description["objects"][object_id]
        prefix, head = f"{STORE}/{info['path']}/", int(info["head"])
        return [p for p in self.manifest if p.startswith(prefix) and OcflStore.in_versions(p[len(prefix):], head)]


def open_set(source: str, name: str | None = None, settings: Settings | None = None) -> BackupSet:
    """The set (newest by default) after checking its manifest and description against the index
    (``settings``: where an ``s3://`` source's endpoint and credentials come from)."""
    target = open_backup_target(source, s3=settings.s3_options if settings is not None else None)
    index = read_index(target)
    if index is None:
        raise BadInput(f"{target.url} 中没有兰台备份（缺少 lantai-backup.json）", f"no Lantai backup in {target.url}")
    entry = latest_set(index, name)
    data = target.read_bytes(f"{set_dir(entry['name'])}/{MANIFEST}")
    if sm3_hex(data) != entry.get("manifest_sm3"):
        raise IntegrityError(f"备份集 {entry['name']} 的清单与备份索引记录的 SM3 不符（清单被改动）",
                             f"the manifest of set {entry['name']} does not match the SM3 in the index",
                             problems=[{"file": f"{set_dir(entry['name'])}/{MANIFEST}", "problem": "digest"}])
    manifest = parse_manifest(data)
    description_path = f"{set_dir(entry['name'])}/{SET_FILE}"
    description = target.read_bytes(description_path)
    if sm3_hex(description) != manifest.get(description_path):
        raise IntegrityError("备份集说明 set.json 与清单不符", "set.json does not match the manifest",
                             problems=[{"file": description_path, "problem": "digest"}])
    return BackupSet(target, entry["name"], manifest, json.loads(description))


def open_key_bundle(backup: BackupSet, passphrase: str) -> dict[str, Any]:
    path = f"{backup.base}/{KEY_BUNDLE}"
    data = backup.target.read_bytes(path)
    if sm3_hex(data) != backup.manifest.get(path):
        raise IntegrityError("密钥包与备份清单不符（已损坏）", "the key bundle does not match the manifest",
                             problems=[{"file": path, "problem": "digest"}])
    return bundle.open_sealed(data, passphrase)


# -- restore -------------------------------------------------------------------------------------

@dataclass
class RestoreResult:
    home: str
    source: str
    set_name: str
    resumed: bool = False
    files: int = 0
    bytes: int = 0
    objects: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)
    rebuild: dict[str, Any] = field(default_factory=dict)
    audit: dict[str, Any] = field(default_factory=dict)
    users: int = 0
    tokens: int = 0
    reference_matches: bool | None = None
    copy_seconds: float = 0.0
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.problems and bool(self.audit.get("ok"))

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "home": self.home, "source": self.source, "set": self.set_name, "resumed": self.resumed,
                "files": self.files, "bytes": self.bytes, "objects": self.objects, "problems": self.problems,
                "items": self.rebuild.get("items"), "indexed": self.rebuild.get("indexed"),
                "audit_entries": self.audit.get("entries"), "audit_ok": self.audit.get("ok"),
                "users": self.users, "tokens": self.tokens, "reference_matches": self.reference_matches,
                "copy_seconds": self.copy_seconds, "rebuild_seconds": self.rebuild.get("seconds"),
                "seconds": self.seconds}


def restore_backup(settings: Settings, source: str, *, passphrase: str, set_name: str | None = None,
                   actor: str = "system", on_total: Callable[[int], None] | None = None,
                   progress: Progress | None = None) -> RestoreResult:
    """Restore ``source`` into the empty home ``settings`` names (or resume one under way)."""
    backup = open_set(source, set_name, settings)
    resumed = _claim_home(settings, backup)
    payload = open_key_bundle(backup, passphrase)  # a wrong passphrase fails before anything is written
    started = time.perf_counter()
    result = RestoreResult(str(settings.home), backup.target.url, backup.name, resumed)
    _write_marker(settings, backup)
    placement = _placement(settings, backup)
    if on_total:
        on_total(len(placement))
    _restore_files(backup, placement, result, resumed, settings.workers, progress)
    result.copy_seconds = round(time.perf_counter() - started, 3)
    if result.problems:
        return _finish(result, started)
    store = OcflStore(settings.store_root, settings.staging_dir, fsync=settings.fsync)
    for object_id, info in backup.description["objects"].items():
        store.finish_restored_object(object_id, int(info["head"]))
    result.objects = len(backup.description["objects"])
    _write_keys(settings, payload["keys"])
    problem, _size = _restore_file(backup, f"{backup.base}/{HOME}/{SETTINGS_FILE}", settings.home / SETTINGS_FILE, True)
    if problem:
        result.problems.append(problem)
        return _finish(result, started)
    with init_archive(settings, actor=actor) as archive:
        result.users, result.tokens = _restore_accounts(archive, payload)
        _rebuild(archive, backup, result, actor)
    (settings.home / MARKER).unlink(missing_ok=True)
    return _finish(result, started)


def _finish(result: RestoreResult, started: float) -> RestoreResult:
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _claim_home(settings: Settings, backup: BackupSet) -> bool:
    """Refuse a home that holds anything but an unfinished restore of this same backup set."""
    home = settings.home
    entries = sorted(os.listdir(home)) if home.is_dir() else []
    marker = home / MARKER
    if entries and marker.is_file():
        with contextlib.suppress(ValueError, OSError):
            record = json.loads(marker.read_text(encoding="utf-8"))
            if record.get("source") == backup.target.url and record.get("set") == backup.name:
                _remove_partials(home)
                return True
        raise BadInput(f"{home} 中有另一个备份的未完成恢复", f"{home} holds an unfinished restore of another backup")
    if entries:
        raise BadInput(f"档案目录 {home} 不为空，只能恢复到空目录（请设置 LANTAI_HOME 为新目录）",
                       f"the archive home {home} is not empty; restore only into an empty home",
                       entries=entries[:20])
    _refuse_used_database(settings)
    return False


def _remove_partials(home: Path) -> None:
    """Copies a kill cut short (``.<name>.<8 hex>.part``): never part of the restored archive."""
    for dirpath, _dirnames, filenames in os.walk(home):
        for name in filenames:
            if PARTIAL.fullmatch(name):
                (Path(dirpath) / name).unlink(missing_ok=True)


def _refuse_used_database(settings: Settings) -> None:
    """A PostgreSQL catalogue named by the settings must not already hold an archive."""
    if not settings.database_url:
        return
    engine = db.make_engine(settings.catalogue_url)
    try:
        if "items" in sql_inspect(engine).get_table_names():
            with engine.connect() as conn:
                if conn.execute(text("SELECT 1 FROM items LIMIT 1")).first() is not None:
                    raise BadInput("目录数据库中已有档案，只能恢复到空数据库", "the catalogue database already holds an archive")
    finally:
        engine.dispose()


def _write_marker(settings: Settings, backup: BackupSet) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    (settings.home / MARKER).write_text(json.dumps({"source": backup.target.url, "set": backup.name,
                                                    "started": dt.datetime.now(dt.UTC).isoformat()}), encoding="utf-8")


def _placement(settings: Settings, backup: BackupSet) -> dict[str, Path]:
    """Where each file of the set goes in the new home; ``lantai.toml`` is placed last, separately."""
    store = OcflStore(settings.store_root, settings.staging_dir)
    placement: dict[str, Path] = {}
    for relative in backup.manifest:
        inner = relative[len(backup.base) + 1:] if relative.startswith(backup.base + "/") else None
        if relative.startswith(f"{STORE}/"):
            placement[relative] = store.restore_path(relative[len(STORE) + 1:])
        elif inner == JOURNAL:
            placement[relative] = settings.audit_journal
        elif inner and inner.startswith(f"{CHECKPOINTS}/"):
            placement[relative] = settings.audit_checkpoints / Path(inner).name
        elif inner and inner.startswith(f"{HOME}/") and inner != f"{HOME}/{SETTINGS_FILE}":
            placement[relative] = settings.home / _inside(inner[len(HOME) + 1:])
    return placement


def _inside(relative: str) -> str:
    if relative.startswith("/") or any(p in ("", ".", "..") for p in relative.split("/")):
        raise BadInput(f"备份中的非法路径: {relative!r}", f"illegal path in a backup: {relative!r}")
    return relative


def _restore_files(backup: BackupSet, placement: dict[str, Path], result: RestoreResult, resumed: bool,
                   workers: int, progress: Progress | None) -> None:
    """Copy and check every file, ``workers`` at a time (file I/O and SM3 release the GIL)."""
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        outcomes = pool.map(lambda item: _restore_file(backup, item[0], item[1], resumed), placement.items())
        for problem, size in outcomes:
            if problem:
                result.problems.append(problem)
            elif size >= 0:
                result.files += 1
                result.bytes += size
            if progress:
                progress(1)


def _restore_file(backup: BackupSet, relative: str, destination: Path, resumed: bool) -> tuple[dict[str, Any] | None, int]:
    """(problem, bytes copied); -1 bytes for a file a resumed restore already had whole."""
    expected = backup.manifest.get(relative, "")
    if resumed and destination.is_file():
        if digest_file(destination, ("sm3",))[0]["sm3"] == expected:
            return None, -1
        destination.unlink()
    try:
        digests, size = backup.target.copy_out(relative, destination, ("sm3",))
    except LantaiError as exc:
        return {"file": relative, "problem": "missing", "message": exc.message_zh, "message_en": exc.message_en}, 0
    if digests["sm3"] != expected:
        destination.unlink(missing_ok=True)  # never leave bytes the manifest disowns
        return {"file": relative, "problem": "digest", "expected": expected, "actual": digests["sm3"],
                "message": "SM3 与备份清单不符（备份文件已损坏）",
                "message_en": "SM3 differs from the backup manifest (the backup file is damaged)"}, 0
    return None, size


def _write_keys(settings: Settings, files: dict[str, dict[str, Any]]) -> None:
    keys_dir = settings.keys_dir
    keys_dir.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    for relative, entry in files.items():
        path = keys_dir / _inside(relative)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, int(entry["mode"]) & 0o700 or 0o600)
        try:
            os.write(fd, base64.b64decode(entry["data"]))
            os.fsync(fd)
        finally:
            os.close(fd)


def _restore_accounts(archive: Archive, payload: dict[str, Any]) -> tuple[int, int]:
    """Users and API tokens as they were (password and token hashes only: no secret is in the backup)."""
    users = tokens = 0
    with archive.session() as session:
        existing = set(session.scalars(select(User.username)))
        for row in payload.get("users", []):
            if row["username"] not in existing:
                session.add(User(**_typed(User, row)))
                users += 1
        session.flush()
        ids = dict(session.execute(select(User.username, User.id)).all())
        known = set(session.scalars(select(ApiToken.token_hash)))
        for row in payload.get("tokens", []):
            if row["token_hash"] not in known and row.get("username") in ids:
                values = {k: v for k, v in row.items() if k != "username"}
                session.add(ApiToken(user_id=ids[row["username"]], **_typed(ApiToken, values)))
                tokens += 1
    archive.audit.append("system", "backup.accounts_restored", str(archive.home), {"users": users, "tokens": tokens})
    return users, tokens


def _typed(model: type, row: dict[str, Any]) -> dict[str, Any]:
    """JSON values back into column types (times were written as ISO text)."""
    columns = {c.key: c for c in model.__table__.columns}  # type: ignore[attr-defined]
    values = {}
    for key, value in row.items():
        if key not in columns:
            continue
        if value is not None and columns[key].type.python_type is dt.datetime:
            value = dt.datetime.fromisoformat(value)
        values[key] = value
    return values


def _rebuild(archive: Archive, backup: BackupSet, result: RestoreResult, actor: str) -> None:

    result.rebuild = rebuild_catalogue(archive, actor=actor)
    for damaged in result.rebuild.get("damaged", []):
        result.problems.append({"file": damaged["object"], "problem": "object",
                                "message": "恢复后的对象无法重建目录", "message_en": "restored object cannot be catalogued"})
    _relocate_reports(archive, backup.description.get("home", ""))
    reference_path = f"{backup.base}/参考数据.toml"
    with contextlib.suppress(LantaiError):
        result.reference_matches = dump_reference(current_reference(archive)[0]).encode("utf-8") == \
            backup.target.read_bytes(reference_path)
    report = archive.audit.verify()
    result.audit = {"ok": report.ok, "entries": report.entries, "first_bad_seq": report.first_bad_seq,
                    "problems": report.problems[:20]}
    archive.audit.append(actor, "backup.restored", backup.target.url, {
        "set": backup.name, "objects": result.objects, "files": result.files, "items": result.rebuild.get("items"),
        "audit_ok": report.ok, "reference_matches": result.reference_matches})


def _relocate_reports(archive: Archive, old_home: str) -> None:
    """Check runs name their report files by path: point them at the new home."""
    new_home = str(archive.home)
    if not old_home or old_home == new_home:
        return
    with archive.session() as session:
        rows = session.execute(select(CheckRecord.id, CheckRecord.report_location)
                               .where(CheckRecord.report_location.like(f"{old_home}/%"))).all()
        for row_id, location in rows:
            session.execute(update(CheckRecord).where(CheckRecord.id == row_id)
                            .values(report_location=new_home + location[len(old_home):]))


# -- verify (bc 3-4) -----------------------------------------------------------------------------

@dataclass
class VerifyResult:
    source: str
    set_name: str
    objects_in_set: int = 0
    sampled: list[str] = field(default_factory=list)
    problems: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    set_problems: list[dict[str, Any]] = field(default_factory=list)
    missing_elsewhere: list[dict[str, Any]] = field(default_factory=list)  # outside the sample: stat only
    keys: str = "not_checked"
    run_id: str = ""
    report: str = ""
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        return [oid for oid in self.sampled if self.problems.get(oid) or self.set_problems]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.set_problems and not self.missing_elsewhere and self.keys != "failed"

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "source": self.source, "set": self.set_name, "objects_in_set": self.objects_in_set,
                "sampled": self.sampled, "failed": self.failed, "problems": self.problems,
                "set_problems": self.set_problems, "missing_elsewhere": self.missing_elsewhere, "keys": self.keys, "run_id": self.run_id, "report": self.report,
                "seconds": self.seconds}


def verify_backup(archive: Archive, source: str, *, sample: int, passphrase: str | None = None,
                  set_name: str | None = None, actor: str = "system", seed: int | None = None,
                  progress: Progress | None = None) -> VerifyResult:
    """Restore ``sample`` random objects to a scratch root, compare digests, record a bc 3-4 run."""
    if sample < 1:
        raise BadInput("抽样数必须至少为 1", "the sample must be at least 1")
    started = time.perf_counter()
    try:
        backup = open_set(source, set_name, archive.settings)
    except IntegrityError as exc:
        return _record_untrusted(archive, source, exc, actor, started)
    result = VerifyResult(backup.target.url, backup.name, len(backup.description["objects"]))
    result.set_problems = _check_set_files(backup)
    result.set_problems += _check_journal(archive, backup)
    if passphrase:
        result.keys = _check_keys(archive, backup, passphrase, result)
    ids = sorted(backup.description["objects"])
    result.sampled = random.Random(seed).sample(ids, min(sample, len(ids)))
    scratch = archive.settings.staging_dir / f"backup-verify-{uuid.uuid4().hex}"
    try:
        for object_id in result.sampled:
            result.problems[object_id] = _restore_sample(archive, backup, object_id, scratch)
            if progress:
                progress(1)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    result.missing_elsewhere = _missing_store_files(backup, set(result.sampled))
    _record_run(archive, result, actor)
    result.seconds = round(time.perf_counter() - started, 3)
    return result


def _check_set_files(backup: BackupSet) -> list[dict[str, Any]]:
    """The set's own files (journal, checkpoints, key bundle, reference data), digested whole."""
    problems = []
    for relative, expected in sorted(backup.manifest.items()):
        if relative.startswith(f"{STORE}/"):
            continue
        digests = backup.target.digest(relative)
        if digests is None:
            problems.append({"kind": "missing", "file": relative})
        elif digests["sm3"] != expected:
            problems.append({"kind": "digest", "file": relative, "expected": expected, "actual": digests["sm3"]})
    return problems


def _missing_store_files(backup: BackupSet, sampled: set[str]) -> list[dict[str, Any]]:
    """Store files of the objects outside the sample that are not there at all (a cheap stat each)."""
    prefixes = {f"{STORE}/{info['path']}/": oid for oid, info in backup.description["objects"].items()
                if oid not in sampled}
    missing = []
    for relative in sorted(backup.manifest):
        parts = relative.split("/")
        owner = prefixes.get("/".join(parts[:5]) + "/") if len(parts) > 5 else None
        if owner and backup.target.size(relative) < 0:
            missing.append({"kind": "missing", "object": owner, "file": relative})
    return missing


def _check_journal(archive: Archive, backup: BackupSet) -> list[dict[str, Any]]:
    """The backed-up journal must be a prefix of the archive's own: same hash at its last entry."""
    head = backup.description.get("audit", {})
    seq, want = int(head.get("head_seq") or 0), head.get("head_hash", "")
    if not seq:
        return []
    for record in archive.audit.iter_journal():
        if not isinstance(record, Exception) and record.seq == seq:
            if record.hash == want:
                return []
            break
    return [{"kind": "manifest", "file": f"{backup.base}/{JOURNAL}",
             "detail": f"备份的审计链头（第 {seq} 条）与档案库的审计链不一致"}]


def _check_keys(archive: Archive, backup: BackupSet, passphrase: str, result: VerifyResult) -> str:
    try:
        payload = open_key_bundle(backup, passphrase)
    except LantaiError as exc:
        result.set_problems.append({"kind": "manifest", "file": f"{backup.base}/{KEY_BUNDLE}", "detail": exc.message_zh})
        return "failed"
    signing = payload["keys"].get("signing.key", {}).get("data", "")
    live = archive.settings.keys_dir / "signing.key"
    if not live.is_file() or base64.b64decode(signing) != live.read_bytes():
        result.set_problems.append({"kind": "manifest", "file": f"{backup.base}/{KEY_BUNDLE}",
                                    "detail": "密钥包中的签名私钥与档案库的不同"})
        return "failed"
    return "ok"


def _restore_sample(archive: Archive, backup: BackupSet, object_id: str, scratch: Path) -> list[dict[str, Any]]:
    """One object restored into a scratch storage root, then judged three ways."""
    store = OcflStore(scratch / object_id.encode("utf-8").hex()[:32] / "store", scratch / "staging", fsync=False)
    store.initialise()
    problems: list[dict[str, Any]] = []
    for relative in backup.object_files(object_id):
        destination = store.restore_path(relative[len(STORE) + 1:])
        try:
            digests, _size = backup.target.copy_out(relative, destination, ("sm3",))
        except LantaiError:
            problems.append({"kind": "missing", "file": relative})
            continue
        if digests["sm3"] != backup.manifest[relative]:
            problems.append({"kind": "digest", "file": relative, "expected": backup.manifest[relative],
                             "actual": digests["sm3"]})
    if problems:
        return problems
    head = int(backup.description["objects"][object_id]["head"])
    try:
        store.finish_restored_object(object_id, head)
    except LantaiError as exc:
        return [{"kind": "object", "detail": exc.message_zh}]
    return _judge_restored(archive, store, object_id, head)


def _judge_restored(archive: Archive, store: OcflStore, object_id: str, head: int) -> list[dict[str, Any]]:

    inspection = store.inspect_object(store.object_path(object_id), object_id)
    if not inspection.ok or inspection.inventory is None:
        return [{"kind": "object", "detail": "; ".join(f"{p.file} {p.problem}" for p in inspection.problems)[:500]}]
    problems = []
    for content_path, sha512, _sm3, path in store.iter_content(object_id, inventory=inspection.inventory):
        ok, actual = verify_file(path, "sha512", sha512)
        if not ok:
            problems.append({"kind": "object", "detail": f"{content_path} 与清单摘要不符 ({actual[:16]}…)"})
    try:
        live = archive.store.read_inventory(object_id)
    except LantaiError:
        return [*problems, {"kind": "object", "detail": "档案库中已没有该对象"}]
    for n in OcflStore.differing_versions(live, inspection.inventory, head):
        problems.append({"kind": "object", "detail": f"第 {n} 版的内容与档案库中的不同"})
    return problems


def _record_run(archive: Archive, result: VerifyResult, actor: str) -> None:
    """The verification as a bc 3-4 check run (rows, kept report, ``check.run``) and ``backup.verified``."""

    when = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    report = CheckReport(STAGE, PROFILE, meta=new_meta(actor, backup=result.source, backup_set=result.set_name))
    for object_id in result.sampled:
        problems = result.problems.get(object_id, []) + result.set_problems
        report.items.append(restorability_item(object_id, f"{result.source}#{object_id}", problems, time=when,
                                               source=result.source, sampled=len(result.sampled)))
    if report.items:
        result.run_id = uuid.uuid4().hex
        result.report = keep_report(archive, result.run_id, report)
        record_run(archive, report, operator=actor, location=result.report, run_id=result.run_id)
    archive.audit.append(actor, BACKUP_VERIFIED, result.source, {
        "set": result.set_name, "ok": result.ok, "sampled": len(result.sampled), "failed": len(result.failed),
        "run_id": result.run_id, "keys": result.keys, "set_problems": result.set_problems[:50],
        "missing_elsewhere": result.missing_elsewhere[:50]})


def _record_untrusted(archive: Archive, source: str, exc: IntegrityError, actor: str, started: float) -> VerifyResult:
    """A backup whose index and manifest disagree cannot be sampled: recorded as failed, file named."""
    result = VerifyResult(source, "")
    result.set_problems = [{"kind": "manifest", "file": p.get("file", ""), "detail": exc.message_zh}
                           for p in exc.details.get("problems", [{}])]
    archive.audit.append(actor, BACKUP_VERIFIED, source, {"ok": False, "sampled": 0, "failed": 0,
                                                          "set_problems": result.set_problems})
    result.seconds = round(time.perf_counter() - started, 3)
    return result
