"""Request dependencies shared by the API and the web UI, as ``Annotated`` aliases.

``CurrentUser`` authenticates (bearer token for systems, session cookie for people) and enforces
CSRF on unsafe methods of cookie-authenticated requests; ``Allowed(permission, …)`` — the one
dependency every route declares its action with — then asks :func:`lantai.services.authz.require`
against the permission table, so handlers never check roles themselves. Routes anyone may call
(the login page, the API docs) declare ``PUBLIC`` the same way, so the matrix test can tell an
undeclared route from a public one.

Behind a reverse proxy, ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the
addresses in the ``trusted_proxies`` setting (:func:`client_of`, :func:`is_https`).
"""

from __future__ import annotations

import functools
import ipaddress
import secrets
from typing import Annotated, Any

from fastapi import Depends, Request, Response

from lantai.domain.roles import Permission
from lantai.errors import Unauthenticated
from lantai.http.denials import CsrfFailed
from lantai.services import authz, users
from lantai.services.archive import Archive
from lantai.services.users import Principal

SESSION_COOKIE = "lantai_session"
CSRF_HEADER = "X-CSRF-Token"
CSRF_FIELD = "csrf_token"
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def get_archive(request: Request) -> Archive:
    return request.app.state.archive


ArchiveDep = Annotated[Archive, Depends(get_archive)]


@functools.lru_cache(maxsize=32)
def _networks(cidrs: tuple[str, ...]) -> tuple[Any, ...]:
    return tuple(ipaddress.ip_network(c, strict=False) for c in cidrs)


def _trusted(address: str, cidrs: tuple[str, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in _networks(cidrs))


def _proxies(request: Request) -> tuple[str, ...]:
    return request.app.state.archive.settings.trusted_proxy_networks


def client_of(request: Request) -> str:
    """The client's address: the peer, or — when the peer is a trusted proxy — the nearest untrusted
    address of ``X-Forwarded-For`` read from the right (what the proxies themselves appended)."""
    peer = request.client.host if request.client else ""
    cidrs = _proxies(request)
    if not cidrs or not _trusted(peer, cidrs):
        return peer
    hops = [h.strip() for h in request.headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, cidrs):
            return hop[:64]
    return hops[0][:64] if hops else peer


def is_https(request: Request) -> bool:
    """HTTPS directly, or as a trusted proxy says in ``X-Forwarded-Proto``."""
    if request.url.scheme == "https":
        return True
    peer = request.client.host if request.client else ""
    cidrs = _proxies(request)
    if cidrs and _trusted(peer, cidrs):
        proto = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
        return proto == "https"
    return False


def secure_cookies(request: Request) -> bool:
    """Whether cookies set on this response carry ``Secure``."""
    return bool(request.app.state.archive.settings.secure_cookies) or is_https(request)


def set_session_cookie(response: Response, raw: str, request: Request) -> None:
    """The session cookie, as the API's login and the web login page both set it."""
    response.set_cookie(SESSION_COOKIE, raw, httponly=True, samesite="strict", path="/",
                        secure=secure_cookies(request), max_age=int(users.SESSION_ABSOLUTE.total_seconds()))


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
                raise CsrfFailed(principal.username)
    request.state.principal = principal
    return principal


CurrentUser = Annotated[Principal, Depends(current_principal)]


def Allowed(*permissions: Permission) -> type[Principal]:
    """``Annotated`` alias: the caller, authenticated and holding one of ``permissions``.

    The permissions are recorded on the dependency (``lantai_permissions``) so the matrix test can
    read every route's declared action from ``app.routes``.
    """
    if not permissions:
        raise ValueError("Allowed() needs at least one permission")
    if Permission.PUBLIC in permissions:
        def dependency() -> None:
            return None
    else:
        def dependency(principal: CurrentUser) -> Principal:
            return authz.require_any(principal, *permissions)

    dependency.lantai_permissions = permissions  # type: ignore[attr-defined]
    return Annotated[Principal, Depends(dependency)]  # type: ignore[return-value]


def declared(*permissions: Permission) -> Any:
    """``dependencies=[declared(P.PUBLIC)]`` for routes that take no principal argument."""
    alias = Allowed(*permissions)
    return alias.__metadata__[0]  # type: ignore[attr-defined]
