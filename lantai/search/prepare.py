"""Turn an IndexEntry into what both backends store: display text, token lists and filter tags.

Both backends index exactly these tokens, so a query behaves the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import chain
from typing import Any

from lantai.domain.roles import rank
from lantai.search.model import IndexEntry
from lantai.search.pairs import GramPairs
from lantai.search.tokenize import Tokenizer, fold_width

MAX_INDEXED_CHARS = 200_000  # body text beyond this is stored for snippets but not indexed
TAG = "ǂ"  # a letter nobody types: filter tags can never collide with words
TAG_FIELDS = {"year": "y", "retention": "r", "organisation": "o", "document_type": "t",
              "security_classification": "m", "fonds": "f"}


@dataclass(frozen=True)
class PreparedDoc:
    entry: IndexEntry  # normalised, without its body (that is ``body``)
    body: str
    clearance_rank: int
    title: list[str]
    docno: list[str]
    author: list[str]
    meta: list[str]
    text: list[str]
    tags: list[str]
    grams: GramPairs  # the checked text's character pairs not among its tokens: its gram tags (gram_tag)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # A reindex ships prepared documents from the processes that cut the text to the one
        # that writes. Pickled as lists, a 2 KB body's ~700 tokens cost 0.13 ms to pickle and
        # 0.09 ms to unpickle, as much CPU as the database write; joined, 0.01 ms each.
        return (_unpacked, (self.entry, self.body, self.clearance_rank, self.grams,
                            *(_packed(getattr(self, name)) for name in _TOKEN_FIELDS)))

    def gram_tags(self) -> list[str]:
        return self.grams.strings(GRAM)


_TOKEN_FIELDS = ("title", "docno", "author", "meta", "text", "tags")
_SEPARATOR = "\x1f"  # ASCII unit separator: never inside a token (they are letters and digits)


def _packed(tokens: list[str]) -> str | list[str]:
    joined = _SEPARATOR.join(tokens)
    if not tokens or "" in tokens or joined.count(_SEPARATOR) != len(tokens) - 1:
        return tokens  # cannot be split back unambiguously: ship the list as it is
    return joined


def _unpacked(entry: IndexEntry, body: str, rank: int, grams: GramPairs, *token_fields: str | list[str]) -> PreparedDoc:
    lists = [value if isinstance(value, list) else value.split(_SEPARATOR) for value in token_fields]
    return PreparedDoc(entry, body, rank, *lists, grams=grams)


def clearance_rank(classification: str) -> int:
    """Rank of an item's 密级; an empty 密级 means 公开, an unknown one ranks above all (fail closed)."""
    return rank(classification.strip() or "公开")


@lru_cache(maxsize=65_536)
def tag(field: str, value: object) -> str:
    """The filter token for ``field = value`` (hashed, so any value becomes one index token).

    Cached: an archive's 机构, 全宗, 文种, 保管期限 and 密级 take few values, and a reindex hashed
    each item's five again (8 µs of the ~450 µs an entry costs to cut)."""
    text = str(value).strip()
    if field == "year":
        return f"{TAG}y{text}"
    return f"{TAG}{TAG_FIELDS[field]}{hashlib.blake2b(text.encode(), digest_size=6).hexdigest()}"


def clearance_tag(level_rank: int) -> str:
    return f"{TAG}c{level_rank}"


# Gram tags: the pairs of adjacent Chinese characters of the text an exact phrase check reads
# (题名, 文号, 责任者, the indexed body) that are not already tokens of the entry. Every such pair of
# the text is then in the index as a token or as a gram tag, so a phrase needs, for each of its
# pairs, "the token or the gram tag": a necessary condition the index answers, where the
# phrase's words alone let through every item holding them anywhere (a phrase of common words
# that no item holds read and tested the stored text of 23,334 items out of 1,000,000).
GRAM = TAG + "g"


def gram_tag(pair: str) -> str:
    return GRAM + pair


# On a row that holds only part of its gram tags (PostgreSQL keeps at most 1 MB of lexemes per
# tsvector, and a long text of many distinct pairs has more): a phrase is then asked of such rows
# by its words, as before gram tags, and checked in the stored text.
GRAMS_CUT = TAG + "G"


# Field tags: the words of 题名, 文号 and 责任者 again, as tags. A word asked in one field
# (题名:通知) is then one small lookup instead of a test of every row holding the word anywhere
# (PostgreSQL's GIN index cannot tell fields apart and rechecked each row's tsvector), and
# SQLite scores the fields of the ranked rows from them.
FIELD_TAG = {"title": "T", "document_number": "D", "author": "A"}


_FIELD_PREFIX = {name: TAG + letter for name, letter in FIELD_TAG.items()}


def field_tag(field: str, token: str) -> str:
    return _FIELD_PREFIX[field] + token


def field_tags(doc: PreparedDoc) -> dict[str, list[str]]:
    """The distinct field tags of a document's 题名, 文号 and 责任者 (a reindex makes millions)."""
    title, docno, author = _FIELD_PREFIX["title"], _FIELD_PREFIX["document_number"], _FIELD_PREFIX["author"]
    return {"title": [title + t for t in dict.fromkeys(doc.title)],
            "document_number": [docno + t for t in dict.fromkeys(doc.docno)],
            "author": [author + t for t in dict.fromkeys(doc.author)]}


def prepare(entry: IndexEntry, tokenizer: Tokenizer, *, distinct: bool = False) -> PreparedDoc:
    """``distinct``: the body's tokens may be listed once each (an index without term
    frequencies: PostgreSQL's), which is cheaper to cut (Tokenizer.index_tokens)."""
    # Stored text is width-folded (ＯＦＤ → OFD) so exact phrase checks see what the tokens saw;
    # an empty 密级 is treated as 公开 (domain.roles.may_see) and stored so, for facets and filters.
    # The folded body is PreparedDoc.body; the entry drops its copy (a reindex ships prepared
    # documents between processes).
    body = fold_width(entry.body)
    entry = replace(entry, title=fold_width(entry.title), document_number=fold_width(entry.document_number),
                    author=fold_width(entry.author), security_classification=entry.security_classification.strip()
                    or "公开", body="")
    level = clearance_rank(entry.security_classification)
    tags = [clearance_tag(level)] + [
        tag(field, getattr(entry, field)) for field in TAG_FIELDS if getattr(entry, field) not in (None, "")
    ]
    meta = " ".join((entry.organisation, entry.fonds, entry.archival_code, entry.document_type))
    indexed = body[:MAX_INDEXED_CHARS]
    title = tokenizer.index_tokens(entry.title, folded=True)
    author = tokenizer.index_tokens(entry.author, folded=True)
    docno = (tokenizer.document_number_tokens(entry.document_number)
             + tokenizer.index_tokens(entry.document_number, folded=True))
    meta_tokens = tokenizer.index_tokens(meta)  # not folded for display: folded while cut
    text = tokenizer.index_tokens(indexed, distinct=distinct, folded=True)
    checked = "\n".join((entry.title, entry.document_number, entry.author, indexed))
    return PreparedDoc(
        entry=entry, body=body, clearance_rank=level, title=title, docno=docno, author=author, meta=meta_tokens,
        text=text, tags=tags, grams=GramPairs.of_text(checked, without=chain(title, docno, author, meta_tokens, text)),
    )


