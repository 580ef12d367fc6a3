"""Accounts (系统管理员) and clearances (安全保密管理员)."""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from lantai.api.deps import Allowed, ArchiveDep
from lantai.api.schemas import ERRORS, ClearanceIn, Done, PasswordReset, UserCreate, UserPublic, UserUpdate
from lantai.domain.roles import Permission
from lantai.services import users

router = APIRouter(prefix="/users", tags=["用户"], responses=ERRORS)
UserAdmin = Allowed(Permission.USER_MANAGE)
ClearanceAdmin = Allowed(Permission.CLEARANCE_GRANT)
Username = Path(min_length=1, max_length=64)


@router.get("", response_model=list[UserPublic], summary="用户列表")
def list_users(_: UserAdmin, archive: ArchiveDep) -> list[dict]:
    return users.list_users(archive)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED, summary="新建用户（密级为公开）")
def create_user(body: UserCreate, principal: UserAdmin, archive: ArchiveDep) -> dict:
    return users.create_user(archive, principal.username, body.username, body.password,
                             display_name=body.display_name, roles=body.roles)


@router.get("/{username}", response_model=UserPublic, summary="查看用户")
def get_user(_: UserAdmin, archive: ArchiveDep, username: str = Username) -> dict:
    return users.get_user(archive, username)


@router.patch("/{username}", response_model=UserPublic, summary="修改姓名、角色或启用状态")
def update_user(body: UserUpdate, principal: UserAdmin, archive: ArchiveDep, username: str = Username) -> dict:
    return users.update_user(archive, principal.username, username, display_name=body.display_name,
                             roles=body.roles, active=body.active)


@router.put("/{username}/password", response_model=Done, summary="重置密码")
def reset_password(body: PasswordReset, principal: UserAdmin, archive: ArchiveDep, username: str = Username) -> Done:
    users.reset_password(archive, principal.username, username, body.password)
    return Done()


@router.put("/{username}/clearance", response_model=UserPublic, summary="授予密级权限（安全保密管理员）")
def set_clearance(body: ClearanceIn, principal: ClearanceAdmin, archive: ArchiveDep, username: str = Username) -> dict:
    return users.set_clearance(archive, principal.username, username, body.clearance)
