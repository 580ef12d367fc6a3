"""Fixity verification (``lantai verify``): every file of every version, streamed, on all cores;
and scheduled fixity on every storage root with self-repair (``lantai fixity run``, at the end).

SM3 from the inventory's fixity block is checked by default (national cryptography first);
``sha512`` re-checks the OCFL manifest digests instead. Structure is checked too — every object
directory the layout holds, damaged or not (declaration, root and version inventories against
their sidecars and each other: :mod:`lantai.storage.inspect`), files the inventory names but
the disk lacks and files on disk it does not name — and the store against the catalogue: every
catalogued item has an object, every object is catalogued. Each problem names the object and
the file.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.models import Item, utcnow
from lantai.catalog.preservation import RootObject
from lantai.errors import LantaiError, NotFound
from lantai.jobs.hashing import check_file
from lantai.jobs.pool import worker_pool
from lantai.services.catalogue import DESTRUCTION_PATH
from lantai.services.replicas import all_roots, register_roots
from lantai.storage.backends import RootUnavailable
from lantai.storage.replica import INVENTORY, ContentFile, FileCheck, OcflRoot, content_files, version_of

if TYPE_CHECKING:
    from lantai.services.archive import Archive


@dataclass
class FixityReport:
    objects: int = 0
    files: int = 0
    bytes: int = 0
    problems: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "objects": self.objects, "files": self.files, "bytes": self.bytes,
                "problems": self.problems}


def _content_jobs(archive: Archive, object_id: str, inventory: dict, versions: list[str],
                  algorithm: str) -> tuple[list[dict[str, Any]], list[tuple[str, str, str, str, str]]]:
    """Hashing jobs for every content file the inventory names; missing and extra files as problems."""
    problems: list[dict[str, Any]] = []
    jobs = []
    named: set[str] = set()
    destroyed = destroyed_content(archive, object_id, inventory)
    for content_path, sha512, sm3, absolute in archive.store.iter_content(object_id, inventory=inventory):
        named.add(content_path)
        if (content_path, sha512) in destroyed:  # its tombstone names it: it must be gone
            if os.path.isfile(absolute):
                problems.append({"object": object_id, "file": content_path, "problem": "not_destroyed",
                                 "message": f"已销毁档案的内容文件仍在存储中（销毁未完成）: {content_path}",
                                 "message_en": f"content of a destroyed item is still stored: {content_path}"})
            continue
        if not os.path.isfile(absolute):
            problems.append({"object": object_id, "file": content_path, "problem": "missing",
                             "message": f"文件缺失: {content_path}", "message_en": f"file missing: {content_path}"})
            continue
        jobs.append((object_id, content_path, str(absolute), algorithm, sm3 if algorithm == "sm3" else sha512))
    for rel in archive.store.content_files_on_disk(object_id, versions):
        if rel not in named:
            problems.append({"object": object_id, "file": rel, "problem": "extra",
                             "message": f"对象中有清单未列出的文件: {rel}",
                             "message_en": f"file not named by the inventory: {rel}"})
    return problems, jobs


def destroyed_content(archive: Archive, object_id: str, inventory: dict) -> set[tuple[str, str]]:
    """(content path, SHA-512) of every file an approved destruction deleted from this object.

    A destroyed item keeps its inventories (every version stays described), but the content bytes
    of all its versions are gone. Its head carries the tombstone ``lantai/destruction.json``, which
    names each deleted content path with its digests; verify accepts exactly those absences and
    still reports any other missing file. (A strict OCFL validator reports the deleted paths as
    missing content: deleting bytes from earlier versions is what a destruction must do.)
    """
    head_state = inventory.get("versions", {}).get(inventory.get("head", ""), {}).get("state", {})
    if not any(DESTRUCTION_PATH in paths for paths in head_state.values()):
        return set()
    try:
        tombstone = json.loads(archive.store.read_bytes(object_id, DESTRUCTION_PATH))
        return {(f["content_path"], f["sha512"]) for f in tombstone.get("removed", [])}
    except (LantaiError, ValueError, KeyError, TypeError):
        return set()  # an unreadable tombstone accepts nothing: every absence is reported


def verify_fixity(archive: Archive, object_ids: Iterable[str] | None = None, *, algorithm: str = "sm3",
                  on_total: Callable[[int], None] | None = None,
                  progress: Callable[[int], None] | None = None, with_catalogue: bool = True) -> FixityReport:
    """Check the store's structure, every content digest, and the store against the catalogue.

    Without ``object_ids`` every object directory is walked — damaged ones included — and every
    catalogued item must have one; with them, just those objects and their catalogue rows.
    ``with_catalogue=False`` checks the store alone (a check worker has no catalogue session).
    """
    report = FixityReport()
    wanted = list(object_ids) if object_ids else None
    targets = ([(archive.store.object_path(i), i) for i in wanted] if wanted
               else [(d, None) for d in archive.store.iter_object_dirs()])
    all_jobs: list[tuple[str, str, str, str, str]] = []
    heads: dict[str, int | None] = {}
    for objdir, object_id in targets:
        inspection = archive.store.inspect_object(objdir, object_id)
        report.problems.extend(p.to_dict() for p in inspection.problems)
        if any(p.problem == "object_missing" for p in inspection.problems):
            continue
        report.objects += 1
        inventory = inspection.inventory
        heads[inspection.object_id] = int(inventory["head"][1:]) if inventory else None
        if inventory is not None:
            problems, jobs = _content_jobs(archive, inspection.object_id, inventory, inspection.versions, algorithm)
            report.problems.extend(problems)
            all_jobs.extend(jobs)
    if with_catalogue:
        report.problems.extend(_catalogue_problems(archive, heads, wanted))
    _hash_all(archive, report, all_jobs, algorithm, on_total, progress)
    return report


def _catalogue_problems(archive: Archive, heads: dict[str, int | None], wanted: list[str] | None) -> list[dict[str, Any]]:
    """Every catalogued item has an object, every object is catalogued, at the version the store holds.

    The catalogue is read after the store was walked: ingest commits the store first, so an item
    catalogued meanwhile is already in ``heads`` or on disk by now.
    """
    query = select(Item.record_id, Item.ocfl_version)
    if wanted:
        query = query.where(Item.record_id.in_(wanted))
    with archive.sessions() as session:
        catalogued = dict(session.execute(query).tuples().all())
    problems = []
    for record_id, version in sorted(catalogued.items()):
        if record_id not in heads:
            if wanted is None and not archive.store.has_object_dir(record_id):
                problems.append(_problem(record_id, "object_missing", "目录中登记的条目在存储中没有对象",
                                         "a catalogued item has no object in the store"))
        elif heads[record_id] is not None and heads[record_id] != version:
            problems.append(_problem(record_id, "catalogue_stale",
                                     f"目录记录的版本 v{version} 与存储中的最新版本 v{heads[record_id]} 不符",
                                     f"catalogue says v{version}, the store's head is v{heads[record_id]}"))
    for record_id in sorted(set(heads) - set(catalogued)):
        problems.append(_problem(record_id, "not_catalogued", "存储中的对象未在目录中登记",
                                 "an object in the store is not in the catalogue"))
    return problems


def _problem(object_id: str, code: str, zh: str, en: str) -> dict[str, Any]:
    return {"object": object_id, "file": "", "problem": code, "message": f"{zh}: {object_id}", "message_en": en}


def _hash_all(archive: Archive, report: FixityReport, all_jobs: list[tuple[str, str, str, str, str]], algorithm: str,
              on_total: Callable[[int], None] | None, progress: Callable[[int], None] | None) -> None:
    sizes = {job[2]: os.path.getsize(job[2]) for job in all_jobs}
    if on_total:
        on_total(sum(sizes.values()))
    for object_id, content_path, absolute, ok, actual, size in _run(all_jobs, sizes, archive.settings.workers):
        report.files += 1
        report.bytes += size
        if progress:
            progress(size)
        if not ok:
            report.problems.append({"object": object_id, "file": content_path, "path": absolute,
                                    "problem": "digest_mismatch" if not actual.startswith("unreadable") else "unreadable",
                                    "algorithm": algorithm, "actual": actual,
                                    "message": f"{algorithm.upper()} 摘要不符: {object_id} / {content_path}",
                                    "message_en": f"{algorithm.upper()} mismatch: {object_id} / {content_path}"})


def _run(jobs: list[tuple[str, str, str, str, str]], sizes: dict[str, int], workers: int):  # type: ignore[no-untyped-def]
    if workers <= 1 or len(jobs) < 2:
        yield from map(check_file, jobs)
        return
    # Big files first so the workers finish together; small ones travel in chunks.
    jobs = sorted(jobs, key=lambda j: -sizes[j[2]])
    with worker_pool(workers, preload=["lantai.jobs.hashing"]) as pool:
        yield from pool.map(check_file, jobs, chunksize=max(1, min(64, len(jobs) // (workers * 8) or 1)))



# -- scheduled fixity on every root, with self-repair ---------------------------------------------
#
# ``lantai fixity run`` checks (root, object) pairs oldest-verified first, within a time and byte
# budget, so a nightly run covers every copy every ``fixity_cycle_days``. Files are streamed
# (SM3, chunk by chunk; on file roots by the same worker processes as ``verify``). A file that is
# missing or wrong on one root is rewritten from a root whose copy matches the inventory (checked
# while it streams); with no sound copy anywhere the object is flagged damaged (损坏).

BATCH_OBJECTS = 64
BATCH_BYTES = 256 * 1024 * 1024


@dataclass
class ScheduledReport:
    """What one scheduled run checked, repaired and could not repair."""

    checked: int = 0
    files: int = 0
    bytes: int = 0
    seconds: float = 0.0
    planned: int = 0
    repaired: list[dict[str, Any]] = field(default_factory=list)
    unrecoverable: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    coverage: dict[str, float] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.unrecoverable

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "checked": self.checked, "planned": self.planned, "files": self.files,
                "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "mb_per_s": round(self.bytes / 1e6 / self.seconds, 1) if self.seconds else 0.0,
                "repaired": self.repaired, "unrecoverable": self.unrecoverable, "unavailable": self.unavailable,
                "coverage": self.coverage}


def run_scheduled(archive: Archive, *, root: str | None = None, max_seconds: float | None = None,
                  max_bytes: int | None = None, actor: str = "system",
                  progress: Callable[[int], None] | None = None) -> ScheduledReport:
    """Check the copies that were verified longest ago (never-verified first), repair what can be."""
    import time


    register_roots(archive, actor=actor)
    roots = all_roots(archive.settings)
    if root is not None and root not in roots:
        raise NotFound(f"没有名为 {root} 的存储根", f"no root named {root}", roots=sorted(roots))
    started = time.monotonic()
    report = ScheduledReport()
    plan = _plan(archive, [root] if root else list(roots), bounded=max_seconds is not None or max_bytes is not None)
    report.planned = len(plan)
    pool = worker_pool(archive.settings.workers, preload=["lantai.jobs.hashing"]) if archive.settings.workers > 1 else None
    try:
        position = 0
        while position < len(plan):
            if max_seconds is not None and time.monotonic() - started >= max_seconds:
                break
            if max_bytes is not None and report.bytes >= max_bytes:
                break
            remaining = None if max_bytes is None else max_bytes - report.bytes
            batch, position = _next_batch(plan, position, remaining)
            name = batch[0][0]
            target = roots[name]
            try:
                target.backend.check()
            except RootUnavailable:
                report.unavailable.append(name)
                plan = plan[:position] + [p for p in plan[position:] if p[0] != name]
                continue
            _check_batch(archive, roots, target, [object_id for _r, object_id, _v in batch],
                         {object_id: version for _r, object_id, version in batch}, pool, report, actor, progress)
    finally:
        if pool is not None:
            pool.shutdown()
    report.seconds = time.monotonic() - started
    report.coverage = coverage(archive)
    archive.audit.append(actor, "fixity.run", root or "*", {k: v for k, v in report.to_dict().items()
                                                            if k not in ("repaired", "unrecoverable")}
                         | {"repaired": len(report.repaired), "unrecoverable": len(report.unrecoverable)})
    return report


def _plan(archive: Archive, root_names: list[str], *, bounded: bool) -> list[tuple[str, str, int]]:
    """(root, object, catalogued version) pairs, least recently verified first.

    Without bounds a run takes every pair that is overdue (not verified within the cycle) plus its
    nightly share of the cycle (all pairs / cycle days), so a nightly timer covers everything.
    """
    from sqlalchemy import and_
    from sqlalchemy.orm import aliased


    cycle = archive.settings.fixity_cycle_days
    overdue_before = utcnow() - dt.timedelta(days=cycle)
    plan: list[tuple[str, str, int, Any]] = []
    with archive.sessions() as session:
        for name in root_names:
            state = aliased(RootObject)
            query = (select(Item.record_id, Item.ocfl_version, state.verified_at)
                     .outerjoin(state, and_(state.root == name, state.object_id == Item.record_id)))
            for record_id, version, verified in session.execute(query).tuples():
                plan.append((name, record_id, version, verified))
    epoch = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

    def age(row: tuple[str, str, int, Any]) -> dt.datetime:
        verified = row[3]
        return epoch if verified is None else (verified if verified.tzinfo else verified.replace(tzinfo=dt.UTC))

    plan.sort(key=lambda row: (age(row), row[0], row[1]))  # in Python: the same on SQLite and PostgreSQL
    if not bounded:
        overdue = sum(1 for row in plan if age(row) < overdue_before)
        share = -(-len(plan) // cycle)
        plan = plan[:max(overdue, share)]
    return [(name, record_id, version) for name, record_id, version, _v in plan]


def _next_batch(plan: list[tuple[str, str, int]], position: int,
                remaining: int | None) -> tuple[list[tuple[str, str, int]], int]:
    """A run of pairs on one root, small enough to stop near a byte bound and to hash together."""
    name = plan[position][0]
    end = position + 1
    limit = BATCH_OBJECTS if remaining is None else max(1, min(BATCH_OBJECTS, remaining // (4 * 1024 * 1024)))
    while end < len(plan) and end - position < limit and plan[end][0] == name:
        end += 1
    return plan[position:end], end


def _check_batch(archive: Archive, roots: dict[str, OcflRoot], target: OcflRoot, object_ids: list[str],
                 catalogued: dict[str, int], pool: Any, report: ScheduledReport, actor: str,
                 progress: Callable[[int], None] | None) -> None:
    """Check a batch of objects on one root: inventories first, then every content file, in parallel."""

    expected: dict[str, list[ContentFile]] = {}
    problems: dict[str, list[FileCheck]] = {object_id: [] for object_id in object_ids}
    sizes: dict[str, int] = dict.fromkeys(object_ids, 0)
    inventory_repairs: dict[str, str] = {}
    heads: dict[str, int] = {}
    for object_id in object_ids:
        reference = _reference(roots, object_id, catalogued[object_id])
        if reference is None:
            _unrecoverable(archive, report, target.name, object_id, [INVENTORY], actor)
            continue
        source, inventory = reference
        head = _head_on(archive, target, object_id, int(inventory["head"][1:]), primary=target is next(iter(roots.values())))
        heads[object_id] = head
        if head == 0:
            continue  # not replicated to this root yet: the replication queue brings it
        if not _inventories_sound(target, object_id, head):
            inventory_repairs[object_id] = source.name
        destroyed = destroyed_content(archive, object_id, inventory)  # a destruction's tombstone names them
        expected[object_id] = [c for c in content_files(inventory) if version_of(c.content_path) <= head
                               and (c.content_path, c.sha512) not in destroyed]
    checks = _check_files(target, expected, pool)
    for object_id, check in checks:
        report.files += 1
        report.bytes += max(check.size, 0)
        sizes[object_id] += max(check.size, 0)
        if progress:
            progress(max(check.size, 0))
        if not check.ok:
            problems[object_id].append(check)
    for object_id in expected:
        _settle(archive, roots, target, object_id, expected[object_id], problems[object_id],
                inventory_repairs.get(object_id), heads[object_id], sizes[object_id], report, actor)
        report.checked += 1


def _reference(roots: dict[str, OcflRoot], object_id: str, catalogued: int) -> tuple[OcflRoot, dict] | None:
    """The first root (primary first) whose inventory matches its sidecar and is at the catalogued version."""
    import json

    for root in roots.values():
        try:
            data = root.inventory_bytes(object_id)
        except LantaiError:
            continue
        if data is not None:
            inventory = json.loads(data)
            if int(inventory["head"][1:]) >= catalogued:
                return root, inventory
    return None


def _head_on(archive: Archive, target: OcflRoot, object_id: str, reference_head: int, *, primary: bool) -> int:
    """The version the target root should hold: its own (sound) head, or — when its inventory is gone
    or damaged — the head the primary must have, or the version replication recorded on a replica."""

    try:
        inventory = target.inventory(object_id)
    except (LantaiError, ValueError):
        inventory = None
    if inventory is not None:
        return min(int(inventory["head"][1:]), reference_head)
    if primary:
        return reference_head
    with archive.sessions() as session:
        row = session.get(RootObject, (target.name, object_id))
        return min(row.version, reference_head) if row is not None else 0


def _inventories_sound(root: OcflRoot, object_id: str, head: int) -> bool:
    """The root inventory and every version inventory up to ``head`` are present and match their sidecars."""
    try:
        return all(root.inventory_bytes(object_id, version) is not None
                   for version in [None, *(f"v{n}" for n in range(1, head + 1))])
    except LantaiError:
        return False


def _check_files(root: OcflRoot, expected: dict[str, list[ContentFile]], pool: Any) -> Iterator[tuple[str, Any]]:
    """Every expected file's check on ``root``: local files on the worker pool, others streamed on threads."""
    from concurrent.futures import ThreadPoolExecutor


    jobs = []
    remote: list[tuple[str, ContentFile]] = []
    for object_id, items in expected.items():
        for item in items:
            local = root.backend.local_path(root.key(object_id, item.content_path))
            if local is None:
                remote.append((object_id, item))
            elif not local.is_file():
                yield object_id, FileCheck(item.content_path, False, "missing", -1)
            else:
                jobs.append((object_id, item.content_path, str(local), "sm3", item.sm3))
    if jobs:
        results = pool.map(check_file, jobs, chunksize=max(1, len(jobs) // 16)) if pool is not None and len(jobs) > 1 \
            else map(check_file, jobs)
        for object_id, content_path, _absolute, ok, actual, size in results:
            yield object_id, FileCheck(content_path, ok, actual, size)
    if remote:
        with ThreadPoolExecutor(max_workers=4) as threads:
            for object_id, check in threads.map(lambda r: (r[0], root.check_content(r[0], r[1])), remote):
                yield object_id, check


def _settle(archive: Archive, roots: dict[str, OcflRoot], target: OcflRoot, object_id: str,
            expected: list[ContentFile], bad: list[Any], inventory_from: str | None, head: int, size: int,
            report: ScheduledReport, actor: str) -> None:
    """Repair what was found wrong on ``target`` and record the object's verification on it."""
    by_path = {c.content_path: c for c in expected}
    repaired, lost = [], []
    for check in bad:
        item = by_path[check.content_path]
        source = _sound_source(roots, target, object_id, item)
        if source is None:
            lost.append(check.content_path)
            continue
        repair_file(archive, target, source, object_id, item, reason="fixity", problem=check.actual, actor=actor)
        repaired.append({"file": check.content_path, "source": source.name, "problem": _problem_name(check.actual)})
    if inventory_from is not None:
        _repair_inventories(archive, target, roots[inventory_from], object_id, head, actor)
        repaired.append({"file": INVENTORY, "source": inventory_from, "problem": "inventory"})
    for entry in repaired:
        report.repaired.append({"root": target.name, "object": object_id, **entry})
    if lost:
        _unrecoverable(archive, report, target.name, object_id, lost, actor)
    _record_verification(archive, target.name, object_id, head, size, ok=not lost, problem="; ".join(lost))


def _problem_name(actual: str) -> str:
    return "missing" if actual == "missing" else "unreadable" if actual.startswith("unreadable") else "digest_mismatch"


def _sound_source(roots: dict[str, OcflRoot], target: OcflRoot, object_id: str, item: ContentFile) -> OcflRoot | None:
    """The first other root whose copy of the file matches the inventory (streamed and checked)."""
    for root in roots.values():
        if root.name == target.name:
            continue
        try:
            if root.check_content(object_id, item).ok:
                return root
        except LantaiError:
            continue
    return None


def repair_file(archive: Archive, target: OcflRoot, source: OcflRoot, object_id: str, item: ContentFile, *,
                reason: str, problem: str = "", actor: str = "system") -> None:
    """Rewrite one content file on ``target`` from ``source`` (checked against the inventory as it
    streams; nothing is replaced by bad bytes) and journal it as a preservation event."""
    primary = target.name == archive.settings.primary_root_name
    lock = archive.store.object_lock(object_id) if primary else contextlib.nullcontext()
    with lock, source.open_content(object_id, item.content_path) as fh:
        target.put_content(object_id, item, fh)
    archive.audit.append(actor, "preservation.repaired", object_id,
                         {"root": target.name, "file": item.content_path, "source": source.name, "reason": reason,
                          "problem": _problem_name(problem) if problem else "", "sm3": item.sm3})


def _repair_inventories(archive: Archive, target: OcflRoot, source: OcflRoot, object_id: str, head: int,
                        actor: str) -> None:
    """Rewrite an object's inventories on ``target`` up to ``head`` from ``source``'s sound ones."""
    primary = target.name == archive.settings.primary_root_name
    with archive.store.object_lock(object_id) if primary else contextlib.nullcontext():
        target.restore_inventories_from(source, object_id, head)
    archive.audit.append(actor, "preservation.repaired", object_id,
                         {"root": target.name, "file": INVENTORY, "source": source.name, "reason": "fixity",
                          "problem": "inventory"})


def _unrecoverable(archive: Archive, report: ScheduledReport, root: str, object_id: str, files: list[str],
                   actor: str) -> None:

    report.unrecoverable.append({"root": root, "object": object_id, "files": files})
    with archive.session() as session:
        row = session.get(RootObject, (root, object_id)) or RootObject(root=root, object_id=object_id, version=0,
                                                                        bytes=0, problem="")
        session.add(row)
        row.unrecoverable, row.verified_ok, row.verified_at = True, False, utcnow()
        row.problem = "; ".join(files)
    archive.audit.append(actor, "preservation.damaged", object_id,
                         {"root": root, "files": files, "message": "没有完好的副本可用于修复（损坏）",
                          "message_en": "no sound copy to repair from"})


def _record_verification(archive: Archive, root: str, object_id: str, version: int, size: int, *, ok: bool,
                         problem: str) -> None:

    with archive.session() as session:
        row = session.get(RootObject, (root, object_id))
        if row is None:
            row = RootObject(root=root, object_id=object_id, version=version, bytes=size, problem="")
            session.add(row)
        row.version = max(row.version or 0, version)
        row.verified_at, row.verified_ok, row.unrecoverable, row.problem = utcnow(), ok, not ok, problem


def coverage(archive: Archive) -> dict[str, float]:
    """Per root: the share of catalogued objects verified within the fixity cycle."""
    from sqlalchemy import func


    since = utcnow() - dt.timedelta(days=archive.settings.fixity_cycle_days)
    with archive.sessions() as session:
        total = session.scalar(select(func.count()).select_from(Item)) or 0
        result = {}
        for name in all_roots(archive.settings):
            recent = session.scalar(select(func.count()).select_from(RootObject).where(
                RootObject.root == name, RootObject.verified_at >= since)) or 0
            result[name] = round(recent / total, 4) if total else 1.0
    return result
