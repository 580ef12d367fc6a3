"""The thing a check looks at: one item with its files on disk, parsed metadata and context.

Checks never open packages themselves: loaders (:mod:`lantai.checks.loaders`) turn a single file,
a SIP item, a staged ingest item or an archived OCFL object into a :class:`Subject`, and every
check reads the same facts (format, PDF/OFD inspection …), computed once per file and cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lantai.checks.facts import FileAnalysis
from lantai.checks.profiles import Profile

SINGLE, SIP, STAGED, ARCHIVED = "file", "sip", "staged", "archived"


@dataclass
class SubjectFile:
    """A content file: ``name`` as the metadata would reference it, ``path`` where it is on disk."""

    name: str
    path: Path
    size: int
    digests: dict[str, str] = field(default_factory=dict)

    @property
    def sm3(self) -> str:
        return self.digests.get("sm3", "")


@dataclass
class Subject:
    id: str
    source: str
    kind: str
    stage: str
    profile: Profile
    files: dict[str, SubjectFile] = field(default_factory=dict)
    record: Any | None = None
    process: Any | None = None
    metadata_error: str | None = None
    process_error: str | None = None
    package_error: tuple[str, str] | None = None  # (rule, reason) when the package could not be opened
    manifests: dict[str, dict[str, str]] = field(default_factory=dict)  # algorithm → name → hex
    manifest_errors: dict[str, str] = field(default_factory=dict)
    referenced: dict[str, int | None] = field(default_factory=dict)  # 计算机文件名 → declared size
    illegal_names: list[str] = field(default_factory=list)
    stored_location: str | None = None  # archived: where the object lives
    settings: Any | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    _facts: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def has_metadata(self) -> bool:
        return self.kind != SINGLE

    def facts(self, name: str) -> Any:
        """Format identification and validation of one file, computed on first use."""

        if name not in self._facts:
            self._facts[name] = FileAnalysis(self.files[name].path, name)
        return self._facts[name]

    def content_names(self) -> list[str]:
        return sorted(self.files)
