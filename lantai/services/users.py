"""Accounts, passwords, login sessions and API tokens.

Who may do what is decided in :mod:`lantai.services.access`; this module only keeps the rules
about accounts themselves: argon2 hashes, the password policy, login throttling, session expiry
(idle and absolute) and tokens stored as digests. Every change is appended to the audit chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lantai.catalog.access import ApiToken, LoginAttempt, WebSession
from lantai.catalog.models import User
from lantai.domain.roles import (
    Permission,
    Role,
    conflicting_admin_roles,
    format_roles,
    is_clearance,
    parse_roles,
    permissions_of,
)
from lantai.errors import BadInput, Conflict, NotFound, PermissionDenied, Throttled, Unauthenticated
from lantai.services.archive import Archive

SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_ABSOLUTE = dt.timedelta(hours=12)
THROTTLE_WINDOW = dt.timedelta(minutes=15)
MAX_FAILURES_PER_USER = 5
MAX_FAILURES_PER_CLIENT = 20
MIN_PASSWORD_LENGTH = 10
TOKEN_PREFIX = "lt_"

_hasher = PasswordHasher()
# Verifying against this keeps the time of "no such user" equal to "wrong password".
_DUMMY_HASH = _hasher.hash("lantai-dummy-password")


@dataclass(frozen=True)
class Principal:
    """The authenticated caller, as every service sees it."""

    user_id: int
    username: str
    display_name: str
    roles: frozenset[Role]
    clearance: str
    via: str = "session"  # "session", "token" or "cli"
    csrf_token: str = ""

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles)

    def can(self, permission: Permission) -> bool:
        return permission in self.permissions

    @property
    def role_names(self) -> list[str]:
        return [r.value for r in Role if r in self.roles]


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def aware(value: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; everything here is UTC."""
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def principal_of(user: User, via: str = "session", csrf: str = "") -> Principal:
    return Principal(user.id, user.username, user.display_name or user.username, parse_roles(user.roles),
                     user.clearance or "公开", via, csrf)


# --- passwords ------------------------------------------------------------------------------------
def password_problems(username: str, password: str) -> list[str]:
    """Why a password is refused (empty when it is acceptable)."""
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(f"密码长度至少 {MIN_PASSWORD_LENGTH} 位")
    if len(password) > 256:
        problems.append("密码长度不能超过 256 位")
    classes = [any(c.islower() for c in password), any(c.isupper() for c in password),
               any(c.isdigit() for c in password), any(not c.isalnum() for c in password)]
    if sum(classes) < 3:
        problems.append("密码须包含大写字母、小写字母、数字、符号中的至少三类")
    if username and username.lower() in password.lower():
        problems.append("密码不能包含用户名")
    return problems


def check_password_policy(username: str, password: str) -> None:
    problems = password_problems(username, password)
    if problems:
        raise BadInput("密码不符合要求：" + "；".join(problems), "password does not meet the policy",
                       problems=problems)


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored or _DUMMY_HASH, password) and bool(stored)
    except (VerificationError, InvalidHashError):
        return False


# --- accounts -------------------------------------------------------------------------------------
def _user(session: Session, username: str) -> User:
    user = session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"用户 {username} 不存在", f"no user {username}")
    return user


def _check_roles(roles: frozenset[Role]) -> None:
    clash = conflicting_admin_roles(roles)
    if clash:
        names = "、".join(r.value for r in Role if r in clash)
        raise BadInput(f"三员分立：同一账号不能同时担任 {names}", "one account may not hold two administrator roles",
                       roles=sorted(r.value for r in clash))


def _valid_username(username: str) -> str:
    name = (username or "").strip()
    if not (2 <= len(name) <= 64) or any(c.isspace() or c in "/\\:,<>\"'" for c in name):
        raise BadInput("用户名须为 2–64 个字符，且不含空白和特殊符号", "username must be 2-64 characters without spaces")
    return name


def create_user(archive: Archive, actor: str, username: str, password: str, *, display_name: str = "",
                roles: list[str] | frozenset[Role] = (), clearance: str = "公开") -> dict[str, Any]:
    """Create an account. Clearance above 公开 is granted here only by the CLI bootstrap."""
    username = _valid_username(username)
    role_set = _roles_from(roles)
    _check_roles(role_set)
    check_password_policy(username, password)
    if not is_clearance(clearance):
        raise BadInput(f"未知密级 {clearance}", f"unknown clearance {clearance}")
    try:
        with archive.session() as session:
            user = User(username=username, display_name=display_name or username, password_hash=hash_password(password),
                        roles=format_roles(role_set), clearance=clearance, active=True)
            session.add(user)
            session.flush()
            archive.audit.append(actor, "user.created", username,
                                 {"roles": format_roles(role_set), "clearance": clearance}, session=session)
            return user_public(user)
    except IntegrityError as exc:
        raise Conflict(f"用户 {username} 已存在", f"user {username} already exists") from exc


def _roles_from(roles: Any) -> frozenset[Role]:
    result = set()
    for role in roles:
        try:
            result.add(Role(role))
        except ValueError as exc:
            raise BadInput(f"未知角色 {role}", f"unknown role {role}", role=str(role)) from exc
    return frozenset(result)


def user_public(user: User) -> dict[str, Any]:
    return {"username": user.username, "display_name": user.display_name, "roles": [r.value for r in Role
            if r in parse_roles(user.roles)], "clearance": user.clearance, "active": bool(user.active),
            "created_at": aware(user.created_at).isoformat() if user.created_at else None}


def list_users(archive: Archive) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        return [user_public(u) for u in session.scalars(select(User).order_by(User.username))]


def get_user(archive: Archive, username: str) -> dict[str, Any]:
    with archive.sessions() as session:
        return user_public(_user(session, username))


def update_user(archive: Archive, actor: str, username: str, *, display_name: str | None = None,
                roles: list[str] | None = None, active: bool | None = None) -> dict[str, Any]:
    """Accounts and roles (系统管理员). Nobody changes their own roles or disables themselves."""
    with archive.session() as session:
        user = _user(session, username)
        changes: dict[str, Any] = {}
        if (roles is not None or active is False) and username == actor:
            raise PermissionDenied("不能修改自己的角色或停用自己的账号", "you may not change your own roles or disable yourself")
        if roles is not None:
            role_set = _roles_from(roles)
            _check_roles(role_set)
            user.roles = changes["roles"] = format_roles(role_set)
        if display_name is not None:
            user.display_name = changes["display_name"] = display_name.strip()[:128]
        if active is not None:
            user.active = changes["active"] = bool(active)
            if not active:
                session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        archive.audit.append(actor, "user.updated", username, changes, session=session)
        return user_public(user)


def set_clearance(archive: Archive, actor: str, username: str, clearance: str) -> dict[str, Any]:
    """Clearances (安全保密管理员). Nobody grants a clearance to themselves."""
    if not is_clearance(clearance):
        raise BadInput(f"未知密级 {clearance}", f"unknown clearance {clearance}")
    if username == actor:
        raise PermissionDenied("不能变更自己的密级权限", "you may not change your own clearance")
    with archive.session() as session:
        user = _user(session, username)
        before, user.clearance = user.clearance, clearance
        archive.audit.append(actor, "user.clearance", username, {"from": before, "to": clearance}, session=session)
        return user_public(user)


def reset_password(archive: Archive, actor: str, username: str, password: str) -> None:
    check_password_policy(username, password)
    with archive.session() as session:
        user = _user(session, username)
        user.password_hash = hash_password(password)
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        archive.audit.append(actor, "user.password_reset", username, {}, session=session)


def change_own_password(archive: Archive, principal: Principal, old: str, new: str) -> None:
    with archive.session() as session:
        user = _user(session, principal.username)
        if not _verify(user.password_hash, old):
            raise BadInput("原密码不正确", "current password is wrong")
        check_password_policy(user.username, new)
        user.password_hash = hash_password(new)
        archive.audit.append(principal.username, "user.password_changed", user.username, {}, session=session)


# --- login and sessions ---------------------------------------------------------------------------
def _recent_failures(session: Session, column: Any, value: str) -> int:
    since = now() - THROTTLE_WINDOW
    last_ok = session.scalar(select(func.max(LoginAttempt.at)).where(column == value, LoginAttempt.success.is_(True)))
    if last_ok is not None:
        since = max(since, aware(last_ok))
    return session.scalar(select(func.count(LoginAttempt.id)).where(
        column == value, LoginAttempt.success.is_(False), LoginAttempt.at > since)) or 0


def login(archive: Archive, username: str, password: str, client: str = "") -> tuple[str, Principal]:
    """Check a password (throttled) and open a session; returns the raw session token."""
    username, client = (username or "").strip()[:64], (client or "")[:64]
    with archive.session() as session:
        throttled = (_recent_failures(session, LoginAttempt.username, username) >= MAX_FAILURES_PER_USER
                     or bool(client and _recent_failures(session, LoginAttempt.client, client) >= MAX_FAILURES_PER_CLIENT))
    if throttled:
        archive.audit.append(username or "-", "login.throttled", username, {"client": client})
        raise Throttled("登录失败次数过多，请 15 分钟后再试", "too many failed logins; try again in 15 minutes")
    with archive.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        ok = _verify(user.password_hash if user is not None else "", password) and user is not None and user.active
        session.add(LoginAttempt(username=username, client=client, success=ok, at=now()))
        if not ok:
            archive.audit.append(username or "-", "login.failed", username, {"client": client}, session=session)
    if not ok or user is None:
        raise Unauthenticated("用户名或密码错误", "wrong username or password")
    return _open_session(archive, user, client)


def _open_session(archive: Archive, user: User, client: str) -> tuple[str, Principal]:
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    moment = now()
    with archive.session() as session:
        session.add(WebSession(token_hash=digest(raw), user_id=user.id, csrf_token=csrf, created_at=moment,
                               last_seen=moment, expires_at=moment + SESSION_ABSOLUTE, client=client))
        archive.audit.append(user.username, "login.success", user.username, {"client": client}, session=session)
    return raw, principal_of(user, "session", csrf)


def resolve_session(archive: Archive, raw: str | None) -> Principal | None:
    """The principal of a live session; expired sessions are deleted on sight."""
    if not raw:
        return None
    moment = now()
    with archive.session() as session:
        row = session.scalar(select(WebSession).where(WebSession.token_hash == digest(raw)))
        if row is None:
            return None
        if aware(row.expires_at) <= moment or aware(row.last_seen) + SESSION_IDLE <= moment:
            session.delete(row)
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if moment - aware(row.last_seen) > dt.timedelta(seconds=60):  # limit writes to one a minute
            row.last_seen = moment
        return principal_of(user, "session", row.csrf_token)


def logout(archive: Archive, raw: str | None, actor: str) -> None:
    if not raw:
        return
    with archive.session() as session:
        session.execute(delete(WebSession).where(WebSession.token_hash == digest(raw)))
        archive.audit.append(actor, "logout", actor, {}, session=session)


# --- API tokens -----------------------------------------------------------------------------------
def create_token(archive: Archive, actor: str, username: str, name: str, days: int | None = 365) -> dict[str, Any]:
    """A bearer token for ``username``; the secret is shown once and stored only as a digest."""
    if days is not None and not (1 <= days <= 3650):
        raise BadInput("有效期须为 1–3650 天", "validity must be 1-3650 days")
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with archive.session() as session:
        user = _user(session, username)
        expires = now() + dt.timedelta(days=days) if days else None
        row = ApiToken(token_hash=digest(raw), prefix=raw[:10], user_id=user.id, name=(name or "")[:128],
                       created_by=actor, created_at=now(), expires_at=expires)
        session.add(row)
        session.flush()
        archive.audit.append(actor, "token.created", username, {"token_id": row.id, "name": row.name}, session=session)
        return {**token_public(row, username), "token": raw}


def token_public(row: ApiToken, username: str) -> dict[str, Any]:
    return {"id": row.id, "username": username, "name": row.name, "prefix": row.prefix, "created_by": row.created_by,
            "created_at": aware(row.created_at).isoformat(),
            "expires_at": aware(row.expires_at).isoformat() if row.expires_at else None,
            "last_used": aware(row.last_used).isoformat() if row.last_used else None, "revoked": bool(row.revoked)}


def list_tokens(archive: Archive) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        rows = session.execute(select(ApiToken, User.username).join(User, User.id == ApiToken.user_id)
                               .order_by(ApiToken.id)).all()
        return [token_public(t, name) for t, name in rows]


def revoke_token(archive: Archive, actor: str, token_id: int) -> None:
    with archive.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"令牌 {token_id} 不存在", f"no token {token_id}")
        row.revoked = True
        archive.audit.append(actor, "token.revoked", str(token_id), {"name": row.name}, session=session)


def resolve_token(archive: Archive, raw: str | None) -> Principal | None:
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    moment = now()
    with archive.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
        if row is None or row.revoked or (row.expires_at and aware(row.expires_at) <= moment):
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if row.last_used is None or moment - aware(row.last_used) > dt.timedelta(seconds=60):
            row.last_used = moment
        return principal_of(user, "token")
