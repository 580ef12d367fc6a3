"""Every finding the check engine emits is a registered rule with a Chinese and an English template,
and no English message carries Chinese prose: only data (file names, element names, values) may be
Chinese in ``message_en``. Static over the sources, dynamic over every fixture of the property tests."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

import lantai.checks
from lantai.checks.registry import TEXT_PARAMS, has_cjk, load_registry
from lantai.checks.runner import check_paths
from tests.unit.test_checks_properties import CASES

EMITTERS = {"found", "not_applicable"}


def emitted_rules() -> set[tuple[str, str]]:
    """(file, rule) of every literal rule id passed to found()/not_applicable() in lantai/checks."""
    root = Path(lantai.checks.__file__).parent
    rules = set()
    for path in root.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in EMITTERS
                    and node.args and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)):
                rules.add((path.name, node.args[0].value))
    return rules


def test_every_rule_the_sources_emit_is_registered() -> None:
    registry = load_registry()
    known = set(registry.rules) | set(registry.generic)
    emitted = emitted_rules()
    assert len(emitted) > 50
    assert not [(f, r) for f, r in emitted if r not in known]


def test_every_registered_template_has_both_languages_and_english_is_english() -> None:
    registry = load_registry()
    for rule, spec in {**registry.rules, **registry.generic}.items():
        assert spec.zh and spec.en, rule
        assert not has_cjk(re.sub(r"\{[^}]*\}", "", spec.en)), (rule, spec.en)
    for name, check in registry.checks.items():
        assert not has_cjk(check.en + check.pass_en + check.not_applicable_en), name


def english_without_data(result) -> str:  # type: ignore[no-untyped-def]
    """``message_en`` with the data values (names, elements, values) taken out."""
    text = result.message_en
    params = {**result.details, **result.details.get("params", {})}  # metadata findings keep theirs nested
    data = [v for k, v in params.items() if isinstance(v, str) and k not in TEXT_PARAMS and not k.endswith("_en")]
    data += [part for value in data for part in value.split("/")]  # element paths: 内容描述/日期
    for value in sorted([*data, result.file or ""], key=len, reverse=True):
        if value:
            text = text.replace(value, "")
    return text


@pytest.mark.parametrize("fixture", sorted(CASES))
def test_emitted_results_are_registered_and_english(fixture: str, tmp_path: Path) -> None:
    registry = load_registry()
    report = check_paths([CASES[fixture][0](tmp_path)], workers=0)
    for item in report.items:
        for result in item.results:
            letter = result.rule.split("/")[-1]
            assert letter == result.code or letter in registry.rules or letter in registry.generic, result
            assert result.message and result.message_en, result
            assert not has_cjk(english_without_data(result)), (result.rule, result.message_en)
