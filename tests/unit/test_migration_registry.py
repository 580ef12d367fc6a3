"""The format migration registry as data, and the pure rules that plan migrations and link a
rendition into DA/T 46 metadata and the 过程信息."""

from __future__ import annotations

from importlib import resources

import pytest

from lantai.domain import metadata as md
from lantai.domain.metadata.validation import validate_process, validate_record
from lantai.domain.migration import (
    ConversionEvent,
    add_conversion_event,
    add_rendition,
    parse_registry,
    pdfa_level,
    plan_item,
    rendition_path,
)
from lantai.errors import BadInput, ValidationFailed
from tests.sipfactory import SipSpec, metadata_xml

SHIPPED = resources.files("lantai.domain").joinpath("data/migration.toml").read_text(encoding="utf-8")
PDFA2 = '"SelectPdfVersion":{"type":"long","value":"2"}'


def test_the_shipped_registry_covers_the_office_formats_and_tiff() -> None:
    registry = parse_registry(SHIPPED)
    expected = {"fmt/412": "docx-pdfa2b", "fmt/40": "doc-pdfa2b", "fmt/45": "rtf-pdfa2b", "fmt/355": "rtf-pdfa2b",
                "fmt/214": "xlsx-pdfa2b", "fmt/215": "pptx-pdfa2b", "fmt/353": "tiff-pdfa2b"}
    for puid, rule_id in expected.items():
        rule = registry.rule_for(puid)
        assert rule is not None and rule.id == rule_id, puid
        assert rule.target == "PDF/A-2b" and rule.target_puid == "fmt/477"
        if rule.tool == "libreoffice":
            assert rule.parameters.startswith("pdf:") and PDFA2 in rule.parameters
    assert "wps" in registry.by_id("doc-pdfa2b").extensions  # WPS 文字 files are the Word container
    assert registry.rule_for("fmt/43") is None  # JPEG: listed, not enabled
    assert registry.by_id("jpeg-pdfa2b").enabled is False


@pytest.mark.parametrize("text", [
    "[[migration]\n",
    '[[migration]]\nid = "a"\n',
    '[[migration]]\nid="a"\nsource_puids=["x"]\nsource_name="x"\ntarget="PDF/A-2b"\ntarget_puid="fmt/477"\ntool="gs"\n',
    '[[migration]]\nid="a"\nsource_puids=["x"]\nsource_name="x"\ntarget="PDF/A-2b"\ntarget_puid="fmt/477"\ntool="libreoffice"\n'
    '[[migration]]\nid="b"\nsource_puids=["x"]\nsource_name="x"\ntarget="PDF/A-2b"\ntarget_puid="fmt/477"\ntool="libreoffice"\n',
])
def test_a_malformed_or_ambiguous_registry_is_refused(text: str) -> None:
    with pytest.raises(BadInput):
        parse_registry(text)


def test_renditions_never_take_a_name_in_use() -> None:
    assert rendition_path("content/定稿.docx", "pdf", ["content/定稿.docx"]) == "content/定稿.pdf"
    assert rendition_path("content/正本.docx", "pdf", ["content/正本.pdf"]) == "content/正本.docx.pdf"
    registry = parse_registry(SHIPPED)
    planned = plan_item(registry, "R1", {"content/a.docx": "fmt/412", "content/a.doc": "fmt/40",
                                         "content/b.xlsx": "fmt/214", "content/c.jpg": "fmt/43"},
                        ["content/a.docx", "content/a.doc", "content/b.xlsx", "content/c.jpg"], ["content/b.xlsx"])
    assert [(p.source_path, p.target_path) for p in planned] == [("content/a.doc", "content/a.pdf"),
                                                                  ("content/a.docx", "content/a.docx.pdf")]
    assert pdfa_level("PDF/A-2b") == "2b"


def test_the_rendition_is_a_second_encoding_of_the_same_document_and_the_metadata_stays_valid() -> None:
    metadata = metadata_xml(SipSpec("Z109-WS-2025-00001", files={"正文.docx": b"x" * 10}))
    updated = add_rendition(metadata, "content/正文.docx", "content/正文.pdf", size=1234,
                            format_info="格式名称:PDF/A-2b, 格式版本:1.6, MIME媒体类型:application/pdf",
                            creator="LibreOffice 7.4.7.2", description="由 正文.docx 经格式转换生成")
    record = md.parse_record_xml(updated)
    names = [[e.computer_file_name for e in data.encodings] for d in record.documents for data in d.document_data]
    assert ["正文.docx", "正文.pdf"] in names
    assert validate_record(record) == validate_record(md.parse_record_xml(metadata))  # nothing new to complain of
    assert updated.replace(b"\n", b"").count("编码ID".encode()) == metadata.count("编码ID".encode()) + 1
    with pytest.raises(ValidationFailed):
        add_rendition(metadata, "content/缺失.docx", "content/缺失.pdf", size=1, format_info="", creator="",
                      description="")


def test_the_conversion_event_names_tool_version_and_parameters() -> None:
    event = ConversionEvent("R1", "2026-01-02T03:04:05", "王档案", "content/定稿.docx", "content/定稿.pdf",
                            "docx-pdfa2b", "libreoffice", "LibreOffice 7.4.7.2", "pdf:writer_pdf_Export")
    first = add_conversion_event(None, event)
    second = add_conversion_event(first, event)
    process = md.parse_process_xml(second)
    assert [b.business_activity for b in process.business_entities] == ["格式转换", "格式转换"]
    assert len({b.business_identifier for b in process.business_entities}) == 2
    assert len(process.agents) == 1 and process.agents[0].agent_type == "内设机构"
    description = process.business_entities[0].action_description or ""
    assert "LibreOffice 7.4.7.2" in description and "docx-pdfa2b" in description and "定稿.docx → 定稿.pdf" in description
    assert not [f for f in validate_process(process) if f.severity == "error"]
