"""系统管理: accounts and roles (系统管理员), clearances (安全保密管理员), API tokens (系统管理员)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lantai.api.deps import Allowed, ArchiveDep, CurrentUser
from lantai.domain.roles import CLEARANCES, PERMISSION_LABELS, ROLE_PERMISSIONS, Permission, Role
from lantai.errors import LantaiError
from lantai.services import access, users
from lantai.services.users import Principal
from lantai.web.app import render

router = APIRouter()
UserAdmin = Allowed(Permission.USER_MANAGE)
ClearanceAdmin = Allowed(Permission.CLEARANCE_GRANT)
TokenAdmin = Allowed(Permission.TOKEN_MANAGE)


def _page(request: Request, archive: ArchiveDep, principal: Principal, message: str = "", status: int = 200,
          new_token: dict | None = None) -> Response:
    access.require_any(principal, Permission.USER_MANAGE, Permission.TOKEN_MANAGE, Permission.CLEARANCE_GRANT)
    context = {
        "users": users.list_users(archive), "roles": list(Role), "clearances": CLEARANCES,
        "tokens": users.list_tokens(archive) if principal.can(Permission.TOKEN_MANAGE) else [],
        "matrix": ROLE_PERMISSIONS, "permission_labels": PERMISSION_LABELS, "message": message, "ok": status < 400,
        "new_token": new_token, "can_users": principal.can(Permission.USER_MANAGE),
        "can_clearance": principal.can(Permission.CLEARANCE_GRANT), "can_tokens": principal.can(Permission.TOKEN_MANAGE),
    }
    return render(request, "admin.html", context, status_code=status)


@router.get("/admin")
def admin_page(principal: CurrentUser, request: Request, archive: ArchiveDep) -> Response:
    return _page(request, archive, principal)


def _do(request: Request, archive: ArchiveDep, principal: Principal, action, success: str) -> Response:
    try:
        result = action()
    except LantaiError as exc:
        return _page(request, archive, principal, exc.message_zh, status=exc.http_status)
    return _page(request, archive, principal, success, new_token=result if isinstance(result, dict) and "token" in result else None)


@router.post("/admin/users")
def create_user(principal: UserAdmin, request: Request, archive: ArchiveDep,
                username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)],
                display_name: Annotated[str, Form(max_length=128)] = "",
                roles: Annotated[list[str] | None, Form()] = None) -> Response:
    return _do(request, archive, principal, lambda: users.create_user(
        archive, principal.username, username, password, display_name=display_name, roles=roles or []),
        f"已创建用户 {username}")


@router.post("/admin/users/{username}/roles")
def set_roles(principal: UserAdmin, request: Request, archive: ArchiveDep, username: str,
              roles: Annotated[list[str] | None, Form()] = None) -> Response:
    return _do(request, archive, principal, lambda: users.update_user(archive, principal.username, username,
                                                                      roles=roles or []), f"已更新 {username} 的角色")


@router.post("/admin/users/{username}/active")
def set_active(principal: UserAdmin, request: Request, archive: ArchiveDep, username: str,
               active: Annotated[str, Form()]) -> Response:
    return _do(request, archive, principal, lambda: users.update_user(archive, principal.username, username,
                                                                      active=active == "1"), f"已更新 {username} 的状态")


@router.post("/admin/users/{username}/password")
def reset_password(principal: UserAdmin, request: Request, archive: ArchiveDep, username: str,
                   password: Annotated[str, Form(max_length=256)]) -> Response:
    return _do(request, archive, principal, lambda: users.reset_password(archive, principal.username, username, password),
               f"已重置 {username} 的密码")


@router.post("/admin/users/{username}/clearance")
def set_clearance(principal: ClearanceAdmin, request: Request, archive: ArchiveDep, username: str,
                  clearance: Annotated[str, Form(max_length=16)]) -> Response:
    return _do(request, archive, principal, lambda: users.set_clearance(archive, principal.username, username, clearance),
               f"已将 {username} 的密级权限设为 {clearance}")


@router.post("/admin/tokens")
def create_token(principal: TokenAdmin, request: Request, archive: ArchiveDep,
                 username: Annotated[str, Form(max_length=64)], name: Annotated[str, Form(max_length=128)] = "",
                 days: Annotated[int, Form(ge=1, le=3650)] = 365) -> Response:
    return _do(request, archive, principal, lambda: users.create_token(archive, principal.username, username, name, days),
               "已签发令牌（明文只显示这一次）")


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(principal: TokenAdmin, request: Request, archive: ArchiveDep, token_id: int) -> Response:
    return _do(request, archive, principal, lambda: users.revoke_token(archive, principal.username, token_id),
               f"已撤销令牌 {token_id}")
