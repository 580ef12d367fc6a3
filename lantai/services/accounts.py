"""三员分立 rules for changing accounts: who may do what to whom.

The permission table (:mod:`lantai.domain.permissions`) says which *kind* of act a role may
perform; this module adds the rules that depend on the two accounts involved:

* nobody changes their own roles, clearance, or resets their own password without the old one;
* the 安全保密管理员 grants business roles only, and clearance never above its own;
* administrator roles are never granted directly: an account created with them waits for a
  second administrator to approve (created by one, approved by another), and so does a
  service account;
* tokens are issued only to oneself (from a login session) or, by the 安全保密管理员, to an
  approved service account; the 系统管理员 never obtains credentials for anyone else.

Every function takes the acting :class:`~lantai.services.users.Principal`; the CLI, run by the
operator on the server, calls :mod:`lantai.services.users` directly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from lantai.catalog.models import User
from lantai.domain.roles import (
    BUSINESS_ROLES,
    THREE_ADMINS,
    Permission,
    Role,
    is_clearance,
    parse_roles,
    rank,
)
from lantai.errors import BadInput, Conflict, NotFound, PermissionDenied
from lantai.services import authz, users
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive

P = Permission


def _not_self(principal: Principal, username: str, what_zh: str, what_en: str) -> None:
    if principal.username == username:
        raise PermissionDenied(f"不能{what_zh}自己的账号", f"you may not {what_en} your own account")


def _account(archive: Archive, username: str) -> User:
    with archive.sessions() as session:
        user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在", f"no user {username}")
    return user


def list_accounts(archive: Archive, principal: Principal) -> list[dict[str, Any]]:
    authz.require(principal, P.USER_LIST)
    return users.list_users(archive)


def get_account(archive: Archive, principal: Principal, username: str) -> dict[str, Any]:
    authz.require(principal, P.USER_LIST)
    return users.get_user(archive, username)


def create_account(archive: Archive, principal: Principal, username: str, password: str | None, *,
                   display_name: str = "", roles: list[str] = (), service: bool = False) -> dict[str, Any]:
    """系统管理员 creates an account with an initial password; the roles asked for wait for approval."""
    authz.require(principal, P.USER_MANAGE)
    if not service and not password:
        raise BadInput("请设置初始密码", "an initial password is required")
    return users.create_user(archive, principal.username, username, password, display_name=display_name,
                             roles=roles, initial=True, service=service)


def approve(archive: Archive, principal: Principal, username: str) -> dict[str, Any]:
    """A second administrator (安全保密管理员) grants the pending roles, or approves a service account."""
    authz.require(principal, P.ACCOUNT_APPROVE)
    _not_self(principal, username, "审批", "approve")
    user = _account(archive, username)
    if user.created_by == principal.username:
        raise PermissionDenied("创建账号的管理员不能同时审批该账号", "the administrator who created an account cannot approve it")
    pending = parse_roles(user.pending_roles or "")
    if not pending and not (user.is_service and not user.service_approved_by):
        raise Conflict(f"用户 {username} 没有待审批的事项", f"nothing to approve for {username}")
    return users.approve_account(archive, principal.username, username)


def set_roles(archive: Archive, principal: Principal, username: str, roles: list[str]) -> dict[str, Any]:
    """安全保密管理员 assigns business roles; administrator roles only by create + approve."""
    authz.require(principal, P.ROLE_ASSIGN)
    _not_self(principal, username, "修改角色：", "change the roles of")
    wanted = users._roles_from(roles)
    if wanted & THREE_ADMINS:
        raise PermissionDenied("管理员角色只能由系统管理员新建账号、另一名管理员审批后授予",
                               "administrator roles are granted only by creation plus a second administrator's approval")
    if parse_roles(_account(archive, username).roles) & THREE_ADMINS:
        raise PermissionDenied("不能修改管理员账号的角色", "the roles of an administrator account cannot be changed")
    return users.update_user(archive, principal.username, username, roles=[r.value for r in wanted & BUSINESS_ROLES])


def set_clearance(archive: Archive, principal: Principal, username: str, clearance: str) -> dict[str, Any]:
    """安全保密管理员 grants clearance to others, never above its own (nor to one above its own)."""
    authz.require(principal, P.CLEARANCE_GRANT)
    _not_self(principal, username, "变更密级权限：", "change the clearance of")
    if not is_clearance(clearance):
        raise BadInput(f"未知密级 {clearance}", f"unknown clearance {clearance}")
    current = _account(archive, username).clearance
    if rank(clearance) > rank(principal.clearance) or rank(current) > rank(principal.clearance):
        raise PermissionDenied("不能授予或变更高于本人密级权限的密级", "cannot grant clearance above your own")
    return users.set_clearance(archive, principal.username, username, clearance)


def set_active(archive: Archive, principal: Principal, username: str, active: bool) -> dict[str, Any]:
    authz.require(principal, P.USER_MANAGE)
    _not_self(principal, username, "停用或启用", "disable or enable")
    return users.update_user(archive, principal.username, username, active=active)


def set_display_name(archive: Archive, principal: Principal, username: str, display_name: str) -> dict[str, Any]:
    authz.require(principal, P.USER_MANAGE)
    return users.update_user(archive, principal.username, username, display_name=display_name)


def reset_password(archive: Archive, principal: Principal, username: str, password: str) -> None:
    """系统管理员 sets an initial password for someone else (changed at their next login)."""
    authz.require(principal, P.USER_MANAGE)
    _not_self(principal, username, "重置（请用“修改密码”，需原密码）", "reset (use change password)")
    if _account(archive, username).is_service:
        raise BadInput("服务账号没有密码，使用接口令牌", "service accounts use tokens, not passwords")
    users.reset_password(archive, principal.username, username, password)


def unlock(archive: Archive, principal: Principal, username: str) -> None:
    authz.require(principal, P.USER_MANAGE)
    users.unlock(archive, principal.username, username)


# --- tokens ---------------------------------------------------------------------------------------
def create_token(archive: Archive, principal: Principal, username: str | None, name: str, days: int,
                 scopes: list[str]) -> dict[str, Any]:
    """Own token from a login session, or (安全保密管理员) one for an approved service account."""
    target = username or principal.username
    if target == principal.username:
        authz.require(principal, P.TOKEN_OWN)
        if principal.via != "session":
            raise PermissionDenied("令牌须在登录会话中签发", "tokens are issued from a login session only")
    else:
        authz.require(principal, P.TOKEN_MANAGE)
        user = _account(archive, target)
        if not (user.is_service and user.service_approved_by):
            raise PermissionDenied("只能为本人或经安全保密管理员批准的服务账号签发令牌",
                                   "tokens only for yourself or for an approved service account")
        if rank(user.clearance) > rank(principal.clearance):
            raise PermissionDenied("服务账号密级高于本人密级权限", "the service account is cleared above you")
    return users.issue_token(archive, principal.username, target, name, days, scopes)


def list_tokens(archive: Archive, principal: Principal) -> list[dict[str, Any]]:
    if principal.can(P.TOKEN_MANAGE):
        return users.list_tokens(archive)
    authz.require(principal, P.TOKEN_OWN)
    return users.list_tokens(archive, principal.username)


def revoke_token(archive: Archive, principal: Principal, token_id: int) -> None:
    owner = users.token_owner(archive, token_id)
    if owner != principal.username:
        authz.require(principal, P.TOKEN_MANAGE)
    else:
        authz.require(principal, P.TOKEN_OWN)
    users.revoke_token(archive, principal.username, token_id)


def bootstrap_administrators(archive: Archive, names: dict[Role, str] | None = None) -> list[dict[str, str]]:
    """``lantai init``: the three administrator accounts, each with a random initial password
    (shown once, changed at first login). Nothing happens when any account exists already."""
    import secrets

    if users.list_users(archive):
        return []
    chosen = names or {Role.SYSADMIN: "sysadmin", Role.SECADMIN: "secadmin", Role.AUDITOR: "auditor"}
    created = []
    for role, username in chosen.items():
        password = "Lt-" + secrets.token_urlsafe(12) + "#9a"
        users.create_user(archive, "init", username, password, display_name=role.value, roles=[role],
                          clearance="绝密" if role is Role.SECADMIN else "公开", bootstrap=True, initial=True)
        created.append({"username": username, "role": role.value, "password": password})
    return created

