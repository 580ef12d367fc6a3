"""Compile a parsed query into what a backend runs: a full-text match plus an SQL predicate.

The full-text engines only see tokens, so some parts of a query need a second, exact check in
SQL: a quoted phrase is matched as "all its tokens" by the index and then as a substring of the
stored text; a date range is a column comparison. ``compile`` returns, for every node, a pair
``(match, predicate)`` whose meaning is "rows the index matches AND rows the predicate accepts"
(None = no restriction), and combines pairs so that AND, OR and NOT stay exact:

- AND: matches are ANDed, predicates are ANDed;
- OR: if no branch needs a predicate the matches are ORed; otherwise the ORed matches are only
  a candidate set and the predicate is the OR of each branch's exact test;
- NOT: ``a NOT b`` in the index when ``b`` needs no predicate, else ``NOT (b exactly)`` in SQL.

Each backend supplies a :class:`Dialect` that writes its own match syntax (FTS5 or tsquery) and
predicates. Security filtering is not optional here: :func:`plan_query` always adds the
clearance restriction, so no caller can forget it; the caller's 利用 grants in force
(``SearchQuery.granted``) widen it by record id, as the one visibility predicate does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from lantai.domain.roles import CLEARANCE_RANK, UNKNOWN_RANK, is_clearance, rank
from lantai.search.model import SearchQuery
from lantai.search.querylang import And, Filter, Node, Not, Or, Range, Word, parse
from lantai.search.tokenize import Tokenizer

Pair = tuple[str | None, str | None]
MAX_PHRASE_PAIRS = 4  # character pairs of one checked word asked of the index (see _selective)


class Dialect(Protocol):
    def term(self, tokens: list[str], field: str | None) -> str: ...
    def gram(self, pair: str) -> str:
        """Rows holding the character pair ``pair`` as a token or as a gram tag (prepare.gram_tag)."""
        ...

    def grams_cut(self) -> str:
        """Rows holding only part of their gram tags (prepare.GRAMS_CUT)."""
        ...

    def conj(self, parts: list[str]) -> str: ...
    def disj(self, parts: list[str]) -> str: ...
    def and_not(self, positive: str | None, negative: str) -> str | None: ...
    def matches(self, match: str, params: Params) -> str: ...
    def phrase(self, text: str, field: str | None, params: Params) -> str: ...
    def filter(self, field: str, value: str, params: Params) -> Pair: ...
    def range(self, field: str, low: str | None, high: str | None, params: Params) -> Pair: ...
    def clearance(self, match: str | None, visible: list[int], hidden: list[int], params: Params,
                  granted: tuple[str, ...] = ()) -> Pair:
        """``match`` restricted to items of the ``visible`` ranks (``hidden``: every other rank)
        or whose record id is in ``granted`` (of any rank)."""
        ...

    def granted(self, match: str | None, granted: tuple[str, ...], visible: list[int], params: Params) -> Pair:
        """``match`` restricted to the items whose record id is in ``granted`` and whose rank is not
        ``visible`` (those are found by :meth:`clearance` alone)."""
        ...


@dataclass
class Params:
    """Bind parameters collected while compiling, with generated names."""

    values: dict[str, object] = field(default_factory=dict)

    def add(self, value: object) -> str:
        name = f"p{len(self.values)}"
        self.values[name] = value
        return f":{name}"


@dataclass
class Plan:
    match: str | None
    predicate: str | None
    params: Params
    highlight: list[str]  # strings to mark in snippets, longest first
    has_text: bool  # False when only filters were given (relevance means nothing then)
    rank_terms: list[tuple[str, str | None]] = field(default_factory=list)  # (token, field) to score
    has_or: bool = False  # some match need not hold every word
    checks_text: bool = False  # some words are verified in the stored text (slow per row)
    # With grants beyond the clearance: the same query as two (match, predicate) pairs whose
    # matches together are this plan's — the visible ranks alone (as without grants) and the
    # granted record ids alone — for a backend that finds each faster than the two together.
    split: tuple[Pair, Pair] | None = None
    # (field, value) of the filters every match must satisfy (年度:2020 beside the words, not
    # under OR or NOT): a backend may drive its index scan by the rarest of them.
    filters: list[tuple[str, str]] = field(default_factory=list)


# Every rank an indexed item can carry: prepare.clearance_rank is domain.roles.rank, which
# returns a CLEARANCE_RANK value or UNKNOWN_RANK. visible_ranks and hidden_ranks split this set,
# so a backend may exclude the hidden ranks instead of listing the visible ones.
STORED_RANKS = frozenset(CLEARANCE_RANK.values()) | {UNKNOWN_RANK}


def visible_ranks(max_clearance: str) -> list[int]:
    """Ranks a holder of ``max_clearance`` may see; an unknown clearance sees only 公开."""
    limit = rank(max_clearance) if is_clearance(max_clearance) else 0
    return sorted({r for r in STORED_RANKS if r <= limit})


def hidden_ranks(max_clearance: str) -> list[int]:
    """Ranks a holder of ``max_clearance`` may not see (always includes UNKNOWN_RANK: fail closed)."""
    return sorted(STORED_RANKS - set(visible_ranks(max_clearance)))


def plan_query(query: SearchQuery, tokenizer: Tokenizer, dialect: Dialect, grams: bool = False,
               grams_cut: bool = False) -> Plan:
    """``grams``: the index holds gram tags (prepare.gram_tag), so words checked in the stored
    text also ask the index for their character pairs (an index built before has none).
    ``grams_cut``: some rows hold only part of theirs (prepare.GRAMS_CUT); those are asked by words."""
    params = Params()
    nodes = [n for n in (parse(query.text), *_keyword_nodes(query)) if n is not None]
    words = [w for n in nodes for w in _positive_words(n)]
    compiler = _Compiler(tokenizer, dialect, params, grams, grams_cut)
    match, predicate = compiler.conjunction([], nodes)
    match, predicate, split = _restricted(dialect, match, predicate, query, params)
    terms = {t for w in words for t in tokenizer.highlight_terms(w.text)}
    rank_terms = list(dict.fromkeys((t, w.field) for w in words for t in compiler.word_tokens(w)[0]))
    return Plan(match, predicate, params, sorted(terms, key=len, reverse=True), bool(words), rank_terms,
                any(_has_or(n) for n in nodes), compiler.checks_text, split,
                [(f.field, f.value) for n in nodes for f in _required_filters(n)])


def _restricted(dialect: Dialect, match: str | None, predicate: str | None, query: SearchQuery,
                params: Params) -> tuple[str | None, str | None, tuple[Pair, Pair] | None]:
    """The query restricted to what the caller may see — the clearance's ranks, widened by the
    granted record ids — and, when grants widen it, the same as two halves (Plan.split)."""
    visible, hidden = visible_ranks(query.max_clearance), hidden_ranks(query.max_clearance)
    granted = tuple(dict.fromkeys(query.granted)) if hidden else ()
    split = None
    if granted:
        split = (_guarded(dialect.clearance(match, visible, hidden, params), predicate),
                 _guarded(dialect.granted(match, granted, visible, params), predicate))
    return (*_guarded(dialect.clearance(match, visible, hidden, params, granted), predicate), split)


def _guarded(pair: Pair, predicate: str | None) -> Pair:
    match, guard = pair
    return match, _sql_and([p for p in (guard, predicate) if p is not None])  # the guard first: cheapest


def _keyword_nodes(query: SearchQuery) -> list[Node]:
    nodes: list[Node] = []
    for name in ("title", "document_number", "author"):
        value = getattr(query, name)
        if value:
            nodes.append(Word(value, name))
    for name in ("retention", "organisation", "document_type", "security_classification", "fonds"):
        value = getattr(query, name)
        if value:
            nodes.append(Filter(name, value))
    if query.year is not None:
        nodes.append(Filter("year", str(query.year)))
    if query.year_from is not None or query.year_to is not None:
        nodes.append(Range("year", _str(query.year_from), _str(query.year_to)))
    if query.date_from or query.date_to:
        high = query.date_to + "\uffff" if query.date_to else None  # 2025-06 includes 2025-06-30
        nodes.append(Range("date", query.date_from, high))
    return nodes


def _str(value: int | None) -> str | None:
    return None if value is None else str(value)


def _has_or(node: Node) -> bool:
    if isinstance(node, Or):
        return True
    if isinstance(node, And):
        return any(_has_or(i) for i in node.items)
    return isinstance(node, Not) and _has_or(node.item)


def _required_filters(node: Node) -> list[Filter]:
    if isinstance(node, Filter):
        return [node]
    if isinstance(node, And):
        return [f for item in node.items for f in _required_filters(item)]
    return []


def _positive_words(node: Node) -> list[Word]:
    if isinstance(node, Word):
        return [node]
    if isinstance(node, And | Or):
        return [w for item in node.items for w in _positive_words(item)]
    return []


class _Compiler:
    def __init__(self, tokenizer: Tokenizer, dialect: Dialect, params: Params, grams: bool = False,
                 grams_cut: bool = False) -> None:
        self.tokenizer, self.d, self.params, self.grams, self.grams_cut = tokenizer, dialect, params, grams, grams_cut
        self.checks_text = False

    def node(self, node: Node) -> Pair:
        if isinstance(node, Word):
            return self.word(node)
        if isinstance(node, Filter):
            return self.d.filter(node.field, node.value, self.params)
        if isinstance(node, Range):
            return self.d.range(node.field, node.low, node.high, self.params)
        if isinstance(node, And):
            return self.conjunction([], list(node.items))
        if isinstance(node, Or):
            return self.disjunction([self.node(i) for i in node.items])
        return self.conjunction([], [node])

    def word_tokens(self, word: Word) -> tuple[list[str], bool]:
        """(tokens the index must hold for ``word``, whether it needs an exact substring check)."""
        if word.field == "document_number" and self.tokenizer.document_number_tokens(word.text):
            return self.tokenizer.document_number_tokens(word.text)[:1], False
        return self.tokenizer.query_terms(word.text)

    def word(self, word: Word) -> Pair:
        tokens, check = self.word_tokens(word)
        if not tokens:
            return None, None
        # A quoted phrase is an exact string: with gram tags in the index, one of a single word
        # too (青禾 inside 青禾区, which the tokenizer keeps whole), checked in the stored text.
        pairs = self.tokenizer.grams(word.text) if self.grams and (check or word.phrase) else []
        if not (check or pairs or (word.phrase and len(tokens) > 1)):
            return self.d.term(tokens, word.field), None
        self.checks_text = True
        predicate = self.d.phrase(word.text, word.field, self.params)
        if not pairs:
            return self.d.term(tokens, word.field), predicate
        # The stored text decides; the index only has to let every holder of the text through.
        # Its pairs always do (each is a token or a gram tag of every text holding it); the
        # words the tokenizer cuts from the query alone need not be the ones it cut from the
        # text (融媒体 inside 融媒体中心, a word edge that moved), so only Latin and digit tokens stay.
        kept = [t for t in tokens if not _chinese(t)]
        asked = [self.d.gram(p) for p in _selective(pairs, tokens)]
        match = self.d.conj(([self.d.term(kept, word.field)] if kept else []) + asked)
        if self.grams_cut:  # rows without all their pairs: by the words, as before gram tags
            match = self.d.disj([match, self.d.conj([self.d.grams_cut(), self.d.term(tokens, word.field)])])
        return match, predicate

    def conjunction(self, pairs: list[Pair], nodes: list[Node]) -> Pair:
        negatives = [self.node(n.item) for n in nodes if isinstance(n, Not)]
        pairs = pairs + [self.node(n) for n in nodes if not isinstance(n, Not)]
        matches = [m for m, _ in pairs if m is not None]
        predicates = [p for _, p in pairs if p is not None]
        match = self.d.conj(matches) if matches else None
        for neg_match, neg_predicate in negatives:
            combined = self.d.and_not(match, neg_match) if neg_match and not neg_predicate else None
            if combined is not None:
                match = combined
            elif neg_match or neg_predicate:
                predicates.append(f"NOT ({self.exact((neg_match, neg_predicate))})")
        return match, _sql_and(predicates)

    def disjunction(self, pairs: list[Pair]) -> Pair:
        if any(m is None and p is None for m, p in pairs):
            return None, None  # one branch matches everything
        if all(p is None for _, p in pairs):
            return self.d.disj([m for m, _ in pairs if m is not None]), None
        candidates = self.d.disj([m for m, _ in pairs]) if all(m for m, _ in pairs) else None
        return candidates, "(" + " OR ".join(self.exact(p) for p in pairs) + ")"

    def exact(self, pair: Pair) -> str:
        match, predicate = pair
        parts = ([self.d.matches(match, self.params)] if match else []) + ([predicate] if predicate else [])
        return _sql_and(parts) or "1=1"


def _chinese(token: str) -> bool:
    return all("\u4e00" <= ch <= "\u9fff" for ch in token)


def _selective(pairs: list[str], tokens: list[str]) -> list[str]:
    """The pairs to ask: those across the query's word edges (防范|工作 → 范工: its words are in
    many items that do not hold the phrase, the pair across them in few, and as a rare string
    it costs the index little to read), else those inside its one word; at most MAX_PHRASE_PAIRS.
    A pair inside a word adds little to the pairs across edges, and a common word's pair (工作)
    is a long posting list for the index to read in every epoch asked."""
    edges = [p for p in pairs if not any(p in t for t in tokens)]
    return (edges or pairs)[:MAX_PHRASE_PAIRS]


def _sql_and(parts: list[str]) -> str | None:
    return None if not parts else parts[0] if len(parts) == 1 else "(" + " AND ".join(parts) + ")"
