"""Integrity (完整性, DA/T 70 2-x): required elements, continuity of 文档序号, handling records,
every referenced file present, nothing extra. Totals and 件号 continuity span items, so they are
run-level checks (:mod:`lantai.checks.properties.run_level`)."""

from __future__ import annotations

from lantai.checks.model import Outcome, found, not_applicable, passed
from lantai.checks.properties.common import finding_outcomes, metadata_guard
from lantai.checks.registry import check
from lantai.checks.subject import Subject


@check("metadata_complete")
def metadata_complete(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    outcomes = finding_outcomes(subject, {"2-2a"})
    extra = subject.profile.section("metadata").get("required_extra", {}).get(subject.stage, [])
    if "档号" in extra and not (subject.record.archival_code.text or "").strip():
        outcomes.append(found("2-2a", element="档号"))
    outcomes += _sequence_numbers(subject)
    return outcomes or [passed()]


def _sequence_numbers(subject: Subject) -> list[Outcome]:
    values = [(d.document_sequence_number or "").strip() for d in subject.record.documents]
    numbers = [int(v) for v in values if v.isdigit()]
    if not numbers:
        return []
    expected = list(range(1, len(values) + 1))
    if sorted(numbers) != expected:
        return [found("2-2c", expected="、".join(map(str, expected)), actual="、".join(v or "空" for v in values))]
    return []


@check("handling_records")
def handling_records(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    settings = subject.profile.section("handling_records")
    retention = (subject.record.archival_code.retention_period or "").strip()
    steps: list[list[str]] = settings.get("activities", [])
    if retention not in settings.get("required_for_retention", []) or not steps:
        return [not_applicable("2-2g", retention=retention or "未著录")]
    required = "、".join("/".join(step) for step in steps)
    if subject.process is None:
        return [found("2-2e", file="过程信息.xml", required=required)]
    done = {(b.business_activity or "").strip(): (b.action_time or "").strip()
            for b in subject.process.business_entities}
    outcomes = [found("2-2d", activity="/".join(step), required=required)
                for step in steps if not any(name in done for name in step)]
    times = [next((done[n] for n in step if n in done), "") for step in steps]
    present = [t for t in times if t]
    if not outcomes and present != sorted(present):
        outcomes.append(found("2-2f", detail=" → ".join(f"{'/'.join(s)} {t}" for s, t in zip(steps, times, strict=True))))
    return outcomes or [passed(activities=required)]


@check("content_complete")
def content_complete(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    outcomes = [found("2-3a", name) for name in sorted(subject.referenced) if name not in subject.files]
    outcomes += [found("2-3b", name) for name in sorted(subject.referenced)
                 if name in subject.files and subject.files[name].size == 0]
    for index, document in enumerate(subject.record.documents, start=1):
        if not any(e.computer_file_name for d in document.document_data for e in d.encodings):
            outcomes.append(found("2-3c", document=document.document_identifier or f"第 {index} 个文档"))
    return outcomes or [passed(count=len(subject.referenced))]


@check("package_complete")
def package_complete(subject: Subject) -> list[Outcome]:
    guard = metadata_guard(subject)
    if guard is not None:
        return guard
    names = [*subject.content_names(), *subject.extra.get("unstaged", [])]  # at ingest: present, never staged
    outcomes = [found("2-4a", name) for name in sorted(set(names)) if name not in subject.referenced]
    if not subject.files:
        outcomes.append(found("2-4b"))
    return outcomes or [passed()]
