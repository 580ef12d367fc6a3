"""Alembic environment: the engine is handed in by lantai.catalog.db, never read from an ini file."""

from alembic import context

from lantai.catalog.schema import include_name, metadata

engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=metadata, include_name=include_name,
                      render_as_batch=True)
    context.run_migrations()
