"""People's verdicts on the DA/T 70 targets the standard leaves to people (4-2 载体 and others).

A 四性检测报告 shows such a target as 待人工确认 until an archivist records a verdict for it: 符合
or 不符合, with a note, for the report it belongs to — a recorded check run (``run``), an item's
ingest checks (``item``) or a batch's (``batch``). Each verdict is a new ``check_verdicts`` row
and a ``check.confirmed`` audit entry written in the same transaction; the newest verdict per
target is what the report shows, with who gave it and when. ``lantai check confirm``,
``POST /api/v1/checks/verdicts`` and the web report page all come here.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.models import CheckVerdict
from lantai.checks.registry import load_registry
from lantai.checks.render import manual_rows
from lantai.checks.report import CheckReport
from lantai.errors import BadInput
from lantai.services import item_checks
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

SCOPES = {"run": "检测记录", "item": "条目接收检测", "batch": "批次接收检测"}
VERDICTS = {"conforms": "符合", "nonconforming": "不符合"}
ALIASES = {"符合": "conforms", "不符合": "nonconforming", "pass": "conforms", "fail": "nonconforming"}
MAX_NOTE = 2000


def manual_codes(stage: str) -> dict[str, str]:
    """Targets of a stage with a check DA/T 70 leaves to people → their Chinese title."""
    registry = load_registry()
    return {t.code: t.zh for t in registry.targets_for(stage)
            if any(not registry.checks[name].automated for name in t.checks)}


def normalise_verdict(verdict: str) -> str:
    value = ALIASES.get(verdict.strip(), verdict.strip())
    if value not in VERDICTS:
        raise BadInput(f"确认结论须为 符合 或 不符合：{verdict}", f"verdict must be conforms or nonconforming: {verdict}")
    return value


def scoped_report(archive: Archive, principal: Principal, scope: str, scope_id: str) -> CheckReport:
    """The report a verdict belongs to, for someone who may see all its items."""

    if scope == "run":
        return item_checks.run_report(archive, principal, scope_id)[0]
    if scope == "item":
        return item_checks.ingest_report(archive, principal, record_id=scope_id)[0]
    if scope == "batch":
        return item_checks.ingest_report(archive, principal, batch_id=scope_id)[0]
    raise BadInput(f"确认对象须为 run、item 或 batch：{scope}", f"scope must be run, item or batch: {scope}")


def record_verdict(archive: Archive, principal: Principal, *, scope: str, scope_id: str, code: str, verdict: str,
                   note: str = "") -> dict[str, Any]:
    """Record an archivist's verdict on one manual target of a report; audit-journalled."""
    verdict = normalise_verdict(verdict)
    report = scoped_report(archive, principal, scope, scope_id)
    manual = manual_codes(report.stage)
    if code not in manual:
        raise BadInput(f"{code} 不是{report.stage}环节须人工确认的检测项目（可确认：{'、'.join(manual) or '无'}）",
                       f"{code} is not a manual target of stage {report.stage} (manual: {', '.join(manual) or 'none'})")
    if len(note) > MAX_NOTE:
        raise BadInput(f"说明不得超过 {MAX_NOTE} 个字符", f"the note may not exceed {MAX_NOTE} characters")
    row = CheckVerdict(scope=scope, scope_id=scope_id[:200], stage=report.stage, code=code, verdict=verdict,
                       note=note.strip(), confirmed_by=principal.username)
    with archive.session() as session:
        session.add(row)
        session.flush()
        archive.audit.append(principal.username, "check.confirmed", f"{scope}:{scope_id}", {
            "scope": scope, "scope_id": scope_id, "stage": report.stage, "code": code, "verdict": verdict,
            "note": row.note, "items": len(report.items)}, session=session)
        return _public(row)


def verdicts(archive: Archive, scope: str, scope_id: str, stage: str) -> dict[str, dict[str, Any]]:
    """The newest verdict per manual target of one report."""
    with archive.sessions() as session:
        rows = session.scalars(select(CheckVerdict).where(
            CheckVerdict.scope == scope, CheckVerdict.scope_id == scope_id[:200], CheckVerdict.stage == stage)
            .order_by(CheckVerdict.id)).all()
        return {row.code: _public(row) for row in rows}


def _public(row: CheckVerdict) -> dict[str, Any]:
    return {"scope": row.scope, "scope_id": row.scope_id, "stage": row.stage, "code": row.code,
            "verdict": row.verdict, "verdict_zh": VERDICTS[row.verdict], "note": row.note,
            "confirmed_by": row.confirmed_by, "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else ""}


def manual_targets(archive: Archive, principal: Principal, scope: str, scope_id: str) -> dict[str, Any]:
    """The manual targets of one report with their recorded verdicts (the web page's rows)."""

    report = scoped_report(archive, principal, scope, scope_id)
    recorded = verdicts(archive, scope, scope_id, report.stage)
    return {"scope": scope, "scope_id": scope_id, "scope_zh": SCOPES[scope], "stage": report.stage,
            "items": len(report.items), "targets": manual_rows(report, recorded)}
