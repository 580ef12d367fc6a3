"""The DA/T 70 check registry: stage × code targets, their checks, and message templates as data.

``registry.toml`` beside this module is the single source: which checks implement each target of
DA/T 70-2018 (STANDARDS.md §5.2) per stage, the rules (code + letter) each check can report and
their Chinese and English templates. Check functions register themselves with :func:`check`;
targets that cannot be automated name a check whose registry entry carries a
``not_applicable`` reason instead of an implementation. Only :func:`render` formats messages.
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from lantai.domain.findings import Finding, Severity

REGISTRY_PATH = Path(__file__).with_name("registry.toml")
STAGES = ("gd", "yj", "bc")
SUBJECT = {"gd": "电子文件", "yj": "电子档案", "bc": "电子档案"}
SUBJECT_EN = {"gd": "electronic record", "yj": "electronic archive", "bc": "electronic archive"}
GENERIC_LETTERS = ("t", "z", "off", "nometa", "nopkg", "badmeta")


@dataclass(frozen=True, slots=True)
class Target:
    stage: str
    code: str
    zh: str
    en: str
    property: str
    checks: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class CheckSpec:
    name: str
    zh: str
    en: str
    level: str  # item | run
    pass_zh: str = ""
    pass_en: str = ""
    not_applicable_zh: str = ""
    not_applicable_en: str = ""

    @property
    def automated(self) -> bool:
        return not self.not_applicable_zh


@dataclass(frozen=True, slots=True)
class RuleSpec:
    rule: str
    check: str
    status: str
    zh: str
    en: str

    @property
    def code(self) -> str:
        return self.rule.rstrip("abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True, slots=True)
class FindingSpec:
    """A finding code a validator below the checks emits (``ofd-6``, ``eep-size`` …): what it means,
    the domain rule it breaks, and one zh/en template per distinct way it is found (its variants;
    ``""`` is the code's own template)."""

    code: str
    title_zh: str
    title_en: str
    rule: str
    severity: str
    messages: dict[str, tuple[str, str, str]]  # variant → (zh, en, severity)


@dataclass(frozen=True)
class Registry:
    targets: dict[tuple[str, str], Target]
    checks: dict[str, CheckSpec]
    rules: dict[str, RuleSpec]
    generic: dict[str, RuleSpec]
    findings: dict[str, FindingSpec]

    def targets_for(self, stage: str) -> list[Target]:
        return sorted((t for (s, _c), t in self.targets.items() if s == stage), key=lambda t: t.code)

    def codes_of_check(self, stage: str, check: str) -> list[str]:
        return [t.code for t in self.targets_for(stage) if check in t.checks]


@cache
def load_registry(path: Path = REGISTRY_PATH) -> Registry:
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    targets = {(stage, code): Target(stage, code, t["zh"], t["en"], t["property"], tuple(t["checks"]))
               for stage, codes in data["targets"].items() for code, t in codes.items()}
    checks = {name: CheckSpec(name, c["zh"], c["en"], c.get("level", "item"), c.get("pass_zh", ""),
                              c.get("pass_en", ""), c.get("not_applicable_zh", ""), c.get("not_applicable_en", ""))
              for name, c in data["checks"].items()}
    rules = {rule: RuleSpec(rule, r["check"], r.get("status", "fail"), r["zh"], r["en"])
             for rule, r in data["rules"].items()}
    generic = {letter: RuleSpec(letter, "", g.get("status", "fail"), g["zh"], g["en"])
               for letter, g in data["generic"].items()}
    findings = {code: _finding_spec(code, f) for code, f in data["findings"].items()}
    return Registry(targets, checks, rules, generic, findings)


def _finding_spec(code: str, entry: dict[str, Any]) -> FindingSpec:
    severity = entry.get("severity", "error")
    messages = {"": (entry["zh"], entry["en"], severity)} if "zh" in entry else {}
    for variant, text in entry.items():
        if isinstance(text, dict):
            messages[variant] = (text["zh"], text["en"], text.get("severity", severity))
    return FindingSpec(code, entry.get("title_zh", ""), entry.get("title_en", ""), entry.get("rule", "structure"),
                       severity, messages)


# --- implementations ---------------------------------------------------------------------------
CheckFn = Callable[..., list[Any]]
CHECKS: dict[str, CheckFn] = {}


def check(name: str) -> Callable[[CheckFn], CheckFn]:
    """Register the implementation of a named check (the name must exist in registry.toml)."""

    def decorate(fn: CheckFn) -> CheckFn:
        CHECKS[name] = fn
        return fn

    return decorate


def implementations() -> dict[str, CheckFn]:
    """Every check implementation, importing the property modules that define them."""
    from lantai.checks.properties import authenticity, integrity, run_level, security, usability  # noqa: F401

    return CHECKS


# --- messages ----------------------------------------------------------------------------------
class _Params(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "?"


def _format(template: str, params: dict[str, Any]) -> str:
    values = _Params({k: ("" if v is None else v) for k, v in params.items()})
    try:
        return string.Formatter().vformat(template, (), values)
    except (ValueError, IndexError, AttributeError):  # a hostile value cannot break rendering
        return template


TEXT_PARAMS = ("reason", "detail", "error", "kind")  # prose a check writes; the others are data (names, values)


def english_params(params: dict[str, Any]) -> dict[str, Any]:
    """Params for an English template: ``reason_en`` stands in for ``reason`` (and so on). Chinese
    prose without an English version is never put into an English message."""
    english = dict(params)
    for key in TEXT_PARAMS:
        if f"{key}_en" in params:
            english[key] = params[f"{key}_en"]
        elif isinstance(params.get(key), str) and has_cjk(params[key]):
            english[key] = "(see the Chinese message)"
    return english


def has_cjk(text: str) -> bool:
    return any("\u3000" <= c <= "\u9fff" or "\uff00" <= c <= "\uffef" for c in text)


def render(rule: str, params: dict[str, Any], stage: str = "gd", check: str = "") -> tuple[str, str]:
    """Chinese and English message for a rule id, a generic letter, or a check's pass (rule '')."""
    registry = load_registry()
    params = {"subject": SUBJECT.get(stage, "电子文件"), **params}
    english = english_params(params)
    if rule in registry.rules:
        spec = registry.rules[rule]
        return _format(spec.zh, params), _format(spec.en, {**english, "subject": SUBJECT_EN.get(stage, "record")})
    if rule in registry.generic:
        spec = registry.generic[rule]
        return _format(spec.zh, params), _format(spec.en, english)
    cspec = registry.checks[check]
    if not rule:
        return _format(cspec.pass_zh, params), _format(cspec.pass_en, english)
    raise KeyError(f"unknown rule {rule!r}")


def finding_text(code: str, variant: str, params: dict[str, Any]) -> tuple[str, str, str]:
    """Chinese and English message and the severity of a registered finding code and variant.
    An unregistered code or variant is a programming error (the registry test catches it)."""
    spec = load_registry().findings[code]
    zh, en, severity = spec.messages[variant]
    return _format(zh, params), _format(en, english_params(params)), severity


def finding(code: str, element: str, variant: str = "", /, *, severity: str | None = None, **params: Any) -> Any:
    """A :class:`~lantai.domain.findings.Finding` for a registered code, its text from the registry.

    Validators (formats, packages, certificates, transfer carriers) report a code, a variant and
    named parameters; prose a check writes goes in ``detail``/``reason``/``error`` with an
    ``…_en`` twin, so an English message never carries Chinese prose."""

    zh, en, default = finding_text(code, variant, {"element": element, **params})
    spec = load_registry().findings[code]
    stored = {k: v for k, v in params.items() if not k.endswith("_en")}
    if variant:
        stored["variant"] = variant
    return Finding(rule=spec.rule, element=element, message=zh, message_en=en,
                   severity=Severity(severity or default), code=code, params=stored)


def default_status(rule: str) -> str:
    registry = load_registry()
    if rule in registry.rules:
        return registry.rules[rule].status
    if rule in registry.generic:
        return registry.generic[rule].status
    return "pass"
