"""The ``gd`` profile as an ingest check (``lantai.checks.hooks``).

Ingest has already staged and digested every file; this runs the item-level gd checks over the
staged files in the ingest worker, plus the run-level checks that make sense for one item (the
audit chain), and turns failures into error findings so ingest rejects the item. The full JSON
report goes into ``context.extra["ocfl_files"]["lantai/check-report.json"]`` for ingest to store
in the item's OCFL object, and into ``context.extra["check_report"]``.

The profile comes from the ``ingest_profile`` setting (``LANTAI_INGEST_PROFILE``), ``default``
unless configured; ``off`` disables the check and exists only for tests of the ingest mechanics.
"""

from __future__ import annotations

from typing import Any

from lantai.domain.findings import Finding, Severity

REPORT_PATH = "lantai/check-report.json"
DEFAULT_PROFILE = "default"


def register() -> None:
    """Register the gd check with ingest (called when ``lantai.checks`` is imported)."""
    from lantai.checks.hooks import register_ingest_check

    register_ingest_check("dat70_gd", gd_ingest_check)


def ingest_profile_name(settings: Any) -> str:
    """The configured profile, from ``Settings`` only: they travel with each job to the worker
    processes, whose own environment (a long-lived forkserver's) may be older than the caller's."""
    configured = getattr(settings, "ingest_profile", None) or DEFAULT_PROFILE
    return configured.strip() or DEFAULT_PROFILE


def gd_ingest_check(context: Any) -> list[Finding]:
    name = ingest_profile_name(context.settings)
    if name == "off":
        return []
    from lantai.checks import engine, loaders, runner
    from lantai.checks.properties.run_level import RunContext

    profile = runner.resolve_profile(name, context.settings)
    subject = loaders.from_ingest_context(context, "gd", profile)
    subject.profile = profile.for_item(*_fonds_category(subject))
    item = engine.check_subject(subject)
    run = RunContext("gd", {}, None, tuple(profile.section("metadata").get("unique_elements", [])))
    run.audit = context.extra.get("audit_chain")  # verified by the ingest service (4-3)
    report = runner.finish([item], run, subject.profile, operator=context.operator)
    context.extra["check_report"] = data = report.to_dict()
    context.extra.setdefault("ocfl_files", {})[REPORT_PATH] = report.to_json(data)
    return [_finding(r) for r in item.results if r.status in ("fail", "unscanned", "warn")]


def _fonds_category(subject: Any) -> tuple[str | None, str | None]:
    if subject.record is None:
        return None, None
    code = subject.record.archival_code
    return (code.fonds_identifier or "").strip() or None, (code.category_code or "").strip() or None


def _finding(result: Any) -> Finding:
    severity = Severity.WARNING if result.status == "warn" else Severity.ERROR
    rule = result.rule or result.code
    return Finding(rule="da_t70", element=result.file or f"gd {rule}", message=f"[gd {rule}] {result.message}",
                   message_en=f"[gd {rule}] {result.message_en}", severity=severity, code=f"gd-{rule}",
                   params={"code": result.code, "check": result.check, "status": result.status})
