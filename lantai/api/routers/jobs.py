"""Background jobs: state and progress (one's own; everyone's with ``job.read_all``)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import jobs

router = APIRouter(tags=["作业"], responses=ERRORS)
Anyone = Allowed(Permission.ACCOUNT_SELF)
JobId = Annotated[str, Path(pattern=r"^[0-9a-f]{32}$")]


@router.get("/jobs", response_model=list[dict[str, Any]], summary="后台作业（状态与进度）")
def list_jobs(principal: Anyone, archive: ArchiveDep,
              state: Annotated[str | None, Query(pattern=r"^(queued|running|done|failed)$")] = None,
              limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> list[dict[str, Any]]:
    return jobs.jobs_for(archive, principal, state=state, limit=limit)


@router.get("/jobs/{job_id}", response_model=dict[str, Any], summary="一个后台作业")
def get_job(principal: Anyone, archive: ArchiveDep, job_id: JobId) -> dict[str, Any]:
    return jobs.job_for(archive, principal, job_id)
