"""The character pairs behind an entry's gram tags (prepare.gram_tag), as integers in numpy arrays.

A reindex makes, for every entry, the distinct pairs of adjacent Chinese characters of its
checked text that are not among its tokens (a real 公文: ~1,100 pairs, ~290 distinct, ~140 left).
Made as one Python string per pair, deduplicated in a dict, then filtered against a set of the
tokens, that was 135 µs an entry with the tags written out, over a quarter of the cutting; as
integers (first character << 16 | second) sorted in numpy, 71 µs (``bench/bench_prepare.py``:
real 公文 ×1.9, synthetic ×1.7).

The pairs are the same as :meth:`Tokenizer.grams <lantai.search.tokenize.Tokenizer.grams>`
makes of a query's words (two CJK Unified Ideographs, U+4E00–U+9FFF, neither a one-character
function word), so a phrase's pairs meet the index's; a unit test checks the two agree.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np

from lantai.search.tokenize import STOPWORDS

_CJK_FIRST, _CJK_END = 0x4E00, 0xA000
# _PAIRED[c] for c < 0x10000: whether character c can be half of a pair; higher code points cannot
_PAIRED = np.zeros(0x10000, dtype=bool)
_PAIRED[_CJK_FIRST:_CJK_END] = True
_PAIRED[[ord(ch) for ch in STOPWORDS]] = False
_LOW = np.uint32(0xFFFF)
_EMPTY = np.zeros(0, dtype=np.uint32)


def _code_points(text: str) -> np.ndarray:
    # surrogatepass: extracted text may hold a lone surrogate, which is no pair but must not raise
    return np.frombuffer(text.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)


def _distinct(codes: np.ndarray) -> np.ndarray:
    """``codes`` sorted, each once (np.unique, without its overhead for small arrays)."""
    codes.sort()
    if len(codes) < 2:
        return codes
    first = np.empty(len(codes), dtype=bool)
    first[0] = True
    np.not_equal(codes[1:], codes[:-1], out=first[1:])
    return codes[first]


def _paired(points: np.ndarray) -> np.ndarray:
    """Whether each code point can be half of a pair."""
    return _PAIRED[np.minimum(points, _LOW)]


class GramPairs:
    """A set of character pairs, held as sorted distinct codes (first character << 16 | second)."""

    __slots__ = ("codes",)

    def __init__(self, codes: np.ndarray = _EMPTY) -> None:
        self.codes = codes

    @classmethod
    def of_text(cls, text: str, without: Iterable[str] = ()) -> GramPairs:
        """The distinct pairs of adjacent Chinese characters of ``text`` that are not among
        ``without`` (tokens: only those of two characters can be pairs)."""
        points = _code_points(text)
        if len(points) < 2:
            return cls()
        ok = _paired(points)
        ok = ok[:-1] & ok[1:]
        codes = _distinct((points[:-1][ok] << 16) | points[1:][ok])
        excluded = _token_codes(without)
        if len(codes) and len(excluded):
            at = np.searchsorted(excluded, codes)
            at[at == len(excluded)] = 0
            codes = codes[excluded[at] != codes]
        return cls(codes)

    @classmethod
    def of_pairs(cls, pairs: Iterable[str]) -> GramPairs:
        """From two-character strings (tests, and rows built by hand)."""
        return cls.of_text("\0".join(pairs))

    def joined(self, prefix: str, separator: str) -> str:
        """``prefix`` + pair + ``separator`` for each pair, in code order, as one string.

        One numpy array of code points decoded at once: a Python string per pair was the cost
        this module removes. PostgreSQL's binary tsvector takes the lexemes NUL-separated
        (``separator`` "\\0\\0\\0"), SQLite's tags column space-separated.
        """
        if not len(self.codes):
            return ""
        head, tail = [ord(ch) for ch in prefix], [ord(ch) for ch in separator]
        table = np.empty((len(self.codes), len(head) + 2 + len(tail)), dtype=np.uint32)
        table[:, :len(head)] = head
        table[:, len(head)] = self.codes >> 16
        table[:, len(head) + 1] = self.codes & _LOW
        table[:, len(head) + 2:] = tail
        return table.tobytes().decode("utf-32-le")

    def strings(self, prefix: str = "") -> list[str]:
        """Each pair as a string with ``prefix``, in code order."""
        return self.joined(prefix, "\0").split("\0")[:-1]

    def __len__(self) -> int:
        return len(self.codes)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GramPairs) and np.array_equal(self.codes, other.codes)

    def __hash__(self) -> int:
        return hash(self.codes.tobytes())

    def __repr__(self) -> str:
        return f"GramPairs({self.strings()!r})"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (_from_bytes, (self.codes.tobytes(),))


def _from_bytes(data: bytes) -> GramPairs:
    return GramPairs(np.frombuffer(data, dtype=np.uint32).copy())


def _token_codes(tokens: Iterable[str]) -> np.ndarray:
    """Sorted codes of the tokens that are two characters that can be a pair."""
    points = _code_points("\0" + "\0".join(tokens) + "\0")  # no token holds a NUL (letters, digits)
    ends = np.flatnonzero(points == 0)
    two = ends[:-1][np.diff(ends) == 3] + 1  # a token of two characters starts here
    if not len(two):
        return _EMPTY
    first, second = points[two], points[two + 1]
    ok = _paired(first) & _paired(second)
    codes = (first[ok] << 16) | second[ok]
    codes.sort()
    return codes
