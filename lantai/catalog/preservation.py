"""Preservation tables: the storage roots, the replication queue, and each object's state per root.

Unlike the item tables these are not a projection of the store: they record what happened to the
copies (which root holds which version, when each copy was last verified). A rebuilt catalogue
starts them empty; replication then finds every object already in place on each root (it reads
the root's head before copying) and fixity verifies them again.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


class StorageRoot(Base):
    """A named OCFL storage root: the primary store or a replica (``file://`` or ``s3://``)."""

    __tablename__ = "storage_roots"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)
    added_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    added_by: Mapped[str] = mapped_column(String(128), default="system")


class ReplicationTask(Base):
    """A version still to be copied to a replica root. Written in the catalogue transaction that
    records the version, so a crash can never lose a pending copy; deleted once the copy is done."""

    __tablename__ = "replication_queue"
    __table_args__ = (UniqueConstraint("root", "object_id", name="uq_replication_queue_root_object"),)
    id: Mapped[int] = mapped_column(primary_key=True)
    root: Mapped[str] = mapped_column(String(64), index=True)
    object_id: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    enqueued_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    last_error: Mapped[str] = mapped_column(Text, default="")


class RootObject(Base):
    """One object's copy on one root: the version it holds, when it was last verified and how that went."""

    __tablename__ = "root_objects"
    root: Mapped[str] = mapped_column(String(64), primary_key=True)
    object_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    replicated_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    verified_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), nullable=True, index=True)
    verified_ok: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    unrecoverable: Mapped[bool] = mapped_column(Boolean, default=False, index=True)
    problem: Mapped[str] = mapped_column(Text, default="")
