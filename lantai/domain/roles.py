"""Roles, permissions and security clearances — pure rules, no I/O.

Roles and the permission table live in :mod:`lantai.domain.permissions` (三员分立); they are
re-exported here for existing imports. Business roles: 档案管理员, 文书, 利用者.

密级 order: 公开 < 内部 = 限制 < 秘密 < 机密 < 绝密. An item whose 密级 is unknown ranks above
everything, so a typo never opens an item to readers (fail closed).
"""

from __future__ import annotations

from lantai.domain.permissions import (  # noqa: F401  (re-exported: the one table lives there)
    BUSINESS_ROLES,
    PERMISSION_LABELS,
    ROLE_PERMISSIONS,
    SCOPES,
    THREE_ADMINS,
    Permission,
    Role,
    permissions_of,
    role_conflicts,
)

CLEARANCE_RANK: dict[str, int] = {"公开": 0, "内部": 1, "限制": 1, "秘密": 2, "机密": 3, "绝密": 4}
CLEARANCES: tuple[str, ...] = tuple(CLEARANCE_RANK)
UNKNOWN_RANK = 99
# The actor of work the archive does by itself (recovery, replication, scheduled fixity).
SYSTEM_ACTOR = "system"


def parse_roles(text: str) -> frozenset[Role]:
    """Roles are stored comma-separated by their Chinese names; unknown names are ignored."""
    known = {r.value: r for r in Role}
    return frozenset(known[name] for name in (p.strip() for p in text.split(",")) if name in known)


def format_roles(roles: frozenset[Role] | set[Role] | list[Role]) -> str:
    return ",".join(r.value for r in Role if r in set(roles))


def conflicting_admin_roles(roles: frozenset[Role] | set[Role]) -> frozenset[Role]:
    """The three administrators are separate people: an administrator role is held alone."""
    return role_conflicts(roles)


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
