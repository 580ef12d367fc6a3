"""Chinese tokenisation for the search index: rjieba segmentation plus a user dictionary.

Neither SQLite FTS5 nor PostgreSQL 15 here can cut Chinese (FTS5 unicode61 sees a sentence as
one token, trigram misses two-character words, and zhparser/pg_jieba are not packaged), so
Lantai cuts the text itself and both backends index the same pre-cut tokens.

Choice, measured by ``bench/bench_search.py --tokenizers`` (2,000 synthetic 公文, 4.3 MB;
shared 2-core machine under load, so MB/s are ±30 %). Each document gets three probe queries
that must find it: ``word`` — a word of jieba's own accurate cut without our dictionary;
``inner`` — any dictionary word lying inside the text, also across word edges (人民 in
以人民为中心, 交通安全 in 道路交通安全管理, but also fragments such as 后移 in 通过后移交);
``organ`` — the organ name. 6,000 probes; a probe counts as found when its index tokens are all
in the document (plus the exact substring check of :meth:`Tokenizer.query_terms`).

======================  ======  ======  ======  ======  =====  ==========
option                  all     word    inner   organ   MB/s   tokens/doc
======================  ======  ======  ======  ======  =====  ==========
accurate (cut)          93.5 %  99.4 %  81.0 %  100 %   12.4   314
search mode             97.2 %  99.4 %  92.0 %  100 %   8.2    358
search + user dict      97.5 %  99.2 %  93.2 %  100 %   5.1    370
search + subwords       97.6 %  99.4 %  93.4 %  100 %   8.3    374   ← chosen
search + full mode      99.3 %  99.4 %  98.5 %  100 %   4.7    393
CJK bigrams             100 %   100 %   100 %   100 %   8.6    579
======================  ======  ======  ======  ======  =====  ==========

Chosen: rjieba search mode (accurate words, HMM for unknown names, plus their 2- and
3-character dictionary sub-words), the user dictionary in ``data/userdict.txt`` (organ names
and archive terms stay whole, so 青禾区人民政府办公室 is one precise query token), and the
dictionary words of 4+ characters inside long words (search mode stops at 3: 人民政府 inside
青禾区人民政府办公室). It finds words as people type them as well as full mode does, at nearly
twice the speed (reindex ≥ 2,000 entries/s needs about 4 MB/s including the database). Full
mode's extra recall is almost all word-edge fragments (后移, 比增, 民为); bigrams find every
substring but make 55 % more tokens and match across word edges. The remaining gap, a query
word that cuts into single characters (融媒体 → 融/媒体 when 融媒体中心 was indexed whole), is
closed at query time: the other tokens select, the stored text confirms the substring. On top:

- 文号 become single normalised tokens (:mod:`lantai.search.docnumber`);
- full-width Latin and digits fold to ASCII and Latin is lower-cased (ＯＦＤ, OFD and ofd meet);
- punctuation and one-character function words (的, 了, 和 …) are not indexed.

Every index records :attr:`Tokenizer.fingerprint`; when the dictionary, rjieba or these rules
change, the index reports itself stale, because old tokens and new queries would not meet.
"""

from __future__ import annotations

import hashlib
import operator
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from importlib.metadata import version
from itertools import chain, filterfalse, repeat
from typing import Any

from lantai.search.docnumber import as_document_number, document_number_tokens

RULES_VERSION = "1"
STOPWORDS = frozenset("的了和与及或在是对为等之其并将把被以于由从向也就都而且又")  # one-character function words
_WIDE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code - 0xFEE0).isalnum()}
_WIDE[0x3000] = 0x20
MAX_TOKEN = 64  # longer runs (a pasted table of digits) are not words anyone searches for
_WORD = re.compile(r"[^\W_]{1,64}")
_RUNS = re.compile(r"[\u4e00-\u9fff]+|[^\W_\u4e00-\u9fff]+")
MODES = ("accurate", "search", "search+dict", "search+subwords+dict", "search+full+dict", "bigram")
DEFAULT_MODE = "search+subwords+dict"
_WIDE_RUN = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]+")


def _chinese_without(excluded: frozenset[str]) -> str:
    """A character class of the CJK Unified Ideographs except ``excluded``."""
    low, ranges = 0x4E00, []
    for code in sorted(map(ord, excluded)):
        if code > low:
            ranges.append(f"{chr(low)}-{chr(code - 1)}")
        low = code + 1
    return "[" + "".join(ranges) + f"{chr(low)}-\u9fff]"


_GRAM_RUN = re.compile(_chinese_without(STOPWORDS) + "{2,}")  # runs of 2+ Chinese characters, no function word
_TAIL = operator.itemgetter(slice(1, None))


def fold_width(text: str) -> str:
    """Full-width letters, digits and space to ASCII; Chinese punctuation is kept for display."""
    return _WIDE_RUN.sub(lambda m: m.group().translate(_WIDE), text)


def normalize(text: str) -> str:
    """What tokens are cut from: width folded and lower-cased."""
    return fold_width(text).lower()


def dictionary_words() -> list[tuple[str, int | None, str | None]]:
    """The shipped user dictionary: (word, frequency, part of speech)."""
    text = resources.files("lantai.search").joinpath("data/userdict.txt").read_text("utf-8")
    words = []
    for line in text.splitlines():
        parts = line.split()
        if parts and not parts[0].startswith("#"):
            freq = int(parts[1]) if len(parts) > 1 else None
            words.append((parts[0], freq, parts[2] if len(parts) > 2 else None))
    return words


class Tokenizer:
    """Cuts documents and queries the same way; one instance is shared (the dictionary loads once)."""

    def __init__(self, extra_words: Iterable[str] = (), *, mode: str = DEFAULT_MODE) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown tokenizer mode {mode!r}")
        self.mode = mode
        self.extra_words = tuple(extra_words)
        import rjieba  # here, not at module level: opening an archive imports this package (~0.3 s)

        self._jieba = rjieba.Jieba()
        self._subword_cache = _Subwords(self._jieba)
        self._search_pieces = _SearchPieces(self._jieba)
        words = dictionary_words() if mode.endswith("dict") else []
        words += [(w, None, None) for w in self.extra_words]
        for word, freq, tag in words:
            self._jieba.add_word(normalize(word), freq, tag)
        digest = hashlib.sha256(f"{RULES_VERSION}|{mode}|{version('rjieba')}".encode())
        for word, freq, tag in sorted(words, key=lambda w: w[0]):
            digest.update(f"\n{word} {freq} {tag}".encode())
        self.fingerprint = digest.hexdigest()[:16]

    def index_tokens(self, text: str, *, distinct: bool = False, folded: bool = False) -> list[str]:
        """Tokens to index for ``text``, repeated as often as they occur (term frequency counts).

        ``distinct``: for an index that keeps each token once (PostgreSQL's tsvector, without
        positions), repeats may be left out, and are dropped before the cleaning, which then
        handles about a quarter of the tokens (a real 公文's body: ~910 cut, ~250 distinct);
        the same tokens, each once (:meth:`_search_words`).
        ``folded``: ``text`` is width-folded already (prepare folds the fields it stores), so only
        lower-cased here: folding scans the whole text again (15 µs of a real 公文's body).
        """
        text = text.lower() if folded else normalize(text)
        if self.mode == "bigram":
            return _clean(_bigrams(text)) + document_number_tokens(text)
        if self.mode == "accurate":
            return _clean(self._jieba.cut(text)) + document_number_tokens(text)
        if distinct:
            tokens = _clean_distinct(self._search_words(text))
        else:
            tokens = _clean(self._jieba.cut_for_search(text))
        if self.mode == "search+full+dict":
            seen = set(tokens)
            tokens += [t for t in _clean(self._jieba.cut_all(text)) if len(t) > 1 and t not in seen]
        elif self.mode == "search+subwords+dict":
            # every token is letters and digits now, so a long word is a long token (a regular
            # expression over the joined tokens found the same ones, at 42 µs a 2 KB body against 11)
            tokens += chain.from_iterable(map(self._subword_cache.__getitem__, [t for t in tokens if len(t) > 3]))
        return tokens + document_number_tokens(text)

    def _search_words(self, text: str) -> dict[str, None]:
        """The distinct words rjieba's search mode cuts ``text`` into, in order of first appearance
        (each accurate word, then the dictionary's 2- and 3-character words inside the longer ones).

        Search mode looks up the pieces of every word again each time it occurs; here the text is
        cut once in accurate mode and the pieces of each distinct word come from a cache (a real
        公文's body: ~750 words, ~220 distinct; 268 → 248 µs for its tokens). The same set of
        words as ``cut_for_search``: a test compares both on random texts.
        """
        words = dict.fromkeys(self._jieba.cut(text))
        words.update(dict.fromkeys(chain.from_iterable(
            map(self._search_pieces.__getitem__, [w for w in words if len(w) > 2]))))
        return words

    def document_number_tokens(self, text: str) -> list[str]:
        """Tokens for a field that holds only a 文号: the exact code, no tails."""
        return document_number_tokens(normalize(text), exact=True)

    def query_tokens(self, text: str) -> list[str]:
        """Tokens that must all be present for ``text`` (a word or phrase typed by a person)."""
        text = normalize(text)
        number = as_document_number(text)
        if number is not None:
            return [number]
        if self.mode == "bigram":
            return _dedupe(_clean(_bigrams(text)))
        return _dedupe(_clean(self._jieba.cut(text)) + document_number_tokens(text))

    def query_terms(self, text: str) -> tuple[list[str], bool]:
        """(tokens the index must hold, whether ``text`` must also be checked as a substring).

        A word the index holds whole never cuts into single Chinese characters, but a query can:
        融媒体 → 融/媒体 when 青禾区融媒体中心 was indexed as one word. Single characters are not
        indexed (they would double the index), so they are dropped from the index match and the
        whole word is checked in the stored text instead: recall stays complete and the result
        stays exact. A query of single characters only keeps them (it may miss).
        """
        tokens = self.query_tokens(text)
        longer = [t for t in tokens if not _single_cjk(t)]
        if longer and len(longer) < len(tokens):
            return longer, True
        return tokens, False

    def grams(self, text: str) -> list[str]:
        """The distinct pairs of adjacent Chinese characters in ``text``, without pairs holding a
        one-character function word (的, 了 …), in order of first appearance.

        The index stores, for each entry, the pairs of its checked text that are not already
        among its tokens (prepare.PreparedDoc.grams); a phrase's pairs are then asked of the
        index, so an exact phrase check reads only the rows holding every pair of the phrase.
        Function words are left out on both sides: their pairs are in most texts and would
        select nothing. Normalising changes no Chinese character, so the text is taken as it is.
        Written for speed (a reindex cuts every text): one regular expression finds the runs,
        C loops make the pairs, with no Python step per pair or run (a 700-character text: 90 µs,
        against 670 testing each pair in Python).
        """
        runs = list(dict.fromkeys(_GRAM_RUN.findall(text)))  # a repeated run (a name, a phrase) cut once
        return list(dict.fromkeys(chain.from_iterable(map(map, repeat(operator.add), runs, map(_TAIL, runs)))))

    def highlight_terms(self, text: str) -> list[str]:
        """Strings to mark in snippets for a query word: the word itself and its tokens."""
        return _dedupe([normalize(text).strip(), *self.query_tokens(text)])


class _WordCache(dict[str, tuple[str, ...]]):
    """word → the words :meth:`_cut` finds inside it, cut on the word's first lookup.

    A dict, so the lookups of a document's words are one ``map`` in C instead of a method call
    per word (``index_tokens`` of a 2 KB body 302 → 281 µs). At most ``LIMIT`` words are kept;
    rarer ones are cut again when they come back.
    """

    LIMIT = 100_000

    def __init__(self, jieba: Any) -> None:
        super().__init__()
        self._jieba = jieba

    def __missing__(self, word: str) -> tuple[str, ...]:
        found = self._cut(word)
        if len(self) < self.LIMIT:
            self[word] = found
        return found

    def _cut(self, word: str) -> tuple[str, ...]:
        raise NotImplementedError


class _Subwords(_WordCache):
    """word → the dictionary words of 4+ characters inside it (search mode stops at 3)."""

    def _cut(self, word: str) -> tuple[str, ...]:
        return tuple(t for t in self._jieba.cut_all(word) if 3 < len(t) < len(word) and t.isalnum())


class _SearchPieces(_WordCache):
    """word → the dictionary words of 2 and 3 characters inside it, as rjieba's search mode adds
    them after a word of more than 2 (for 2) or 3 (for 3) characters."""

    def _cut(self, word: str) -> tuple[str, ...]:
        has, size = self._jieba.has_word, len(word)
        found = [word[i : i + 2] for i in range(size - 1) if has(word[i : i + 2])]
        if size > 3:
            found += [word[i : i + 3] for i in range(size - 2) if has(word[i : i + 3])]
        return tuple(found)


def _clean_distinct(words: dict[str, None]) -> list[str]:
    """:func:`_clean` of distinct words, taken as a dict it may change: the few that are not
    letters and digits are found by a C loop and replaced by their runs, and function words and
    overlong tokens removed by key (a real 公文's ~240 distinct words: 37 → ~25 µs)."""
    odd = list(filterfalse(str.isalnum, words))
    if odd:
        for token in odd:
            del words[token]
        words.update(dict.fromkeys(_WORD.findall(" ".join(odd))))
    for stopword in STOPWORDS & words.keys():
        del words[stopword]
    if words and max(map(len, words)) > MAX_TOKEN:
        return [t for t in words if len(t) <= MAX_TOKEN]
    return list(words)


def _clean(tokens: list[str]) -> list[str]:
    """Letters-and-digits tokens; others (``85%``, ``，``) split into their runs or dropped; no stopwords.

    Order is not kept (the index is a bag of tokens). Written for speed: a per-token Python
    loop cost more than rjieba itself.
    """
    kept = [t for t in tokens if t.isalnum()]
    if len(kept) < len(tokens):
        kept += _WORD.findall(" ".join(t for t in tokens if not t.isalnum()))
    return [t for t in kept if t not in STOPWORDS and len(t) <= MAX_TOKEN]


def _single_cjk(token: str) -> bool:
    return len(token) == 1 and "\u4e00" <= token <= "\u9fff"


def _bigrams(text: str) -> list[str]:
    """Overlapping character pairs of Chinese runs; Latin and digit runs stay whole."""
    out: list[str] = []
    for run in _RUNS.findall(text):
        if len(run) > 1 and "\u4e00" <= run[0] <= "\u9fff":
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def _dedupe(tokens: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(t for t in tokens if t))


@lru_cache(maxsize=4)
def default_tokenizer(extra_words: tuple[str, ...] = ()) -> Tokenizer:
    """The shared tokenizer; ``extra_words`` (fonds and unit names from the catalogue) extend the dictionary."""
    return Tokenizer(extra_words)
