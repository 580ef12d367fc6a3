"""元数据.xml, 过程信息.xml and 电子签名 elements in and out, with DA/T 48's Chinese names.

* ``元数据.xml``: root ``文件实体``; when the record has 文件实体关系 the root is DA/T 48's
  ``文件实体块`` (文件实体 followed by the relations) so nothing is lost. Both roots are read.
* ``过程信息.xml``: root ``过程信息`` holding 业务实体块 and 机构人员实体块.
* 编码数据 is never read into memory as data (only whether it was there and its IDs) and is
  written only as an empty placeholder on request: the EEP writer streams the base64 itself.
"""

from __future__ import annotations

from lxml import etree

from lantai.domain.metadata.codec import Notes, fill, new_element, read
from lantai.domain.metadata.process import ProcessRecord
from lantai.domain.metadata.record import RecordEntity, RecordRelation
from lantai.domain.metadata.signature import ElectronicSignature
from lantai.domain.metadata.xmlsafe import expect_root, parse_xml, q
from lantai.errors import MetadataXmlError

RECORD_LABEL = "元数据.xml"
PROCESS_LABEL = "过程信息.xml"


def _serialise(element: etree._Element) -> bytes:
    return etree.tostring(element, xml_declaration=True, encoding="UTF-8", pretty_print=True)


# --- 文件实体 ------------------------------------------------------------------------------------
def parse_record_xml(data: bytes) -> RecordEntity:
    """Parse 元数据.xml (root 文件实体 or 文件实体块) from untrusted bytes."""
    return record_from_element(parse_xml(data, RECORD_LABEL))


_ATTRS_PATH = "/".join(q(t) for t in ("文件数据", "文档", "文档数据", "编码", "电子属性"))
_YEAR_PATH = "/".join(q(t) for t in ("档号", "年度"))


def declared_files(data: bytes) -> tuple[list[tuple[str, str]], str]:
    """(计算机文件名, 计算机文件大小) of every 编码, in document order, and the record's 年度 — read
    without building the record.

    The batch register check (2-1) reads every item's metadata before ingest starts, in the one
    committing process; the full model costs ten times more and the workers build it anyway.
    Same rules as :func:`parse_record_xml`: safe parsing, either root, the first 文件实体 of a block.
    """
    root = parse_xml(data, RECORD_LABEL)
    entity = root if expect_root(root, ("文件实体", "文件实体块"), RECORD_LABEL) == "文件实体" else root.find(q("文件实体"))
    if entity is None:
        raise MetadataXmlError(f"{RECORD_LABEL}: 文件实体块中缺少文件实体", f"{RECORD_LABEL}: 文件实体块 has no 文件实体")
    files = [((attrs.findtext(q("计算机文件名")) or "").strip(), (attrs.findtext(q("计算机文件大小")) or "").strip())
             for attrs in entity.iterfind(_ATTRS_PATH)]
    return files, (entity.findtext(_YEAR_PATH) or "").strip()


def record_from_element(element: etree._Element) -> RecordEntity:
    """Read a 文件实体 (or a 文件实体块 holding one) element, e.g. from inside an EEP."""
    root = expect_root(element, ("文件实体", "文件实体块"), RECORD_LABEL)
    if root == "文件实体":
        notes: Notes = []
        record = read(RecordEntity, element, notes, "")
        record.parse_notes = notes
        return record
    return _record_from_block(element)


def _record_from_block(block: etree._Element) -> RecordEntity:
    notes: Notes = []
    entities = [c for c in block if c.tag == q("文件实体")]
    if not entities:
        raise MetadataXmlError(f"{RECORD_LABEL}: 文件实体块中缺少文件实体", f"{RECORD_LABEL}: 文件实体块 has no 文件实体")
    record = read(RecordEntity, entities[0], notes, "")
    relations = [c for c in block if c.tag == q("文件实体关系")]
    record.relations = [read(RecordRelation, el, notes, f"文件实体关系[{i}]") for i, el in enumerate(relations, 1)]
    for child in block:
        if isinstance(child.tag, str) and child.tag not in (q("文件实体"), q("文件实体关系")):
            notes.append(("unknown", f"文件实体块/{etree.QName(child).localname}"))
    if len(entities) > 1:
        notes.append(("repeated", "文件实体块/文件实体"))
    record.parse_notes = notes
    return record


def record_to_element(entity: RecordEntity, *, include_encoded_data_placeholders: bool = False) -> etree._Element:
    """The 文件实体 element alone (without 文件实体关系), in DA/T 48 element order."""
    return fill(new_element("文件实体"), entity, include_encoded_data_placeholders)


def record_block_to_element(entity: RecordEntity, *, include_encoded_data_placeholders: bool = False
                            ) -> etree._Element:
    """DA/T 48's 文件实体块: 文件实体 followed by its 文件实体关系 — what an EEP's 封装内容 holds."""
    block = new_element("文件实体块")
    block.append(record_to_element(entity, include_encoded_data_placeholders=include_encoded_data_placeholders))
    for relation in entity.relations:
        fill(etree.SubElement(block, q("文件实体关系")), relation, False)
    return block


def record_to_xml(entity: RecordEntity, *, include_encoded_data_placeholders: bool = False) -> bytes:
    """元数据.xml bytes: root 文件实体, or 文件实体块 when the record has relations."""
    options = {"include_encoded_data_placeholders": include_encoded_data_placeholders}
    element = record_block_to_element(entity, **options) if entity.relations else record_to_element(entity, **options)
    return _serialise(element)


# --- 过程信息 ------------------------------------------------------------------------------------
def parse_process_xml(data: bytes) -> ProcessRecord:
    """Parse 过程信息.xml (root 过程信息: 业务实体块 + 机构人员实体块) from untrusted bytes."""
    return process_from_element(parse_xml(data, PROCESS_LABEL))


def process_from_element(element: etree._Element) -> ProcessRecord:
    expect_root(element, ("过程信息",), PROCESS_LABEL)
    notes: Notes = []
    process = read(ProcessRecord, element, notes, "")
    process.parse_notes = notes
    return process


def process_to_element(process: ProcessRecord) -> etree._Element:
    return fill(new_element("过程信息"), process, False)


def process_to_xml(process: ProcessRecord) -> bytes:
    return _serialise(process_to_element(process))


# --- 电子签名 ------------------------------------------------------------------------------------
def signature_to_element(signature: ElectronicSignature) -> etree._Element:
    """One 电子签名 element for the EEP's 电子签名块."""
    return fill(new_element("电子签名"), signature, False)


def signature_from_element(element: etree._Element) -> ElectronicSignature:
    expect_root(element, ("电子签名",), "电子签名")
    notes: Notes = []
    signature = read(ElectronicSignature, element, notes, "电子签名")
    signature.parse_notes = notes
    return signature


# --- comparing two records ---------------------------------------------------------------------
def differing_elements(old: bytes, new: bytes) -> list[str]:
    """Paths of the elements (e.g. ``内容描述/题名``) whose text or attributes differ between two
    元数据.xml documents; empty when they say the same thing however they are laid out.

    Ingest uses it to tell a true resubmission (duplicate) from a changed one (conflict).
    """
    if old == new:
        return []
    before, after = _leaves(parse_xml(old, RECORD_LABEL)), _leaves(parse_xml(new, RECORD_LABEL))
    changed = {key for key in before.keys() | after.keys() if before.get(key) != after.get(key)}
    return sorted({_without_positions(key) for key in changed})


def _leaves(root: etree._Element) -> dict[str, tuple[str, tuple[tuple[str, str], ...]]]:
    """Every element: its path (with sibling positions) → its own text and attributes.

    Own text counts for elements with children too (档号 may carry mixed content).
    """
    result: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {}
    stack: list[tuple[etree._Element, str]] = [(root, "")]
    while stack:
        element, path = stack.pop()
        result[path or etree.QName(element).localname] = ((element.text or "").strip(),
                                                           tuple(sorted(element.attrib.items())))
        seen: dict[str, int] = {}
        for child in (c for c in element if isinstance(c.tag, str)):
            name = etree.QName(child).localname
            seen[name] = seen.get(name, 0) + 1
            stack.append((child, f"{path}/{name}[{seen[name]}]" if path else f"{name}[{seen[name]}]"))
    return result


def _without_positions(path: str) -> str:
    return "/".join(part.split("[", 1)[0] for part in path.split("/"))
