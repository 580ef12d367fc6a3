"""The application object: one archive (settings, catalogue, store, audit) shared by CLI, API and tests.

``open_archive`` also runs recovery: it finishes or rolls back the work of every writer that died
half-way, even while other Lantai processes (``lantai serve``, another ingest) are running — an
intent is owned by its writer's lock, so a live writer's work is never touched (see
``lantai.services.recovery``).
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from lantai.catalog import db, locks
from lantai.domain.roles import SYSTEM_ACTOR
from lantai.errors import BadInput, StorageError
from lantai.services.audit import AuditLog
from lantai.services.audit_checkpoints import Anchoring
from lantai.services.recovery import recover_if_idle
from lantai.services.replicas import register_roots
from lantai.settings import Settings, load_settings
from lantai.storage.ocfl import OcflStore

log = logging.getLogger(__name__)


@dataclass
class Archive:
    settings: Settings
    engine: Engine
    sessions: sessionmaker[Session]
    store: OcflStore
    audit: AuditLog
    _activity_lock: IO[bytes] | None = field(default=None, repr=False)
    owner: Owner | None = field(default=None, repr=False)

    @property
    def home(self) -> Path:
        return self.settings.home

    @contextlib.contextmanager
    def session(self) -> Iterator[Session]:
        with self.sessions.begin() as session:
            yield session

    def close(self) -> None:
        self.audit.anchor_pending()  # this process's last entries get a signed checkpoint too
        if self._activity_lock is not None:
            self._activity_lock.close()
            self._activity_lock = None
        if self.owner is not None:
            self.owner.release()
            self.owner = None
        self.engine.dispose()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _marker(settings: Settings) -> Path:
    return settings.home / "lantai.toml"


def init_archive(settings: Settings | None = None, *, actor: str = SYSTEM_ACTOR) -> Archive:
    """Create (or re-open) an archive directory: store root, catalogue schema, audit journal."""
    settings = settings or load_settings()
    home = settings.home
    try:
        home.mkdir(parents=True, exist_ok=True)
        for sub in ("staging", "audit", "keys", "index"):
            (home / sub).mkdir(exist_ok=True)
        os.chmod(home / "keys", 0o700)
    except OSError as exc:
        raise StorageError(f"无法创建档案目录 {home}: {exc}", f"cannot create archive directory {home}: {exc}") from exc
    marker = _marker(settings)
    created = not marker.exists()
    if created:
        marker.write_text(
            "# Lantai archive settings. LANTAI_* environment variables override these.\n"
            f'archive_name = "{settings.archive_name}"\n',
            encoding="utf-8",
        )
    store = OcflStore(settings.store_root, settings.staging_dir, fsync=settings.fsync)
    store.initialise()
    engine = db.make_engine(settings.catalogue_url)
    db.upgrade(engine)
    archive = _assemble(settings, engine, store)
    _ensure_search_index(archive)
    _ensure_keys(settings)  # before the first audit entry: entries are authenticated with the archive key
    if created:
        archive.audit.append(actor, "archive.init", str(home), {"archive_name": settings.archive_name})
    _register_roots(archive)
    _hold(archive)
    return archive


def _register_roots(archive: Archive) -> None:
    """Storage roots the settings declare join the catalogue (a new replica is queued for back-fill)
    before anything is committed, so every version from now on is queued for every root."""
    register_roots(archive)


def open_archive(settings: Settings | None = None, *, recover: bool = True) -> Archive:
    """Open an initialised archive; refuse clearly when it is not one."""
    settings = settings or load_settings()
    store = OcflStore(settings.store_root, settings.staging_dir, fsync=settings.fsync)
    if not _marker(settings).exists() or not store.is_initialised():
        raise BadInput(
            f"{settings.home} 不是兰台档案目录（请先运行 lantai init，或设置 LANTAI_HOME）",
            f"{settings.home} is not a Lantai archive (run lantai init or set LANTAI_HOME)",
        )
    engine = db.make_engine(settings.catalogue_url)
    if not db.is_current(engine):
        db.upgrade(engine)
    archive = _assemble(settings, engine, store)
    _ensure_search_index(archive)
    if recover:
        try:
            archive.audit.repair_tail()
            archive.audit.adopt_legacy()  # an archive of an earlier release: entries without MACs
        except StorageError as exc:  # e.g. no space to quarantine: readers cope, the next append retries
            log.error("%s", exc.message_en)
        recover_if_idle(archive)
    _register_roots(archive)
    _hold(archive)
    return archive


def _hold(archive: Archive) -> None:
    """An archive handed out, by init as by open, may write at once: it holds the shared activity
    lock (so no other process's start-up recovery takes the archive for idle and removes this one's
    ``tx-*`` staging) and its owner lock (so its intents are known to belong to a live process)."""
    archive._activity_lock = _hold_shared_activity_lock(archive.settings)
    archive.owner = Owner.take(archive.settings, archive.engine)


def _ensure_search_index(archive: Archive) -> None:
    """The index is derived and optional at run time: failing to create it must not block opening."""
    try:
        from lantai.services.search_index import ensure_index  # lazy: search loads SQL and text code

        ensure_index(archive)
    except Exception as exc:
        log.warning("search index unavailable: %s", exc)


def _ensure_keys(settings: Settings) -> None:
    """The archive's SM2 keys (idempotent): they sign audit checkpoints and packages."""
    from lantai.crypto.keystore import init_keystore  # lazy (start-up): the SM2 code loads when keys are used

    try:
        init_keystore(settings.keys_dir, settings.archive_name)
    except OSError as exc:
        raise StorageError(f"无法创建密钥库 {settings.keys_dir}: {exc}", f"cannot create the key store: {exc}") from exc


def _assemble(settings: Settings, engine: Engine, store: OcflStore) -> Archive:
    sessions = db.session_factory(engine)
    anchoring = Anchoring(settings.audit_checkpoints, settings.audit_checkpoint_every,
                          settings.audit_checkpoint_seconds, settings.archive_name, fsync=settings.fsync)
    audit = AuditLog(settings.audit_journal, sessions, fsync=settings.fsync, keys_dir=settings.keys_dir,
                     anchoring=anchoring, denials_per_minute=settings.audit_denials_per_minute)
    return Archive(settings, engine, sessions, store, audit)


class Owner:
    """This process, as the owner of the commits it starts (their intents name it).

    Held for the life of the open archive — a file lock under ``staging/owners/`` and, on a
    PostgreSQL catalogue, an advisory lock on a connection of its own — so that another process
    can tell a dead owner's half-done commits (safe to finish or roll back now, see
    :func:`lantai.services.recovery.recover_orphans`) from a live one's (never touched).
    """

    def __init__(self, token: str, fh: IO[bytes] | None, held: object | None) -> None:
        self.token, self._fh, self._held = token, fh, held

    @staticmethod
    def directory(settings: Settings) -> Path:
        return settings.staging_dir / "owners"

    @classmethod
    def take(cls, settings: Settings, engine: Engine) -> Owner:

        token = uuid.uuid4().hex
        directory = cls.directory(settings)
        directory.mkdir(parents=True, exist_ok=True)
        fh = open(directory / f"{token}.lock", "a+b")  # noqa: SIM115 - held for the life of the Archive
        fcntl.flock(fh, fcntl.LOCK_EX)
        held = locks.HeldLock(engine, locks.OWNER, locks.key(token)) if locks.is_postgres(engine) else None
        return cls(token, fh, held)

    def release(self) -> None:
        if self._held is not None:
            self._held.release()  # type: ignore[attr-defined]
            self._held = None
        if self._fh is not None:
            with contextlib.suppress(OSError):
                Path(self._fh.name).unlink()
            self._fh.close()
            self._fh = None


def activity_lock_path(settings: Settings) -> Path:
    return settings.staging_dir / ".active"


def _hold_shared_activity_lock(settings: Settings) -> IO[bytes]:
    """Every working process holds a shared lock; recovery needs it exclusively."""
    path = activity_lock_path(settings)
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(path, "a+b")  # noqa: SIM115 - held for the life of the Archive
    fcntl.flock(fh, fcntl.LOCK_SH)
    return fh
