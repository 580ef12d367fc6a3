"""The jobs table: long work (ingest of batches, checks, reindex, exports …) as rows with state.

The row, not the broker, is the truth about a job: the broker only delivers "run job N". A
worker claims a row with one conditional UPDATE (queued → running, or a running row whose
heartbeat is older than the lease), so a message delivered twice runs once, and a job whose
worker died (no heartbeat) is taken over by the next worker that sees it.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"
STATES = (QUEUED, RUNNING, DONE, FAILED)


class Job(Base):
    """One unit of background work and what became of it."""

    __tablename__ = "jobs"
    __table_args__ = (Index("ix_jobs_state_priority", "state", "priority"),)
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    kind: Mapped[str] = mapped_column(String(64), index=True)
    queue: Mapped[str] = mapped_column(String(32), default="bulk")
    priority: Mapped[int] = mapped_column(Integer, default=100)  # lower runs first
    state: Mapped[str] = mapped_column(String(16), default=QUEUED)
    params: Mapped[str] = mapped_column(Text, default="{}")  # JSON
    result: Mapped[str | None] = mapped_column(Text)  # JSON, when done
    error: Mapped[str] = mapped_column(Text, default="")
    done: Mapped[int] = mapped_column(Integer, default=0)
    total: Mapped[int | None] = mapped_column(Integer)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    max_attempts: Mapped[int] = mapped_column(Integer, default=3)
    created_by: Mapped[str] = mapped_column(String(64), default="system")
    worker: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    started_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
