"""Appraisal (鉴定) and disposition rules — pure, no I/O.

Three kinds of appraisal campaign (鉴定任务) and what makes an item due for each:

* **到期鉴定** — the retention period (保管期限) ends. 定期 periods are counted from the year
  after the 年度 (国家档案局令第8号 practice): an item of 年度 2015 kept 定期10年 is kept through
  2016–2025, so it is due by the end of 2025 = 年度 + years. 永久 is never due.
* **开放鉴定** — the 2020 Archives Law (§27) opens records 25 years after they were formed;
  economic, scientific, technical and cultural records may open earlier. The opening age is 25
  by default and shorter per 类别号 when configured (``KJ=10``). Items already 开放 are not due.
* **密级鉴定** — a classified item (秘密, 机密, 绝密) whose 保密期限 has passed: the period written
  in ``保密期限`` (``10年``, ``秘密★10年``) or, when none is written, the statutory longest periods
  of the 保守国家秘密法 (§15: 绝密 30, 机密 20, 秘密 10 years) counted from the 年度 like retention.

Each kind allows its own decisions (:data:`DECISIONS`); destruction only in a 到期 campaign.
A campaign is approved by an 鉴定小组 of at least two named approvers, none of them the
proposer (:func:`committee_problem`); 密级 decisions are made by the 安全保密管理员 only.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from lantai.domain.retention import ScheduleError, normalise_retention, retention_rank, retention_years
from lantai.domain.roles import CLEARANCE_RANK, rank


class Kind(StrEnum):
    """鉴定类型: what a campaign appraises."""

    EXPIRY = "到期"
    OPENING = "开放"
    SECRECY = "密级"


class Decision(StrEnum):
    """鉴定意见 for one item."""

    DESTROY = "销毁"  # 到期: phase 1 marks 待销毁, phase 2 deletes the content
    EXTEND = "延长"  # 到期: keep, with a longer retention
    KEEP = "保持"  # any kind: keep as it is (an event is recorded)
    OPEN = "开放"  # 开放: 控制标识 开放
    CONTROL = "控制"  # 开放: 控制标识 控制, with the 控制使用 reason
    DECLASSIFY = "解密"  # 密级: 密级 公开
    DOWNGRADE = "降密"  # 密级: a lower 密级


DECISIONS: dict[Kind, tuple[Decision, ...]] = {
    Kind.EXPIRY: (Decision.DESTROY, Decision.EXTEND, Decision.KEEP),
    Kind.OPENING: (Decision.OPEN, Decision.CONTROL),
    Kind.SECRECY: (Decision.DECLASSIFY, Decision.DOWNGRADE, Decision.KEEP),
}
KIND_LABELS = {Kind.EXPIRY: "到期鉴定", Kind.OPENING: "开放鉴定", Kind.SECRECY: "密级鉴定"}
# 控制使用 reasons (档案法 §27, 档案开放办法): why an item stays controlled after 开放鉴定.
CONTROL_REASONS: tuple[str, ...] = ("涉及国家秘密", "涉及个人隐私", "涉及商业秘密", "涉及工作秘密", "其他")


class Status(StrEnum):
    """Where a campaign stands."""

    DRAFT = "草稿"  # proposed; decisions are being made
    SUBMITTED = "待审批"  # with the 鉴定小组
    APPROVED = "已批准"
    EXECUTED = "已执行"  # decisions applied; for destruction: items 待销毁 (phase 1)
    DESTROYED = "已销毁"  # phase 2 done: content deleted, 销毁清册 archived


class ItemState(StrEnum):
    """Where one campaign item stands."""

    PROPOSED = "待鉴定"
    DECIDED = "已鉴定"
    APPLIED = "已执行"
    PENDING_DESTRUCTION = "待销毁"
    DESTROYED = "已销毁"
    HELD = "冻结中"  # a hold stopped its destruction; it waits until the hold is lifted


CLASSIFIED = ("秘密", "机密", "绝密")
STATUTORY_SECRECY_YEARS = {"秘密": 10, "机密": 20, "绝密": 30}
DEFAULT_OPENING_AGE = 25
MIN_APPROVERS = 2
MAX_REASON = 500


class AppraisalRuleError(ValueError):
    """A decision or campaign that breaks the rules; carries Chinese and English text."""

    def __init__(self, message_zh: str, message_en: str) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en = message_zh, message_en


def parse_kind(text: str) -> Kind:
    """``到期``, ``到期鉴定`` or the English names ``expiry``, ``opening``, ``secrecy``."""
    value = (text or "").strip().removesuffix("鉴定")
    english = {"expiry": Kind.EXPIRY, "opening": Kind.OPENING, "secrecy": Kind.SECRECY}
    if value in english:
        return english[value]
    try:
        return Kind(value)
    except ValueError:
        raise AppraisalRuleError(f"鉴定类型须为 到期、开放 或 密级：{text!r}",
                                 f"appraisal type must be 到期, 开放 or 密级: {text!r}") from None


# --- what is due -----------------------------------------------------------------------------------
def retention_end_year(year: int | None, retention: str) -> int | None:
    """The last year an item is kept: 年度 + years (定期 counts from the next year); None for 永久 or unknown."""
    if year is None:
        return None
    try:
        years = retention_years(retention)
    except ScheduleError:
        return None
    return None if years is None else year + years


def expiry_cutoffs(retentions: list[str], year: int) -> dict[str, int]:
    """For each stored retention value, the latest 年度 that is due by the end of ``year``.

    The catalogue keeps 保管期限 as submitted (``10年``, ``D10``, ``定期10年``); each distinct value
    maps to one 年度 bound, so a proposal over millions of rows is one indexed query per value.
    """
    cutoffs: dict[str, int] = {}
    for value in retentions:
        try:
            years = retention_years(value)
        except ScheduleError:
            continue
        if years is not None:
            cutoffs[value] = year - years
    return cutoffs


def parse_opening_ages(text: str) -> dict[str, int]:
    """``LANTAI_APPRAISAL_OPENING_AGES``: ``KJ=10,JJ=15`` — 类别号 opening earlier than 25 years."""
    ages: dict[str, int] = {}
    for part in (p.strip() for p in (text or "").replace("，", ",").split(",")):
        if not part:
            continue
        category, sep, value = part.partition("=")
        if not sep or not category.strip() or not value.strip().isdigit() or not 0 < int(value) <= 100:
            raise AppraisalRuleError(f"开放年限配置无效：{part!r}（应为 类别号=年数）",
                                     f"bad opening age entry {part!r} (expected CATEGORY=YEARS)")
        ages[category.strip()] = int(value)
    return ages


def opening_age(category: str, ages: dict[str, int], default: int = DEFAULT_OPENING_AGE) -> int:
    return ages.get(category, default)


def opening_due(year: int | None, category: str, ages: dict[str, int], by_year: int,
                default: int = DEFAULT_OPENING_AGE) -> bool:
    """Formed in ``year``, the item reaches its opening age during ``year + age``."""
    return year is not None and year + opening_age(category, ages, default) <= by_year


_YEARS = re.compile(r"(\d{1,3})\s*年")


def secrecy_years(level: str, period: str) -> int | None:
    """Years an item stays classified: the written 保密期限, else the statutory longest; None if unclassified.

    ``长期`` (or any period that cannot be read) never expires by itself — it is reviewed only when
    someone asks, so it is not proposed.
    """
    if level not in CLASSIFIED:
        return None
    text = (period or "").strip()
    if not text:
        return STATUTORY_SECRECY_YEARS[level]
    found = _YEARS.search(text)
    return int(found.group(1)) if found else None


def secrecy_due(year: int | None, level: str, period: str, by_year: int) -> bool:
    years = secrecy_years(level, period)
    return year is not None and years is not None and year + years <= by_year


# --- decisions -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ItemFacts:
    """What a decision is checked against: the item as the catalogue holds it."""

    retention: str = ""
    security: str = "公开"
    control: str = ""


@dataclass(frozen=True)
class CheckedDecision:
    """A decision that passed :func:`check_decision`: the normalised new value and the reason."""

    decision: Decision
    value: str
    reason: str


def parse_decision(text: str) -> Decision:
    try:
        return Decision((text or "").strip())
    except ValueError:
        names = "、".join(d.value for d in Decision)
        raise AppraisalRuleError(f"鉴定意见须为：{names}", f"decision must be one of {names}") from None


def check_decision(kind: Kind, decision: Decision, facts: ItemFacts, *, value: str = "", reason: str = "",
                   held: bool = False) -> CheckedDecision:
    """Refuse a decision the campaign's kind does not allow or the item cannot take; normalise it.

    ``value`` is the new 保管期限 (延长), the new 密级 (降密) or the 控制使用 reason (控制).
    A held item (冻结) can be neither destroyed nor given a shorter retention.
    """
    if decision not in DECISIONS[kind]:
        allowed = "、".join(d.value for d in DECISIONS[kind])
        raise AppraisalRuleError(f"{KIND_LABELS[kind]}只能作出以下鉴定意见：{allowed}",
                                 f"a {kind.value} campaign allows only: {allowed}")
    reason = (reason or "").strip()[:MAX_REASON]
    if not reason:
        raise AppraisalRuleError("鉴定意见须说明理由", "a decision needs a reason")
    if held and decision is Decision.DESTROY:
        raise AppraisalRuleError("该档案已被冻结，不能鉴定为销毁", "the item is on hold and cannot be destroyed")
    return CheckedDecision(decision, _new_value(decision, facts, value, held), reason)


def _new_value(decision: Decision, facts: ItemFacts, value: str, held: bool) -> str:
    if decision is Decision.EXTEND:
        return _longer_retention(facts.retention, value)
    if decision is Decision.DOWNGRADE:
        return _lower_level(facts.security, value)
    if decision is Decision.DECLASSIFY:
        return "公开"
    if decision is Decision.OPEN:
        return "开放"
    if decision is Decision.CONTROL:
        if value and value not in CONTROL_REASONS:
            raise AppraisalRuleError(f"控制使用理由须为：{'、'.join(CONTROL_REASONS)}",
                                     "unknown 控制使用 reason")
        return value or CONTROL_REASONS[-1]
    return ""


def _longer_retention(current: str, wanted: str) -> str:
    try:
        new = normalise_retention(wanted)
    except ScheduleError as exc:
        raise AppraisalRuleError(exc.message_zh, exc.message_en) from None
    try:
        shorter = retention_rank(new) <= retention_rank(current)
    except ScheduleError:
        shorter = False  # an unreadable current value is replaced by any valid one
    if shorter:
        raise AppraisalRuleError(f"延长后的保管期限须长于现保管期限（{current}）",
                                 f"the new retention must be longer than the current one ({current})")
    return new


def _lower_level(current: str, wanted: str) -> str:
    if wanted not in CLEARANCE_RANK or rank(wanted) >= rank(current):
        raise AppraisalRuleError(f"降密后的密级须低于现密级（{current}）",
                                 f"the new 密级 must be lower than the current one ({current})")
    return wanted


def shortens_retention(current: str, new: str) -> bool:
    """Whether ``new`` keeps an item for less time than ``current`` (what a hold forbids)."""
    try:
        return retention_rank(new) < retention_rank(current)
    except ScheduleError:
        return False


# --- who may decide and approve --------------------------------------------------------------------
def parse_committee(text: str) -> dict[Kind, frozenset[str]]:
    """``LANTAI_APPRAISAL_COMMITTEE``: ``到期=张三,李四;密级=王五,赵六`` — who may approve which kind.

    A kind not named may be approved by anyone holding the approval permission.
    """
    committee: dict[Kind, frozenset[str]] = {}
    for part in (p.strip() for p in (text or "").replace("；", ";").split(";")):
        if not part:
            continue
        kind_text, sep, names = part.partition("=")
        if not sep:
            raise AppraisalRuleError(f"鉴定小组配置无效：{part!r}（应为 类型=账号,账号）",
                                     f"bad committee entry {part!r} (expected KIND=user,user)")
        members = frozenset(n.strip() for n in names.replace("，", ",").split(",") if n.strip())
        committee[parse_kind(kind_text)] = members
    return committee


def committee_problem(kind: Kind, proposer: str, approvers: list[str], allowed: dict[Kind, frozenset[str]],
                      minimum: int = MIN_APPROVERS) -> AppraisalRuleError | None:
    """Why this 鉴定小组 cannot approve the campaign, or None when it can."""
    named = list(dict.fromkeys(a.strip() for a in approvers if a and a.strip()))
    if proposer in named:
        return AppraisalRuleError("鉴定小组成员不能包括鉴定任务的提出人（不能审批本人的鉴定）",
                                  "the proposer cannot be one of the approvers of their own campaign")
    if len(named) < max(minimum, MIN_APPROVERS):
        return AppraisalRuleError(f"鉴定小组至少须有 {max(minimum, MIN_APPROVERS)} 名审批人（不含提出人）",
                                  f"at least {max(minimum, MIN_APPROVERS)} approvers other than the proposer are needed")
    members = allowed.get(kind)
    if members is not None:
        outside = [a for a in named if a not in members]
        if outside:
            return AppraisalRuleError(f"以下账号不是{KIND_LABELS[kind]}的鉴定小组成员：{'、'.join(outside)}",
                                      f"not members of the {kind.value} committee: {', '.join(outside)}")
    return None


def secrecy_decision_by_security_admin(kind: Kind) -> bool:
    """密级鉴定 decisions (解密, 降密, 保持密级) are the 安全保密管理员's alone."""
    return kind is Kind.SECRECY
