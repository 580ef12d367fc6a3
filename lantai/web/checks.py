"""检测: DA/T 70 checks of archived items from the browser — a batch (or everything visible) with
progress, the recorded runs, and the 四性检测报告 of a run, an item or a batch as PDF or XLSX."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from lantai.domain.roles import Permission
from lantai.errors import LantaiError
from lantai.http.deps import Allowed, ArchiveDep
from lantai.http.params import RecordId
from lantai.services import check_verdicts, item_checks
from lantai.web.app import render

router = APIRouter()
Checker = Allowed(Permission.CHECK_RUN)
RunId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]
BatchId = Annotated[str, Path(min_length=1, max_length=64)]
Kind = Annotated[str, Path(pattern=r"^(pdf|xlsx)$")]
Scope = Annotated[str, Path(pattern=r"^(run|item|batch)$")]
ScopeId = Annotated[str, Path(min_length=1, max_length=200)]


@router.get("/checks")
def checks_page(principal: Checker, request: Request, archive: ArchiveDep) -> Response:
    return render(request, "checks.html", {"batches": item_checks.batches(archive, principal),
                                           "runs": item_checks.recent_runs(archive, limit=30)})


@router.post("/checks/run")
def start(principal: Checker, request: Request, archive: ArchiveDep,
          batch: Annotated[str, Form(max_length=64)] = "") -> Response:
    job = item_checks.start_check_job(archive, principal, batch or None)
    return render(request, "_check_job.html", {"job": job})


@router.get("/checks/jobs/{job_id}")
def progress(principal: Checker, request: Request, archive: ArchiveDep, job_id: RunId) -> Response:
    job = item_checks.check_job(archive, principal, job_id)
    return render(request, "_check_job.html", {"job": job})


def _download(data: bytes, kind: str, name: str) -> Response:
    return Response(data, media_type=item_checks.REPORT_TYPES[kind], headers={
        "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}.{kind}", "Cache-Control": "no-store"})


@router.get("/checks/{run_id}/report.{kind}")
def run_report(principal: Checker, archive: ArchiveDep, run_id: RunId, kind: Kind) -> Response:
    report, header = item_checks.run_report(archive, principal, run_id)
    return _download(item_checks.report_bytes(report, header, kind), kind, f"四性检测报告-{run_id[:8]}")


@router.get("/items/{record_id}/ingest-report.{kind}")
def item_ingest_report(principal: Checker, archive: ArchiveDep, record_id: RecordId, kind: Kind) -> Response:
    report, header = item_checks.ingest_report(archive, principal, record_id=record_id)
    return _download(item_checks.report_bytes(report, header, kind), kind, f"四性检测报告-{record_id}")


@router.get("/batches/{batch_id}/ingest-report.{kind}")
def batch_ingest_report(principal: Checker, archive: ArchiveDep, batch_id: BatchId, kind: Kind) -> Response:
    report, header = item_checks.ingest_report(archive, principal, batch_id=batch_id)
    return _download(item_checks.report_bytes(report, header, kind), kind, f"四性检测报告-批次{batch_id[:16]}")


@router.get("/checks/confirm/{scope}/{scope_id}")
def confirm_page(principal: Checker, request: Request, archive: ArchiveDep, scope: Scope, scope_id: ScopeId) -> Response:
    """人工确认: the targets DA/T 70 leaves to people, with their verdicts and a form to record one."""
    return render(request, "check_confirm.html", _confirm_context(archive, principal, scope, scope_id))


@router.post("/checks/confirm/{scope}/{scope_id}")
def confirm(principal: Checker, request: Request, archive: ArchiveDep, scope: Scope, scope_id: ScopeId,
            code: Annotated[str, Form(pattern=r"^\d-\d$")], verdict: Annotated[str, Form(max_length=16)],
            note: Annotated[str, Form(max_length=check_verdicts.MAX_NOTE)] = "") -> Response:
    message, status = "", 200
    try:
        check_verdicts.record_verdict(archive, principal, scope=scope, scope_id=scope_id, code=code, verdict=verdict,
                                      note=note)
        message = f"已记录 {code} 的人工确认结论"
    except LantaiError as exc:  # the table again, with the reason and the error's status
        message, status = f"未记录：{exc.message_zh}", exc.http_status
    context = {**_confirm_context(archive, principal, scope, scope_id), "message": message}
    return render(request, "_check_confirm_rows.html", context, status_code=status)


def _confirm_context(archive: ArchiveDep, principal: Checker, scope: str, scope_id: str) -> dict:
    data = check_verdicts.manual_targets(archive, principal, scope, scope_id)
    reports = {"run": f"/checks/{quote(scope_id)}/report", "item": f"/items/{quote(scope_id)}/ingest-report",
               "batch": f"/batches/{quote(scope_id)}/ingest-report"}
    return {**data, "report_url": reports[scope], "verdicts": check_verdicts.VERDICTS}
