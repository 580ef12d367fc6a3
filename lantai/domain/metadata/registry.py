"""The DA/T 46-2009 element registry (M1–M88) and the DA/T 48 elements that carry no M number.

This is data: validation, the XML codec's tests and the documentation read it; no rule is
hard-coded elsewhere. ``obligation`` is the standard's 约束性 as far as it is known (the ★ set
and DA/T 48 cardinality, STANDARDS §3.2); ``required`` is what the validator enforces — always
when the parent element is present (so 扫描分辨率 is required only inside a 数字化属性), and
never for 条件选 elements whose condition the metadata cannot show (档号 parts the archive
assigns later, 档案馆名称 at transfer).

Maximum lengths are Lantai's limits in characters; DA/T 46 itself fixes none. They are generous
and exist to catch garbage (a whole document pasted into 题名), not to police style.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from enum import StrEnum


class Obligation(StrEnum):
    REQUIRED = "必选"
    CONDITIONAL = "条件选"
    OPTIONAL = "可选"


class DataType(StrEnum):
    STRING = "string"
    GYEAR = "gYear"  # 4 digits
    DATE = "date"  # YYYY-MM-DD or YYYYMMDD
    DATETIME = "dateTime"  # xs:dateTime; a bare date is accepted
    POSITIVE_INTEGER = "positiveInteger"
    NON_NEGATIVE_INTEGER = "nonNegativeInteger"
    BASE64 = "base64Binary"
    ANY_URI = "anyURI"
    ID = "ID"
    IDREF = "IDREF"
    OID = "OID"
    CONTAINER = "container"


class Root(StrEnum):
    """Which model class an attribute path starts from."""

    RECORD = "RecordEntity"
    SIGNATURE = "ElectronicSignature"
    PROCESS = "ProcessRecord"


@dataclass(frozen=True, slots=True)
class ElementSpec:
    number: int | None  # DA/T 46 M number; None for DA/T 48-only elements
    name_zh: str
    name_en: str
    root: Root
    path: str | None  # attribute path from ``root``; ``[]`` marks a list; None = not in DA/T 48's blocks
    obligation: Obligation
    required: bool
    repeatable: bool
    data_type: DataType
    max_length: int | None = None
    domain: str | None = None  # key into domains.DOMAINS
    starred: bool = False  # in the ★ mandatory set of 四性检测 implementations
    multiline: bool = False  # line breaks and tabs are normal here
    file_name: bool = False  # a relative path inside the package: checked for traversal
    note: str = ""

    @property
    def code(self) -> str:
        return f"M{self.number}" if self.number else self.name_en


R, S, P = Root.RECORD, Root.SIGNATURE, Root.PROCESS
REQ, CON, OPT = Obligation.REQUIRED, Obligation.CONDITIONAL, Obligation.OPTIONAL
T = DataType
_ENC = "documents[].document_data[].encodings[]"
_EA = f"{_ENC}.electronic_attributes"
_DA = f"{_ENC}.digitization_attributes"
_AN = "进馆时必填"
_ASSIGNED = "归档整理时由档案部门赋予后必填"


def _e(number: int | None, zh: str, en: str, root: Root, path: str | None, obligation: Obligation, required: bool,
       repeatable: bool, data_type: DataType, max_length: int | None = None, **extra: object) -> ElementSpec:
    return ElementSpec(number, zh, en, root, path, obligation, required, repeatable, data_type, max_length,
                       **extra)  # type: ignore[arg-type]


ELEMENTS: tuple[ElementSpec, ...] = (
    _e(1, "聚合层次", "aggregationLevel", R, "aggregation_level", REQ, True, False, T.STRING, 10,
       domain="aggregation_level"),
    _e(2, "来源", "provenance", R, "provenance", REQ, True, False, T.CONTAINER),
    _e(3, "档案馆名称", "archivesName", R, "provenance.archives_name", CON, False, False, T.STRING, 200, note=_AN),
    _e(4, "档案馆代码", "archivesIdentifier", R, "provenance.archives_identifier", CON, False, False, T.STRING, 50,
       note=_AN),
    _e(5, "全宗名称", "fondsName", R, "provenance.fonds_name", OPT, False, False, T.STRING, 200),
    _e(6, "立档单位名称", "fondsConstitutingUnitName", R, "provenance.fonds_constituting_unit_name", REQ, True, False,
       T.STRING, 200, starred=True),
    _e(7, "电子文件号", "electronicRecordCode", R, "electronic_record_code", REQ, True, False, T.STRING, 100),
    _e(8, "档号", "archivalCode", R, "archival_code", REQ, True, False, T.CONTAINER,
       note="DA/T 48 中为混合内容：可同时有文本与子元素"),
    _e(9, "全宗号", "fondsIdentifier", R, "archival_code.fonds_identifier", CON, False, False, T.STRING, 20,
       note=_ASSIGNED),
    _e(10, "目录号", "catalogueNumber", R, "archival_code.catalogue_number", CON, False, False, T.STRING, 20,
       note=_ASSIGNED),
    _e(11, "年度", "year", R, "archival_code.year", REQ, True, False, T.GYEAR, 4, starred=True),
    _e(12, "保管期限", "retentionPeriod", R, "archival_code.retention_period", REQ, True, False, T.STRING, 20,
       domain="retention_period", starred=True),
    _e(13, "机构或问题", "organizationalStructureOrFunction", R, "archival_code.organizational_structure_or_function",
       CON, False, False, T.STRING, 50, note=_ASSIGNED),
    _e(14, "类别号", "categoryCode", R, "archival_code.category_code", CON, False, False, T.STRING, 50, note=_ASSIGNED),
    _e(15, "室编案卷号", "agencyFileNumber", R, "archival_code.agency_file_number", CON, False, False, T.STRING, 20,
       note=_ASSIGNED),
    _e(16, "馆编案卷号", "archivesFileNumber", R, "archival_code.archives_file_number", CON, False, False, T.STRING, 20,
       note=_ASSIGNED),
    _e(17, "室编件号", "agencyItemNumber", R, "archival_code.agency_item_number", CON, False, False,
       T.POSITIVE_INTEGER, 10, note="DA/T 48: 室编件号[,馆编件号] 或 馆编件号 二选一；" + _ASSIGNED),
    _e(18, "馆编件号", "archivesItemNumber", R, "archival_code.archives_item_number", CON, False, False,
       T.POSITIVE_INTEGER, 10, note=_ASSIGNED),
    _e(19, "文档序号", "documentSequenceNumber", R, "documents[].document_sequence_number", OPT, False, False,
       T.POSITIVE_INTEGER, 10, note="DA/T 48 中位于 文档 之下"),
    _e(20, "页号", "pageNumber", R, "archival_code.page_number", CON, False, False, T.STRING, 20, note=_ASSIGNED),
    _e(21, "内容描述", "contentDescription", R, "content_description", REQ, True, False, T.CONTAINER),
    _e(22, "题名", "title", R, "content_description.title", REQ, True, False, T.STRING, 1000, starred=True),
    _e(23, "并列题名", "parallelTitle", R, "content_description.parallel_title", OPT, False, False, T.STRING, 1000),
    _e(24, "副题名", "alternativeTitle", R, "content_description.alternative_title", OPT, False, False, T.STRING, 1000),
    _e(25, "说明题名文字", "otherTitleInformation", R, "content_description.other_title_information", OPT, False,
       False, T.STRING, 1000),
    _e(26, "主题词", "descriptor", R, "content_description.descriptors[].value", OPT, False, True, T.STRING, 100),
    _e(27, "关键词", "keyword", R, "content_description.keyword", OPT, False, False, T.STRING, 200),
    _e(28, "人名", "personalName", R, "content_description.personal_name", OPT, False, False, T.STRING, 200),
    _e(29, "摘要", "abstract", R, "content_description.abstract", OPT, False, False, T.STRING, 4000, multiline=True),
    _e(30, "分类号", "classCode", R, "content_description.class_code", OPT, False, False, T.STRING, 50),
    _e(31, "文件编号", "documentNumber", R, "content_description.document_number", OPT, False, False, T.STRING, 100),
    _e(32, "责任者", "author", R, "content_description.author", REQ, True, False, T.STRING, 200),
    _e(33, "日期", "date", R, "content_description.date", REQ, True, False, T.DATE, 10, starred=True),
    _e(34, "文种", "documentType", R, "content_description.document_type", OPT, False, False, T.STRING, 20,
       domain="document_type"),
    _e(35, "紧急程度", "precedence", R, "content_description.precedence", OPT, False, False, T.STRING, 10,
       domain="precedence"),
    _e(36, "主送", "principalReceiver", R, "content_description.principal_receiver", OPT, False, False, T.STRING,
       1000),
    _e(37, "抄送", "otherReceivers", R, "content_description.other_receivers", OPT, False, False, T.STRING, 1000),
    _e(38, "密级", "securityClassification", R, "content_description.security_classification", REQ, True, False,
       T.STRING, 10, domain="security_classification", starred=True),
    _e(39, "保密期限", "secrecyPeriod", R, "content_description.secrecy_period", OPT, False, False, T.STRING, 20),
    _e(40, "形式特征", "formalCharacteristics", R, "formal_characteristics", REQ, True, False, T.CONTAINER),
    _e(41, "文件组合类型", "documentAggregationType", R, "formal_characteristics.document_aggregation_type", REQ,
       True, False, T.STRING, 10, domain="document_aggregation_type"),
    _e(42, "件数", "totalNumberOfItems", R, None, OPT, False, False, T.NON_NEGATIVE_INTEGER, 10,
       note="案卷级元素；DA/T 48 的文件实体中没有此元素，本模型不承载"),
    _e(43, "页数", "totalNumberOfPages", R, "formal_characteristics.total_number_of_pages", OPT, False, False,
       T.NON_NEGATIVE_INTEGER, 10),
    _e(44, "语种", "language", R, "formal_characteristics.language", OPT, False, False, T.STRING, 50),
    _e(45, "稿本", "manuscriptType", R, "formal_characteristics.manuscript_type", OPT, False, False, T.STRING, 20,
       domain="manuscript_type"),
    _e(46, "电子属性", "electronicAttributes", R, _EA, REQ, True, False, T.CONTAINER, note="每个编码一个"),
    _e(47, "格式信息", "formatInformation", R, f"{_EA}.format_information", OPT, False, False, T.STRING, 500),
    _e(48, "计算机文件名", "computerFileName", R, f"{_EA}.computer_file_name", REQ, True, False, T.STRING, 255,
       file_name=True),
    _e(49, "计算机文件大小", "computerFileSize", R, f"{_EA}.computer_file_size", REQ, True, False,
       T.NON_NEGATIVE_INTEGER, 20, note="字节"),
    _e(50, "文档创建程序", "documentCreatingApplication", R, f"{_EA}.document_creating_application", OPT, False, False,
       T.STRING, 200),
    _e(51, "信息系统描述", "informationSystemDescription", R, "information_system_descriptions[]", OPT, False, True,
       T.STRING, 2000, multiline=True, note="DA/T 48 中位于文件实体层"),
    _e(52, "数字化属性", "digitizationAttributes", R, _DA, OPT, False, False, T.CONTAINER),
    _e(53, "数字化对象形态", "physicalRecordCharacteristics", R, f"{_DA}.physical_record_characteristics", OPT, False,
       False, T.STRING, 200),
    _e(54, "扫描分辨率", "scanningResolution", R, f"{_DA}.scanning_resolution", CON, True, False,
       T.POSITIVE_INTEGER, 10, note="有数字化属性时必选；单位 dpi"),
    _e(55, "扫描色彩模式", "scanningColorModel", R, f"{_DA}.scanning_color_model", CON, True, False, T.STRING, 10,
       domain="scanning_color_model", note="有数字化属性时必选"),
    _e(56, "图像压缩方案", "imageCompressionScheme", R, f"{_DA}.image_compression_scheme", OPT, False, False,
       T.STRING, 100),
    _e(57, "电子签名", "electronicSignature", S, "", OPT, False, True, T.CONTAINER,
       note="DA/T 48 中位于封装包的电子签名块，不在文件实体内"),
    _e(58, "签名规则", "signatureRules", S, "signature_rules", CON, True, False, T.STRING, 1000, multiline=True,
       note="有电子签名时必选"),
    _e(59, "签名时间", "signatureTime", S, "signature_time", OPT, False, False, T.DATETIME, 40),
    _e(60, "签名人", "signer", S, "signer", OPT, False, False, T.STRING, 200),
    _e(61, "签名结果", "signature", S, "signature", CON, True, False, T.BASE64, multiline=True,
       note="有电子签名时必选"),
    _e(62, "证书", "certificate", S, "certificate_blocks[].certificates[]", CON, True, True, T.BASE64,
       multiline=True, note="有电子签名时必选"),
    _e(63, "证书引证", "certificateReference", S, "certificate_blocks[].certificate_reference", OPT, False, False,
       T.ANY_URI, 1000),
    _e(64, "签名算法标识", "signatureAlgorithmIdentifier", S, "signature_algorithm_identifier", CON, True, False,
       T.OID, 100, domain="signature_algorithm_identifier", note="有电子签名时必选"),
    _e(65, "存储位置", "storageLocation", R, "storage_location", REQ, True, False, T.CONTAINER),
    _e(66, "当前位置", "currentLocation", R, "storage_location.current_location", OPT, False, False, T.STRING, 500),
    _e(67, "脱机载体编号", "offlineMediumIdentifier", R, "storage_location.offline_medium_identifiers[]", REQ, True,
       True, T.STRING, 100, starred=True),
    _e(68, "脱机载体存址", "offlineMediumStorageLocation", R, "storage_location.offline_medium_storage_locations[]",
       OPT, False, True, T.STRING, 500),
    _e(69, "缩微号", "microformIdentifier", R, "storage_location.microform_identifier", OPT, False, False, T.STRING,
       100),
    _e(70, "权限管理", "rightsManagement", R, "rights_management", REQ, True, False, T.CONTAINER),
    _e(71, "知识产权说明", "intellectualPropertyStatement", R, "rights_management.intellectual_property_statement", OPT,
       False, False, T.STRING, 1000, multiline=True),
    _e(72, "授权对象", "authorizedAgent", R, "rights_management.authorizations[].authorized_agent", CON, True, False,
       T.STRING, 200, note="每个授权必选"),
    _e(73, "授权行为", "permissionAssignment", R, "rights_management.authorizations[].permission_assignment", CON,
       True, False, T.STRING, 20, domain="permission_assignment", note="每个授权必选"),
    _e(74, "控制标识", "controlIdentifier", R, "rights_management.control_identifier", OPT, False, False, T.STRING, 20,
       domain="control_identifier"),
    _e(75, "附注", "annotation", R, "annotations[]", OPT, False, True, T.STRING, 2000, multiline=True),
    _e(76, "机构人员类型", "agentType", P, "agents[].agent_type", OPT, False, False, T.STRING, 10, domain="agent_type"),
    _e(77, "机构人员名称", "agentName", P, "agents[].agent_name", REQ, True, False, T.STRING, 200),
    _e(78, "组织机构代码", "organizationCode", P, "agents[].organization_code", OPT, False, False, T.STRING, 50),
    _e(79, "个人职位", "positionName", P, "agents[].position_name", OPT, False, False, T.STRING, 100),
    _e(80, "业务状态", "businessStatus", P, "business_entities[].business_status", REQ, True, False, T.STRING, 10,
       domain="business_status"),
    _e(81, "业务行为", "businessActivity", P, "business_entities[].business_activity", REQ, True, False, T.STRING, 100),
    _e(82, "行为时间", "actionTime", P, "business_entities[].action_time", REQ, True, False, T.DATETIME, 40),
    _e(83, "行为依据", "actionMandate", P, "business_entities[].action_mandate", OPT, False, False, T.STRING, 500),
    _e(84, "行为描述", "actionDescription", P, "business_entities[].action_description", OPT, False, False, T.STRING,
       2000, multiline=True),
    _e(85, "实体标识符", "entityIdentifier", R, "relations[].entity_identifier", REQ, True, False, T.STRING, 100,
       note="文件实体关系中为 文件标识符，机构人员实体关系中为 机构人员标识符"),
    _e(86, "关系类型", "relationType", R, "relations[].relation_type", OPT, False, False, T.STRING, 50),
    _e(87, "关系", "relation", R, "relations[].relation", OPT, False, False, T.STRING, 100),
    _e(88, "关系描述", "relationDescription", R, "relations[].relation_description", OPT, False, False, T.STRING, 2000,
       multiline=True),
)


def _agent_relation_specs() -> tuple[ElementSpec, ...]:
    """M85–M88 again, as they appear in 机构人员实体关系 (same elements, different block)."""
    rows = [e for e in ELEMENTS if e.number in (85, 86, 87, 88)]
    return tuple(replace(e, root=P, path=e.path.replace("relations[]", "agent_relations[]"))  # type: ignore[union-attr]
                 for e in rows)


# DA/T 48 elements without an M number: identifiers, the 文件数据 structure, the encoding wrapper.
EEP_ELEMENTS: tuple[ElementSpec, ...] = (
    _e(None, "档号", "archivalCodeText", R, "archival_code.text", OPT, False, False, T.STRING, 100,
       note="档号元素的文本内容"),
    _e(None, "主题词表名称", "descriptorThesaurusName", R, "content_description.descriptors[].thesaurus_name", OPT,
       False, False, T.STRING, 100),
    _e(None, "授权", "authorization", R, "rights_management.authorizations[]", OPT, False, True, T.CONTAINER),
    _e(None, "文档", "document", R, "documents[]", REQ, True, True, T.CONTAINER),
    _e(None, "文档标识符", "documentIdentifier", R, "documents[].document_identifier", REQ, False, False, T.ID, 100,
       note="DA/T 48 必选；Lantai 收集时不强制，封装时由 EEP 生成器补齐"),
    _e(None, "文档主从声明", "documentRole", R, "documents[].document_role", OPT, False, False, T.STRING, 10,
       domain="document_role"),
    _e(None, "题名", "documentTitle", R, "documents[].title", OPT, False, False, T.STRING, 1000),
    _e(None, "文档数据", "documentData", R, "documents[].document_data[]", REQ, True, True, T.CONTAINER),
    _e(None, "文档数据ID", "documentDataId", R, "documents[].document_data[].document_data_id", REQ, False, False,
       T.ID, 100),
    _e(None, "编码", "encoding", R, _ENC, REQ, True, True, T.CONTAINER),
    _e(None, "编码ID", "encodingId", R, f"{_ENC}.encoding_id", REQ, False, False, T.ID, 100),
    _e(None, "编码描述", "encodingDescription", R, f"{_ENC}.encoding_description", OPT, False, False, T.STRING, 2000,
       multiline=True),
    _e(None, "反编码关键字", "decodingKey", R, f"{_ENC}.decoding_key", OPT, False, False, T.STRING, 20),
    _e(None, "编码数据ID", "encodedDataId", R, f"{_ENC}.encoded_data_id", CON, False, False, T.ID, 100,
       note="有编码数据时必选"),
    _e(None, "引用编码数据ID", "referencedEncodedDataId", R, f"{_ENC}.referenced_encoded_data_id", OPT, False, False,
       T.IDREF, 100),
    _e(None, "被关联文件标识符", "relatedEntityIdentifier", R, "relations[].related_entity_identifier", REQ, True,
       False, T.STRING, 100),
    _e(None, "签名标识符", "signatureIdentifier", S, "signature_identifier", REQ, True, False, T.ID, 100),
    _e(None, "证书块", "certificateBlock", S, "certificate_blocks[]", REQ, True, True, T.CONTAINER),
    _e(None, "业务实体", "businessEntity", P, "business_entities[]", REQ, True, True, T.CONTAINER),
    _e(None, "业务标识符", "businessIdentifier", P, "business_entities[].business_identifier", REQ, True, False,
       T.STRING, 100),
    _e(None, "机构人员标识符", "agentIdentifier", P, "business_entities[].agent_identifier", REQ, True, False,
       T.STRING, 100),
    _e(None, "文件标识符", "recordIdentifier", P, "business_entities[].record_identifier", REQ, True, False, T.STRING,
       100),
    _e(None, "机构人员实体", "agent", P, "agents[]", REQ, True, True, T.CONTAINER),
    _e(None, "机构人员标识符", "agentIdentifier", P, "agents[].agent_identifier", REQ, True, False, T.STRING, 100),
    _e(None, "被关联机构人员标识符", "relatedAgentIdentifier", P, "agent_relations[].related_entity_identifier", REQ,
       True, False, T.STRING, 100),
    *_agent_relation_specs(),
)

ELEMENTS_BY_NUMBER: dict[int, ElementSpec] = {e.number: e for e in ELEMENTS if e.number is not None}
SPECS_BY_PATH: dict[tuple[Root, str], ElementSpec] = {
    (e.root, e.path): e for e in (*ELEMENTS, *EEP_ELEMENTS) if e.path is not None
}
