"""Walking a model object element by element, with both kinds of path.

``path`` is the attribute path the registry is keyed by (``documents[].title``); ``where`` is
the Chinese element path findings carry (``文件数据/文档[1]/题名``). Lists yield one node for
the list itself (so "at least one" can be checked) and one per item.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, fields
from typing import Any

from lantai.domain.metadata.fields import kind, tag


@dataclass(frozen=True, slots=True)
class Node:
    path: str
    where: str
    value: Any
    is_list: bool = False


def _join(prefix: str, name: str, sep: str) -> str:
    return f"{prefix}{sep}{name}" if prefix and name else prefix or name


def walk(obj: Any, path: str = "", where: str = "") -> Iterator[Node]:
    for name, k, chinese in _plan(type(obj)):
        value = getattr(obj, name)
        f_path = _join(path, name, ".")
        f_where = _join(where, chinese, "/")
        if k in ("text", "attr", "mixed_text", "element_attr"):
            yield Node(f_path, f_where, value)
        elif k == "texts":
            yield Node(f"{f_path}[]", f_where, value, is_list=True)
            for i, item in enumerate(value, start=1):
                yield Node(f"{f_path}[]", f"{f_where}[{i}]", item)
        elif k == "child" or (k == "optional_child" and value is not None):
            yield Node(f_path, f_where, value)
            yield from walk(value, f_path, f_where)
        elif k in ("children", "siblings"):
            yield Node(f"{f_path}[]", f_where, value, is_list=True)
            for i, item in enumerate(value, start=1):
                yield from walk(item, f"{f_path}[]", f"{f_where}[{i}]")


@functools.cache
def _plan(cls: type) -> tuple[tuple[str, str, str], ...]:
    """(attribute, kind, Chinese path segment) of every element field of a model class.

    Validation walks every record at ingest; reading dataclass fields and their metadata once
    per class instead of once per node makes the walk several times cheaper.
    """
    plan = []
    for f in fields(cls):
        k = kind(f) if "kind" in f.metadata else "none"
        if k not in ("none", "data_presence"):
            plan.append((f.name, k, _chinese(f)))
    return tuple(plan)


def _chinese(f: Any) -> str:
    k = kind(f)
    if k == "attr":
        return f"@{tag(f)}"
    if k == "element_attr":
        return f"{tag(f)}/@{f.metadata['attr']}"
    if k == "mixed_text":
        return ""
    wrapper = f.metadata.get("wrapper")
    return f"{wrapper}/{tag(f)}" if wrapper else tag(f)
