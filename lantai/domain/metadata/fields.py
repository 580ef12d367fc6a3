"""Field helpers that tie each dataclass attribute to its DA/T 48 XML name.

The model, the XML codec and the validator all read the same field metadata, so the English
attribute, the Chinese element name and the element order are declared exactly once. Field
order in a dataclass *is* the DA/T 48 element order.

Kinds:

* ``text``          leaf element, ``str | None`` (``None`` = absent, ``""`` = present but empty)
* ``texts``         repeated leaf element, ``list[str]``
* ``child``         nested container that is always present
* ``optional_child`` nested container that may be absent (``None``)
* ``children``      repeated nested container, ``list[...]``, optionally inside a ``wrapper`` element
* ``attr``          XML attribute of this element
* ``mixed_text``    character content of a mixed-content element (档号)
* ``element_attr``  attribute of a leaf child element (``编码数据/@编码数据ID``)
* ``data_presence`` ``bool``: the leaf child element carries non-empty text (inline 编码数据)
* ``siblings``      entries that follow the element inside its block (文件实体关系 after 文件实体)
* ``none``          not mapped to XML (bookkeeping such as parse notes)
"""

from __future__ import annotations

import functools
from dataclasses import Field, field, fields
from typing import Any


def leaf(tag: str, default: str | None = None) -> Any:
    return field(default=default, metadata={"kind": "text", "xml": tag})


def leaves(tag: str) -> Any:
    return field(default_factory=list, metadata={"kind": "texts", "xml": tag})


def child(tag: str, cls: type) -> Any:
    return field(default_factory=cls, metadata={"kind": "child", "xml": tag, "type": cls})


def optional_child(tag: str, cls: type) -> Any:
    return field(default=None, metadata={"kind": "optional_child", "xml": tag, "type": cls})


def children(tag: str, cls: type, wrapper: str | None = None) -> Any:
    return field(default_factory=list, metadata={"kind": "children", "xml": tag, "type": cls, "wrapper": wrapper})


def attr(name: str) -> Any:
    return field(default=None, metadata={"kind": "attr", "xml": name})


def mixed_text() -> Any:
    return field(default=None, metadata={"kind": "mixed_text", "xml": ""})


def element_attr(tag: str, name: str) -> Any:
    return field(default=None, metadata={"kind": "element_attr", "xml": tag, "attr": name})


def data_presence(tag: str) -> Any:
    return field(default=False, metadata={"kind": "data_presence", "xml": tag})


def siblings(tag: str, cls: type) -> Any:
    """Repeated entries that DA/T 48 places *after* this element in the enclosing block."""
    return field(default_factory=list, metadata={"kind": "siblings", "xml": tag, "type": cls})


def unmapped() -> Any:
    return field(default_factory=list, compare=False, repr=False, metadata={"kind": "none", "xml": ""})


def mapped_fields(obj_or_cls: Any) -> tuple[Field[Any], ...]:
    """The XML-mapped fields of a model class, in DA/T 48 order."""
    return _mapped_fields(obj_or_cls if isinstance(obj_or_cls, type) else type(obj_or_cls))


@functools.cache
def _mapped_fields(cls: type) -> tuple[Field[Any], ...]:
    # Per class, once: reading and writing a record asks for them at every element.
    return tuple(f for f in fields(cls) if f.metadata.get("kind", "none") not in ("none", "siblings"))


def kind(f: Field[Any]) -> str:
    return str(f.metadata["kind"])


def tag(f: Field[Any]) -> str:
    return str(f.metadata["xml"])
