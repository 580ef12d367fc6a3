"""Retention periods (保管期限) and the retention schedule (保管期限表) as data.

A schedule is a list of rules. Each rule says which records it covers — by 文种, by 责任者 or
organisation, by keywords in 题名 — and which period it proposes (Y 永久 / D30 定期30年 / D10
定期10年, 国家档案局令第8号 practice). :meth:`RetentionSchedule.suggest` returns the proposal together
with the rule that fired and the rules it beat, so the archivist can see *why* and confirm or
override; a schedule never decides silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

RETENTION_PATTERN = r"Y|D[1-9][0-9]{0,2}"
_CODE_RE = re.compile(rf"^(?:{RETENTION_PATTERN})$")

# Labels used by DA/T 46 (M12 value range) and by people; all map to the codes of 令第8号.
_LABELS = {
    "永久": "Y", "定期30年": "D30", "30年": "D30", "定期10年": "D10", "10年": "D10",
}
_DISPLAY = {"Y": "永久"}


class ScheduleError(ValueError):
    """A retention value or schedule that cannot be used. Carries Chinese and English text."""

    def __init__(self, message_zh: str, message_en: str, **details: Any) -> None:
        super().__init__(message_en)
        self.message_zh, self.message_en, self.details = message_zh, message_en, details


def normalise_retention(value: str) -> str:
    """Map a code or label (``Y``, ``永久``, ``定期30年``, ``30年``, ``D30``) to its code.

    Legacy 长期/短期 have no single modern equivalent; they must be re-appraised, so they raise.
    """
    text = (value or "").strip().upper().replace("Ｙ", "Y").replace("Ｄ", "D")
    if _CODE_RE.match(text):
        return text
    code = _LABELS.get((value or "").strip())
    if code is None:
        raise ScheduleError(f"无法识别的保管期限: {value!r}（应为 Y、D30、D10 或 永久、定期30年、定期10年）",
                            f"unrecognised retention period: {value!r} (expected Y, D30, D10 or a label)",
                            value=value)
    return code


def retention_years(code: str) -> int | None:
    """Years kept; None for 永久 (permanent)."""
    code = normalise_retention(code)
    return None if code == "Y" else int(code[1:])


def retention_rank(code: str) -> int:
    """Sort key: longer retention ranks higher; permanent highest."""
    years = retention_years(code)
    return 10_000 if years is None else years


def retention_label(code: str) -> str:
    """Chinese label for people and reports: 永久, 定期30年, 定期10年."""
    code = normalise_retention(code)
    return _DISPLAY.get(code, f"定期{code[1:]}年")


def metadata_label(code: str) -> str:
    """Value for DA/T 46 M12 保管期限 (value range 永久, 30年, 10年 …)."""
    code = normalise_retention(code)
    return _DISPLAY.get(code, f"{code[1:]}年")


@dataclass(frozen=True)
class RecordFacts:
    """What a schedule may look at. Taken from the catalogue; empty strings mean unknown."""

    title: str = ""
    document_type: str = ""
    author: str = ""
    organisation: str = ""


@dataclass(frozen=True)
class RetentionRule:
    """One line of a 保管期限表. Every non-empty criterion must match; within one, any value may.

    ``priority`` breaks ties between rules that match: higher wins; at equal priority the longer
    retention wins, because keeping a record too long is recoverable and destroying it is not.
    """

    id: str
    retention: str
    description: str = ""
    document_types: tuple[str, ...] = ()
    authors: tuple[str, ...] = ()
    organisations: tuple[str, ...] = ()
    title_keywords: tuple[str, ...] = ()
    title_excludes: tuple[str, ...] = ()
    priority: int = 0
    basis: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "retention", normalise_retention(self.retention))

    def matches(self, facts: RecordFacts) -> list[str]:
        """The criteria that matched, or an empty list when the rule does not apply."""
        reasons: list[str] = []
        checks = (
            ("文种", self.document_types, facts.document_type, _equals_any),
            ("责任者", self.authors, facts.author, _contains_any),
            ("机构(问题)", self.organisations, facts.organisation, _equals_any),
            ("题名关键词", self.title_keywords, facts.title, _contains_any),
        )
        for label, wanted, value, test in checks:
            if not wanted:
                continue
            hit = test(wanted, value)
            if hit is None:
                return []
            reasons.append(f"{label}={hit}")
        if any(word in facts.title for word in self.title_excludes):
            return []
        return reasons or ["(无条件)"]


def _equals_any(wanted: tuple[str, ...], value: str) -> str | None:
    return value if value and value in wanted else None


def _contains_any(wanted: tuple[str, ...], value: str) -> str | None:
    return next((w for w in wanted if w and w in value), None)


@dataclass(frozen=True)
class RetentionSuggestion:
    """A proposal the archivist confirms or overrides: the period, the rule and why it fired."""

    retention: str
    rule_id: str
    rule_description: str
    matched: tuple[str, ...]
    basis: str = ""
    is_default: bool = False
    alternatives: tuple[tuple[str, str], ...] = ()  # (rule id, retention) of rules that also matched

    @property
    def label(self) -> str:
        return retention_label(self.retention)

    def to_dict(self) -> dict[str, Any]:
        return {"retention": self.retention, "label": self.label, "rule": self.rule_id,
                "description": self.rule_description, "matched": list(self.matched), "basis": self.basis,
                "default": self.is_default, "alternatives": [{"rule": r, "retention": p} for r, p in self.alternatives]}


@dataclass(frozen=True)
class RetentionSchedule:
    """A named, versioned 保管期限表 with a default for records no rule covers."""

    name: str
    title: str
    default_retention: str = "D30"
    rules: tuple[RetentionRule, ...] = field(default_factory=tuple)
    basis: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "default_retention", normalise_retention(self.default_retention))
        ids = [r.id for r in self.rules]
        duplicates = sorted({i for i in ids if ids.count(i) > 1})
        if duplicates:
            raise ScheduleError(f"保管期限表 {self.name} 中规则编号重复: {duplicates}",
                                f"schedule {self.name} has duplicate rule ids: {duplicates}")

    def suggest(self, facts: RecordFacts) -> RetentionSuggestion:
        hits = [(rule, reasons) for rule in self.rules if (reasons := rule.matches(facts))]
        if not hits:
            return RetentionSuggestion(self.default_retention, "default", "未命中任何规则，采用默认保管期限，需人工确认",
                                       (), self.basis, is_default=True)
        hits.sort(key=lambda h: (h[0].priority, retention_rank(h[0].retention)), reverse=True)
        best, reasons = hits[0]
        others = tuple((r.id, r.retention) for r, _ in hits[1:])
        return RetentionSuggestion(best.retention, best.id, best.description, tuple(reasons),
                                   best.basis or self.basis, alternatives=others)
