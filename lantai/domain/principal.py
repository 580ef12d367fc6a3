"""Which file of an item readers are shown: the 正本.

The 正本 is the document the metadata declares 主文档 (文档主从声明, DA/T 48) — in a 公文 the
signed, sealed text — never the 公文处理单 or 发文稿纸 filed with it, which a reader sees only
when asking for that file by name. Of the 正本's encodings the order is: PDF (browsers show it,
and the access copy keeps its text layer), OFD (rendered page by page), image, and then the rest
(a DOCX 定稿, viewable through its migrated PDF/A rendition). When no document is declared
主文档, the documents that are not handling forms stand in for it.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

HANDLING_FORMS = ("处理单", "稿纸", "办文单", "签报单", "阅办单")
KIND_ORDER = {"pdf": 0, "ofd": 1, "image": 2}


def is_handling_form(name: str) -> bool:
    """A 公文处理单 / 发文稿纸 and the like, by title or file name."""
    return any(word in name for word in HANDLING_FORMS)


def principal_paths(record: Any | None, content_paths: Iterable[str], kind: Callable[[str], str | None]) -> list[str]:
    """The content paths of the 正本, best to show first (``kind``: "pdf", "ofd", "image" or None).

    ``record`` is the parsed DA/T 46 record (None when its metadata cannot be read).
    """
    present = list(content_paths)
    chosen = _declared(record, present) if record is not None else []
    if not chosen:
        chosen = [p for p in present if not is_handling_form(p)]
    return sorted(chosen, key=lambda p: (KIND_ORDER.get(kind(p) or "", 9), p))


def _declared(record: Any, present: list[str]) -> list[str]:
    by_name = {p.split("/", 1)[1] if p.startswith("content/") else p: p for p in present}
    mains = [d for d in record.documents if (d.document_role or "").strip() == "主文档"
             and not is_handling_form(d.title or "")]
    return [by_name[e.computer_file_name] for d in mains for data in d.document_data for e in data.encodings
            if e.computer_file_name in by_name]
