"""整理 review for the web: one year at a time, item by item, before and after it is arranged.

What the archivist needs beside the dry-run plan (:mod:`.arrange_plan`): the 保管期限 the agency
submitted next to what the fonds' 保管期限表 proposes, a conflict flagged with the rule that
disagrees, 机构 by name, and a summary of what confirming a selection (or the whole year) would
do. Edits before filing are metadata corrections written through :mod:`.changes` (a new OCFL
version with the reason in the audit entry); after filing they are 更正 records
(:func:`~lantai.services.arrange.correct_arrangement`). Every list here passes the one
visibility predicate: an item above the caller's clearance is neither listed nor counted.
"""

from __future__ import annotations

import shutil
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lxml import etree
from sqlalchemy import func, select

from lantai.catalog.arrangement import Arrangement
from lantai.catalog.models import Item
from lantai.domain.labels import ARRANGEMENT_STATES, retention_basis
from lantai.domain.reference import Fonds, ReferenceDataError
from lantai.domain.retention import (
    RecordFacts,
    ScheduleError,
    normalise_retention,
    retention_label,
    retention_rank,
)
from lantai.errors import BadInput, Conflict, NotFound, StorageError
from lantai.services.access import not_found, visible
from lantai.services.arrange import (
    arrange,
    correct_arrangement,
    export_catalogue,
    export_note,
    file_arrangement,
)
from lantai.services.arrange import catalogue_entries as arrange_catalogue_entries
from lantai.services.arrange_plan import ArrangementPlan, load_scope, same_retention
from lantai.services.arrange_publish import rewrite_archival_code
from lantai.services.arrange_reference import DOMAIN_ERRORS, current_reference, translate
from lantai.services.catalogue import METADATA_PATH
from lantai.services.changes import ItemChange, commit_change
from lantai.services.users import Principal

if TYPE_CHECKING:
    from lantai.services.archive import Archive


def label(code: str) -> str:
    """保管期限 code as people say it (永久, 定期30年); a value that is no code stays as written."""
    try:
        return retention_label(code) if code else ""
    except ScheduleError:
        return code


def _org_name(fonds: Fonds | None, code: str) -> str:
    if fonds is None or not code:
        return code
    found = next((o for o in fonds.organisations if o.answers_to(code)), None)
    return found.name if found else code


def scopes(archive: Archive, principal: Principal) -> dict[str, list[dict[str, Any]]]:
    """Years waiting for arrangement, and years already arranged (draft or filed), visible counts only."""
    reference, _version = current_reference(archive)
    names = {f.code: f.name for f in reference.fonds.values()}
    with archive.sessions() as session:
        waiting = session.execute(select(Item.fonds_code, Item.year, Item.category, func.count(Item.id))
                                  .where(Item.status == "archived", Item.archival_code == "", visible(principal))
                                  .group_by(Item.fonds_code, Item.year, Item.category)).all()
        arranged = session.execute(select(Arrangement.fonds_code, Arrangement.year, Arrangement.category,
                                          Arrangement.state, func.count(Arrangement.id))
                                   .join(Item, Item.record_id == Arrangement.record_id).where(visible(principal))
                                   .group_by(Arrangement.fonds_code, Arrangement.year, Arrangement.category,
                                             Arrangement.state)).all()
    open_rows: Counter[tuple[str, int, str]] = Counter()
    for fonds, year, category, count in waiting:
        if fonds and year:
            open_rows[(fonds, year, category or "WS")] += count
    done: dict[tuple[str, int, str], dict[str, int]] = {}
    for fonds, year, category, state, count in arranged:
        done.setdefault((fonds, year, category), {"draft": 0, "filed": 0})[state] = count
    return {
        "open": [{"fonds": f, "fonds_name": names.get(f, f), "year": y, "category": c, "count": n}
                 for (f, y, c), n in sorted(open_rows.items(), key=lambda kv: (kv[0][0], -kv[0][1]))],
        "arranged": [{"fonds": f, "fonds_name": names.get(f, f), "year": y, "category": c, **counts,
                      "waiting": open_rows.get((f, y, c), 0)}
                     for (f, y, c), counts in sorted(done.items(), key=lambda kv: (kv[0][0], -kv[0][1]))],
    }


@dataclass
class YearReview:
    """One (fonds, category, year) as the review page shows it."""

    fonds: str
    fonds_name: str
    category: str
    year: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    problems: list[dict[str, Any]] = field(default_factory=list)
    organisations: list[tuple[str, str]] = field(default_factory=list)
    categories: list[tuple[str, str]] = field(default_factory=list)

    @property
    def waiting(self) -> list[dict[str, Any]]:
        return [r for r in self.rows if r["state"] == "new"]

    @property
    def conflicts(self) -> int:
        return sum(1 for r in self.rows if r["conflict"] and r["state"] != "filed")


ITEM_COLUMNS = (Item.record_id, Item.title, Item.document_number, Item.author, Item.date, Item.retention,
                Item.organisation, Item.document_type, Item.security_classification, Item.archival_code)


def review(archive: Archive, principal: Principal, fonds: str, year: int, category: str = "WS") -> YearReview:
    """Every visible item of the year: submitted vs proposed 保管期限, proposed or current 档号, state."""
    scope = load_scope(archive, fonds, year, category)
    plan = arrange(archive, fonds, year, category=category, dry_run=True, actor=principal.username)
    reference, _v = current_reference(archive)
    result = YearReview(fonds, scope.fonds.name, category, year,
                        organisations=[(o.code, o.name) for o in scope.fonds.organisations],
                        categories=sorted((c.code, c.name) for c in reference.categories.values()))
    with archive.sessions() as session:
        items = {r.record_id: r for r in session.execute(select(*ITEM_COLUMNS).where(
            Item.fonds_code == fonds, Item.year == year, Item.category.in_(("", category)), visible(principal)))}
        arranged = {a.record_id: a for a in session.scalars(select(Arrangement).where(
            Arrangement.fonds_code == fonds, Arrangement.year == year, Arrangement.category == category))}
    planned = {p.record_id: p for p in plan.items}
    for record_id, row in items.items():
        result.rows.append(_row(scope.schedule.suggest, scope.fonds, row, planned.get(record_id), arranged.get(record_id)))
    result.rows.sort(key=lambda r: (r["state"] != "new", r["code"] or "~", r["record_id"]))
    result.problems = [p for p in plan.problems if p["record_id"] in items]
    return result


def _row(suggest: Callable[[RecordFacts], Any], fonds: Fonds, row: Any, planned: Any, arranged: Arrangement | None) -> dict[str, Any]:
    suggestion = suggest(RecordFacts(row.title or "", row.document_type or "", row.author or "", row.organisation or ""))
    submitted = row.retention or ""
    conflict = bool(submitted) and not suggestion.is_default and not same_retention(submitted, suggestion.retention)
    state = arranged.state if arranged is not None else "new"
    retention = planned.retention if planned is not None else (arranged.retention if arranged is not None else "")
    source = planned.retention_source if planned is not None else (arranged.retention_source if arranged else "")
    return {
        "record_id": row.record_id, "title": row.title, "document_number": row.document_number, "date": row.date,
        "level": row.security_classification, "organisation": row.organisation,
        "organisation_name": _org_name(fonds, row.organisation),
        "submitted": label(submitted) if submitted else "", "proposed": suggestion.label,
        "proposed_code": suggestion.retention, "rule": suggestion.rule_id, "rule_text": suggestion.rule_description,
        "rule_default": suggestion.is_default, "conflict": conflict,
        "retention": label(retention), "retention_code": retention, "basis": retention_basis(source) if source else "",
        "code": (planned.archival_code if planned is not None else "") or (arranged.archival_code if arranged else ""),
        "current_code": row.archival_code, "state": state,
        "state_label": ARRANGEMENT_STATES.get(state, "待整理"),
        "change": planned.change if planned is not None else "",
    }


def summary(archive: Archive, principal: Principal, fonds: str, year: int, category: str = "WS",
            record_ids: list[str] | None = None) -> dict[str, Any]:
    """What confirming would do: a dry run over the selection (or the whole year), counted by class."""
    only = _selection(archive, principal, record_ids)
    plan = arrange(archive, fonds, year, category=category, dry_run=True, actor=principal.username, only=only)
    year_review = review(archive, principal, fonds, year, category)
    shown = {r["record_id"]: r for r in year_review.rows}
    changed = [p for p in plan.changes if p.record_id in shown]
    by_class = Counter((label(p.retention), shown[p.record_id]["organisation_name"]) for p in changed)
    return {"fonds": fonds, "fonds_name": year_review.fonds_name, "year": year, "category": category,
            "selected": None if only is None else len(only), "changed": len(changed),
            "new": sum(1 for p in changed if p.change == "assigned"),
            "renumbered": sum(1 for p in changed if p.change == "renumbered"),
            "deferred": plan.deferred, "conflicts": sum(1 for p in changed if shown[p.record_id]["conflict"]),
            "classes": [{"retention": r, "organisation": o, "count": n} for (r, o), n in sorted(by_class.items())],
            "problems": [p for p in plan.problems if p["record_id"] in shown],
            "record_ids": sorted(only) if only is not None else []}


def _selection(archive: Archive, principal: Principal, record_ids: list[str] | None) -> frozenset[str] | None:
    if record_ids is None:
        return None
    with archive.sessions() as session:
        seen = set(session.scalars(select(Item.record_id).where(Item.record_id.in_(record_ids), visible(principal))))
    if not seen:
        raise BadInput("请至少勾选一件待整理的文件", "select at least one item to arrange")
    return frozenset(seen)


def confirm(archive: Archive, principal: Principal, fonds: str, year: int, category: str = "WS",
            record_ids: list[str] | None = None) -> ArrangementPlan:
    """Arrange the selection (or the whole year, ``record_ids`` None). All or nothing, as the CLI."""
    only = _selection(archive, principal, record_ids)
    return arrange(archive, fonds, year, category=category, actor=principal.username, only=only)


# -- edits before filing: a metadata correction through the change path -------------------------

@dataclass(frozen=True)
class ArrangementFieldsEdit(ItemChange):
    """``档号/保管期限``, ``档号/机构或问题`` and ``档号/类别号`` of ``元数据.xml`` set as the archivist decided."""

    values: tuple[tuple[str, str], ...] = ()
    retention: str | None = None

    def new_files(self, read: Callable[[str], bytes | None]) -> dict[str, bytes]:
        current = read(METADATA_PATH)
        if current is None:
            raise StorageError(f"对象 {self.record_id} 没有元数据", f"object {self.record_id} has no metadata")
        root = etree.fromstring(current, etree.XMLParser(resolve_entities=False, no_network=True))
        ns = root.nsmap.get(None)
        code = root.find(f"{{{ns}}}档号" if ns else "档号")
        text = code.text if code is not None else ""
        return {METADATA_PATH: rewrite_archival_code(current, text or "", dict(self.values), retention=self.retention)}


def edit(archive: Archive, principal: Principal, record_id: str, *, reason: str, retention: str = "",
         organisation: str = "", category: str = "") -> dict[str, Any]:
    """Change 保管期限, 机构(问题) or 类别号 of an item with a reason.

    Before filing this is a correction of the item's metadata (a new version through
    :mod:`.changes`); a draft-arranged item's year is then arranged again so its 档号 follows. A
    filed item is corrected instead (its old number stays vacant, the 更正 is recorded).
    """
    reason = (reason or "").strip()[:200]
    if not reason:
        raise BadInput("修改须说明理由", "a reason is required")
    item = _visible_row(archive, principal, record_id)
    with archive.sessions() as session:
        arranged = session.scalar(select(Arrangement).where(Arrangement.record_id == record_id))
    if arranged is not None and arranged.state == "filed":
        return correct_arrangement(archive, record_id, reason=reason, actor=principal.username,
                                   retention=retention or None, organisation=organisation or None)
    values, new_retention, changed = _edit_values(archive, item, retention, organisation, category)
    if not changed:
        raise BadInput("没有任何修改", "nothing changed")
    message = "整理修改：" + "，".join(f"{k} {a or '（空）'} → {b}" for k, a, b in changed) + f"（{reason}）"
    details = {"fields": [k for k, _a, _b in changed], "from": [a for _k, a, _b in changed],
               "to": [b for _k, _a, b in changed], "reason": reason}
    result = commit_change(archive, ArrangementFieldsEdit(record_id, principal.username, "item.edited", message, details,
                                                          values=tuple(values.items()), retention=new_retention))
    if arranged is not None:
        overrides = {record_id: new_retention} if new_retention else None
        arrange(archive, arranged.fonds_code, arranged.year, category=arranged.category, actor=principal.username,
                overrides=overrides)
    return {"record_id": record_id, "version": result.version, "changed": details}


def _visible_row(archive: Archive, principal: Principal, record_id: str) -> Any:
    with archive.sessions() as session:
        row = session.execute(select(Item.record_id, Item.fonds_code, Item.retention, Item.organisation, Item.category)
                              .where(Item.record_id == record_id, visible(principal))).first()
    if row is None:
        raise not_found(record_id)
    return row


def _edit_values(archive: Archive, item: Any, retention: str, organisation: str,
                 category: str) -> tuple[dict[str, str], str | None, list[tuple[str, str, str]]]:
    reference, _v = current_reference(archive)
    values: dict[str, str] = {}
    changed: list[tuple[str, str, str]] = []
    new_retention = None
    try:
        fonds = reference.get_fonds(item.fonds_code)
        if retention and not (item.retention and same_retention(item.retention, retention)):
            new_retention = normalise_retention(retention)
            changed.append(("保管期限", item.retention, retention_label(new_retention)))
        if organisation and organisation != item.organisation:
            values["机构或问题"] = fonds.organisation(organisation).code
            changed.append(("机构(问题)", item.organisation, values["机构或问题"]))
        if category and category != item.category:
            values["类别号"] = reference.get_category(category).code
            changed.append(("类别号", item.category, values["类别号"]))
    except (*DOMAIN_ERRORS, ReferenceDataError) as exc:
        raise translate(exc) from exc
    return values, new_retention, changed


def file_year(archive: Archive, principal: Principal, fonds: str, year: int, category: str = "WS") -> int:
    """归档 the year's arranged items (件号 fixed); refused while some visible item waits."""
    waiting = review(archive, principal, fonds, year, category).waiting
    if waiting:
        raise Conflict(f"该年度还有 {len(waiting)} 件待整理，请先确认整理", f"{len(waiting)} items are not arranged yet")
    return file_arrangement(archive, fonds, year, category=category, actor=principal.username)


# -- printing the year's 归档文件目录 and 备考表, volume by volume --------------------------------

PRINT_MEDIA = {"pdf": "application/pdf", "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def volumes(review: YearReview) -> list[dict[str, Any]]:
    """The year's arranged items bound as DA/T 22-2015 binds them: one volume per 保管期限 and 机构
    (the classes of the fonds' scheme), in the order the 档号 sorts, with its item count."""
    counts: Counter[tuple[str, str, str]] = Counter()
    for row in review.rows:
        if row["state"] != "new" and row["code"]:
            counts[(row["retention_code"], row["organisation"], row["organisation_name"])] += 1
    return [{"retention": r, "retention_label": label(r), "organisation": o, "organisation_name": n, "count": c}
            for (r, o, n), c in sorted(counts.items(), key=lambda kv: (-_rank(kv[0][0]), kv[0][1]))]


def _rank(code: str) -> int:
    try:
        return retention_rank(code)
    except ScheduleError:
        return 0


def print_volume(archive: Archive, principal: Principal, fonds: str, year: int, *, category: str = "WS",
                 retention: str = "", organisation: str = "", document: str = "catalogue",
                 fmt: str = "pdf") -> tuple[Path, str]:
    """归档文件目录 (PDF or XLSX) or 备考表 (PDF) of one volume — or of the whole year without
    ``retention``/``organisation`` — written to a temporary file for a download: (file, media type).

    A volume that holds an item above the caller's clearance is not printed at all (its 目录 would
    list the title): for that caller it does not exist. The caller removes ``file.parent`` once sent.
    """
    if document not in ("catalogue", "note") or fmt not in PRINT_MEDIA:
        raise BadInput("只能打印归档文件目录或备考表（PDF、XLSX）", "catalogue or note, as pdf or xlsx only")
    entries = arrange_catalogue_entries(archive, fonds, year, category=category, retention=retention or None,
                                        organisation=organisation or None)
    _require_all_visible(archive, principal, [e.archival_code for e in entries])
    workdir = Path(tempfile.mkdtemp(prefix="print-", dir=archive.settings.staging_dir))
    name = "-".join(x for x in (fonds, str(year), label(retention) if retention else "", organisation) if x)
    target = workdir / (f"归档文件目录-{name}.{fmt}" if document == "catalogue" else f"备考表-{name}.{fmt}")
    try:
        if document == "catalogue":
            export_catalogue(archive, fonds, year, target, category=category, retention=retention or None,
                             organisation=organisation or None, actor=principal.username)
        else:
            export_note(archive, fonds, year, target, category=category, retention=retention or None,
                        organisation=organisation or None, actor=principal.username)
    except BaseException:
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    return target, PRINT_MEDIA[fmt]


def _require_all_visible(archive: Archive, principal: Principal, codes: list[str]) -> None:
    if not codes:
        raise NotFound("该卷没有已整理的文件", "the volume holds no arranged items")
    with archive.sessions() as session:
        hidden = session.scalar(select(func.count(Item.id)).where(Item.archival_code.in_(codes),
                                                                 ~visible(principal))) or 0
    if hidden:  # as everywhere, an item above the caller's clearance is missing — and so is its volume
        raise NotFound("没有可供您打印的该卷目录", "no such volume for you to print")
