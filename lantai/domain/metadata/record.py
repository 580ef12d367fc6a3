"""The DA/T 46-2009 文件实体 of a 文书类 item, shaped as DA/T 48's 文件实体 block.

Every leaf is a string (``None`` when the element is absent) so that whatever an agency sends
can be held, round-tripped and then judged by :mod:`.validation`: a 年度 of ``"二〇二五"`` must
survive parsing so that the validator can say what is wrong with it. The M numbers of DA/T 46
are given beside each attribute; :mod:`.registry` holds the full description of each element.
"""

# ruff: noqa: RUF009  -- the field helpers in .fields return dataclasses.field(...) objects

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lantai.domain.metadata.fields import (
    attr,
    child,
    children,
    data_presence,
    element_attr,
    leaf,
    leaves,
    mixed_text,
    optional_child,
    siblings,
    unmapped,
)


@dataclass
class Provenance:
    """来源 (M2)."""

    archives_name: str | None = leaf("档案馆名称")  # M3
    archives_identifier: str | None = leaf("档案馆代码")  # M4
    fonds_name: str | None = leaf("全宗名称")  # M5
    fonds_constituting_unit_name: str | None = leaf("立档单位名称")  # M6 ★


@dataclass
class ArchivalCode:
    """档号 (M8). Mixed content in DA/T 48: ``text`` holds the 档号 as written, e.g. ``Z109-WS·2025-Y-BGS-0001``."""

    text: str | None = mixed_text()
    fonds_identifier: str | None = leaf("全宗号")  # M9
    catalogue_number: str | None = leaf("目录号")  # M10
    year: str | None = leaf("年度")  # M11 ★
    retention_period: str | None = leaf("保管期限")  # M12 ★
    organizational_structure_or_function: str | None = leaf("机构或问题")  # M13
    category_code: str | None = leaf("类别号")  # M14
    agency_file_number: str | None = leaf("室编案卷号")  # M15
    archives_file_number: str | None = leaf("馆编案卷号")  # M16
    agency_item_number: str | None = leaf("室编件号")  # M17
    archives_item_number: str | None = leaf("馆编件号")  # M18
    page_number: str | None = leaf("页号")  # M20


@dataclass
class Descriptor:
    """主题词 (M26) with the thesaurus it comes from."""

    value: str | None = mixed_text()
    thesaurus_name: str | None = attr("主题词表名称")


@dataclass
class ContentDescription:
    """内容描述 (M21)."""

    title: str | None = leaf("题名")  # M22 ★
    parallel_title: str | None = leaf("并列题名")  # M23
    alternative_title: str | None = leaf("副题名")  # M24
    other_title_information: str | None = leaf("说明题名文字")  # M25
    descriptors: list[Descriptor] = children("主题词", Descriptor)  # M26
    keyword: str | None = leaf("关键词")  # M27
    personal_name: str | None = leaf("人名")  # M28
    abstract: str | None = leaf("摘要")  # M29
    class_code: str | None = leaf("分类号")  # M30
    document_number: str | None = leaf("文件编号")  # M31
    author: str | None = leaf("责任者")  # M32
    date: str | None = leaf("日期")  # M33 ★
    document_type: str | None = leaf("文种")  # M34
    precedence: str | None = leaf("紧急程度")  # M35
    principal_receiver: str | None = leaf("主送")  # M36
    other_receivers: str | None = leaf("抄送")  # M37
    security_classification: str | None = leaf("密级")  # M38 ★
    secrecy_period: str | None = leaf("保密期限")  # M39


@dataclass
class FormalCharacteristics:
    """形式特征 (M40). 件数 (M42) is a volume-level element with no place in DA/T 48's 文件实体."""

    document_aggregation_type: str | None = leaf("文件组合类型", "单件")  # M41
    total_number_of_pages: str | None = leaf("页数")  # M43
    language: str | None = leaf("语种")  # M44
    manuscript_type: str | None = leaf("稿本")  # M45


@dataclass
class StorageLocation:
    """存储位置 (M65)."""

    current_location: str | None = leaf("当前位置")  # M66
    offline_medium_identifiers: list[str] = leaves("脱机载体编号")  # M67 ★
    offline_medium_storage_locations: list[str] = leaves("脱机载体存址")  # M68
    microform_identifier: str | None = leaf("缩微号")  # M69


@dataclass
class Authorization:
    """授权: one 授权对象 and what it may do."""

    authorized_agent: str | None = leaf("授权对象")  # M72
    permission_assignment: str | None = leaf("授权行为")  # M73


@dataclass
class RightsManagement:
    """权限管理 (M70)."""

    intellectual_property_statement: str | None = leaf("知识产权说明")  # M71
    authorizations: list[Authorization] = children("授权", Authorization)
    control_identifier: str | None = leaf("控制标识")  # M74


@dataclass
class ElectronicAttributes:
    """电子属性 (M46): one per 编码, i.e. per computer file."""

    format_information: str | None = leaf("格式信息")  # M47
    computer_file_name: str | None = leaf("计算机文件名")  # M48
    computer_file_size: str | None = leaf("计算机文件大小")  # M49
    document_creating_application: str | None = leaf("文档创建程序")  # M50


@dataclass
class DigitizationAttributes:
    """数字化属性 (M52), present only for digitised paper."""

    physical_record_characteristics: str | None = leaf("数字化对象形态")  # M53
    scanning_resolution: str | None = leaf("扫描分辨率")  # M54
    scanning_color_model: str | None = leaf("扫描色彩模式")  # M55
    image_compression_scheme: str | None = leaf("图像压缩方案")  # M56


@dataclass
class Encoding:
    """编码: one computer file.

    The base64 编码数据 itself is never kept: ingest streams it out to a file and the EEP writer
    streams it back in. The model only remembers that it was there and the element's IDs.
    """

    encoding_id: str | None = attr("编码ID")
    electronic_attributes: ElectronicAttributes = child("电子属性", ElectronicAttributes)
    digitization_attributes: DigitizationAttributes | None = optional_child("数字化属性", DigitizationAttributes)
    encoding_description: str | None = leaf("编码描述")
    decoding_key: str | None = leaf("反编码关键字")
    inline_data_present: bool = data_presence("编码数据")
    encoded_data_id: str | None = element_attr("编码数据", "编码数据ID")
    referenced_encoded_data_id: str | None = element_attr("编码数据", "引用编码数据ID")

    @property
    def computer_file_name(self) -> str | None:
        return self.electronic_attributes.computer_file_name

    @property
    def computer_file_size(self) -> str | None:
        return self.electronic_attributes.computer_file_size

    @property
    def format_information(self) -> str | None:
        return self.electronic_attributes.format_information

    @property
    def document_creating_application(self) -> str | None:
        return self.electronic_attributes.document_creating_application

    @property
    def has_encoded_data_element(self) -> bool:
        return self.inline_data_present or self.encoded_data_id is not None or self.referenced_encoded_data_id is not None


@dataclass
class DocumentData:
    """文档数据: one version of a document (a draft, the final text, a 处理单)."""

    document_data_id: str | None = attr("文档数据ID")
    encodings: list[Encoding] = children("编码", Encoding)


@dataclass
class Document:
    """文档: one component of the item (the main text or an attachment)."""

    document_identifier: str | None = leaf("文档标识符")
    document_sequence_number: str | None = leaf("文档序号")  # M19
    document_role: str | None = leaf("文档主从声明")  # 主文档 | 附属文档
    title: str | None = leaf("题名")
    document_data: list[DocumentData] = children("文档数据", DocumentData)


@dataclass
class EntityRelation:
    """实体关系 (M85–M88). Subclasses fix the element names DA/T 48 uses in each block."""

    entity_identifier: str | None = leaf("实体标识符")  # M85
    related_entity_identifier: str | None = leaf("被关联实体标识符")
    relation_type: str | None = leaf("关系类型")  # M86
    relation: str | None = leaf("关系")  # M87
    relation_description: str | None = leaf("关系描述")  # M88


@dataclass
class RecordRelation(EntityRelation):
    """文件实体关系: links this record to another (e.g. a 请示 and its 批复)."""

    entity_identifier: str | None = leaf("文件标识符")
    related_entity_identifier: str | None = leaf("被关联文件标识符")


@dataclass
class RecordEntity:
    """文件实体 (M1–M75) plus the 文件实体关系 that follow it in DA/T 48's 文件实体块.

    ``parse_notes`` records structural oddities found while parsing (unknown, repeated or
    out-of-order elements); it is not part of equality and the validator reports it.
    """

    aggregation_level: str | None = leaf("聚合层次", "文件")  # M1
    provenance: Provenance = child("来源", Provenance)  # M2
    electronic_record_code: str | None = leaf("电子文件号")  # M7
    archival_code: ArchivalCode = child("档号", ArchivalCode)  # M8
    content_description: ContentDescription = child("内容描述", ContentDescription)  # M21
    formal_characteristics: FormalCharacteristics = child("形式特征", FormalCharacteristics)  # M40
    storage_location: StorageLocation = child("存储位置", StorageLocation)  # M65
    rights_management: RightsManagement = child("权限管理", RightsManagement)  # M70
    information_system_descriptions: list[str] = leaves("信息系统描述")  # M51
    annotations: list[str] = leaves("附注")  # M75
    documents: list[Document] = children("文档", Document, wrapper="文件数据")
    relations: list[RecordRelation] = siblings("文件实体关系", RecordRelation)
    parse_notes: list[tuple[str, str]] = unmapped()

    def iter_encodings(self) -> Iterator[tuple[Document, DocumentData, Encoding]]:
        """Every computer file of the record with the document and version it belongs to."""
        for document in self.documents:
            for data in document.document_data:
                for encoding in data.encodings:
                    yield document, data, encoding
