"""Building valid records in one call, for ingest tests, the demo generator and the API.

``minimal_record`` fills every element the validator requires with a plausible value; any
attribute of the record or of one of its fixed containers (来源, 档号, 内容描述, 形式特征,
存储位置, 权限管理) can be overridden by its English name.
"""

from __future__ import annotations

from dataclasses import fields
from pathlib import PurePosixPath
from typing import Any

from lantai.domain.metadata.record import (
    Document,
    DocumentData,
    ElectronicAttributes,
    Encoding,
    RecordEntity,
)

# The DA/T 48 default text of 编码描述 (wording as used by public EEP generators).
DEFAULT_ENCODING_DESCRIPTION = (
    "本封装包中“编码数据”元素存储的是计算机文件二进制流的Base64编码，有关Base64编码规则参见IETF RFC 2045"
    "多用途邮件扩展（MIME）第一部分：互联网信息体格式。当提取和显现封装在编码数据元素中的计算机文件时，"
    "应对Base64编码进行反编码，并依据封装包中“反编码关键字”元素中记录的值还原计算机文件的扩展名"
)
_CONTAINERS = ("provenance", "archival_code", "content_description", "formal_characteristics", "storage_location",
               "rights_management")


def main_document(files: list[tuple[str, int]], number: int = 1) -> Document:
    """A 主文档 with one 文档数据 whose 编码 are the given (relative path, size) files."""
    prefix = f"修改0-文档{number}"
    encodings = [_encoding(path, size, f"{prefix}-编码{i}") for i, (path, size) in enumerate(files, start=1)]
    return Document(document_identifier=prefix, document_sequence_number=str(number), document_role="主文档",
                    document_data=[DocumentData(document_data_id=f"{prefix}-数据1", encodings=encodings)])


def _encoding(path: str, size: int, encoding_id: str) -> Encoding:
    suffix = PurePosixPath(path).suffix.lstrip(".")
    attributes = ElectronicAttributes(format_information=f"格式名称:{suffix.upper()}" if suffix else None,
                                      computer_file_name=path, computer_file_size=str(size))
    return Encoding(encoding_id=encoding_id, electronic_attributes=attributes,
                    encoding_description=DEFAULT_ENCODING_DESCRIPTION, decoding_key=suffix or None)


def minimal_record(record_code: str, title: str, files: list[tuple[str, int]], **overrides: Any) -> RecordEntity:
    """A record that passes :func:`validate_record`, with one main document holding ``files``.

    ``overrides`` name attributes of the record (``annotations=[...]``) or of its containers
    (``year="2024"``, ``retention_period="D30"``, ``security_classification="内部"``). When
    ``date`` is given and ``year`` is not, the year follows the date.
    """
    date = overrides.get("date", "2025-01-02")
    unit = overrides.get("fonds_constituting_unit_name", "示例立档单位")
    record = RecordEntity(electronic_record_code=record_code, documents=[main_document(files)])
    record.provenance.fonds_constituting_unit_name = unit
    record.archival_code.year = overrides.get("year", date[:4])
    record.archival_code.retention_period = "永久"
    description = record.content_description
    description.title, description.author, description.date = title, unit, date
    description.security_classification = "公开"
    record.storage_location.offline_medium_identifiers = ["待分配"]
    for name, value in overrides.items():
        _override(record, name, value)
    return record


def _override(record: RecordEntity, name: str, value: Any) -> None:
    targets = [record] if name in {f.name for f in fields(record)} else [
        getattr(record, c) for c in _CONTAINERS if name in {f.name for f in fields(getattr(record, c))}]
    if len(targets) != 1:
        raise TypeError(f"minimal_record: unknown or ambiguous override {name!r}")
    setattr(targets[0], name, value)
