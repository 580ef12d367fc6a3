"""Replicas (保存的多套副本): named OCFL storage roots beside the primary store, kept up to date
through a durable queue in the catalogue.

* **Roots.** The primary is the archive's own store (``<home>/store``, named by
  ``primary_root_name``); replicas are declared in ``replica_roots`` (``file://`` or ``s3://``).
  Each is registered in ``storage_roots`` the first time it is seen, and a newly registered root
  is back-filled: every catalogued item is queued for it.
* **Queue.** The catalogue transaction that records a new version also queues a copy of it for
  every replica root (:func:`lantai.services.catalogue.enqueue_replication`), so a version the
  catalogue knows is never without its pending copies, whatever crashes afterwards.
* **Copy.** :func:`sync` drains the queue: each object is brought to the primary's head on the
  root (versions it lacks only, content first, inventory last, every file checked against its
  SM3 on the way). A root that cannot be reached keeps its tasks, which are retried with a
  doubling back-off; nothing is dropped until the root's copy is complete.
* **Reads.** :func:`open_verified` serves a content file from the primary when it matches its
  digest and otherwise from the first replica whose copy does, repairing the primary from it.
"""

from __future__ import annotations

import datetime as dt
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, literal, select
from sqlalchemy.orm import Session

from lantai.catalog.models import Item, utcnow
from lantai.catalog.preservation import ReplicationTask, RootObject, StorageRoot
from lantai.domain.roles import SYSTEM_ACTOR
from lantai.errors import BadInput, Conflict, FixityMismatch, LantaiError, NotFound, StorageError
from lantai.settings import Settings
from lantai.storage.backends import FileBackend, RootUnavailable, S3Backend, open_backend, parse_root_url
from lantai.storage.ocfl import FIXITY_ALGORITHM
from lantai.storage.replica import ContentFile, OcflRoot

if TYPE_CHECKING:
    from lantai.services.archive import Archive

FIRST_RETRY_SECONDS = 30
BATCH = 200
COPY_THREADS = 4


# -- roots ----------------------------------------------------------------------------------------

def primary_root(settings: Settings) -> OcflRoot:
    """The archive's own store seen as a root (what replication copies from, fixity checks first)."""
    return OcflRoot(settings.primary_root_name, FileBackend(settings.store_root, fsync=settings.fsync))


def replica_roots(settings: Settings) -> dict[str, OcflRoot]:
    return {name: OcflRoot(name, open_backend(url, settings.s3_options))
            for name, url in sorted(settings.replica_roots.items())}


def all_roots(settings: Settings) -> dict[str, OcflRoot]:
    """Every root, the primary first."""
    return {settings.primary_root_name: primary_root(settings), **replica_roots(settings)}


def register_roots(archive: Archive, *, actor: str = SYSTEM_ACTOR) -> list[str]:
    """Record the roots the settings declare; back-fill each replica seen for the first time.

    Returns the names of the roots newly registered. The back-fill is one INSERT … SELECT in the
    same transaction as the root's row, so a root is never registered without its queue.
    """
    settings = archive.settings
    declared = {settings.primary_root_name: (str(settings.store_root.as_uri()), True),
                **{name: (url, False) for name, url in settings.replica_roots.items()}}
    added = []
    with archive.session() as session:
        known = {r.name: r for r in session.scalars(select(StorageRoot))}
        for name, (url, is_primary) in declared.items():
            row = known.get(name)
            if row is None:
                session.add(StorageRoot(name=name, url=url, is_primary=is_primary, added_by=actor))
                session.flush()
                if not is_primary:
                    _backfill(session, name)
                added.append(name)
            elif row.url != url or row.is_primary != is_primary:
                row.url, row.is_primary = url, is_primary
    replicas = [n for n in added if not declared[n][1]]  # the primary is the store itself: nothing to journal
    if replicas:
        archive.audit.append(actor, "replica.registered", ",".join(replicas),
                             {"roots": {n: declared[n][0] for n in replicas}})
    return added


def _backfill(session: Session, root: str) -> None:
    now = utcnow()
    query = select(literal(root), Item.record_id, Item.ocfl_version, literal(now), literal(0), literal(now),
                   literal("")).where(Item.ocfl_version > 0)
    columns = ["root", "object_id", "version", "enqueued_at", "attempts", "next_attempt_at", "last_error"]
    session.execute(insert(ReplicationTask).from_select(columns, query))


def add_root(archive: Archive, name: str, url: str, *, actor: str = SYSTEM_ACTOR,
             create_bucket: bool = True) -> dict[str, Any]:
    """Declare a new replica root in ``lantai.toml``, initialise it as an OCFL root and back-fill it."""
    import re

    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", name):
        raise BadInput(f"存储根名称只能由字母、数字、_ 和 - 组成: {name!r}",
                       f"root names are letters, digits, _ and -: {name!r}")
    parse_root_url(url)
    settings = archive.settings
    if name == settings.primary_root_name or name in settings.replica_roots:
        raise Conflict(f"已有名为 {name} 的存储根", f"a root named {name} exists already")
    root = OcflRoot(name, open_backend(url, settings.s3_options))
    if create_bucket and isinstance(root.backend, S3Backend):
        root.backend.create_bucket()
    root.initialise()  # refuses an unreachable root before anything is declared
    _declare_in_toml(settings, name, url)
    settings.replica_roots = {**settings.replica_roots, name: url}
    register_roots(archive, actor=actor)
    with archive.sessions() as session:
        queued = session.scalar(select(func.count()).select_from(ReplicationTask).where(ReplicationTask.root == name))
    return {"name": name, "url": url, "object_lock": bool(root.backend.locked), "queued": queued or 0}


def _declare_in_toml(settings: Settings, name: str, url: str) -> None:
    """Add ``replica_roots.NAME = "URL"`` among the top-level keys of ``lantai.toml`` (before any table)."""
    import json
    import tomllib

    path = settings.home / "lantai.toml"
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    line = f"replica_roots.{name} = {json.dumps(url, ensure_ascii=False)}\n"
    lines = text.splitlines(keepends=True)
    at = next((i for i, raw in enumerate(lines) if raw.lstrip().startswith("[")), len(lines))
    if lines and at == len(lines) and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    new_text = "".join([*lines[:at], line, *lines[at:]])
    try:
        parsed = tomllib.loads(new_text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"无法在 {path} 中登记存储根: {exc}", f"cannot declare the root in {path}: {exc}") from exc
    if parsed.get("replica_roots", {}).get(name) != url:
        raise BadInput(f"{path} 中的 replica_roots 无法自动修改，请手工添加", f"edit replica_roots in {path} by hand")
    tmp = path.with_name(".lantai.toml.tmp")
    tmp.write_text(new_text, encoding="utf-8")
    tmp.replace(path)


# -- copying --------------------------------------------------------------------------------------

@dataclass
class SyncReport:
    """What one drain of the queue did."""

    copied: int = 0
    versions: int = 0
    bytes: int = 0
    seconds: float = 0.0
    failed: list[dict[str, Any]] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    pending: int = 0

    @property
    def ok(self) -> bool:
        return not self.failed and not self.pending

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "copied": self.copied, "bytes": self.bytes, "seconds": round(self.seconds, 3),
                "failed": self.failed, "unavailable": self.unavailable, "pending": self.pending}


def backoff_seconds(attempts: int, cap: int) -> int:
    """30 s, 60 s, 120 s … up to ``cap``: an unreachable root is asked less and less often."""
    return int(min(cap, FIRST_RETRY_SECONDS * 2 ** max(0, attempts - 1)))


def sync(archive: Archive, *, root: str | None = None, force: bool = True, max_seconds: float | None = None,
         on_copied: Callable[[int], None] | None = None) -> SyncReport:
    """Drain the replication queue (``force``: also the tasks whose back-off has not expired).

    Each task commits on its own, so an interruption loses at most the copy in progress, which is
    redone. A root that turns out unreachable is skipped for the rest of the drain (its tasks keep
    their place and get a later retry time); other roots go on.
    """
    register_roots(archive)
    settings = archive.settings
    roots = replica_roots(settings)
    source = primary_root(settings)
    report = SyncReport()
    started = time.monotonic()
    tried: set[int] = set()
    initialised: set[str] = set()
    cap = settings.replication_retry_max_seconds

    def out_of_time() -> bool:
        return max_seconds is not None and time.monotonic() - started >= max_seconds

    def failed(task: tuple[int, str, str, int], exc: LantaiError) -> None:
        tried.add(task[0])
        if isinstance(exc, RootUnavailable):
            if task[1] not in report.unavailable:
                report.unavailable.append(task[1])
        else:
            report.failed.append({"root": task[1], "object": task[2], "error": exc.to_dict()})
        _retry_later(archive, task[0], exc, cap)

    def ready(task: tuple[int, str, str, int]) -> OcflRoot | None:
        """The task's root, initialised once per drain; None (the task recorded) when it cannot be used."""
        target = roots.get(task[1])
        try:
            if target is None:
                raise NotFound(f"设置中没有存储根 {task[1]}", f"root {task[1]} is not in the settings")
            if task[1] not in initialised:
                target.initialise()  # also the reachability check: one request per root and drain
                initialised.add(task[1])
        except LantaiError as exc:
            failed(task, exc)
            return None
        return target

    # Copies run on a few threads (file I/O, network and OpenSSL's SM3 all release the GIL); the
    # catalogue is written from this thread only, one task per transaction.
    with ThreadPoolExecutor(max_workers=COPY_THREADS) as threads:
        def submit_next(tasks: Iterator[tuple[int, str, str, int]],
                        in_flight: dict[Future[Any], tuple[int, str, str, int]]) -> bool:
            for task in tasks:
                if task[1] in report.unavailable:
                    continue
                target = ready(task)
                if target is not None:
                    in_flight[threads.submit(_copy_with_fallback, settings, target, source, roots, task[2])] = task
                    return True
            return False

        while not out_of_time():
            tasks = iter(_due_tasks(archive, root, force, tried, set(report.unavailable)))
            in_flight: dict[Future[Any], tuple[int, str, str, int]] = {}
            while len(in_flight) < 2 * COPY_THREADS and submit_next(tasks, in_flight):
                pass
            if not in_flight:
                break
            while in_flight:
                finished, _running = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    task = in_flight.pop(future)
                    try:
                        result = future.result()
                    except LantaiError as exc:
                        failed(task, exc)
                    else:
                        if not _done(archive, task[0], task[1], task[2], result.version, result.bytes):
                            tried.add(task[0])  # a newer version was queued meanwhile and the primary lacks it
                        report.copied += 1
                        report.bytes += result.bytes
                        if on_copied:
                            on_copied(result.bytes)
                    if not out_of_time():
                        submit_next(tasks, in_flight)
    report.seconds = time.monotonic() - started
    with archive.sessions() as session:
        query = select(func.count()).select_from(ReplicationTask)
        report.pending = session.scalar(query.where(ReplicationTask.root == root) if root else query) or 0
    return report


def _due_tasks(archive: Archive, root: str | None, force: bool, tried: set[int],
               unavailable: set[str]) -> list[tuple[int, str, str, int]]:
    query = select(ReplicationTask.id, ReplicationTask.root, ReplicationTask.object_id, ReplicationTask.version)
    if root:
        query = query.where(ReplicationTask.root == root)
    if not force:
        query = query.where(ReplicationTask.next_attempt_at <= utcnow())
    if unavailable:
        query = query.where(ReplicationTask.root.not_in(unavailable))
    if tried:
        query = query.where(ReplicationTask.id.not_in(tried))
    with archive.sessions() as session:
        return list(session.execute(query.order_by(ReplicationTask.enqueued_at, ReplicationTask.id).limit(BATCH)).tuples())


def _copy_with_fallback(settings: Settings, target: OcflRoot, source: OcflRoot, roots: dict[str, OcflRoot],
                        object_id: str) -> Any:
    """Copy from the primary; if its copy of a file is damaged, from another replica that is complete."""
    try:
        return target.copy_object_from(source, object_id)
    except FixityMismatch:
        primary_head = source.head(object_id)
        for other in roots.values():
            if other.name != target.name and primary_head and other.head(object_id) == primary_head:
                try:
                    return target.copy_object_from(other, object_id)
                except (FixityMismatch, StorageError, NotFound):
                    continue
        raise


def _retry_later(archive: Archive, task_id: int, exc: LantaiError, cap: int) -> None:
    with archive.session() as session:
        task = session.get(ReplicationTask, task_id)
        if task is None:
            return
        task.attempts += 1
        task.next_attempt_at = utcnow() + dt.timedelta(seconds=backoff_seconds(task.attempts, cap))
        task.last_error = f"{exc.message_zh} / {exc.message_en}"[:2000]


def _done(archive: Archive, task_id: int, root: str, object_id: str, version: int, copied: int) -> bool:
    """Record the root's copy; the task goes only if the copy reached the version it was queued for
    (a newer version queued meanwhile raised ``version``: the task stays for it)."""
    with archive.session() as session:
        row = session.get(RootObject, (root, object_id))
        if row is None:
            row = RootObject(root=root, object_id=object_id, version=0, bytes=0, unrecoverable=False, problem="")
            session.add(row)
        row.version = max(row.version or 0, version)
        row.bytes = (row.bytes or 0) + copied
        row.replicated_at = utcnow()
        gone = session.execute(delete(ReplicationTask).where(ReplicationTask.id == task_id,
                                                             ReplicationTask.version <= version))
        return bool(gone.rowcount)


def follow(archive: Archive, *, stop: Callable[[], bool], interval: float = 5.0,
           on_report: Callable[[SyncReport], None] | None = None) -> None:
    """Keep replicating (a service's loop): drain what is due, sleep, again, until ``stop()``."""
    while not stop():
        report = sync(archive, force=False)
        if on_report and (report.copied or report.failed or report.unavailable):
            on_report(report)
        deadline = time.monotonic() + interval
        while time.monotonic() < deadline and not stop():
            time.sleep(0.2)


# -- status ---------------------------------------------------------------------------------------

def status(archive: Archive, *, probe: bool = True) -> list[dict[str, Any]]:
    """Per root: objects and bytes held, lag (queued copies, oldest age, versions behind), verification."""
    register_roots(archive)
    settings = archive.settings
    roots = all_roots(settings)
    now = utcnow()
    rows = []
    with archive.sessions() as session:
        catalogued = session.scalar(select(func.count()).select_from(Item)) or 0
        for name, root in roots.items():
            is_primary = name == settings.primary_root_name
            held = session.execute(select(func.count(), func.coalesce(func.sum(RootObject.bytes), 0),
                                          func.min(RootObject.verified_at), func.max(RootObject.verified_at))
                                   .where(RootObject.root == name, RootObject.version > 0)).one()
            queue = session.execute(select(func.count(), func.min(ReplicationTask.enqueued_at),
                                           func.max(ReplicationTask.attempts))
                                    .where(ReplicationTask.root == name)).one()
            error = session.scalar(select(ReplicationTask.last_error).where(
                ReplicationTask.root == name, ReplicationTask.last_error != "").order_by(
                ReplicationTask.next_attempt_at.desc()).limit(1))
            damaged = session.scalar(select(func.count()).select_from(RootObject).where(
                RootObject.root == name, RootObject.verified_ok.is_(False))) or 0
            verified = session.scalar(select(func.count()).select_from(RootObject).where(
                RootObject.root == name, RootObject.verified_at.is_not(None))) or 0
            oldest = queue[1]
            rows.append({
                "name": name, "url": root.url, "primary": is_primary,
                "reachable": _reachable(root) if probe else None,
                "object_lock": _locked(root) if probe else None,
                "objects": catalogued if is_primary else held[0],
                "bytes": int(held[1] or 0),
                "queued": queue[0], "lag_seconds": int((now - _aware(oldest)).total_seconds()) if oldest else 0,
                "max_attempts": queue[2] or 0, "last_error": error or "",
                "verified_objects": verified, "damaged_objects": damaged,
                "oldest_verified": _iso(held[2]), "newest_verified": _iso(held[3]),
            })
    return rows


def _reachable(root: OcflRoot) -> bool:
    try:
        root.backend.check()
        return True
    except LantaiError:
        return False


def _locked(root: OcflRoot) -> bool:
    try:
        return bool(root.backend.locked)
    except LantaiError:
        return False


def _aware(value: dt.datetime) -> dt.datetime:
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def _iso(value: dt.datetime | None) -> str | None:
    return _aware(value).isoformat() if value else None


# -- reads with fallback --------------------------------------------------------------------------

def open_verified(archive: Archive, record_id: str, logical_path: str, version: int | None = None) -> IO[bytes]:
    """A content file, checked against its SM3 as it is read: from the primary when its copy is
    sound, else from the first replica whose copy is (and the primary is repaired from it).

    The file is spooled (in memory up to 8 MB, then in staging), so the reader gets bytes already
    verified. Raises :class:`FixityMismatch` when no root holds a sound copy.
    """
    stored = next((f for f in archive.store.files(record_id, version) if f.logical_path == logical_path), None)
    if stored is None:
        raise NotFound(f"对象 {record_id} 中没有文件 {logical_path}", f"object {record_id} has no file {logical_path}")
    item = ContentFile(stored.content_path, stored.sha512, stored.sm3)
    settings = archive.settings
    roots = all_roots(settings)
    bad = []
    for root in roots.values():
        spool = _spooled_if_sound(settings, root, record_id, item)
        if spool is None:
            bad.append(root.name)
            continue
        if bad:  # the primary (and perhaps others) failed: put the sound bytes back where they belong
            from lantai.services.fixity import repair_file

            for name in bad:
                repair_file(archive, roots[name], root, record_id, item, reason="read")
        return spool
    raise FixityMismatch(f"所有存储根中的文件均已损坏: {record_id} / {logical_path}",
                         f"no root holds a sound copy of {record_id} / {logical_path}", roots=bad)


def _spooled_if_sound(settings: Settings, root: OcflRoot, record_id: str, item: ContentFile) -> IO[bytes] | None:
    import hashlib

    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024, dir=settings.staging_dir)  # noqa: SIM115 (returned open)
    digest = hashlib.new(FIXITY_ALGORITHM)
    try:
        with root.open_content(record_id, item.content_path) as fh:
            while chunk := fh.read(1024 * 1024):
                digest.update(chunk)
                spool.write(chunk)
    except (LantaiError, OSError):
        spool.close()
        return None
    if digest.hexdigest() != item.sm3:
        spool.close()
        return None
    spool.seek(0)
    return spool
