"""Prepared documents cross process boundaries during a reindex: the compact pickling must be exact."""

from __future__ import annotations

import pickle

from lantai.search import IndexEntry, Tokenizer
from lantai.search.pairs import GramPairs
from lantai.search.prepare import GRAM, PreparedDoc, gram_tag, prepare


def _doc() -> PreparedDoc:
    entry = IndexEntry("R-1", title="青禾区档案馆关于做好档案移交进馆工作的通知", document_number="青档发〔2025〕12号",
                       author="青禾区档案馆", body="各单位：请于2025年12月前完成电子档案移交，OFD 与 PDF 均可。", year=2025)
    return prepare(entry, Tokenizer())


def test_prepared_document_survives_pickling_exactly() -> None:
    doc = _doc()
    assert doc.text and doc.docno and doc.tags
    for protocol in (2, pickle.HIGHEST_PROTOCOL):
        assert pickle.loads(pickle.dumps(doc, protocol=protocol)) == doc


def test_tokens_that_cannot_be_joined_are_shipped_as_lists() -> None:
    base = _doc()
    odd = PreparedDoc(base.entry, base.body, base.clearance_rank, title=["a\x1fb", "c"], docno=[], author=[""],
                      meta=["x"], text=["", ""], tags=["y", "z"],
                      grams=GramPairs.of_pairs(["档案", "移交"]))
    back = pickle.loads(pickle.dumps(odd))
    assert back == odd
    assert back.title == ["a\x1fb", "c"] and back.author == [""] and back.text == ["", ""] and back.docno == []
    assert back.gram_tags() == [gram_tag("档案"), gram_tag("移交")]


def test_every_chinese_pair_of_the_checked_text_is_a_token_or_a_gram_tag() -> None:
    """What lets a phrase ask the index for its pairs without losing an item: each pair of adjacent
    Chinese characters in 题名, 文号, 责任者 and the body is indexed as a token or as a gram tag."""
    tokenizer = Tokenizer()
    entry = IndexEntry("R-2", title="青禾区人民政府办公室关于做好汛期安全防范工作的通知",
                       document_number="青政办发〔2025〕12号", author="青禾区融媒体中心",
                       body="各街道办事处：要切实做好汛期安全防范，落实防汛责任制；统计执法检查结果报区政府办公室。", year=2025)
    doc = prepare(entry, tokenizer)
    tokens = {*doc.title, *doc.docno, *doc.author, *doc.meta, *doc.text}
    grams = set(doc.gram_tags())
    assert grams and all(g.startswith(GRAM) for g in grams)
    for text in (entry.title, entry.document_number, entry.author, entry.body):
        for pair in tokenizer.grams(text):
            assert pair in tokens or gram_tag(pair) in grams, pair
    assert not {g[len(GRAM):] for g in grams} & tokens  # a pair that is a token is not repeated
    assert gram_tag("期安") in grams  # across 汛期|安全: no token holds it
