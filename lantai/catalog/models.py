"""Catalogue tables (SQLAlchemy 2). Derived data: ``lantai rebuild`` recreates them from the store.

Every model lives on one declarative ``Base`` so Alembic sees a single metadata; other areas add
their tables in their own modules on the same Base and their own migration files.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


class Base(DeclarativeBase):
    pass


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0)


class Fonds(Base):
    """全宗: the records of one 立档单位."""

    __tablename__ = "fonds"
    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(200), default="")
    unit_name: Mapped[str] = mapped_column(String(200), default="")


class Batch(Base):
    """One submission batch with the totals declared in its 归档登记表 and those found."""

    __tablename__ = "batches"
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    source: Mapped[str] = mapped_column(Text, default="")
    unit_name: Mapped[str] = mapped_column(String(200), default="")
    declared_items: Mapped[int | None] = mapped_column(Integer)
    declared_bytes: Mapped[int | None] = mapped_column(BigInteger)
    actual_items: Mapped[int] = mapped_column(Integer, default=0)
    actual_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    status: Mapped[str] = mapped_column(String(32), default="open")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Item(Base):
    """One archived item (件) — one OCFL object, identified by its 电子文件号."""

    __tablename__ = "items"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), unique=True)
    title: Mapped[str] = mapped_column(Text, default="")
    document_number: Mapped[str] = mapped_column(String(128), default="", index=True)
    author: Mapped[str] = mapped_column(String(200), default="")
    date: Mapped[str] = mapped_column(String(10), default="")
    year: Mapped[int | None] = mapped_column(Integer, index=True)
    retention: Mapped[str] = mapped_column(String(16), default="", index=True)
    organisation: Mapped[str] = mapped_column(String(64), default="", index=True)
    category: Mapped[str] = mapped_column(String(16), default="")
    fonds_code: Mapped[str] = mapped_column(String(32), default="", index=True)
    fonds_unit: Mapped[str] = mapped_column(String(200), default="")
    archival_code: Mapped[str] = mapped_column(String(128), default="", index=True)
    item_number: Mapped[int | None] = mapped_column(Integer)
    document_type: Mapped[str] = mapped_column(String(32), default="", index=True)
    security_classification: Mapped[str] = mapped_column(String(16), default="公开", index=True)
    control_identifier: Mapped[str] = mapped_column(String(16), default="", index=True)  # 控制标识 (0007_use)
    secrecy_period: Mapped[str] = mapped_column(String(32), default="")  # 保密期限, for 密级鉴定 (0010_appraisal)
    page_count: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(32), default="archived", index=True)
    ocfl_version: Mapped[int] = mapped_column(Integer, default=1)
    file_count: Mapped[int] = mapped_column(Integer, default=0)
    total_bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    batch_id: Mapped[str | None] = mapped_column(String(64))
    archived_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    files: Mapped[list[ItemFile]] = relationship(back_populates="item", cascade="all, delete-orphan",
                                                 order_by="ItemFile.logical_path")
    versions: Mapped[list[ItemVersion]] = relationship(back_populates="item", cascade="all, delete-orphan",
                                                       order_by="ItemVersion.version")
    events: Mapped[list[Event]] = relationship(back_populates="item", cascade="all, delete-orphan",
                                               order_by="Event.seq")

    __table_args__ = (Index("ix_items_browse", "fonds_code", "year", "retention", "organisation", "archival_code"),
                      # what is due for appraisal, answered from the index alone (0017)
                      Index("ix_items_due", "status", "retention", "year", "fonds_code", "record_id"),
                      Index("ix_items_opening", "status", "control_identifier", "year", "category", "fonds_code",
                            "record_id"))


class ItemFile(Base):
    """A file of the item's head version (content, metadata, reports)."""

    __tablename__ = "item_files"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    logical_path: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(String(16), default="content")
    document_id: Mapped[str] = mapped_column(String(64), default="")
    encoding_id: Mapped[str] = mapped_column(String(64), default="")
    size: Mapped[int] = mapped_column(BigInteger, default=0)
    sha512: Mapped[str] = mapped_column(String(128))
    sm3: Mapped[str] = mapped_column(String(64))
    format_name: Mapped[str] = mapped_column(String(128), default="")

    item: Mapped[Item] = relationship(back_populates="files")
    __table_args__ = (UniqueConstraint("item_id", "logical_path"),)


class ItemVersion(Base):
    """One OCFL version of an item: when, by whom and why it changed."""

    __tablename__ = "item_versions"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    created: Mapped[str] = mapped_column(String(32))
    message: Mapped[str] = mapped_column(Text, default="")
    user_name: Mapped[str] = mapped_column(String(128), default="")

    item: Mapped[Item] = relationship(back_populates="versions")
    __table_args__ = (UniqueConstraint("item_id", "version"),)


class Event(Base):
    """A business event (业务实体: 拟稿, 签发 …) from the item's handling record."""

    __tablename__ = "events"
    id: Mapped[int] = mapped_column(primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16), default="business")
    status: Mapped[str] = mapped_column(String(32), default="")
    activity: Mapped[str] = mapped_column(String(64), default="")
    time: Mapped[str] = mapped_column(String(32), default="")
    agent: Mapped[str] = mapped_column(String(200), default="")
    description: Mapped[str] = mapped_column(Text, default="")

    item: Mapped[Item] = relationship(back_populates="events")


class AuditEntry(Base):
    """Catalogue copy of the audit chain; the journal file beside the store is authoritative."""

    __tablename__ = "audit_entries"
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    time: Mapped[str] = mapped_column(String(40))
    actor: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class User(Base):
    """A person or system account. Roles and clearance are enforced by services, not templates."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(Text, default="")
    roles: Mapped[str] = mapped_column(String(256), default="")
    clearance: Mapped[str] = mapped_column(String(16), default="公开")
    active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # 三员分立 and password rules (migration 0005_security): an initial or reset password must be
    # changed at the next login; administrator roles and service accounts wait for a second
    # administrator's approval in ``pending_roles`` / ``service_approved_by``.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    pending_roles: Mapped[str] = mapped_column(String(256), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    is_service: Mapped[bool] = mapped_column(default=False)
    service_approved_by: Mapped[str] = mapped_column(String(64), default="")


class Submission(Base):
    """An ingest attempt keyed by an idempotency key, so retries get the first answer back."""

    __tablename__ = "submissions"
    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(128), unique=True)
    record_id: Mapped[str] = mapped_column(String(128), default="")
    status: Mapped[str] = mapped_column(String(32))
    result: Mapped[str] = mapped_column(Text, default="{}")
    submitted_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# --- check runs -----------------------------------------------------------------------------------
# One row per item per DA/T 70 check run, so the archive can list which items were checked, when,
# by whom, against which profile, and where the full report is kept; ``report_sm3`` ties the row
# to those bytes (the item's OCFL object at ingest, the report file of a later run, or beside a package).
class CheckRecord(Base):
    __tablename__ = "check_reports"
    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[str] = mapped_column(String(40), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    profile: Mapped[str] = mapped_column(String(64))
    item_id: Mapped[str] = mapped_column(String(200), index=True)
    source: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    failed_codes: Mapped[str] = mapped_column(String(200), default="")
    results: Mapped[int] = mapped_column(Integer, default=0)
    report_location: Mapped[str] = mapped_column(Text, default="")
    report_sm3: Mapped[str] = mapped_column(String(64), default="")
    operator: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)


class CheckVerdict(Base):
    """A person's verdict on a DA/T 70 target the standard leaves to people (4-2 载体 …), for one
    report: a recorded run, an item's ingest checks or a batch's. Rows are only added; the newest
    for a (scope, stage, code) is the one the 四性检测报告 shows, with who gave it and when."""

    __tablename__ = "check_verdicts"
    id: Mapped[int] = mapped_column(primary_key=True)
    scope: Mapped[str] = mapped_column(String(16))  # run | item | batch
    scope_id: Mapped[str] = mapped_column(String(200), index=True)
    stage: Mapped[str] = mapped_column(String(8))
    code: Mapped[str] = mapped_column(String(16))
    verdict: Mapped[str] = mapped_column(String(16))  # conforms | nonconforming
    note: Mapped[str] = mapped_column(Text, default="")
    confirmed_by: Mapped[str] = mapped_column(String(128))
    confirmed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
