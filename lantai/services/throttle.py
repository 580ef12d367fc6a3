"""Login throttling per account and per client, atomic under concurrency and not reset by success.

Each attempt first *reserves* a failure on both keys with one ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` statement (SQLite ≥ 3.35 and PostgreSQL), so ten concurrent attempts see the counts
1…10 and only the first ``limit`` of them get to check a password. A correct password then gives
its own reservation back — it never wipes the failures before it, so an attacker who also knows
one valid account cannot reset the counter of the client address. A fixed window (15 minutes)
starts at the first failure; the 系统管理员 can clear an account's counter (unlock).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import case, delete, update
from sqlalchemy.orm import Session

from lantai.catalog.access import LoginThrottle

WINDOW = dt.timedelta(minutes=15)


def account_key(username: str) -> str:
    return f"u:{username}"[:160]


def client_key(client: str) -> str:
    return f"c:{client}"[:160]


def _insert(session: Session):  # type: ignore[no-untyped-def]
    """The dialect's INSERT with ON CONFLICT support."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:
        from sqlalchemy.dialects.sqlite import insert
    return insert


def reserve(session: Session, key: str, now: dt.datetime) -> int:
    """Count one more attempt on ``key`` (a new window when the old one is over); the new count."""
    insert = _insert(session)
    stmt = insert(LoginThrottle).values(key=key, failures=1, window_start=now)
    stale = LoginThrottle.window_start <= now - WINDOW
    stmt = stmt.on_conflict_do_update(
        index_elements=[LoginThrottle.key],
        set_={"failures": case((stale, 1), else_=LoginThrottle.failures + 1),
              "window_start": case((stale, now), else_=LoginThrottle.window_start)},
    ).returning(LoginThrottle.failures)
    return int(session.execute(stmt).scalar_one())


def release(session: Session, key: str) -> None:
    """Give back one reservation (a successful or refused-before-checking attempt)."""
    session.execute(update(LoginThrottle).where(LoginThrottle.key == key, LoginThrottle.failures > 0)
                    .values(failures=LoginThrottle.failures - 1))


def clear(session: Session, key: str) -> None:
    """Unlock: forget the failures of ``key``."""
    session.execute(delete(LoginThrottle).where(LoginThrottle.key == key))
