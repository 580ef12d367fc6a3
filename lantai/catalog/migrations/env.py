"""Alembic environment: the engine is handed in by lantai.catalog.db, never read from an ini file."""

from alembic import context

from lantai.catalog import (
    models,  # noqa: F401  (registers tables on Base)
    use,  # noqa: F401  (利用 tables)
)
from lantai.catalog.models import Base

target_metadata = Base.metadata
engine = context.config.attributes["engine"]

with engine.begin() as connection:
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()
