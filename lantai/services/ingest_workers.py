"""What the ingest fork server loads before it forks workers.

Kept apart from :mod:`lantai.services.ingest` so that ``lantai ingest`` can start the fork server
before importing the heavy ingest stack (SQLAlchemy, lxml): the server's imports then overlap
the command's own.
"""

from __future__ import annotations

from typing import Any

from lantai.checks.ingest import ingest_profile_name
from lantai.jobs.pool import DEFAULT_PRELOAD


def worker_preload(settings: Any = None) -> list[str]:
    """Modules the ingest fork server imports: with a DA/T 70 profile, the check stack too.

    Loaded once in the server instead of once per worker (:mod:`lantai.checks.warm`); the ``off``
    profile, which never runs a check, does not pay for it. Every profile extracts search text, so
    the extractors' libraries are always loaded (:mod:`lantai.search.warm`).
    """
    extra = [] if ingest_profile_name(settings) == "off" else ["lantai.checks.warm"]
    return [*DEFAULT_PRELOAD, "lantai.search.warm", *extra]
