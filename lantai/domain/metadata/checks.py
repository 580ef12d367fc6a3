"""Checks on one element value. Each returns ``(code, params)`` pairs; :mod:`.messages` words them.

Kept free of the model so the DA/T 70 engine and the spreadsheet importer can reuse them on
values that never were a :class:`RecordEntity`.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re

from lantai.domain.metadata.domains import DOMAINS
from lantai.domain.metadata.registry import DataType, ElementSpec

Problem = tuple[str, dict[str, object]]

_GYEAR = re.compile(r"\d{4}")
_ISO_DATE = re.compile(r"(\d{4})-(\d{2})-(\d{2})")
_COMPACT_DATE = re.compile(r"(\d{4})(\d{2})(\d{2})")
_LOOSE_DATE = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?")
_DIGITS = re.compile(r"\d+")
_NCNAME = re.compile(r"[^\W\d][\w.\-]*")
_OID = re.compile(r"[0-2](\.(0|[1-9]\d*))+")
_URI_FORBIDDEN = re.compile(r"[\s<>\"{}|\\^`]")
_FILE_FORBIDDEN = '<>:"|?*'
_WINDOWS_RESERVED = re.compile(r"(CON|PRN|AUX|NUL|COM[1-9]|LPT[1-9])(\..*)?", re.IGNORECASE)


def parse_date(value: str) -> dt.date | None:
    """A DA/T 46 日期 in either accepted form, or None."""
    match = _ISO_DATE.fullmatch(value) or _COMPACT_DATE.fullmatch(value)
    return _date(*match.groups()) if match else None


def _date(year: str, month: str, day: str) -> dt.date | None:
    try:
        return dt.date(int(year), int(month), int(day))
    except ValueError:
        return None


def _char(c: str) -> str:
    return f"U+{ord(c):04X}"


# --- special characters --------------------------------------------------------------------------
# Every character _char_problem may object to; most values contain none, and one regex search
# is far cheaper than a Python loop over every character of every value.
_SUSPECT = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff\ufffd\ufffe\uffff]")


def special_characters(value: str, spec: ElementSpec) -> list[Problem]:
    if _SUSPECT.search(value) is None:
        return []
    problems: list[Problem] = []
    seen: set[str] = set()
    for position, c in enumerate(value, start=1):
        code = _char_problem(c, spec.multiline)
        if code and code not in seen:
            seen.add(code)
            problems.append((code, {"char": _char(c), "position": position}))
    return problems


def _char_problem(c: str, multiline: bool) -> str | None:
    o = ord(c)
    if c in "\t\n\r":
        return None if multiline else "line_break"
    if o < 0x20 or 0xD800 <= o <= 0xDFFF or o in (0xFFFE, 0xFFFF):
        return "illegal_xml_char"
    if 0x7F <= o <= 0x9F:
        return "control_char"
    if o == 0xFFFD:
        return "replacement_char"
    return None


def file_name(value: str) -> list[Problem]:
    """A 计算机文件名 must stay inside the package on every operating system."""
    if "\\" in value:
        return [("backslash", {})]
    if value.startswith("/") or re.match(r"[A-Za-z]:", value):
        return [("absolute_path", {})]
    segments = value.split("/")
    if ".." in segments:
        return [("path_traversal", {})]
    for c in _FILE_FORBIDDEN:
        if c in value:
            return [("forbidden_file_char", {"char": c})]
    for segment in segments:
        if segment in ("", ".") or segment != segment.rstrip(" .") or _WINDOWS_RESERVED.fullmatch(segment):
            return [("bad_path_segment", {"segment": segment})]
    return []


# --- length, type, format, value domain ----------------------------------------------------------
def length(value: str, spec: ElementSpec) -> list[Problem]:
    if spec.max_length is not None and len(value) > spec.max_length:
        return [("too_long", {"length": len(value), "max_length": spec.max_length})]
    return []


def data_type(value: str, spec: ElementSpec) -> list[Problem]:
    check = _TYPE_CHECKS.get(spec.data_type)
    return check(value) if check else []


def _gyear(value: str) -> list[Problem]:
    return [] if _GYEAR.fullmatch(value) else [("not_gyear", {})]


def _date_value(value: str) -> list[Problem]:
    if parse_date(value):
        return []
    loose = _LOOSE_DATE.fullmatch(value)
    parsed = _date(*loose.groups()) if loose else None
    if parsed:
        return [("date_format", {"suggestion": f"{parsed.isoformat()} 或 {parsed:%Y%m%d}"})]
    return [("not_date", {})]


def _datetime(value: str) -> list[Problem]:
    if parse_date(value):
        return []
    if _DATETIME.fullmatch(value):
        try:
            dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
            return []
        except ValueError:
            pass
    return [("not_datetime", {})]


def _positive(value: str) -> list[Problem]:
    return [] if _DIGITS.fullmatch(value) and int(value) > 0 else [("not_positive_integer", {})]


def _non_negative(value: str) -> list[Problem]:
    return [] if _DIGITS.fullmatch(value) else [("not_non_negative_integer", {})]


def _base64(value: str) -> list[Problem]:
    text = "".join(value.split())
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return [("not_base64", {})]
    return []


def _ncname(value: str) -> list[Problem]:
    return [] if _NCNAME.fullmatch(value) else [("bad_id", {})]


def _oid(value: str) -> list[Problem]:
    return [] if _OID.fullmatch(value) else [("bad_oid", {})]


def _uri(value: str) -> list[Problem]:
    return [("bad_uri", {})] if _URI_FORBIDDEN.search(value) else []


_TYPE_CHECKS = {
    DataType.GYEAR: _gyear,
    DataType.DATE: _date_value,
    DataType.DATETIME: _datetime,
    DataType.POSITIVE_INTEGER: _positive,
    DataType.NON_NEGATIVE_INTEGER: _non_negative,
    DataType.BASE64: _base64,
    DataType.ID: _ncname,
    DataType.IDREF: _ncname,
    DataType.OID: _oid,
    DataType.ANY_URI: _uri,
}


def value_domain(value: str, spec: ElementSpec) -> list[Problem]:
    if spec.domain is None:
        return []
    domain = DOMAINS[spec.domain]
    if value in domain:
        return []
    code = "value_domain_open" if domain.open else "value_domain_closed"
    return [(code, {"allowed": "、".join(domain.allowed), "domain": domain.key})]
