"""Every XMP property of a PDF/A packet checked against the predefined and extension schemas.

ISO 19005-1 6.7.2/6.7.8/6.7.9 and ISO 19005-2/-3 6.6.2.3.1/6.6.2.3.3: a property of a predefined
namespace must be defined there and carry a value of the defined type; a property of any other
namespace must be declared by a well-formed PDF/A extension schema and match its declared type.
"""

from __future__ import annotations

from lxml import etree

from lantai.formats.pdfa_xmp_ext import read_extensions
from lantai.formats.pdfa_xmp_schemas import (
    CONTAINER_PREFIXES,
    EXTENSION_NAMESPACES,
    NS,
    SIMPLE_TYPES,
    predefined,
    structs,
)
from lantai.formats.pdfa_xmp_types import TypeSystem, Value, check_value, known_type, top_properties

Violation = tuple[str, str]


def clauses(part: int) -> dict[str, str]:
    """Rule → clause for the part: predefined properties, extension container, extension values."""
    if part == 1:
        return {"predefined": "6.7.2", "container": "6.7.8", "undeclared": "6.7.8", "extension": "6.7.9"}
    return {"predefined": "6.6.2.3.1", "container": "6.6.2.3.3", "undeclared": "6.6.2.3.1",
            "extension": "6.6.2.3.1"}


def _normalise(type_: str) -> str:
    """Extension schemas write types loosely: 'Closed Choice of Text', 'bag Text', 'seq ProperName'."""
    words = type_.replace("Choice of ", "Choice ").split()
    if len(words) >= 2 and words[0] in ("Open", "Closed") and words[1] == "Choice":
        words = words[2:] or ["Text"]
    if words and words[0].lower() in ("bag", "seq", "alt") and len(words) > 1:
        words[0] = words[0].capitalize()
    if words and words[0].lower() == "lang" and len(words) > 1:
        return "Lang Alt"
    return " ".join(words)


def check_properties(root: etree._Element, part: int) -> list[Violation]:
    """All value-type and declaration violations of the packet, in document order."""
    clause = clauses(part)
    props = top_properties(root)
    ext = read_extensions([v for ns, name, v in props if ns == NS["pdfaExtension"] and name == "schemas"])
    violations: list[Violation] = [(clause["container"], f"extension schema container: {p}")
                                   for p in dict.fromkeys(ext.problems)]
    violations += _container_prefixes(root, clause["container"])
    types = TypeSystem(predefined(part), structs(part), set())
    for name, (namespace, fields) in ext.types.items():
        if fields:
            types.structs[name] = (namespace, {k: _normalise(v) for k, v in fields.items()})
        else:
            types.simple_aliases.add(name)
    for where, declared in ext.declared_types:
        if not known_type(_normalise(declared), types, SIMPLE_TYPES):
            violations.append((clause["container"], f"extension {where} has an undefined value type {declared!r}"))
    for ns, name, value in props:
        violations += _check_one(ns, name, value, types, ext.properties, clause)
    return violations


def _container_prefixes(root: etree._Element, clause: str) -> list[Violation]:
    """The container's namespaces must be written with their standard prefixes (pdfaSchema, …)."""
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        namespace = etree.QName(element).namespace
        expected = CONTAINER_PREFIXES.get(namespace or "")
        if expected is not None and element.prefix != expected:
            return [(clause, f"extension schema container namespace {namespace} is written with prefix "
                             f"{element.prefix!r} instead of {expected}")]
    return []


def _check_one(ns: str, name: str, value: Value, types: TypeSystem, declared: dict[str, dict[str, str]],
               clause: dict[str, str]) -> list[Violation]:
    if ns in EXTENSION_NAMESPACES:
        if ns == NS["pdfaExtension"] and name == "schemas":
            return []
        return [(clause["container"], f"{name} of namespace {ns} is not a property of the extension container")]
    predefined_props = types.properties.get(ns)
    if predefined_props is not None and name in predefined_props:
        problem = check_value(value, predefined_props[name], types)
        return [(clause["predefined"], f"XMP property {name} ({ns}) {problem}")] if problem else []
    extension_type = declared.get(ns, {}).get(name)
    if extension_type is None:
        rule = "predefined" if predefined_props is not None else "undeclared"
        return [(clause[rule], f"XMP property {name} ({ns}) is neither predefined nor declared in an "
                               "extension schema")]
    problem = check_value(value, _normalise(extension_type), types)
    return [(clause["extension"], f"XMP property {name} ({ns}) {problem}")] if problem else []
