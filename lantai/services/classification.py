"""密级 changes (安全保密管理员): a new OCFL version of the item's metadata, through the change path.

The catalogue row, the search index entry (so a reader below the new 密级 no longer finds the
item, not even as a count) and the audit entry follow in the same recoverable unit
(:mod:`lantai.services.changes`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lxml import etree

from lantai.domain.roles import Permission, rank, visible_levels
from lantai.errors import BadInput, PermissionDenied, StorageError, ValidationFailed
from lantai.formats.safexml import descendants, parse_xml
from lantai.services.access import require, visible_item
from lantai.services.catalogue import METADATA_PATH
from lantai.services.changes import ItemChange, commit_change
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive


@dataclass(frozen=True)
class ClassificationChange(ItemChange):
    """Every 密级 element of ``元数据.xml`` set to ``level`` (computed from the head it applies to)."""

    level: str = ""

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        current = read(METADATA_PATH)
        if current is None:
            raise StorageError(f"对象 {self.record_id} 没有元数据", f"object {self.record_id} has no metadata")
        root = parse_xml(current, "元数据.xml")
        nodes = descendants(root, "密级")
        if not nodes:
            raise ValidationFailed("元数据中没有密级元素，无法变更", "the metadata has no 密级 element")
        for node in nodes:
            node.text = self.level
        return {METADATA_PATH: etree.tostring(root, xml_declaration=True, encoding="UTF-8")}


def change_classification(archive: Archive, principal: Principal, record_id: str, level: str, reason: str) -> dict:
    """Change an item's 密级 as a new OCFL version of its metadata (安全保密管理员 only)."""
    require(principal, Permission.ITEM_CLASSIFY)
    with archive.sessions() as session:  # a hidden item is missing, before anything else is said about it
        before = visible_item(session, principal, record_id).security_classification
    if level not in visible_levels("绝密") or not (reason or "").strip():
        raise BadInput("请选择有效密级并填写变更理由", "a valid level and a reason are required")
    if rank(level) > rank(principal.clearance):
        raise PermissionDenied("不能将密级设为高于本人密级权限", "cannot classify above your own clearance")
    reason = reason.strip()[:200]
    change = ClassificationChange(record_id, principal.username, "item.classified", f"密级变更 {before} → {level}：{reason}",
                                  details={"from": before, "to": level, "reason": reason}, level=level)
    result = commit_change(archive, change)
    return {"record_id": record_id, "from": before, "to": level, "version": result.version}


__all__: list[Any] = ["ClassificationChange", "change_classification"]
