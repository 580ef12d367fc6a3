"""Opaque page cursors: the sort key and row id of the last hit, so the next page starts after it.

Keyset pagination costs the same on page 1 and page 1,000, and pages do not shift when items
are added in the meantime the way OFFSET pages do.
"""

from __future__ import annotations

import base64
import json

from lantai.errors import BadInput


def encode(sort: str, key: object, row_id: int) -> str:
    raw = json.dumps([sort, key, row_id], ensure_ascii=False, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode(cursor: str, sort: str) -> tuple[object, int]:
    """(sort key, row id) of a cursor made for the same sort; BadInput for anything else."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        cursor_sort, key, row_id = json.loads(raw)
    except (ValueError, TypeError) as exc:
        raise BadInput("分页游标无效", "invalid page cursor") from exc
    if cursor_sort != sort or not isinstance(row_id, int):
        raise BadInput("分页游标与排序方式不符", "page cursor does not belong to this sort")
    return key, row_id
