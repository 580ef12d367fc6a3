"""What the checks may know about an archive, as plain data handed in by the caller.

``lantai.checks`` is check logic plus its registry: it never opens the catalogue, the audit
journal or the services. A service that checks against an archive (``lantai.services.item_checks``)
implements :class:`ArchiveFacts` over the catalogue and passes it in; without one, the checks that
need the archive report ``not_applicable``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class BatchTotals:
    """A batch's declared register figures and what the catalogue holds for it."""

    declared_items: int | None
    declared_bytes: int | None
    items: int
    bytes: int


@dataclass(frozen=True)
class ChainStatus:
    """The audit chain as verified by the caller (``ok``, entries, first bad sequence, problems)."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    problems: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class ObjectFixity:
    """Fixity of one stored object, every file of every version (bc 1-5)."""

    files: int
    problems: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class BackupVerification:
    """The newest ``lantai backup verify`` of the archive (bc 3-4), as its audit entry recorded it."""

    ok: bool
    time: str
    source: str
    sampled: int
    failed: int


class ArchiveFacts(Protocol):
    """The archive as the run-level checks see it. Every method is read-only."""

    def reference(self) -> Any:
        """Arrangement reference data (档号 rules per fonds and category), or None."""

    def audit_chain(self) -> ChainStatus | None:
        """The verified audit chain, or None when it cannot be consulted."""

    def ingested(self) -> set[str]:
        """Record ids with an ``ingest.accepted`` audit entry."""

    def records_with(self, key: str, values: list[str]) -> list[tuple[str, str]]:
        """(record id, value) of catalogued items whose ``key`` column holds one of ``values``."""

    def batch_totals(self, batch_id: str) -> BatchTotals | None:
        """Declared and actual totals of one catalogued batch, or None when it is unknown."""

    def batches_of(self, record_ids: list[str]) -> dict[str, str]:
        """Batch id of each archived record that has one."""

    def backup_verification(self) -> BackupVerification | None:
        """The newest backup verification, or None when no backup was ever verified."""
