"""Checks that span items: duplicates (1-2), totals against the register (2-1), 件号 continuity
(2-2) and the audit chain (4-3). They run in the parent after every item has been checked, over
the identifiers each item reported, plus the catalogue when an archive is connected."""

from __future__ import annotations

import itertools
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from lantai.checks.model import ItemReport, Outcome, found, not_applicable, passed
from lantai.checks.registry import check

UNIQUE_KEYS = {"电子文件号": "record_id", "档号": "archival_code", "文件编号": "document_number"}


@dataclass
class RunContext:
    """What run-level checks may consult: batches, the catalogue session factory, the audit report."""

    stage: str
    batches: dict[str, Any] = field(default_factory=dict)
    archive: Any | None = None
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
        if run.archive is None:
            outcomes.append(not_applicable("1-2j"))
    return result


def _against_archive(items: list[ItemReport], run: RunContext, element: str, key: str,
                     seen: dict[str, list[int]], result: Outcomes) -> None:
    if run.archive is None or not seen:
        return
    from sqlalchemy import select

    from lantai.catalog.models import Item

    column = getattr(Item, key)
    values = list(seen)
    with run.archive.sessions() as session:
        rows = []
        for start in range(0, len(values), 500):
            rows += session.execute(select(Item.record_id, column).where(column.in_(values[start:start + 500]))).all()
    for record_id, value in rows:
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
        return [found("2-1d", reason=getattr(info, "register_error", None) or "缺少归档登记表")]
    actual_items = len(info.items)
    actual_bytes = sum(int(item.keys.get("content_bytes", 0)) for item in items)
    outcomes = []
    if info.register.items != actual_items:
        outcomes.append(found("2-1a", declared=info.register.items, actual=actual_items))
    if info.register.bytes != actual_bytes:
        outcomes.append(found("2-1b", declared=info.register.bytes, actual=actual_bytes))
    return outcomes or [passed(items=actual_items, bytes=actual_bytes)]


def _archived_totals(batch_id: str, run: RunContext) -> list[Outcome]:
    if run.archive is None:
        return [not_applicable("2-1c")]
    from sqlalchemy import func, select

    from lantai.catalog.models import Batch, Item

    with run.archive.sessions() as session:
        batch = session.get(Batch, batch_id)
        count, total = session.execute(select(func.count(Item.id), func.coalesce(func.sum(Item.total_bytes), 0))
                                       .where(Item.batch_id == batch_id)).one()
    if batch is None or batch.declared_items is None:
        return [not_applicable("2-1c")]
    outcomes = []
    if batch.declared_items != count:
        outcomes.append(found("2-1a", declared=batch.declared_items, actual=int(count)))
    if batch.declared_bytes is not None and batch.declared_bytes != int(total):
        outcomes.append(found("2-1b", declared=batch.declared_bytes, actual=int(total)))
    return outcomes or [passed(items=int(count), bytes=int(total))]


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
