"""Catalogue table for check reports: one row per item per run, so the archive can list which
items were checked, when, by whom, against which profile, and where the full report is kept.

Derived data like the rest of the catalogue: the report itself lives in the item's OCFL object
(ingest), beside the package (yj) or in the file the operator asked for; ``report_sm3`` ties
the row to those bytes.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


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
