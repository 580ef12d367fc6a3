"""Fixity verification (``lantai verify``): every file of every version, streamed, on all cores.

SM3 from the inventory's fixity block is checked by default (national cryptography first);
``sha512`` re-checks the OCFL manifest digests instead. Structure is checked too — every object
directory the layout holds, damaged or not (declaration, root and version inventories against
their sidecars and each other: :mod:`lantai.storage.inspect`), files the inventory names but
the disk lacks and files on disk it does not name — and the store against the catalogue: every
catalogued item has an object, every object is catalogued. Each problem names the object and
the file.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.errors import LantaiError
from lantai.jobs.hashing import check_file
from lantai.jobs.pool import worker_pool
from lantai.services.archive import Archive
from lantai.services.catalogue import DESTRUCTION_PATH


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

