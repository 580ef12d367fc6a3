"""Format migration (格式转换/迁移) as rules: which source format becomes which target, by which
tool with which parameters, and how a migrated rendition is written into an item's metadata.

The registry is data (``lantai/domain/data/migration.toml``, or a file named by the
``migration_registry`` setting), so archivists can read and change what Lantai migrates without
reading code, and each migration records the rule it followed. This module is pure: it parses
the registry's text, decides what to migrate from (path, PUID) pairs, and rewrites the DA/T 46
``元数据.xml`` (a sibling 编码 in the source's 文档数据, so the rendition belongs to the same
document version) and ``过程信息.xml`` (a 业务实体 格式转换 naming source, target, tool and
version). Running the tools is :mod:`lantai.formats.convert`'s job; committing is the change
path's.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import PurePosixPath

from lxml import etree

from lantai.errors import BadInput, ValidationFailed

MIGRATION_ACTIVITY = "格式转换"  # 业务行为 (DA/T 46 M81) of a migration event
MIGRATION_MANDATE = "GB/T 18894-2016 电子文件归档与电子档案管理规范；兰台格式迁移登记表"
AGENT_ID = "S-兰台格式迁移"
TOOLS = ("libreoffice", "image-pdfa")


@dataclass(frozen=True)
class MigrationRule:
    """One line of the registry: files of ``source_puid`` become ``target`` through ``tool``."""

    id: str
    source_puids: tuple[str, ...]
    source_name: str
    extensions: tuple[str, ...]
    target: str  # e.g. "PDF/A-2b"
    target_puid: str
    target_extension: str
    tool: str
    parameters: str
    enabled: bool = True
    note: str = ""

    def to_dict(self) -> dict[str, object]:
        return {"id": self.id, "source_puids": list(self.source_puids), "source_name": self.source_name,
                "extensions": list(self.extensions), "target": self.target, "target_puid": self.target_puid,
                "tool": self.tool, "parameters": self.parameters, "enabled": self.enabled, "note": self.note}


@dataclass(frozen=True)
class MigrationRegistry:
    """The rules by source PUID; ``extensions`` lets a planner skip files no rule could match."""

    rules: tuple[MigrationRule, ...]

    def rule_for(self, puid: str | None) -> MigrationRule | None:
        """The enabled rule for a PUID (None when the format is kept as it is)."""
        return next((r for r in self.rules if r.enabled and puid in r.source_puids), None)

    @property
    def extensions(self) -> frozenset[str]:
        return frozenset(e for r in self.rules if r.enabled for e in r.extensions)

    def by_id(self, rule_id: str) -> MigrationRule | None:
        return next((r for r in self.rules if r.id == rule_id), None)


def parse_registry(text: str) -> MigrationRegistry:
    """The registry from its TOML text; a malformed or contradictory registry is refused whole."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise BadInput(f"格式迁移登记表不是有效的 TOML: {exc}", f"the migration registry is not valid TOML: {exc}") from exc
    rules = tuple(_rule(entry) for entry in data.get("migration", []))
    ids = [r.id for r in rules]
    enabled = [p for r in rules if r.enabled for p in r.source_puids]
    if len(set(ids)) != len(ids) or len(set(enabled)) != len(enabled):
        raise BadInput("格式迁移登记表中有重复的规则编号或源格式", "the migration registry repeats a rule id or source PUID")
    return MigrationRegistry(rules)


def _rule(entry: dict[str, object]) -> MigrationRule:
    try:
        rule = MigrationRule(
            id=str(entry["id"]), source_puids=tuple(str(p) for p in entry["source_puids"]),  # type: ignore[attr-defined]
            source_name=str(entry["source_name"]),
            extensions=tuple(str(e).lower() for e in entry.get("extensions", [])),  # type: ignore[attr-defined]
            target=str(entry["target"]), target_puid=str(entry["target_puid"]),
            target_extension=str(entry.get("target_extension", "pdf")), tool=str(entry["tool"]),
            parameters=str(entry.get("parameters", "")), enabled=bool(entry.get("enabled", True)),
            note=str(entry.get("note", "")))
    except KeyError as exc:
        raise BadInput(f"格式迁移规则缺少字段 {exc}", f"a migration rule lacks {exc}") from exc
    if rule.tool not in TOOLS:
        raise BadInput(f"格式迁移规则 {rule.id} 的工具未知: {rule.tool}", f"rule {rule.id} names an unknown tool {rule.tool}")
    return rule


@dataclass(frozen=True)
class PlannedMigration:
    """One file of one item that the registry says to migrate, and where its rendition goes."""

    record_id: str
    source_path: str  # logical path, ``content/…``
    source_puid: str
    rule_id: str
    target_path: str

    def to_dict(self) -> dict[str, str]:
        return {"record_id": self.record_id, "source": self.source_path, "puid": self.source_puid,
                "rule": self.rule_id, "target": self.target_path}


def rendition_path(source_path: str, extension: str, existing: Iterable[str]) -> str:
    """``content/定稿.docx`` → ``content/定稿.pdf``; ``content/定稿.docx.pdf`` when that name is taken."""
    taken = set(existing)
    source = PurePosixPath(source_path)
    plain = str(source.with_suffix(f".{extension}"))
    return plain if plain not in taken and plain != source_path else f"{source_path}.{extension}"


def plan_item(registry: MigrationRegistry, record_id: str, puids: dict[str, str | None], existing: Iterable[str],
              migrated: Iterable[str]) -> list[PlannedMigration]:
    """The migrations one item needs. ``puids`` maps candidate content paths to their PUIDs,
    ``existing`` is every path the item holds (a rendition never takes a taken name), ``migrated``
    lists sources that already have a rendition: each source is migrated once."""
    done, taken = set(migrated), set(existing)
    planned = []
    for path, puid in sorted(puids.items()):
        rule = registry.rule_for(puid)
        if rule is None or path in done:
            continue
        target = rendition_path(path, rule.target_extension, taken)
        taken.add(target)
        planned.append(PlannedMigration(record_id, path, str(puid), rule.id, target))
    return planned


def pdfa_level(target: str) -> str:
    """``PDF/A-2b`` → ``2b``: what Lantai's validator must find declared in a rendition."""
    return target.lower().removeprefix("pdf/a-")


# -- metadata ------------------------------------------------------------------------------------

def _tag(root: etree._Element, name: str) -> str:
    namespace = etree.QName(root).namespace
    return f"{{{namespace}}}{name}" if namespace else name


def _sub(parent: etree._Element, name: str, text: str) -> etree._Element:
    element = etree.SubElement(parent, _tag(parent, name))
    element.text = text
    return element


def _file_name(path: str) -> str:
    return path.split("/", 1)[1] if path.startswith("content/") else path


def add_rendition(metadata: bytes, source_path: str, target_path: str, *, size: int, format_info: str,
                  creator: str, description: str) -> bytes:
    """``元数据.xml`` with a 编码 for the rendition beside the source's, in the same 文档数据.

    The rendition is another encoding of the same document version (DA/T 48 allows several 编码
    per 文档数据), so 文档主从声明 and the document's place in the item carry over to it.
    """
    root = etree.fromstring(metadata, etree.XMLParser(resolve_entities=False, no_network=True))
    source = _encoding_of(root, _file_name(source_path))
    encoding = etree.Element(_tag(root, "编码"))
    encoding.set("编码ID", _new_encoding_id(root, source.get("编码ID") or "编码"))
    attributes = etree.SubElement(encoding, _tag(root, "电子属性"))
    _sub(attributes, "格式信息", format_info)
    _sub(attributes, "计算机文件名", _file_name(target_path))
    _sub(attributes, "计算机文件大小", str(size))
    _sub(attributes, "文档创建程序", creator)
    _sub(encoding, "编码描述", description)
    _sub(encoding, "反编码关键字", PurePosixPath(target_path).suffix.lstrip("."))
    level = sum(1 for _ in source.iterancestors())
    etree.indent(encoding, space="  ", level=level)
    tail = source.tail
    source.tail = "\n" + "  " * level
    source.addnext(encoding)
    encoding.tail = tail  # the rest of the document keeps its bytes (档号 is mixed content)
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _encoding_of(root: etree._Element, name: str) -> etree._Element:
    for encoding in root.iter(_tag(root, "编码")):
        if encoding.findtext(f"{_tag(root, '电子属性')}/{_tag(root, '计算机文件名')}") == name:
            return encoding
    raise ValidationFailed(f"元数据中没有描述文件 {name} 的编码，无法登记转换结果",
                           f"the metadata has no 编码 for {name}; the rendition cannot be linked to it")


def _new_encoding_id(root: etree._Element, base: str) -> str:
    existing = {e.get("编码ID") for e in root.iter(_tag(root, "编码"))}
    n = 1
    while f"{base}-迁移{n}" in existing:
        n += 1
    return f"{base}-迁移{n}"


@dataclass(frozen=True)
class ConversionEvent:
    """What the 业务实体 格式转换 says: who (Lantai, for an operator), when, from what to what, how."""

    record_id: str
    time: str  # Beijing time, ``YYYY-MM-DDTHH:MM:SS``
    operator: str
    source: str
    target: str
    rule_id: str
    tool: str
    tool_version: str
    parameters: str

    def description(self) -> str:
        return (f"格式转换：{_file_name(self.source)} → {_file_name(self.target)}（{self.tool_version}，"
                f"规则 {self.rule_id}，参数 {self.parameters}，操作人 {self.operator}）；原件保留未改动")


def add_conversion_event(process: bytes | None, event: ConversionEvent) -> bytes:
    """``过程信息.xml`` with a 业务实体 格式转换 (and the system agent it names) appended."""
    namespace = "http://www.saac.gov.cn/standards/ERM/encapsulation"
    parser = etree.XMLParser(resolve_entities=False, no_network=True, remove_blank_text=True)
    root = etree.fromstring(process, parser) if process else etree.Element(f"{{{namespace}}}过程信息",
                                                                        nsmap={None: namespace})
    business = _block(root, "业务实体块", first=True)
    taken = {e.findtext(_tag(root, "业务标识符")) for e in business.findall(_tag(root, "业务实体"))}
    number = len(taken) + 1
    while f"{event.record_id}-B{number}" in taken:
        number += 1
    entity = etree.SubElement(business, _tag(root, "业务实体"))
    for name, value in (("业务标识符", f"{event.record_id}-B{number}"), ("机构人员标识符", AGENT_ID),
                        ("文件标识符", event.record_id), ("业务状态", "历史行为"), ("业务行为", MIGRATION_ACTIVITY),
                        ("行为时间", event.time), ("行为依据", MIGRATION_MANDATE), ("行为描述", event.description())):
        _sub(entity, name, value)
    agents = _block(root, "机构人员实体块", first=False)
    known = {a.findtext(_tag(root, "机构人员标识符")) for a in agents.findall(_tag(root, "机构人员实体"))}
    if AGENT_ID not in known:
        agent = etree.SubElement(agents, _tag(root, "机构人员实体"))
        _sub(agent, "机构人员标识符", AGENT_ID)
        _sub(agent, "机构人员类型", "内设机构")
        _sub(agent, "机构人员名称", "兰台电子档案系统（格式迁移）")
    etree.indent(root, space="  ")
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8")


def _block(root: etree._Element, name: str, *, first: bool) -> etree._Element:
    found = root.find(_tag(root, name))
    if found is None:
        found = etree.Element(_tag(root, name))
        root.insert(0, found) if first else root.append(found)
    return found
