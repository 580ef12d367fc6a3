"""利用 tables on the shared Base: access requests, their decisions, grants and the use register.

Items are referenced by 电子文件号 (``record_id``), never by the catalogue's surrogate key:
``lantai rebuild`` recreates the item rows, and a grant or register entry must survive that.
A request item keeps what the reader typed (``kind`` + ``reference``) — the reader never learns
which item, if any, it resolves to unless they may see that item.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


class UseRequest(Base):
    """利用申请: who asks, why (利用目的), how (利用方式, ``,在线阅览,下载,``) and until when."""

    __tablename__ = "use_requests"
    id: Mapped[int] = mapped_column(primary_key=True)
    requester: Mapped[str] = mapped_column(String(64), index=True)
    purpose: Mapped[str] = mapped_column(String(16))
    purpose_detail: Mapped[str] = mapped_column(Text, default="")
    methods: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    two_step: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    effect: Mapped[str] = mapped_column(String(16), default="")  # 利用效果 (domain.use.EFFECTS), by the reader
    effect_note: Mapped[str] = mapped_column(Text, default="")
    effect_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class UseRequestItem(Base):
    """One requested item as typed; ``record_id`` is filled when an approver resolves it."""

    __tablename__ = "use_request_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("use_requests.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # record_id | archival_code | document_number
    reference: Mapped[str] = mapped_column(String(128))
    record_id: Mapped[str | None] = mapped_column(String(128))


class UseDecision(Base):
    """One approval step (``archivist`` or ``security``) with its reason."""

    __tablename__ = "use_decisions"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("use_requests.id", ondelete="CASCADE"), index=True)
    step: Mapped[str] = mapped_column(String(16))
    decided_by: Mapped[str] = mapped_column(String(64))
    approve: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class UseGrant(Base):
    """What an approved request allows: the named items, the named methods, until ``valid_until``.

    Checked at query time by :func:`lantai.services.visibility.visible_to`; expiry needs no job.
    """

    __tablename__ = "use_grants"
    id: Mapped[int] = mapped_column(primary_key=True)
    request_id: Mapped[int] = mapped_column(ForeignKey("use_requests.id", ondelete="CASCADE"), index=True)
    grantee: Mapped[str] = mapped_column(String(64), index=True)
    methods: Mapped[str] = mapped_column(String(64))
    valid_until: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_by: Mapped[str] = mapped_column(String(64), default="")
    revoke_reason: Mapped[str] = mapped_column(Text, default="")


class UseGrantItem(Base):
    __tablename__ = "use_grant_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    grant_id: Mapped[int] = mapped_column(ForeignKey("use_grants.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)


class UseRegisterEntry(Base):
    """利用登记簿: one view, download, print or copy. Fonds and year are copied for the statistics."""

    __tablename__ = "use_register"
    id: Mapped[int] = mapped_column(primary_key=True)
    time: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    username: Mapped[str] = mapped_column(String(64), index=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    archival_code: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    fonds_code: Mapped[str] = mapped_column(String(32), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    security_classification: Mapped[str] = mapped_column(String(16), default="公开")
    purpose: Mapped[str] = mapped_column(String(64), default="")
    method: Mapped[str] = mapped_column(String(16))
    grant_id: Mapped[int | None] = mapped_column(Integer)
    pages: Mapped[int | None] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(Text, default="")
