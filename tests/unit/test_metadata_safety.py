"""Untrusted XML: DTDs and entities are refused, broken XML is named by line, roots are checked."""

from __future__ import annotations

from pathlib import Path

import pytest

from lantai.domain import metadata as md
from lantai.errors import MetadataXmlError, UnsafeInput

NS = md.NAMESPACE
VALID = md.record_to_xml(md.minimal_record("S-1", "题名", [("a.pdf", 1)]))
DECL = b"<?xml version='1.0' encoding='UTF-8'?>"


def _with_doctype(doctype: str, title: str = "题名") -> bytes:
    body = VALID.replace(DECL, b"").replace("<题名>题名</题名>".encode(), f"<题名>{title}</题名>".encode())
    return DECL + doctype.encode() + body


def _cases(tmp: Path) -> dict[str, bytes]:
    secret = tmp / "secret.txt"
    secret.write_text("top secret", encoding="utf-8")
    laughs = '<!ENTITY a0 "lol">' + "".join(f'<!ENTITY a{i} "{("&a" + str(i - 1) + ";") * 10}">' for i in range(1, 10))
    return {
        "external_entity": _with_doctype(f'<!DOCTYPE 文件实体 [<!ENTITY x SYSTEM "file://{secret}">]>', "&x;"),
        "billion_laughs": _with_doctype(f"<!DOCTYPE 文件实体 [{laughs}]>", "&a9;"),
        "bare_doctype": _with_doctype("<!DOCTYPE 文件实体>"),
        "external_dtd": _with_doctype('<!DOCTYPE 文件实体 SYSTEM "http://example.invalid/evil.dtd">'),
        "parameter_entity": _with_doctype('<!DOCTYPE 文件实体 [<!ENTITY % p SYSTEM "http://example.invalid/p">%p;]>'),
        "lowercase_doctype": _with_doctype("<!doctype 文件实体>"),
        "utf16_doctype": ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE 文件实体 [<!ENTITY x "y">]>'
                          f'<文件实体 xmlns="{NS}"><电子文件号>&x;</电子文件号></文件实体>').encode("utf-16"),
    }


CASE_NAMES = ["external_entity", "billion_laughs", "bare_doctype", "external_dtd", "parameter_entity",
              "lowercase_doctype", "utf16_doctype"]


@pytest.mark.parametrize("case", CASE_NAMES)
@pytest.mark.parametrize("parse", [md.parse_record_xml, md.parse_process_xml], ids=["record", "process"])
def test_dtds_and_entities_are_refused(tmp_path: Path, case: str, parse: object) -> None:
    with pytest.raises(UnsafeInput) as info:
        parse(_cases(tmp_path)[case])  # type: ignore[operator]
    assert "DTD" in info.value.message_zh and "安全" in info.value.message_zh
    assert "DTD" in info.value.message_en
    assert "top secret" not in str(info.value)


def test_the_valid_document_itself_parses() -> None:
    assert md.parse_record_xml(VALID).electronic_record_code == "S-1"


@pytest.mark.parametrize(("data", "line"), [
    (b"<?xml version='1.0'?>\n<x>\n<y>unclosed</x>", 3),
    ("<?xml version='1.0'?><文件实体><题名>unclosed".encode(), 1),
    (b"\n\n\n\n<a></b>", 5),
    (b"not xml at all", 1),
])
def test_malformed_xml_names_line_and_column(data: bytes, line: int) -> None:
    with pytest.raises(MetadataXmlError) as info:
        md.parse_record_xml(data)
    assert info.value.details["line"] == line
    assert isinstance(info.value.details["column"], int)
    assert f"第 {line} 行" in info.value.message_zh and "XML" in info.value.message_zh
    assert f"line {line}" in info.value.message_en


def test_empty_input_is_a_metadata_error() -> None:
    with pytest.raises(MetadataXmlError):
        md.parse_record_xml(b"  \n")


@pytest.mark.parametrize(("data", "needle"), [
    (VALID.replace(NS.encode(), b"urn:other"), "命名空间"),
    (VALID.replace(f' xmlns="{NS}"'.encode(), b""), "命名空间"),
    (f'<电子文件封装包 xmlns="{NS}"/>'.encode(), "根元素应为"),
    (f'<过程信息 xmlns="{NS}"/>'.encode(), "根元素应为"),
])
def test_wrong_root_or_namespace_is_rejected(data: bytes, needle: str) -> None:
    with pytest.raises(MetadataXmlError) as info:
        md.parse_record_xml(data)
    assert needle in info.value.message_zh


def test_process_needs_its_own_root_and_namespace() -> None:
    with pytest.raises(MetadataXmlError):
        md.parse_process_xml(VALID)
    with pytest.raises(MetadataXmlError) as info:
        md.parse_process_xml(b"<\xe8\xbf\x87\xe7\xa8\x8b\xe4\xbf\xa1\xe6\x81\xaf/>")  # 过程信息 without namespace
    assert "命名空间" in info.value.message_zh
    assert md.parse_process_xml(f'<过程信息 xmlns="{NS}"/>'.encode()) == md.ProcessRecord()


def test_record_block_needs_a_record() -> None:
    with pytest.raises(MetadataXmlError) as info:
        md.parse_record_xml(f'<文件实体块 xmlns="{NS}"/>'.encode())
    assert "缺少文件实体" in info.value.message_zh
