"""The query language: operators, phrases, fields, 文号 with brackets, and its errors."""

from __future__ import annotations

import pytest

from lantai.errors import BadInput
from lantai.search.cursor import decode, encode
from lantai.search.plan import visible_ranks
from lantai.search.querylang import And, Filter, Not, Or, Range, Word, parse
from lantai.search.snippets import snippet, term_pattern


def test_words_are_anded_and_operators_combine() -> None:
    assert parse("电子档案 归档") == And((Word("电子档案"), Word("归档")))
    assert parse("档案 AND 文件") == And((Word("档案"), Word("文件")))
    assert parse("档案 OR 文件") == Or((Word("档案"), Word("文件")))
    assert parse("(通知 OR 通报) 档案") == And((Or((Word("通知"), Word("通报"))), Word("档案")))
    assert parse("档案 NOT 会计 -文书") == And((Word("档案"), Not(Word("会计")), Not(Word("文书"))))


def test_phrases_in_ascii_and_chinese_quotes() -> None:
    assert parse('"电子文件归档"') == Word("电子文件归档", phrase=True)
    assert parse("“电子 档案”") == Word("电子 档案", phrase=True)


def test_fields_in_chinese_and_english() -> None:
    assert parse("题名:通知") == Word("通知", "title")
    assert parse("author：财政局") == Word("财政局", "author")
    assert parse("保管期限:永久 机构:办公室") == And((Filter("retention", "永久"), Filter("organisation", "办公室")))
    assert parse("年度:2025") == Filter("year", "2025")
    assert parse("年度:2020..2025") == Range("year", "2020", "2025")
    assert parse("日期:2025-01-01..") == Range("date", "2025-01-01", None)


def test_document_numbers_keep_their_brackets() -> None:
    assert parse("文号:青政办发(2025)12号") == Word("青政办发(2025)12号", "document_number")
    assert parse("青政办发(2025)12号 通知") == And((Word("青政办发(2025)12号"), Word("通知")))


def test_unknown_prefixes_and_lowercase_operators_are_words() -> None:
    assert parse("http://x") == Word("http://x")
    assert parse("档案 and 文件") == And((Word("档案"), Word("and"), Word("文件")))


@pytest.mark.parametrize("bad", ["(档案", "档案)", "年度:abc..2025"])
def test_broken_queries_are_bad_input(bad: str) -> None:
    with pytest.raises(BadInput):
        parse(bad)


def test_empty_queries_parse_to_nothing() -> None:
    assert parse("") is None and parse("   ") is None and parse("NOT") is None


def test_clearance_ranks_fail_closed() -> None:
    assert visible_ranks("公开") == [0]
    assert visible_ranks("内部") == visible_ranks("限制") == [0, 1]
    assert visible_ranks("绝密") == [0, 1, 2, 3, 4]
    assert visible_ranks("superuser") == [0]


def test_cursor_round_trip_and_tampering() -> None:
    cursor = encode("date", "2025-01-01", 42)
    assert decode(cursor, "date") == ("2025-01-01", 42)
    with pytest.raises(BadInput):
        decode(cursor, "relevance")
    with pytest.raises(BadInput):
        decode("!!!", "date")


def test_snippet_window_and_highlights() -> None:
    body = "前言" * 100 + "电子档案归档工作" + "结尾" * 100
    text, spans = snippet(body, term_pattern(["档案", "电子档案"]), 40)
    assert text.startswith("…") and text.endswith("…")
    assert [text[a:b] for a, b in spans] == ["电子档案"]
