"""系统管理: accounts (系统管理员), roles, clearances, approvals and service tokens (安全保密管理员).

Every form posts to a route that declares its own action; the page only shows the forms the
caller's permissions allow, and the 三员分立 rules are :mod:`lantai.services.accounts`'s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import Response

from lantai.domain.roles import (
    BUSINESS_ROLES,
    CLEARANCES,
    PERMISSION_LABELS,
    ROLE_PERMISSIONS,
    SCOPES,
    Permission,
    Role,
)
from lantai.errors import LantaiError
from lantai.http.deps import Allowed, ArchiveDep
from lantai.services import accounts
from lantai.services.users import Principal
from lantai.web.app import ADMIN_PAGE, render

router = APIRouter()
P = Permission
TokenUser = Allowed(P.TOKEN_OWN, P.TOKEN_MANAGE)


def _page(request: Request, archive: ArchiveDep, principal: Principal, message: str = "", status: int = 200,
          new_token: dict | None = None) -> Response:
    context = {
        "users": accounts.list_accounts(archive, principal) if principal.can(P.USER_LIST) else [],
        "roles": list(Role), "business_roles": [r for r in Role if r in BUSINESS_ROLES], "clearances": CLEARANCES,
        "scopes": SCOPES,
        "tokens": accounts.list_tokens(archive, principal) if principal.can(P.TOKEN_OWN) or principal.can(P.TOKEN_MANAGE) else [],
        "matrix": ROLE_PERMISSIONS, "permission_labels": PERMISSION_LABELS, "message": message, "ok": status < 400,
        "new_token": new_token, "can_users": principal.can(P.USER_MANAGE), "can_roles": principal.can(P.ROLE_ASSIGN),
        "can_clearance": principal.can(P.CLEARANCE_GRANT), "can_approve": principal.can(P.ACCOUNT_APPROVE),
        "can_tokens": principal.can(P.TOKEN_MANAGE),
    }
    return render(request, "admin.html", context, status_code=status)


@router.get("/admin")
def admin_page(principal: Allowed(*ADMIN_PAGE), request: Request, archive: ArchiveDep) -> Response:
    return _page(request, archive, principal)


def _do(request: Request, archive: ArchiveDep, principal: Principal, action: Callable[[], Any], success: str) -> Response:
    """Run one account act; a refusal is shown on the page with the status it deserves."""
    try:
        result = action()
    except LantaiError as exc:
        return _page(request, archive, principal, exc.message_zh, status=exc.http_status)
    return _page(request, archive, principal, success, new_token=result if isinstance(result, dict) and "token" in result else None)


@router.post("/admin/users")
def create_user(principal: Allowed(P.USER_MANAGE), request: Request, archive: ArchiveDep,
                username: Annotated[str, Form(max_length=64)], password: Annotated[str, Form(max_length=256)] = "",
                display_name: Annotated[str, Form(max_length=128)] = "",
                roles: Annotated[list[str] | None, Form()] = None, service: Annotated[str, Form()] = "") -> Response:
    return _do(request, archive, principal, lambda: accounts.create_account(
        archive, principal, username, password or None, display_name=display_name, roles=roles or [],
        service=service == "1"), f"已创建用户 {username}（申请的角色待安全保密管理员审批）")


@router.post("/admin/users/{username}/roles")
def set_roles(principal: Allowed(P.ROLE_ASSIGN), request: Request, archive: ArchiveDep, username: str,
              roles: Annotated[list[str] | None, Form()] = None) -> Response:
    return _do(request, archive, principal, lambda: accounts.set_roles(archive, principal, username, roles or []),
               f"已更新 {username} 的角色")


@router.post("/admin/users/{username}/approve")
def approve(principal: Allowed(P.ACCOUNT_APPROVE), request: Request, archive: ArchiveDep, username: str) -> Response:
    return _do(request, archive, principal, lambda: accounts.approve(archive, principal, username), f"已审批 {username}")


@router.post("/admin/users/{username}/active")
def set_active(principal: Allowed(P.USER_MANAGE), request: Request, archive: ArchiveDep, username: str,
               active: Annotated[str, Form()]) -> Response:
    return _do(request, archive, principal, lambda: accounts.set_active(archive, principal, username, active == "1"),
               f"已更新 {username} 的状态")


@router.post("/admin/users/{username}/unlock")
def unlock(principal: Allowed(P.USER_MANAGE), request: Request, archive: ArchiveDep, username: str) -> Response:
    return _do(request, archive, principal, lambda: accounts.unlock(archive, principal, username), f"已解除 {username} 的登录锁定")


@router.post("/admin/users/{username}/password")
def reset_password(principal: Allowed(P.USER_MANAGE), request: Request, archive: ArchiveDep, username: str,
                   password: Annotated[str, Form(max_length=256)]) -> Response:
    return _do(request, archive, principal, lambda: accounts.reset_password(archive, principal, username, password),
               f"已为 {username} 设置初始密码（下次登录须修改）")


@router.post("/admin/users/{username}/clearance")
def set_clearance(principal: Allowed(P.CLEARANCE_GRANT), request: Request, archive: ArchiveDep, username: str,
                  clearance: Annotated[str, Form(max_length=16)]) -> Response:
    return _do(request, archive, principal, lambda: accounts.set_clearance(archive, principal, username, clearance),
               f"已将 {username} 的密级权限设为 {clearance}")


@router.post("/admin/tokens")
def create_token(principal: TokenUser, request: Request, archive: ArchiveDep,
                 username: Annotated[str, Form(max_length=64)] = "", name: Annotated[str, Form(max_length=128)] = "",
                 days: Annotated[int, Form(ge=1, le=365)] = 90,
                 scopes: Annotated[list[str] | None, Form()] = None) -> Response:
    return _do(request, archive, principal, lambda: accounts.create_token(
        archive, principal, username or None, name, days, scopes or ["read"]), "已签发令牌（明文只显示这一次）")


@router.post("/admin/tokens/{token_id}/revoke")
def revoke_token(principal: TokenUser, request: Request, archive: ArchiveDep, token_id: int) -> Response:
    return _do(request, archive, principal, lambda: accounts.revoke_token(archive, principal, token_id),
               f"已撤销令牌 {token_id}")
