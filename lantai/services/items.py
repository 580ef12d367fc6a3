"""Reading items from the catalogue. Every read of an item is an access, so it is audited."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from lantai.catalog.models import Item
from lantai.errors import NotFound
from lantai.services.archive import Archive
from lantai.services.catalogue import _plain


def get_item(session: Any, record_id: str) -> Item:
    query = (select(Item).where(Item.record_id == record_id)
             .options(selectinload(Item.files), selectinload(Item.versions), selectinload(Item.events)))
    item = session.scalar(query)
    if item is None:
        raise NotFound(f"没有电子文件号为 {record_id} 的条目", f"no item with record id {record_id}")
    return item


def describe_item(archive: Archive, record_id: str, *, actor: str) -> dict[str, Any]:
    with archive.sessions() as session:
        item = get_item(session, record_id)
        data = {c: _plain(getattr(item, c)) for c in Item.__table__.columns.keys() if c != "id"}
        data["files"] = [{"logical_path": f.logical_path, "role": f.role, "size": f.size, "sm3": f.sm3,
                          "sha512": f.sha512, "document_id": f.document_id, "format": f.format_name}
                         for f in item.files]
        data["versions"] = [{"version": v.version, "created": v.created, "message": v.message, "user": v.user_name}
                            for v in item.versions]
        data["events"] = [{"seq": e.seq, "status": e.status, "activity": e.activity, "time": e.time,
                           "agent": e.agent, "description": e.description} for e in item.events]
    archive.audit.append(actor, "item.viewed", record_id, {})
    return data
