"""DA/T 70-2018 four-property checks (四性检测) for the gd, yj and bc stages.

Public API::

    check_paths(paths, stage=, profile=, settings=, archive=, workers=, operator=) -> CheckReport
    check_archived(record_ids, fixity, facts, settings=, stage="bc", ...) -> CheckReport
    CheckReport.to_dict() / to_json()            the stable JSON of issue 3
    render_html(report) / render_pdf(report) / write_report(report, path)
    load_profile(name, home=None), load_registry()
    ClamdServer, Scanner                          clamd client and a private daemon for tests

Checks never open the catalogue or call services: what they need to know of an archive comes
in as :class:`lantai.checks.archive_facts.ArchiveFacts`; recording a run (catalogue rows, audit
entry) is :mod:`lantai.services.item_checks`.

Importing this package registers the ``gd`` profile as an ingest check (``hooks``), so ingest —
which imports ``lantai.checks.hooks`` — runs it. Heavy modules load on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

from lantai.checks.ingest import register as _register_ingest_check

_register_ingest_check()

_EXPORTS = {
    "check_paths": "lantai.checks.runner",
    "check_archived": "lantai.checks.runner",
    "CheckReport": "lantai.checks.report",
    "render_html": "lantai.checks.render",
    "render_pdf": "lantai.checks.render",
    "write_report": "lantai.checks.render",
    "load_profile": "lantai.checks.profiles",
    "load_registry": "lantai.checks.registry",
    "ClamdServer": "lantai.checks.clamav",
    "Scanner": "lantai.checks.clamav",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lantai.checks' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
