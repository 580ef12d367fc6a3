"""Recording a check run: catalogue rows (``check_reports``) and one audit-chain entry.

The audit entry carries the SM3 of the JSON report and the per-item verdicts, so a report file
kept elsewhere can later be proved to be the one this run produced.
"""

from __future__ import annotations

import uuid
from typing import Any

from lantai.checks.report import CheckReport
from lantai.crypto.digests import sm3_hex


def record_run(archive: Any, report: CheckReport, *, operator: str, location: str = "",
               locations: dict[str, str] | None = None) -> str:
    """Store one row per item and append ``check.run`` to the audit chain. Returns the run id."""
    from lantai.catalog.check_reports import CheckRecord

    run_id = uuid.uuid4().hex
    digest = sm3_hex(report.to_json())
    locations = locations or {}
    with archive.session() as session:
        for item in report.items:
            failed = sorted({r.code for r in item.failures()})
            session.add(CheckRecord(run_id=run_id, stage=report.stage, profile=report.profile, item_id=item.id[:200],
                                    source=item.path, status="failed" if item.failed else "passed",
                                    failed_codes=",".join(failed)[:200], results=len(item.results),
                                    report_location=locations.get(item.id, location), report_sm3=digest,
                                    operator=operator))
        summary = report.summary()
        archive.audit.append(operator, "check.run", run_id, {
            "stage": report.stage, "profile": report.profile, "report_sm3": digest, "location": location,
            "items": summary["items"], "passed": summary["passed"], "failed": summary["failed"],
            "verdicts": {item.id: ("failed" if item.failed else "passed") for item in report.items[:1000]},
        }, session=session)
    return run_id
