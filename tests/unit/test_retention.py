"""Retention codes, the default 保管期限表 and the reference-data TOML document."""

from __future__ import annotations

from importlib import resources

import pytest

from lantai.domain.reference import ReferenceDataError, dump_reference, parse_reference
from lantai.domain.retention import (
    RecordFacts,
    RetentionRule,
    RetentionSchedule,
    ScheduleError,
    metadata_label,
    normalise_retention,
    retention_label,
)


@pytest.fixture(scope="module")
def reference_text() -> str:
    return resources.files("lantai.domain").joinpath("data/reference.toml").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def schedule(reference_text: str) -> RetentionSchedule:
    return parse_reference(reference_text).schedules["district-ws"]


@pytest.mark.parametrize(("value", "code"), [("永久", "Y"), ("Y", "Y"), ("定期30年", "D30"), ("30年", "D30"),
                                             ("d10", "D10"), ("10年", "D10"), ("D5", "D5")])
def test_normalise_retention(value: str, code: str) -> None:
    assert normalise_retention(value) == code


@pytest.mark.parametrize("value", ["长期", "短期", "", "D0", "forever"])
def test_legacy_or_unknown_retention_is_refused(value: str) -> None:
    with pytest.raises(ScheduleError):
        normalise_retention(value)


def test_labels() -> None:
    assert retention_label("D30") == "定期30年" and retention_label("Y") == "永久"
    assert metadata_label("D10") == "10年" and metadata_label("永久") == "永久"


@pytest.mark.parametrize(("facts", "retention", "rule"), [
    (RecordFacts("关于张三等同志任免职务的通知", "通知", "示范区人民政府"), "Y", "Y-01"),
    (RecordFacts("示范区人民政府2024年度工作总结", "报告", "示范区人民政府"), "Y", "Y-02"),
    (RecordFacts("示范区2024年上半年工作总结", "报告", "示范区人民政府"), "D10", "D10-02"),
    (RecordFacts("示范区城市绿化管理办法", "通知", "示范区人民政府"), "Y", "Y-03"),
    (RecordFacts("关于转发《某省住房管理办法》的通知", "通知", "示范区人民政府办公室"), "D10", "D10-03"),
    (RecordFacts("区政府第12次常务会议纪要", "纪要", "示范区人民政府"), "Y", "Y-04"),
    (RecordFacts("关于召开全区安全生产工作会议的通知", "通知", "示范区人民政府办公室"), "D10", "D10-01"),
    (RecordFacts("关于加强安全生产工作的通知", "通知", "示范区人民政府办公室"), "D30", "D30-02"),
    (RecordFacts("关于东城街道经费的报告", "报告", "东城街道办事处"), "D10", "D10-04"),
    (RecordFacts("关于某某事项的说明", "", ""), "D30", "default"),
])
def test_default_schedule_is_explainable(schedule: RetentionSchedule, facts: RecordFacts, retention: str, rule: str) -> None:
    suggestion = schedule.suggest(facts)
    assert (suggestion.retention, suggestion.rule_id) == (retention, rule)
    assert suggestion.basis
    if rule != "default":
        assert suggestion.matched and suggestion.rule_description


def test_equal_priority_prefers_the_longer_retention() -> None:
    schedule = RetentionSchedule("t", "t", rules=(
        RetentionRule("short", "D10", title_keywords=("通知",)),
        RetentionRule("long", "Y", title_keywords=("通知",)),
    ))
    result = schedule.suggest(RecordFacts(title="通知"))
    assert result.rule_id == "long" and result.alternatives == (("short", "D10"),)


def test_duplicate_rule_ids_are_refused() -> None:
    with pytest.raises(ScheduleError):
        RetentionSchedule("t", "t", rules=(RetentionRule("a", "Y"), RetentionRule("a", "D10")))


def test_reference_round_trips_through_toml(reference_text: str) -> None:
    data = parse_reference(reference_text)
    again = parse_reference(dump_reference(data))
    assert again == data
    assert set(data.categories) >= {"WS", "KJ", "RS", "KU", "ZY", "ZP", "LY", "LX", "SJ", "YJ", "WY", "MT", "SW"}
    fonds = data.get_fonds("Z109")
    assert fonds.organisation("办公室").code == "BGS" and fonds.organisation("BGS").name == "办公室"
    assert data.code_rule(fonds, "WS").name == "DA/T 22-2015"


def test_unknown_fonds_category_and_organisation(reference_text: str) -> None:
    data = parse_reference(reference_text)
    with pytest.raises(ReferenceDataError):
        data.get_fonds("Q999")
    with pytest.raises(ReferenceDataError):
        data.code_rule(data.get_fonds("Z109"), "XX")
    with pytest.raises(ReferenceDataError):
        data.get_fonds("Z109").organisation("不存在科")


def test_rule_that_drops_a_classification_level_is_refused(reference_text: str) -> None:
    text = reference_text.replace('code_rules = { "*" = "DA/T 22-2015" }', 'code_rules = { "*" = "DA/T 13-2022 不分机构" }')
    with pytest.raises(ReferenceDataError) as exc:
        parse_reference(text)
    assert "相同档号" in exc.value.message_zh


def test_scheme_without_organisation_accepts_the_short_rule(reference_text: str) -> None:
    text = (reference_text.replace('code_rules = { "*" = "DA/T 22-2015" }', 'code_rules = { "*" = "DA/T 13-2022 不分机构" }')
            .replace('scheme = ["year", "organisation", "retention"]', 'scheme = ["year", "retention"]'))
    data = parse_reference(text)
    assert data.code_rule(data.get_fonds("Z109"), "WS").template.endswith("{item:3}")


@pytest.mark.parametrize("bad", ['scheme = ["organisation", "year", "retention"]', 'scheme = ["year", "organisation"]'])
def test_invalid_scheme(reference_text: str, bad: str) -> None:
    with pytest.raises(ReferenceDataError):
        parse_reference(reference_text.replace('scheme = ["year", "organisation", "retention"]', bad))


def test_broken_toml_is_a_clear_error() -> None:
    with pytest.raises(ReferenceDataError) as exc:
        parse_reference("version = [")
    assert "TOML" in exc.value.message_zh
