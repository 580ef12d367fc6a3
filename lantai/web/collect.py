"""收集: the submissions inbox with check results, reasons for rejection, 重新检测 and 重新提交.

A batch is shown as 单位 · 年度 · 件数 · 状态, never by its identifier; its page lists every item with
all of its findings in Chinese, even when the register (归档登记表) refused the batch as a whole.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from lantai.domain.labels import SUBMISSION_STATUS
from lantai.domain.roles import Permission
from lantai.errors import LantaiError
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import submissions
from lantai.services.users import Principal
from lantai.web.app import render

router = APIRouter()


@router.get("/collect")
def inbox(principal: Allowed(Permission.SUBMIT, Permission.SUBMISSION_ALL), request: Request, archive: ArchiveDep,
          status: str = "", page: int = 1) -> Response:
    return _inbox(request, archive, principal, status, page, request.query_params.get("m", ""))


def _inbox(request: Request, archive: ArchiveDep, principal: Principal, status: str, page: int, message: str,
           status_code: int = 200) -> Response:
    result = submissions.list_submissions(archive, principal, status=status or None, page=max(1, page), page_size=25)
    return render(request, "collect.html", {"page": result, "status": status, "message": message},
                  status_code=status_code)


@router.post("/collect/upload")
def upload(principal: Allowed(Permission.SUBMIT), request: Request, archive: ArchiveDep,
           package: Annotated[UploadFile, File()], kind: Annotated[str, Form()] = "item") -> Response:
    try:
        path, digest = submissions.save_upload(archive, package.file)
        result = submissions.submit(archive, principal, path, kind="batch" if kind == "batch" else "item", key=None,
                                    request_digest=digest, filename=package.filename or "")
    except LantaiError as exc:  # the inbox again, with the reason and the error's status (never a 200)
        return _inbox(request, archive, principal, "", 1, f"提交失败：{exc.message_zh}", exc.http_status)
    message = f"提交 #{result['id']}：{SUBMISSION_STATUS.get(result['status'], result['status'])}"
    return RedirectResponse(f"/collect?m={quote(message)}", status_code=303)


@router.get("/collect/{submission_id}")
def detail(principal: Allowed(Permission.SUBMISSION_OWN, Permission.SUBMISSION_ALL), request: Request,
           archive: ArchiveDep, submission_id: int) -> Response:
    """One submission: for a batch the register's figures and every item with all its findings."""
    return _detail(request, archive, principal, submission_id, request.query_params.get("m", ""))


def _detail(request: Request, archive: ArchiveDep, principal: Principal, submission_id: int, message: str,
            status_code: int = 200) -> Response:
    s = submissions.get_submission(archive, principal, submission_id)
    return render(request, "collect_detail.html", {"s": s, "message": message}, status_code=status_code)


@router.post("/collect/{submission_id}/recheck")
def recheck(principal: Allowed(Permission.CHECK_RUN), request: Request, archive: ArchiveDep,
            submission_id: int) -> Response:
    result = submissions.recheck_submission(archive, principal, submission_id)
    if request.headers.get("HX-Target", "").startswith("submission-"):
        return render(request, "_submission_row.html", {"s": result})
    message = f"重新检测：{SUBMISSION_STATUS.get(result['status'], result['status'])}"
    return RedirectResponse(f"/collect/{submission_id}?m={quote(message)}", status_code=303)


@router.post("/collect/{submission_id}/resubmit")
def resubmit(principal: Allowed(Permission.SUBMIT), request: Request, archive: ArchiveDep, submission_id: int,
             package: Annotated[UploadFile, File()]) -> Response:
    """重新提交: the corrected package replaces the refused one and is checked again."""
    try:
        path, digest = submissions.save_upload(archive, package.file)
        result = submissions.resubmit_submission(archive, principal, submission_id, path, digest,
                                                 package.filename or "")
    except LantaiError as exc:
        return _detail(request, archive, principal, submission_id, f"重新提交失败：{exc.message_zh}", exc.http_status)
    message = f"重新提交：{SUBMISSION_STATUS.get(result['status'], result['status'])}"
    return RedirectResponse(f"/collect/{submission_id}?m={quote(message)}", status_code=303)
