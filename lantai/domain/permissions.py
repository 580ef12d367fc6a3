"""The one permission table: role → actions, and token scope → actions. Pure data, no I/O.

三员分立 as GB/T 39784 / 分级保护 practice has it:

* 系统管理员 runs the system: settings and reference data, accounts (create, disable, unlock,
  initial passwords). It never assigns roles or clearance, never acts as or issues credentials
  for another user, and reads neither records (content or metadata) nor the audit log.
* 安全保密管理员 assigns business roles and clearance (never above its own), changes 密级, approves
  service accounts and further administrator accounts. It creates no accounts and changes no
  system settings.
* 安全审计员 reads, filters, exports and verifies the audit log of everyone, and changes nothing.

Every API and web route declares one of these actions (:func:`lantai.services.authz.Allowed`);
the matrix test walks the routes and fails on a route that declares none. A bearer token's
actions are its owner's actions narrowed to the token's scopes.
"""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    """An action a route performs. ``PUBLIC`` routes need no login; ``ACCOUNT_SELF`` only one."""

    PUBLIC = "public"  # login page, API docs: no authentication
    ACCOUNT_SELF = "account.self"  # who am I, log out
    PASSWORD_OWN = "password.own"  # change one's own password (needs the old one)
    TOKEN_OWN = "token.own"  # issue, list and revoke one's own API tokens
    ITEM_READ = "item.read"  # list, browse, search, view metadata
    ITEM_DOWNLOAD = "item.download"  # watermarked access copies, previews
    SUBMIT = "submission.create"
    SUBMISSION_OWN = "submission.read_own"
    SUBMISSION_ALL = "submission.read_all"
    CHECK_RUN = "check.run"
    ARRANGE = "arrange.confirm"
    EXPORT = "export"  # catalogues and packages
    STATISTICS = "statistics.read"
    REFERENCE_READ = "reference.read"  # fonds, categories, 档号 rules, 保管期限表
    SETTINGS_MANAGE = "settings.manage"  # reference data and system settings
    AUDIT_READ = "audit.read"  # read, filter, verify and export the audit chain
    USER_LIST = "user.list"  # see accounts (both account administrators need the list)
    USER_MANAGE = "user.manage"  # create, disable, unlock accounts; initial passwords
    ROLE_ASSIGN = "role.assign"  # business roles of other accounts
    CLEARANCE_GRANT = "clearance.grant"  # clearance of other accounts, never above one's own
    ACCOUNT_APPROVE = "account.approve"  # further administrator accounts, service accounts
    TOKEN_MANAGE = "token.manage"  # all tokens: list, revoke; tokens for approved service accounts
    ITEM_CLASSIFY = "item.classify"  # 密级 changes
    ITEM_CORRECT = "item.correct"  # 著录更正: descriptive metadata corrected with a reason (a new version)
    USE_REQUEST = "use.request"  # 利用申请: ask for items, see one's own requests and grants
    USE_APPROVE = "use.approve"  # 利用审批 (档案管理员): decide requests, list and revoke grants
    USE_SECURITY_APPROVE = "use.approve_secret"  # second approval for 秘密 and above (安全保密管理员)
    USE_REGISTER = "use.register"  # 利用登记簿 and its statistics
    JOB_READ = "job.read_all"  # every background job's state and progress (one's own jobs: everyone)
    METRICS = "system.metrics"  # Prometheus /metrics (/healthz and /readyz are public: they say only up or not)
    PRESERVATION_READ = "preservation.read"  # 保存状态: roots, replication lag, fixity coverage, repairs
    APPRAISE = "appraisal.manage"  # 到期/开放鉴定: open campaigns, decide, submit, execute (密级鉴定: item.classify)
    APPRAISE_APPROVE = "appraisal.approve"  # 鉴定小组: approve or reject a submitted campaign
    DESTROY = "destruction.execute"  # phase 2 of a destruction (监销), by someone other than the proposer
    HOLD = "hold.manage"  # 冻结: place, list and lift holds


class Role(StrEnum):
    SYSADMIN = "系统管理员"
    SECADMIN = "安全保密管理员"
    AUDITOR = "安全审计员"
    ARCHIVIST = "档案管理员"
    CLERK = "文书"
    READER = "利用者"


P = Permission
EVERYONE = frozenset({P.ACCOUNT_SELF, P.PASSWORD_OWN, P.TOKEN_OWN})

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.SYSADMIN: EVERYONE | {P.USER_LIST, P.USER_MANAGE, P.SETTINGS_MANAGE, P.REFERENCE_READ, P.JOB_READ,
                               P.METRICS, P.PRESERVATION_READ},
    Role.SECADMIN: EVERYONE | {P.USER_LIST, P.ROLE_ASSIGN, P.CLEARANCE_GRANT, P.ACCOUNT_APPROVE, P.TOKEN_MANAGE,
                               P.ITEM_READ, P.ITEM_CLASSIFY, P.USE_SECURITY_APPROVE, P.APPRAISE_APPROVE, P.HOLD},
    Role.AUDITOR: EVERYONE | {P.AUDIT_READ},
    Role.ARCHIVIST: EVERYONE | {P.ITEM_READ, P.ITEM_DOWNLOAD, P.SUBMIT, P.SUBMISSION_OWN, P.SUBMISSION_ALL,
                                P.CHECK_RUN, P.ARRANGE, P.EXPORT, P.STATISTICS, P.REFERENCE_READ,
                                P.USE_REQUEST, P.USE_APPROVE, P.USE_REGISTER, P.JOB_READ, P.PRESERVATION_READ,
                                P.APPRAISE, P.APPRAISE_APPROVE, P.DESTROY, P.HOLD, P.ITEM_CORRECT},
    Role.CLERK: EVERYONE | {P.SUBMIT, P.SUBMISSION_OWN},
    Role.READER: EVERYONE | {P.ITEM_READ, P.ITEM_DOWNLOAD, P.USE_REQUEST},
}

THREE_ADMINS = frozenset({Role.SYSADMIN, Role.SECADMIN, Role.AUDITOR})
BUSINESS_ROLES = frozenset(Role) - THREE_ADMINS

# Token scopes: what a bearer token may do is its owner's permissions ∩ its scopes. Issuing tokens
# and changing a password are never available to a token (a leaked token cannot mint more).
SCOPE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "read": frozenset({P.ITEM_READ, P.ITEM_DOWNLOAD, P.SUBMISSION_OWN, P.SUBMISSION_ALL, P.STATISTICS, P.EXPORT,
                       P.REFERENCE_READ, P.USER_LIST, P.USE_REQUEST, P.USE_REGISTER, P.JOB_READ, P.METRICS,
                       P.PRESERVATION_READ}),
    "submit": frozenset({P.SUBMIT, P.SUBMISSION_OWN}),
    "write": frozenset({P.CHECK_RUN, P.ARRANGE, P.ITEM_CLASSIFY, P.ITEM_CORRECT, P.USE_APPROVE, P.USE_SECURITY_APPROVE, P.APPRAISE,
                        P.APPRAISE_APPROVE, P.DESTROY, P.HOLD}),
    "audit": frozenset({P.AUDIT_READ}),
    "admin": frozenset({P.USER_MANAGE, P.ROLE_ASSIGN, P.CLEARANCE_GRANT, P.ACCOUNT_APPROVE, P.TOKEN_MANAGE,
                        P.SETTINGS_MANAGE}),
}
SCOPES: tuple[str, ...] = tuple(SCOPE_PERMISSIONS)
TOKEN_ALWAYS = frozenset({P.ACCOUNT_SELF})
# While an initial or expired password must be changed, only this much is possible.
MUST_CHANGE_ALLOWED = frozenset({P.PUBLIC, P.ACCOUNT_SELF, P.PASSWORD_OWN})

PERMISSION_LABELS: dict[Permission, str] = {
    P.PUBLIC: "公开页面", P.ACCOUNT_SELF: "本人账号", P.PASSWORD_OWN: "修改本人密码", P.TOKEN_OWN: "本人接口令牌",
    P.ITEM_READ: "浏览与检索档案", P.ITEM_DOWNLOAD: "下载利用副本", P.SUBMIT: "提交归档",
    P.SUBMISSION_OWN: "查看本人提交", P.SUBMISSION_ALL: "查看全部提交", P.CHECK_RUN: "执行检测",
    P.ARRANGE: "整理确认", P.EXPORT: "导出目录与档案包", P.STATISTICS: "查看统计", P.REFERENCE_READ: "查看参考数据",
    P.SETTINGS_MANAGE: "系统设置与参考数据", P.AUDIT_READ: "查阅、校验与导出审计日志", P.USER_LIST: "查看账号",
    P.USER_MANAGE: "创建、停用、解锁账号与初始密码", P.ROLE_ASSIGN: "分配业务角色", P.CLEARANCE_GRANT: "授予密级权限",
    P.ACCOUNT_APPROVE: "审批管理员账号与服务账号", P.TOKEN_MANAGE: "管理全部令牌、为服务账号签发令牌",
    P.ITEM_CLASSIFY: "变更档案密级", P.ITEM_CORRECT: "著录更正", P.USE_REQUEST: "利用申请", P.USE_APPROVE: "利用审批与授权管理",
    P.USE_SECURITY_APPROVE: "涉密利用保密审核", P.USE_REGISTER: "利用登记簿与利用统计",
    P.JOB_READ: "查看全部后台作业", P.METRICS: "运行指标（Prometheus）",
    P.PRESERVATION_READ: "查看保存状态（副本、固定性与修复）",
    P.APPRAISE: "到期与开放鉴定", P.APPRAISE_APPROVE: "鉴定审批（鉴定小组）", P.DESTROY: "监督销毁（第二阶段）",
    P.HOLD: "档案冻结与解冻",
}


def permissions_of(roles: frozenset[Role] | set[Role], scopes: frozenset[str] | None = None,
                   must_change_password: bool = False) -> frozenset[Permission]:
    """What a caller may do: the union over roles, narrowed by token scopes and a pending password change."""
    result: set[Permission] = set(EVERYONE)  # an account without roles still manages itself
    for role in roles:
        result |= ROLE_PERMISSIONS[role]
    if scopes is not None:
        allowed = set(TOKEN_ALWAYS).union(*(SCOPE_PERMISSIONS.get(s, frozenset()) for s in scopes))
        result &= allowed
    if must_change_password:
        result &= MUST_CHANGE_ALLOWED
    return frozenset(result)


def role_conflicts(roles: frozenset[Role] | set[Role]) -> frozenset[Role]:
    """Roles that may not be held together: an administrator role with any other role."""
    held = frozenset(roles)
    admins = held & THREE_ADMINS
    if admins and len(held) > 1:
        return held
    return frozenset()


def role_table_markdown() -> str:
    """The permission table as the Markdown table in the README (a test keeps the two equal)."""
    roles = list(Role)
    lines = ["| 操作 (action) | " + " | ".join(r.value for r in roles) + " | 令牌范围 (scope) |",
             "|---|" + "---|" * len(roles) + "---|"]
    for permission in Permission:
        if permission is P.PUBLIC:
            continue
        marks = " | ".join("✓" if permission in ROLE_PERMISSIONS[r] else "" for r in roles)
        scopes = ", ".join(s for s, granted in SCOPE_PERMISSIONS.items() if permission in granted)
        scope_text = scopes or ("所有令牌" if permission in TOKEN_ALWAYS else "仅登录会话")
        lines.append(f"| {PERMISSION_LABELS[permission]} `{permission.value}` | {marks} | {scope_text} |")
    return "\n".join(lines)
