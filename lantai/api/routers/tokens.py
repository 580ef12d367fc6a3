"""API tokens for systems (OA submitting records); managed by the 系统管理员."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from lantai.api.deps import Allowed, ArchiveDep
from lantai.api.schemas import ERRORS, Done, TokenCreate, TokenCreated, TokenPublic
from lantai.domain.roles import Permission
from lantai.services import users

router = APIRouter(prefix="/tokens", tags=["接口令牌"], responses=ERRORS)
TokenAdmin = Allowed(Permission.TOKEN_MANAGE)


@router.get("", response_model=list[TokenPublic], summary="令牌列表（不含明文）")
def list_tokens(_: TokenAdmin, archive: ArchiveDep) -> list[dict]:
    return users.list_tokens(archive)


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED, summary="签发令牌")
def create_token(body: TokenCreate, principal: TokenAdmin, archive: ArchiveDep) -> dict:
    return users.create_token(archive, principal.username, body.username, body.name, body.days)


@router.delete("/{token_id}", response_model=Done, summary="撤销令牌")
def revoke_token(principal: TokenAdmin, archive: ArchiveDep, token_id: int = Path(ge=1, le=2**31 - 1)) -> Done:
    users.revoke_token(archive, principal.username, token_id)
    return Done()
