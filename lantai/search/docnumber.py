"""文号 (发文字号) recognition and normalisation.

A 文号 is written ``机关代字〔年份〕序号号`` (GB/T 9704 §7.2.4), but agencies and OCR vary the
brackets (〔〕, [], ［］, （）, 【】), pad the number (``012``) and put spaces in between. A word
segmenter cuts ``青政办发〔2025〕12号`` into 青/政办发/〔/2025/〕/12/号, which matches any document
that mentions 2025 and 12; so the index also stores each 文号 as one normalised token, and a
query that is a 文号 searches that token only: it finds its document exactly.

Tokens are made per 文号 for the full form (``青政办发2025年12号``) and for the part without the
agency code (``2025年12号``), so ``〔2025〕12号`` finds every agency's 12th document of 2025. In
running text the agency code cannot be told from the words before it (``根据青政办发〔2025〕12号``),
so every tail of 2 to 10 characters of the preceding letters gets a token; the query's exact code
is one of them.
Tokens are letters and digits only, so SQLite's unicode61 and PostgreSQL keep them whole.
"""

from __future__ import annotations

import re

_OPEN = "〔[［(（【"
_CLOSE = "〕]］)）】"
_PREFIX = r"[\u4e00-\u9fffA-Za-z]{0,16}"
_CORE = (rf"[{re.escape(_OPEN)}]\s*(?P<year>\d{{4}})\s*[{re.escape(_CLOSE)}]\s*(?:第\s*)?"
         rf"(?P<number>\d{{1,6}})\s*号")
DOCUMENT_NUMBER = re.compile(rf"(?P<prefix>{_PREFIX})\s*{_CORE}")
_CORE_RE = re.compile(_CORE)
_PREFIX_REVERSED = re.compile(rf"\s*(?P<prefix>{_PREFIX})")

_MIN_CODE, _MAX_CODE = 2, 10


def document_number_tokens(text: str, *, exact: bool = False) -> list[str]:
    """Normalised 文号 tokens found in ``text``: agency-code variants, then year+number.

    ``exact`` is for a field that holds only 文号 (the document_number column): its prefix is
    the agency code itself, so no tails are needed.
    """
    tokens: list[str] = []
    for match in _CORE_RE.finditer(text):  # the bracketed year first: scanning for prefixes is slow
        start = match.start()
        # the letters just before it (spaces between allowed), read backwards: searching forwards
        # for a run that ends there tried every start position of the window (3 µs a 文号)
        prefix = _PREFIX_REVERSED.match(text[max(0, start - 24):start][::-1])["prefix"][::-1].lower()
        tail = f"{match['year']}年{int(match['number'])}号"
        if exact or len(prefix) <= _MIN_CODE:
            tokens.extend([prefix + tail] if prefix else [])
        else:
            tokens.extend(prefix[-n:] + tail for n in range(_MIN_CODE, min(len(prefix), _MAX_CODE) + 1))
        tokens.append(tail)
    return tokens


_TOKEN = re.compile(rf"{_PREFIX}\d{{4}}年\d{{1,6}}号")  # as document_number_tokens writes them


def is_document_number_token(token: str) -> bool:
    """Whether ``token`` has the shape of a normalised 文号 token: made by this module, so not
    necessarily a piece of the text it came from (``青政办发〔2025〕12号`` → 青政办发2025年12号)."""
    return _TOKEN.fullmatch(token) is not None


def as_document_number(text: str) -> str | None:
    """The one normalised token when ``text`` is nothing but a 文号, else None."""
    match = DOCUMENT_NUMBER.fullmatch(text.strip())
    if match is None:
        return None
    return document_number_tokens(match.group(0), exact=True)[0]
