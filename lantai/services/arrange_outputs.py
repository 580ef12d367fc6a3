"""Outputs of arrangement: the 归档文件目录 (XLSX, PDF, 文件目录.XML), the 备考表 and the 归档章.

All of them read the arrangement tables and the catalogue; none changes the store. The stamped
copy is an access copy: the stored original is only read.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from lantai.catalog.arrangement import Arrangement, ArrangementCorrection
from lantai.catalog.models import Item, ItemFile
from lantai.domain.reference import Fonds, ReferenceData
from lantai.domain.retention import normalise_retention, retention_label, retention_rank
from lantai.errors import BadInput
from lantai.formats.stamp import StampFields, page_count, stamp_access_copy
from lantai.packages import tables
from lantai.packages.catalogue import (
    BoxNote,
    CatalogueEntry,
    CatalogueHeading,
    note_rows,
    write_catalogue,
    write_note_pdf,
)
from lantai.services.arrange_plan import arrangement_of, load_scope
from lantai.services.arrange_reference import current_reference
from lantai.services.catalogue import METADATA_PATH
from lantai.services.content import principal_files

if TYPE_CHECKING:
    from lantai.services.archive import Archive


def _class_order(fonds: Fonds) -> Callable[[Arrangement], tuple[Any, ...]]:
    org_rank = {o.code: n for n, o in enumerate(fonds.organisations)}
    def key(a: Arrangement) -> tuple[Any, ...]:
        levels = {"year": a.year, "retention": -retention_rank(a.retention), "organisation": org_rank.get(a.organisation, 999)}
        return (*[levels[level] for level in fonds.scheme], a.item_number)
    return key


def catalogue_entries(archive: Archive, fonds: str, year: int, *, category: str = "WS", retention: str | None = None,
                      organisation: str | None = None) -> list[Any]:
    """Rows of the 归档文件目录 for arranged items, in class order then 件号."""

    scope = load_scope(archive, fonds, year, category)
    with archive.sessions() as session:
        query = select(Arrangement, Item).join(Item, Item.record_id == Arrangement.record_id).where(
            Arrangement.fonds_code == fonds, Arrangement.category == category, Arrangement.year == year)
        if retention:
            query = query.where(Arrangement.retention == normalise_retention(retention))
        if organisation:
            query = query.where(Arrangement.organisation == scope.fonds.organisation(organisation).code)
        pairs = sorted(session.execute(query).all(), key=lambda pair: _class_order(scope.fonds)(pair[0]))
        names = _content_names(session, [item.id for _a, item in pairs])
    corrected = {a.record_id for a, _i in pairs if a.change == "corrected" or a.previous_code}
    return [CatalogueEntry(n, a.archival_code, item.document_number, item.author, item.title, item.date,
                           item.security_classification, item.page_count, "更正" if a.record_id in corrected else "",
                           names.get(item.id, "")) for n, (a, item) in enumerate(pairs, start=1)]


def _content_names(session: Session, item_ids: list[int]) -> dict[int, str]:
    names: dict[int, str] = {}
    for start in range(0, len(item_ids), 5000):
        rows = session.execute(select(ItemFile.item_id, ItemFile.logical_path).where(
            ItemFile.item_id.in_(item_ids[start:start + 5000]), ItemFile.role == "content").order_by(ItemFile.logical_path))
        for item_id, path in rows:
            names.setdefault(item_id, path.removeprefix("content/"))
    return names


def export_catalogue(archive: Archive, fonds: str, year: int, target: Path, *, category: str = "WS",
                     retention: str | None = None, organisation: str | None = None, actor: str = "system",
                     xml_encoding: str = "UTF-8") -> dict[str, Any]:

    scope = load_scope(archive, fonds, year, category)
    entries = catalogue_entries(archive, fonds, year, category=category, retention=retention, organisation=organisation)
    subtitle = "　".join(x for x in (f"保管期限：{retention_label(retention)}" if retention else "",
                                     f"机构(问题)：{scope.fonds.organisation(organisation).name}" if organisation else "") if x)
    heading = CatalogueHeading(fonds, scope.fonds.name, year, subtitle)
    count = write_catalogue(entries, target, heading, xml_encoding=xml_encoding)
    archive.audit.append(actor, "catalogue.exported", f"{fonds}-{category}·{year}", {"rows": count, "file": target.name})
    return {"rows": count, "file": str(target)}


def export_note(archive: Archive, fonds: str, year: int, target: Path, *, category: str = "WS",
                retention: str | None = None, organisation: str | None = None, arranged_by: str = "",
                arranged_on: str = "", checked_by: str = "", checked_on: str = "", actor: str = "system") -> dict[str, Any]:
    """备考表 for one class (PDF, or XLSX for a ``.xlsx`` target); corrections recorded against its items
    are listed in the 情况说明."""
    if Path(target).suffix.lower() not in (".pdf", ".xlsx"):
        raise BadInput("备考表只能导出为 .pdf 或 .xlsx", "the box note exports as .pdf or .xlsx", file=str(target))

    entries = catalogue_entries(archive, fonds, year, category=category, retention=retention, organisation=organisation)
    with archive.sessions() as session:
        corrections = session.scalars(select(ArrangementCorrection).where(
            ArrangementCorrection.record_id.in_(_record_ids(session, entries))).order_by(ArrangementCorrection.id)).all()
    lines = [f"{c.created_at:%Y-%m-%d} 档号 {c.old_code} 更正为 {c.new_code}：{c.reason}" for c in corrections]
    label = "-".join(x for x in (f"{fonds}-{category}·{year}", retention or "", organisation or "") if x)
    note = BoxNote(label, len(entries), sum(e.pages or 0 for e in entries), "\n".join(lines), arranged_by,
                   arranged_on, checked_by, checked_on)
    if Path(target).suffix.lower() == ".xlsx":  # A4 landscape, one page wide, 宋体, like every printed table
        tables.write_xlsx(note_rows(note), ("项目", "内容"), "备考表", [], Path(target), sheet_title="备考表",
                          widths=(24, 100), wrap=(1,))
    else:
        write_note_pdf(note, target)
    archive.audit.append(actor, "catalogue.note_exported", label, {"items": len(entries), "corrections": len(lines)})
    return {"items": len(entries), "corrections": len(lines), "file": str(target)}


def _record_ids(session: Session, entries: list[Any]) -> list[str]:
    codes = [e.archival_code for e in entries]
    return list(session.scalars(select(Arrangement.record_id).where(Arrangement.archival_code.in_(codes))))


# -- 归档章 --------------------------------------------------------------------------------------

def stamp_item(archive: Archive, record_id: str, target: Path, *, actor: str) -> dict[str, Any]:
    """An access copy of the item's 正本 (PDF) with the 归档章; the stored original is only read."""

    a = arrangement_of(archive, record_id)
    reference, _version = current_reference(archive)
    fonds = reference.get_fonds(a.fonds_code)
    with archive.sessions() as session:
        item = session.scalar(select(Item).where(Item.record_id == record_id))
        content = [f.logical_path for f in session.scalars(select(ItemFile).where(ItemFile.item_id == item.id,
                                                                                   ItemFile.role == "content"))]
    pdfs = [p for p in principal_files(archive.store.read_bytes(record_id, METADATA_PATH), content)
            if p.lower().endswith(".pdf")]  # the 正本, never the 处理单
    if not pdfs:
        raise BadInput(f"{record_id} 没有 PDF 内容文件，无法加盖归档章", f"{record_id} has no PDF content file to stamp")
    source = next(archive.store.content_path(record_id, s.content_path) for s in archive.store.files(record_id)
                  if s.logical_path == pdfs[0])
    org = fonds.organisation(a.organisation).name if a.organisation else ""
    pages = item.page_count or page_count(source)
    fields = StampFields(a.fonds_code, a.year, str(a.item_number).zfill(_rule_width(reference, fonds, a.category)),
                         retention_label(a.retention), pages, org)
    stamp_access_copy(source, target, fields)
    archive.audit.append(actor, "item.stamped_copy", record_id, {"file": pdfs[0], "archival_code": a.archival_code})
    return {"record_id": record_id, "archival_code": a.archival_code, "source": pdfs[0], "file": str(target)}


def _rule_width(reference: ReferenceData, fonds: Fonds, category: str) -> int:
    return reference.code_rule(fonds, category).item_width
