"""Generic dataclass <-> lxml element mapping driven by the field metadata of :mod:`.fields`.

Writing follows field order, which is DA/T 48 element order. Reading is tolerant of order but
notes anything odd — unknown, repeated or out-of-order elements — so the validator can report
it instead of the parser silently dropping data.
"""

from __future__ import annotations

import functools
from dataclasses import Field
from typing import Any

from lxml import etree

from lantai.domain.metadata.fields import kind, mapped_fields, tag
from lantai.domain.metadata.xmlsafe import NAMESPACE, q
from lantai.errors import MetadataXmlError

Notes = list[tuple[str, str]]


# --- writing -------------------------------------------------------------------------------------
def new_element(name: str) -> etree._Element:
    return etree.Element(q(name), nsmap={None: NAMESPACE})


def _text(element: etree._Element, value: str, where: str) -> None:
    try:
        element.text = value
    except ValueError as exc:
        raise MetadataXmlError(f"{where} 含有 XML 不允许的字符，无法写出", f"{where} holds characters XML does not allow",
                               element=where) from exc


def fill(element: etree._Element, obj: Any, placeholders: bool) -> etree._Element:
    """Write ``obj``'s fields as attributes, text and children of ``element``."""
    wrappers: dict[str, etree._Element] = {}
    groups: dict[str, etree._Element | None] = {}
    for f in mapped_fields(obj):
        value = getattr(obj, f.name)
        _write_field(element, f, value, obj, placeholders, wrappers, groups)
    return element


def _write_field(element: etree._Element, f: Field[Any], value: Any, obj: Any, placeholders: bool,
                 wrappers: dict[str, etree._Element], groups: dict[str, etree._Element | None]) -> None:
    k, name = kind(f), tag(f)
    if k == "attr":
        if value is not None:
            element.set(name, value)
    elif k == "mixed_text":
        if value is not None:
            _text(element, value, etree.QName(element).localname)
    elif k == "text":
        if value is not None:
            _text(etree.SubElement(element, q(name)), value, name)
    elif k == "texts":
        for item in value:
            _text(etree.SubElement(element, q(name)), item, name)
    elif k == "child" or (k == "optional_child" and value is not None):
        fill(etree.SubElement(element, q(name)), value, placeholders)
    elif k == "children":
        wrapper = f.metadata.get("wrapper")
        parent = element
        if wrapper:
            if wrapper not in wrappers:
                wrappers[wrapper] = etree.SubElement(element, q(wrapper))
            parent = wrappers[wrapper]
        for item in value:
            fill(etree.SubElement(parent, q(name)), item, placeholders)
    elif k in ("element_attr", "data_presence"):
        _write_group(element, f, obj, placeholders, groups)


def _write_group(element: etree._Element, f: Field[Any], obj: Any, placeholders: bool,
                 groups: dict[str, etree._Element | None]) -> None:
    """编码数据: an empty placeholder carrying its IDs, written only when the caller asks."""
    name = tag(f)
    if name not in groups:
        members = [g for g in mapped_fields(obj) if kind(g) in ("element_attr", "data_presence") and tag(g) == name]
        present = placeholders and any(getattr(obj, g.name) for g in members)
        groups[name] = etree.SubElement(element, q(name)) if present else None
    target = groups[name]
    value = getattr(obj, f.name)
    if target is not None and kind(f) == "element_attr" and value is not None:
        target.set(f.metadata["attr"], value)


# --- reading -------------------------------------------------------------------------------------
def _local(element: etree._Element) -> str | None:
    qname = etree.QName(element)
    return qname.localname if qname.namespace == NAMESPACE else None


def _elements(element: etree._Element) -> list[etree._Element]:
    return [c for c in element if isinstance(c.tag, str)]


def _join(prefix: str, name: str) -> str:
    return f"{prefix}/{name}" if prefix else name


def read(cls: type, element: etree._Element, notes: Notes, where: str) -> Any:
    """Build a ``cls`` from ``element``; oddities go to ``notes`` as (kind, Chinese path)."""
    values: dict[str, Any] = {}
    by_tag, order = _layout(cls)
    last = -1
    for f in mapped_fields(cls):
        if kind(f) == "attr":
            values[f.name] = element.get(tag(f))
        elif kind(f) == "mixed_text":
            values[f.name] = _mixed_text(element)
    for child_el in _elements(element):
        name = _local(child_el)
        label = _join(where, name or etree.QName(child_el).localname)
        if name not in by_tag:
            notes.append(("unknown", label))
            continue
        if order[name] < last:
            notes.append(("order", label))
        last = max(last, order[name])
        if by_tag[name][0].metadata.get("wrapper"):
            _read_wrapper(by_tag[name], child_el, values, notes, label)
            continue
        for f in by_tag[name]:
            _read_field(f, child_el, values, notes, label)
    return cls(**values)


@functools.cache
def _layout(cls: type) -> tuple[dict[str, list[Field[Any]]], dict[str, int]]:
    """Per class, once (the model classes are fixed): element name → fields, and DA/T 48 order."""
    by_tag: dict[str, list[Field[Any]]] = {}
    order: dict[str, int] = {}
    for index, f in enumerate(mapped_fields(cls)):
        if kind(f) in ("attr", "mixed_text"):
            continue
        name = f.metadata.get("wrapper") or tag(f)
        by_tag.setdefault(name, []).append(f)
        order.setdefault(name, index)
    return by_tag, order


def _mixed_text(element: etree._Element) -> str | None:
    pieces = [element.text or ""] + [c.tail or "" for c in element]
    text = "".join(pieces).strip()
    return text or None


def _read_field(f: Field[Any], element: etree._Element, values: dict[str, Any], notes: Notes, where: str) -> None:
    k = kind(f)
    if k == "text":
        if f.name in values:
            notes.append(("repeated", where))
        else:
            values[f.name] = element.text or ""
    elif k == "texts":
        values.setdefault(f.name, []).append(element.text or "")
    elif k in ("child", "optional_child"):
        if f.name in values:
            notes.append(("repeated", where))
        else:
            values[f.name] = read(f.metadata["type"], element, notes, where)
    elif k == "children":
        items = values.setdefault(f.name, [])
        items.append(read(f.metadata["type"], element, notes, f"{where}[{len(items) + 1}]"))
    elif k == "element_attr":
        values[f.name] = element.get(f.metadata["attr"])
    elif k == "data_presence":
        values[f.name] = bool((element.text or "").strip())


def _read_wrapper(members: list[Field[Any]], wrapper: etree._Element, values: dict[str, Any], notes: Notes,
                  where: str) -> None:
    """The children of a wrapper element (文件数据 → 文档, 机构人员实体块 → 机构人员实体 / 机构人员实体关系)."""
    by_tag = {tag(f): f for f in members}
    for child_el in _elements(wrapper):
        name = _local(child_el)
        f = by_tag.get(name or "")
        if f is None:
            notes.append(("unknown", f"{where}/{name or etree.QName(child_el).localname}"))
            continue
        items = values.setdefault(f.name, [])
        items.append(read(f.metadata["type"], child_el, notes, f"{where}/{name}[{len(items) + 1}]"))
