"""著录更正: an explicit correction of an item's descriptive metadata, with a corrector and a reason.

Resubmitting an item with changed metadata is a ``conflict`` that names the differing elements
(:mod:`lantai.services.ingest`); this is the path the correction takes instead. It writes a new
OCFL version of ``元数据.xml`` through the one change path (:mod:`lantai.services.changes`), so the
catalogue row, the search index entry and the ``item.corrected`` audit entry follow in the same
recoverable unit, and the version names the corrector and the reason.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lantai.domain import metadata as md
from lantai.domain.corrections import Changed, apply_corrections
from lantai.domain.permissions import Permission
from lantai.errors import BadInput, StorageError, ValidationFailed
from lantai.services.access import require, visible_item
from lantai.services.archive import Archive
from lantai.services.catalogue import METADATA_PATH
from lantai.services.changes import ItemChange, commit_change
from lantai.services.users import Principal

ACTION = "item.corrected"


@dataclass(frozen=True)
class MetadataCorrection(ItemChange):
    """The named elements of ``元数据.xml`` set to the corrected values (applied to the head)."""

    values: tuple[tuple[str, str], ...] = ()

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        current = read(METADATA_PATH)
        if current is None:
            raise StorageError(f"对象 {self.record_id} 没有元数据", f"object {self.record_id} has no metadata")
        return {METADATA_PATH: apply_corrections(current, dict(self.values))[0]}


def correct_metadata(archive: Archive, principal: Principal, record_id: str, values: dict[str, str],
                     reason: str) -> dict[str, Any]:
    """Correct descriptive elements of an item (档案管理员): a new version, or BadInput when
    nothing would change. Values that fail DA/T 46 validation are refused, naming the element."""
    require(principal, Permission.ITEM_CORRECT)
    reason = (reason or "").strip()[:200]
    if not reason:
        raise BadInput("著录更正须说明理由", "a correction needs a reason")
    with archive.sessions() as session:  # a hidden item is a missing one
        visible_item(session, principal, record_id)
    current = archive.store.read_bytes(record_id, METADATA_PATH)
    corrected, changed = apply_corrections(current, values)
    if not changed:
        raise BadInput("更正后的值与现有著录相同，没有任何修改", "the corrected values equal the current ones; nothing changed")
    _refuse_invalid(corrected, changed)
    summary = "，".join(f"{c.element.split('/')[-1]} {c.before or '（空）'} → {c.after or '（空）'}" for c in changed)
    details = {"elements": [c.element for c in changed], "from": [c.before for c in changed],
               "to": [c.after for c in changed], "reason": reason}
    change = MetadataCorrection(record_id, principal.username, ACTION, f"著录更正：{summary}（{reason}）"[:500],
                                details=details, values=tuple((c.element, c.after) for c in changed))
    result = commit_change(archive, change)
    return {"record_id": record_id, "version": result.version, "corrected_by": principal.username, "reason": reason,
            "changed": [c.to_dict() for c in changed]}


def _refuse_invalid(corrected: bytes, changed: list[Changed]) -> None:
    paths = {c.element for c in changed}
    errors = [f for f in md.validate_record(md.parse_record_xml(corrected))
              if f.severity.value == "error" and f.element in paths]
    if errors:
        raise ValidationFailed("；".join(f.message for f in errors), "; ".join(f.message_en for f in errors))


__all__: list[Any] = ["ACTION", "MetadataCorrection", "correct_metadata"]
