"""Accounts (系统管理员), roles, clearances and approvals (安全保密管理员).

Each route declares its action from the permission table; the 三员分立 rules that depend on the
two accounts involved (not oneself, not above one's own clearance, administrator roles only by
creation plus approval) are in :mod:`lantai.services.accounts`.
"""

from __future__ import annotations

from fastapi import APIRouter, Path, status

from lantai.api.schemas import (
    ERRORS,
    ClearanceIn,
    Done,
    PasswordReset,
    RolesIn,
    UserCreate,
    UserPublic,
    UserUpdate,
)
from lantai.domain.roles import Permission
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import accounts

router = APIRouter(prefix="/users", tags=["用户"], responses=ERRORS)
P = Permission
Username = Path(min_length=1, max_length=64)


@router.get("", response_model=list[UserPublic], summary="用户列表")
def list_users(principal: Allowed(P.USER_LIST), archive: ArchiveDep) -> list[dict]:
    return accounts.list_accounts(archive, principal)


@router.post("", response_model=UserPublic, status_code=status.HTTP_201_CREATED,
             summary="新建用户（系统管理员；初始密码首次登录须修改，申请的角色待审批）")
def create_user(body: UserCreate, principal: Allowed(P.USER_MANAGE), archive: ArchiveDep) -> dict:
    return accounts.create_account(archive, principal, body.username, body.password, display_name=body.display_name,
                                   roles=body.roles, service=body.service)


@router.get("/{username}", response_model=UserPublic, summary="查看用户")
def get_user(principal: Allowed(P.USER_LIST), archive: ArchiveDep, username: str = Username) -> dict:
    return accounts.get_account(archive, principal, username)


@router.patch("/{username}", response_model=UserPublic, summary="修改姓名或启用状态（系统管理员）")
def update_user(body: UserUpdate, principal: Allowed(P.USER_MANAGE), archive: ArchiveDep,
                username: str = Username) -> dict:
    result = accounts.get_account(archive, principal, username)
    if body.display_name is not None:
        result = accounts.set_display_name(archive, principal, username, body.display_name)
    if body.active is not None:
        result = accounts.set_active(archive, principal, username, body.active)
    return result


@router.put("/{username}/roles", response_model=UserPublic, summary="分配业务角色（安全保密管理员）")
def set_roles(body: RolesIn, principal: Allowed(P.ROLE_ASSIGN), archive: ArchiveDep, username: str = Username) -> dict:
    return accounts.set_roles(archive, principal, username, body.roles)


@router.post("/{username}/approve", response_model=UserPublic, summary="审批管理员账号或服务账号（安全保密管理员）")
def approve(principal: Allowed(P.ACCOUNT_APPROVE), archive: ArchiveDep, username: str = Username) -> dict:
    return accounts.approve(archive, principal, username)


@router.post("/{username}/unlock", response_model=Done, summary="解除登录锁定（系统管理员）")
def unlock(principal: Allowed(P.USER_MANAGE), archive: ArchiveDep, username: str = Username) -> Done:
    accounts.unlock(archive, principal, username)
    return Done()


@router.put("/{username}/password", response_model=Done, summary="设置初始密码（系统管理员；下次登录须修改）")
def reset_password(body: PasswordReset, principal: Allowed(P.USER_MANAGE), archive: ArchiveDep,
                   username: str = Username) -> Done:
    accounts.reset_password(archive, principal, username, body.password)
    return Done()


@router.put("/{username}/clearance", response_model=UserPublic, summary="授予密级权限（安全保密管理员）")
def set_clearance(body: ClearanceIn, principal: Allowed(P.CLEARANCE_GRANT), archive: ArchiveDep,
                  username: str = Username) -> dict:
    return accounts.set_clearance(archive, principal, username, body.clearance)
