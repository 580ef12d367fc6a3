"""Schema currency check that opening an archive relies on, on both catalogue backends."""

from __future__ import annotations

from sqlalchemy import text

from lantai.catalog import db
from lantai.settings import Settings


def test_declared_heads_are_alembics_heads(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from alembic.script import ScriptDirectory

    engine = db.make_engine(f"sqlite:///{tmp_path / 'c.sqlite3'}")
    script = ScriptDirectory.from_config(db.alembic_config(engine))
    assert db.declared_heads() == set(script.get_heads())
    assert len(db.declared_heads() or ()) >= 1


def test_current_only_at_every_head(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    engine = db.make_engine(settings.catalogue_url)
    try:
        assert not db.is_current(engine)  # nothing there yet
        db.upgrade(engine)
        assert db.is_current(engine)
        assert db._is_current_by_alembic(engine)
        head = sorted(db.declared_heads() or ())[0]
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM alembic_version WHERE version_num = :v"), {"v": head})
        assert not db.is_current(engine)  # one branch behind
        assert not db._is_current_by_alembic(engine)
        with engine.begin() as conn:
            conn.execute(text("INSERT INTO alembic_version (version_num) VALUES (:v)"), {"v": head})
        assert db.is_current(engine)
    finally:
        engine.dispose()
