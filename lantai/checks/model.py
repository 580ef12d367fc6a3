"""What checks report and what a run returns: statuses, outcomes, results and item reports.

A check returns :class:`Outcome` objects — a rule id (``1-2b``) plus named parameters — and never
formats text; the runner turns each outcome into a :class:`Result` with the Chinese and English
messages from the registry, so one stored result can be rendered as JSON, a table or a PDF.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

PROPERTIES_ZH = {"authenticity": "真实性", "integrity": "完整性", "usability": "可用性", "security": "安全性"}
STAGES_ZH = {"gd": "归档", "yj": "移交与接收", "bc": "长期保存"}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    WARN = "warn"
    NOT_APPLICABLE = "not_applicable"
    UNSCANNED = "unscanned"


# Worst first: the status of an item for a code is the worst of its results.
SEVERITY_ORDER = (Status.FAIL, Status.UNSCANNED, Status.WARN, Status.PASS, Status.NOT_APPLICABLE)


def worst(statuses: list[str]) -> str:
    for status in SEVERITY_ORDER:
        if status in statuses:
            return str(status)
    return str(Status.NOT_APPLICABLE)


@dataclass(frozen=True, slots=True)
class Outcome:
    """One thing a check found. ``rule`` is ``1-2b`` (code + letter) or empty for a pass."""

    rule: str
    params: dict[str, Any] = field(default_factory=dict)
    status: str | None = None  # None: the rule's default status from the registry
    file: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


def found(rule: str, /, file: str | None = None, *, details: dict[str, Any] | None = None,
          status: str | None = None, **params: Any) -> Outcome:
    """Shorthand used by checks: ``found("1-3b", name, declared=10, actual=12)``."""
    if file is not None:
        params.setdefault("file", file)
    return Outcome(rule, params, status, file, details or {})


def passed(**params: Any) -> Outcome:
    return Outcome("", params, str(Status.PASS))


def not_applicable(rule: str, **params: Any) -> Outcome:
    return Outcome(rule, params, str(Status.NOT_APPLICABLE))


@dataclass(slots=True)
class Result:
    """One row of a report: the ``results[]`` entry of the JSON schema."""

    code: str
    property: str
    check: str
    status: str
    message: str
    message_en: str = ""
    rule: str = ""
    file: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "property": self.property, "check": self.check, "status": self.status,
                "message": self.message, "details": self.details, "rule": self.rule,
                "message_en": self.message_en, "file": self.file}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return cls(data["code"], data["property"], data["check"], data["status"], data["message"],
                   data.get("message_en", ""), data.get("rule", ""), data.get("file"), data.get("details", {}))


@dataclass(slots=True)
class FileFacts:
    """The ``files[]`` entry: what a file is, independent of any rule."""

    path: str
    size: int
    sm3: str
    format: dict[str, Any] | None = None
    pdfa: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"path": self.path, "size": self.size, "sm3": self.sm3,
                                "format": self.format or {"puid": None, "mime": None, "name": None, "version": None}}
        if self.pdfa is not None:
            data["pdfa"] = self.pdfa
        return data


@dataclass(slots=True)
class ItemReport:
    """All results for one item (a SIP item, a single file or an archived item)."""

    id: str
    path: str
    kind: str = "item"
    files: list[FileFacts] = field(default_factory=list)
    results: list[Result] = field(default_factory=list)
    keys: dict[str, Any] = field(default_factory=dict)  # identifiers for run-level checks; not serialised

    def status_by_code(self) -> dict[str, str]:
        codes: dict[str, list[str]] = {}
        for result in self.results:
            codes.setdefault(result.code, []).append(result.status)
        return {code: worst(statuses) for code, statuses in codes.items()}

    @property
    def failed(self) -> bool:
        return any(r.status in (Status.FAIL, Status.UNSCANNED) for r in self.results)

    def failures(self) -> list[Result]:
        return [r for r in self.results if r.status in (Status.FAIL, Status.UNSCANNED)]

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "path": self.path, "kind": self.kind, "status": "failed" if self.failed else "passed",
                "files": [f.to_dict() for f in self.files], "results": [r.to_dict() for r in self.results]}
