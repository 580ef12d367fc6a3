"""The SIP side of the EEP: read an item directory into XML trees and files, write one back.

SIP layout (issue 2 §3): ``元数据.xml`` (root 文件实体), content files at each 编码's
电子属性/计算机文件名, optional ``过程信息.xml`` (root 过程信息 with 业务实体块 and 机构人员实体块),
optional ``manifest-sm3.txt`` / ``manifest-sha256.txt``.

The XML is written back as ``<?xml version="1.0" encoding="UTF-8"?>`` + LF + the element + LF,
whitespace inside kept as it travelled through the EEP, so a SIP written that way (which is how
OA exports and Lantai's own fixtures look) comes back byte for byte.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from lantai.domain.metadata.xmlsafe import reject_declarations
from lantai.errors import MetadataXmlError, PackageError
from lantai.packages.eep.names import NS, local, q
from lantai.packages.inline_data import extract_inline_data
from lantai.packages.sip import check_relative_path

METADATA_FILE = "元数据.xml"
PROCESS_FILE = "过程信息.xml"
MANIFEST_FILE = "manifest-sm3.txt"
XML_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


@dataclass
class SipItem:
    """A SIP ready to be packaged: the 文件实体 tree, the process tree and each 编码's file."""

    root: Path
    record: etree._Element  # 文件实体, or 文件实体块 (文件实体 + 文件实体关系) as 元数据.xml allows
    process: etree._Element | None
    files: dict[etree._Element, Path] = field(default_factory=dict)  # 编码 element → content file
    _scratch: tempfile.TemporaryDirectory[str] | None = None

    def close(self) -> None:
        if self._scratch is not None:
            self._scratch.cleanup()


def load_sip(root: Path) -> SipItem:
    """Parse and check a SIP directory; PackageError names the first thing that is wrong."""
    root = Path(root)
    metadata = _read(root / METADATA_FILE)
    scratch: tempfile.TemporaryDirectory[str] | None = None
    inline: dict[str, Path] = {}
    if "编码数据".encode() in metadata:
        scratch = tempfile.TemporaryDirectory(prefix="lantai-eep-")
        metadata, inline = extract_inline_data(METADATA_FILE, metadata, Path(scratch.name))
    record = _parse(METADATA_FILE, metadata, ("文件实体", "文件实体块"))
    process_path = root / PROCESS_FILE
    process = _parse(PROCESS_FILE, _read(process_path), ("过程信息",)) if process_path.exists() else None
    item = SipItem(root, record, process, _scratch=scratch)
    for encoding in record.iter(q("编码")):
        name = check_relative_path(METADATA_FILE, _file_name(encoding))
        item.files[encoding] = inline.get(name) or _content_file(root, name, encoding)
    if not item.files:
        raise PackageError("元数据.xml 中没有任何编码（计算机文件）", "元数据.xml declares no files")
    return item


def _read(path: Path) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise PackageError(f"无法读取 {path.name}", f"cannot read {path}") from exc
    reject_declarations(data, path.name)
    return data


def _parse(label: str, data: bytes, root_names: tuple[str, ...]) -> etree._Element:
    try:
        element = etree.fromstring(data, _PARSER)
    except etree.XMLSyntaxError as exc:
        raise MetadataXmlError(
            f"{label} 不是格式良好的 XML：{exc}", f"{label} is not well-formed: {exc}"
        ) from exc
    if element.tag not in {q(name) for name in root_names}:
        raise MetadataXmlError(
            f"{label} 的根元素应为 {{{NS}}}{'或'.join(root_names)}，实为 {element.tag}",
            f"{label} root must be {' or '.join(root_names)} in the DA/T 48 namespace",
        )
    return element


def _file_name(encoding: etree._Element) -> str:
    name = encoding.findtext(f"{q('电子属性')}/{q('计算机文件名')}")
    if not name:
        raise PackageError("编码缺少 电子属性/计算机文件名", "编码 without 计算机文件名")
    return name.strip()


def declared_size(encoding: etree._Element) -> int | None:
    text = encoding.findtext(f"{q('电子属性')}/{q('计算机文件大小')}")
    try:
        return int(text.strip()) if text else None
    except ValueError:
        return None


def _content_file(root: Path, name: str, encoding: etree._Element) -> Path:
    path = root / name
    if not path.is_file():
        raise PackageError(f"缺少文件：{name}", f"missing file: {name}")
    size = declared_size(encoding)
    if size is not None and size != path.stat().st_size:
        raise PackageError(
            f"文件 {name} 大小为 {path.stat().st_size} 字节，与 计算机文件大小 {size} 不符",
            f"{name}: size {path.stat().st_size} != declared {size}",
        )
    return path


def write_xml(path: Path, element: etree._Element) -> None:
    path.write_bytes(XML_DECLARATION + etree.tostring(element, encoding="UTF-8") + b"\n")


def strip_encoded_data(record: etree._Element) -> etree._Element:
    """A copy of 文件实体 without 编码数据 elements, as the SIP carries it."""
    copy = clean_copy(record)
    for data in list(copy.iter(q("编码数据"))):
        parent = data.getparent()
        _remove_keeping_tail(parent, data)
    return copy


def _remove_keeping_tail(parent: etree._Element, child: etree._Element) -> None:
    if child.tail:
        previous = child.getprevious()
        if previous is not None:
            previous.tail = (previous.tail or "") + child.tail
        else:
            parent.text = (parent.text or "") + child.tail
    parent.remove(child)


def process_from_blocks(blocks: list[etree._Element], leading_text: str | None) -> etree._Element:
    """Rebuild 过程信息 from the 业务实体块 and 机构人员实体块 of a package."""
    root = etree.Element(q("过程信息"), nsmap={None: NS})
    root.text = leading_text
    for block in blocks:
        clean_copy(block, root).tail = block.tail
    return root


def element_name(element: etree._Element) -> str:
    return local(element.tag)


def clean_copy(element: etree._Element, parent: etree._Element | None = None) -> etree._Element:
    """Deep copy declaring the EEP namespace as the default one (no ``ns0:`` prefixes) on the top."""
    attributes = dict(element.attrib)
    if parent is None:
        copy = etree.Element(element.tag, attributes, nsmap={None: NS})
    else:
        copy = etree.SubElement(parent, element.tag, attributes)
    copy.text = element.text
    for child in element:
        if isinstance(child.tag, str):
            clean_copy(child, copy).tail = child.tail
    return copy
