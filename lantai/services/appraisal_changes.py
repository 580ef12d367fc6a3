"""What an appraisal decision writes into an item's OCFL object, as changes for the one change path.

:class:`AppraisalChange` applies an approved decision: the metadata change it implies (保管期限
extended, 控制标识 开放/控制, 密级 lowered or 公开), a 业务实体 event in ``过程信息.xml`` naming the
campaign, its approvers, the decision and the reason, and — for 销毁 — the disposition mark
``lantai/disposition.json`` that makes the item 待销毁 (withdrawn from use). :class:`TombstoneChange`
is phase 2's final version: the tombstone ``lantai/destruction.json`` (what was deleted, with its
digests, and the 销毁清册 that records it), the 销毁 event, and a state without the content files.

Both compute their files from the head they are prepared against, and both are idempotent: the
event carries an identifier, so a change prepared again after a crash writes nothing twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from lantai.domain import metadata as md
from lantai.domain.appraisal import KIND_LABELS, Decision, Kind
from lantai.domain.retention import metadata_label
from lantai.errors import StorageError
from lantai.formats.safexml import child, descendants, parse_xml
from lantai.services.catalogue import DESTRUCTION_PATH, DISPOSITION_PATH, METADATA_PATH, PROCESS_PATH
from lantai.services.changes import ItemChange
from lantai.services.search_index import TEXT_PATH

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
DESTROYED_PREFIXES = ("content/", "derivatives/")  # the record's content and what was derived from it


def destroyed_path(logical_path: str) -> bool:
    """Whether a destruction deletes this logical path (content and derivatives; never metadata)."""
    return logical_path.startswith(DESTROYED_PREFIXES) or logical_path == TEXT_PATH


def canonical_json(data: dict[str, Any]) -> bytes:
    return json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True).encode("utf-8") + b"\n"


@dataclass(frozen=True)
class Event:
    """A 业务实体 for ``过程信息.xml``: the identifier makes adding it twice a no-op."""

    identifier: str
    activity: str
    time: str
    agent: str
    mandate: str
    description: str


def with_event(current: bytes | None, record_id: str, event: Event) -> bytes:
    """``过程信息.xml`` with ``event`` appended (created when the item had none)."""
    process = md.parse_process_xml(current) if current else md.ProcessRecord()
    if any(b.business_identifier == event.identifier for b in process.business_entities):
        return current or md.process_to_xml(process)
    agent_id = f"人员-{event.agent}"
    if not any(a.agent_identifier == agent_id for a in process.agents):
        process.agents.append(md.AgentEntity(agent_identifier=agent_id, agent_type="个人", agent_name=event.agent))
    process.business_entities.append(md.BusinessEntity(
        business_identifier=event.identifier, agent_identifier=agent_id, record_identifier=record_id,
        business_status="历史行为", business_activity=event.activity, action_time=event.time,
        action_mandate=event.mandate, action_description=event.description))
    return md.process_to_xml(process)


def _set_texts(root: Any, name: str, value: str) -> int:
    nodes = descendants(root, name)
    for node in nodes:
        node.text = value
    return len(nodes)


def _set_control(root: Any, value: str) -> None:
    """权限管理/控制标识 = value, adding the elements when the item had none (DA/T 46 M74)."""
    rights = next(iter(descendants(root, "权限管理")), None)
    if rights is None:
        rights = etree.SubElement(root, f"{{{NS}}}权限管理")
        anchor = next(iter(descendants(root, "存储位置")), None)
        if anchor is not None:
            anchor.addnext(rights)
    control = child(rights, "控制标识")
    if control is None:
        control = etree.SubElement(rights, f"{{{NS}}}控制标识")
        rights.insert(0, control)
    control.text = value


def metadata_after(current: bytes, decision: Decision, value: str) -> bytes | None:
    """``元数据.xml`` after the decision, or None when the decision changes no metadata."""
    root = parse_xml(current, "元数据.xml")
    if decision is Decision.EXTEND:
        if not _set_texts(root, "保管期限", metadata_label(value)):
            raise StorageError("元数据中没有保管期限元素", "the metadata has no 保管期限 element")
    elif decision in (Decision.OPEN, Decision.CONTROL):
        _set_control(root, "开放" if decision is Decision.OPEN else "控制")
    elif decision in (Decision.DECLASSIFY, Decision.DOWNGRADE):
        if not _set_texts(root, "密级", value):
            raise StorageError("元数据中没有密级元素", "the metadata has no 密级 element")
    else:
        return None
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


@dataclass(frozen=True)
class AppraisalChange(ItemChange):
    """One approved decision applied to one item (see the module docstring)."""

    campaign_id: int = 0
    kind: str = ""
    decision: str = ""
    value: str = ""
    reason: str = ""
    approvers: tuple[str, ...] = ()
    when: str = ""  # fixed when the campaign is executed, so preparing again writes the same bytes

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        decision, files = Decision(self.decision), {}
        current = read(METADATA_PATH)
        if current is None:
            raise StorageError(f"对象 {self.record_id} 没有元数据", f"object {self.record_id} has no metadata")
        changed = metadata_after(current, decision, self.value)
        if changed is not None:
            files[METADATA_PATH] = changed
        files[PROCESS_PATH] = with_event(read(PROCESS_PATH), self.record_id, self.event())
        if decision is Decision.DESTROY:
            files[DISPOSITION_PATH] = canonical_json(self.disposition())
        return files

    def event(self) -> Event:
        label = KIND_LABELS[Kind(self.kind)]
        text = f"{self.decision}" + (f"（{self.value}）" if self.value else "") + f"：{self.reason}"
        return Event(f"鉴定-{self.campaign_id}-{self.record_id}", label, self.when, self.actor,
                     f"鉴定任务 {self.campaign_id}，经 {'、'.join(self.approvers)} 批准", text)

    def disposition(self) -> dict[str, Any]:
        return {"state": "待销毁", "campaign": self.campaign_id, "decision": self.decision, "reason": self.reason,
                "approvers": list(self.approvers), "executed_by": self.actor, "executed_at": self.when}


@dataclass(frozen=True)
class TombstoneChange(ItemChange):
    """Phase 2's final version: the tombstone, the 销毁 event, and no content in the state.

    ``tombstone`` is fixed before the version is prepared (it is also in the destruction's intent),
    naming every content path of every version that will be deleted, with its digests.
    """

    tombstone: bytes = b""
    campaign_id: int = 0
    when: str = ""
    register_record_id: str = ""

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        event = Event(f"销毁-{self.campaign_id}-{self.record_id}", "销毁", self.when, self.actor,
                      f"鉴定任务 {self.campaign_id}；销毁清册 {self.register_record_id}",
                      "内容文件已删除，元数据、鉴定意见与被删除文件的摘要保留")
        return {DESTRUCTION_PATH: self.tombstone, PROCESS_PATH: with_event(read(PROCESS_PATH), self.record_id, event)}

    def removes(self, paths: list[str]) -> list[str]:
        return [p for p in paths if destroyed_path(p)]
