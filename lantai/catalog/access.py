"""Access-control tables on the shared Base: web sessions, API tokens and login attempts.

Secrets are never stored: a session id or API token is kept only as its SHA-256 digest, so a
copy of the catalogue does not let anyone log in. Users themselves live in ``models.User``.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Boolean, DateTime, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from lantai.catalog.models import Base, utcnow


class WebSession(Base):
    """A logged-in browser: idle and absolute expiry, and the CSRF token its forms must carry."""

    __tablename__ = "web_sessions"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    client: Mapped[str] = mapped_column(String(64), default="")


class ApiToken(Base):
    """A bearer token for a system account (an OA system submitting records)."""

    __tablename__ = "api_tokens"
    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    created_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_used: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    scopes: Mapped[str] = mapped_column(String(128), default="")  # comma-separated, see domain.permissions


class LoginAttempt(Base):
    """One password attempt, kept for throttling and for the 系统管理 view."""

    __tablename__ = "login_attempts"
    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    client: Mapped[str] = mapped_column(String(64), default="")
    success: Mapped[bool] = mapped_column(Boolean, default=False)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    failures_counted: Mapped[int] = mapped_column(Integer, default=0)

    __table_args__ = (Index("ix_login_attempts_user_time", "username", "at"),
                      Index("ix_login_attempts_client_time", "client", "at"))


class LoginThrottle(Base):
    """Failed logins per key (``u:<username>`` or ``c:<client>``) in a fixed window.

    One row per key, changed by a single ``INSERT … ON CONFLICT DO UPDATE … RETURNING`` so that
    concurrent attempts each see their own count; a success never resets it.
    """

    __tablename__ = "login_throttle"
    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    window_start: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
