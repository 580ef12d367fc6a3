"""Checks that span items: duplicates (1-2), totals against the register (2-1), 件号 continuity
(2-2) and the audit chain (4-3). They run in the parent after every item has been checked, over
the identifiers each item reported, plus the catalogue when an archive is connected."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lantai.checks.archive_facts import ArchiveFacts
from lantai.checks.model import ItemReport, Outcome, found, not_applicable, passed
from lantai.checks.registry import check

UNIQUE_KEYS = {"电子文件号": "record_id", "档号": "archival_code", "文件编号": "document_number"}


@dataclass
class RunContext:
    """What run-level checks may consult: batches, the caller's archive facts, the audit report."""

    stage: str
    batches: dict[str, Any] = field(default_factory=dict)
    facts: ArchiveFacts | None = None
    unique_elements: tuple[str, ...] = ("电子文件号", "档号", "文件编号")
    audit: Any | None = None  # ChainReport, computed once
    audit_targets: set[str] = field(default_factory=set)


Outcomes = dict[int, list[Outcome]]


def _with_metadata(items: list[ItemReport]) -> list[tuple[int, ItemReport]]:
    return [(i, item) for i, item in enumerate(items) if item.keys.get("has_metadata")]


@check("metadata_unique")
def metadata_unique(items: list[ItemReport], run: RunContext) -> Outcomes:
    result: Outcomes = {i: [] for i, _ in _with_metadata(items)}
    for element in run.unique_elements:
        key = UNIQUE_KEYS.get(element)
        if key is None:
            continue
        seen: dict[str, list[int]] = defaultdict(list)
        for i, item in _with_metadata(items):
            value = str(item.keys.get(key) or "").strip()
            if value:
                seen[value].append(i)
        for value, indexes in seen.items():
            for i in indexes if len(indexes) > 1 else []:
                others = "、".join(items[j].path.rsplit("/", 1)[-1] for j in indexes if j != i)
                result[i].append(found("1-2g", element=element, value=value, others=others))
        _against_archive(items, run, element, key, seen, result)
    for outcomes in result.values():
        if not outcomes:
            outcomes.append(passed())
        if run.facts is None:
            outcomes.append(not_applicable("1-2j"))
    return result


def _against_archive(items: list[ItemReport], run: RunContext, element: str, key: str,
                     seen: dict[str, list[int]], result: Outcomes) -> None:
    if run.facts is None or not seen:
        return
    for record_id, value in run.facts.records_with(key, list(seen)):
        for i in seen.get(value, []):
            if items[i].keys.get("archived") and items[i].id == record_id:
                continue
            result[i].append(found("1-2h", element=element, value=value, record=record_id))


@check("totals_match_register")
def totals_match_register(items: list[ItemReport], run: RunContext) -> Outcomes:
    result: Outcomes = {}
    by_batch: dict[str, list[int]] = defaultdict(list)
    for i, item in enumerate(items):
        if item.keys.get("batch"):
            by_batch[item.keys["batch"]].append(i)
        elif item.keys.get("archived_batch"):
            result[i] = _archived_totals(item.keys["archived_batch"], run)
        else:
            result[i] = [not_applicable("2-1c")]
    for batch, indexes in by_batch.items():
        outcomes = _batch_totals(run.batches.get(batch), [items[i] for i in indexes])
        for i in indexes:
            result[i] = list(outcomes)
    return result


def _batch_totals(info: Any, items: list[ItemReport]) -> list[Outcome]:
    if info is None or info.register is None:
        return [found("2-1d", reason=getattr(info, "register_error", None) or "缺少归档登记表",
                      reason_en="the batch register (归档登记表) is missing or unreadable")]
    actual_items = len(info.items)
    actual_bytes = sum(int(item.keys.get("content_bytes", 0)) for item in items)
    outcomes = []
    if info.register.items != actual_items:
        outcomes.append(found("2-1a", declared=info.register.items, actual=actual_items))
    if info.register.bytes != actual_bytes:
        outcomes.append(found("2-1b", declared=info.register.bytes, actual=actual_bytes))
    return outcomes or [passed(items=actual_items, bytes=actual_bytes)]


def _archived_totals(batch_id: str, run: RunContext) -> list[Outcome]:
    totals = run.facts.batch_totals(batch_id) if run.facts is not None else None
    if totals is None or totals.declared_items is None:
        return [not_applicable("2-1c")]
    outcomes = []
    if totals.declared_items != totals.items:
        outcomes.append(found("2-1a", declared=totals.declared_items, actual=totals.items))
    if totals.declared_bytes is not None and totals.declared_bytes != totals.bytes:
        outcomes.append(found("2-1b", declared=totals.declared_bytes, actual=totals.bytes))
    return outcomes or [passed(items=totals.items, bytes=totals.bytes)]


@check("numbering_continuous")
def numbering_continuous(items: list[ItemReport], run: RunContext) -> Outcomes:
    result: Outcomes = {i: [] for i, _ in _with_metadata(items)}
    classes: dict[tuple[Any, ...], list[tuple[int, int]]] = defaultdict(list)
    for i, item in _with_metadata(items):
        number = item.keys.get("item_number")
        if isinstance(number, int):
            classes[item.keys.get("class", ())].append((number, i))
    for numbers in classes.values():
        numbers.sort()
        for (prev, _pi), (number, i) in itertools.pairwise(numbers):
            if number == prev:
                result[i].append(found("2-2b", detail=f"件号 {number} 重复"))
            elif number != prev + 1:
                result[i].append(found("2-2b", detail=f"件号 {prev} 之后为 {number}，缺 {prev + 1}–{number - 1}"))
    for i, outcomes in result.items():
        if not outcomes:
            has_number = isinstance(items[i].keys.get("item_number"), int)
            outcomes.append(passed() if has_number else not_applicable("2-2h"))
    return result


@check("process_secure")
def process_secure(items: list[ItemReport], run: RunContext) -> Outcomes:
    if run.audit is None:
        return {i: [not_applicable("4-3b")] for i in range(len(items))}
    if not run.audit.ok:
        first = run.audit.problems[0] if run.audit.problems else {"message": ""}
        outcome = found("4-3a", seq=run.audit.first_bad_seq, detail=first.get("message", ""))
        return {i: [outcome] for i in range(len(items))}
    result: Outcomes = {}
    for i, item in enumerate(items):
        if item.keys.get("archived") and item.id not in run.audit_targets:
            result[i] = [found("4-3c", record=item.id)]
        else:
            result[i] = [passed(entries=run.audit.entries)]
    return result


@check("backups_restorable")
def backups_restorable(items: list[ItemReport], run: RunContext) -> Outcomes:
    """bc 3-4 in an ordinary run: what the newest sample restore of a backup found (``lantai backup verify``).

    Restoring a backup is too heavy to repeat per check run; the verification is its own recorded
    run (:func:`lantai.checks.backups.restorability_results`) and every later bc run reports it.
    """
    latest = run.facts.backup_verification() if run.facts is not None else None
    if latest is None:
        outcome = not_applicable("3-4i")
    elif latest.ok:
        outcome = passed(time=latest.time, source=latest.source, sampled=latest.sampled)
    else:
        outcome = found("3-4h", time=latest.time, source=latest.source, failed=latest.failed)
    return {i: [outcome] for i in range(len(items))}
