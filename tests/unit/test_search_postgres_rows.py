"""The rows a PostgreSQL reindex or upsert writes: tsvectors in the binary form COPY sends."""

from __future__ import annotations

import struct
from dataclasses import replace

from lantai.search import IndexEntry, Tokenizer
from lantai.search.pairs import GramPairs
from lantai.search.postgres_fts import LEXEME_ROOM, copy_row, tsvector_lexemes, with_epoch
from lantai.search.prepare import GRAMS_CUT, gram_tag, prepare


def _entry(body: str = "各单位：请于2025年12月前完成电子档案移交，OFD 与 PDF 均可。") -> IndexEntry:
    return IndexEntry("R-1", title="青禾区档案馆关于做好档案移交进馆工作的通知", document_number="青档发〔2025〕12号",
                      author="青禾区档案馆", body=body, year=2025, retention="永久", security_classification="秘密")


def lexemes_of(tsv: bytes) -> list[str]:
    """Decode tsvectorrecv's input: int32 count, then NUL-terminated lexemes each with uint16 0."""
    (count,) = struct.unpack("!i", tsv[:4])
    parts = tsv[4:].split(b"\0\0\0")
    assert parts[-1] == b"" and len(parts) == count + 1
    return [p.decode() for p in parts[:-1]]


def test_the_binary_tsvector_holds_the_lexemes_and_the_epoch_tags_once() -> None:
    doc = prepare(_entry(), Tokenizer(), distinct=True)
    row = with_epoch(copy_row(doc), 3 * 4096 + 5)
    assert row[0] == 3 * 4096 + 5 and row[1] == "R-1" and len(row) == 16
    lexemes = lexemes_of(row[-1])
    assert len(lexemes) == len(set(lexemes))
    assert set(tsvector_lexemes(prepare(_entry(), Tokenizer()))) | {"ǂE3", "ǂy2025E3"} <= set(lexemes)
    assert doc.gram_tags() and set(doc.gram_tags()) <= set(lexemes)
    assert gram_tag("移交") not in lexemes and "移交" in lexemes  # a pair that is a token: once, as the token
    assert "档案" in lexemes and "ǂT档案" in lexemes and GRAMS_CUT not in lexemes
    assert len([x for x in lexemes if x.endswith("E3")]) == 1 + len([t for t in doc.tags if not t.startswith("ǂc")])


def test_a_document_whose_tokens_overflow_keeps_its_metadata_and_tags_and_fits() -> None:
    """Tokens beyond PostgreSQL's 1 MB of lexemes are dropped (past the cut, as past MAX_INDEXED_CHARS);
    metadata, field and filter tags stay, and the row says it was cut."""
    doc = prepare(_entry(), Tokenizer(), distinct=True)
    many = [chr(0x4E00 + i // 2000) + chr(0x4E00 + i % 2000) + chr(0x5E00 + i % 97) for i in range(150_000)]
    big = replace(doc, text=many, grams=GramPairs.of_pairs(t[:2] for t in many[:50_000]))
    row = copy_row(big)
    assert row[-1] is True
    lexemes = lexemes_of(with_epoch(row, 1)[-1])
    assert len("".join(lexemes).encode()) <= LEXEME_ROOM + 1024
    assert GRAMS_CUT in lexemes and "ǂE0" in lexemes and "ǂy2025E0" in lexemes
    assert set(doc.title) | set(doc.docno) | set(doc.tags) <= set(lexemes) and "ǂT档案" in lexemes
    assert many[0] in lexemes and many[-1] not in lexemes  # kept in text order while they fit
    assert copy_row(doc)[-1] is False


def test_a_token_that_reads_like_a_gram_tag_is_stored_once() -> None:
    """The gram tags are packed apart from the other lexemes; a token of the text spelled like one
    (ǂ is a letter: a user-dictionary word could be ``ǂg移交``) must not be sent twice, which the
    binary form would keep as two lexemes."""
    doc = prepare(_entry(), Tokenizer(), distinct=True)
    odd = replace(doc, text=[*doc.text, gram_tag("案移")])
    assert gram_tag("案移") in odd.gram_tags()
    lexemes = lexemes_of(with_epoch(copy_row(odd), 1)[-1])
    assert len(lexemes) == len(set(lexemes)) and gram_tag("案移") in lexemes
    assert set(doc.gram_tags()) <= set(lexemes)
