"""Appraisal rules: what is due, which decisions each kind allows, who may approve."""

from __future__ import annotations

import pytest

from lantai.domain import appraisal as rules
from lantai.domain.appraisal import Decision, ItemFacts, Kind


@pytest.mark.parametrize(("year", "retention", "end"), [
    (2015, "D10", 2025), (2015, "10年", 2025), (2015, "定期30年", 2045), (2015, "Y", None), (2015, "永久", None),
    (None, "D10", None), (2015, "长期", None),
])
def test_retention_counts_from_the_year_after(year: int | None, retention: str, end: int | None) -> None:
    assert rules.retention_end_year(year, retention) == end


def test_expiry_cutoffs_per_stored_value() -> None:
    assert rules.expiry_cutoffs(["10年", "D30", "永久", "长期"], 2025) == {"10年": 2015, "D30": 1995}


def test_opening_age_default_and_per_category() -> None:
    ages = rules.parse_opening_ages("KJ=10, JJ=15")
    assert ages == {"KJ": 10, "JJ": 15}
    assert rules.opening_due(2000, "WS", ages, 2025) and not rules.opening_due(2001, "WS", ages, 2025)
    assert rules.opening_due(2015, "KJ", ages, 2025) and not rules.opening_due(2016, "KJ", ages, 2025)
    with pytest.raises(rules.AppraisalRuleError):
        rules.parse_opening_ages("KJ=ten")


@pytest.mark.parametrize(("level", "period", "years"), [
    ("秘密", "", 10), ("机密", "", 20), ("绝密", "", 30), ("秘密", "5年", 5), ("机密", "机密★15年", 15),
    ("秘密", "长期", None), ("公开", "10年", None), ("内部", "", None),
])
def test_secrecy_period(level: str, period: str, years: int | None) -> None:
    assert rules.secrecy_years(level, period) == years


def test_decisions_per_kind() -> None:
    facts = ItemFacts(retention="10年", security="机密")
    assert rules.check_decision(Kind.EXPIRY, Decision.DESTROY, facts, reason="到期").decision is Decision.DESTROY
    with pytest.raises(rules.AppraisalRuleError):  # destroy only in 到期
        rules.check_decision(Kind.OPENING, Decision.DESTROY, facts, reason="x")
    with pytest.raises(rules.AppraisalRuleError):  # 解密 only in 密级
        rules.check_decision(Kind.EXPIRY, Decision.DECLASSIFY, facts, reason="x")
    assert rules.check_decision(Kind.EXPIRY, Decision.EXTEND, facts, value="永久", reason="x").value == "Y"
    with pytest.raises(rules.AppraisalRuleError):  # not longer
        rules.check_decision(Kind.EXPIRY, Decision.EXTEND, facts, value="D10", reason="x")
    assert rules.check_decision(Kind.SECRECY, Decision.DOWNGRADE, facts, value="秘密", reason="x").value == "秘密"
    with pytest.raises(rules.AppraisalRuleError):  # not lower
        rules.check_decision(Kind.SECRECY, Decision.DOWNGRADE, facts, value="绝密", reason="x")
    assert rules.check_decision(Kind.SECRECY, Decision.DECLASSIFY, facts, reason="x").value == "公开"
    assert rules.check_decision(Kind.OPENING, Decision.CONTROL, facts, value="涉及个人隐私", reason="x").value == "涉及个人隐私"
    with pytest.raises(rules.AppraisalRuleError):  # a reason is required
        rules.check_decision(Kind.EXPIRY, Decision.KEEP, facts, reason=" ")
    with pytest.raises(rules.AppraisalRuleError):  # a held item cannot be destroyed
        rules.check_decision(Kind.EXPIRY, Decision.DESTROY, facts, reason="到期", held=True)
    assert rules.shortens_retention("D30", "D10") and not rules.shortens_retention("D10", "Y")


def test_committee() -> None:
    allowed = rules.parse_committee("到期=li,wang;密级=zhao,qian")
    assert rules.committee_problem(Kind.EXPIRY, "zhang", ["li", "wang"], allowed) is None
    assert "提出人" in rules.committee_problem(Kind.EXPIRY, "zhang", ["zhang", "li"], allowed).message_zh
    assert "至少" in rules.committee_problem(Kind.EXPIRY, "zhang", ["li", "li"], allowed).message_zh
    assert "成员" in rules.committee_problem(Kind.SECRECY, "zhang", ["li", "wang"], allowed).message_zh
    assert rules.committee_problem(Kind.OPENING, "zhang", ["a", "b"], allowed) is None  # not restricted
    assert "至少须有 3" in rules.committee_problem(Kind.OPENING, "zhang", ["a", "b"], {}, minimum=3).message_zh
    assert rules.parse_kind("到期鉴定") is Kind.EXPIRY and rules.parse_kind("secrecy") is Kind.SECRECY
    with pytest.raises(rules.AppraisalRuleError):
        rules.parse_kind("销毁")
