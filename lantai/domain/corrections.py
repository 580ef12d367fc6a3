"""Metadata corrections (著录更正): which elements of 元数据.xml may be corrected, and how.

A resubmission whose 元数据.xml differs from the archived one is a ``conflict`` that names the
differing elements; the correction itself is an explicit act with a corrector and a reason
(:mod:`lantai.services.corrections`), written as a new version through the change path.

Only descriptive elements are corrected here. Each of the others has its own path:
电子文件号 is the item's identity (never changed), 密级 changes are the 安全保密管理员's
(:mod:`lantai.services.classification`), 档号 is arrangement's (``arrange correct``), and the
file descriptions (文件数据) follow the content, which a correction never touches.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

from lxml import etree

from lantai.domain.metadata import ContentDescription, FormalCharacteristics
from lantai.domain.metadata.xmlsafe import parse_xml
from lantai.errors import BadInput

_OWN_PATHS = {"密级": "变更密级（安全保密管理员）", "主题词": "主题词为复合元素，请提交完整元数据"}


def _leaf_tags(cls: type) -> tuple[str, ...]:
    """The leaf elements of a container, in DA/T 48 order (field order is element order)."""
    return tuple(f.metadata["xml"] for f in fields(cls) if f.metadata.get("kind") == "text")


# container → its correctable leaves, in schema order
CORRECTABLE: dict[str, tuple[str, ...]] = {
    "内容描述": tuple(t for t in _leaf_tags(ContentDescription) if t not in _OWN_PATHS),
    "形式特征": _leaf_tags(FormalCharacteristics),
}
MAX_VALUE = 2000


@dataclass(frozen=True)
class Changed:
    element: str  # 内容描述/题名
    before: str | None  # None: the element was absent
    after: str

    def to_dict(self) -> dict[str, str | None]:
        return {"element": self.element, "from": self.before, "to": self.after}


def element_path(name: str) -> str:
    """``题名`` or ``内容描述/题名`` → ``内容描述/题名``; anything not correctable is refused by name."""
    name = name.strip()
    container, _, leaf = name.rpartition("/")
    for parent, leaves in CORRECTABLE.items():
        if leaf in leaves and container in ("", parent):
            return f"{parent}/{leaf}"
    why = _OWN_PATHS.get(leaf) or {"电子文件号": "电子文件号不可更改"}.get(leaf) or (
        "档号由整理更正（arrange correct）" if "档号" in name else "")
    allowed = "、".join(t for leaves in CORRECTABLE.values() for t in leaves)
    raise BadInput(f"元素 {name} 不能通过著录更正修改{'：' + why if why else ''}；可更正：{allowed}",
                   f"element {name} cannot be changed by a metadata correction; correctable: {allowed}")


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["题名=新题名", "内容描述/日期=2025-03-18"]`` → ``{"内容描述/题名": …}`` (each element once)."""
    values: dict[str, str] = {}
    for pair in pairs:
        name, sep, value = pair.partition("=")
        if not sep:
            raise BadInput(f"应为 元素=值：{pair}", f"expected ELEMENT=VALUE: {pair}")
        path = element_path(name)
        if path in values:
            raise BadInput(f"元素 {path} 出现了两次", f"element {path} given twice")
        values[path] = value
    return values


def apply_corrections(metadata: bytes, values: dict[str, str]) -> tuple[bytes, list[Changed]]:
    """The corrected 元数据.xml and what changed (elements whose value is already that are left out).

    An absent element is created in its schema position inside its container.
    """
    if not values:
        raise BadInput("请至少给出一个要更正的元素", "give at least one element to correct")
    root = parse_xml(metadata, "元数据.xml")
    ns = etree.QName(root).namespace
    changed: list[Changed] = []
    for name, raw in values.items():
        path = element_path(name)
        value = raw.strip()
        if len(value) > MAX_VALUE:
            raise BadInput(f"{path} 过长（{len(value)} 字）", f"{path} is too long ({len(value)} characters)")
        parent_name, leaf = path.split("/")
        parent = _find(root, ns, parent_name)
        if parent is None:
            raise BadInput(f"元数据中没有 {parent_name}", f"the metadata has no {parent_name}")
        node = _find(parent, ns, leaf)
        before = None if node is None else (node.text or "").strip()
        if before == value:
            continue
        if node is None:
            node = _insert(parent, ns, leaf, CORRECTABLE[parent_name])
        try:
            node.text = value
        except ValueError:  # control characters and the like: not XML text
            raise BadInput(f"{path} 含有 XML 不允许的字符", f"{path} holds characters XML does not allow") from None
        changed.append(Changed(path, before, value))
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8"), changed


def _tag(ns: str | None, name: str) -> str:
    return f"{{{ns}}}{name}" if ns else name


def _find(parent: etree._Element, ns: str | None, name: str) -> etree._Element | None:
    return parent.find(_tag(ns, name))


def _insert(parent: etree._Element, ns: str | None, leaf: str, order: tuple[str, ...]) -> etree._Element:
    """A new ``leaf`` after the last sibling that precedes it in the schema order."""
    node = etree.Element(_tag(ns, leaf))
    before = set(order[:order.index(leaf)])
    position = 0
    for index, child in enumerate(parent):
        if isinstance(child.tag, str) and etree.QName(child).localname in before:
            position = index + 1
    parent.insert(position, node)
    node.tail = parent[position - 1].tail if position else None
    return node
