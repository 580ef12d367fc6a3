"""The security restriction every plan carries: visible and hidden ranks split every stored rank."""

from __future__ import annotations

import pytest

from lantai.domain.roles import CLEARANCE_RANK, rank
from lantai.search.model import SearchQuery
from lantai.search.plan import STORED_RANKS, hidden_ranks, plan_query, visible_ranks
from lantai.search.postgres_fts import PostgresDialect
from lantai.search.prepare import clearance_rank
from lantai.search.sqlite_fts import SqliteDialect
from lantai.search.tokenize import default_tokenizer

CLEARANCES = [*CLEARANCE_RANK, "管理员", "", "TOP SECRET"]


@pytest.mark.parametrize("clearance", CLEARANCES)
def test_visible_and_hidden_ranks_partition_every_stored_rank(clearance: str) -> None:
    visible, hidden = set(visible_ranks(clearance)), set(hidden_ranks(clearance))
    assert visible | hidden == STORED_RANKS and not visible & hidden
    assert 0 in visible and rank("未知密级") in hidden  # 公开 always visible, unknown never
    for level in [*CLEARANCE_RANK, "", "核心", "unknown"]:  # every rank an indexed item can carry
        assert clearance_rank(level) in STORED_RANKS


def test_sqlite_excludes_hidden_ranks_and_lists_visible_ones_without_words() -> None:
    tokenizer, dialect = default_tokenizer(), SqliteDialect()
    worded = plan_query(SearchQuery(text="档案", max_clearance="秘密"), tokenizer, dialect)
    assert worded.match is not None and worded.match.endswith('NOT tags : ("ǂc3" OR "ǂc4" OR "ǂc99"))')
    bare = plan_query(SearchQuery(text="", max_clearance="内部"), tokenizer, dialect)
    assert bare.match == 'tags : ("ǂc0" OR "ǂc1")'


def test_postgres_guard_is_a_column_condition_first() -> None:
    plan = plan_query(SearchQuery(text="档案 保管期限:永久", max_clearance="内部"), default_tokenizer(), PostgresDialect())
    # Field filters such as 保管期限 are tags in the tsvector (index layout 3); clearance stays a
    # column condition, and comes first.
    assert plan.predicate is not None and plan.predicate.lstrip("(").startswith("d.clearance_rank <= ")


def test_a_phrase_asks_for_its_character_pairs_across_word_edges_first() -> None:
    tokenizer = default_tokenizer()
    query = SearchQuery(text='"做好汛期安全防范工作"', max_clearance="绝密")
    with_grams = plan_query(query, tokenizer, PostgresDialect(), grams=True)
    without = plan_query(query, tokenizer, PostgresDialect())
    # by its words (做好 / 汛期 / 安全 / 防范 / 工作) without gram tags; with them, by the pairs across
    # the words' edges (好汛, 期安, 全防, 范工), which only items holding the phrase are likely to hold
    for pair in ("好汛", "期安", "全防", "范工"):
        assert f"('{pair}' | 'ǂg{pair}')" in (with_grams.match or "")
        assert pair not in (without.match or "")
    assert "'汛期'" in (without.match or "") and "汛期" not in (with_grams.match or "")
    assert with_grams.predicate == without.predicate  # the stored text still decides
    sqlite = plan_query(query, tokenizer, SqliteDialect(), grams=True)
    assert '({title docno author meta body} : "好汛" OR tags : "ǂg好汛")' in (sqlite.match or "")


def test_phrase_pairs_are_bounded_and_skip_function_words() -> None:
    from lantai.search.plan import MAX_PHRASE_PAIRS

    long = '"各单位要充分认识加强电子文件归档管理的重要意义切实把思想和行动统一到决策部署上来"'
    plan = plan_query(SearchQuery(text=long, max_clearance="绝密"), default_tokenizer(), PostgresDialect(), grams=True)
    assert (plan.match or "").count("'ǂg") == MAX_PHRASE_PAIRS
    assert "ǂg理的" not in (plan.match or "") and "ǂg的重" not in (plan.match or "")  # 的 is not indexed
    # one word quoted: no word edge inside, so the pairs inside it
    word = plan_query(SearchQuery(text='"电子档案"', max_clearance="绝密"), default_tokenizer(), PostgresDialect(),
                      grams=True)
    assert all(f"'ǂg{p}'" in (word.match or "") for p in ("电子", "子档", "档案"))
    # a word that needs no check in the stored text asks for no pairs
    plain = plan_query(SearchQuery(text="档案移交", max_clearance="绝密"), default_tokenizer(), PostgresDialect(), grams=True)
    assert "ǂg" not in (plain.match or "")
