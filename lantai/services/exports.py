"""Exports for people: the catalogue of visible items (or a search's results) as CSV, and one item's
head version as a zip. All are audited; all see only what the caller may see."""

from __future__ import annotations

import csv
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sqlalchemy import select

from lantai.catalog.models import Item
from lantai.domain.cells import safe_row
from lantai.domain.roles import Permission
from lantai.services import catalogue_search
from lantai.services.access import require, visible_item
from lantai.services.archive import Archive
from lantai.services.browse import visible_conditions
from lantai.services.replicas import open_verified
from lantai.services.users import Principal
from lantai.storage.ocfl import INVENTORY_FILE

CATALOGUE_COLUMNS = (("archival_code", "档号"), ("record_id", "电子文件号"), ("title", "题名"),
                     ("document_number", "文件编号"), ("author", "责任者"), ("date", "日期"), ("year", "年度"),
                     ("retention", "保管期限"), ("organisation", "机构或问题"), ("document_type", "文种"),
                     ("security_classification", "密级"), ("file_count", "文件数"), ("total_bytes", "字节数"))


def export_catalogue(archive: Archive, principal: Principal, filters: dict[str, Any]) -> Iterator[str]:
    """CSV (UTF-8 with BOM for spreadsheet programs) of every visible item matching ``filters``."""
    require(principal, Permission.EXPORT)
    conditions = visible_conditions(principal, filters)
    archive.audit.append(principal.username, "export.catalogue", "catalogue",
                         {"filters": {k: v for k, v in filters.items() if v not in (None, "")}})

    def rows() -> Iterator[tuple[Any, ...]]:
        with archive.sessions() as session:
            query = (select(*(getattr(Item, c) for c, _l in CATALOGUE_COLUMNS)).where(*conditions)
                     .order_by(Item.fonds_code, Item.year, Item.retention, Item.organisation, Item.archival_code,
                               Item.id).execution_options(yield_per=1000))
            yield from session.execute(query)

    return _csv(rows())


def export_search(archive: Archive, principal: Principal, query: str, *, sort: str = "relevance",
                  filters: dict[str, Any] | None = None) -> Iterator[str]:
    """CSV of a search's visible results in result order (the first EXPORT_LIMIT), same columns as
    the catalogue export; the search is checked before the first byte is sent."""
    require(principal, Permission.EXPORT)
    catalogue_search.search(archive, principal, query, page=1, page_size=1, sort=sort, filters=filters, audit=False)
    results = catalogue_search.iter_results(archive, principal, query, sort=sort, filters=filters)
    return _csv(tuple(item.get(c) for c, _l in CATALOGUE_COLUMNS) for item in results)


def _csv(rows: Iterator[tuple[Any, ...]]) -> Iterator[str]:
    """UTF-8 with BOM (spreadsheet programs), formula-safe cells, one chunk per row."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(safe_row(label for _c, label in CATALOGUE_COLUMNS))
    yield "\ufeff" + buffer.getvalue()
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(safe_row("" if v is None else v for v in row))
        yield buffer.getvalue()


def export_package(archive: Archive, principal: Principal, record_id: str) -> Path:
    """A zip of the item's head version (originals, metadata, reports) for transfer or backup."""
    require(principal, Permission.EXPORT)
    with archive.sessions() as session:
        visible_item(session, principal, record_id)
    workdir = Path(tempfile.mkdtemp(prefix="export-", dir=archive.settings.staging_dir))
    target = workdir / f"{_safe_name(record_id)}.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for stored in archive.store.files(record_id):
            with open_verified(archive, record_id, stored.logical_path) as src, zf.open(stored.logical_path, "w") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
        zf.writestr(INVENTORY_FILE, json.dumps(archive.store.read_inventory(record_id), ensure_ascii=False, indent=1))
    archive.audit.append(principal.username, "export.package", record_id, {"bytes": target.stat().st_size})
    return target


def _safe_name(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in text)[:100] or "item"
