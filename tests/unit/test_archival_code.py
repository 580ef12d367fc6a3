"""档号 rules: the worked examples of STANDARDS.md §6.5, round trips, derived regexes and refusals."""

from __future__ import annotations

import pytest

from lantai.domain.archival_code import (
    DA_T_13_2022_CODE,
    DA_T_13_2022_NAME,
    DA_T_13_2022_NO_ORG,
    DA_T_22_2015,
    CodeError,
    CodeParts,
    CodeRule,
)

WORKED_EXAMPLES = [
    (DA_T_22_2015, "Z109-WS·2011-Y-BGS-0001",
     CodeParts("Z109", "WS", 2011, "Y", 1, organisation="BGS")),
    (DA_T_13_2022_NAME, "Z109-WS·2011·Y·办公室-0001",
     CodeParts("Z109", "WS", 2011, "Y", 1, organisation_name="办公室")),
    (DA_T_13_2022_CODE, "A439-WS·2015·D30·003-005",
     CodeParts("A439", "WS", 2015, "D30", 5, organisation="003")),
    (DA_T_13_2022_NO_ORG, "Z008-WS·2019·Y-037", CodeParts("Z008", "WS", 2019, "Y", 37)),
]


@pytest.mark.parametrize(("rule", "code", "parts"), WORKED_EXAMPLES, ids=[c for _, c, _ in WORKED_EXAMPLES])
def test_worked_examples_format_parse_and_match(rule: CodeRule, code: str, parts: CodeParts) -> None:
    assert rule.format(parts) == code
    assert rule.parse(code) == parts
    assert rule.regex.fullmatch(code)


def test_format_ignores_fields_the_rule_does_not_carry() -> None:
    full = CodeParts("Z008", "WS", 2019, "Y", 37, organisation="BGS", organisation_name="办公室")
    assert DA_T_13_2022_NO_ORG.format(full) == "Z008-WS·2019·Y-037"


def test_each_standard_rejects_the_other_forms() -> None:
    assert not DA_T_22_2015.is_valid("Z109-WS·2011·Y·办公室-0001")
    assert not DA_T_13_2022_NAME.is_valid("Z109-WS·2011-Y-BGS-0001")
    assert not DA_T_22_2015.is_valid("Z109-WS·2011-Y-BGS-001")  # 件号 must be 4 digits
    assert not DA_T_22_2015.is_valid("Z109-WS·2011-D7X-BGS-0001")


def test_separators_order_and_widths_are_configuration() -> None:
    rule = CodeRule("local", "{fonds}/{year}/{organisation}/{retention}/{category}/{item:6}")
    parts = CodeParts("J001", "WS", 2024, "D10", 12, organisation="CZK")
    assert rule.format(parts) == "J001/2024/CZK/D10/WS/000012"
    assert rule.parse("J001/2024/CZK/D10/WS/000012") == parts
    assert rule.regex.pattern.count("(?P<") == 6


def test_item_number_beyond_width_cannot_give_a_unique_code() -> None:
    with pytest.raises(CodeError) as exc:
        DA_T_13_2022_NO_ORG.format(CodeParts("Z008", "WS", 2019, "Y", 1000))
    assert "超出" in exc.value.message_zh


def test_missing_metadata_is_named() -> None:
    with pytest.raises(CodeError) as exc:
        DA_T_22_2015.format(CodeParts("Z109", "WS", 2011, "Y", 1))
    assert exc.value.details["field"] == "organisation"


def test_bad_fonds_code_under_da_t_13() -> None:
    with pytest.raises(CodeError):
        DA_T_13_2022_NAME.format(CodeParts("Z10X", "WS", 2011, "Y", 1, organisation_name="办公室"))


@pytest.mark.parametrize("template", [
    "{fonds}-{year}",                   # no 件号
    "{fonds}{year}-{item}",             # missing separator
    "{fonds}-{year}-{item}-{item}",     # repeated field
    "DH:{fonds}-{year}-{item}",         # fixed text before the first field
    "{fonds}-{colour}-{item}",          # unknown field
])
def test_malformed_rules_are_refused_at_load(template: str) -> None:
    with pytest.raises(CodeError):
        CodeRule("bad", template)


def test_rule_reports_classification_levels_it_does_not_carry() -> None:
    assert DA_T_13_2022_NO_ORG.covers(("organisation", "retention")) == ["organisation"]
    assert DA_T_22_2015.covers(("organisation", "retention")) == []
    assert DA_T_13_2022_NAME.covers(("retention", "organisation")) == []
