"""bc 3-4 (备份数据可恢复性) as a backup verification found it, per object restored from the backup.

The backup service restores a sample of objects to a scratch area and compares digests; this turns
what it found into the check's results, so the verification is recorded and reported like any other
check run (catalogue rows, the JSON report, a ``check.run`` audit entry).
"""

from __future__ import annotations

from typing import Any

from lantai.checks.engine import to_results
from lantai.checks.model import ItemReport, Outcome, found, passed

CODE = "3-4"
PROPERTY = "usability"
CHECK = "backups_restorable"
STAGE = "bc"
PROFILE = "backup"

# What the backup service reports → the rule it breaks.
_RULES = {"missing": "3-4d", "digest": "3-4e", "object": "3-4f", "manifest": "3-4g"}


def restorability_outcomes(problems: list[dict[str, Any]], *, time: str, source: str, sampled: int) -> list[Outcome]:
    """Each problem is ``{"kind": missing|digest|object|manifest, "file", "expected", "actual", "detail"}``."""
    outcomes = []
    for problem in problems:
        rule = _RULES.get(problem.get("kind", ""), "3-4f")
        params = {k: v for k, v in problem.items() if k in ("expected", "actual", "detail")}
        outcomes.append(found(rule, problem.get("file"), **params))
    return outcomes or [passed(time=time, source=source, sampled=sampled)]


def restorability_item(record_id: str, path: str, problems: list[dict[str, Any]], *, time: str, source: str,
                       sampled: int) -> ItemReport:
    """One sampled object's report: its bc 3-4 results."""
    item = ItemReport(record_id, path, "archived")
    outcomes = restorability_outcomes(problems, time=time, source=source, sampled=sampled)
    item.results = to_results(STAGE, CODE, PROPERTY, CHECK, outcomes, "error")
    return item
