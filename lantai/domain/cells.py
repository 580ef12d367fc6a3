"""Spreadsheet cells that cannot run: formula injection (CSV/XLSX injection) neutralised as OWASP says.

A text cell beginning with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
spreadsheet programs as a formula (``=HYPERLINK(…)`` in a 题名 becomes a live link, ``=cmd|…``
worse). Every CSV and XLSX writer passes its cells through :func:`safe_cell`, which prefixes such
text with a single quote so it stays text; numbers and dates are untouched.
"""

from __future__ import annotations

from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
QUOTE = "'"


def safe_cell(value: Any) -> Any:
    """``value``, or — when it is text a spreadsheet would take for a formula — that text behind a quote."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return QUOTE + value
    return value


def safe_row(values: Any) -> list[Any]:
    return [safe_cell(v) for v in values]


def plain_cell(value: str) -> str:
    """The text :func:`safe_cell` was given (for files Lantai wrote and reads back)."""
    if value.startswith(QUOTE) and value[1:].startswith(FORMULA_STARTS):
        return value[1:]
    return value
