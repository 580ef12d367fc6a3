"""PDF/A metadata rules: the XMP ``pdfaid`` claim, value types of well-known properties, and (for
PDF/A-1) equivalence between the document information dictionary and XMP.

The XMP packet is parsed with lxml directly (not pikepdf's metadata API) because we must see the
exact RDF shape: ``dc:creator`` written as plain text instead of an ``rdf:Seq`` is itself a
violation (ISO 19005-1 6.7.2, -2 6.6.2.3.1), which a tolerant reader would hide.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pikepdf
from lxml import etree

from lantai.formats.pdfa_xmp_props import check_properties
from lantai.formats.safexml import parse_xml

Violation = tuple[str, str]
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
PDFAID = "http://www.aiim.org/pdfa/ns/id/"
DC = "http://purl.org/dc/elements/1.1/"
XMP = "http://ns.adobe.com/xap/1.0/"
PDF = "http://ns.adobe.com/pdf/1.3/"
INFO_TO_XMP = {"/Title": (DC, "title"), "/Author": (DC, "creator"), "/Subject": (DC, "description"),
               "/Keywords": (PDF, "Keywords"), "/Creator": (XMP, "CreatorTool"), "/Producer": (PDF, "Producer"),
               "/CreationDate": (XMP, "CreateDate"), "/ModDate": (XMP, "ModifyDate")}


@dataclass(slots=True)
class Xmp:
    root: etree._Element | None
    part: str | None
    conformance: str | None
    claims: bool  # any pdfaid property present


def read_xmp(pdf: pikepdf.Pdf) -> tuple[Xmp, list[Violation]]:
    metadata = pdf.Root.get("/Metadata")
    if not isinstance(metadata, pikepdf.Stream):
        return Xmp(None, None, None, False), []
    problems: list[Violation] = []
    try:
        root = parse_xml(_packet_bytes(metadata.read_bytes()), "XMP")
    except Exception as exc:
        return Xmp(None, None, None, False), [("6.7.2", f"XMP metadata does not parse: {exc}")]
    part = _property(root, PDFAID, "part")
    conformance = _property(root, PDFAID, "conformance")
    claims = part is not None or conformance is not None
    return Xmp(root, part, conformance, claims), problems


def _packet_bytes(raw: bytes) -> bytes:
    """The packet as UTF-8: UTF-16/32 packets (allowed by XMP) are decoded by their BOM, padding dropped."""
    for bom, codec in ((b"\xff\xfe\x00\x00", "utf-32-le"), (b"\x00\x00\xfe\xff", "utf-32-be"),
                       (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le")):
        if raw.startswith(bom):
            raw = raw.decode(codec, "replace").lstrip("\ufeff").encode("utf-8")
            break
    else:
        codec = {b"<\x00\x00\x00": "utf-32-le", b"\x00\x00\x00<": "utf-32-be"}.get(raw[:4]) or \
            {b"<\x00": "utf-16-le", b"\x00<": "utf-16-be"}.get(raw[:2])
        if codec:  # no BOM: the encoding shows in the first '<'
            raw = raw.decode(codec, "replace").encode("utf-8")
    return raw.strip(b"\x00 \r\n\t") or b"<x/>"


XPACKET = re.compile(rb"<\?xpacket\s+(?!end)[^>]*\?>")


def _packet_header(metadata: pikepdf.Stream, clause: str) -> list[Violation]:
    """The xpacket header shall not use the deprecated bytes and encoding attributes."""
    try:
        head = _packet_bytes(metadata.read_bytes()[:4096])
    except Exception:
        return []
    match = XPACKET.search(head)
    if match and re.search(rb"\s(bytes|encoding)\s*=", match.group(0)):
        return [(clause, "the xpacket header uses the bytes or encoding attribute")]
    return []


def check_xmp(pdf: pikepdf.Pdf, xmp: Xmp, part: int) -> list[Violation]:
    id_clause = "6.7.11" if part == 1 else "6.6.4"
    violations: list[Violation] = []
    metadata = pdf.Root.get("/Metadata")
    if isinstance(metadata, pikepdf.Stream) and "/Filter" in metadata.stream_dict and part == 1:
        violations.append(("6.7.2", "the metadata stream is filtered (PDF/A-1 requires it unfiltered)"))
    if xmp.part is None:
        violations.append((id_clause, "required 'part' property is missing from the PDF/A identification schema"))
    elif not re.fullmatch(r"[123]", xmp.part.strip()):
        violations.append((id_clause, f"pdfaid:part has an invalid value {xmp.part!r}"))
    allowed = {"A", "B"} if part == 1 else {"A", "B", "U"}
    if xmp.conformance is None or xmp.conformance.strip() not in allowed:  # upper case only (XMP values)
        violations.append((id_clause, f"pdfaid:conformance missing or invalid: {xmp.conformance!r}"))
    if isinstance(metadata, pikepdf.Stream) and part > 1 and (
            str(metadata.stream_dict.get("/Type")) != "/Metadata" or str(metadata.stream_dict.get("/Subtype")) != "/XML"):
        violations.append(("6.6.2.1", "the metadata stream dictionary lacks Type /Metadata or Subtype /XML"))
    if isinstance(metadata, pikepdf.Stream):
        violations += _packet_header(metadata, "6.7.5" if part == 1 else "6.6.2.1")
    if xmp.root is not None and part == 1:
        prefixes = {p for d in _descriptions(xmp.root) for p, ns in d.nsmap.items() if ns == PDFAID}
        if prefixes - {"pdfaid"}:
            violations.append((id_clause, f"the PDF/A identification schema uses prefix {sorted(prefixes - {'pdfaid'})[0]!r}"
                                          " instead of pdfaid"))
    if xmp.root is not None:
        violations += check_properties(xmp.root, part)
    if part == 1 and xmp.root is not None:
        violations += _info_consistency(pdf, xmp.root)
    return violations


# -- property access ------------------------------------------------------------------------------
def _descriptions(root: etree._Element) -> list[etree._Element]:
    return list(root.iter(f"{{{RDF}}}Description"))


def _find(root: etree._Element, ns: str, name: str) -> tuple[etree._Element | None, str | None]:
    """The property element, or its value when written as an attribute of rdf:Description."""
    for desc in _descriptions(root):
        attr = desc.get(f"{{{ns}}}{name}")
        if attr is not None:
            return None, attr
        found = desc.find(f"{{{ns}}}{name}")
        if found is not None:
            return found, None
    return None, None


def _property(root: etree._Element, ns: str, name: str) -> str | None:
    element, attr = _find(root, ns, name)
    if attr is not None:
        return attr
    if element is None:
        return None
    items = [li.text or "" for li in element.iter(f"{{{RDF}}}li")]
    return items[0] if items else (element.text or "").strip()


# -- info dictionary ↔ XMP (PDF/A-1 6.7.3) ----------------------------------------------------------
def _info_consistency(pdf: pikepdf.Pdf, root: etree._Element) -> list[Violation]:
    info = pdf.trailer.get("/Info")
    if not isinstance(info, pikepdf.Dictionary):
        return []
    violations: list[Violation] = []
    for key, (ns, name) in INFO_TO_XMP.items():
        if key not in info:
            continue
        info_value = _info_text(info.get(key))
        xmp_value = _xmp_joined(root, ns, name)
        if key in ("/CreationDate", "/ModDate"):
            same = xmp_value is not None and _same_date(info_value, xmp_value)
        else:
            same = xmp_value is not None and info_value == xmp_value
        if not same:
            violations.append(("6.7.3", f"document information {key[1:]} is not equivalent to XMP {name} "
                                        f"({info_value!r} vs {xmp_value!r})"))
    return violations


def _info_text(value: Any) -> str:
    if isinstance(value, pikepdf.String):
        return str(value)
    if isinstance(value, (int, Decimal)):
        return str(value)
    return str(value) if value is not None else ""


def _xmp_joined(root: etree._Element, ns: str, name: str) -> str | None:
    element, attr = _find(root, ns, name)
    if attr is not None:
        return attr
    if element is None:
        return None
    items = [li.text or "" for li in element.iter(f"{{{RDF}}}li")]
    if name == "creator":
        return ", ".join(items)
    return items[0] if items else (element.text or "")


PDF_DATE = re.compile(r"D:(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?([Zz+\-])?(\d{2})?'?(\d{2})?'?")
XMP_DATE = re.compile(r"(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?)?"
                      r"(Z|[+\-]\d{2}:\d{2})?$")


def _same_date(pdf_value: str, xmp_value: str) -> bool:
    left, right = _parse_pdf_date(pdf_value), _parse_xmp_date(xmp_value.strip())
    if left is None or right is None:
        return False
    if (left.tzinfo is None) != (right.tzinfo is None):
        left, right = left.replace(tzinfo=None), right.replace(tzinfo=None)
    return left == right


def _parse_pdf_date(value: str) -> datetime | None:
    match = PDF_DATE.match(value.strip())
    if not match:
        return None
    y, mo, d, h, mi, s, sign, tzh, tzm = match.groups()
    tz = None
    if sign in ("Z", "z"):
        tz = UTC
    elif sign in ("+", "-"):
        offset = timedelta(hours=int(tzh or 0), minutes=int(tzm or 0))
        tz = timezone(offset if sign == "+" else -offset)
    try:
        return datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz)
    except ValueError:
        return None


def _parse_xmp_date(value: str) -> datetime | None:
    match = XMP_DATE.match(value)
    if not match:
        return None
    y, mo, d, h, mi, s, tzs = match.groups()
    tz = None
    if tzs == "Z":
        tz = UTC
    elif tzs:
        sign = 1 if tzs[0] == "+" else -1
        tz = timezone(sign * timedelta(hours=int(tzs[1:3]), minutes=int(tzs[4:6])))
    try:
        return datetime(int(y), int(mo or 1), int(d or 1), int(h or 0), int(mi or 0), int(s or 0), tzinfo=tz)
    except ValueError:
        return None
