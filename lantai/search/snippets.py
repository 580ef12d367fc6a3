"""Highlighted snippets, cut in Python from the stored text of the hits on one page.

The index holds tokens, not readable text, so neither FTS5's snippet() nor ts_headline() can
show Chinese as written; and the page is at most a few dozen hits, so doing it here is cheap.
Only hits that passed the security filter reach this code, so snippets cannot leak.
"""

from __future__ import annotations

import re

Spans = tuple[tuple[int, int], ...]


def term_pattern(terms: list[str]) -> re.Pattern[str] | None:
    """One case-insensitive alternation, longest terms first so 电子档案 wins over 档案."""
    terms = [t for t in terms if t]
    if not terms:
        return None
    return re.compile("|".join(re.escape(t) for t in sorted(terms, key=len, reverse=True)), re.IGNORECASE)


def highlight(text: str, pattern: re.Pattern[str] | None) -> Spans:
    if pattern is None:
        return ()
    return tuple(m.span() for m in pattern.finditer(text) if m.end() > m.start())


def snippet(body: str, pattern: re.Pattern[str] | None, width: int) -> tuple[str, Spans]:
    """A window of about ``width`` characters around the first match (or the start of the text)."""
    first = pattern.search(body) if pattern is not None else None
    start = 0 if first is None else max(0, first.start() - width // 4)
    window = " ".join(body[start : start + width].split())  # line breaks read badly in a list
    prefix = "…" if start > 0 else ""
    suffix = "…" if start + width < len(body) else ""
    text = prefix + window + suffix
    return text, highlight(text, pattern)
