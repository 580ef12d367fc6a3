"""API tokens: one's own (issued from a login session), and for approved service accounts (安全保密管理员).

A token always expires (at most 365 days) and carries scopes that narrow its owner's rights.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from lantai.api.schemas import ERRORS, Done, TokenCreate, TokenCreated, TokenPublic
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import accounts

router = APIRouter(prefix="/tokens", tags=["接口令牌"], responses=ERRORS)
TokenUser = Allowed(Permission.TOKEN_OWN, Permission.TOKEN_MANAGE)


@router.get("", response_model=list[TokenPublic], summary="令牌列表（本人的；安全保密管理员看全部；不含明文）")
def list_tokens(principal: TokenUser, archive: ArchiveDep) -> list[dict]:
    return accounts.list_tokens(archive, principal)


@router.post("", response_model=TokenCreated, status_code=status.HTTP_201_CREATED,
             summary="签发令牌（本人，或经批准的服务账号）")
def create_token(body: TokenCreate, principal: TokenUser, archive: ArchiveDep) -> dict:
    return accounts.create_token(archive, principal, body.username, body.name, body.days, body.scopes)


@router.delete("/{token_id}", response_model=Done, summary="撤销令牌")
def revoke_token(principal: TokenUser, archive: ArchiveDep, token_id: int = Path(ge=1, le=2**31 - 1)) -> Done:
    accounts.revoke_token(archive, principal, token_id)
    return Done()
