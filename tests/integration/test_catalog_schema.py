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


# --- migrations and models agree -----------------------------------------------------------------
import ast  # noqa: E402
import datetime as dt  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Any  # noqa: E402

import pytest  # noqa: E402
from alembic import command  # noqa: E402
from alembic.autogenerate import compare_metadata  # noqa: E402
from alembic.runtime.migration import MigrationContext  # noqa: E402
from alembic.script import ScriptDirectory  # noqa: E402
from sqlalchemy import Engine, MetaData, Table, select, types  # noqa: E402

from lantai.catalog import schema  # noqa: E402

LANTAI_DIR = Path(schema.__file__).resolve().parents[1]


def _schema_differences(engine: Engine) -> list[Any]:
    """What ``alembic revision --autogenerate`` would write against this database."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_name": schema.include_name})
        return compare_metadata(context, schema.metadata)


def test_one_head() -> None:
    """A linear chain: every new revision has exactly one parent to name."""
    engine = db.make_engine("sqlite://")
    assert len(ScriptDirectory.from_config(db.alembic_config(engine)).get_heads()) == 1
    assert len(db.declared_heads() or ()) == 1


def test_every_model_module_is_in_the_migrated_metadata() -> None:
    """A table class outside ``schema``'s imports would be invisible to autogenerate (and dropped)."""
    imported = {f"lantai.catalog.{name}" for name in ("access", "appraisal", "arrangement", "carriers", "jobs", "models",
                                                      "preservation", "use")}
    defining = set()
    for path in LANTAI_DIR.rglob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(node, ast.ClassDef) and any(getattr(b, "id", None) == "Base" for b in node.bases)
               for node in ast.walk(tree)):
            defining.add(".".join(path.relative_to(LANTAI_DIR.parent).with_suffix("").parts))
    assert defining == imported
    assert {t.__module__ for t in schema.Base.__subclasses__()} >= imported


def test_fresh_migration_matches_the_models(settings: Settings) -> None:
    settings.home.mkdir(parents=True)
    engine = db.make_engine(settings.catalogue_url)
    try:
        db.upgrade(engine)
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()


def test_initialised_archive_matches_the_models(archive) -> None:  # type: ignore[no-untyped-def]
    """With the search index's own tables beside the catalogue, autogenerate still proposes nothing."""
    from sqlalchemy import inspect

    assert any(name.startswith(schema.SEARCH_TABLE_PREFIX) for name in inspect(archive.engine).get_table_names())
    assert _schema_differences(archive.engine) == []


def _sample(column: Any, n: int) -> Any:
    """A value of the column's type; integers are 1, so every foreign key finds its one parent row."""
    kind = column.type
    if isinstance(kind, types.Boolean):
        return True
    if isinstance(kind, types.Integer):
        return 1
    if isinstance(kind, types.DateTime):
        return dt.datetime(2025, 12, 31, 8, 30, n % 60, tzinfo=dt.UTC)
    if isinstance(kind, types.String):
        return f"值{n}"[: kind.length or 64]
    raise AssertionError(f"no sample value for {column.table.name}.{column.name} ({kind!r})")


def _snapshot(engine: Engine, released: MetaData) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every released table, in the released columns (later revisions may add some)."""
    meta = MetaData()
    with engine.connect() as conn:
        return {table.name: [tuple(row) for row in conn.execute(select(*(
                    Table(table.name, meta, autoload_with=conn).c[c.name] for c in table.columns)))]
                for table in released.sorted_tables if table.name != "alembic_version"}


FIRST_RELEASE_HEADS = ("0002_arrangement", "0003_checks", "0004_access")  # 2026-11-25
MERGE = "0006_merge_heads"


@pytest.mark.parametrize("heads", ["first release", "before the merge"])
def test_upgrade_from_a_three_headed_catalogue_keeps_data(settings: Settings, heads: str) -> None:
    """A catalogue at the three heads of the first release, or of main before the merge revision,
    with a row in every table, upgrades to the one head with every row intact."""
    settings.home.mkdir(parents=True)
    engine = db.make_engine(settings.catalogue_url)
    config = db.alembic_config(engine)
    merge = ScriptDirectory.from_config(config).get_revision(MERGE)
    try:
        for head in FIRST_RELEASE_HEADS if heads == "first release" else merge.down_revision:
            command.upgrade(config, head)  # those releases' own migrations, one branch at a time
        released = MetaData()
        released.reflect(engine)
        with engine.begin() as conn:
            for n, table in enumerate(released.sorted_tables, start=1):
                if table.name != "alembic_version":
                    conn.execute(table.insert().values({c.name: _sample(c, n) for c in table.columns}))
        before = _snapshot(engine, released)
        assert all(len(rows) == 1 for rows in before.values())
        assert not db.is_current(engine)

        db.upgrade(engine)

        assert db.is_current(engine)
        assert _snapshot(engine, released) == before
        assert _schema_differences(engine) == []
    finally:
        engine.dispose()
