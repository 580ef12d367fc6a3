"""Arrangement tables: the 档号 and 件号 of each item, reference-data versions, locks, corrections.

``arrangements`` is keyed by 电子文件号 (not by ``items.id``) so that ``lantai rebuild``, which
clears and re-creates ``items``, does not take the arrangement with it. Two unique constraints —
one 件号 per lowest class, one item per 档号 — are the last line of defence against two
processes numbering at once; the per-(fonds, category, year) row in ``arrangement_locks``
serialises them before they get that far. ``pending`` marks rows whose new OCFL version of the
item's metadata has not been written yet (the outbox the publisher drains).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


class ReferenceVersion(Base):
    """One saved version of the reference data (fonds, categories, 档号 rules, 保管期限表) as TOML."""

    __tablename__ = "reference_versions"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    document: Mapped[str] = mapped_column(Text)
    sm3: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text, default="")
    actor: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Arrangement(Base):
    """The arrangement of one item: its class, 件号, 档号 and how its retention was decided."""

    __tablename__ = "arrangements"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), unique=True)
    fonds_code: Mapped[str] = mapped_column(String(32))
    category: Mapped[str] = mapped_column(String(16))
    year: Mapped[int] = mapped_column(Integer)
    class_key: Mapped[str] = mapped_column(String(200))
    item_number: Mapped[int] = mapped_column(Integer)
    archival_code: Mapped[str] = mapped_column(String(128), unique=True)
    retention: Mapped[str] = mapped_column(String(16))
    retention_source: Mapped[str] = mapped_column(String(64), default="")  # metadata | rule:<id> | archivist
    organisation: Mapped[str] = mapped_column(String(64), default="")
    state: Mapped[str] = mapped_column(String(16), default="draft")  # draft | filed
    reference_version: Mapped[int] = mapped_column(Integer)
    pending: Mapped[bool] = mapped_column(Boolean, default=True)
    published_version: Mapped[int | None] = mapped_column(Integer)
    change: Mapped[str] = mapped_column(String(32), default="assigned")  # assigned | renumbered | filed | corrected
    previous_code: Mapped[str] = mapped_column(String(128), default="")
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    __table_args__ = (
        UniqueConstraint("class_key", "item_number", name="uq_arrangements_class_item"),
        Index("ix_arrangements_scope", "fonds_code", "category", "year"),
        Index("ix_arrangements_pending", "pending"),
    )


class ArrangementLock(Base):
    """One row per (fonds, category, year); arranging holds it for the whole transaction."""

    __tablename__ = "arrangement_locks"
    key: Mapped[str] = mapped_column(String(200), primary_key=True)
    touched_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ArrangementCorrection(Base):
    """A recorded correction of a filed item's 档号 — the only way one may change."""

    __tablename__ = "arrangement_corrections"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    old_code: Mapped[str] = mapped_column(String(128))
    new_code: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text)
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
