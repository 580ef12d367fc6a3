"""Login, logout and the caller's own account (session authentication for people)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from lantai.api.schemas import ERRORS, Done, LoginIn, Me, PasswordChange
from lantai.domain.roles import Permission
from lantai.http.deps import (
    SESSION_COOKIE,
    Allowed,
    ArchiveDep,
    client_of,
    declared,
    set_session_cookie,
)
from lantai.services import users

router = APIRouter(tags=["认证"], responses=ERRORS)


def me_of(principal: users.Principal, *, with_csrf: bool) -> Me:
    return Me(username=principal.username, display_name=principal.display_name, roles=principal.role_names,
              clearance=principal.clearance, permissions=sorted(p.value for p in principal.permissions),
              via=principal.via, csrf_token=principal.csrf_token if with_csrf else None,
              must_change_password=principal.must_change_password,
              scopes=sorted(principal.scopes) if principal.scopes is not None else None)


@router.post("/auth/login", response_model=Me, summary="登录（设置会话 Cookie）",
             dependencies=[declared(Permission.PUBLIC)])
def login(body: LoginIn, request: Request, response: Response, archive: ArchiveDep) -> Me:
    raw, principal = users.login(archive, body.username, body.password, client_of(request))
    set_session_cookie(response, raw, request)
    return me_of(principal, with_csrf=True)


@router.post("/auth/logout", response_model=Done, summary="退出登录")
def logout(principal: Allowed(Permission.ACCOUNT_SELF), request: Request, response: Response, archive: ArchiveDep) -> Done:
    users.logout(archive, request.cookies.get(SESSION_COOKIE), principal.username)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return Done()


@router.get("/me", response_model=Me, summary="当前用户")
def me(principal: Allowed(Permission.ACCOUNT_SELF)) -> Me:
    return me_of(principal, with_csrf=principal.via == "session")


@router.put("/me/password", response_model=Done, summary="修改本人密码")
def change_password(body: PasswordChange, principal: Allowed(Permission.PASSWORD_OWN), request: Request,
                    archive: ArchiveDep) -> Done:
    """Needs the old password; every other session of the account ends and its tokens are revoked."""
    users.change_own_password(archive, principal, body.old_password, body.new_password,
                              request.cookies.get(SESSION_COOKIE) if principal.via == "session" else None)
    return Done()
