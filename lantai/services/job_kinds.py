"""The job kinds Lantai ships: ingest, submissions, checks of archived items, reindex, exports.

Each is idempotent, so a job that a dead worker left half-done can simply run again: ingest
reports what is already archived as ``duplicate`` (and completes its catalogue rows), a check run
is a new run, a reindex rebuilds into shadow tables, an export rewrites its file. Other areas
register their long work the same way (see :mod:`lantai.services.jobs`).
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from lantai.services.arrange import arrange
from lantai.services.exports import export_catalogue
from lantai.services.ingest import ingest_paths
from lantai.services.item_checks import check_archived_items
from lantai.services.jobs import BULK, INTERACTIVE, JobContext, job_kind
from lantai.services.search_index import backend, reindex
from lantai.services.submissions import process_submission
from lantai.services.users import principal_for


@job_kind("ingest.paths", label="接收归档", queue=BULK)
def ingest_paths_job(ctx: JobContext, paths: list[str], actor: str = "cli") -> dict[str, Any]:
    """``lantai ingest --async``: item directories, zips or batch directories, as ``lantai ingest`` takes them."""

    total = 0

    def on_total(n: int) -> None:
        nonlocal total
        total += n
        ctx.progress(ctx.done, total, force=True)

    report = ingest_paths(ctx.archive, [Path(p) for p in paths], actor=actor, on_total=on_total,
                          progress=lambda _outcome: ctx.advance())
    result = report.to_dict()
    result["counts"] = report.counts()
    return result


@job_kind("submission.item", label="接收提交（单件）", queue=INTERACTIVE)
def submission_item_job(ctx: JobContext, submission_id: int, username: str) -> dict[str, Any]:

    return process_submission(ctx.archive, username, submission_id, "item")


@job_kind("submission.batch", label="接收提交（批次）", queue=BULK)
def submission_batch_job(ctx: JobContext, submission_id: int, username: str) -> dict[str, Any]:

    return process_submission(ctx.archive, username, submission_id, "batch", progress=ctx)


@job_kind("checks.archived", label="已归档条目检测", queue=BULK)
def checks_archived_job(ctx: JobContext, record_ids: list[str], scope: str = "") -> dict[str, Any]:

    ctx.progress(0, len(record_ids), force=True)
    # inline (no worker processes): a job may run on a server thread, where forking is not safe
    run = check_archived_items(ctx.archive, record_ids, operator=ctx.actor, workers=0,
                               progress=lambda done, total, _item: ctx.progress(done, total))
    return {"scope": scope, "run": run.summary()}


@job_kind("search.reindex", label="重建检索索引", queue=BULK)
def reindex_job(ctx: JobContext) -> dict[str, Any]:

    count = reindex(ctx.archive, lambda n: ctx.progress(ctx.done + n), workers=1)
    ctx.archive.audit.append(ctx.actor, "search.reindexed", backend(ctx.archive), {"entries": count, "job": ctx.job_id})
    return {"entries": count, "backend": backend(ctx.archive)}


@job_kind("export.catalogue", label="导出目录（CSV）", queue=BULK)
def export_catalogue_job(ctx: JobContext, filters: dict[str, Any], username: str) -> dict[str, Any]:
    """The catalogue CSV of what ``username`` may see, written under ``<home>/exports/`` (rewritten on a retry)."""

    principal = principal_for(ctx.archive, username)
    directory = ctx.archive.home / "exports"
    directory.mkdir(exist_ok=True)
    target = directory / f"目录-{ctx.job_id}.csv"
    partial = target.with_suffix(".part")
    rows = 0
    with open(partial, "w", encoding="utf-8", newline="") as out:
        for chunk in export_catalogue(ctx.archive, principal, filters):
            out.write(chunk)
            rows += 1
            if rows % 1000 == 0:
                ctx.progress(rows)
    shutil.move(partial, target)  # a reader never sees half a file
    return {"file": str(target), "rows": max(0, rows - 1)}


@job_kind("arrange.run", label="整理（分类、件号、档号）", queue=BULK)
def arrange_job(ctx: JobContext, fonds: str, year: int, category: str = "WS") -> dict[str, Any]:
    """``lantai arrange`` as a job: all or nothing, and a re-run changes nothing that is already right."""

    plan = arrange(ctx.archive, fonds, year, category=category, actor=ctx.actor,
                   progress=lambda _record_id: ctx.advance())
    return {"fonds": fonds, "year": year, "category": category, "changes": len(plan.changes)}
