"""Validating DA/T 46 metadata: registry-driven element checks plus cross-element rules.

Validation never raises for bad metadata; it returns findings (rule, Chinese element path,
Chinese and English message, parameters). What each element must satisfy — obligation, type,
length, value domain — comes from :mod:`.registry`; only rules that relate several elements
(年度 vs 日期, unique IDs, references to agents) are written here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from lantai.domain.clock import beijing_now
from lantai.domain.findings import Finding
from lantai.domain.metadata import checks
from lantai.domain.metadata.messages import NOTE_CODES, make_finding
from lantai.domain.metadata.process import ProcessRecord
from lantai.domain.metadata.record import RecordEntity
from lantai.domain.metadata.registry import SPECS_BY_PATH, DataType, ElementSpec, Root
from lantai.domain.metadata.signature import ElectronicSignature
from lantai.domain.metadata.walk import Node, walk

_VALUE_CHECKS = (checks.special_characters, checks.length, checks.data_type, checks.value_domain)


def validate_record(entity: RecordEntity, *, today: dt.date | None = None) -> list[Finding]:
    """Every finding about one 文件实体 (and its 文件实体关系); ``today`` bounds dates (default: today
    in Beijing, the zone 公文 are dated in — the host's UTC date rejected a 公文 dated after midnight)."""
    today = today or beijing_now().date()
    nodes = list(walk(entity))  # walked once for both the per-element and the ID rules
    findings = _element_findings(Root.RECORD, nodes)
    findings += _reasonableness(entity, today)
    findings += _unique_ids(nodes)
    findings += _encoded_data_ids(entity)
    if entity.aggregation_level and entity.aggregation_level.strip() in ("案卷", "盒"):
        findings.append(make_finding("not_item_level", "聚合层次", value=entity.aggregation_level))
    return findings + _note_findings(entity.parse_notes)


def validate_process(process: ProcessRecord, *, record_code: str | None = None) -> list[Finding]:
    """Findings about 过程信息: types, required fields, and references to 机构人员实体.

    The order of 行为时间 is deliberately not checked here (DA/T 70 does that, with context).
    """
    findings = _element_findings(Root.PROCESS, walk(process))
    declared = _declared_agents(process, findings)
    for i, business in enumerate(process.business_entities, start=1):
        where = f"业务实体块/业务实体[{i}]"
        _reference(business.agent_identifier, declared, f"{where}/机构人员标识符", findings)
        if record_code and business.record_identifier and business.record_identifier.strip() != record_code.strip():
            findings.append(make_finding("record_identifier_mismatch", f"{where}/文件标识符",
                                         value=business.record_identifier, record_code=record_code))
    for i, relation in enumerate(process.agent_relations, start=1):
        where = f"机构人员实体块/机构人员实体关系[{i}]"
        _reference(relation.entity_identifier, declared, f"{where}/机构人员标识符", findings)
        _reference(relation.related_entity_identifier, declared, f"{where}/被关联机构人员标识符", findings)
    return findings + _note_findings(process.parse_notes)


def validate_signature(signature: ElectronicSignature) -> list[Finding]:
    """Findings about one 电子签名 (M57–M64) — its form, not whether it verifies."""
    return _element_findings(Root.SIGNATURE, walk(signature)) + _note_findings(signature.parse_notes)


# --- per element ---------------------------------------------------------------------------------
def _element_findings(root: Root, nodes: Iterable[Node]) -> list[Finding]:
    findings: list[Finding] = []
    for node in nodes:
        spec = SPECS_BY_PATH.get((root, node.path))
        if spec is not None:
            findings += _check_node(node, spec)
    return findings


def _params(spec: ElementSpec, **extra: Any) -> dict[str, Any]:
    return {"name": spec.name_zh, "name_en": spec.name_en, "element_code": spec.code, **extra}


def _check_node(node: Node, spec: ElementSpec) -> list[Finding]:
    if node.is_list:
        missing = spec.required and not node.value
        return [make_finding("required", node.where, **_params(spec))] if missing else []
    if spec.data_type == DataType.CONTAINER:
        return []
    value = node.value
    if value is None or not value.strip():
        return [make_finding("required", node.where, **_params(spec))] if spec.required else []
    problems = checks.special_characters(value, spec) + checks.length(value, spec)
    if spec.file_name:
        problems += checks.file_name(value)
    stripped = value.strip()
    problems += checks.data_type(stripped, spec) + checks.value_domain(stripped, spec)
    return [make_finding(code, node.where, **_params(spec, value=value, **params)) for code, params in problems]


# --- across elements -----------------------------------------------------------------------------
def _reasonableness(entity: RecordEntity, today: dt.date) -> list[Finding]:
    findings: list[Finding] = []
    date_text = (entity.content_description.date or "").strip()
    year_text = (entity.archival_code.year or "").strip()
    date = checks.parse_date(date_text)
    year = int(year_text) if checks.data_type(year_text, SPECS_BY_PATH[(Root.RECORD, "archival_code.year")]) == [] \
        and year_text else None
    if date and date > today:
        findings.append(make_finding("date_in_future", "内容描述/日期", name="日期", name_en="date", value=date_text,
                                     today=today.isoformat()))
    if year and year > today.year:
        findings.append(make_finding("year_in_future", "档号/年度", name="年度", name_en="year", value=year_text,
                                     today=today.year))
    if date and year and date.year != year:
        findings.append(make_finding("year_date_mismatch", "档号/年度", name="年度", name_en="year", value=year_text,
                                     date=date_text))
    return findings


def _unique_ids(nodes: Iterable[Node]) -> list[Finding]:
    """DA/T 48's xs:ID values share one space per document: each may be used once."""
    first: dict[str, str] = {}
    findings = []
    for node in nodes:
        spec = SPECS_BY_PATH.get((Root.RECORD, node.path))
        if spec is None or spec.data_type != DataType.ID or node.is_list or not (node.value or "").strip():
            continue
        value = node.value.strip()
        if value in first:
            findings.append(make_finding("duplicate_id", node.where, **_params(spec, value=value, first=first[value])))
        else:
            first[value] = node.where
    return findings


def _encoded_data_ids(entity: RecordEntity) -> list[Finding]:
    findings = []
    for d, document in enumerate(entity.documents, start=1):
        for v, data in enumerate(document.document_data, start=1):
            for e, encoding in enumerate(data.encodings, start=1):
                if encoding.inline_data_present and not (encoding.encoded_data_id or "").strip():
                    where = f"文件数据/文档[{d}]/文档数据[{v}]/编码[{e}]/编码数据/@编码数据ID"
                    findings.append(make_finding("required", where, name="编码数据ID", name_en="encodedDataId"))
    return findings


def _declared_agents(process: ProcessRecord, findings: list[Finding]) -> set[str]:
    declared: dict[str, str] = {}
    for i, agent in enumerate(process.agents, start=1):
        identifier = (agent.agent_identifier or "").strip()
        where = f"机构人员实体块/机构人员实体[{i}]/机构人员标识符"
        if identifier in declared:
            findings.append(make_finding("duplicate_id", where, name="机构人员标识符", name_en="agentIdentifier",
                                         value=identifier, first=declared[identifier]))
        elif identifier:
            declared[identifier] = where
    return set(declared)


def _reference(value: str | None, declared: set[str], where: str, findings: list[Finding]) -> None:
    if value and value.strip() and value.strip() not in declared:
        findings.append(make_finding("unknown_agent", where, name="机构人员标识符", name_en="agentIdentifier",
                                     value=value.strip()))


def _note_findings(notes: list[tuple[str, str]]) -> list[Finding]:
    return [make_finding(NOTE_CODES[kind], where, path=where) for kind, where in notes]
