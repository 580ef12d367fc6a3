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
