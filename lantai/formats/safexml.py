"""Parse untrusted XML from inside packages (OFD parts, OOXML parts) without surprises.

A DTD or an entity declaration is refused outright rather than ignored: a document that needs one
is not a plain OFD/OOXML part, and refusing is the only way to be sure no billion-laughs or external
entity can reach the parser. Network access and huge trees are off.
"""

from __future__ import annotations

from lxml import etree

from lantai.domain.metadata.xmlsafe import reject_declarations

_PARSER = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, dtd_validation=False,
                          huge_tree=False, remove_comments=True, remove_pis=True)


def parse_xml(data: bytes, label: str = "XML") -> etree._Element:
    """Return the root element of ``data``.

    Raises ``UnsafeInput`` for DTDs/entities and ``ValueError`` for XML that is not well formed.
    """
    reject_declarations(data, label)  # one rule for every XML Lantai reads (UTF-16 aware)
    try:
        root = etree.fromstring(data, parser=_PARSER)
    except etree.XMLSyntaxError as exc:
        raise ValueError(f"{label}: not well-formed XML: {exc}") from exc
    if root is None:
        raise ValueError(f"{label}: empty XML document")
    return root


def local_name(element: etree._Element) -> str:
    """Tag without its namespace; OFD producers disagree on prefixes, never on local names."""
    tag = element.tag
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def namespace(element: etree._Element) -> str:
    tag = element.tag
    if isinstance(tag, str) and tag.startswith("{"):
        return tag[1:].split("}", 1)[0]
    return ""


def children(element: etree._Element, name: str) -> list[etree._Element]:
    """Direct children with local name ``name``, whatever their namespace."""
    return [child for child in element if local_name(child) == name]


def child(element: etree._Element, name: str) -> etree._Element | None:
    for item in element:
        if local_name(item) == name:
            return item
    return None


def descendants(element: etree._Element, name: str) -> list[etree._Element]:
    return [el for el in element.iter() if local_name(el) == name]
