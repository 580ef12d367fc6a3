"""Offline carriers (离线载体) on the shared Base: the register of discs and disks and their read checks.

Carriers are configuration about copies kept outside the archive, not records: ``lantai rebuild``
leaves these tables alone, and a backup does not need them (each volume describes itself).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Boolean, Date, DateTime, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


class Carrier(Base):
    """One registered carrier: 载体编号, type, where it is kept (封存/异地/利用) and its check schedule."""

    __tablename__ = "carriers"
    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(64), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    location: Mapped[str] = mapped_column(String(16), index=True)
    written_on: Mapped[dt.date] = mapped_column(Date)
    check_interval_days: Mapped[int] = mapped_column(Integer, default=365)
    next_check_due: Mapped[dt.date] = mapped_column(Date, index=True)
    last_checked: Mapped[dt.date | None] = mapped_column(Date)
    last_check_ok: Mapped[bool | None] = mapped_column(Boolean)
    volume_label: Mapped[str] = mapped_column(String(128), default="")
    manifest_sm3: Mapped[str] = mapped_column(String(64), default="")
    items: Mapped[int] = mapped_column(Integer, default=0)
    bytes: Mapped[int] = mapped_column(BigInteger, default=0)
    note: Mapped[str] = mapped_column(Text, default="")
    registered_by: Mapped[str] = mapped_column(String(64), default="")
    registered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CarrierCheck(Base):
    """One read check of a carrier (``lantai carrier verify`` with the archive at hand)."""

    __tablename__ = "carrier_checks"
    id: Mapped[int] = mapped_column(primary_key=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carriers.id", ondelete="CASCADE"), index=True)
    checked_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    files: Mapped[int] = mapped_column(Integer, default=0)
    problems: Mapped[int] = mapped_column(Integer, default=0)
    actor: Mapped[str] = mapped_column(String(64), default="")
