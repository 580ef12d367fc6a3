"""Submissions (收集): items and batches, idempotent by the ``Idempotency-Key`` header."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, File, Header, Path, Query, Response, UploadFile, status

from lantai.api.schemas import ERRORS, SubmissionOut, SubmissionPage
from lantai.domain.roles import Permission
from lantai.errors import BadInput
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import browse, submissions

router = APIRouter(tags=["收集"], responses=ERRORS)
Submitter = Allowed(Permission.SUBMIT)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key", max_length=128,
                                              description="重试时使用同一键，服务器返回首次结果")]
SubmissionId = Annotated[int, Path(ge=1, le=2**31 - 1)]


def _answer(result: dict, response: Response) -> dict:
    """200 for a replay, 202 while a worker has the job (poll the submission or its job), 201 when done."""
    if result.get("replayed"):
        response.status_code = status.HTTP_200_OK
    elif result.get("status") == "processing":
        response.status_code = status.HTTP_202_ACCEPTED
    else:
        response.status_code = status.HTTP_201_CREATED
    return result


@router.post("/submissions", response_model=SubmissionOut, status_code=status.HTTP_201_CREATED,
             summary="提交一件（SIP zip，或 元数据.xml + 文件 的 multipart）",
             responses={200: {"model": SubmissionOut, "description": "同一 Idempotency-Key 的重放"},
                        202: {"model": SubmissionOut, "description": "已排队，由后台工作进程处理（配置了消息队列时）"}})
def submit_item(principal: Submitter, archive: ArchiveDep, response: Response, key: IdempotencyKey = None,
                package: Annotated[UploadFile | None, File(description="SIP zip")] = None,
                metadata: Annotated[UploadFile | None, File(description="元数据.xml")] = None,
                process: Annotated[UploadFile | None, File(description="过程信息.xml")] = None,
                files: Annotated[list[UploadFile] | None, File(description="内容文件（文件名即计算机文件名）")] = None) -> dict:
    if package is not None and metadata is None and not files:
        path, digest = submissions.save_upload(archive, package.file)
    elif package is None and metadata is not None:
        parts = [(f.filename or "", f.file) for f in files or []]
        path, digest = submissions.package_from_parts(archive, metadata.file, process.file if process else None, parts)
    else:
        raise BadInput("请提交 package（SIP zip），或 metadata（元数据.xml）加 files", "send package, or metadata + files")
    filename = package.filename if package is not None else ""
    return _answer(submissions.submit(archive, principal, path, kind="item", key=key, request_digest=digest,
                                      filename=filename or ""), response)


@router.post("/batches", response_model=SubmissionOut, status_code=status.HTTP_201_CREATED,
             summary="提交批次（含 归档登记表.csv 的 zip）",
             responses={200: {"model": SubmissionOut, "description": "同一 Idempotency-Key 的重放"},
                        202: {"model": SubmissionOut, "description": "已排队，由后台工作进程处理（配置了消息队列时）"}})
def submit_batch(principal: Submitter, archive: ArchiveDep, response: Response,
                 package: Annotated[UploadFile, File(description="批次 zip")], key: IdempotencyKey = None) -> dict:
    path, digest = submissions.save_upload(archive, package.file)
    return _answer(submissions.submit(archive, principal, path, kind="batch", key=key, request_digest=digest,
                                      filename=package.filename or ""), response)


@router.get("/submissions", response_model=SubmissionPage, summary="提交记录（本人或全部）")
def list_submissions(principal: Allowed(Permission.SUBMISSION_OWN, Permission.SUBMISSION_ALL), archive: ArchiveDep,
                     status_: Annotated[str | None, Query(alias="status", max_length=32)] = None,
                     page: Annotated[int, Query(ge=1, le=100_000)] = 1,
                     page_size: Annotated[int, Query(ge=1, le=browse.MAX_PAGE_SIZE)] = 50) -> dict:
    return submissions.list_submissions(archive, principal, status=status_, page=page, page_size=page_size).to_dict()


@router.get("/submissions/{submission_id}", response_model=SubmissionOut, summary="提交状态")
def get_submission(principal: Allowed(Permission.SUBMISSION_OWN, Permission.SUBMISSION_ALL), archive: ArchiveDep, submission_id: SubmissionId) -> dict:
    return submissions.get_submission(archive, principal, submission_id)


@router.post("/submissions/{submission_id}/recheck", response_model=SubmissionOut, summary="重新检测被拒收的提交")
def recheck(principal: Allowed(Permission.CHECK_RUN), archive: ArchiveDep, submission_id: SubmissionId) -> dict:
    return submissions.recheck_submission(archive, principal, submission_id)


@router.post("/submissions/{submission_id}/resubmit", response_model=SubmissionOut,
             summary="重新提交：以更正后的包替换被拒收、部分接收或冲突的提交并重新检测",
             responses={202: {"model": SubmissionOut, "description": "已排队，由后台工作进程处理（配置了消息队列时）"}})
def resubmit(principal: Submitter, archive: ArchiveDep, response: Response, submission_id: SubmissionId,
             package: Annotated[UploadFile, File(description="更正后的 SIP zip 或批次 zip（与原提交同类）")]) -> dict:
    """The same service as the web's 重新提交: the corrected package is checked and ingested under the
    same submission; 409 when the submission is not one that takes a corrected package."""
    path, digest = submissions.save_upload(archive, package.file)
    result = submissions.resubmit_submission(archive, principal, submission_id, path, digest, package.filename or "")
    response.status_code = status.HTTP_202_ACCEPTED if result.get("status") == "processing" else status.HTTP_200_OK
    return result
