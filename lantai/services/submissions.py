"""收集: submissions over the API and the web, idempotent by ``Idempotency-Key``.

A submission is claimed under its key before anything is ingested; the same key with the same
body replays the stored answer, with another body it is a Conflict. A rejected submission keeps
its package for 重新检测. Who sees a submission: its submitter, and 档案管理员 cleared for its 密级.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
import tempfile
import uuid
import zipfile
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from lantai.catalog.models import Submission
from lantai.domain.roles import Permission, rank
from lantai.errors import BadInput, Conflict, LantaiError, NotFound, PackageError
from lantai.packages import sip, zipsafe
from lantai.services import jobs, visibility
from lantai.services.access import require
from lantai.services.browse import Page, iso, page_bounds
from lantai.services.catalogue import INGEST_RECORD_PATH
from lantai.services.ingest import (
    ACCEPTED,
    DUPLICATE,
    BatchContext,
    IngestReport,
    commit_item,
    ingest_batch,
    prepare_item,
)
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

UPLOADS_DIR = "uploads"


STALE_PROCESSING = dt.timedelta(minutes=10)


def uploads_dir(archive: Archive) -> Path:
    path = archive.settings.staging_dir / UPLOADS_DIR
    path.mkdir(parents=True, exist_ok=True)
    return path


def _valid_key(key: str | None) -> str:
    if key is None or key == "":
        return f"auto-{uuid.uuid4().hex}"
    if len(key) > 128 or not all(33 <= ord(c) < 127 for c in key):
        raise BadInput("Idempotency-Key 须为 1–128 个可见 ASCII 字符", "Idempotency-Key must be 1-128 visible ASCII characters")
    return key


def submit(archive: Archive, principal: Principal, upload: Path, *, kind: str, key: str | None,
           request_digest: str, filename: str = "") -> dict[str, Any]:
    """Ingest an uploaded SIP zip (``kind="item"``) or batch zip; a repeated key replays the answer.

    The same key with a different body is a Conflict; a key still being processed is a Conflict
    the client may retry. The upload is kept while the submission is rejected, for 重新检测.
    """
    require(principal, Permission.SUBMIT)
    key = _valid_key(key)
    claimed = _claim(archive, principal, key, kind, request_digest, _plain_name(filename))
    if claimed.get("replayed"):
        upload.unlink(missing_ok=True)
        return claimed
    submission_id = claimed["id"]
    kept = uploads_dir(archive) / f"{submission_id}.zip"
    shutil.move(str(upload), kept)
    try:
        return _start(archive, principal.username, submission_id, kind)
    except BaseException:
        with archive.session() as session:  # let a retry with the same key start again
            row = session.get(Submission, submission_id)
            if row is not None and row.status in ("processing", "error"):
                session.delete(row)
        kept.unlink(missing_ok=True)
        raise


def _start(archive: Archive, username: str, submission_id: int, kind: str) -> dict[str, Any]:
    """Run the submission as a job: queued for ``lantai worker`` when a broker is configured (the
    answer is then ``processing`` with the job id, at once), else at once in this request as before."""

    job = jobs.submit(archive, f"submission.{kind}", {"submission_id": submission_id, "username": username},
                      actor=username, run="inline")
    with archive.session() as session:
        row = session.get(Submission, submission_id)
        stored = json.loads(row.result or "{}")
        row.result = json.dumps({**stored, "job_id": job["id"]}, ensure_ascii=False)
        session.flush()
        return {**submission_public(row), "replayed": False}


def process_submission(archive: Archive, username: str, submission_id: int, kind: str,
                       progress: Any = None) -> dict[str, Any]:
    """The job behind a submission (``submission.item`` / ``submission.batch``); idempotent.

    A job run again after its worker died finds the package where it was kept and ingests it
    again: what the first run archived is then reported as duplicate, and the row gets the answer.
    A final failure marks the row ``error``, which a retry with the same Idempotency-Key restarts.
    """
    package = uploads_dir(archive) / f"{submission_id}.zip"
    with archive.sessions() as session:
        row = session.get(Submission, submission_id)
        if row is None:
            raise NotFound(f"提交 {submission_id} 不存在", f"no submission {submission_id}")
        if row.status not in ("processing", "error"):
            return submission_public(row)  # already answered (a duplicate delivery)
    if not package.exists():
        raise NotFound(f"提交 {submission_id} 的包已不在", f"the package of submission {submission_id} is gone")
    try:
        return _process(archive, username, submission_id, package, kind, progress)
    except BaseException as exc:
        from lantai.errors import StorageError

        if isinstance(exc, LantaiError) and not isinstance(exc, StorageError):
            with archive.session() as session:
                row = session.get(Submission, submission_id)
                stored = json.loads(row.result or "{}")
                row.status = "error"
                row.result = json.dumps({**stored, "error": exc.to_dict() if hasattr(exc, "to_dict") else str(exc)},
                                        ensure_ascii=False, default=str)
        raise


def _plain_name(filename: str | None) -> str:
    """The uploaded file's own name (its last path part, at most 200 characters), for messages."""
    name = (filename or "").replace("\\", "/").rsplit("/", 1)[-1].strip()
    return "".join(c for c in name if c.isprintable())[:200]


def _claim(archive: Archive, principal: Principal, key: str, kind: str, request_digest: str,
           filename: str = "") -> dict[str, Any]:
    meta = {"kind": kind, "request_digest": request_digest, "filename": filename}
    try:
        with archive.session() as session:
            row = Submission(idempotency_key=key, status="processing", submitted_by=principal.username,
                             result=json.dumps(meta))
            session.add(row)
            session.flush()
            return {"id": row.id}
    except IntegrityError:
        pass
    with archive.session() as session:
        row = session.scalar(select(Submission).where(Submission.idempotency_key == key))
        if row is None:
            raise BadInput("提交冲突，请重试", "submission race; retry")
        stored = json.loads(row.result or "{}")
        if row.submitted_by != principal.username or stored.get("request_digest") != request_digest:
            raise Conflict("该 Idempotency-Key 已用于另一份提交内容", "Idempotency-Key reused with a different body",
                           idempotency_key=key)
        if row.status == "error":
            row.status, row.created_at = "processing", dt.datetime.now(dt.UTC)
            return {"id": row.id}
        if row.status == "processing":
            created = row.created_at if row.created_at.tzinfo else row.created_at.replace(tzinfo=dt.UTC)
            if _job_pending(archive, stored.get("job_id")) or dt.datetime.now(dt.UTC) - created < STALE_PROCESSING:
                    raise Conflict("该提交正在处理中，请稍后重试", "this submission is still being processed",
                               submission_id=row.id)
            row.created_at = dt.datetime.now(dt.UTC)
            return {"id": row.id}
        return {**submission_public(row), "replayed": True}


def _job_pending(archive: Archive, job_id: str | None) -> bool:
    """Whether the submission's job is still queued or running (then a retry must wait, however long)."""
    if not job_id:
        return False

    try:
        return jobs.get_job(archive, job_id)["state"] in ("queued", "running")
    except NotFound:
        return False


def _process(archive: Archive, username: str, submission_id: int, package: Path, kind: str,
             progress: Any = None) -> dict[str, Any]:
    if kind == "item":
        security = _declared_classification(archive, package)
        status, record_id, result = _ingest_item(archive, username, package)
    else:
        status, record_id, result, security = _ingest_batch_zip(archive, username, package, progress)
    answered = status in ("accepted", "duplicate", "complete")
    with archive.session() as session:
        row = session.get(Submission, submission_id)
        stored = json.loads(row.result or "{}")
        row.status, row.record_id = status, record_id or ""
        row.result = json.dumps({**stored, "security": security, "report": result,
                                 "package_kept": not answered}, ensure_ascii=False)
        archive.audit.append(username, "submission.processed", str(submission_id),
                             {"status": status, "record_id": record_id, "kind": kind}, session=session)
        session.flush()
        answer = {**submission_public(row), "replayed": False}
    # Only once the answer is committed: a run killed before that runs again, and needs the package.
    if answered:
        package.unlink(missing_ok=True)
    return answer


def _ingest_item(archive: Archive, username: str, package: Path) -> tuple[str, str | None, dict[str, Any]]:
    context = BatchContext(submitted_by=username, batch_source="api")
    outcome = commit_item(archive, prepare_item(archive.settings, package, context), context)
    if outcome.status == DUPLICATE and _archived_from(archive, outcome.record_id or "", package, username):
        # An earlier run of this very submission archived the item, and its worker died before the
        # submission was answered: the answer is that run's, not a duplicate of someone else's.
        outcome.status, outcome.message = ACCEPTED, f"电子文件号 {outcome.record_id} 已由本提交接收归档"
    return outcome.status, outcome.record_id, outcome.to_dict()


def _archived_from(archive: Archive, record_id: str, package: Path, username: str) -> bool:
    """Whether the item's first version was ingested from this submission's package (kept as
    ``<submission id>.zip``, the source its ingest record names) by this submitter over the API."""
    try:
        record = json.loads(archive.store.read_bytes(record_id, INGEST_RECORD_PATH, version=1))
    except (LantaiError, OSError, ValueError):
        return False
    return (record.get("source"), record.get("batch_source"), record.get("submitted_by")) == (package.name, "api",
                                                                                              username)


def _ingest_batch_zip(archive: Archive, username: str, package: Path,
                      progress: Any = None) -> tuple[str, str | None, dict[str, Any], str]:
    """Ingest a batch zip; also returns the batch's 密级 (that of its most secret item)."""
    workdir = Path(tempfile.mkdtemp(prefix="batch-", dir=archive.settings.staging_dir))
    try:
        batch_dir = _extract_batch(archive, package, workdir)
        security = visibility.batch_classification(batch_dir, archive.settings.max_metadata_bytes)
        report = IngestReport()
        on_total = (lambda n: progress.progress(0, n, force=True)) if progress is not None else None
        advance = (lambda _outcome: progress.advance()) if progress is not None else None
        ingest_batch(archive, batch_dir, report, actor=username, progress=advance, on_total=on_total)
        data = report.to_dict()
        statuses = [b.get("status") for b in report.batches]
        status = "rejected" if "rejected" in statuses else ("complete" if report.ok else "partial")
        return status, (report.batches[0].get("batch_id") if report.batches else None), data, security
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _extract_batch(archive: Archive, package: Path, workdir: Path) -> Path:
    """Unpack a batch zip with the archive's zip limits; the batch is the folder holding 归档登记表.csv."""
    settings = archive.settings
    if not zipfile.is_zipfile(package):
        raise PackageError("批次须为 zip 文件", "a batch must be a zip file")
    limits = zipsafe.ZipLimits(max_member_bytes=settings.max_item_bytes, max_members=settings.max_zip_entries,
                               max_ratio=settings.max_zip_ratio, max_total_bytes=settings.max_item_bytes)
    try:
        zipsafe.extract(package, workdir, limits, check_name=lambda name: sip.check_relative_path(package.name, name))
    except zipsafe.ZipLimitError as exc:
        raise PackageError(f"批次 zip 过大、条目过多或疑似 zip 炸弹: {exc}",
                           f"batch zip too large, has too many entries or looks like a zip bomb: {exc}") from exc
    candidates = [workdir] + [p for p in workdir.iterdir() if p.is_dir()]
    for candidate in candidates:
        if sip.is_batch(candidate):
            return candidate
    raise PackageError("批次 zip 中没有 归档登记表.csv", "the batch zip has no 归档登记表.csv")


def _declared_classification(archive: Archive, package: Path) -> str:
    """The 密级 the package declares in 内容描述/密级 (for hiding the submission from under-cleared staff)."""
    return visibility.package_classification(package, archive.settings.max_metadata_bytes)


def submission_public(row: Any) -> dict[str, Any]:
    stored = json.loads(row.result or "{}")
    filename = stored.get("filename") or ""
    report = _relabelled(stored.get("report"), f"{row.id}.zip", filename) if filename else stored.get("report")
    return {"id": row.id, "idempotency_key": row.idempotency_key, "status": row.status, "record_id": row.record_id,
            "kind": stored.get("kind", "item"), "submitted_by": row.submitted_by, "created_at": iso(row.created_at),
            "security": stored.get("security"), "report": report, "filename": filename,
            "batch": batch_summary(report) if stored.get("kind") == "batch" else None,
            "recheck_available": bool(stored.get("package_kept")), "job_id": stored.get("job_id")}


def _relabelled(value: Any, internal: str, filename: str) -> Any:
    """The report with the kept package's internal name (``12.zip``) replaced by the name it was uploaded as."""
    if isinstance(value, str):
        return value.replace(internal, filename)
    if isinstance(value, list):
        return [_relabelled(v, internal, filename) for v in value]
    if isinstance(value, dict):
        return {k: _relabelled(v, internal, filename) for k, v in value.items()}
    return value


def batch_summary(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """A batch submission as people name it: 单位 · 年度 · 件数 · 状态, with the register's figures."""
    batches = (report or {}).get("batches") or []
    if not batches:
        return None
    first = batches[0]
    years = first.get("years") or []
    counts = (report or {}).get("counts") or {}
    return {"unit_name": first.get("unit_name") or "", "year": "–".join(dict.fromkeys([years[0], years[-1]])) if years else "",
            "items": first.get("actual_items", 0), "status": first.get("status", ""), "batch_id": first.get("batch_id", ""),
            "declared_items": first.get("declared_items"), "declared_bytes": first.get("declared_bytes"),
            "actual_items": first.get("actual_items"), "actual_bytes": first.get("actual_bytes"),
            "message": first.get("message", ""), "accepted": counts.get("accepted", 0) + counts.get("duplicate", 0)}


def _may_see_submission(principal: Principal, row: Any) -> bool:
    if row.submitted_by == principal.username:
        return principal.can(Permission.SUBMISSION_OWN) or principal.can(Permission.SUBMISSION_ALL)
    if not principal.can(Permission.SUBMISSION_ALL):
        return False
    security = json.loads(row.result or "{}").get("security") or "公开"
    return rank(security) <= rank(principal.clearance)


def list_submissions(archive: Archive, principal: Principal, *, status: str | None = None, page: int = 1,
                     page_size: int = 50) -> Page:
    """The 收集 inbox: own submissions, or everyone's (within clearance) for 档案管理员."""
    if not (principal.can(Permission.SUBMISSION_OWN) or principal.can(Permission.SUBMISSION_ALL)):
        require(principal, Permission.SUBMISSION_OWN)
    page, page_size = page_bounds(page, page_size)
    query = select(Submission).order_by(Submission.id.desc())
    if not principal.can(Permission.SUBMISSION_ALL):
        query = query.where(Submission.submitted_by == principal.username)
    if status:
        query = query.where(Submission.status == status)
    with archive.sessions() as session:
        # Clearance of a submission is in its JSON result, so filter in Python over a bounded window.
        rows = [r for r in session.scalars(query.limit(5000)) if _may_see_submission(principal, r)]
    chunk = rows[(page - 1) * page_size: page * page_size]
    return Page([submission_public(r) for r in chunk], len(rows), page, page_size)


def get_submission(archive: Archive, principal: Principal, submission_id: int) -> dict[str, Any]:
    with archive.sessions() as session:
        row = session.get(Submission, submission_id)
        if row is None or not _may_see_submission(principal, row):
            raise NotFound(f"提交 {submission_id} 不存在", f"no submission {submission_id}")
        return submission_public(row)


def recheck_submission(archive: Archive, principal: Principal, submission_id: int) -> dict[str, Any]:
    """重新检测: run a rejected submission's kept package through ingest again."""
    require(principal, Permission.CHECK_RUN)
    current = get_submission(archive, principal, submission_id)
    package = uploads_dir(archive) / f"{submission_id}.zip"
    if current["status"] in ("accepted", "duplicate", "complete", "processing") or not package.exists():
        raise Conflict("该提交无需或无法重新检测（仅拒收且保留原包的提交可重新检测）",
                       "only rejected submissions whose package was kept can be re-checked")
    with archive.session() as session:
        session.get(Submission, submission_id).status = "processing"
    archive.audit.append(principal.username, "submission.recheck", str(submission_id), {})
    return _start(archive, principal.username, submission_id, current["kind"])


RESUBMITTABLE = ("rejected", "partial", "conflict", "error")


def resubmit_submission(archive: Archive, principal: Principal, submission_id: int, upload: Path, request_digest: str,
                        filename: str = "") -> dict[str, Any]:
    """重新提交: a corrected package in place of a refused one, checked and ingested under the same
    submission (what an earlier run archived is then reported as duplicate)."""
    require(principal, Permission.SUBMIT)
    try:
        current = get_submission(archive, principal, submission_id)
        if current["status"] not in RESUBMITTABLE:
            raise Conflict("只有拒收、部分接收或冲突的提交可以重新提交更正后的包",
                           "only a rejected, partial or conflicting submission takes a corrected package",
                           submission_id=submission_id, status=current["status"])
    except BaseException:
        upload.unlink(missing_ok=True)
        raise
    shutil.move(str(upload), uploads_dir(archive) / f"{submission_id}.zip")
    with archive.session() as session:
        row = session.get(Submission, submission_id)
        stored = json.loads(row.result or "{}")
        row.status = "processing"
        row.result = json.dumps({**stored, "request_digest": request_digest, "package_kept": True,
                                 "filename": _plain_name(filename) or stored.get("filename", "")}, ensure_ascii=False)
    archive.audit.append(principal.username, "submission.resubmitted", str(submission_id),
                         {"kind": current["kind"], "file": _plain_name(filename)})
    return _start(archive, principal.username, submission_id, current["kind"])


def save_upload(archive: Archive, stream: IO[bytes]) -> tuple[Path, str]:
    """Copy an uploaded package into the uploads area, hashing it; bounded by max_item_bytes."""
    target = uploads_dir(archive) / f"incoming-{uuid.uuid4().hex}.zip"
    hasher, size, limit = hashlib.sha256(), 0, archive.settings.max_item_bytes
    with open(target, "wb") as out:
        while chunk := stream.read(1024 * 1024):
            size += len(chunk)
            if size > limit:
                out.close()
                target.unlink(missing_ok=True)
                raise PackageError("提交的包超过大小上限", "package exceeds the size limit")
            hasher.update(chunk)
            out.write(chunk)
    if size == 0:
        target.unlink(missing_ok=True)
        raise PackageError("提交的包为空", "empty package")
    return target, hasher.hexdigest()


def package_from_parts(archive: Archive, metadata: IO[bytes], process: IO[bytes] | None,
                       files: list[tuple[str, IO[bytes]]]) -> tuple[Path, str]:
    """Build a SIP zip from multipart parts (元数据.xml, optional 过程信息.xml, content files)."""
    target = uploads_dir(archive) / f"incoming-{uuid.uuid4().hex}.zip"
    hasher = hashlib.sha256()
    names: set[str] = set()
    parts = [(sip.METADATA_NAME, metadata)] + ([(sip.PROCESS_NAME, process)] if process is not None else []) + files
    try:
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for name, stream in parts:
                name = sip.check_relative_path("multipart", (name or "").strip())
                if name in names:
                    raise PackageError(f"重复的文件名 {name}", f"duplicate file name {name}")
                names.add(name)
                hasher.update(name.encode("utf-8") + b"\0")
                with zf.open(name, "w", force_zip64=True) as out:
                    while chunk := stream.read(1024 * 1024):
                        hasher.update(chunk)
                        out.write(chunk)
    except BaseException:
        target.unlink(missing_ok=True)
        raise
    return target, hasher.hexdigest()
