"""组件: grouping by 文件编号 or relation and the in-item order of STANDARDS.md §6.3."""

from __future__ import annotations

import pytest

from lantai.domain.composition import CompositionError, Document, compose


def roles(item) -> list[str]:  # type: ignore[no-untyped-def]
    return [d.role for d in item.documents]


def test_outgoing_document_by_number_in_archival_order() -> None:
    docs = [
        Document("d3", "定稿", "示政发〔2025〕3号"),
        Document("a2", "附件", related_to="d1", sequence=2),
        Document("a1", "附件", related_to="d1", sequence=1),
        Document("p", "公文处理单", "示政发[2025]3号"),
        Document("d1", "正本", "示政发〔2025〕3号", date="2025-03-01"),
        Document("r2", "修改稿", "示政发〔2025〕3号", sequence=2),
        Document("r1", "修改稿", "示政发〔2025〕3号", sequence=1),
    ]
    result = compose(docs)
    assert not result.problems
    [item] = result.items
    assert [d.id for d in item.documents] == ["p", "d1", "a1", "a2", "d3", "r1", "r2"]
    assert item.main is not None and item.main.id == "d1"


def test_forwarding_copies_and_languages() -> None:
    docs = [
        Document("copy", "复制件", "N1"), Document("fwd", "被转发文", "N1"), Document("t", "翻译本", "N1"),
        Document("main", "转发文", "N1"), Document("en", "正本", "N1", language="英文"),
        Document("mn", "正本", "N1", language="少数民族文字"),
    ]
    [item] = compose(docs).items
    assert [d.id for d in item.documents] == ["main", "mn", "en", "fwd", "copy", "t"]


def test_incoming_and_reply_are_separate_items_by_default() -> None:
    docs = [Document("in", "正本", "下政请〔2025〕1号"), Document("out", "正本", "示政复〔2025〕2号", reply_to="下政请〔2025〕1号")]
    assert len(compose(docs).items) == 2


def test_incoming_and_reply_joined_where_configured_reply_first() -> None:
    docs = [
        Document("in", "正本", "下政请〔2025〕1号"), Document("in-att", "附件", related_to="in"),
        Document("slip", "文件处理单", "下政请〔2025〕1号"),
        Document("out", "正本", "示政复〔2025〕2号", reply_to="in"), Document("out-final", "定稿", "示政复〔2025〕2号"),
    ]
    [item] = compose(docs, join_incoming_reply=True).items
    assert [d.id for d in item.documents] == ["out", "out-final", "slip", "in", "in-att"]


def test_problems_are_reported_not_guessed() -> None:
    docs = [Document("att", "附件", related_to="ghost"), Document("x", "正本", "N2"), Document("y", "正本", "N2")]
    result = compose(docs)
    kinds = {p["problem"] for p in result.problems}
    assert kinds == {"missing_relation", "no_main", "several_originals"}
    assert len(result.items) == 2


def test_unknown_role_and_duplicate_ids() -> None:
    with pytest.raises(CompositionError):
        Document("z", "草稿纸")
    with pytest.raises(CompositionError):
        compose([Document("a", "正本"), Document("a", "定稿")])
