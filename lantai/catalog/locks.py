"""Database-level locks for many processes on many machines sharing one PostgreSQL catalogue.

On PostgreSQL, advisory locks (namespace, key) serialise what process-local locks cannot:
appends to the audit chain, commits to one OCFL object, and the liveness of each working process
(held for its life on a connection of its own, so the server releases it the moment the process
dies, on whatever machine). On SQLite there is one machine and one writer at a time: these are
no-ops there, and the flock-based locks beside them do the work.
"""

from __future__ import annotations

import hashlib
from typing import Any

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

AUDIT_CHAIN = 7301  # the one audit chain: appends take turns
OBJECT = 7302  # one OCFL object: writers of a new version take turns
OWNER = 7303  # a live process: held while it works, so recovery leaves its half-done work alone


def key(name: str) -> int:
    """A stable signed 32-bit key for a name (advisory locks take two int4 keys)."""
    return int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:4], "big", signed=True)


def is_postgres(bind: Engine | Any) -> bool:
    return bind.dialect.name == "postgresql"


def lock_objects(session: Session, object_ids: list[str]) -> None:
    """Transaction-level locks on objects, in sorted order (no deadlock between two writers)."""
    if not is_postgres(session.get_bind()):
        return
    for object_id in sorted(set(object_ids)):
        session.execute(text("SELECT pg_advisory_xact_lock(:ns, :key)"), {"ns": OBJECT, "key": key(object_id)})


class HeldLock:
    """A session-level advisory lock on a connection of its own, held until :meth:`release`."""

    def __init__(self, engine: Engine, namespace: int, lock_key: int, *, wait: bool = True) -> None:
        self.connection: Any = engine.raw_connection()
        self.namespace, self.key = namespace, lock_key
        cursor = self.connection.cursor()
        try:
            if wait:
                cursor.execute("SELECT pg_advisory_lock(%s, %s)", (namespace, lock_key))
                self.held = True
            else:
                cursor.execute("SELECT pg_try_advisory_lock(%s, %s)", (namespace, lock_key))
                self.held = bool(cursor.fetchone()[0])
            self.connection.commit()
        finally:
            cursor.close()
        if not self.held:
            self.connection.close()

    def cursor(self) -> Any:
        return self.connection.cursor()

    def release(self) -> None:
        if not self.held:
            return
        self.held = False
        try:
            cursor = self.connection.cursor()
            cursor.execute("SELECT pg_advisory_unlock(%s, %s)", (self.namespace, self.key))
            cursor.close()
            self.connection.commit()
        finally:
            self.connection.close()
