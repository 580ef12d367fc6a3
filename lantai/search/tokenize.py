"""Chinese tokenisation for the search index: rjieba segmentation plus a user dictionary.

Neither SQLite FTS5 nor PostgreSQL 15 here can cut Chinese (FTS5 unicode61 sees a sentence as
one token, trigram misses two-character words, and zhparser/pg_jieba are not packaged), so
Lantai cuts the text itself and both backends index the same pre-cut tokens.

Choice, measured by ``bench/bench_search.py --tokenizers`` on 2,000 synthetic 公文 (1.9 M chars,
government and archive vocabulary, 8 organ names). Recall is the share of queries that find the
document they were drawn from; queries are 6,000 words cut from those documents (accurate-mode
words, dictionary words inside longer words, organ names, person names):

======================  ========  ==========  ==========  ======================================
option                  recall    MB/s        tokens/doc  note
======================  ========  ==========  ==========  ======================================
accurate (cut)          70.9 %    5.37        447         档案 misses 档案馆; 人民政府 misses
search mode             97.3 %    4.43        581         loses 4-char words inside dict words
search + user dict      96.8 %    4.42        577         青禾区人民政府办公室 hides 人民政府
search + full + dict    100.0 %   2.61        847         chosen
CJK bigrams             100.0 %   3.39        948         also matches across word edges
======================  ========  ==========  ==========  ======================================

(MB/s includes the normalisation and filtering done in Python; rjieba alone is faster.)

So a document is indexed with rjieba's search-mode tokens (accurate words with HMM for unknown
names, plus their 2- and 3-character dictionary sub-words) together with the full-mode
dictionary words of two characters or more, which puts every dictionary word inside a longer
word in the index (人民政府 inside 青禾区人民政府办公室). The user dictionary in
``data/userdict.txt`` keeps organ names and archive terms whole for accurate queries. Queries
are cut in accurate mode, so 青禾区人民政府办公室 is one precise token, not eight. On top:

- 文号 become single normalised tokens (:mod:`lantai.search.docnumber`);
- full-width Latin and digits fold to ASCII and Latin is lower-cased (ＯＦＤ, OFD and ofd meet);
- punctuation and a short list of function words (的, 了, 和 …) are not indexed.

Every index records :attr:`Tokenizer.fingerprint`; when the dictionary, rjieba or these rules
change, the index reports itself stale, because old tokens and new queries would not meet.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from functools import lru_cache
from importlib import resources
from importlib.metadata import version

import rjieba

from lantai.search.docnumber import as_document_number, document_number_tokens

RULES_VERSION = "1"
STOPWORDS = frozenset("的了和与及或在是对为等之其并将把被以于由从向也就都而且又")  # one-character function words
_WIDE = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code - 0xFEE0).isalnum()}
_WIDE[0x3000] = 0x20
MAX_TOKEN = 64  # longer runs (a pasted table of digits) are not words anyone searches for
_WORD = re.compile(r"[^\W_]{1,64}")
_LONG = re.compile(r"[^\W_]{4,}")
_RUNS = re.compile(r"[\u4e00-\u9fff]+|[^\W_\u4e00-\u9fff]+")
MODES = ("accurate", "search", "search+dict", "search+subwords+dict", "search+full+dict", "bigram")
DEFAULT_MODE = "search+subwords+dict"
_WIDE_RUN = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a\u3000]+")


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
        self._jieba = rjieba.Jieba()
        self._subword_cache: dict[str, tuple[str, ...]] = {}
        words = dictionary_words() if mode.endswith("dict") else []
        words += [(w, None, None) for w in extra_words]
        for word, freq, tag in words:
            self._jieba.add_word(normalize(word), freq, tag)
        digest = hashlib.sha256(f"{RULES_VERSION}|{mode}|{version('rjieba')}".encode())
        for word, freq, tag in sorted(words, key=lambda w: w[0]):
            digest.update(f"\n{word} {freq} {tag}".encode())
        self.fingerprint = digest.hexdigest()[:16]

    def index_tokens(self, text: str) -> list[str]:
        """Tokens to index for ``text``, repeated as often as they occur (term frequency counts)."""
        text = normalize(text)
        if self.mode == "bigram":
            return _clean(_bigrams(text)) + document_number_tokens(text)
        if self.mode == "accurate":
            return _clean(self._jieba.cut(text)) + document_number_tokens(text)
        tokens = _clean(self._jieba.cut_for_search(text))
        if self.mode == "search+full+dict":
            seen = set(tokens)
            tokens += [t for t in _clean(self._jieba.cut_all(text)) if len(t) > 1 and t not in seen]
        elif self.mode == "search+subwords+dict":
            tokens += [s for t in _LONG.findall(" ".join(tokens)) for s in self._subwords(t)]
        return tokens + document_number_tokens(text)

    def _subwords(self, word: str) -> tuple[str, ...]:
        """Dictionary words of 4+ characters inside ``word`` (search mode stops at 3), cached."""
        found = self._subword_cache.get(word)
        if found is None:
            found = tuple(t for t in self._jieba.cut_all(word) if 3 < len(t) < len(word) and t.isalnum())
            if len(self._subword_cache) < 100_000:
                self._subword_cache[word] = found
        return found

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

    def highlight_terms(self, text: str) -> list[str]:
        """Strings to mark in snippets for a query word: the word itself and its tokens."""
        return _dedupe([normalize(text).strip(), *self.query_tokens(text)])


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
