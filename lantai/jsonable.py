"""Turning result objects into JSON values: one conversion for error details, check parameters and
``--json`` output, so the API, the CLI and stored reports write the same value the same way."""

from __future__ import annotations

from typing import Any


def jsonable(value: Any) -> Any:
    """Dicts (keys as text), sequences and sets, JSON scalars, objects with ``to_dict``; anything else as text."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if hasattr(value, "to_dict"):
        return jsonable(value.to_dict())
    return str(value)
