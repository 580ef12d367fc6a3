"""validate_record / validate_process / validate_signature: one failing and one passing case per
rule × element family. Each passing case must leave the whole object without any finding."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from lantai.domain import metadata as md
from lantai.domain.findings import Finding, Rule, Severity
from tests.unit.test_metadata_xml import full_process, full_signature

TODAY = dt.date(2025, 6, 1)
ENC = "文件数据/文档[1]/文档数据[1]/编码[1]"
E, W = Severity.ERROR, Severity.WARNING


def base_record() -> md.RecordEntity:
    """A valid record that also reaches the conditional elements (数字化属性, 授权, 关系)."""
    record = md.minimal_record("Z-1", "关于做好归档工作的通知", [("正文.pdf", 10), ("附件/附件1.pdf", 20)])
    _first_encoding(record).digitization_attributes = md.DigitizationAttributes("纸质", "300", "彩色", "JPEG")
    record.rights_management.authorizations = [md.Authorization("区档案馆", "浏览")]
    record.relations = [md.RecordRelation("Z-1", "Z-0", "引用")]
    record.content_description.abstract = "第一段\n第二段"
    return record


def _first_encoding(record: md.RecordEntity) -> md.Encoding:
    return record.documents[0].document_data[0].encodings[0]


def _set(obj: Any, path: str, value: Any) -> None:
    parts = path.split(".")
    for part in parts[:-1]:
        obj = getattr(obj, part[:-2])[0] if part.endswith("[]") else getattr(obj, part)
    setattr(obj, parts[-1], value)


def put(path: str, value: Any) -> Callable[[Any], None]:
    return lambda obj: _set(obj, path, value)


@dataclass
class Case:
    rule: Rule
    where: str
    bad: Callable[[Any], None]
    good: Callable[[Any], None]
    severity: Severity = E
    code: str | None = None


def _dup_encoding_id(same: bool) -> Callable[[md.RecordEntity], None]:
    def mutate(record: md.RecordEntity) -> None:
        encodings = record.documents[0].document_data[0].encodings
        encodings[1].encoding_id = encodings[0].encoding_id if same else "另一个编码"
    return mutate


def _inline(encoded_id: str | None) -> Callable[[md.RecordEntity], None]:
    def mutate(record: md.RecordEntity) -> None:
        _first_encoding(record).inline_data_present = True
        _first_encoding(record).encoded_data_id = encoded_id
    return mutate


def _dated(date: str, year: str) -> Callable[[md.RecordEntity], None]:
    def mutate(record: md.RecordEntity) -> None:
        record.content_description.date, record.archival_code.year = date, year
    return mutate


CD, AC, EA, DA = "content_description", "archival_code", f"{'documents[].document_data[].encodings[]'}.electronic_attributes", \
    "documents[].document_data[].encodings[].digitization_attributes"
FILE_NAME = f"{ENC}/电子属性/计算机文件名"
GOOD_NAME = put(f"{EA}.computer_file_name", "附件/附件1（定稿）.pdf")

RECORD_CASES: dict[str, Case] = {
    # REQUIRED: the ★ set, the brief's additions, conditional children, structure
    "required-立档单位名称": Case(Rule.REQUIRED, "来源/立档单位名称", put("provenance.fonds_constituting_unit_name", None),
                                put("provenance.fonds_constituting_unit_name", "X区档案局")),
    "required-电子文件号": Case(Rule.REQUIRED, "电子文件号", put("electronic_record_code", ""),
                              put("electronic_record_code", "Z-2")),
    "required-年度": Case(Rule.REQUIRED, "档号/年度", put(f"{AC}.year", None), put(f"{AC}.year", "2025")),
    "required-保管期限": Case(Rule.REQUIRED, "档号/保管期限", put(f"{AC}.retention_period", "  "),
                             put(f"{AC}.retention_period", "D10")),
    "required-题名": Case(Rule.REQUIRED, "内容描述/题名", put(f"{CD}.title", None), put(f"{CD}.title", "另一题名")),
    "required-责任者": Case(Rule.REQUIRED, "内容描述/责任者", put(f"{CD}.author", None), put(f"{CD}.author", "办公室")),
    "required-日期": Case(Rule.REQUIRED, "内容描述/日期", put(f"{CD}.date", None), put(f"{CD}.date", "20250301")),
    "required-密级": Case(Rule.REQUIRED, "内容描述/密级", put(f"{CD}.security_classification", None),
                          put(f"{CD}.security_classification", "内部")),
    "required-聚合层次": Case(Rule.REQUIRED, "聚合层次", put("aggregation_level", None), put("aggregation_level", "文件")),
    "required-文件组合类型": Case(Rule.REQUIRED, "形式特征/文件组合类型",
                                put("formal_characteristics.document_aggregation_type", None),
                                put("formal_characteristics.document_aggregation_type", "组合文件")),
    "required-脱机载体编号": Case(Rule.REQUIRED, "存储位置/脱机载体编号",
                                put("storage_location.offline_medium_identifiers", []),
                                put("storage_location.offline_medium_identifiers", ["GP-1", "GP-2"])),
    "required-计算机文件名": Case(Rule.REQUIRED, FILE_NAME, put(f"{EA}.computer_file_name", None), GOOD_NAME),
    "required-计算机文件大小": Case(Rule.REQUIRED, f"{ENC}/电子属性/计算机文件大小", put(f"{EA}.computer_file_size", ""),
                                 put(f"{EA}.computer_file_size", "0")),
    "required-扫描分辨率": Case(Rule.REQUIRED, f"{ENC}/数字化属性/扫描分辨率", put(f"{DA}.scanning_resolution", None),
                              put(f"{DA}.scanning_resolution", "600")),
    "required-授权行为": Case(Rule.REQUIRED, "权限管理/授权[1]/授权行为",
                             put("rights_management.authorizations[].permission_assignment", None),
                             put("rights_management.authorizations[].permission_assignment", "复制")),
    "required-文档": Case(Rule.REQUIRED, "文件数据/文档", put("documents", []),
                          lambda r: r.documents.append(md.main_document([("附件2.pdf", 3)], 2))),
    "required-编码数据ID": Case(Rule.REQUIRED, f"{ENC}/编码数据/@编码数据ID", _inline(None), _inline("D1")),
    "required-被关联文件标识符": Case(Rule.REQUIRED, "文件实体关系[1]/被关联文件标识符",
                                  put("relations[].related_entity_identifier", None),
                                  put("relations[].related_entity_identifier", "Z-9")),
    # LENGTH
    "length-题名": Case(Rule.LENGTH, "内容描述/题名", put(f"{CD}.title", "长" * 1001), put(f"{CD}.title", "长" * 1000)),
    "length-电子文件号": Case(Rule.LENGTH, "电子文件号", put("electronic_record_code", "Z" * 101),
                            put("electronic_record_code", "Z" * 100)),
    "length-计算机文件名": Case(Rule.LENGTH, FILE_NAME, put(f"{EA}.computer_file_name", "a" * 252 + ".pdf"),
                              put(f"{EA}.computer_file_name", "a" * 251 + ".pdf")),
    # TYPE
    "type-年度-汉字": Case(Rule.TYPE, "档号/年度", put(f"{AC}.year", "二〇二五"), put(f"{AC}.year", "2025")),
    "type-年度-两位": Case(Rule.TYPE, "档号/年度", put(f"{AC}.year", "25"), put(f"{AC}.year", "2025")),
    "type-日期-无效": Case(Rule.TYPE, "内容描述/日期", _dated("2025-02-30", "2025"), _dated("2025-02-28", "2025")),
    "type-日期-文字": Case(Rule.TYPE, "内容描述/日期", put(f"{CD}.date", "去年"), put(f"{CD}.date", "2025-01-31")),
    "type-计算机文件大小-负数": Case(Rule.TYPE, f"{ENC}/电子属性/计算机文件大小", put(f"{EA}.computer_file_size", "-1"),
                                  put(f"{EA}.computer_file_size", "0")),
    "type-计算机文件大小-单位": Case(Rule.TYPE, f"{ENC}/电子属性/计算机文件大小", put(f"{EA}.computer_file_size", "12KB"),
                                  put(f"{EA}.computer_file_size", "12288")),
    "type-室编件号": Case(Rule.TYPE, "档号/室编件号", put(f"{AC}.agency_item_number", "0"),
                          put(f"{AC}.agency_item_number", "1")),
    "type-馆编件号": Case(Rule.TYPE, "档号/馆编件号", put(f"{AC}.archives_item_number", "第3件"),
                          put(f"{AC}.archives_item_number", "0003")),
    "type-文档序号": Case(Rule.TYPE, "文件数据/文档[1]/文档序号", put("documents[].document_sequence_number", "0"),
                          put("documents[].document_sequence_number", "2")),
    "type-页数": Case(Rule.TYPE, "形式特征/页数", put("formal_characteristics.total_number_of_pages", "两页"),
                      put("formal_characteristics.total_number_of_pages", "2")),
    "type-扫描分辨率": Case(Rule.TYPE, f"{ENC}/数字化属性/扫描分辨率", put(f"{DA}.scanning_resolution", "300dpi"),
                            put(f"{DA}.scanning_resolution", "300")),
    # FORMAT
    "format-日期-斜杠": Case(Rule.FORMAT, "内容描述/日期", put(f"{CD}.date", "2025/1/2"), put(f"{CD}.date", "20250102")),
    "format-日期-汉字": Case(Rule.FORMAT, "内容描述/日期", put(f"{CD}.date", "2025年1月2日"),
                             put(f"{CD}.date", "2025-01-02")),
    "format-编码ID": Case(Rule.FORMAT, f"{ENC}/@编码ID", put("documents[].document_data[].encodings[].encoding_id", "1a"),
                          put("documents[].document_data[].encodings[].encoding_id", "E_1")),
    "format-文档标识符": Case(Rule.FORMAT, "文件数据/文档[1]/文档标识符", put("documents[].document_identifier", "文档 1"),
                             put("documents[].document_identifier", "修改0-文档9")),
    # VALUE_DOMAIN: closed → error, open ([其他]) → warning
    "domain-密级": Case(Rule.VALUE_DOMAIN, "内容描述/密级", put(f"{CD}.security_classification", "超级机密"),
                        put(f"{CD}.security_classification", "绝密")),
    "domain-文件组合类型": Case(Rule.VALUE_DOMAIN, "形式特征/文件组合类型",
                               put("formal_characteristics.document_aggregation_type", "多件"),
                               put("formal_characteristics.document_aggregation_type", "组合文件")),
    "domain-扫描色彩模式": Case(Rule.VALUE_DOMAIN, f"{ENC}/数字化属性/扫描色彩模式", put(f"{DA}.scanning_color_model", "RGB"),
                               put(f"{DA}.scanning_color_model", "灰度")),
    "domain-文档主从声明": Case(Rule.VALUE_DOMAIN, "文件数据/文档[1]/文档主从声明", put("documents[].document_role", "正文"),
                               put("documents[].document_role", "附属文档")),
    "domain-聚合层次": Case(Rule.VALUE_DOMAIN, "聚合层次", put("aggregation_level", "卷"), put("aggregation_level", "文件")),
    "domain-保管期限": Case(Rule.VALUE_DOMAIN, "档号/保管期限", put(f"{AC}.retention_period", "5年"),
                            put(f"{AC}.retention_period", "D30"), W),
    "domain-文种": Case(Rule.VALUE_DOMAIN, "内容描述/文种", put(f"{CD}.document_type", "备忘录"),
                        put(f"{CD}.document_type", "纪要"), W),
    "domain-紧急程度": Case(Rule.VALUE_DOMAIN, "内容描述/紧急程度", put(f"{CD}.precedence", "很急"),
                            put(f"{CD}.precedence", "特急"), W),
    "domain-稿本": Case(Rule.VALUE_DOMAIN, "形式特征/稿本", put("formal_characteristics.manuscript_type", "三稿"),
                        put("formal_characteristics.manuscript_type", "定稿"), W),
    "domain-控制标识": Case(Rule.VALUE_DOMAIN, "权限管理/控制标识", put("rights_management.control_identifier", "半开放"),
                            put("rights_management.control_identifier", "控制"), W),
    "domain-授权行为": Case(Rule.VALUE_DOMAIN, "权限管理/授权[1]/授权行为",
                            put("rights_management.authorizations[].permission_assignment", "下载"),
                            put("rights_management.authorizations[].permission_assignment", "解密"), W),
    # SPECIAL_CHARACTERS
    "chars-题名-非法XML字符": Case(Rule.SPECIAL_CHARACTERS, "内容描述/题名", put(f"{CD}.title", "关于\x01通知"),
                                 put(f"{CD}.title", "关于通知"), code="illegal_xml_char"),
    "chars-责任者-控制字符": Case(Rule.SPECIAL_CHARACTERS, "内容描述/责任者", put(f"{CD}.author", "办公室\x85"),
                                put(f"{CD}.author", "办公室"), code="control_char"),
    "chars-题名-换行": Case(Rule.SPECIAL_CHARACTERS, "内容描述/题名", put(f"{CD}.title", "关于\n通知"),
                            put(f"{CD}.title", "关于 通知"), W, "line_break"),
    "chars-题名-乱码": Case(Rule.SPECIAL_CHARACTERS, "内容描述/题名", put(f"{CD}.title", "关于\ufffd通知"),
                            put(f"{CD}.title", "关于通知"), W, "replacement_char"),
    **{f"chars-计算机文件名-{code}-{i}": Case(Rule.SPECIAL_CHARACTERS, FILE_NAME, put(f"{EA}.computer_file_name", name),
                                          GOOD_NAME, code=code)
       for i, (name, code) in enumerate([
           ("../x.pdf", "path_traversal"), ("附件/../../x.pdf", "path_traversal"), ("/etc/passwd", "absolute_path"),
           ("C:/正文.pdf", "absolute_path"), ("附件\\正文.pdf", "backslash"), ("正文?.pdf", "forbidden_file_char"),
           ("正文|1.pdf", "forbidden_file_char"), ("附件//正文.pdf", "bad_path_segment"), ("./正文.pdf", "bad_path_segment"),
           ("CON.pdf", "bad_path_segment"), ("附件./正文.pdf", "bad_path_segment"), ("正文.pdf ", "bad_path_segment"),
           ("正文\x00.pdf", "illegal_xml_char"),
       ])},
    # REASONABLENESS (today = 2025-06-01)
    "reasonable-日期晚于今天": Case(Rule.REASONABLENESS, "内容描述/日期", _dated("2025-06-02", "2025"),
                                 _dated("2025-06-01", "2025"), code="date_in_future"),
    "reasonable-年度晚于今年": Case(Rule.REASONABLENESS, "档号/年度", _dated("2025-01-01", "2026"),
                                 _dated("2025-01-01", "2025"), code="year_in_future"),
    "reasonable-年度与日期不符": Case(Rule.REASONABLENESS, "档号/年度", _dated("2025-01-01", "2024"),
                                  _dated("2024-12-31", "2024"), W, "year_date_mismatch"),
    # DUPLICATE
    "duplicate-编码ID": Case(Rule.DUPLICATE, "文件数据/文档[1]/文档数据[1]/编码[2]/@编码ID", _dup_encoding_id(True),
                             _dup_encoding_id(False)),
}


def _matches(findings: list[Finding], case: Case) -> list[Finding]:
    return [f for f in findings if f.rule == case.rule and f.element == case.where and f.severity == case.severity
            and (case.code is None or f.code == case.code)]


def test_base_record_is_valid() -> None:
    assert md.validate_record(base_record(), today=TODAY) == []


@pytest.mark.parametrize("name", sorted(RECORD_CASES))
def test_record_rule(name: str) -> None:
    case = RECORD_CASES[name]
    bad, good = base_record(), base_record()
    case.bad(bad)
    case.good(good)
    findings = md.validate_record(bad, today=TODAY)
    assert _matches(findings, case), [f.to_dict() for f in findings]
    assert md.validate_record(good, today=TODAY) == []


def test_every_rule_has_cases() -> None:
    rules = {c.rule for c in RECORD_CASES.values()}
    assert {Rule.REQUIRED, Rule.LENGTH, Rule.TYPE, Rule.FORMAT, Rule.VALUE_DOMAIN, Rule.SPECIAL_CHARACTERS,
            Rule.REASONABLENESS} <= rules


def test_findings_are_bilingual_and_carry_parameters() -> None:
    record = base_record()
    record.content_description.security_classification = "超级机密"
    [finding] = md.validate_record(record, today=TODAY)
    assert finding.element == "内容描述/密级" and finding.code == "value_domain_closed"
    assert "密级" in finding.message and "超级机密" in finding.message and "绝密" in finding.message
    assert "securityClassification" in finding.message_en
    assert finding.params["value"] == "超级机密" and finding.params["element_code"] == "M38"
    assert finding.to_dict()["severity"] == "error"


def test_multiline_elements_accept_line_breaks() -> None:
    record = base_record()
    record.annotations = ["第一行\r\n第二行\t缩进"]
    assert md.validate_record(record, today=TODAY) == []


def test_today_defaults_to_the_real_date() -> None:
    record = base_record()
    record.content_description.date, record.archival_code.year = "2999-01-01", "2999"
    assert {f.code for f in md.validate_record(record)} >= {"date_in_future", "year_in_future"}


def test_legacy_and_current_retention_codes_are_all_accepted() -> None:
    for value in ("永久", "长期", "短期", "30年", "10年", "定期30年", "定期10年", "Y", "D30", "D10", "001", "002", "003"):
        record = base_record()
        record.archival_code.retention_period = value
        assert md.validate_record(record, today=TODAY) == [], value


def test_validation_never_raises_on_an_empty_record() -> None:
    findings = md.validate_record(md.RecordEntity(aggregation_level=None), today=TODAY)
    required = {f.element for f in findings if f.rule == Rule.REQUIRED}
    assert {"聚合层次", "来源/立档单位名称", "电子文件号", "档号/年度", "档号/保管期限", "内容描述/题名", "内容描述/责任者",
            "内容描述/日期", "内容描述/密级", "存储位置/脱机载体编号", "文件数据/文档"} <= required


# --- 过程信息 -------------------------------------------------------------------------------------
B1, A1 = "业务实体块/业务实体[1]", "机构人员实体块/机构人员实体[1]"
PROCESS_CASES: dict[str, Case] = {
    "required-业务行为": Case(Rule.REQUIRED, f"{B1}/业务行为", put("business_entities[].business_activity", None),
                              put("business_entities[].business_activity", "签发")),
    "required-行为时间": Case(Rule.REQUIRED, f"{B1}/行为时间", put("business_entities[].action_time", ""),
                              put("business_entities[].action_time", "2025-03-10")),
    "required-业务标识符": Case(Rule.REQUIRED, f"{B1}/业务标识符", put("business_entities[].business_identifier", None),
                               put("business_entities[].business_identifier", "B9")),
    "required-机构人员名称": Case(Rule.REQUIRED, f"{A1}/机构人员名称", put("agents[].agent_name", ""),
                                put("agents[].agent_name", "李娜")),
    "required-业务实体": Case(Rule.REQUIRED, "业务实体块/业务实体", put("business_entities", []),
                              lambda p: p.business_entities.pop()),
    "length-业务行为": Case(Rule.LENGTH, f"{B1}/业务行为", put("business_entities[].business_activity", "拟" * 101),
                            put("business_entities[].business_activity", "拟" * 100)),
    "type-行为时间": Case(Rule.TYPE, f"{B1}/行为时间", put("business_entities[].action_time", "昨天上午"),
                          put("business_entities[].action_time", "2025-03-10T09:00:00.5Z")),
    "type-行为时间-无效": Case(Rule.TYPE, f"{B1}/行为时间", put("business_entities[].action_time", "2025-13-01T00:00:00"),
                               put("business_entities[].action_time", "20250301")),
    "domain-业务状态": Case(Rule.VALUE_DOMAIN, f"{B1}/业务状态", put("business_entities[].business_status", "进行中"),
                            put("business_entities[].business_status", "计划任务")),
    "domain-机构人员类型": Case(Rule.VALUE_DOMAIN, f"{A1}/机构人员类型", put("agents[].agent_type", "团体"),
                               put("agents[].agent_type", "单位")),
    "chars-行为描述": Case(Rule.SPECIAL_CHARACTERS, f"{B1}/行为描述", put("business_entities[].action_description", "\x07"),
                           put("business_entities[].action_description", "多行\n描述")),
    "structure-未知机构人员": Case(Rule.STRUCTURE, f"{B1}/机构人员标识符", put("business_entities[].agent_identifier", "P9"),
                                 put("business_entities[].agent_identifier", "P2"), code="unknown_agent"),
    "structure-关系未知机构人员": Case(Rule.STRUCTURE, "机构人员实体块/机构人员实体关系[1]/被关联机构人员标识符",
                                   put("agent_relations[].related_entity_identifier", "P9"),
                                   put("agent_relations[].related_entity_identifier", "P1"), code="unknown_agent"),
    "duplicate-机构人员标识符": Case(Rule.DUPLICATE, "机构人员实体块/机构人员实体[2]/机构人员标识符",
                                  lambda p: setattr(p.agents[1], "agent_identifier", "P1"),
                                  lambda p: setattr(p.agents[1], "agent_identifier", "P2")),
}


@pytest.mark.parametrize("name", sorted(PROCESS_CASES))
def test_process_rule(name: str) -> None:
    case = PROCESS_CASES[name]
    bad, good = full_process(), full_process()
    case.bad(bad)
    case.good(good)
    findings = md.validate_process(bad)
    assert _matches(findings, case), [f.to_dict() for f in findings]
    assert md.validate_process(good) == []


def test_process_record_identifier_is_compared_with_the_record_code() -> None:
    findings = md.validate_process(full_process(), record_code="Z-OTHER")
    assert {(f.code, f.severity) for f in findings} == {("record_identifier_mismatch", W)}
    assert md.validate_process(full_process(), record_code="Z109-WS-2025-00001") == []


def test_process_times_need_not_be_in_order() -> None:
    process = full_process()
    process.business_entities.reverse()
    assert md.validate_process(process) == []


# --- 电子签名 -------------------------------------------------------------------------------------
SIGNATURE_CASES: dict[str, Case] = {
    "required-签名规则": Case(Rule.REQUIRED, "签名规则", put("signature_rules", None), put("signature_rules", "规则")),
    "required-证书": Case(Rule.REQUIRED, "证书块[1]/证书", put("certificate_blocks[].certificates", []),
                          put("certificate_blocks[].certificates", ["Y2VydA==", "Y2E="])),
    "type-签名结果": Case(Rule.TYPE, "签名结果", put("signature", "!!不是base64!!"), put("signature", "c2ln\nc2ln")),
    "type-签名时间": Case(Rule.TYPE, "签名时间", put("signature_time", "中午"), put("signature_time", "2025-03-18T10:00:00+08:00")),
    "format-签名算法标识": Case(Rule.FORMAT, "签名算法标识", put("signature_algorithm_identifier", "SM2withSM3"),
                               put("signature_algorithm_identifier", "1.2.840.113549.1.1.11")),
    "format-证书引证": Case(Rule.FORMAT, "证书块[1]/证书引证", put("certificate_blocks[].certificate_reference", "ca 证书"),
                            put("certificate_blocks[].certificate_reference", "urn:cert:1")),
    "domain-签名算法标识": Case(Rule.VALUE_DOMAIN, "签名算法标识", put("signature_algorithm_identifier", "1.2.3.4"),
                               put("signature_algorithm_identifier", "1.2.840.10040.4.3"), W),
}


@pytest.mark.parametrize("name", sorted(SIGNATURE_CASES))
def test_signature_rule(name: str) -> None:
    case = SIGNATURE_CASES[name]
    bad, good = full_signature(), full_signature()
    case.bad(bad)
    case.good(good)
    findings = md.validate_signature(bad)
    assert _matches(findings, case), [f.to_dict() for f in findings]
    assert md.validate_signature(good) == []
