"""Streaming out inline ``编码数据`` (base64 file data inside 元数据.xml) to staging files.

DA/T 48 lets a 编码 carry its file as base64 text. The archive keeps files as files, so ingest
decodes each block to ``<staging>/<计算机文件名>`` and hands on the metadata without the text.
The XML is parsed incrementally and every element is cleared after use, so memory is bounded by
the largest single block, which ``max_metadata_bytes`` bounds in turn.
"""

from __future__ import annotations

import base64
import binascii
import io
import re
from pathlib import Path

from lxml import etree

from lantai.domain.metadata.xmlsafe import reject_declarations
from lantai.errors import MetadataXmlError, PackageError
from lantai.packages.sip import check_relative_path

NS = "http://www.saac.gov.cn/standards/ERM/encapsulation"
_ENCODING = f"{{{NS}}}编码"
_DATA = f"{{{NS}}}编码数据"
_ATTRS = f"{{{NS}}}电子属性"
_NAME = f"{{{NS}}}计算机文件名"

# A 编码数据 start tag, with or without a namespace prefix. Element names cannot be written with
# character references, so metadata without this pattern has no inline data and needs no parse.
# (Matching the bare word is not enough: the standard 编码描述 text itself names "编码数据".)
_DATA_TAG = re.compile("<(?:[^\\s<>/:!?]+:)?编码数据[\\s/>]".encode())
_UTF8_DECLARATION = re.compile(rb"""encoding\s*=\s*["']utf-?8["']""")


def has_inline_data_element(data: bytes) -> bool:
    """False only when the metadata certainly has no 编码数据 element (may be True without one)."""
    head = data[:256].lower()
    if data[:2] in (b"\xff\xfe", b"\xfe\xff") or (b"encoding" in head and not _UTF8_DECLARATION.search(head)):
        return True  # not UTF-8 (e.g. GB18030): the byte pattern below cannot tell, so parse
    return _DATA_TAG.search(data) is not None


def extract_inline_data(label: str, data: bytes, target_dir: Path) -> tuple[bytes, dict[str, Path]]:
    """Return (metadata without 编码数据 text, {计算机文件名: decoded file})."""
    if not has_inline_data_element(data):
        return data, {}
    reject_declarations(data, label)
    parser_args = {"events": ("end",), "tag": _ENCODING, "resolve_entities": False, "no_network": True,
                   "load_dtd": False, "huge_tree": True, "remove_blank_text": False}
    files: dict[str, Path] = {}
    try:
        context = etree.iterparse(io.BytesIO(data), **parser_args)
        root = None
        for _event, element in context:
            root = element.getroottree()
            _extract_one(label, element, target_dir, files)
        if root is None:
            return data, {}
        stripped = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    except etree.XMLSyntaxError as exc:
        raise MetadataXmlError(f"{label}: 元数据.xml 不是格式良好的 XML: {exc}",
                               f"{label}: 元数据.xml is not well-formed XML: {exc}") from exc
    return stripped, files


def strip_inline_data(label: str, data: bytes) -> bytes:
    """Metadata with every 编码数据 text removed, without decoding it (for totals and previews)."""
    return strip_inline_data_with_sizes(label, data)[0]


def strip_inline_data_with_sizes(label: str, data: bytes) -> tuple[bytes, dict[str, int]]:
    """Metadata without 编码数据 text, and {计算机文件名: decoded size} of the inline files — the
    size computed from the base64 text's length, nothing decoded (the batch's byte total, 2-1)."""
    if not has_inline_data_element(data):
        return data, {}
    reject_declarations(data, label)
    sizes: dict[str, int] = {}
    try:
        context = etree.iterparse(io.BytesIO(data), events=("end",), tag=_ENCODING, resolve_entities=False,
                                  no_network=True, load_dtd=False, huge_tree=True)
        root = None
        for _event, element in context:
            root = element.getroottree()
            data_el = element.find(_DATA)
            if data_el is None:
                continue
            text = "".join((data_el.text or "").split())
            name = (element.findtext(f"{_ATTRS}/{_NAME}") or "").strip()
            if text and name:
                sizes[name] = sizes.get(name, 0) + len(text) // 4 * 3 - (len(text) - len(text.rstrip("="))
                                                                            if len(text) % 4 == 0 else 0)
            data_el.text = None
        return (etree.tostring(root, xml_declaration=True, encoding="UTF-8") if root is not None else data), sizes
    except etree.XMLSyntaxError as exc:
        raise MetadataXmlError(f"{label}: 元数据.xml 不是格式良好的 XML: {exc}",
                               f"{label}: 元数据.xml is not well-formed XML: {exc}") from exc


def _extract_one(label: str, encoding: etree._Element, target_dir: Path, files: dict[str, Path]) -> None:
    data_el = encoding.find(_DATA)
    if data_el is None or not (data_el.text or "").strip():
        return
    name_el = encoding.find(f"{_ATTRS}/{_NAME}")
    name = (name_el.text or "").strip() if name_el is not None else ""
    if not name:
        raise PackageError(f"{label}: 含编码数据的编码缺少计算机文件名", f"{label}: inline data without 计算机文件名")
    name = check_relative_path(label, name)
    target = target_dir / name
    target.parent.mkdir(parents=True, exist_ok=True)
    text = "".join((data_el.text or "").split())
    try:
        with open(target, "xb") as out:
            for start in range(0, len(text), 4 * 1024 * 1024):
                out.write(base64.b64decode(text[start:start + 4 * 1024 * 1024], validate=True))
    except (binascii.Error, ValueError) as exc:
        raise PackageError(f"{label}: {name} 的编码数据不是有效的 base64: {exc}",
                           f"{label}: inline data of {name} is not valid base64: {exc}") from exc
    except FileExistsError:
        raise PackageError(f"{label}: 编码数据重复给出文件 {name}", f"{label}: inline data repeats file {name}") from None
    data_el.text = None
    files[name] = target
