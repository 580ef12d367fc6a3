"""利用 (use) vocabulary and rules — pure, no I/O.

利用目的 and 利用方式 as archives record them in the 利用登记簿; the states an access request
(利用申请) passes through; and which 密级 need the second approval by the 安全保密管理员.
"""

from __future__ import annotations

from enum import StrEnum

from lantai.domain.roles import CLEARANCE_RANK, rank

PURPOSES: tuple[str, ...] = ("工作查考", "编史修志", "学术研究", "经济建设", "宣传教育", "其他")
# 利用效果, as the reader reports it on an approved request (the 利用效果登记 of the 利用登记簿).
EFFECTS: tuple[str, ...] = ("解决问题", "部分解决", "未解决")
OTHER_PURPOSE = "其他"


class Method(StrEnum):
    """利用方式: what a grant allows and what a register entry records."""

    VIEW = "在线阅览"
    DOWNLOAD = "下载"
    PRINT = "打印"
    COPY = "复制"


METHODS: tuple[str, ...] = tuple(m.value for m in Method)
REFERENCE_KINDS = ("record_id", "archival_code", "document_number")  # 电子文件号, 档号, 文号
REFERENCE_LABELS = {"record_id": "电子文件号", "archival_code": "档号", "document_number": "文号"}
MAX_ITEMS_PER_REQUEST = 200
MAX_GRANT_DAYS = 366


class Status(StrEnum):
    """Where a request stands. ``SECURITY_PENDING``: the 档案管理员 agreed, the 安全保密管理员 has not yet."""

    PENDING = "待审批"
    SECURITY_PENDING = "待保密审核"
    APPROVED = "已批准"
    REJECTED = "未批准"


OPEN_STATES = frozenset({Status.PENDING, Status.SECURITY_PENDING})
OPEN_CONTROL = "开放"
DEFAULT_TWO_STEP_LEVELS = "秘密,机密,绝密"


def parse_levels(text: str) -> frozenset[str]:
    """``LANTAI_USE_TWO_STEP_LEVELS``: comma-separated 密级; unknown names are refused by the caller."""
    return frozenset(p.strip() for p in (text or "").split(",") if p.strip())


def unknown_levels(levels: frozenset[str]) -> list[str]:
    return sorted(level for level in levels if level not in CLEARANCE_RANK)


def needs_security_step(item_levels: list[str], two_step: frozenset[str]) -> bool:
    """Two-step approval when any requested item carries a configured 密级 (an unknown one: always)."""
    return any(level in two_step or level not in CLEARANCE_RANK for level in item_levels)


def may_approve_levels(clearance: str, item_levels: list[str]) -> bool:
    """An approver must hold clearance at least as high as every item of the request."""
    return all(rank(level) <= rank(clearance) for level in item_levels)


def purpose_text(purpose: str, detail: str) -> str:
    """How the register prints a purpose: ``其他（说明）`` for the free-text case."""
    return f"{purpose}（{detail}）" if purpose == OTHER_PURPOSE and detail else purpose


def method_list(text: str) -> list[str]:
    """Methods are stored as ``,在线阅览,下载,`` so a SQL ``LIKE`` finds one exactly."""
    return [m for m in text.strip(",").split(",") if m]


def method_text(methods: list[str]) -> str:
    ordered = [m for m in METHODS if m in set(methods)]
    return "," + ",".join(ordered) + ","
