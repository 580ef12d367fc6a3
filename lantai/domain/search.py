"""Search rules every interface states, whichever index backend answers."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

# Deepest position a page may reach by offset (offset + limit), like Elasticsearch's
# max_result_window: a page costs every hit before it. Deeper asks are BadInput; cursors are
# not bounded by it.
MAX_RESULT_WINDOW = 10_000

_DATE = re.compile(r"^\d{4}(-\d{2}(-\d{2})?)?$")


def segments(text: str, spans: Iterable[Sequence[int]]) -> list[tuple[str, bool]]:
    """``text`` cut into (piece, highlighted) runs at the hit ``spans`` (sorted [start, end) offsets),
    so a page can mark hits without building HTML from strings."""
    out: list[tuple[str, bool]] = []
    pos = 0
    for start, end in spans:
        start, end = max(start, pos), min(end, len(text))
        if start >= end:
            continue
        if start > pos:
            out.append((text[pos:start], False))
        out.append((text[start:end], True))
        pos = end
    if pos < len(text):
        out.append((text[pos:], False))
    return out


def compose_query(*, words: str = "", title: str = "", document_number: str = "", author: str = "",
                  date_from: str = "", date_to: str = "") -> str:
    """The advanced-search form written as the query language (so people learn it from the box).

    Field values are quoted as phrases (a 题名 with spaces stays one value); quotes inside a value
    are dropped, since the language has no escape for them. Dates are YYYY[-MM[-DD]].
    """
    parts = [words.strip()] if words.strip() else []
    for field, value in (("题名", title), ("文号", document_number), ("责任者", author)):
        value = value.replace('"', "").replace("“", "").replace("”", "").strip()
        if value:
            parts.append(f'{field}:"{value}"' if field != "文号" else f"{field}:{value}")
    low, high = date_from.strip(), date_to.strip()
    for value in (low, high):
        if value and not _DATE.match(value):
            raise ValueError(f"日期应为 年-月-日：{value}")
    if low or high:
        parts.append(f"日期:{low}..{high}")
    return " ".join(parts)
