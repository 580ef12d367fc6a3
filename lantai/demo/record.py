"""DA/T 46 metadata (元数据.xml) and handling record (过程信息.xml) for one generated item.

Documents of the item, in DA/T 48 terms: the 主文档 is the 正本 with two 编码 (OFD and PDF/A of
the same text); 附属文档 are the 定稿 (DOCX), each 附件 and the 公文处理单. Every 编码 names its
file relative to the item root and gives its exact size, format and creating program.
"""

from __future__ import annotations

from functools import lru_cache
from importlib.metadata import PackageNotFoundError, version
from pathlib import PurePosixPath

from lantai.demo import district as d
from lantai.demo.docx import APPLICATION as DOCX_APPLICATION
from lantai.demo.plan import DocumentPlan
from lantai.domain import metadata as md

MAIN_PDF, MAIN_OFD, DRAFT, FORM = "正本.pdf", "正本.ofd", "定稿.docx", "公文处理单.pdf"
RETENTION = {"永久": "永久", "30年": "定期30年", "10年": "定期10年"}
FORMATS = {
    ".pdf": "格式名称:PDF/A-2b, 格式版本:1.7, MIME媒体类型:application/pdf",
    ".ofd": "格式名称:OFD, 格式版本:GB/T 33190-2016, MIME媒体类型:application/ofd",
    ".docx": "格式名称:DOCX, 格式版本:ECMA-376, MIME媒体类型:application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "格式名称:XLSX, 格式版本:ECMA-376, MIME媒体类型:application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".jpeg": "格式名称:JPEG, 格式版本:1.01, MIME媒体类型:image/jpeg",
}
SYSTEM = "青禾区协同办公系统（兰台演示数据生成器）"


@lru_cache(maxsize=16)
def _version(package: str) -> str:
    try:
        return version(package)
    except PackageNotFoundError:  # pragma: no cover
        return "?"


def creating_application(path: str) -> str:
    suffix = PurePosixPath(path).suffix
    return {
        ".pdf": f"reportlab {_version('reportlab')}; pikepdf {_version('pikepdf')}",
        ".ofd": "Lantai OFD writer 1.0",
        ".docx": DOCX_APPLICATION,
        ".xlsx": f"openpyxl {_version('openpyxl')}",
        ".jpeg": f"Pillow {_version('pillow')}",
    }.get(suffix, "未知")


def _encoding(path: str, size: int, encoding_id: str) -> md.Encoding:
    suffix = PurePosixPath(path).suffix
    attributes = md.ElectronicAttributes(
        format_information=FORMATS.get(suffix, f"格式名称:{suffix.lstrip('.').upper()}"), computer_file_name=path,
        computer_file_size=str(size), document_creating_application=creating_application(path))
    return md.Encoding(encoding_id=encoding_id, electronic_attributes=attributes,
                       encoding_description=md.DEFAULT_ENCODING_DESCRIPTION, decoding_key=suffix.lstrip(".") or None)


def _document(number: int, role: str, title: str, paths: list[str], sizes: dict[str, int]) -> md.Document:
    prefix = f"修改0-文档{number}"
    encodings = [_encoding(p, sizes[p], f"{prefix}-编码{i}") for i, p in enumerate(paths, start=1)]
    return md.Document(document_identifier=prefix, document_sequence_number=str(number), document_role=role,
                       title=title, document_data=[md.DocumentData(document_data_id=f"{prefix}-数据1",
                                                                   encodings=encodings)])


def documents(plan: DocumentPlan, sizes: dict[str, int]) -> list[md.Document]:
    """主文档 (正本 OFD + PDF), then 定稿, 附件 and 公文处理单 as 附属文档, for the files present."""
    docs = [_document(1, "主文档", plan.title, [MAIN_OFD, MAIN_PDF], sizes)]
    extras = [("定稿", DRAFT)] + [(f"附件{a.number}：{a.title}", a.path) for a in plan.attachments] + [("公文处理单", FORM)]
    extras += [(name, path) for path, name in _unplanned(plan, sizes)]
    for number, (title, path) in enumerate(extras, start=2):
        docs.append(_document(number, "附属文档", title, [path], sizes))
    return docs


def _unplanned(plan: DocumentPlan, sizes: dict[str, int]) -> list[tuple[str, str]]:
    known = {MAIN_PDF, MAIN_OFD, DRAFT, FORM, *(a.path for a in plan.attachments)}
    return [(path, PurePosixPath(path).stem) for path in sizes if path not in known]


def build_record(plan: DocumentPlan, sizes: dict[str, int], pages: int) -> md.RecordEntity:
    record = md.minimal_record(
        plan.record_code, plan.title, [], date=plan.issued.isoformat(), fonds_constituting_unit_name=d.FONDS_UNIT,
        retention_period=RETENTION[plan.retention], security_classification=plan.security,
    )
    record.provenance.archives_name = d.ARCHIVES
    record.provenance.fonds_name = d.FONDS_UNIT
    record.archival_code.fonds_identifier = d.FONDS_CODE
    record.archival_code.organizational_structure_or_function = plan.organ.code
    cd = record.content_description
    cd.document_number, cd.author, cd.document_type = plan.document_number, plan.organ.name, plan.doc_type
    cd.precedence, cd.keyword = plan.urgency, plan.subject
    cd.principal_receiver = plan.principal or None
    cd.other_receivers = "，".join(plan.cc) or None
    cd.secrecy_period = plan.secrecy_period or None
    fc = record.formal_characteristics
    fc.total_number_of_pages, fc.language, fc.manuscript_type = str(pages), "汉语", "正本"
    fc.document_aggregation_type = "组合文件" if len(sizes) > 1 else "单件"
    record.storage_location.offline_medium_identifiers = [f"QH-{plan.year}-在线"]
    record.rights_management.control_identifier = "开放" if plan.security == "公开" else "控制"
    record.information_system_descriptions = [SYSTEM]
    record.documents = documents(plan, sizes)
    return record


def build_process(plan: DocumentPlan, skip: set[str] = frozenset()) -> md.ProcessRecord:  # type: ignore[assignment]
    """业务实体 per handling step (拟稿 → 办结) and 机构人员实体 for the organ and each person."""
    people: dict[str, md.AgentEntity] = {}
    business = []
    for number, event in enumerate((e for e in plan.events if e.action not in skip), start=1):
        agent_id = f"P-{plan.organ.code}-{event.person.name}"
        people.setdefault(agent_id, md.AgentEntity(agent_identifier=agent_id, agent_type="个人",
                                                   agent_name=event.person.name,
                                                   position_name=event.person.position))
        business.append(md.BusinessEntity(
            business_identifier=f"{plan.record_code}-B{number}", agent_identifier=agent_id,
            record_identifier=plan.record_code, business_status="历史行为", business_activity=event.action,
            action_time=event.at.isoformat(), action_mandate="党政机关公文处理工作条例",
            action_description=event.description))
    unit = md.AgentEntity(agent_identifier=f"U-{plan.organ.code}", agent_type="单位", agent_name=plan.organ.name)
    return md.ProcessRecord(business_entities=business, agents=[unit, *people.values()])
