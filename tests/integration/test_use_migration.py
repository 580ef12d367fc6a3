"""Migration 0007_use adds 控制标识 to items in place: no table copy that would cascade-delete files."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from lantai.catalog.db import alembic_config, make_engine, upgrade
from lantai.settings import Settings


def test_upgrade_keeps_items_and_their_files(settings: Settings) -> None:
    settings.home.mkdir(parents=True, exist_ok=True)
    engine = make_engine(settings.catalogue_url)
    try:
        command.upgrade(alembic_config(engine), "0006_merge_heads")
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO items (record_id, title, document_number, author, date, retention, "
                              "organisation, category, fonds_code, fonds_unit, archival_code, document_type, "
                              "security_classification, status, ocfl_version, file_count, total_bytes, archived_at, "
                              "updated_at) VALUES ('R1', 't', '', '', '', '', '', '', '', '', '', '', '公开', "
                              "'archived', 1, 1, 1, '2025-01-01', '2025-01-01')"))
            item = conn.execute(text("SELECT id FROM items")).scalar()
            conn.execute(text("INSERT INTO item_files (item_id, logical_path, role, document_id, encoding_id, size, "
                              f"sha512, sm3, format_name) VALUES ({item}, 'content/a.pdf', 'content', '', '', 1, "
                              "'x', 'y', '')"))
        upgrade(engine)
        with engine.connect() as conn:
            assert conn.execute(text("SELECT control_identifier FROM items")).scalar() == ""
            assert conn.execute(text("SELECT count(*) FROM item_files")).scalar() == 1
            assert conn.execute(text("SELECT count(*) FROM use_grants")).scalar() == 0
    finally:
        engine.dispose()
