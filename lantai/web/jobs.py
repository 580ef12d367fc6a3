"""作业: for those who start background work (收集, 检测) or watch it (job.read_all), the jobs they may see, with state and progress (refreshed by htmx)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import jobs
from lantai.web.app import render

router = APIRouter()


@router.get("/jobs")
def jobs_page(principal: Allowed(Permission.JOB_READ, Permission.SUBMIT, Permission.CHECK_RUN), request: Request, archive: ArchiveDep) -> Response:
    rows = jobs.jobs_for(archive, principal, limit=200)
    template = "_jobs_table.html" if request.headers.get("HX-Request") else "jobs.html"
    return render(request, template, {"jobs": rows, "running": any(j["state"] in ("queued", "running") for j in rows)})
