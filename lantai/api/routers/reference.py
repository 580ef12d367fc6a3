"""Reference data (参考数据): fonds, categories, 档号 rules and 保管期限表, as one versioned TOML document.

Configuration belongs to the 系统管理员 under 三员分立, so only they save a new version; the
档案管理员, who arranges by these rules, reads them. Saving goes through
:func:`lantai.services.arrange.save_reference`, which validates the whole document and journals
the new version in the audit chain (``reference.saved``); a refused document changes nothing.
The web page (:mod:`lantai.web.reference`) calls the same service functions.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, Field

from lantai.api.schemas import ERRORS
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services.arrange_reference import MAX_DOCUMENT, MAX_NOTE, reference_snapshot, save_reference_edit

# Configuration is the 系统管理员's (SETTINGS_MANAGE); the 档案管理员 reads the rules they arrange by.
EDIT = Permission.SETTINGS_MANAGE
READ = (Permission.REFERENCE_READ,)
ReferenceReader = Allowed(*READ)
ReferenceEditor = Allowed(EDIT)


class ReferenceVersionOut(BaseModel):
    version: int
    note: str
    actor: str
    sm3: str
    created_at: str


class ReferenceOut(BaseModel):
    version: int = Field(description="当前版本号")
    document: str = Field(description="当前版本的 TOML 文本")
    content: dict[str, Any] = Field(description="同一内容的结构化形式：categories、code_rules、schedules、fonds")
    versions: list[ReferenceVersionOut] = Field(description="全部版本（谁、何时、说明、SM3）")


class ReferenceIn(BaseModel):
    document: str = Field(min_length=1, max_length=MAX_DOCUMENT, description="完整的参考数据 TOML")
    note: str = Field("", max_length=MAX_NOTE, description="修改说明")
    base_version: int | None = Field(None, ge=1, description="编辑所依据的版本；已有更新版本时拒绝（409）")


class ReferenceSaved(BaseModel):
    version: int


router = APIRouter(prefix="/reference", tags=["参考数据"], responses=ERRORS)


@router.get("", response_model=ReferenceOut, summary="全宗、门类、档号规则与保管期限表（当前版本及历史）")
def get_reference(_: ReferenceReader, archive: ArchiveDep) -> dict[str, Any]:
    return reference_snapshot(archive)


@router.put("", response_model=ReferenceSaved, summary="保存参考数据的新版本（系统管理员）")
def put_reference(body: ReferenceIn, principal: ReferenceEditor, archive: ArchiveDep) -> ReferenceSaved:
    return ReferenceSaved(version=save_reference_edit(archive, principal.username, body.document, body.note, body.base_version))
