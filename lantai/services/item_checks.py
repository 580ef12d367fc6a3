"""DA/T 70 checks against the archive: the bc profile over archived items, and recording any run.

``lantai.checks`` holds the check logic and never touches the catalogue; this service supplies
what the checks need to know of the archive (:class:`CatalogueFacts`), verifies each stored
object's fixity first (bc 1-5 reads it), runs the profile, keeps the full JSON report under
``<home>/reports/checks/<run id>.json`` and records the run: one ``check_reports`` row per item
(with the report's location and SM3) and one ``check.run`` audit entry. The item page's 检测
button, ``POST /api/v1/items/{id}/checks``, the web batch check and ``lantai check --archived``
all come here.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import case, func, select

from lantai.catalog.models import Batch, CheckRecord, Item
from lantai.checks.archive_facts import BatchTotals, ChainStatus, ObjectFixity
from lantai.checks.model import ItemReport
from lantai.checks.render import ReportHeader
from lantai.checks.report import CheckReport
from lantai.crypto.digests import sm3_hex
from lantai.errors import BadInput, LantaiError, NotFound
from lantai.services.archive import Archive
from lantai.services.users import Principal

BC_PROFILE = "default"
REPORTS_DIR = Path("reports") / "checks"
Progress = Callable[[int, int, ItemReport], None]  # (done, total, the item just checked)


class CatalogueFacts:
    """:class:`lantai.checks.archive_facts.ArchiveFacts` over one archive's catalogue and audit chain.

    The audit chain is verified at most once per instance: a run consults it once for all items.
    """

    def __init__(self, archive: Archive) -> None:
        self.archive = archive
        self._chain: ChainStatus | None = None

    def reference(self) -> Any:
        from lantai.services.arrange_reference import current_reference

        try:
            return current_reference(self.archive)[0]
        except (LantaiError, ValueError):
            return None

    def audit_chain(self) -> ChainStatus | None:
        if self._chain is None:
            report = self.archive.audit.verify()
            self._chain = ChainStatus(report.ok, report.entries, report.first_bad_seq, list(report.problems))
        return self._chain

    def ingested(self) -> set[str]:
        return {r.target for r in self.archive.audit.iter_journal()
                if not isinstance(r, Exception) and r.action == "ingest.accepted"}

    def records_with(self, key: str, values: list[str]) -> list[tuple[str, str]]:
        column = getattr(Item, key)
        rows: list[tuple[str, str]] = []
        with self.archive.sessions() as session:
            for start in range(0, len(values), 500):
                chunk = values[start:start + 500]
                rows += [(r, v) for r, v in session.execute(select(Item.record_id, column).where(column.in_(chunk)))]
        return rows

    def batch_totals(self, batch_id: str) -> BatchTotals | None:
        with self.archive.sessions() as session:
            batch = session.get(Batch, batch_id)
            if batch is None:
                return None
            count, total = session.execute(select(func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0))
                                           .where(Item.batch_id == batch_id)).one()
        return BatchTotals(batch.declared_items, batch.declared_bytes, int(count), int(total))

    def batches_of(self, record_ids: list[str]) -> dict[str, str]:
        found: dict[str, str] = {}
        with self.archive.sessions() as session:
            for start in range(0, len(record_ids), 500):
                chunk = record_ids[start:start + 500]
                found.update({r: b for r, b in session.execute(
                    select(Item.record_id, Item.batch_id).where(Item.record_id.in_(chunk))) if b})
        return found


@dataclass
class CheckRun:
    """A recorded run: its id, the report, and where the report's bytes are kept."""

    run_id: str
    report: CheckReport
    location: str

    def summary(self) -> dict[str, Any]:
        """What the item page, the API and the batch page show of a run."""
        data = self.report.summary()
        return {"run_id": self.run_id, "stage": self.report.stage, "profile": self.report.profile,
                "ok": self.report.ok, "items": data["items"], "passed": data["passed"], "failed": data["failed"],
                "report": self.location, "generated_at": self.report.meta.get("generated_at", ""),
                "operator": self.report.meta.get("operator", ""),
                "failures": [{"item": item.id, "code": r.code, "rule": r.rule, "status": r.status, "file": r.file,
                              "message": r.message} for item in self.report.items for r in item.failures()][:200]}


def object_fixity(archive: Archive, record_ids: list[str]) -> dict[str, ObjectFixity]:
    """Every file of every version of each object, re-digested (SM3): what bc 1-5 judges."""
    from lantai.services.fixity import verify_fixity

    report = verify_fixity(archive, record_ids)
    problems: dict[str, list[dict[str, Any]]] = {rid: [] for rid in record_ids}
    for problem in report.problems:
        problems.setdefault(problem.get("object", ""), []).append(
            {k: v for k, v in problem.items() if k != "path"})
    result = {}
    for rid in record_ids:
        try:
            files = sum(1 for _ in archive.store.iter_content(rid))
        except LantaiError:
            files = 0
        result[rid] = ObjectFixity(files, problems.get(rid, []))
    return result


def archived_ids(archive: Archive, *, batch_id: str | None = None, record_ids: list[str] | None = None) -> list[str]:
    """The record ids a run covers: the given ones, one batch's, or every catalogued item."""
    if record_ids:
        return list(dict.fromkeys(record_ids))
    with archive.sessions() as session:
        query = select(Item.record_id).order_by(Item.record_id)
        if batch_id:
            if session.get(Batch, batch_id) is None:
                raise NotFound(f"没有批次 {batch_id}", f"no batch {batch_id}")
            query = query.where(Item.batch_id == batch_id)
        return list(session.scalars(query))


def check_archived_items(archive: Archive, record_ids: list[str], *, operator: str, stage: str = "bc",
                         profile: str = BC_PROFILE, workers: int | None = None,
                         progress: Progress | None = None) -> CheckRun:
    """Run the profile over stored items, keep the report, record the run. Nothing raises for findings."""
    from lantai.checks.runner import check_archived

    if not record_ids:
        raise BadInput("没有要检测的已归档条目", "no archived items to check")
    fixity = object_fixity(archive, record_ids)
    done = 0

    def advance(item: ItemReport) -> None:
        nonlocal done
        done += 1
        if progress is not None:
            progress(done, len(record_ids), item)

    report = check_archived(record_ids, fixity, CatalogueFacts(archive), settings=archive.settings, stage=stage,
                            profile=profile, workers=workers if workers is not None else archive.settings.workers,
                            operator=operator, progress=advance)
    run_id = uuid.uuid4().hex
    location = keep_report(archive, run_id, report)
    record_run(archive, report, operator=operator, location=location, run_id=run_id)
    return CheckRun(run_id, report, location)


def check_item(archive: Archive, operator: str, record_id: str) -> dict[str, Any]:
    """The item page's 检测 button: the bc profile over one archived item, recorded as a new run."""
    return check_archived_items(archive, [record_id], operator=operator, workers=0).summary()


def keep_report(archive: Archive, run_id: str, report: CheckReport) -> str:
    """Write the JSON report once, whole (temporary file, fsync, rename); returns its path."""
    directory = archive.home / REPORTS_DIR
    directory.mkdir(parents=True, exist_ok=True)
    target = directory / f"{run_id}.json"
    partial = target.with_suffix(".json.part")
    with open(partial, "wb") as fh:
        fh.write(report.to_json())
        fh.flush()
        if archive.settings.fsync:
            os.fsync(fh.fileno())
    os.replace(partial, target)
    return str(target)


def load_report(archive: Archive, run_id: str) -> CheckReport:
    """A kept report by run id, checked against the SM3 its catalogue rows recorded."""
    if not run_id.isalnum() or len(run_id) > 40:
        raise BadInput(f"检测编号无效: {run_id}", f"invalid run id: {run_id}")
    with archive.sessions() as session:
        row = session.scalar(select(CheckRecord).where(CheckRecord.run_id == run_id).limit(1))
    if row is None or not row.report_location:
        raise NotFound(f"没有检测记录 {run_id}", f"no check run {run_id}")
    try:
        data = Path(row.report_location).read_bytes()
    except OSError as exc:
        raise NotFound(f"检测报告文件缺失: {row.report_location}", f"report file missing: {exc}") from exc
    if row.report_sm3 and sm3_hex(data) != row.report_sm3:
        raise LantaiError(f"检测报告 {run_id} 与记录的 SM3 不符（报告被改动）",
                          f"check report {run_id} does not match its recorded SM3")
    return CheckReport.from_dict(json.loads(data))


def record_run(archive: Archive, report: CheckReport, *, operator: str, location: str = "",
               locations: dict[str, str] | None = None, run_id: str | None = None) -> str:
    """Store one ``check_reports`` row per item and append ``check.run`` to the audit chain.

    The audit entry carries the SM3 of the JSON report and the per-item verdicts, so a report
    kept elsewhere can later be proved to be the one this run produced. Returns the run id.
    """
    run_id = run_id or uuid.uuid4().hex
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


def _iso(value: Any) -> str:
    """Catalogue times as ISO text (SQLite returns naive UTC; the page shows 北京时间)."""
    return value.isoformat() if isinstance(value, dt.datetime) else str(value or "")


def recent_runs(archive: Archive, *, record_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """Recorded runs, newest first: one row per run (or per run of one item)."""
    with archive.sessions() as session:
        query = select(CheckRecord.run_id, CheckRecord.stage, CheckRecord.profile, CheckRecord.operator,
                       func.min(CheckRecord.created_at), func.count(CheckRecord.id),
                       func.sum(case((CheckRecord.status == "failed", 1), else_=0)))
        if record_id:
            query = query.where(CheckRecord.item_id == record_id)
        query = (query.group_by(CheckRecord.run_id, CheckRecord.stage, CheckRecord.profile, CheckRecord.operator)
                 .order_by(func.min(CheckRecord.created_at).desc()).limit(limit))
        rows = session.execute(query).all()
    return [{"run_id": r[0], "stage": r[1], "profile": r[2], "operator": r[3], "time": _iso(r[4]), "items": int(r[5]),
             "failed": int(r[6] or 0)} for r in rows]


# --- the web's batch check: a background run with progress ---------------------------------------
@dataclass
class CheckJob:
    """One batch check started from the web UI; polled for progress until ``run`` is set."""

    id: str
    operator: str
    scope: str
    total: int
    done: int = 0
    run: CheckRun | None = None
    error: str = ""

    @property
    def finished(self) -> bool:
        return self.run is not None or bool(self.error)

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "scope": self.scope, "total": self.total, "done": self.done,
                "finished": self.finished, "error": self.error,
                "run": self.run.summary() if self.run is not None else None}


_JOBS: dict[str, CheckJob] = {}
_JOBS_LOCK = threading.Lock()
KEEP_JOBS = 100


def batches(archive: Archive, principal: Principal) -> list[dict[str, Any]]:
    """Batches with the number of their items the caller may see, newest first (the batch form)."""
    from lantai.services.access import visible

    with archive.sessions() as session:
        counts = dict(session.execute(select(Item.batch_id, func.count(Item.id)).where(visible(principal))
                                      .group_by(Item.batch_id)).all())
        rows = session.scalars(select(Batch).order_by(Batch.created_at.desc()).limit(500)).all()
        return [{"id": b.id, "unit_name": b.unit_name, "created_at": b.created_at, "items": counts.get(b.id, 0)}
                for b in rows if counts.get(b.id)]


def visible_ids(archive: Archive, principal: Principal, batch_id: str | None) -> list[str]:
    """The archived items of one batch (or all) that the caller may see: nobody checks what they cannot read."""
    from lantai.services.access import visible

    with archive.sessions() as session:
        query = select(Item.record_id).where(visible(principal)).order_by(Item.record_id)
        if batch_id:
            query = query.where(Item.batch_id == batch_id)
        return list(session.scalars(query))


def start_check_job(archive: Archive, principal: Principal, batch_id: str | None) -> CheckJob:
    """Check one batch (or every visible item) in a background thread; returns at once."""
    from lantai.domain.roles import Permission
    from lantai.services.access import require

    require(principal, Permission.CHECK_RUN)
    ids = visible_ids(archive, principal, batch_id or None)
    if not ids:
        raise NotFound("没有可检测的已归档条目", "no archived items to check")
    job = CheckJob(uuid.uuid4().hex, principal.username, f"批次 {batch_id}" if batch_id else "全部已归档条目", len(ids))
    with _JOBS_LOCK:
        _JOBS[job.id] = job
        for old in list(_JOBS)[:-KEEP_JOBS]:
            _JOBS.pop(old, None)
    threading.Thread(target=_run_job, args=(archive, job, ids), name=f"check-{job.id[:8]}", daemon=True).start()
    return job


def _run_job(archive: Archive, job: CheckJob, ids: list[str]) -> None:
    def advance(done: int, _total: int, _item: ItemReport) -> None:
        job.done = done

    try:
        # inline (no worker processes): forking from a server thread is not safe
        job.run = check_archived_items(archive, ids, operator=job.operator, workers=0, progress=advance)
    except Exception as exc:  # the page must say the run failed, never spin forever
        job.error = exc.message_zh if isinstance(exc, LantaiError) else f"{type(exc).__name__}: {exc}"


def check_job(principal: Principal, job_id: str) -> CheckJob:
    """A job's progress, for the user who started it only."""
    job = _JOBS.get(job_id)
    if job is None or job.operator != principal.username:
        raise NotFound(f"没有检测任务 {job_id}", f"no check job {job_id}")
    return job


# --- the 四性检测报告 for people: a recorded run, an item's or a batch's ingest checks ----------
INGEST_REPORT_PATH = "lantai/check-report.json"
REPORT_TYPES = {"pdf": "application/pdf",
                "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def report_header(archive: Archive, report: CheckReport, scope: tuple[str, str] | None = None) -> ReportHeader:
    """Organisation, batch and 登记表 figures of the report's items, from the catalogue, and the
    verdicts people recorded on its manual targets (``scope``: run, item or batch and its id)."""
    from lantai.services.check_verdicts import verdicts

    ids = [item.id for item in report.items]
    with archive.sessions() as session:
        batch_ids = {b for b in session.scalars(select(Item.batch_id).where(Item.record_id.in_(ids[:1000]))) if b}
        units = sorted({u for u in session.scalars(select(Item.fonds_unit).where(Item.record_id.in_(ids[:1000]))) if u})
        batch = session.get(Batch, next(iter(batch_ids))) if len(batch_ids) == 1 else None
        register: dict[str, Any] = {}
        if batch is not None:
            register = {"declared_items": batch.declared_items, "declared_bytes": batch.declared_bytes,
                        "actual_items": batch.actual_items, "actual_bytes": batch.actual_bytes}
    label = batch.id if batch is not None else ("、".join(sorted(batch_ids)[:3]) + (" 等" if len(batch_ids) > 3 else ""))
    return ReportHeader(organisation=archive.settings.archive_name,
                        unit_name=(batch.unit_name if batch is not None and batch.unit_name else "、".join(units[:3])),
                        batch=label, register=register,
                        verdicts=verdicts(archive, *scope, report.stage) if scope else {})


def _require_visible(archive: Archive, principal: Principal, report: CheckReport) -> None:
    """A report names items and files: only someone who may see every one of them gets it."""
    from lantai.domain.roles import Permission
    from lantai.services.access import require, visible

    require(principal, Permission.CHECK_RUN)
    ids = {item.id for item in report.items}
    with archive.sessions() as session:
        seen: set[str] = set()
        listed = sorted(ids)
        for start in range(0, len(listed), 500):
            seen |= set(session.scalars(select(Item.record_id).where(
                Item.record_id.in_(listed[start:start + 500]), visible(principal))))
    if seen != ids:
        raise NotFound("没有可查看的检测报告", "no check report you may see")


def run_report(archive: Archive, principal: Principal, run_id: str) -> tuple[CheckReport, ReportHeader]:
    """A recorded run's report, for someone who may see all its items."""
    report = load_report(archive, run_id)
    _require_visible(archive, principal, report)
    return report, report_header(archive, report, ("run", run_id))


def ingest_report(archive: Archive, principal: Principal, *, record_id: str | None = None,
                  batch_id: str | None = None) -> tuple[CheckReport, ReportHeader]:
    """The gd report ingest kept in each item's OCFL object: of one item, or of a batch's items merged."""
    ids = [record_id] if record_id else visible_ids(archive, principal, batch_id)
    merged: CheckReport | None = None
    for rid in ids:
        try:
            stored = CheckReport.from_dict(json.loads(archive.store.read_bytes(rid, INGEST_REPORT_PATH)))
        except (LantaiError, OSError, ValueError):
            continue
        if merged is None:
            merged = stored
        else:
            merged.items += stored.items
    if merged is None or not ids:
        raise NotFound("没有接收检测报告", "no ingest check report")
    merged.meta = {**merged.meta, "generated_at": merged.meta.get("generated_at", "")}
    _require_visible(archive, principal, merged)
    scope = ("item", record_id) if record_id else ("batch", batch_id) if batch_id else None
    return merged, report_header(archive, merged, scope)


def report_bytes(report: CheckReport, header: ReportHeader, kind: str) -> bytes:
    from lantai.checks.render import render_pdf, render_xlsx

    if kind == "pdf":
        return render_pdf(report, header)
    if kind == "xlsx":
        return render_xlsx(report, header)
    raise BadInput(f"报告格式须为 pdf 或 xlsx: {kind}", f"report must be pdf or xlsx: {kind}")
