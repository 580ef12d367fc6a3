"""DA/T 48 XML in and out: lossless round trips, element names and order, 编码数据 handling."""

from __future__ import annotations

import base64
import dataclasses
import functools

import pytest
from lxml import etree

from lantai.domain import metadata as md
from lantai.domain.findings import Rule, Severity
from lantai.domain.metadata.walk import walk
from lantai.errors import MetadataXmlError
from tests.sipfactory import SipSpec, metadata_xml, process_xml

NS = md.NAMESPACE


def full_encoding(n: int, digitised: bool = False) -> md.Encoding:
    attributes = md.ElectronicAttributes(format_information="格式名称:PDF,格式版本:1.7,MIME媒体类型:application/pdf",
                                         computer_file_name=f"附件/文件{n}.pdf", computer_file_size=str(1000 + n),
                                         document_creating_application="WPS Office 12.1")
    digitisation = md.DigitizationAttributes(physical_record_characteristics="纸质 A4", scanning_resolution="300",
                                             scanning_color_model="彩色", image_compression_scheme="JPEG") \
        if digitised else None
    return md.Encoding(encoding_id=f"E{n}", electronic_attributes=attributes, digitization_attributes=digitisation,
                       encoding_description=md.DEFAULT_ENCODING_DESCRIPTION, decoding_key="pdf",
                       encoded_data_id=f"D{n}", referenced_encoded_data_id=f"OLD{n}")


def full_record() -> md.RecordEntity:
    """Every element of the 文件实体 block populated."""
    return md.RecordEntity(
        aggregation_level="文件",
        provenance=md.Provenance("X区档案馆", "311001", "X区人民政府办公室", "X区人民政府办公室"),
        electronic_record_code="Z109-WS-2025-00001",
        archival_code=md.ArchivalCode(
            text="Z109-WS·2025-Y-BGS-0001", fonds_identifier="Z109", catalogue_number="1", year="2025",
            retention_period="永久", organizational_structure_or_function="BGS", category_code="WS",
            agency_file_number="3", archives_file_number="4", agency_item_number="1", archives_item_number="2",
            page_number="5"),
        content_description=md.ContentDescription(
            title="关于做好2025年度电子文件归档工作的通知", parallel_title="Notice on archiving electronic records",
            alternative_title="副题名", other_title_information="说明题名文字",
            descriptors=[md.Descriptor("档案", "中国档案主题词表"), md.Descriptor("归档", "自拟")], keyword="电子文件 归档",
            personal_name="张伟", abstract="第一段。\n第二段。", class_code="D035", document_number="X政办发〔2025〕12号",
            author="X区人民政府办公室", date="2025-03-18", document_type="通知", precedence="平急",
            principal_receiver="各街道办事处", other_receivers="区档案馆", security_classification="公开",
            secrecy_period="10年"),
        formal_characteristics=md.FormalCharacteristics("单件", "2", "汉语", "正本"),
        storage_location=md.StorageLocation("服务器 A/卷 1", ["GP-2025-001", "GP-2025-002"], ["库房 3 柜 2"],
                                            "SW-0001"),
        rights_management=md.RightsManagement("版权归 X区人民政府办公室", [md.Authorization("区档案馆", "浏览"),
                                                                          md.Authorization("公众", "公布")],
                                              "开放"),
        information_system_descriptions=["X区协同办公系统 V5"], annotations=["附注一", "附注二"],
        documents=[
            md.Document("修改0-文档1", "1", "主文档", "正文", [
                md.DocumentData("DD1", [full_encoding(1, digitised=True), full_encoding(2)]),
                md.DocumentData("DD2", [full_encoding(3)]),
            ]),
            md.Document("修改0-文档2", "2", "附属文档", "附件", [md.DocumentData("DD3", [full_encoding(4)])]),
        ],
        relations=[md.RecordRelation("Z109-WS-2025-00001", "Z109-WS-2025-00000", "引用", "批复", "本文批复该请示")],
    )


def full_process() -> md.ProcessRecord:
    return md.ProcessRecord(
        business_entities=[
            md.BusinessEntity("B1", "P1", "Z109-WS-2025-00001", "历史行为", "拟稿", "2025-03-10T09:00:00",
                              "公文处理办法", "起草正文"),
            md.BusinessEntity("B2", "P2", "Z109-WS-2025-00001", "计划任务", "归档", "2025-04-01T09:00:00+08:00"),
        ],
        agents=[md.AgentEntity("P1", "个人", "张伟", None, "科员"),
                md.AgentEntity("P2", "内设机构", "办公室", "11110000000000000X", None)],
        agent_relations=[md.AgentRelation("P1", "P2", "隶属", "成员", "张伟属于办公室")],
    )


def full_signature() -> md.ElectronicSignature:
    return md.ElectronicSignature(
        signature_identifier="修改0-签名1", signature_rules="GB/T 38540", signature_time="2025-03-18T10:00:00Z",
        signer="X区人民政府办公室", signature=base64.b64encode(b"sig").decode(),
        certificate_blocks=[md.CertificateBlock([base64.b64encode(b"cert").decode()], "https://ca.example.cn/c.cer")],
        signature_algorithm_identifier="1.2.156.10197.1.501")


def _children(element: etree._Element) -> list[str]:
    return [etree.QName(c).localname for c in element]


# --- round trips ---------------------------------------------------------------------------------
def test_full_record_round_trips() -> None:
    record = full_record()
    data = md.record_to_xml(record, include_encoded_data_placeholders=True)
    assert data.startswith(b"<?xml version='1.0' encoding='UTF-8'?>")
    parsed = md.parse_record_xml(data)
    assert parsed == record
    assert parsed.parse_notes == []
    assert md.validate_record(parsed) == []


def test_every_leaf_of_the_full_record_is_populated() -> None:
    """Guards the round-trip test: a field left at None would not be exercised."""
    empty = [n.where for n in walk(full_record()) if not n.is_list and n.value in (None, "")]
    assert empty == [], empty


def test_element_order_is_dat48_order() -> None:
    element = md.record_to_element(full_record(), include_encoded_data_placeholders=True)
    assert etree.QName(element).namespace == NS
    assert _children(element) == ["聚合层次", "来源", "电子文件号", "档号", "内容描述", "形式特征", "存储位置", "权限管理",
                                  "信息系统描述", "附注", "附注", "文件数据"]
    ns = {"e": NS}
    assert _children(element.find("e:档号", ns)) == [
        "全宗号", "目录号", "年度", "保管期限", "机构或问题", "类别号", "室编案卷号", "馆编案卷号", "室编件号", "馆编件号", "页号"]
    assert _children(element.find("e:内容描述", ns)) == [
        "题名", "并列题名", "副题名", "说明题名文字", "主题词", "主题词", "关键词", "人名", "摘要", "分类号", "文件编号", "责任者",
        "日期", "文种", "紧急程度", "主送", "抄送", "密级", "保密期限"]
    assert _children(element.find("e:存储位置", ns)) == ["当前位置", "脱机载体编号", "脱机载体编号", "脱机载体存址", "缩微号"]
    assert _children(element.find("e:权限管理", ns)) == ["知识产权说明", "授权", "授权", "控制标识"]
    encoding = element.find("e:文件数据/e:文档/e:文档数据/e:编码[1]", ns)
    assert _children(encoding) == ["电子属性", "数字化属性", "编码描述", "反编码关键字", "编码数据"]
    assert _children(encoding.find("e:电子属性", ns)) == ["格式信息", "计算机文件名", "计算机文件大小", "文档创建程序"]
    data_el = encoding.find("e:编码数据", ns)
    assert list(data_el.attrib.items()) == [("编码数据ID", "D1"), ("引用编码数据ID", "OLD1")]
    assert element.find("e:档号", ns).text == "Z109-WS·2025-Y-BGS-0001"
    assert element.find("e:内容描述/e:主题词", ns).get("主题词表名称") == "中国档案主题词表"


def test_encoded_data_is_omitted_unless_asked_for() -> None:
    element = md.record_to_element(full_record())
    assert element.findall(f".//{{{NS}}}编码数据") == []
    parsed = md.record_from_element(element)
    assert all(e.encoded_data_id is None for _d, _v, e in parsed.iter_encodings())


def test_relations_make_the_root_a_record_block() -> None:
    record = full_record()
    root = etree.fromstring(md.record_to_xml(record))
    assert etree.QName(root).localname == "文件实体块"
    assert _children(root) == ["文件实体", "文件实体关系"]
    assert _children(root[1]) == ["文件标识符", "被关联文件标识符", "关系类型", "关系", "关系描述"]
    assert etree.QName(md.record_to_element(record)).localname == "文件实体"
    block = md.record_block_to_element(record, include_encoded_data_placeholders=True)
    assert md.record_from_element(block) == record
    no_relations = dataclasses.replace(record, relations=[])
    assert etree.QName(etree.fromstring(md.record_to_xml(no_relations))).localname == "文件实体"


def _set(obj: object, path: str, value: str) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        obj = getattr(obj, part[:-2])[0] if part.endswith("[]") else getattr(obj, part)
    last = parts[-1]
    if last.endswith("[]"):
        setattr(obj, last[:-2], [value])
    else:
        setattr(obj, last, value)


DOMAIN_CASES = [(spec, value.value) for spec in (*md.ELEMENTS, *md.EEP_ELEMENTS) if spec.domain and spec.path
                for value in md.DOMAINS[spec.domain].values]


def test_every_domain_is_used_by_an_element() -> None:
    used = {spec.domain for spec, _value in DOMAIN_CASES}
    assert used == set(md.DOMAINS)


@pytest.mark.parametrize(("spec", "value"), DOMAIN_CASES, ids=[f"{s.name_zh}={v}" for s, v in DOMAIN_CASES])
def test_every_value_of_every_domain_round_trips_and_validates(spec: md.ElementSpec, value: str) -> None:
    if spec.root == md.Root.PROCESS:
        obj, to_xml, parse, validate = full_process(), md.process_to_xml, md.parse_process_xml, md.validate_process
    elif spec.root == md.Root.SIGNATURE:
        obj = full_signature()
        to_xml, parse = (lambda s: etree.tostring(md.signature_to_element(s), encoding="UTF-8")), (
            lambda b: md.signature_from_element(etree.fromstring(b)))
        validate = md.validate_signature
    else:
        obj, parse, validate = full_record(), md.parse_record_xml, md.validate_record
        to_xml = functools.partial(md.record_to_xml, include_encoded_data_placeholders=True)
    _set(obj, spec.path, value)
    assert parse(to_xml(obj)) == obj
    assert [f for f in validate(obj) if f.rule == Rule.VALUE_DOMAIN and f.severity == Severity.ERROR] == []
    if spec.number != 1 or value == "文件":
        assert [f for f in validate(obj) if f.rule == Rule.VALUE_DOMAIN] == []


def test_process_round_trips_with_dat48_blocks() -> None:
    process = full_process()
    data = md.process_to_xml(process)
    root = etree.fromstring(data)
    assert etree.QName(root).localname == "过程信息" and etree.QName(root).namespace == NS
    assert _children(root) == ["业务实体块", "机构人员实体块"]
    assert _children(root[0][0]) == ["业务标识符", "机构人员标识符", "文件标识符", "业务状态", "业务行为", "行为时间",
                                     "行为依据", "行为描述"]
    assert _children(root[1]) == ["机构人员实体", "机构人员实体", "机构人员实体关系"]
    assert _children(root[1][2]) == ["机构人员标识符", "被关联机构人员标识符", "关系类型", "关系", "关系描述"]
    assert md.parse_process_xml(data) == process
    assert md.validate_process(process) == []


def test_signature_round_trips() -> None:
    signature = full_signature()
    element = md.signature_to_element(signature)
    assert _children(element) == ["签名标识符", "签名规则", "签名时间", "签名人", "签名结果", "证书块", "签名算法标识"]
    assert md.signature_from_element(etree.fromstring(etree.tostring(element, encoding="UTF-8"))) == signature
    assert md.validate_signature(signature) == []


def test_minimal_record_is_valid_and_round_trips() -> None:
    record = md.minimal_record("Z-1", "关于X的通知", [("正文.pdf", 10), ("附件/附件1.xlsx", 0)], year="2024",
                               date="2024-05-06", retention_period="D30", annotations=["测试"])
    assert md.validate_record(record) == []
    assert md.parse_record_xml(md.record_to_xml(record)) == record
    assert [(e.computer_file_name, e.computer_file_size) for _d, _v, e in record.iter_encodings()] == [
        ("正文.pdf", "10"), ("附件/附件1.xlsx", "0")]
    document, _data, encoding = next(record.iter_encodings())
    assert document.document_role == "主文档" and encoding.format_information == "格式名称:PDF"
    with pytest.raises(TypeError):
        md.minimal_record("Z-2", "t", [], no_such_element="x")


# --- reading what others write ---------------------------------------------------------------------
def test_independently_written_sip_metadata_parses_and_validates() -> None:
    record = md.parse_record_xml(metadata_xml(SipSpec("X1", files={"正文.pdf": b"%PDF", "附件/a.xlsx": b"PK"})))
    assert record.electronic_record_code == "X1"
    assert [e.computer_file_name for _d, _v, e in record.iter_encodings()] == ["正文.pdf", "附件/a.xlsx"]
    assert md.validate_record(record) == []
    process = md.parse_process_xml(process_xml(SipSpec("X1")))
    assert [b.business_activity for b in process.business_entities] == ["拟稿", "核稿", "签发"]
    assert md.validate_process(process, record_code="X1") == []


def test_inline_data_is_noted_but_not_kept() -> None:
    payload = base64.b64encode(b"%PDF-1.7 secret bytes" * 50).decode()
    data = metadata_xml(SipSpec("X2", files={"正文.pdf": b"%PDF-1.7 secret bytes" * 50}, inline={"正文.pdf"}))
    assert payload.encode() in data
    record = md.parse_record_xml(data)
    _document, _data, encoding = next(record.iter_encodings())
    assert encoding.inline_data_present and encoding.encoded_data_id == "D1"
    assert payload[:40] not in repr(record)
    assert md.validate_record(record) == []


def test_unknown_repeated_and_misplaced_elements_become_structure_findings() -> None:
    doc = md.record_to_xml(md.minimal_record("X3", "题名一", [("a.pdf", 1)])).decode()
    doc = doc.replace("<题名>题名一</题名>", "<题名>题名一</题名><题名>题名二</题名><私有字段>x</私有字段>")
    doc = doc.replace("<聚合层次>文件</聚合层次>", "").replace("</来源>", "</来源><聚合层次>文件</聚合层次>")
    record = md.parse_record_xml(doc.encode())
    assert record.content_description.title == "题名一"
    found = {(f.code, f.element, f.severity) for f in md.validate_record(record) if f.rule == Rule.STRUCTURE}
    assert found == {("repeated_element", "内容描述/题名", Severity.ERROR),
                     ("unknown_element", "内容描述/私有字段", Severity.WARNING),
                     ("element_order", "聚合层次", Severity.WARNING)}


def test_archival_code_text_is_mixed_content() -> None:
    doc = (f'<文件实体 xmlns="{NS}"><档号>Z109-WS·2025-Y-0001<年度>2025</年度><保管期限>永久</保管期限></档号></文件实体>')
    record = md.parse_record_xml(doc.encode())
    assert record.archival_code.text == "Z109-WS·2025-Y-0001"
    assert record.archival_code.year == "2025"


def test_characters_xml_cannot_hold_are_refused_when_writing() -> None:
    record = md.minimal_record("X4", "bad\x01title", [("a.pdf", 1)])
    with pytest.raises(MetadataXmlError) as info:
        md.record_to_xml(record)
    assert "题名" in info.value.message_zh
    assert any(f.code == "illegal_xml_char" for f in md.validate_record(record))


@pytest.mark.parametrize("relations", [True, False], ids=["文件实体块", "文件实体"])
def test_declared_files_agree_with_the_full_model(relations: bool) -> None:
    record = full_record() if relations else dataclasses.replace(full_record(), relations=[])
    data = md.record_to_xml(record)
    parsed = md.parse_record_xml(data)
    expected = [((e.computer_file_name or "").strip(), e.computer_file_size) for _doc, _data, e in parsed.iter_encodings()]
    assert len(expected) > 1
    assert md.declared_files(data) == (expected, parsed.archival_code.year or "")
    sip_xml = metadata_xml(SipSpec("S-1", files={"正文.pdf": b"%PDF-1.7", "附件/a.xlsx": b"xx"}))
    assert md.declared_files(sip_xml) == ([("正文.pdf", "8"), ("附件/a.xlsx", "2")], "2025")


def test_declared_files_refuses_what_the_parser_refuses() -> None:
    with pytest.raises(MetadataXmlError):
        md.declared_files(b"<not-closed>")
    with pytest.raises(MetadataXmlError):
        md.declared_files(f'<文件实体块 xmlns="{NS}"/>'.encode())
    with pytest.raises(Exception, match="DTD"):
        md.declared_files(b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x/>')


def test_differing_elements_ignores_layout_and_names_changed_elements() -> None:
    from lxml import etree

    from lantai.domain.metadata import differing_elements
    from tests.sipfactory import SipSpec, metadata_xml

    files = {"正文.pdf": b"%PDF-1.7 x"}
    original = metadata_xml(SipSpec("Z-1", files=files))
    relaid = etree.tostring(etree.fromstring(original), encoding="UTF-8", pretty_print=False)
    assert relaid != original and differing_elements(original, relaid) == []
    changed = metadata_xml(SipSpec("Z-1", files=files, title="另一个题名", security="内部"))
    assert {path.rsplit("/", 1)[-1] for path in differing_elements(original, changed)} == {"题名", "密级"}
