"""登录 / 退出 / 本人账号."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response

from lantai.domain.roles import Permission
from lantai.errors import LantaiError
from lantai.http.deps import (
    SESSION_COOKIE,
    Allowed,
    ArchiveDep,
    client_of,
    declared,
    secure_cookies,
    set_session_cookie,
)
from lantai.services import users
from lantai.services.audit import record_denial
from lantai.web.app import home_for, render

router = APIRouter()
LOGIN_CSRF_COOKIE = "lantai_login_csrf"


def _safe_next(target: str | None) -> str | None:
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return None


def _login_page(request: Request, message: str = "", status_code: int = 200, next_: str = "") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(request, "login.html", {"login_csrf": token, "message": message, "next": next_},
                      status_code=status_code)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict", path="/login",
                        secure=secure_cookies(request))
    return response


@router.get("/", dependencies=[declared(Permission.PUBLIC)])
def index(request: Request, archive: ArchiveDep) -> Response:
    principal = users.resolve_session(archive, request.cookies.get(SESSION_COOKIE))
    return RedirectResponse(home_for(principal) if principal else "/login", status_code=303)


@router.get("/login", dependencies=[declared(Permission.PUBLIC)])
def login_form(request: Request, next: str = "") -> Response:
    return _login_page(request, next_=_safe_next(next) or "")


@router.post("/login", dependencies=[declared(Permission.PUBLIC)])
def login(request: Request, archive: ArchiveDep, username: Annotated[str, Form(max_length=64)],
          password: Annotated[str, Form(max_length=256)], csrf_token: Annotated[str, Form(max_length=128)] = "",
          next: Annotated[str, Form(max_length=500)] = "") -> Response:
    expected = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not expected or not secrets.compare_digest(expected, csrf_token):
        record_denial(archive, status=400, client=client_of(request), actor=username, method="POST", path="/login",
                      code="csrf", csrf=True)
        return _login_page(request, "页面已过期，请重新登录", 400, next)
    try:
        raw, principal = users.login(archive, username, password, client_of(request))
    except LantaiError as exc:
        return _login_page(request, exc.message_zh, exc.http_status, next)
    target = "/account" if principal.must_change_password else (_safe_next(next) or home_for(principal))
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(response, raw, request)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
def logout(principal: Allowed(Permission.ACCOUNT_SELF), request: Request, archive: ArchiveDep) -> Response:
    users.logout(archive, request.cookies.get(SESSION_COOKIE), principal.username)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.get("/account")
def account(principal: Allowed(Permission.ACCOUNT_SELF), request: Request) -> Response:
    return render(request, "account.html", {"message": ""})


@router.post("/account/password")
def change_password(principal: Allowed(Permission.PASSWORD_OWN), request: Request, archive: ArchiveDep,
                    old_password: Annotated[str, Form(max_length=256)],
                    new_password: Annotated[str, Form(max_length=256)]) -> Response:
    try:
        users.change_own_password(archive, principal, old_password, new_password, request.cookies.get(SESSION_COOKIE))
    except LantaiError as exc:
        return render(request, "account.html", {"message": exc.message_zh, "ok": False}, status_code=exc.http_status)
    return render(request, "account.html", {"message": "密码已修改", "ok": True})
