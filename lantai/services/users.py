"""Accounts, passwords, login sessions and API tokens.

Who may do what is decided by the permission table (:mod:`lantai.domain.permissions`) through
:mod:`lantai.services.authz`; the 三员分立 rules about who may change which account are in
:mod:`lantai.services.accounts`. This module keeps the mechanics: argon2 hashes, the password
policy (:mod:`lantai.services.passwords`), login throttling (:mod:`lantai.services.throttle`),
session expiry (idle and absolute) and tokens stored as digests, with scopes and a bounded life.
Every change is appended to the audit chain.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from lantai.catalog.access import ApiToken, LoginAttempt, WebSession
from lantai.catalog.models import User
from lantai.domain.roles import (
    SCOPES,
    THREE_ADMINS,
    Permission,
    Role,
    conflicting_admin_roles,
    format_roles,
    is_clearance,
    parse_roles,
    permissions_of,
)
from lantai.errors import BadInput, Conflict, NotFound, PermissionDenied, Throttled, Unauthenticated
from lantai.services import passwords, throttle

if TYPE_CHECKING:
    from lantai.services.archive import Archive

SESSION_IDLE = dt.timedelta(minutes=30)
SESSION_ABSOLUTE = dt.timedelta(hours=12)
THROTTLE_WINDOW = throttle.WINDOW
MIN_PASSWORD_LENGTH = passwords.MIN_LENGTH
TOKEN_PREFIX = "lt_"
TOKEN_MAX_DAYS = 365
TOKEN_DEFAULT_DAYS = 90

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
    scopes: frozenset[str] | None = None  # a token's scopes; None for sessions
    must_change_password: bool = False  # initial, reset or expired password: only /account works

    @property
    def permissions(self) -> frozenset[Permission]:
        return permissions_of(self.roles, self.scopes, self.must_change_password)

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


def principal_of(user: User, via: str = "session", csrf: str = "", *, scopes: frozenset[str] | None = None,
                 max_age_days: int = 0) -> Principal:
    must_change = not user.is_service and (bool(user.must_change_password)
                                           or passwords.expired(user.password_changed_at, max_age_days, now()))
    return Principal(user.id, user.username, user.display_name or user.username, parse_roles(user.roles),
                     user.clearance or "公开", via, csrf, scopes, must_change)


# --- passwords ------------------------------------------------------------------------------------
password_problems = passwords.problems
check_password_policy = passwords.check


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


def create_user(archive: Archive, actor: str, username: str, password: str | None, *, display_name: str = "",
                roles: list[str] | frozenset[Role] = (), clearance: str = "公开", bootstrap: bool = False,
                initial: bool = False, service: bool = False) -> dict[str, Any]:
    """Create an account.

    Roles are granted at once only by a ``bootstrap`` (``lantai init``, the demo, tests); otherwise
    they wait in ``pending_roles`` until a second administrator approves them
    (:func:`lantai.services.accounts.approve`). ``initial`` passwords must be changed at the first
    login. A service account has no usable password (it authenticates by token only).
    """
    username = _valid_username(username)
    role_set = _roles_from(roles)
    _check_roles(role_set)
    if service:
        password = secrets.token_urlsafe(32) + "aA1#"
    check_password_policy(username, password or "")
    if not is_clearance(clearance):
        raise BadInput(f"未知密级 {clearance}", f"unknown clearance {clearance}")
    granted, pending = (role_set, frozenset()) if bootstrap else (frozenset(), role_set)
    try:
        with archive.session() as session:
            user = User(username=username, display_name=display_name or username,
                        password_hash=hash_password(password or ""), roles=format_roles(granted),
                        pending_roles=format_roles(pending), clearance=clearance, active=True, created_by=actor,
                        must_change_password=initial and not service, password_changed_at=now(), is_service=service)
            session.add(user)
            session.flush()
            archive.audit.append(actor, "user.created", username,
                                 {"roles": format_roles(granted), "pending_roles": format_roles(pending),
                                  "clearance": clearance, "service": service}, session=session)
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
    def names(text: str | None) -> list[str]:
        return [r.value for r in Role if r in parse_roles(text or "")]

    return {"username": user.username, "display_name": user.display_name, "roles": names(user.roles),
            "pending_roles": names(user.pending_roles), "clearance": user.clearance, "active": bool(user.active),
            "service": bool(user.is_service), "service_approved": bool(user.service_approved_by),
            "must_change_password": bool(user.must_change_password), "created_by": user.created_by or "",
            "created_at": aware(user.created_at).isoformat() if user.created_at else None}


def list_users(archive: Archive) -> list[dict[str, Any]]:
    with archive.sessions() as session:
        return [user_public(u) for u in session.scalars(select(User).order_by(User.username))]


def get_user(archive: Archive, username: str) -> dict[str, Any]:
    with archive.sessions() as session:
        return user_public(_user(session, username))


def update_user(archive: Archive, actor: str, username: str, *, display_name: str | None = None,
                roles: list[str] | None = None, active: bool | None = None) -> dict[str, Any]:
    """Low-level account change; who may call it with what is :mod:`lantai.services.accounts`'s rule.

    Nobody changes their own roles or disables themselves, whatever their role."""
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
                _revoke_tokens_of(session, user.id)
        archive.audit.append(actor, "user.updated", username, changes, session=session)
        return user_public(user)


def approve_account(archive: Archive, actor: str, username: str) -> dict[str, Any]:
    """Grant the pending roles and approve a service account (the second administrator's act)."""
    with archive.session() as session:
        user = _user(session, username)
        pending = parse_roles(user.pending_roles or "")
        _check_roles(pending)
        changes: dict[str, Any] = {}
        if pending:
            user.roles, user.pending_roles = changes["roles"] = format_roles(pending), ""
        if user.is_service and not user.service_approved_by:
            user.service_approved_by = changes["service_approved_by"] = actor
        archive.audit.append(actor, "user.approved", username, changes, session=session)
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


def _revoke_tokens_of(session: Session, user_id: int) -> None:
    session.execute(update(ApiToken).where(ApiToken.user_id == user_id, ApiToken.revoked.is_(False))
                    .values(revoked=True))


def reset_password(archive: Archive, actor: str, username: str, password: str) -> None:
    """An initial password set by an administrator: it must be changed at the next login, and
    every session and token of the account dies with the old one."""
    check_password_policy(username, password)
    with archive.session() as session:
        user = _user(session, username)
        user.password_hash = hash_password(password)
        user.must_change_password, user.password_changed_at = True, now()
        session.execute(delete(WebSession).where(WebSession.user_id == user.id))
        _revoke_tokens_of(session, user.id)
        archive.audit.append(actor, "user.password_reset", username, {}, session=session)


def change_own_password(archive: Archive, principal: Principal, old: str, new: str,
                        current_session: str | None = None) -> None:
    """Needs the old password; ends the user's other sessions and revokes their tokens."""
    with archive.session() as session:
        user = _user(session, principal.username)
        if not _verify(user.password_hash, old):
            raise BadInput("原密码不正确", "current password is wrong")
        check_password_policy(user.username, new)
        if _verify(user.password_hash, new):
            raise BadInput("新密码不能与原密码相同", "the new password must differ from the old one")
        user.password_hash = hash_password(new)
        user.must_change_password, user.password_changed_at = False, now()
        keep = digest(current_session) if current_session else ""
        session.execute(delete(WebSession).where(WebSession.user_id == user.id, WebSession.token_hash != keep))
        _revoke_tokens_of(session, user.id)
        archive.audit.append(principal.username, "user.password_changed", user.username, {}, session=session)


# --- login and sessions ---------------------------------------------------------------------------
def _reserve_attempt(archive: Archive, username: str, client: str) -> bool:
    """Count this attempt on the account and the client first (atomically); False when over a limit."""
    settings, moment = archive.settings, now()
    keys = [(throttle.account_key(username), settings.login_max_failures_per_account)]
    if client:
        keys.append((throttle.client_key(client), settings.login_max_failures_per_client))
    with archive.session() as session:
        over = [throttle.reserve(session, key, moment) > limit for key, limit in keys]
    if any(over):
        with archive.session() as session:
            for key, _limit in keys:
                throttle.release(session, key)
        return False
    return True


def login(archive: Archive, username: str, password: str, client: str = "") -> tuple[str, Principal]:
    """Check a password (throttled per account and client) and open a session; returns the raw session token."""
    username, client = (username or "").strip()[:64], (client or "")[:64]
    if not _reserve_attempt(archive, username, client):
        archive.audit.append(username or "-", "login.throttled", username, {"client": client})
        raise Throttled("登录失败次数过多，请 15 分钟后再试", "too many failed logins; try again in 15 minutes")
    with archive.session() as session:
        user = session.scalar(select(User).where(User.username == username))
        ok = (_verify(user.password_hash if user is not None else "", password) and user is not None and user.active
              and not user.is_service)
        session.add(LoginAttempt(username=username, client=client, success=ok, at=now()))
        if ok:  # a success gives back only its own reservation: earlier failures stay counted
            throttle.release(session, throttle.account_key(username))
            if client:
                throttle.release(session, throttle.client_key(client))
        else:
            archive.audit.append(username or "-", "login.failed", username, {"client": client}, session=session)
    if not ok or user is None:
        raise Unauthenticated("用户名或密码错误", "wrong username or password")
    return _open_session(archive, user, client)


def unlock(archive: Archive, actor: str, username: str) -> None:
    """Forget an account's failed logins (系统管理员)."""
    with archive.session() as session:
        _user(session, username)
        throttle.clear(session, throttle.account_key(username))
        archive.audit.append(actor, "user.unlocked", username, {}, session=session)


def _open_session(archive: Archive, user: User, client: str) -> tuple[str, Principal]:
    raw, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(24)
    moment = now()
    with archive.session() as session:
        session.add(WebSession(token_hash=digest(raw), user_id=user.id, csrf_token=csrf, created_at=moment,
                               last_seen=moment, expires_at=moment + SESSION_ABSOLUTE, client=client))
        archive.audit.append(user.username, "login.success", user.username, {"client": client}, session=session)
    return raw, principal_of(user, "session", csrf, max_age_days=archive.settings.password_max_age_days)


def principal_for(archive: Archive, username: str) -> Principal:
    """The principal of an active account, for background jobs started on its behalf.

    The job runs with the account's roles and clearance as they are when it runs (a clearance
    lowered meanwhile applies); an account deactivated meanwhile is refused.
    """

    with archive.sessions() as session:
        user = _user(session, username)
        if not user.active:
            raise PermissionDenied(f"用户 {username} 已停用", f"user {username} is inactive")
        return principal_of(user, "job")


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
        return principal_of(user, "session", row.csrf_token, max_age_days=archive.settings.password_max_age_days)


def logout(archive: Archive, raw: str | None, actor: str) -> None:
    if not raw:
        return
    with archive.session() as session:
        session.execute(delete(WebSession).where(WebSession.token_hash == digest(raw)))
        archive.audit.append(actor, "logout", actor, {}, session=session)


# --- API tokens -----------------------------------------------------------------------------------
def _valid_scopes(scopes: Any) -> frozenset[str]:
    chosen = frozenset(str(s).strip() for s in scopes or () if str(s).strip())
    unknown = chosen - set(SCOPES)
    if not chosen or unknown:
        raise BadInput(f"令牌范围须从 {'、'.join(SCOPES)} 中选择（至少一项）",
                       f"token scopes must be a non-empty subset of {', '.join(SCOPES)}", unknown=sorted(unknown))
    return chosen


def issue_token(archive: Archive, actor: str, username: str, name: str, days: int = TOKEN_DEFAULT_DAYS,
                scopes: Any = ("read",)) -> dict[str, Any]:
    """Mint a bearer token for ``username`` — no check of *who* may; callers decide that
    (:func:`lantai.services.accounts.create_token`). It always expires and always has scopes."""
    if not (1 <= int(days or 0) <= TOKEN_MAX_DAYS):
        raise BadInput(f"有效期须为 1–{TOKEN_MAX_DAYS} 天", f"validity must be 1-{TOKEN_MAX_DAYS} days")
    chosen = _valid_scopes(scopes)
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with archive.session() as session:
        user = _user(session, username)
        row = ApiToken(token_hash=digest(raw), prefix=raw[:10], user_id=user.id, name=(name or "")[:128],
                       created_by=actor, created_at=now(), expires_at=now() + dt.timedelta(days=int(days)),
                       scopes=",".join(s for s in SCOPES if s in chosen))
        session.add(row)
        session.flush()
        archive.audit.append(actor, "token.created", username,
                             {"token_id": row.id, "name": row.name, "scopes": row.scopes, "days": int(days)},
                             session=session)
        return {**token_public(row, username), "token": raw}


def create_token(archive: Archive, actor: str, username: str, name: str, days: int = TOKEN_DEFAULT_DAYS,
                 scopes: Any = ("submit",)) -> dict[str, Any]:
    """The CLI's token command (the operator on the server): only for approved service accounts."""
    with archive.sessions() as session:
        user = _user(session, username)
        if not (user.is_service and user.service_approved_by):
            raise PermissionDenied("只能为经安全保密管理员批准的服务账号签发令牌；个人令牌请本人登录后签发",
                                   "tokens from the CLI only for service accounts approved by the security administrator")
    return issue_token(archive, actor, username, name, days, scopes)


def token_public(row: ApiToken, username: str) -> dict[str, Any]:
    return {"id": row.id, "username": username, "name": row.name, "prefix": row.prefix, "created_by": row.created_by,
            "created_at": aware(row.created_at).isoformat(),
            "expires_at": aware(row.expires_at).isoformat() if row.expires_at else None,
            "last_used": aware(row.last_used).isoformat() if row.last_used else None, "revoked": bool(row.revoked),
            "scopes": [s for s in (row.scopes or "").split(",") if s]}


def list_tokens(archive: Archive, username: str | None = None) -> list[dict[str, Any]]:
    """Every token, or only ``username``'s."""
    with archive.sessions() as session:
        query = select(ApiToken, User.username).join(User, User.id == ApiToken.user_id).order_by(ApiToken.id)
        if username is not None:
            query = query.where(User.username == username)
        return [token_public(t, name) for t, name in session.execute(query).all()]


def token_owner(archive: Archive, token_id: int) -> str:
    with archive.sessions() as session:
        row = session.execute(select(User.username).join(ApiToken, ApiToken.user_id == User.id)
                              .where(ApiToken.id == token_id)).first()
    if row is None:
        raise NotFound(f"令牌 {token_id} 不存在", f"no token {token_id}")
    return row[0]


def revoke_token(archive: Archive, actor: str, token_id: int) -> None:
    with archive.session() as session:
        row = session.get(ApiToken, token_id)
        if row is None:
            raise NotFound(f"令牌 {token_id} 不存在", f"no token {token_id}")
        row.revoked = True
        archive.audit.append(actor, "token.revoked", str(token_id), {"name": row.name}, session=session)


def resolve_token(archive: Archive, raw: str | None) -> Principal | None:
    """The principal of a live token, narrowed to its scopes; tokens without an expiry are dead."""
    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    moment = now()
    with archive.session() as session:
        row = session.scalar(select(ApiToken).where(ApiToken.token_hash == digest(raw)))
        if row is None or row.revoked or row.expires_at is None or aware(row.expires_at) <= moment:
            return None
        user = session.get(User, row.user_id)
        if user is None or not user.active:
            return None
        if row.last_used is None or moment - aware(row.last_used) > dt.timedelta(seconds=60):
            row.last_used = moment
        scopes = frozenset(s for s in (row.scopes or "").split(",") if s)
        return principal_of(user, "token", scopes=scopes, max_age_days=archive.settings.password_max_age_days)


def is_admin_account(roles: frozenset[Role]) -> bool:
    return bool(roles & THREE_ADMINS)
