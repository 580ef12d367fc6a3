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
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import case, func, select

from lantai.catalog.models import Batch, CheckRecord, Item
from lantai.checks.archive_facts import BackupVerification, BatchTotals, ChainStatus, ObjectFixity
from lantai.checks.model import ItemReport
from lantai.checks.render import ReportHeader, render_pdf, render_xlsx
from lantai.checks.report import CheckReport
from lantai.checks.runner import check_archived
from lantai.crypto.digests import sm3_hex
from lantai.domain.roles import Permission
from lantai.errors import BadInput, LantaiError, NotFound
from lantai.services import jobs
from lantai.services.access import require, visible
from lantai.services.arrange_reference import current_reference
from lantai.services.changes import ItemChange, commit_changes, prepare_change
from lantai.services.fixity import verify_fixity
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

BC_PROFILE = "default"
BACKUP_VERIFIED = "backup.verified"  # the audit action of lantai backup verify (services.backup)
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


    def backup_verification(self) -> BackupVerification | None:
        """The newest ``backup.verified`` entry of the journal (it survives a rebuild, like the run)."""
        latest = None
        for record in self.archive.audit.iter_journal():
            if not isinstance(record, Exception) and record.action == BACKUP_VERIFIED:
                latest = record
        if latest is None:
            return None
        d = latest.details
        return BackupVerification(bool(d.get("ok")), latest.time, latest.target, int(d.get("sampled", 0)),
                                  int(d.get("failed", 0)))


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
    created = dt.datetime.now(dt.UTC)
    record_run(archive, report, operator=operator, location=location, run_id=run_id, created_at=created)
    store_results(archive, report, run_id=run_id, operator=operator, location=location, created_at=created)
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
               locations: dict[str, str] | None = None, run_id: str | None = None,
               created_at: dt.datetime | None = None) -> str:
    """Store one ``check_reports`` row per item and append ``check.run`` to the audit chain.

    The audit entry carries the SM3 of the JSON report and the per-item verdicts, so a report
    kept elsewhere can later be proved to be the one this run produced. Returns the run id.
    """
    run_id = run_id or uuid.uuid4().hex
    digest = sm3_hex(report.to_json())
    locations = locations or {}
    created_at = created_at or dt.datetime.now(dt.UTC)
    with archive.session() as session:
        for item in report.items:
            session.add(CheckRecord(**check_row(report, item, run_id=run_id, operator=operator, sm3=digest,
                                                location=locations.get(item.id, location), created_at=created_at)))
        summary = report.summary()
        archive.audit.append(operator, "check.run", run_id, {
            "stage": report.stage, "profile": report.profile, "report_sm3": digest, "location": location,
            "items": summary["items"], "passed": summary["passed"], "failed": summary["failed"],
            "verdicts": {item.id: ("failed" if item.failed else "passed") for item in report.items[:1000]},
        }, session=session)
    return run_id


def check_row(report: CheckReport, item: ItemReport, *, run_id: str, operator: str, sm3: str, location: str,
              created_at: dt.datetime) -> dict[str, Any]:
    """The ``check_reports`` row of one item of a run (also what the item's object keeps of it)."""
    failed = sorted({r.code for r in item.failures()})
    return {"run_id": run_id, "stage": report.stage, "profile": report.profile, "item_id": item.id[:200],
            "source": item.path, "status": "failed" if item.failed else "passed",
            "failed_codes": ",".join(failed)[:200], "results": len(item.results), "report_location": location,
            "report_sm3": sm3, "operator": operator, "created_at": created_at}


# --- check runs kept with the item ---------------------------------------------------------------
CHECKS_PREFIX = "lantai/checks/"  # lantai/checks/<run id>.json in the item's OCFL object
STORE_GROUP = 200  # items whose results one change unit (intent, transaction) writes


def store_results(archive: Archive, report: CheckReport, *, run_id: str, operator: str, location: str,
                  created_at: dt.datetime) -> int:
    """Keep each checked item's result in its own OCFL object, as a new version written through
    the one change path (``lantai/checks/<run id>.json``, audited ``check.recorded``).

    The store is the source of truth: ``lantai rebuild`` restores a run's catalogue rows from these
    files (:func:`check_rows_from_store`), so a lost catalogue keeps every result, failed codes and
    counts included (the ``check.run`` journal entry only has per-item verdicts). The item page
    lists them with the item's other reports. Returns how many items got their result stored.
    """
    digest = sm3_hex(report.to_json())
    items = [item for item in report.items if archive.store.exists(item.id)]
    stored = 0
    for start in range(0, len(items), STORE_GROUP):
        prepared = [prepare_change(archive.store, ItemChange(
            item.id, operator, "check.recorded", f"检测结果 {report.stage} {run_id}",
            {"run_id": run_id, "stage": report.stage, "status": "failed" if item.failed else "passed"},
            files={f"{CHECKS_PREFIX}{run_id}.json": _result_document(
                report, item, check_row(report, item, run_id=run_id, operator=operator, sm3=digest,
                                        location=location, created_at=created_at))}))
            for item in items[start:start + STORE_GROUP]]
        stored += sum(1 for r in commit_changes(archive, prepared, kind="check") if r.error is None)
    return stored


def _result_document(report: CheckReport, item: ItemReport, row: dict[str, Any]) -> bytes:
    """The stored result: the catalogue row, and the findings in the shape the item page lists."""
    findings = [{"code": r.code, "rule": r.rule or r.code, "element": r.file or r.property, "message": r.message,
                 "message_en": r.message_en, "severity": "error" if r.status == "fail" else "warning"}
                for r in item.failures()]
    document = {**row, "created_at": row["created_at"].isoformat(), "title": f"{report.stage} 检测 {row['run_id']}",
                "passed": not item.failed, "findings": findings}
    return json.dumps(document, ensure_ascii=False, sort_keys=True, indent=1).encode("utf-8")


def check_rows_from_store(archive: Archive, stored: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """``check_reports`` rows from results kept in objects: ``stored`` names (record id, logical path)."""
    rows = []
    for record_id, path in stored:
        try:
            data = json.loads(archive.store.read_bytes(record_id, path))
            row = {key: data[key] for key in ("run_id", "stage", "profile", "item_id", "source", "status",
                                              "failed_codes", "results", "report_location", "report_sm3", "operator")}
            row["created_at"] = dt.datetime.fromisoformat(data["created_at"])
        except (LantaiError, OSError, ValueError, KeyError, TypeError):
            continue  # unreadable: the journal's verdicts are the fallback
        rows.append(row)
    return rows


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


# --- the web's batch check: a background job with progress ----------------------------------------


def batches(archive: Archive, principal: Principal) -> list[dict[str, Any]]:
    """Batches with the number of their items the caller may see, newest first (the batch form)."""

    with archive.sessions() as session:
        counts = dict(session.execute(select(Item.batch_id, func.count(Item.id)).where(visible(principal))
                                      .group_by(Item.batch_id)).all())
        rows = session.scalars(select(Batch).order_by(Batch.created_at.desc()).limit(500)).all()
        return [{"id": b.id, "unit_name": b.unit_name, "created_at": b.created_at, "items": counts.get(b.id, 0)}
                for b in rows if counts.get(b.id)]


def visible_ids(archive: Archive, principal: Principal, batch_id: str | None) -> list[str]:
    """The archived items of one batch (or all) that the caller may see: nobody checks what they cannot read."""

    with archive.sessions() as session:
        query = select(Item.record_id).where(visible(principal)).order_by(Item.record_id)
        if batch_id:
            query = query.where(Item.batch_id == batch_id)
        return list(session.scalars(query))


def start_check_job(archive: Archive, principal: Principal, batch_id: str | None) -> dict[str, Any]:
    """Check one batch (or every visible item) as a ``checks.archived`` job; returns at once.

    On a worker when a broker is configured, else on a thread of this process. The job checks the
    items the caller could see when it asked (nobody checks what they cannot read).
    """

    require(principal, Permission.CHECK_RUN)
    ids = visible_ids(archive, principal, batch_id or None)
    if not ids:
        raise NotFound("没有可检测的已归档条目", "no archived items to check")
    scope = f"批次 {batch_id}" if batch_id else "全部已归档条目"
    job = jobs.submit(archive, "checks.archived", {"record_ids": ids, "scope": scope}, actor=principal.username,
                      run="thread")
    return _check_view(job, scope, len(ids))


def check_job(archive: Archive, principal: Principal, job_id: str) -> dict[str, Any]:
    """A check job's progress, for the user who started it only."""

    job = jobs.get_job(archive, job_id, owner=principal.username)
    if job["kind"] != "checks.archived":
        raise NotFound(f"没有检测任务 {job_id}", f"no check job {job_id}")
    return _check_view(job, (job["result"] or {}).get("scope", ""), job["total"] or 0)


def _check_view(job: dict[str, Any], scope: str, total: int) -> dict[str, Any]:
    """What the 检测 page's progress fragment shows of a job."""
    result = job["result"] or {}
    return {"id": job["id"], "scope": result.get("scope", scope), "total": job["total"] or total,
            "done": job["done"], "finished": job["state"] in ("done", "failed"),
            "error": job["error"] if job["state"] == "failed" else "", "run": result.get("run")}


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

    if kind == "pdf":
        return render_pdf(report, header)
    if kind == "xlsx":
        return render_xlsx(report, header)
    raise BadInput(f"报告格式须为 pdf 或 xlsx: {kind}", f"report must be pdf or xlsx: {kind}")
