"""Every finding code Lantai emits is registered with Chinese and English templates, and English
never carries Chinese prose (issue 16 point 2).

The source is read as Python (``ast``): every call that names a finding code and a variant by
literal is checked against ``registry.toml``; every string literal shaped like a validator code
(``ofd-6``, ``bag-oxum``, ``yj-2-1`` …) must be a registered code; and only the registry (and the
DA/T 46 message table in ``domain``, which cannot import the checks) may build a ``Finding``.
The runtime half — a real ingest of demo items and the hostile corpus — is in
``tests/integration/test_finding_codes_runtime.py``.
"""

from __future__ import annotations

import ast
import importlib
import pkgutil
import re
from pathlib import Path

import pytest

import lantai
from lantai import errors
from lantai.checks import registry

SOURCE = Path(lantai.__file__).parent
CODE_SHAPE = re.compile(r"^(eep|bag|cert|ofd|pdf|receipt|yj|image|office|package|check)-[a-z0-9-]+$")
NOT_CODES = {"bag-info.txt"}  # file names that look like codes
# Which positional arguments of a module's finding helpers are (code, variant); None: fixed code.
HELPERS: dict[str, dict[str, tuple[int | str, int]]] = {
    "*": {"finding": (0, 2), "fail": (0, 2), "_fatal": (0, 1)},
    "formats/office.py": {"_fail": (2, 3)},
    "packages/transfer/reader.py": {"_f": (0, 3)},
    "packages/eep/verify.py": {"_f": (0, 2)},
    "packages/transfer/receipt.py": {"_finding": (0, 2)},
    "packages/eep/structure.py": {"_finding": ("eep-structure", 1)},
}
# The only places a Finding is constructed: the registry renders validator findings, the DA/T 46
# table renders metadata findings (domain imports nothing of the checks), and the gd ingest check
# turns registry results (already rendered) into findings.
FINDING_BUILDERS = {"checks/registry.py", "domain/metadata/messages.py", "checks/ingest.py"}


def _modules() -> list[tuple[str, ast.Module]]:
    return [(str(p.relative_to(SOURCE)), ast.parse(p.read_text(encoding="utf-8")))
            for p in sorted(SOURCE.rglob("*.py"))]


def _name(call: ast.Call) -> str:
    func = call.func
    return func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""


def _literal(call: ast.Call, index: int | str) -> str | None:
    if isinstance(index, str):
        return index
    if index < len(call.args) and isinstance(call.args[index], ast.Constant) and isinstance(call.args[index].value, str):
        return call.args[index].value
    return None


def _emitted() -> set[tuple[str, str, str]]:
    """(module, code, variant) of every helper call naming both by literal."""
    found = set()
    for module, tree in _modules():
        helpers = {**HELPERS["*"], **HELPERS.get(module, {})}
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node) in helpers:
                code_at, variant_at = helpers[_name(node)]
                code = _literal(node, code_at)
                if code is None or (isinstance(code_at, int) and not CODE_SHAPE.match(code)
                                    and code not in registry.load_registry().findings):
                    continue
                variant = _literal(node, variant_at)
                if variant is None and variant_at < len(node.args):
                    continue  # chosen at run time: the runtime test and KeyError cover it
                found.add((module, code, variant or ""))
    return found


def test_every_emitted_code_and_variant_is_registered() -> None:
    findings = registry.load_registry().findings
    emitted = _emitted()
    assert len({code for _m, code, _v in emitted}) >= 60, "the scan found the validators' codes"
    missing = sorted(f"{m}: {code}/{variant or '(default)'}" for m, code, variant in emitted
                     if code not in findings or variant not in findings[code].messages)
    assert not missing, missing


def test_every_code_shaped_literal_is_a_registered_code() -> None:
    findings = registry.load_registry().findings
    unknown = set()
    for module, tree in _modules():
        for node in ast.walk(tree):
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and CODE_SHAPE.match(node.value)
                    and node.value not in findings and node.value not in NOT_CODES):
                unknown.add(f"{module}: {node.value}")
    assert not unknown, sorted(unknown)


def test_only_the_registry_builds_findings() -> None:
    builders = set()
    for module, tree in _modules():
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and _name(node) == "Finding":
                builders.add(module)
    assert builders <= FINDING_BUILDERS, sorted(builders - FINDING_BUILDERS)


def test_every_error_of_the_error_tree_is_a_registered_code() -> None:
    """Ingest refuses an item with the error's own code (unreadable package, unsafe input …)."""
    for module in pkgutil.walk_packages(lantai.__path__, "lantai."):  # every error class is defined
        importlib.import_module(module.name)
    findings = registry.load_registry().findings
    classes, seen = [errors.LantaiError], []
    while classes:
        cls = classes.pop()
        seen.append(cls)
        classes += cls.__subclasses__()
    assert {cls.code for cls in seen} <= set(findings), sorted({cls.code for cls in seen} - set(findings))


def test_every_registered_message_has_both_languages_and_english_templates_are_english() -> None:
    for code, spec in registry.load_registry().findings.items():
        assert spec.messages, code
        assert spec.title_zh and spec.title_en and not registry.has_cjk(spec.title_en), code
        for variant, (zh, en, severity) in spec.messages.items():
            assert zh and en, (code, variant)
            assert registry.has_cjk(zh) or zh.strip("{}") in ("detail",), (code, variant, zh)
            assert not registry.has_cjk(en), (code, variant, en)
            assert severity in ("error", "warning", "info"), (code, variant)


def test_english_rendering_drops_chinese_prose_but_keeps_named_data() -> None:
    text = registry.finding("unsafe_file_name", "电子属性/计算机文件名", detail="路径含 ..")
    assert text.message == "路径含 .." and not registry.has_cjk(text.message_en)
    named = registry.finding("missing_file", "正文.pdf", name="正文.pdf")
    assert named.message_en == "file referenced by the metadata is missing: 正文.pdf"
    assert named.code == "missing_file" and named.params == {"name": "正文.pdf"}


def test_an_unregistered_code_or_variant_is_refused() -> None:
    with pytest.raises(KeyError):
        registry.finding("ofd-99", "x")
    with pytest.raises(KeyError):
        registry.finding("ofd-6", "x", "no-such-variant")


def test_metadata_message_templates_are_english_too() -> None:
    """DA/T 46 findings keep their table in ``domain``; its English templates obey the same rule
    (element names and values are data and arrive as parameters)."""
    from lantai.domain.metadata.messages import MESSAGES

    assert not [code for code, message in MESSAGES.items() if registry.has_cjk(message.en)]
