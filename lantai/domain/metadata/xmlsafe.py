"""Parsing untrusted XML bytes: no DTDs, no entities, no network, bounded text nodes.

Refusing every DTD up front closes external entities (XXE), entity expansion bombs and network
fetches with one rule that is easy to explain to an agency: DA/T 48 documents never need one.
The lxml parser is configured defensively as well, so a declaration that slips past the byte
scan (an encoding we did not anticipate) still cannot be resolved.
"""

from __future__ import annotations

import codecs
import re

from lxml import etree

from lantai.errors import MetadataXmlError, UnsafeInput

NAMESPACE = "http://www.saac.gov.cn/standards/ERM/encapsulation"

_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION)", re.IGNORECASE)
_WIDE_BOMS = (codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)


def q(tag: str) -> str:
    """Clark notation for an element in the DA/T 48 namespace."""
    return f"{{{NAMESPACE}}}{tag}"


def _as_scannable(data: bytes) -> bytes:
    """UTF-16/32 hides ASCII markup from a byte scan; re-encode those as UTF-8 first."""
    head = data[:4]
    if not head.startswith(_WIDE_BOMS) and b"\x00" not in head:
        return data
    for encoding in ("utf-32", "utf-16", "utf-16-le", "utf-16-be"):
        try:
            return data.decode(encoding).encode("utf-8")
        except UnicodeDecodeError:
            continue
    return data


def reject_declarations(data: bytes, label: str) -> None:
    if _DECLARATION.search(_as_scannable(data)):
        raise UnsafeInput(f"{label}: XML 含 DTD（DOCTYPE）或实体声明，出于安全原因拒收",
                          f"{label}: XML with a DTD (DOCTYPE) or entity declarations is refused for safety",
                          rule="xml_dtd")


def _parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                           huge_tree=False, remove_comments=True, remove_pis=True, collect_ids=False)


def parse_xml(data: bytes, label: str) -> etree._Element:
    """Parse untrusted bytes or raise UnsafeInput / MetadataXmlError (with line and column)."""
    if not data.strip():
        raise MetadataXmlError(f"{label}: 文件为空，不是 XML", f"{label}: empty file, not XML")
    reject_declarations(data, label)
    try:
        root = etree.fromstring(data, _parser())
    except etree.XMLSyntaxError as exc:
        line, column = exc.position if exc.position else (exc.lineno, 0)
        raise MetadataXmlError(f"{label}: 不是格式良好的 XML（第 {line} 行第 {column} 列）: {exc.msg}",
                               f"{label}: not well-formed XML (line {line}, column {column}): {exc.msg}",
                               line=line, column=column) from exc
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise UnsafeInput(f"{label}: XML 含 DTD，出于安全原因拒收", f"{label}: XML with a DTD is refused for safety",
                          rule="xml_dtd")
    return root


def expect_root(root: etree._Element, names: tuple[str, ...], label: str) -> str:
    """Check the root element's name and namespace; return its local name."""
    qname = etree.QName(root)
    expected = " 或 ".join(names)
    if qname.localname in names and qname.namespace != NAMESPACE:
        found = qname.namespace or "（无命名空间）"
        raise MetadataXmlError(f"{label}: 根元素 {qname.localname} 的命名空间错误，应为 {NAMESPACE}，实际为 {found}",
                               f"{label}: root element {qname.localname} is in the wrong namespace: expected "
                               f"{NAMESPACE}, found {qname.namespace or '(none)'}", namespace=qname.namespace)
    if qname.localname not in names:
        raise MetadataXmlError(f"{label}: 根元素应为 {expected}，实际为 {qname.localname}",
                               f"{label}: root element must be {' or '.join(names)}, found {qname.localname}",
                               root=qname.localname)
    return qname.localname
