"""Migration 0005_security keeps what an existing catalogue holds (no table copy that cascades deletes)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from lantai.catalog.db import alembic_config, make_engine, upgrade
from lantai.settings import Settings


def test_upgrade_keeps_users_sessions_and_tokens(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.catalogue_url)
    try:
        command.upgrade(alembic_config(engine), "0004_access")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO users (username, display_name, password_hash, roles, clearance, active, "
                              "created_at) VALUES ('old', 'old', 'h', '利用者', '公开', true, '2025-01-01')"))
            uid = conn.execute(text("SELECT id FROM users")).scalar()
            conn.execute(text("INSERT INTO api_tokens (token_hash, prefix, user_id, name, created_by, created_at, revoked)"
                              f" VALUES ('t', 'lt_', {uid}, 'n', 'cli', '2025-01-01', false)"))
            conn.execute(text("INSERT INTO web_sessions (token_hash, user_id, csrf_token, created_at, last_seen, "
                              f"expires_at, client) VALUES ('s', {uid}, 'c', '2025-01-01', '2025-01-01', '2025-01-02', '')"))
        upgrade(engine)
        with engine.connect() as conn:
            user = conn.execute(text("SELECT must_change_password, pending_roles, is_service FROM users")).one()
            assert (bool(user[0]), user[1], bool(user[2])) == (False, "", False)
            assert conn.execute(text("SELECT scopes FROM api_tokens")).scalar() == ""  # no scope: reissue needed
            assert conn.execute(text("SELECT count(*) FROM web_sessions")).scalar() == 1
    finally:
        engine.dispose()
