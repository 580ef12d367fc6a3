"""Intent files: what a writer is about to commit, written before it touches the store and owned
through an exclusive ``flock`` for as long as the writer lives.

Ingest, the change path and destruction write them here; :mod:`lantai.services.recovery` claims the
ones whose writer died and has the module that wrote them resolve them. Keeping the primitives
apart lets every writer use them without importing recovery, which imports every writer.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lantai.services.archive import Archive


ARRANGE_INTENTS = "intents-arrange"  # arrangement's publish intents from before the change path
CHANGE_INTENTS = "intents-change"  # lantai.services.changes keeps its intents here
DESTROY_INTENTS = "intents-destroy"  # lantai.services.destruction: one per item being destroyed
_STARTED = time.time()  # this process's start, recorded as the owner of its intents


@dataclass
class Intent:
    """An intent file and the open handle whose exclusive ``flock`` marks it as owned.

    Whoever holds an :class:`Intent` — its writer, or recovery once it has claimed one whose
    writer died — is the only process that may resolve or clear it.
    """

    path: Path
    handle: IO[bytes] = field(repr=False)

    def read(self) -> dict[str, Any]:
        """The intent's content; raises ``ValueError`` for one that does not parse."""
        self.handle.seek(0)
        return json.loads(self.handle.read().decode("utf-8"))

    def clear(self) -> None:
        """Remove the file while still holding its lock, so nobody can claim it in between."""
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self.release()

    def release(self) -> None:
        """Let go of the intent without removing it (recovery elsewhere will find it)."""
        with contextlib.suppress(OSError):
            self.handle.close()


def owner() -> dict[str, Any]:
    """Who writes an intent: for a person reading a leftover one (liveness is the lock's job)."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "started": round(_STARTED, 3)}


def ingest_intents_dir(archive: Archive) -> Path:
    return archive.settings.staging_dir / "intents"


def arrange_intents_dir(archive: Archive) -> Path:
    """Where arrangement's publish groups kept their intents before they used the change path."""
    return archive.settings.staging_dir / ARRANGE_INTENTS


def write_intent(archive: Archive, objects: list[tuple[str, Path]], actor: str) -> Intent:
    """Record which new objects are about to be committed, before any of them reaches the store."""
    data = {"objects": [{"object_id": oid, "staging": str(staging)} for oid, staging in objects], "actor": actor}
    return write_record(archive, ingest_intents_dir(archive), data)


def write_record(archive: Archive, directory: Path, data: dict[str, Any], name: str | None = None) -> Intent:
    """Write an intent file durably and atomically, owned (locked) by this process.

    A torn intent is never read as a whole one (it is renamed into place only once written), and
    the lock is taken before the rename, so no recovery can claim the intent while its writer
    lives. Ingest and the change path (:mod:`lantai.services.changes`) each keep theirs in a
    directory of their own, because recovery resolves them differently. ``name`` (default: a fresh
    uuid) lets a writer find its own intent again (a destruction has one per item).
    """
    directory.mkdir(parents=True, exist_ok=True)
    if archive.owner is not None:  # the process lock that workers on other machines test (recover_orphans)
        data = {**data, "owner_token": archive.owner.token}
    path = directory / (name or f"{uuid.uuid4().hex}.json")
    tmp = path.with_suffix(".tmp")
    handle = open(tmp, "w+b")  # noqa: SIM115 - held (locked) until the intent is cleared
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
        handle.write(json.dumps({**data, "owner": owner()}, ensure_ascii=False).encode("utf-8"))
        handle.flush()
        if archive.settings.fsync:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        handle.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    return Intent(path, handle)


def claim(path: Path) -> Intent | None:
    """Take an intent whose writer is gone; None when its writer still lives (or it was cleared)."""
    try:
        handle = open(path, "r+b")  # noqa: SIM115 - returned inside the Intent
    except FileNotFoundError:
        return None
    try:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        same = os.stat(path).st_ino == os.fstat(handle.fileno()).st_ino  # not cleared meanwhile
    except (BlockingIOError, FileNotFoundError):
        same = False
    if not same:
        handle.close()
        return None
    return Intent(path, handle)


def clear_intent(intent: Intent) -> None:
    intent.clear()
