"""Roles, permissions and security clearances — pure rules, no I/O.

三员分立 (GB/T 39784 系统管理): the 系统管理员 manages accounts and configuration, the
安全保密管理员 manages clearances and 密级, the 安全审计员 reads the audit chain and nothing
else; no account may hold two of the three. Business roles: 档案管理员, 文书, 利用者.

密级 order: 公开 < 内部 = 限制 < 秘密 < 机密 < 绝密. An item whose 密级 is unknown ranks above
everything, so a typo never opens an item to readers (fail closed).
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    SYSADMIN = "系统管理员"
    SECADMIN = "安全保密管理员"
    AUDITOR = "安全审计员"
    ARCHIVIST = "档案管理员"
    CLERK = "文书"
    READER = "利用者"


class Permission(StrEnum):
    ITEM_READ = "item.read"  # list, browse, search, view metadata
    ITEM_DOWNLOAD = "item.download"  # watermarked access copies, previews
    SUBMIT = "submission.create"
    SUBMISSION_OWN = "submission.read_own"
    SUBMISSION_ALL = "submission.read_all"
    CHECK_RUN = "check.run"
    ARRANGE = "arrange.confirm"
    EXPORT = "export"  # catalogues and packages
    STATISTICS = "statistics.read"
    AUDIT_READ = "audit.read"  # read, verify and export the audit chain
    USER_MANAGE = "user.manage"  # accounts' existence, roles, passwords
    TOKEN_MANAGE = "token.manage"
    CLEARANCE_GRANT = "clearance.grant"
    ITEM_CLASSIFY = "item.classify"  # 密级 changes


P = Permission
ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SYSADMIN: frozenset({P.USER_MANAGE, P.TOKEN_MANAGE, P.ITEM_READ}),
    Role.SECADMIN: frozenset({P.CLEARANCE_GRANT, P.ITEM_CLASSIFY, P.ITEM_READ}),
    Role.AUDITOR: frozenset({P.AUDIT_READ}),
    Role.ARCHIVIST: frozenset({P.ITEM_READ, P.ITEM_DOWNLOAD, P.SUBMIT, P.SUBMISSION_OWN, P.SUBMISSION_ALL,
                               P.CHECK_RUN, P.ARRANGE, P.EXPORT, P.STATISTICS}),
    Role.CLERK: frozenset({P.SUBMIT, P.SUBMISSION_OWN}),
    Role.READER: frozenset({P.ITEM_READ, P.ITEM_DOWNLOAD}),
}

THREE_ADMINS = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})

PERMISSION_LABELS: dict[Permission, str] = {
    P.ITEM_READ: "浏览与检索档案", P.ITEM_DOWNLOAD: "下载利用副本", P.SUBMIT: "提交归档",
    P.SUBMISSION_OWN: "查看本人提交", P.SUBMISSION_ALL: "查看全部提交", P.CHECK_RUN: "执行检测",
    P.ARRANGE: "整理确认", P.EXPORT: "导出目录与档案包", P.STATISTICS: "查看统计",
    P.AUDIT_READ: "查阅与导出审计链", P.USER_MANAGE: "管理用户账号", P.TOKEN_MANAGE: "管理接口令牌",
    P.CLEARANCE_GRANT: "授予密级权限", P.ITEM_CLASSIFY: "变更档案密级",
}

CLEARANCE_RANK: dict[str, int] = {"公开": 0, "内部": 1, "限制": 1, "秘密": 2, "机密": 3, "绝密": 4}
CLEARANCES: tuple[str, ...] = tuple(CLEARANCE_RANK)
UNKNOWN_RANK = 99


def parse_roles(text: str) -> frozenset[Role]:
    """Roles are stored comma-separated by their Chinese names; unknown names are ignored."""
    known = {r.value: r for r in Role}
    return frozenset(known[name] for name in (p.strip() for p in text.split(",")) if name in known)


def format_roles(roles: frozenset[Role] | set[Role] | list[Role]) -> str:
    return ",".join(r.value for r in Role if r in set(roles))


def permissions_of(roles: frozenset[Role] | set[Role]) -> frozenset[Permission]:
    result: set[Permission] = set()
    for role in roles:
        result |= ROLE_PERMISSIONS[role]
    return frozenset(result)


def conflicting_admin_roles(roles: frozenset[Role] | set[Role]) -> frozenset[Role]:
    """The three administrators are separate people: holding two of them is refused."""
    held = frozenset(roles) & THREE_ADMINS
    return held if len(held) > 1 else frozenset()


def rank(level: str | None) -> int:
    return CLEARANCE_RANK.get((level or "").strip(), UNKNOWN_RANK)


def is_clearance(level: str) -> bool:
    return level in CLEARANCE_RANK


def visible_levels(clearance: str) -> tuple[str, ...]:
    """Every 密级 a holder of ``clearance`` may see (the SQL filter uses this list)."""
    limit = rank(clearance) if is_clearance(clearance) else 0
    return tuple(level for level, r in CLEARANCE_RANK.items() if r <= limit)


def may_see(clearance: str, classification: str | None) -> bool:
    return (classification or "公开") in visible_levels(clearance)
