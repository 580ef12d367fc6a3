"""DA/T 46-2009 metadata for 文书类 records: model, element registry, validation and DA/T 48 XML.

Pure domain code: no I/O beyond parsing the bytes handed in.

Public API::

    RecordEntity (+ Provenance, ArchivalCode, ContentDescription, Descriptor, FormalCharacteristics,
                  StorageLocation, RightsManagement, Authorization, Document, DocumentData, Encoding,
                  ElectronicAttributes, DigitizationAttributes, RecordRelation)
    ProcessRecord (+ BusinessEntity, AgentEntity, AgentRelation)
    ElectronicSignature (+ CertificateBlock)
    ELEMENTS / EEP_ELEMENTS / ELEMENTS_BY_NUMBER / SPECS_BY_PATH, DOMAINS, MESSAGES
    parse_record_xml, record_to_xml, record_to_element, record_block_to_element, record_from_element
    parse_process_xml, process_to_xml, process_to_element, process_from_element
    signature_to_element, signature_from_element
    validate_record, validate_process, validate_signature
    minimal_record, main_document, NAMESPACE
"""

from lantai.domain.metadata.domains import DOMAINS, DomainValue, ValueDomain
from lantai.domain.metadata.factory import DEFAULT_ENCODING_DESCRIPTION, main_document, minimal_record
from lantai.domain.metadata.messages import MESSAGES
from lantai.domain.metadata.process import AgentEntity, AgentRelation, BusinessEntity, ProcessRecord
from lantai.domain.metadata.record import (
    ArchivalCode,
    Authorization,
    ContentDescription,
    Descriptor,
    DigitizationAttributes,
    Document,
    DocumentData,
    ElectronicAttributes,
    Encoding,
    EntityRelation,
    FormalCharacteristics,
    Provenance,
    RecordEntity,
    RecordRelation,
    RightsManagement,
    StorageLocation,
)
from lantai.domain.metadata.registry import (
    EEP_ELEMENTS,
    ELEMENTS,
    ELEMENTS_BY_NUMBER,
    SPECS_BY_PATH,
    DataType,
    ElementSpec,
    Obligation,
    Root,
)
from lantai.domain.metadata.signature import CertificateBlock, ElectronicSignature
from lantai.domain.metadata.validation import validate_process, validate_record, validate_signature
from lantai.domain.metadata.xml_io import (
    declared_files,
    differing_elements,
    parse_process_xml,
    parse_record_xml,
    process_from_element,
    process_to_element,
    process_to_xml,
    record_block_to_element,
    record_from_element,
    record_to_element,
    record_to_xml,
    signature_from_element,
    signature_to_element,
)
from lantai.domain.metadata.xmlsafe import NAMESPACE

__all__ = [
    "DEFAULT_ENCODING_DESCRIPTION",
    "DOMAINS",
    "EEP_ELEMENTS",
    "ELEMENTS",
    "ELEMENTS_BY_NUMBER",
    "MESSAGES",
    "NAMESPACE",
    "SPECS_BY_PATH",
    "AgentEntity",
    "AgentRelation",
    "ArchivalCode",
    "Authorization",
    "BusinessEntity",
    "CertificateBlock",
    "ContentDescription",
    "DataType",
    "Descriptor",
    "DigitizationAttributes",
    "Document",
    "DocumentData",
    "DomainValue",
    "ElectronicAttributes",
    "ElectronicSignature",
    "ElementSpec",
    "Encoding",
    "EntityRelation",
    "FormalCharacteristics",
    "Obligation",
    "ProcessRecord",
    "Provenance",
    "RecordEntity",
    "RecordRelation",
    "RightsManagement",
    "Root",
    "StorageLocation",
    "ValueDomain",
    "declared_files",
    "differing_elements",
    "main_document",
    "minimal_record",
    "parse_process_xml",
    "parse_record_xml",
    "process_from_element",
    "process_to_element",
    "process_to_xml",
    "record_block_to_element",
    "record_from_element",
    "record_to_element",
    "record_to_xml",
    "signature_from_element",
    "signature_to_element",
    "validate_process",
    "validate_record",
    "validate_signature",
]
