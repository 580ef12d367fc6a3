"""Structured findings shared by metadata validation, ingest checks and the DA/T 70 engine.

A finding names the rule it breaks; callers decide how to render it (JSON, CLI, web, PDF).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Rule(StrEnum):
    """The kinds of metadata rule DA/T 70 1-2 / 2-2 distinguish."""

    REQUIRED = "required"
    LENGTH = "length"
    TYPE = "type"
    FORMAT = "format"
    VALUE_DOMAIN = "value_domain"
    SPECIAL_CHARACTERS = "special_characters"
    REASONABLENESS = "reasonableness"
    STRUCTURE = "structure"
    FILE = "file"
    DIGEST = "digest"
    REGISTER = "register"
    DUPLICATE = "duplicate"


@dataclass(frozen=True, slots=True)
class Finding:
    """One broken (or noteworthy) rule.

    ``element`` is the Chinese element path (e.g. ``内容描述/密级``) or a file path; ``message`` is
    Chinese, ``message_en`` English.
    """

    rule: str
    element: str
    message: str
    message_en: str = ""
    severity: Severity = Severity.ERROR
    code: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        return self.severity == Severity.ERROR

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["severity"] = str(self.severity)
        data["rule"] = str(self.rule)
        return data


def errors(findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if f.is_error]
