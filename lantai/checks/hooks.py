"""The ingest plug-in point: checks that run on a staged item before it is committed.

Built-in checks (metadata validation, files present, sizes, manifests, register totals) live in
the ingest service itself; anything registered here runs after them, inside the worker process,
with the staged files on disk. The DA/T 70 engine registers its ``gd`` profile runner here.
A check returns findings; error findings reject the item.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.checks.registry import finding
from lantai.domain.findings import Finding


@dataclass
class IngestContext:
    """What a check may look at: parsed metadata and the staged, already-digested files."""

    label: str
    record: Any
    process: Any | None
    staged: dict[str, Any]  # 计算机文件名 → StagedFile(path, size, sha512, sm3, sha256)
    manifests: dict[str, dict[str, str]]
    settings: Any
    extra: dict[str, Any] = field(default_factory=dict)
    unstaged: list[str] = field(default_factory=list)  # in the package but not referenced, so not staged
    operator: str = "system"  # who submitted the item: the 检测人 of its gd report

    def file_path(self, name: str) -> Path:
        return self.staged[name].path


IngestCheck = Callable[[IngestContext], list[Finding]]
_REGISTRY: dict[str, IngestCheck] = {}


def register_ingest_check(name: str, check: IngestCheck) -> None:
    """Register (or replace) a named check; names make the registry inspectable and testable."""
    _REGISTRY[name] = check


def unregister_ingest_check(name: str) -> None:
    _REGISTRY.pop(name, None)


def registered_checks() -> dict[str, IngestCheck]:
    return dict(_REGISTRY)


def run_ingest_checks(context: IngestContext) -> list[Finding]:
    """Run every registered check; a check that crashes becomes a finding, never a crash."""
    findings: list[Finding] = []
    for name, check in sorted(_REGISTRY.items()):
        try:
            findings.extend(check(context))
        except Exception as exc:
            findings.append(finding("check-error", context.label, check=name, error=f"{type(exc).__name__}: {exc}"))
    return findings
