"""The single authorisation check: the caller's permissions from the one table, or 403.

Routes never test roles themselves: each declares its action with
:func:`lantai.http.deps.Allowed`, which calls :func:`require` here; services call it again for
the acts they perform, so the CLI and tests get the same answer as the web.
"""

from __future__ import annotations

from lantai.domain.permissions import PERMISSION_LABELS, Permission
from lantai.errors import PermissionDenied
from lantai.services.users import Principal


class PasswordChangeRequired(PermissionDenied):
    """An initial, reset or expired password must be changed before anything else (HTTP 403)."""

    code = "password_change_required"


def require(principal: Principal, permission: Permission) -> Principal:
    """The caller if the table grants ``permission`` to its roles (and its token's scopes)."""
    if permission is Permission.PUBLIC or principal.can(permission):
        return principal
    if principal.must_change_password:
        raise PasswordChangeRequired("请先修改初始密码或已过期的密码", "change your initial or expired password first",
                                     permission=permission.value)
    label = PERMISSION_LABELS.get(permission, permission.value)
    if principal.scopes is not None:
        raise PermissionDenied(f"接口令牌的范围或您的角色不允许此操作（{label}）",
                               f"your token's scopes or your roles do not allow {permission.value}",
                               permission=permission.value, roles=principal.role_names,
                               scopes=sorted(principal.scopes))
    raise PermissionDenied(f"您的角色无权执行此操作（{label}）", f"your roles do not allow {permission.value}",
                           permission=permission.value, roles=principal.role_names)


def require_any(principal: Principal, *permissions: Permission) -> Principal:
    """Pages that serve several roles (系统管理, 收集) need one of the permissions."""
    if any(p is Permission.PUBLIC or principal.can(p) for p in permissions):
        return principal
    return require(principal, permissions[0])
