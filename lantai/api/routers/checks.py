"""检测: people's verdicts on the DA/T 70 targets the standard leaves to them (4-2 …)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import check_verdicts

router = APIRouter(tags=["检测"], responses=ERRORS)


class VerdictCreate(BaseModel):
    """A verdict on one manual target of one report: a recorded run, an item's or a batch's ingest checks."""

    scope: Literal["run", "item", "batch"] = Field(description="run 检测记录 | item 条目接收检测 | batch 批次接收检测")
    scope_id: str = Field(min_length=1, max_length=200, description="检测记录编号、电子文件号或批次编号")
    code: str = Field(pattern=r"^\d-\d$", description="须人工确认的检测项目编号，如 4-2")
    verdict: Literal["conforms", "nonconforming", "符合", "不符合"]
    note: str = Field(default="", max_length=check_verdicts.MAX_NOTE)


@router.post("/checks/verdicts", response_model=dict[str, Any], status_code=201, summary="记录人工确认结论")
def record_verdict(principal: Allowed(Permission.CHECK_RUN), archive: ArchiveDep, body: VerdictCreate) -> dict:
    return check_verdicts.record_verdict(archive, principal, scope=body.scope, scope_id=body.scope_id, code=body.code,
                                         verdict=body.verdict, note=body.note)
