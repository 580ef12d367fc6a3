"""Every catalogue table on one metadata, and which tables of the database Alembic manages.

Each area keeps its tables in its own module on the shared ``Base``; a table only joins the
metadata once its module is imported. Alembic's ``env.py`` and the schema tests import this module,
so autogenerate sees every table and never proposes dropping one it was not shown.
"""

from __future__ import annotations

from lantai.catalog import (  # noqa: F401  (each registers its tables)
    access,
    appraisal,
    arrangement,
    carriers,
    jobs,
    models,
    preservation,
    use,
)
from lantai.catalog.models import Base

metadata = Base.metadata

# The search index keeps its tables in the catalogue database but creates them with its own DDL
# (lantai.search) and rebuilds them from the store (``lantai search reindex``); Alembic leaves them alone.
SEARCH_TABLE_PREFIX = "search_"


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Alembic's filter: every table except the search index's (and so their indexes too)."""
    if type_ == "table" and name is not None:
        return not name.startswith(SEARCH_TABLE_PREFIX)
    return True
