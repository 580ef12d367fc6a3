"""XMP value-type checking: every property of the packet against its schema's declared type.

PDF/A requires each XMP property to be one the predefined schemas define (with the value type
they define) or one declared by a PDF/A extension schema. This module reads the RDF into a small
value model (simple text / array / structure) and checks it against a type expression; the type
tables come from ``pdfa_xmp_schemas`` and from the file's own extension schemas.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from lxml import etree

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
XML_NS = "http://www.w3.org/XML/1998/namespace"
ARRAYS = ("Bag", "Seq", "Alt")

INTEGER = re.compile(r"[+-]?\d+")
REAL = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
RATIONAL = re.compile(r"[+-]?\d+/[+-]?\d+")
DATE = re.compile(r"\d{4}(?:-\d{2}(?:-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:[.,]\d+)?)?(?:Z|[+-]\d{2}:\d{2})?)?)?)?")
GPS = re.compile(r"\d{1,3},\d{1,2}(?:,\d{1,2}|\.\d+)[NSEW]")
BOOLEAN = {"True", "False"}


@dataclass(slots=True)
class Value:
    """One RDF value: ``kind`` is "simple", "Bag"/"Seq"/"Alt", or "struct"."""

    kind: str
    text: str = ""
    items: list[Value] = field(default_factory=list)
    fields: dict[tuple[str, str], Value] = field(default_factory=dict)
    lang: str | None = None


@dataclass(slots=True)
class TypeSystem:
    """Properties and structures known for one packet (predefined plus its extension schemas)."""

    properties: dict[str, dict[str, str]]  # namespace → {name → type}
    structs: dict[str, tuple[str, dict[str, str]]]  # type name → (field namespace, {field → type})
    simple_aliases: set[str]  # extension-declared names that are simple (Text-like) types


# -- reading RDF ---------------------------------------------------------------------------------
def split(tag: str) -> tuple[str, str]:
    """``{ns}local`` → (ns, local)."""
    if tag.startswith("{"):
        ns, _, local = tag[1:].partition("}")
        return ns, local
    return "", tag


def _meta_attr(name: str) -> bool:
    ns, _ = split(name)
    return ns in (RDF, XML_NS)


def read_value(element: etree._Element) -> Value:
    """The value of a property element, in any of RDF/XML's serialisations."""
    lang = element.get(f"{{{XML_NS}}}lang")
    if element.get(f"{{{RDF}}}resource") is not None:
        return Value("simple", element.get(f"{{{RDF}}}resource") or "", lang=lang)
    children = [c for c in element if isinstance(c.tag, str)]
    qualified = _qualified_value(element, children)
    if qualified is not None:
        return Value("simple", qualified, lang=lang)
    if element.get(f"{{{RDF}}}parseType") == "Resource":
        return _struct_from(element, children)
    if children:
        first = children[0]
        ns, local = split(first.tag)
        if ns == RDF and local in ARRAYS and len(children) == 1:
            items = [read_value(li) for li in first if isinstance(li.tag, str) and split(li.tag) == (RDF, "li")]
            return Value(local, items=items)
        if ns == RDF and local == "Description" and len(children) == 1:
            return _struct_from(first, [c for c in first if isinstance(c.tag, str)])
        return _struct_from(element, children)
    extra = [a for a in element.attrib if not _meta_attr(a)]
    if extra:  # structure written as attributes of an empty property element
        return _struct_from(element, [])
    return Value("simple", element.text or "", lang=lang)


def _qualified_value(element: etree._Element, children: list[etree._Element]) -> str | None:
    """A qualified simple value (rdf:value plus qualifiers, inline or in an rdf:Description) is its rdf:value."""
    holder = element
    if len(children) == 1 and split(children[0].tag) == (RDF, "Description"):
        holder = children[0]
    value = holder.find(f"{{{RDF}}}value")
    if value is not None and not [c for c in value if isinstance(c.tag, str)]:
        return value.text or ""
    attr = holder.get(f"{{{RDF}}}value")
    return attr


def _struct_from(element: etree._Element, children: list[etree._Element]) -> Value:
    fields: dict[tuple[str, str], Value] = {}
    for name, text in element.attrib.items():
        if not _meta_attr(name):
            fields[split(name)] = Value("simple", text)
    for child in children:
        fields[split(child.tag)] = read_value(child)
    return Value("struct", fields=fields)


def top_properties(root: etree._Element) -> list[tuple[str, str, Value]]:
    """(namespace, name, value) of every top-level property of every rdf:Description."""
    result: list[tuple[str, str, Value]] = []
    rdf = root if split(root.tag) == (RDF, "RDF") else root.find(f".//{{{RDF}}}RDF")
    if rdf is None:
        return result
    for desc in rdf:
        if not isinstance(desc.tag, str) or split(desc.tag) != (RDF, "Description"):
            continue
        for name, text in desc.attrib.items():
            if not _meta_attr(name):
                ns, local = split(name)
                result.append((ns, local, Value("simple", text)))
        for child in desc:
            if isinstance(child.tag, str):
                ns, local = split(child.tag)
                result.append((ns, local, read_value(child)))
    return result


# -- checking ------------------------------------------------------------------------------------
def check_value(value: Value, type_: str, types: TypeSystem, depth: int = 0) -> str | None:
    """None when ``value`` has type ``type_``; else why not (one short English phrase)."""
    if depth > 16:
        return None
    type_ = " ".join(type_.split())
    if type_ in ("Lang Alt",):
        if value.kind != "Alt":
            return "must be a language alternative (rdf:Alt)"
        bad = next((i for i in value.items if i.kind != "simple"), None)
        return "language alternative items must be text" if bad else None
    head, _, rest = type_.partition(" ")
    if head in ARRAYS and rest:
        if value.kind != head:
            return f"must be an rdf:{head}"
        for item in value.items:
            problem = check_value(item, rest, types, depth + 1)
            if problem:
                return f"item {problem}"
        return None
    if head.lower() in ("bag", "seq", "alt") and rest:  # extension schemas write "bag Text", "seq Text"
        return check_value(value, f"{head.capitalize()} {rest}", types, depth)
    struct = types.structs.get(type_)
    if struct is not None:
        return _check_struct(value, type_, struct, types, depth)
    if value.kind != "simple":
        return f"must be a simple {type_} value"
    return _check_simple(value.text.strip(), type_)


def _check_struct(value: Value, name: str, struct: tuple[str, dict[str, str]], types: TypeSystem,
                  depth: int) -> str | None:
    if value.kind != "struct":
        return f"must be a {name} structure"
    namespace, fields = struct
    for (ns, local), field_value in value.fields.items():
        if ns != namespace or local not in fields:
            return f"{name} structure has an undefined field {local}"
        problem = check_value(field_value, fields[local], types, depth + 1)
        if problem:
            return f"field {local} {problem}"
    return None


def _check_simple(text: str, type_: str) -> str | None:
    if type_ == "Integer" and not INTEGER.fullmatch(text):
        return f"must be an Integer, found {text[:40]!r}"
    if type_ == "Real" and not REAL.fullmatch(text):
        return f"must be a Real, found {text[:40]!r}"
    if type_ == "Boolean" and text not in BOOLEAN:
        return f"must be True or False, found {text[:40]!r}"
    if type_ == "Rational" and not RATIONAL.fullmatch(text):
        return f"must be a Rational n/d, found {text[:40]!r}"
    if type_ == "Date" and not DATE.fullmatch(text):
        return f"must be an XMP Date, found {text[:40]!r}"
    if type_ == "GPSCoordinate" and not GPS.fullmatch(text):
        return f"must be a GPSCoordinate, found {text[:40]!r}"
    return None


def known_type(type_: str, types: TypeSystem, simple: set[str]) -> bool:
    """Whether a type expression names something the packet can use (predefined or declared)."""
    type_ = " ".join(type_.split())
    if type_ in simple or type_ in types.structs or type_ in types.simple_aliases or type_ == "Lang Alt":
        return True
    head, _, rest = type_.partition(" ")
    if head.lower() in ("bag", "seq", "alt") and rest:
        return known_type(rest, types, simple)
    return False
