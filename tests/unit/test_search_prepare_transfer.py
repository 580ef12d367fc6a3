"""Prepared documents cross process boundaries during a reindex: the compact pickling must be exact."""

from __future__ import annotations

import pickle

from lantai.search import IndexEntry, Tokenizer
from lantai.search.prepare import PreparedDoc, prepare


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
                      meta=["x"], text=["", ""], tags=["y", "z"])
    back = pickle.loads(pickle.dumps(odd))
    assert back == odd
    assert back.title == ["a\x1fb", "c"] and back.author == [""] and back.text == ["", ""] and back.docno == []
