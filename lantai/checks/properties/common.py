"""Helpers the property modules share: guards for subjects a check cannot look at, and the
cached DA/T 46 validation of an item's metadata (run once, read by 1-2, 2-2 and 3-1)."""

from __future__ import annotations

from typing import Any

from lantai.checks.model import Outcome, not_applicable
from lantai.checks.subject import Subject
from lantai.domain.findings import Finding, Rule
from lantai.errors import LantaiError
from lantai.packages.sip import check_relative_path

# DA/T 46 validation rule → the DA/T 70 rule that reports it.
RULE_LETTERS = {
    Rule.LENGTH: "1-2a", Rule.TYPE: "1-2b", Rule.FORMAT: "1-2b", Rule.VALUE_DOMAIN: "1-2c",
    Rule.REASONABLENESS: "1-2d", Rule.SPECIAL_CHARACTERS: "1-2e", Rule.DUPLICATE: "1-2i",
    Rule.REQUIRED: "2-2a", Rule.STRUCTURE: "3-1b",
}


def metadata_guard(subject: Subject) -> list[Outcome] | None:
    """Outcomes for a subject whose metadata cannot be checked, or None when it can."""
    if not subject.has_metadata:
        return [not_applicable("nometa")]
    if subject.record is None:
        return [not_applicable("badmeta")]
    return None


def validation_findings(subject: Subject) -> list[Finding]:
    if "validation" not in subject.extra:
        from lantai.domain import metadata as md

        if subject.record is None:
            findings = []
        elif "record_validation" in subject.extra:  # the loader's, from ingest: one walk of the record
            findings = list(subject.extra["record_validation"])
        else:
            findings = list(md.validate_record(subject.record))
        if subject.process is not None:
            findings += md.validate_process(subject.process, record_code=subject.record.electronic_record_code
                                            if subject.record is not None else None)
        subject.extra["validation"] = findings
    return subject.extra["validation"]


def _letter(finding: Finding) -> str:
    try:
        return RULE_LETTERS.get(Rule(finding.rule), "")
    except ValueError:
        return ""


def finding_outcomes(subject: Subject, letters: set[str]) -> list[Outcome]:
    """Metadata findings mapped to DA/T 70 rules; warnings stay warnings."""
    outcomes = []
    for finding in validation_findings(subject):
        letter = _letter(finding)
        if letter not in letters:
            continue
        status = "warn" if not finding.is_error else None
        outcomes.append(Outcome(letter, {"element": finding.element, "detail": finding.message,
                                         "detail_en": finding.message_en},
                                status, None, {"finding": finding.code, "params": _plain(finding.params)}))
    return outcomes


def _plain(params: dict[str, Any]) -> dict[str, Any]:
    return {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v) for k, v in params.items()}


def encodings(subject: Subject) -> list[tuple[Any, Any, Any, str]]:
    """(document, data, encoding, normalised file name) for every 编码 with a usable name."""

    result = []
    for document, data, encoding in subject.record.iter_encodings():
        raw = (encoding.computer_file_name or "").strip()
        try:
            name = check_relative_path("元数据.xml", raw) if raw else ""
        except LantaiError:
            continue
        if name:
            result.append((document, data, encoding, name))
    return result
