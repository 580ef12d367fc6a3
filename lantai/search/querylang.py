"""The query language people type, parsed into a small tree.

::

    电子档案 归档            both words (AND is implied)
    档案 OR 文件             either
    档案 NOT 会计 / -会计    without
    "电子文件归档"           exact phrase (also “…”)
    (通知 OR 通报) 档案      grouping
    题名:档案  文号:青政办发〔2025〕12号  责任者:财政局      word in one field
    年度:2025  年度:2020..2025  日期:2025-01-01..2025-06-30
    保管期限:永久  机构:办公室  文种:通知  密级:内部  全宗:Q001         exact filters

English field names work too (title, docno, author, year, date, retention, org, type,
class, fonds). A 文号 is read as one word even with ASCII brackets. Operators are upper case,
so the words "and"/"or" in a title stay words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lantai.errors import BadInput
from lantai.search.docnumber import DOCUMENT_NUMBER


@dataclass(frozen=True)
class Word:
    text: str
    field: str | None = None  # title | document_number | author | None (every text field)
    phrase: bool = False


@dataclass(frozen=True)
class Filter:
    field: str  # year | retention | organisation | document_type | security_classification | fonds
    value: str


@dataclass(frozen=True)
class Range:
    field: str  # year | date
    low: str | None
    high: str | None


@dataclass(frozen=True)
class And:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    item: Node


Node = Word | Filter | Range | And | Or | Not

TEXT_FIELDS = {"题名": "title", "title": "title", "文号": "document_number", "docno": "document_number",
               "责任者": "author", "author": "author"}
EXACT_FIELDS = {"保管期限": "retention", "retention": "retention", "机构": "organisation", "org": "organisation",
                "文种": "document_type", "type": "document_type", "密级": "security_classification",
                "class": "security_classification", "全宗": "fonds", "fonds": "fonds"}
RANGE_FIELDS = {"年度": "year", "year": "year", "日期": "date", "date": "date"}
_FIELD = re.compile(r"(?P<name>[^\s:：()\"“”]+)[:：]")
_QUOTES = {'"': '"', "“": "”"}


def parse(text: str) -> Node | None:
    """Parse a query; None when it holds nothing to search for. Raises BadInput on broken syntax."""
    parser = _Parser(_lex(text))
    node = parser.expression()
    if parser.peek() is not None:
        raise BadInput(f"检索式有多余的“{parser.peek()}”", f"unexpected {parser.peek()!r} in query")
    return node


def _lex(text: str) -> list[object]:
    """Tokens: '(' ')' 'AND' 'OR' 'NOT' or ('atom', negated, field, text, phrase)."""
    out: list[object] = []
    pos, n = 0, len(text)
    while pos < n:
        if text[pos].isspace():
            pos += 1
            continue
        if text[pos] in "()":
            out.append(text[pos])
            pos += 1
            continue
        pos = _lex_atom(text, pos, out)
    return out


def _lex_atom(text: str, pos: int, out: list[object]) -> int:
    negated = text[pos] == "-" and pos + 1 < len(text) and not text[pos + 1].isspace()
    pos += negated
    field = None
    match = _FIELD.match(text, pos)
    if match and _known_field(match["name"]):
        field, pos = match["name"], match.end()
    number = DOCUMENT_NUMBER.match(text, pos)
    if number:
        out.append(("atom", negated, field, number.group(0), False))
        return number.end()
    if pos < len(text) and text[pos] in _QUOTES:
        end = text.find(_QUOTES[text[pos]], pos + 1)
        end = len(text) if end < 0 else end
        out.append(("atom", negated, field, text[pos + 1 : end], True))
        return end + 1
    end = pos
    while end < len(text) and not text[end].isspace() and text[end] not in "()":
        end += 1
    word = text[pos:end]
    if not negated and field is None and word in ("AND", "OR", "NOT"):
        out.append(word)
    elif word or field:
        out.append(("atom", negated, field, word, False))
    return max(end, pos + 1)


def _known_field(name: str) -> bool:
    return name in TEXT_FIELDS or name in EXACT_FIELDS or name in RANGE_FIELDS


class _Parser:
    def __init__(self, tokens: list[object]) -> None:
        self.tokens, self.i = tokens, 0

    def peek(self) -> object | None:
        return self.tokens[self.i] if self.i < len(self.tokens) else None

    def take(self) -> object:
        self.i += 1
        return self.tokens[self.i - 1]

    def expression(self) -> Node | None:
        items = [self.conjunction()]
        while self.peek() == "OR":
            self.take()
            items.append(self.conjunction())
        kept = tuple(i for i in items if i is not None)
        return None if not kept else kept[0] if len(kept) == 1 else Or(kept)

    def conjunction(self) -> Node | None:
        items: list[Node] = []
        while self.peek() not in (None, "OR", ")"):
            if self.peek() == "AND":
                self.take()
                continue
            node = self.unary()
            if node is not None:
                items.append(node)
        return None if not items else items[0] if len(items) == 1 else And(tuple(items))

    def unary(self) -> Node | None:
        token = self.take()
        if token == "NOT":
            inner = self.unary() if self.peek() not in (None, "OR", ")") else None
            return Not(inner) if inner is not None else None
        if token == "(":
            inner = self.expression()
            if self.peek() != ")":
                raise BadInput("检索式括号不匹配", "unbalanced parentheses in query")
            self.take()
            return inner
        if token == ")":
            raise BadInput("检索式括号不匹配", "unbalanced parentheses in query")
        _, negated, field, text, phrase = token  # type: ignore[misc]
        node = _atom(field, text, phrase)
        return Not(node) if negated and node is not None else node


def _atom(field: str | None, text: str, phrase: bool) -> Node | None:
    text = text.strip()
    if not text:
        return None
    if field in EXACT_FIELDS:
        return Filter(EXACT_FIELDS[field], text)
    if field in RANGE_FIELDS:
        return _range(RANGE_FIELDS[field], text)
    return Word(text, TEXT_FIELDS.get(field or ""), phrase)


def _range(field: str, text: str) -> Node:
    low, sep, high = text.partition("..")
    if not sep:
        return Filter("year", text) if field == "year" else Range("date", text, text + "\uffff")
    if field == "year" and not all(v.strip().isdigit() for v in (low, high) if v.strip()):
        raise BadInput(f"年度范围无效: {text}", f"bad year range: {text}")
    return Range(field, low.strip() or None, high.strip() or None)
