"""Appraisal (鉴定) tables on the shared Base: campaigns, their items and decisions, approvals, holds.

Items are referenced by 电子文件号 (``record_id``), never by the catalogue's surrogate key, and a
campaign item copies what the 销毁清册 prints (档号, 题名, 文号, 日期, 页数, 保管期限): ``lantai
rebuild`` recreates the item rows, and after a destruction the register must still say what was
destroyed. What a decision did to an item is also in the item's OCFL object (its new version, its
过程信息 event, the destruction tombstone), so the store alone still tells each item's story.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


class AppraisalCampaign(Base):
    """鉴定任务: one kind (到期/开放/密级), the year it looks ahead to, its status and its people."""

    __tablename__ = "appraisal_campaigns"
    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8), index=True)
    year: Mapped[int] = mapped_column(Integer)
    fonds_code: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposer: Mapped[str] = mapped_column(String(64))
    committee: Mapped[str] = mapped_column(Text, default="")  # approvers, comma-separated
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    submitted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    approved_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    executed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    executed_by: Mapped[str] = mapped_column(String(64), default="")
    register_path: Mapped[str] = mapped_column(Text, default="")  # 销毁清册 PDF (phase 1), relative to home
    register_sm3: Mapped[str] = mapped_column(String(64), default="")
    register_record_id: Mapped[str] = mapped_column(String(128), default="")  # the archived 销毁清册 item
    destroyed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    destroyed_by: Mapped[str] = mapped_column(String(64), default="")


class AppraisalItem(Base):
    """One item of a campaign: what the 销毁清册 prints of it, its decision and where it stands."""

    __tablename__ = "appraisal_items"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("appraisal_campaigns.id", ondelete="CASCADE"), index=True)
    record_id: Mapped[str] = mapped_column(String(128), index=True)
    archival_code: Mapped[str] = mapped_column(String(128), default="")
    title: Mapped[str] = mapped_column(Text, default="")
    document_number: Mapped[str] = mapped_column(String(128), default="")
    date: Mapped[str] = mapped_column(String(10), default="")
    page_count: Mapped[int | None] = mapped_column(Integer)
    retention: Mapped[str] = mapped_column(String(16), default="")
    security_classification: Mapped[str] = mapped_column(String(16), default="公开")
    fonds_code: Mapped[str] = mapped_column(String(32), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    decision: Mapped[str] = mapped_column(String(8), default="")
    new_value: Mapped[str] = mapped_column(String(32), default="")
    reason: Mapped[str] = mapped_column(Text, default="")
    decided_by: Mapped[str] = mapped_column(String(64), default="")
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(8), index=True)
    error: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (UniqueConstraint("campaign_id", "record_id"),
                      # a campaign of hundreds of thousands of items, read page by page (0017)
                      Index("ix_appraisal_items_page", "campaign_id", "archival_code", "record_id"),
                      Index("ix_appraisal_items_states", "campaign_id", "state"),
                      Index("ix_appraisal_items_decisions", "campaign_id", "decision"))


class AppraisalApproval(Base):
    """One approver's answer in one round (a rejection sends the campaign back to 草稿: round + 1)."""

    __tablename__ = "appraisal_approvals"
    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("appraisal_campaigns.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)
    approver: Mapped[str] = mapped_column(String(64))
    approve: Mapped[bool] = mapped_column(Boolean)
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Hold(Base):
    """冻结: an item, or a whole 全宗 (and optionally one 年度), kept from destruction and shorter retention."""

    __tablename__ = "holds"
    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[str] = mapped_column(String(128), default="")  # one item, or '' for a 全宗/年度
    fonds_code: Mapped[str] = mapped_column(String(32), default="")
    year: Mapped[int | None] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    placed_by: Mapped[str] = mapped_column(String(64))
    placed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))  # end of that day, Beijing time
    lifted_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    lifted_by: Mapped[str] = mapped_column(String(64), default="")
    lift_reason: Mapped[str] = mapped_column(Text, default="")
    __table_args__ = (Index("ix_holds_scope", "record_id", "fonds_code", "year"),)
