"""Format migration (格式转换/迁移, issue #18 point 5): plan what the registry says to migrate,
convert it with the registry's tool, validate the result as PDF/A with Lantai's own validator,
and add it as a new OCFL version beside the untouched original through the one change path.

One migrated item is one :class:`MigrationChange`: the renditions, ``元数据.xml`` with a sibling
编码 for each (so the rendition is linked to its source document version), ``过程信息.xml`` with a
业务实体 格式转换 naming tool, version and parameters (it becomes an event of the item's
history), and ``lantai/migrations.json`` (what was migrated by which rule — the planner reads it
so a source is migrated once). The change path writes the catalogue, index and audit entry
(``item.migrated``) with it as one recoverable unit.

A conversion that hangs, crashes, produces nothing or produces something that is not valid
PDF/A of the declared level is a failed migration: the tool is killed at ``migration_timeout``,
nothing is written to the item, and ``item.migration_failed`` goes to the audit chain with the
reason; ``lantai migrate --plan`` shows it and ``run`` skips it unless asked to retry.

Concurrency: conversions run on ``migration_workers`` threads (the work happens in LibreOffice
processes); each thread borrows one LibreOffice user profile from a pool for the time of one
conversion, because two processes on one profile silently produce nothing. Commits are
serialised (they are short, and the catalogue is one writer anyway).
"""

from __future__ import annotations

import contextlib
import json
import queue
import re
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.models import AuditEntry, Item, ItemFile
from lantai.domain.clock import beijing_now
from lantai.domain.migration import (
    ConversionEvent,
    MigrationRegistry,
    MigrationRule,
    PlannedMigration,
    add_conversion_event,
    add_rendition,
    parse_registry,
    pdfa_level,
    plan_item,
)
from lantai.errors import BadInput, LantaiError, StorageError
from lantai.formats import convert
from lantai.formats.identify import identify
from lantai.formats.pdfa import validate_pdfa
from lantai.services.catalogue import METADATA_PATH, PROCESS_PATH
from lantai.services.changes import ItemChange, commit_change
from lantai.settings import Settings

if TYPE_CHECKING:
    from lantai.services.archive import Archive

MIGRATIONS_PATH = "lantai/migrations.json"
MIGRATED_ACTION = "item.migrated"
FAILED_ACTION = "item.migration_failed"
PROFILES_DIR = "libreoffice-profiles"


def load_registry(settings: Settings) -> MigrationRegistry:
    """The registry named by ``migration_registry``, or the one shipped with Lantai."""
    if settings.migration_registry is None:
        text = resources.files("lantai.domain").joinpath("data/migration.toml").read_text(encoding="utf-8")
    else:
        try:
            text = Path(settings.migration_registry).read_text(encoding="utf-8")
        except OSError as exc:
            raise BadInput(f"无法读取格式迁移登记表 {settings.migration_registry}: {exc}",
                           f"cannot read the migration registry: {exc}") from exc
    return parse_registry(text)


# -- plan ---------------------------------------------------------------------------------------

@dataclass
class MigrationPlan:
    """What would migrate, and the sources whose last migration failed (skipped unless retried)."""

    planned: list[PlannedMigration]
    failed_before: dict[tuple[str, str], str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"planned": [dict(p.to_dict(), failed_before=self.failed_before.get((p.record_id, p.source_path)))
                            for p in self.planned],
                "count": len(self.planned), "items": len({p.record_id for p in self.planned}),
                "failed_before": len([p for p in self.planned if (p.record_id, p.source_path) in self.failed_before])}


def plan(archive: Archive, *, registry: MigrationRegistry | None = None,
         record_ids: list[str] | None = None) -> MigrationPlan:
    """Every content file of an archived item the registry migrates and that has no rendition yet."""

    registry = registry or load_registry(archive.settings)
    planned: list[PlannedMigration] = []
    for record_id, paths in _candidates(archive, registry, record_ids).items():
        stored = {f.logical_path: f for f in archive.store.files(record_id)}
        puids = {p: identify(archive.store.content_path(record_id, stored[p].content_path)).puid
                 for p in paths if p in stored}
        planned += plan_item(registry, record_id, puids, stored, migrated_sources(archive, record_id, stored))
    return MigrationPlan(planned, _failed_before(archive))


def _candidates(archive: Archive, registry: MigrationRegistry, record_ids: list[str] | None) -> dict[str, list[str]]:
    """Content files whose extension some enabled rule names (the PUID decides later), by item."""
    suffixes = registry.extensions
    query = (select(Item.record_id, ItemFile.logical_path).join(ItemFile, ItemFile.item_id == Item.id)
             .where(Item.status == "archived", ItemFile.role == "content").order_by(Item.record_id, ItemFile.logical_path))
    if record_ids:
        query = query.where(Item.record_id.in_(record_ids))
    found: dict[str, list[str]] = {}
    with archive.sessions() as session:
        for record_id, path in session.execute(query):
            if path.rsplit(".", 1)[-1].lower() in suffixes:
                found.setdefault(record_id, []).append(path)
    return found


def migrated_sources(archive: Archive, record_id: str, stored: dict[str, Any] | None = None) -> list[str]:
    """Sources of the item that already have a rendition (from ``lantai/migrations.json``)."""
    if stored is not None and MIGRATIONS_PATH not in stored:
        return []
    return list(renditions(archive, record_id))


def rendition_of(archive: Archive, record_id: str, source: str) -> str | None:
    """The migrated rendition of ``source`` in the item's head, if there is one."""
    if MIGRATIONS_PATH not in {f.logical_path for f in archive.store.files(record_id)}:
        return None
    return renditions(archive, record_id).get(source)


def renditions(archive: Archive, record_id: str) -> dict[str, str]:
    """source → rendition for every migration the item records (empty when none)."""
    try:
        return {m["source"]: m["target"] for m in json.loads(archive.store.read_bytes(record_id, MIGRATIONS_PATH))}
    except (LantaiError, OSError, KeyError, ValueError):
        return {}


def _failed_before(archive: Archive) -> dict[tuple[str, str], str]:
    """(record id, source) → reason of the newest failed migration not followed by a success."""
    failed: dict[tuple[str, str], str] = {}
    with archive.sessions() as session:
        rows = session.execute(select(AuditEntry.action, AuditEntry.target, AuditEntry.details)
                               .where(AuditEntry.action.in_((FAILED_ACTION, MIGRATED_ACTION)))
                               .order_by(AuditEntry.seq))
        for action, target, details in rows:
            data = json.loads(details or "{}")
            if action == FAILED_ACTION:
                failed[(target, data.get("source", ""))] = data.get("reason", "")
            else:
                for m in data.get("migrations", []):
                    failed.pop((target, m.get("source", "")), None)
    return failed


# -- the change ---------------------------------------------------------------------------------

@dataclass(frozen=True)
class Rendition:
    """One converted file ready to be committed, with what the metadata says about it."""

    source: str
    target: str
    data: bytes
    format_info: str
    creator: str
    description: str
    event: ConversionEvent
    record: dict[str, Any]


@dataclass(frozen=True)
class MigrationChange(ItemChange):
    """Renditions added beside their sources; metadata, 过程信息 and the migration log computed
    from the head the change applies to (a source migrated meanwhile is left out)."""

    renditions: tuple[Rendition, ...] = ()

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        metadata = read(METADATA_PATH)
        if metadata is None:
            raise StorageError(f"对象 {self.record_id} 没有元数据", f"object {self.record_id} has no metadata")
        process = read(PROCESS_PATH)
        log = json.loads(read(MIGRATIONS_PATH) or b"[]")
        done = {m["source"] for m in log}
        files: dict[str, bytes] = {}
        for r in (r for r in self.renditions if r.source not in done):
            if read(r.target) is not None:
                raise StorageError(f"{self.record_id} 中已有文件 {r.target}", f"{r.target} already exists")
            metadata = add_rendition(metadata, r.source, r.target, size=len(r.data), format_info=r.format_info,
                                     creator=r.creator, description=r.description)
            process = add_conversion_event(process, r.event)
            log.append(r.record)
            files[r.target] = r.data
        if not files:
            return {}
        return {**files, METADATA_PATH: metadata, PROCESS_PATH: process,
                MIGRATIONS_PATH: json.dumps(log, ensure_ascii=False, indent=2).encode("utf-8")}


# -- run ----------------------------------------------------------------------------------------

@dataclass
class ItemOutcome:
    record_id: str
    migrated: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)
    version: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"record_id": self.record_id, "version": self.version, "migrated": self.migrated, "failed": self.failed}


@dataclass
class _Run:
    archive: Archive
    actor: str
    registry: MigrationRegistry
    timeout: float
    profiles: queue.Queue[Path]
    versions: dict[str, str] = field(default_factory=dict)
    commit_lock: threading.Lock = field(default_factory=threading.Lock)
    version_lock: threading.Lock = field(default_factory=threading.Lock)


def run(archive: Archive, actor: str, *, max_items: int | None = None, workers: int | None = None,
        timeout: float | None = None, retry_failed: bool = False, max_duration: float | None = None,
        record_ids: list[str] | None = None, on_total: Callable[[int], None] | None = None,
        on_item: Callable[[ItemOutcome], None] | None = None) -> dict[str, Any]:
    """Migrate what :func:`plan` finds, item by item, on ``workers`` threads, within the bounds."""
    if (max_items is not None and max_items < 1) or (workers is not None and not 1 <= workers <= 16):
        raise BadInput("--max-items 须为正数，--workers 须在 1–16 之间", "max-items must be positive, workers 1-16")
    started = time.monotonic()
    registry = load_registry(archive.settings)
    found = plan(archive, registry=registry, record_ids=record_ids)
    todo: dict[str, list[PlannedMigration]] = {}
    skipped = 0
    for p in found.planned:
        if (p.record_id, p.source_path) in found.failed_before and not retry_failed:
            skipped += 1
            continue
        todo.setdefault(p.record_id, []).append(p)
    items = list(todo.items())[:max_items] if max_items else list(todo.items())
    workers = workers or archive.settings.migration_workers
    state = _Run(archive, actor, registry, timeout or archive.settings.migration_timeout, _profiles(archive, workers))
    if on_total:
        on_total(len(items))
    deadline = started + max_duration if max_duration else None
    outcomes: list[ItemOutcome] = []
    deferred = 0
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="migrate") as pool:
        for outcome in pool.map(lambda entry: _one_item(state, entry[0], entry[1], deadline), items):
            if outcome is None:
                deferred += 1
                continue
            outcomes.append(outcome)
            if on_item:
                on_item(outcome)
    migrated = sum(len(o.migrated) for o in outcomes)
    failed = sum(len(o.failed) for o in outcomes)
    return {"planned": len(found.planned), "items": len(outcomes), "migrated": migrated, "failed": failed,
            "skipped_failed_before": skipped, "deferred": deferred + len(todo) - len(items), "workers": workers,
            "seconds": round(time.monotonic() - started, 3), "tools": dict(state.versions),
            "results": [o.to_dict() for o in outcomes]}


def _profiles(archive: Archive, workers: int) -> queue.Queue[Path]:
    """One LibreOffice user profile per concurrent conversion, kept between runs (the first start
    of a profile costs seconds)."""
    pool: queue.Queue[Path] = queue.Queue()
    for n in range(workers):
        pool.put(archive.settings.staging_dir / PROFILES_DIR / f"worker-{n + 1}")
    return pool


def _one_item(state: _Run, record_id: str, planned: list[PlannedMigration], deadline: float | None) -> ItemOutcome | None:
    if deadline is not None and time.monotonic() > deadline:
        return None
    outcome = ItemOutcome(record_id)
    renditions: list[Rendition] = []
    workdir = Path(tempfile.mkdtemp(prefix="migrate-", dir=state.archive.settings.staging_dir))
    try:
        for n, p in enumerate(planned):
            rule = state.registry.by_id(p.rule_id)
            assert rule is not None
            try:
                renditions.append(_convert(state, p, rule, workdir / str(n)))
            except LantaiError as exc:
                outcome.failed.append(_failure(state, p, rule, exc))
        if renditions:
            _commit(state, record_id, renditions, outcome)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return outcome


def _tool_version(state: _Run, rule: MigrationRule) -> str:

    with state.version_lock:
        if rule.tool not in state.versions:
            state.versions[rule.tool] = convert.libreoffice_version() if rule.tool == "libreoffice" else convert.IMAGE_TOOL
        return state.versions[rule.tool]


def _convert(state: _Run, p: PlannedMigration, rule: MigrationRule, workdir: Path) -> Rendition:
    """Copy the source out of the store, run the rule's tool, validate the result as PDF/A."""

    version = _tool_version(state, rule)
    workdir.mkdir(parents=True)
    suffix = re.sub(r"[^a-z0-9]", "", Path(p.source_path).suffix.lower())[:8]
    source = workdir / f"source.{suffix or 'bin'}"
    with state.archive.store.open(p.record_id, p.source_path) as fh, open(source, "wb") as out:
        shutil.copyfileobj(fh, out, 1024 * 1024)
    if rule.tool == "libreoffice":
        with _borrow(state.profiles) as profile:
            result = convert.convert_office(source, profile, rule.parameters, state.timeout)
    else:
        result = convert.image_to_pdfa(source, Path(p.source_path).stem)
    check = validate_pdfa(result.path)
    if not check.compliant or check.declared != pdfa_level(rule.target):
        raise convert.ConversionFailed(f"转换结果不是有效的 {rule.target}", f"the result is not valid {rule.target}",
                                       reason="not_pdfa", declared=check.declared,
                                       violations=[v["rule"] for v in check.violations[:10]])
    data = result.path.read_bytes()
    return _rendition(state, p, rule, version, data, result.seconds)


@contextlib.contextmanager
def _borrow(profiles: queue.Queue[Path]) -> Iterator[Path]:
    profile = profiles.get()
    try:
        yield profile
    finally:
        profiles.put(profile)


def _rendition(state: _Run, p: PlannedMigration, rule: MigrationRule, version: str, data: bytes,
               seconds: float) -> Rendition:
    pdf_version = data[5:8].decode("ascii", "replace") if data.startswith(b"%PDF-") else ""
    name = p.source_path.split("/", 1)[-1]
    now = beijing_now()
    event = ConversionEvent(p.record_id, now.strftime("%Y-%m-%dT%H:%M:%S"), state.actor, p.source_path, p.target_path,
                            rule.id, rule.tool, version, rule.parameters)
    record = {"source": p.source_path, "source_puid": p.source_puid, "target": p.target_path,
              "target_puid": rule.target_puid, "target_format": rule.target, "rule": rule.id, "tool": rule.tool,
              "tool_version": version, "parameters": rule.parameters, "time": now.isoformat(), "actor": state.actor,
              "size": len(data), "seconds": round(seconds, 3), "pdfa": pdfa_level(rule.target)}
    return Rendition(p.source_path, p.target_path, data,
                     f"格式名称:{rule.target}, 格式版本:{pdf_version}, MIME媒体类型:application/pdf", version,
                     f"由 {name} 经格式转换生成的 {rule.target} 版本（{version}，规则 {rule.id}）；原件保留未改动",
                     event, record)


def _commit(state: _Run, record_id: str, renditions: list[Rendition], outcome: ItemOutcome) -> None:
    records = [r.record for r in renditions]
    change = MigrationChange(record_id, state.actor, MIGRATED_ACTION,
                             "格式迁移：" + "、".join(f"{r.source.split('/', 1)[-1]} → {r.target.split('/', 1)[-1]}"
                                                 for r in renditions),
                             details={"migrations": [{k: m[k] for k in ("source", "target", "rule", "tool",
                                                                         "tool_version", "parameters", "pdfa", "size")}
                                                     for m in records]},
                             renditions=tuple(renditions))
    try:
        with state.commit_lock:
            result = commit_change(state.archive, change, kind="migrate")
    except LantaiError as exc:
        for r in renditions:
            outcome.failed.append({"source": r.source, "reason": "commit", "error": exc.to_dict()})
            state.archive.audit.append(state.actor, FAILED_ACTION, record_id,
                                       {"source": r.source, "reason": "commit", "error": exc.message_en})
        return
    outcome.version = result.version
    outcome.migrated.extend({"source": m["source"], "target": m["target"], "rule": m["rule"]} for m in records)


def _failure(state: _Run, p: PlannedMigration, rule: MigrationRule, exc: LantaiError) -> dict[str, Any]:
    """A failed conversion goes to the audit chain; the item is not touched."""
    reason = str(exc.details.get("reason") or exc.code)
    details = {"source": p.source_path, "rule": rule.id, "tool": rule.tool, "tool_version": state.versions.get(rule.tool, ""),
               "reason": reason, "message": exc.message_zh,
               **{k: v for k, v in exc.details.items() if k in ("timeout", "stderr", "violations", "declared")}}
    state.archive.audit.append(state.actor, FAILED_ACTION, p.record_id, details)
    return {"source": p.source_path, "reason": reason, "message": exc.message_zh}
