"""DA/T 70-2018 four-property checks (四性检测) for the gd, yj and bc stages.

Public API::

    check_paths(paths, stage=, profile=, settings=, archive=, workers=, operator=) -> CheckReport
    check_archived(archive, record_ids=None, stage="bc", ...) -> CheckReport
    CheckReport.to_dict() / to_json()            the stable JSON of issue 3
    render_html(report) / render_pdf(report) / write_report(report, path)
    record_run(archive, report, operator=, location=)   catalogue rows + audit entry
    load_profile(name, home=None), load_registry()
    ClamdServer, Scanner                          clamd client and a private daemon for tests

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
    "record_run": "lantai.checks.record",
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
