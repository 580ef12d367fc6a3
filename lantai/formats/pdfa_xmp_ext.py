"""PDF/A extension schemas: reading the ``pdfaExtension:schemas`` container and checking its shape.

ISO 19005-1 6.7.8 and ISO 19005-2/-3 6.6.2.3.3 fix how custom XMP properties are declared: a Bag
of ``pdfaSchema`` structures (schema, namespaceURI, prefix, property Seq, valueType Seq), each
property a ``pdfaProperty`` (name, valueType, category internal/external, description), each
custom type a ``pdfaType`` (type, namespaceURI, prefix, description, field Seq of ``pdfaField``).
A container that breaks this shape is itself a violation; a well-formed one extends the packet's
type system so its properties can be checked like predefined ones.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lantai.formats.pdfa_xmp_schemas import NS
from lantai.formats.pdfa_xmp_types import Value

SCHEMA_FIELDS = {"schema": "Text", "namespaceURI": "URI", "prefix": "Text", "property": "Seq", "valueType": "Seq"}
PROPERTY_FIELDS = {"name", "valueType", "category", "description"}
TYPE_FIELDS = {"type", "namespaceURI", "prefix", "description", "field"}
FIELD_FIELDS = {"name", "valueType", "description"}


@dataclass(slots=True)
class Extensions:
    """What the container declares, and what is wrong with it (English phrases)."""

    properties: dict[str, dict[str, str]] = field(default_factory=dict)  # namespace → {name → valueType}
    types: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)  # type → (field ns, fields)
    problems: list[str] = field(default_factory=list)
    declared_types: list[tuple[str, str]] = field(default_factory=list)  # (where, valueType) to resolve later


def read_extensions(values: list[Value]) -> Extensions:
    """Every ``pdfaExtension:schemas`` value of the packet, merged."""
    ext = Extensions()
    for value in values:
        if value.kind != "Bag":
            ext.problems.append("pdfaExtension:schemas is not an rdf:Bag")
            continue
        for schema in value.items:
            _schema(schema, ext)
    return ext


def _fields_of(value: Value, namespace: str, allowed: set[str], what: str, ext: Extensions) -> dict[str, Value]:
    """Fields of one structure, reporting fields outside its namespace or not defined for it."""
    out: dict[str, Value] = {}
    for (ns, local), item in value.fields.items():
        if ns != namespace or local not in allowed:
            ext.problems.append(f"{what} has an undefined field {local} (namespace {ns})")
            continue
        out[local] = item
    return out


def _text(fields: dict[str, Value], name: str) -> str | None:
    value = fields.get(name)
    return value.text.strip() if value is not None and value.kind == "simple" else None


def _schema(value: Value, ext: Extensions) -> None:
    if value.kind != "struct":
        ext.problems.append("an extension schema is not a pdfaSchema structure")
        return
    fields = _fields_of(value, NS["pdfaSchema"], set(SCHEMA_FIELDS), "pdfaSchema", ext)
    for name in ("schema", "namespaceURI", "prefix"):
        if _text(fields, name) is None:
            ext.problems.append(f"pdfaSchema:{name} is missing or not text")
    namespace = _text(fields, "namespaceURI") or ""
    for name in ("property", "valueType"):
        if name in fields and fields[name].kind != "Seq":
            ext.problems.append(f"pdfaSchema:{name} is not an rdf:Seq")
    types = fields.get("valueType")
    if types is not None and types.kind == "Seq":
        for item in types.items:
            _type(item, ext)
    props = fields.get("property")
    if props is not None and props.kind == "Seq":
        for item in props.items:
            _property(item, namespace, ext)


def _property(value: Value, namespace: str, ext: Extensions) -> None:
    if value.kind != "struct":
        ext.problems.append("an extension property is not a pdfaProperty structure")
        return
    fields = _fields_of(value, NS["pdfaProperty"], PROPERTY_FIELDS, "pdfaProperty", ext)
    for name in PROPERTY_FIELDS:
        if _text(fields, name) is None:
            ext.problems.append(f"pdfaProperty:{name} is missing or not text")
    category = _text(fields, "category")
    if category is not None and category not in ("internal", "external"):
        ext.problems.append(f"pdfaProperty:category is {category!r}, not internal or external")
    name, type_ = _text(fields, "name"), _text(fields, "valueType")
    if name and type_:
        ext.properties.setdefault(namespace, {})[name] = type_
        ext.declared_types.append((f"property {name}", type_))


def _type(value: Value, ext: Extensions) -> None:
    if value.kind != "struct":
        ext.problems.append("an extension value type is not a pdfaType structure")
        return
    fields = _fields_of(value, NS["pdfaType"], TYPE_FIELDS, "pdfaType", ext)
    for name in ("type", "namespaceURI", "prefix", "description"):
        if _text(fields, name) is None:
            ext.problems.append(f"pdfaType:{name} is missing or not text")
    members: dict[str, str] = {}
    field_seq = fields.get("field")
    if field_seq is not None:
        if field_seq.kind != "Seq":
            ext.problems.append("pdfaType:field is not an rdf:Seq")
        for item in field_seq.items if field_seq.kind == "Seq" else []:
            if item.kind != "struct":
                ext.problems.append("an extension field is not a pdfaField structure")
                continue
            ffields = _fields_of(item, NS["pdfaField"], FIELD_FIELDS, "pdfaField", ext)
            for name in FIELD_FIELDS:
                if _text(ffields, name) is None:
                    ext.problems.append(f"pdfaField:{name} is missing or not text")
            fname, ftype = _text(ffields, "name"), _text(ffields, "valueType")
            if fname and ftype:
                members[fname] = ftype
                ext.declared_types.append((f"field {fname}", ftype))
    type_name = _text(fields, "type")
    if type_name:
        ext.types[type_name] = (_text(fields, "namespaceURI") or "", members)
