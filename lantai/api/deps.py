"""Request dependencies shared by the API and the web UI, as ``Annotated`` aliases.

``CurrentUser`` authenticates (bearer token for systems, session cookie for people) and enforces
CSRF on unsafe methods of cookie-authenticated requests; ``Allowed(permission)`` then asks
:func:`lantai.services.access.require` — the single authorisation check — so handlers never
check roles themselves.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, Request

from lantai.domain.roles import Permission
from lantai.errors import PermissionDenied, Unauthenticated
from lantai.services import access, users
from lantai.services.archive import Archive
from lantai.services.users import Principal

SESSION_COOKIE = "lantai_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_archive(request: Request) -> Archive:
    return request.app.state.archive


ArchiveDep = Annotated[Archive, Depends(get_archive)]


def client_of(request: Request) -> str:
    return request.client.host if request.client else ""


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    return value.strip() if scheme.lower() == "bearer" and value.strip() else None


async def _csrf_value(request: Request) -> str:
    header = request.headers.get(CSRF_HEADER)
    if header:
        return header
    content_type = request.headers.get("content-type", "")
    if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
        form = await request.form()
        value = form.get(CSRF_FIELD)
        return value if isinstance(value, str) else ""
    return ""


async def current_principal(request: Request, archive: ArchiveDep) -> Principal:
    """Who is calling. Tokens need no CSRF; cookie sessions must echo their CSRF token."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached
    token = _bearer(request)
    if token is not None:
        principal = users.resolve_token(archive, token)
        if principal is None:
            raise Unauthenticated("接口令牌无效、已过期或已撤销", "invalid, expired or revoked token")
    else:
        principal = users.resolve_session(archive, request.cookies.get(SESSION_COOKIE))
        if principal is None:
            raise Unauthenticated("请先登录", "authentication required")
        if request.method not in SAFE_METHODS:
            sent = await _csrf_value(request)
            if not sent or not secrets.compare_digest(sent, principal.csrf_token):
                raise PermissionDenied("CSRF 校验失败，请刷新页面后重试", "CSRF token missing or wrong")
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def Allowed(permission: Permission) -> type[Principal]:
    """``Annotated`` alias: the caller, authenticated and holding ``permission``."""

    def dependency(principal: CurrentUser) -> Principal:
        return access.require(principal, permission)

    return Annotated[Principal, Depends(dependency)]  # type: ignore[return-value]
