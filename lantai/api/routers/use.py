"""利用: access requests (利用申请), decisions, grants (利用授权) and the 利用登记簿 export.

A request for an item the caller may not see — or that does not exist — is answered exactly as
one for a visible item: the API never confirms that a record exists.
"""

from __future__ import annotations

import datetime as dt
import shutil
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Path, Query, status
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, model_validator
from starlette.background import BackgroundTask

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.domain.use import METHODS, PURPOSES
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import use, use_register

router = APIRouter(tags=["利用"], responses=ERRORS)
Requester = Allowed(Permission.USE_REQUEST, Permission.USE_APPROVE, Permission.USE_SECURITY_APPROVE)
Approver = Allowed(Permission.USE_APPROVE, Permission.USE_SECURITY_APPROVE)
Id = Annotated[int, Path(ge=1, le=2**31 - 1)]


class ItemRef(BaseModel):
    """One item by exactly one of 电子文件号, 档号 or 文号 (a bare string matches any of them)."""

    record_id: str | None = Field(None, max_length=128)
    archival_code: str | None = Field(None, max_length=128)
    document_number: str | None = Field(None, max_length=128)

    @model_validator(mode="after")
    def _one(self) -> ItemRef:
        if sum(v is not None for v in (self.record_id, self.archival_code, self.document_number)) != 1:
            raise ValueError("give exactly one of record_id, archival_code, document_number")
        return self

    def reference(self) -> use.Reference:
        for kind in ("record_id", "archival_code", "document_number"):
            if getattr(self, kind) is not None:
                return use.Reference(kind, getattr(self, kind))
        raise AssertionError("validated above")


class RequestIn(BaseModel):
    items: list[ItemRef | Annotated[str, Field(max_length=128)]] = Field(min_length=1, max_length=200)
    purpose: str = Field(description="利用目的: " + "、".join(PURPOSES))
    purpose_detail: str = Field("", max_length=500, description="利用目的为“其他”时的说明")
    methods: list[str] = Field(min_length=1, max_length=4, description="利用方式: " + "、".join(METHODS))
    until: dt.date = Field(description="利用期限（含当日，北京时间）")
    note: str = Field("", max_length=1000)

    def references(self) -> list[use.Reference]:
        return [use.parse_reference(i) if isinstance(i, str) else i.reference() for i in self.items]


class DecisionIn(BaseModel):
    approve: bool
    reason: str = Field("", max_length=1000)


class EffectIn(BaseModel):
    effect: str = Field(description="利用效果：解决问题、部分解决、未解决")
    note: str = Field("", max_length=1000, description="说明（如所解决的问题）")


class RevokeIn(BaseModel):
    reason: str = Field("", max_length=1000)


@router.post("/requests", status_code=status.HTTP_201_CREATED, summary="提出利用申请（不透露条目是否存在）")
def create_request(body: RequestIn, principal: Allowed(Permission.USE_REQUEST), archive: ArchiveDep) -> dict[str, Any]:
    return use.create_request(archive, principal, body.references(), body.purpose, body.methods, body.until,
                              purpose_detail=body.purpose_detail, note=body.note)


@router.get("/requests", summary="利用申请列表（本人的；审批人看全部）")
def list_requests(principal: Requester, archive: ArchiveDep, mine: bool = False,
                  status: Annotated[str | None, Query(max_length=16)] = None) -> list[dict[str, Any]]:
    return use.list_requests(archive, principal, mine=mine, status=status)


@router.post("/requests/{request_id}/decision", summary="审批利用申请（档案管理员；秘密及以上再经安全保密管理员）")
def decide(request_id: Id, body: DecisionIn, principal: Approver, archive: ArchiveDep) -> dict[str, Any]:
    return use.decide(archive, principal, request_id, body.approve, body.reason)


@router.post("/requests/{request_id}/effect", summary="登记利用效果（申请人，已批准的申请）")
def record_effect(request_id: Id, body: EffectIn, principal: Allowed(Permission.USE_REQUEST),
                  archive: ArchiveDep) -> dict[str, Any]:
    return use.record_effect(archive, principal, request_id, body.effect, body.note)


@router.get("/grants", summary="利用授权列表（本人的；审批人看全部）")
def list_grants(principal: Requester, archive: ArchiveDep, mine: bool = False) -> list[dict[str, Any]]:
    return use.list_grants(archive, principal, mine=mine)


@router.delete("/grants/{grant_id}", summary="撤销利用授权（立即生效）")
def revoke_grant(grant_id: Id, principal: Approver, archive: ArchiveDep,
                 reason: Annotated[str, Query(max_length=1000)] = "") -> dict[str, Any]:
    return use.revoke_grant(archive, principal, grant_id, reason)


@router.get("/use/register", summary="导出利用登记簿（XLSX 或 PDF）",
            responses={200: {"content": {"application/pdf": {}, "application/vnd.openxmlformats-"
                                         "officedocument.spreadsheetml.sheet": {}}}})
def register(principal: Allowed(Permission.USE_REGISTER), archive: ArchiveDep,
             year: Annotated[int, Query(ge=1900, le=9998)],
             format: Literal["xlsx", "pdf"] = "xlsx") -> FileResponse:
    return register_file(archive, principal, year, format)


def register_file(archive: Any, principal: Any, year: int, fmt: str) -> FileResponse:
    """The register as a download; its temporary directory goes once it has been sent."""
    target, media = use_register.register_download(archive, principal, year, fmt)
    return FileResponse(target, media_type=media, filename=target.name,
                        background=BackgroundTask(shutil.rmtree, target.parent, ignore_errors=True),
                        headers={"Cache-Control": "no-store"})
