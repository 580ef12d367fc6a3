"""One suite, both backends: relevance, security filtering, facets, pages, sorting and lifecycle.

The relevance set is built here: target items for two-character words, organ names, 文号,
mixed scripts and phrases, among filler items that make term statistics realistic. PostgreSQL
runs when LANTAI_TEST_DATABASE_URL is set, in a fresh schema dropped after the module.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Connection, Engine, create_engine, text

from lantai.errors import BadInput
from lantai.search import SORTS, GuardedIndex, IndexEntry, SearchQuery, Tokenizer, open_index
from lantai.search.index import SearchIndex
from lantai.search.model import MAX_RESULT_WINDOW
from lantai.search.plan import Params, plan_query
from lantai.search.tokenize import STOPWORDS, normalize

PG_ENV = "LANTAI_TEST_DATABASE_URL"
TOP = "绝密"


def item(record_id: str, title: str, body: str = "", **meta: object) -> IndexEntry:
    defaults: dict[str, object] = {"year": 2025, "date": "2025-01-01", "retention": "30年", "organisation": "办公室",
                                   "document_type": "通知", "security_classification": "公开",
                                   "archival_code": f"Q001-WS·2025-D30-{record_id}", "fonds": "Q001"}
    defaults.update(meta)
    return IndexEntry(record_id, title=title, body=body, **defaults)  # type: ignore[arg-type]


TARGETS = [
    item("D01", "青禾区人民政府办公室关于进一步加强电子档案归档管理的通知", "各街道办事处：为规范电子文件归档工作，"
         "区长陈国华要求各单位以OFD格式报送，详见附件。", document_number="青政办发〔2025〕12号",
         author="青禾区人民政府办公室", retention="永久", date="2025-03-01"),
    item("D02", "关于做好档案移交进馆工作的通知", "根据青政办发〔2025〕12号文件要求，现将档案移交事项通知如下。"
         "再次强调青政办发〔2025〕12号的各项要求，落实青政办发〔2025〕12号。", document_number="青档发〔2025〕3号",
         author="青禾区档案馆", organisation="档案馆", date="2025-04-10"),
    item("D03", "青禾区财政局关于下达专项资金的通报", "专项资金已经下达，请按照ＯＦＤ和PDF两种格式归档。",
         document_number="青财发〔2025〕12号", author="青禾区财政局", organisation="财政局", document_type="通报",
         date="2025-06-30", retention="10年"),
    item("D04", "关于印发公文格式执行标准的通知", "公文格式执行 GB/T 9704—2012《党政机关公文格式》国家标准。",
         document_number="青政办发〔2024〕8号", year=2024, date="2024-11-20", author="青禾区人民政府办公室"),
    item("D05", "关于人事档案专项审核的报告", "人事档案审核发现的问题。代号青松行动。",
         document_number="青组发〔2025〕2号", author="区委组织部", organisation="组织部", document_type="报告",
         security_classification="秘密", date="2025-05-05"),
    item("D06", "关于边境档案工作的请示", "机密事项。代号白鹤计划。", document_number="青办发〔2025〕1号",
         author="区委办公室", security_classification="机密", document_type="请示", date="2025-02-02"),
    item("D07", "电子文件管理系统建设方案", "系统对电子文件进行管理，支持归档和利用。", document_number="",
         author="青禾区数据资源局", organisation="数据资源局", document_type="方案", date="2025-07-07",
         security_classification="内部"),
    item("D08", "关于未定级事项的函", "代号红杉项目。", author="区委办公室", security_classification="核心",
         document_type="函", date="2025-08-08"),
    item("D09", "青禾区档案馆2024年度工作总结", "全年接收档案3000卷。", author="青禾区档案馆", organisation="档案馆",
         document_type="总结", year=2024, date="2024-12-31", security_classification=""),
]
FILLER_TOPICS = ["道路交通安全管理", "冬季供暖保障", "城乡居民医疗保险参保", "森林防火", "中小学招生入学",
                 "农贸市场管理", "河道禁捕退捕", "老旧小区改造", "传染病防控", "统计执法检查"]


def fillers() -> list[IndexEntry]:
    out = []
    for n in range(40):
        topic = FILLER_TOPICS[n % len(FILLER_TOPICS)]
        out.append(item(f"F{n:02d}", f"关于{topic}的意见", f"各单位要高度重视{topic}工作，明确责任分工，"
                        f"加强部门协同。第{n}号意见。", document_number=f"青综发〔2023〕{n + 100}号",
                        author="青禾区综合办", organisation="综合办", document_type="意见", year=2023,
                        date=f"2023-{n % 12 + 1:02d}-15", security_classification=("公开", "内部")[n % 2]))
    return out


CORPUS = TARGETS + fillers()

# query → items that must be found (clearance 绝密); recall must be 100 %.
RELEVANCE = {
    "档案": {"D01", "D02", "D05", "D06", "D09"},
    "通知": {"D01", "D02", "D04"},
    "人民政府": {"D01", "D04"},
    "青禾区人民政府办公室": {"D01", "D04"},
    "财政局": {"D03"},
    "青禾区档案馆": {"D02", "D09"},
    "陈国华": {"D01"},
    "青政办发〔2025〕12号": {"D01", "D02"},
    "青政办发[2025]12号": {"D01", "D02"},
    "〔2025〕12号": {"D01", "D02", "D03"},
    "2025": {"D01", "D02", "D03"},
    "OFD": {"D01", "D03"},
    "ofd": {"D01", "D03"},
    "GB/T 9704": {"D04"},
    '"电子文件归档"': {"D01"},
    '"档案移交"': {"D02"},
    "专项资金 通报": {"D03"},
    "电子文件": {"D01", "D07"},
    "归档": {"D01", "D03", "D07"},
    "区人民政府": {"D01", "D04"},  # cuts into 区 + 人民政府: 区 is checked in the text
    "政府办公室": {"D01", "D04"},
}


# --- fixtures --------------------------------------------------------------------------------------
def _sqlite_engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    from lantai.catalog.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path_factory.mktemp('search') / 'catalog.sqlite3'}")
    yield engine
    engine.dispose()


def _pg_engine() -> Iterator[Engine]:
    base = os.environ.get(PG_ENV)
    if not base:
        pytest.skip(f"{PG_ENV} is not set; PostgreSQL variant skipped")
    schema = f"search_t_{uuid.uuid4().hex[:10]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = create_engine(base, connect_args={"options": f"-csearch_path={schema}"})
    try:
        yield engine
    finally:
        engine.dispose()
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    yield from (_sqlite_engine(tmp_path_factory) if request.param == "sqlite" else _pg_engine())


@pytest.fixture(scope="module")
def built(engine: Engine) -> Engine:
    """The corpus, indexed incrementally (one upsert per item, as ingest does)."""
    with engine.begin() as conn:
        index = open_index(conn)
        index.ensure_schema(conn)
        for entry in CORPUS:
            index.upsert(conn, [entry])
    return engine


@pytest.fixture
def conn(built: Engine) -> Iterator[Connection]:
    """A transaction rolled back after the test, so tests that write leave the corpus intact."""
    with built.connect() as connection:
        transaction = connection.begin()
        if connection.dialect.name == "sqlite":
            from lantai.search.sqlite_fts import ensure_transaction

            ensure_transaction(connection)
        try:
            yield connection
        finally:
            transaction.rollback()


def search(conn: Connection, text_: str = "", **kw: object) -> list[str]:
    kw.setdefault("max_clearance", TOP)
    kw.setdefault("limit", 500)
    return [h.record_id for h in open_index(conn).search(conn, SearchQuery(text=text_, **kw)).hits]  # type: ignore[arg-type]


# --- relevance -------------------------------------------------------------------------------------
def test_relevance_set_recall_is_complete(conn: Connection) -> None:
    missed = {q: sorted(must - set(search(conn, q))) for q, must in RELEVANCE.items()}
    assert {q: m for q, m in missed.items() if m} == {}


def test_exact_document_number_ranks_its_document_first(conn: Connection) -> None:
    for query in ("青政办发〔2025〕12号", "青政办发（2025）12号", "文号:青政办发〔2025〕12号"):
        assert search(conn, query)[0] == "D01"
    assert "D03" not in search(conn, "青政办发〔2025〕12号")  # another agency's 12th document
    assert search(conn, "青财发〔2025〕12号") == ["D03"]


def test_title_matches_rank_above_body_matches(conn: Connection) -> None:
    hits = search(conn, "档案移交")
    assert hits[0] == "D02"


def test_a_title_match_outranks_a_newer_body_match(conn: Connection) -> None:
    """Ties go to the newest, so the older item is first only if its title is scored."""
    index = open_index(conn)
    index.upsert(conn, [item("W1", "关于白鹭湿地保护的通知")])
    index.upsert(conn, [item("W2", "关于年度工作的通知", "涉及白鹭湿地保护。")])
    assert search(conn, "白鹭湿地") == ["W1", "W2"]
    assert search(conn, "题名:白鹭湿地") == ["W1"]
    index.upsert(conn, [item("W3", "关于年度工作的报告", "附件", author="白鹭湿地保护站")])
    assert search(conn, "白鹭湿地")[:2] == ["W1", "W3"]  # 责任者 (4) above body (1), below 题名 (10)


def test_single_character_parts_are_checked_exactly(conn: Connection) -> None:
    assert set(search(conn, "区人民政府")) == {"D01", "D04"}
    assert search(conn, "市人民政府") == []  # 人民政府 is there, 市人民政府 is not


def test_phrase_needs_the_words_together(conn: Connection) -> None:
    assert "D07" in search(conn, "电子文件 归档")  # both words, apart
    assert "D07" not in search(conn, '"电子文件归档"')
    assert search(conn, "“电子文件归档”") == ["D01"]


def candidates(conn: Connection, phrase: str, grams: bool) -> set[str]:
    """The items the index's match alone lets through for ``phrase`` (before the stored-text check)."""
    index = open_index(conn)
    plan = plan_query(SearchQuery(text=phrase, max_clearance=TOP), index.tokenizer, index.dialect,  # type: ignore[attr-defined]
                      grams=grams)
    params = Params(dict(plan.params.values))
    where = index.dialect.matches(plan.match, params)  # type: ignore[attr-defined]
    return set(conn.execute(text(f"SELECT d.record_id FROM search_docs d WHERE {where}"), params.values).scalars())


def test_the_index_answers_a_phrases_character_pairs(conn: Connection) -> None:
    """D07 holds 电子文件 and 归档 apart: by its words alone it is a candidate whose stored text must
    be read; the pair across the words' edge (件归) is not in it, so the index leaves it out."""
    assert {"D01", "D07"} <= candidates(conn, '"电子文件归档"', grams=False)
    assert candidates(conn, '"电子文件归档"', grams=True) == {"D01"}
    assert candidates(conn, '"做好汛期安全防范工作"', grams=True) == set()


def test_a_quoted_phrase_finds_every_item_holding_it(conn: Connection, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every run of 2-6 Chinese characters (no function word) of the items' 题名, 责任者 and text,
    searched as a quoted phrase, finds its item, wherever the tokenizer's word edges fall there.
    By its words alone (an index without gram tags) about a fifth of them were missed: the words
    cut from the phrase alone were not the ones cut from the text (一步 inside 进一步)."""
    phrases: dict[str, str] = {}
    for entry in TARGETS[:7]:
        for run in re.findall(r"[\u4e00-\u9fff]+", "\n".join((entry.title, entry.author, entry.body))):
            for n in (2, 3, 4, 6):
                for i in range(len(run) - n + 1):
                    if not set(run[i:i + n]) & STOPWORDS:
                        phrases.setdefault(run[i:i + n], entry.record_id)
    assert len(phrases) > 300
    index = open_index(conn)
    found = {p: set(search(conn, f'"{p}"')) for p in sorted(phrases)}
    assert [p for p, record_id in phrases.items() if record_id not in found[p]] == []
    monkeypatch.setattr(type(index), "_holds_grams", lambda self, state: False)
    by_words = {p: set(search(conn, f'"{p}"')) for p in sorted(phrases)}
    assert all(by_words[p] <= found[p] for p in phrases)  # never fewer; exact either way (the text decides)
    assert sum(record_id not in by_words[p] for p, record_id in phrases.items()) > len(phrases) / 10
    assert all(all(normalize(p) in normalize(text_of(r)) for r in found[p]) for p in phrases)


def text_of(record_id: str) -> str:
    entry = next(e for e in CORPUS if e.record_id == record_id)
    return "\n".join((entry.title, entry.document_number, entry.author, entry.body))


def test_boolean_operators(conn: Connection) -> None:
    assert set(search(conn, "档案 NOT 移交")) == {"D01", "D05", "D06", "D09"}
    assert set(search(conn, "档案 -移交")) == {"D01", "D05", "D06", "D09"}
    assert set(search(conn, "财政局 OR 数据资源局")) == {"D03", "D07"}
    assert set(search(conn, '(通报 OR 方案) AND "电子文件"')) == {"D07"}
    assert set(search(conn, '"档案移交" OR 陈国华')) == {"D01", "D02"}
    assert "D02" not in search(conn, '档案 NOT "档案移交"')
    assert "D01" in search(conn, '档案 NOT "档案移交"')


def test_field_filters(conn: Connection) -> None:
    assert set(search(conn, "题名:通知")) == {"D01", "D02", "D04"}
    assert set(search(conn, "责任者:财政局")) == {"D03"}
    assert search(conn, "档案 年度:2024") == ["D09"]
    assert set(search(conn, "年度:2024..2025 文种:通知")) == {"D01", "D02", "D04"}
    assert search(conn, "保管期限:永久") == ["D01"]
    assert search(conn, "机构:财政局") == ["D03"]
    assert search(conn, "密级:秘密") == ["D05"]
    assert set(search(conn, "日期:2025-03-01..2025-04-30")) == {"D01", "D02"}
    assert set(search(conn, "", date_from="2025-06", date_to="2025-07", document_type="通报")) == {"D03"}
    assert set(search(conn, "", title="通知", author="档案馆")) == {"D02"}


def test_snippets_and_titles_are_highlighted(conn: Connection) -> None:
    result = open_index(conn).search(conn, SearchQuery(text="电子文件", max_clearance=TOP))
    hit = next(h for h in result.hits if h.record_id == "D07")
    assert "【电子文件】" in hit.marked_snippet() and "【电子文件】" in hit.marked_title()


# --- security --------------------------------------------------------------------------------------
def test_clearance_filters_results_counts_and_facets(conn: Connection) -> None:
    index = open_index(conn)
    public = index.search(conn, SearchQuery(text="档案", facets=True))
    assert {h.record_id for h in public.hits} == {"D01", "D02", "D09"}
    assert public.total == 3
    assert dict(public.facets["security_classification"]) == {"公开": 3}
    secret = index.search(conn, SearchQuery(text="档案", facets=True, max_clearance="秘密"))
    assert {h.record_id for h in secret.hits} == {"D01", "D02", "D05", "D09"}
    assert secret.total == 4 and dict(secret.facets["security_classification"]) == {"公开": 3, "秘密": 1}
    assert sum(c for _, c in secret.facets["document_type"]) == 4


def test_items_above_clearance_leave_no_trace(conn: Connection) -> None:
    index = open_index(conn)
    for clearance, hidden in (("公开", "青松行动"), ("内部", "白鹤计划"), ("秘密", "白鹤计划"), (TOP, "红杉项目")):
        result = index.search(conn, SearchQuery(text=hidden, facets=True, max_clearance=clearance))
        assert (result.hits, result.total) == ([], 0)
        assert all(not values for values in result.facets.values())


def test_granted_record_ids_widen_exactly_those_items(conn: Connection) -> None:
    index = open_index(conn)
    granted = ("D05", "NOPE")  # a 秘密 item, and an id the index does not hold
    result = index.search(conn, SearchQuery(text="档案", facets=True, granted=granted))
    assert {h.record_id for h in result.hits} == {"D01", "D02", "D05", "D09"} and result.total == 4
    assert dict(result.facets["security_classification"]) == {"公开": 3, "秘密": 1}
    assert search(conn, "白鹤计划", max_clearance="公开", granted=granted) == []  # D06: not granted
    assert search(conn, "青松行动", max_clearance="公开", granted=granted) == ["D05"]
    assert search(conn, '"人事档案审核"', max_clearance="公开", granted=granted) == ["D05"]  # an exact phrase
    assert search(conn, "档案 NOT 人事", max_clearance="公开", granted=granted) == search(conn, "档案 NOT 人事",
                                                                                        max_clearance="公开")
    only_filters = search(conn, "", max_clearance="公开", granted=("D05", "D08"), sort="date")
    assert set(only_filters) == set(search(conn, "", max_clearance="公开")) | {"D05", "D08"}  # D08: unknown 密级
    assert search(conn, "日期:2025-05-01..2025-05-31", max_clearance="公开", granted=granted) == ["D05"]
    pages, cursor = [], None
    while True:
        page = index.search(conn, SearchQuery(text="档案", limit=1, cursor=cursor, granted=granted))
        pages += [h.record_id for h in page.hits]
        if not (cursor := page.next_cursor):
            break
    assert sorted(pages) == ["D01", "D02", "D05", "D09"]
    inside = search(conn, "档案", max_clearance=TOP, granted=granted)  # nothing hidden: no change
    assert inside == search(conn, "档案", max_clearance=TOP)


def test_granted_items_in_windowed_counts_and_sorted_walks(conn: Connection) -> None:
    """Past the count window (total "at least"), sorted pages walk the index with the grants too."""
    granted = ("D05", "D06")
    exact = search(conn, "", max_clearance="公开", granted=granted, sort="-date")
    windowed = open_index(conn, count_window=3)
    for sort in ("-date", "date", "archival_code"):
        seen, cursor = [], None
        while True:
            page = windowed.search(conn, SearchQuery(text="", max_clearance="公开", granted=granted, sort=sort,
                                                     limit=2, cursor=cursor))
            seen += [h.record_id for h in page.hits]
            if not (cursor := page.next_cursor):
                break
        assert {"D05", "D06"} <= set(seen) and set(seen) <= set(exact) and "D07" not in seen, sort
    first = windowed.search(conn, SearchQuery(text="意见 OR 档案", max_clearance="公开", granted=granted, facets=True,
                                              limit=50))
    assert not first.total_exact and first.total == 3  # the newest three matches: visible fillers
    assert {h.security_classification for h in first.hits} <= {"公开"}
    rare = windowed.search(conn, SearchQuery(text="白鹤计划 OR 青松行动 OR 红杉项目", max_clearance="公开",
                                             granted=granted, facets=True))
    assert {h.record_id for h in rare.hits} == {"D05", "D06"} and rare.total_exact and rare.total == 2


def test_unknown_clearance_sees_only_public(conn: Connection) -> None:
    assert set(search(conn, "", max_clearance="管理员")) == set(search(conn, "", max_clearance="公开"))
    assert "D07" in search(conn, "", max_clearance="内部") and "D07" not in search(conn, "", max_clearance="公开")


# --- pages and sorting -----------------------------------------------------------------------------
def test_cursor_pages_cover_every_hit_once(conn: Connection) -> None:
    index = open_index(conn)
    for sort in ("relevance", "date", "-date", "archival_code"):
        everything = search(conn, "意见 OR 档案", sort=sort)
        pages, cursor = [], None
        while True:
            result = index.search(conn, SearchQuery(text="意见 OR 档案", sort=sort, limit=7, cursor=cursor,
                                                    max_clearance=TOP))
            pages += [h.record_id for h in result.hits]
            assert result.total == len(everything)
            cursor = result.next_cursor
            if cursor is None:
                break
        assert pages == everything, sort


def test_sorting_by_date_and_archival_code(conn: Connection) -> None:
    index = open_index(conn)
    newest = index.search(conn, SearchQuery(text="档案", sort="-date", max_clearance=TOP)).hits
    assert [h.date for h in newest] == sorted((h.date for h in newest), reverse=True)
    coded = index.search(conn, SearchQuery(text="", sort="archival_code", max_clearance=TOP, limit=100)).hits
    assert [h.archival_code for h in coded] == sorted(h.archival_code for h in coded)


def test_bad_cursor_and_syntax_are_bad_input(conn: Connection) -> None:
    index = open_index(conn)
    with pytest.raises(BadInput):
        index.search(conn, SearchQuery(text="档案", cursor="not-a-cursor"))
    with pytest.raises(BadInput):
        index.search(conn, SearchQuery(text="(档案"))


# --- lifecycle -------------------------------------------------------------------------------------
QUERIES = [*RELEVANCE, "", "年度:2023", "意见", "档案 NOT 移交"]


def snapshot(conn: Connection, index: SearchIndex) -> dict[str, tuple]:
    out = {}
    for q in QUERIES:
        r = index.search(conn, SearchQuery(text=q, max_clearance=TOP, facets=True, limit=500,
                                           sort="archival_code"))
        out[q] = (r.total, [h.record_id for h in r.hits], r.facets, [h.snippet for h in r.hits])
    return out


def test_reindex_equals_incremental_index(conn: Connection) -> None:
    index = open_index(conn)
    changed = item("D04", "关于印发公文格式执行标准的通知（修订）", "改为 GB/T 9704—2012。", year=2024, date="2024-11-21")
    index.upsert(conn, [changed])
    index.delete(conn, ["F00", "F01", "missing"])
    incremental = snapshot(conn, index)
    final = [changed if e.record_id == "D04" else e for e in CORPUS if e.record_id not in ("F00", "F01")]
    progress: list[int] = []
    assert index.reindex(conn, iter(final), progress=progress.append, workers=2) == len(final)  # process pool
    assert sum(progress) == len(final)
    assert snapshot(conn, index) == incremental
    assert not index.is_stale(conn)


def test_upsert_replaces_and_delete_removes(conn: Connection) -> None:
    index = open_index(conn)
    index.upsert(conn, [item("D03", "青禾区财政局关于收回资金的通报", author="青禾区财政局")])
    assert search(conn, "下达") == [] and search(conn, "收回") == ["D03"]
    assert index.delete(conn, ["D03"]) == 1
    assert search(conn, "财政局") == []


def long_text_item() -> IndexEntry:
    """An item whose body, 200,000 varied characters, has more gram tags than a PostgreSQL
    tsvector holds (1 MB of lexemes)."""
    import random

    from lantai.search.prepare import MAX_INDEXED_CHARS

    rng = random.Random(7)
    body = "".join(chr(0x4E00 + rng.randrange(3000)) for _ in range(MAX_INDEXED_CHARS))
    return item("H01", "长篇资料汇编", body, document_number="青综发〔2025〕999号")


def test_a_long_text_of_many_distinct_pairs_is_indexed_and_its_phrases_found(conn: Connection) -> None:
    """The long text's row is cut to fit instead of failing its write and the whole reindex,
    and its phrases are still found anywhere in the indexed text, by their words."""
    huge = long_text_item()
    body = huge.body
    index = open_index(conn)
    late, early = body[190_000:190_008], body[1_000:1_008]
    pg = conn.dialect.name == "postgresql"
    for write in ("upsert", "reindex"):
        if write == "upsert":
            index.upsert(conn, [huge])
        else:
            index.reindex(conn, iter([*CORPUS, huge]), workers=2)
        assert search(conn, f'"{late}"') == ["H01"] and search(conn, f'"{early}"') == ["H01"], write
        assert search(conn, "长篇资料汇编 年度:2025") == ["H01"] and search(conn, "青综发〔2025〕999号") == ["H01"]
        assert search(conn, '"电子文件归档"') == ["D01"] and search(conn, f'"{late}x"') == []
        if pg:
            assert conn.execute(text("SELECT tsv @@ CAST(:t AS tsquery) FROM search_docs WHERE record_id = 'H01'"),
                                {"t": "'ǂG'"}).scalar(), "the row says its gram tags were cut"
            assert conn.execute(text("SELECT value FROM search_state WHERE key = 'grams_cut'")).scalar() == "1"
    index.reindex(conn, iter(CORPUS))
    if pg:  # nothing cut any more: phrases ask pairs only again
        assert conn.execute(text("SELECT count(*) FROM search_state WHERE key = 'grams_cut'")).scalar() == 0
    assert search(conn, f'"{late}"') == [] and search(conn, '"电子文件归档"') == ["D01"]


def test_an_online_rebuild_records_whether_its_rows_were_cut() -> None:
    """After the swap, the index knows from its new table whether any row was cut to fit, so
    phrases stop (or start) asking cut rows by their words."""
    from lantai.search.online import rebuild

    huge = long_text_item()
    late = huge.body[190_000:190_008]
    cut_marked = text("SELECT count(*) FROM search_state WHERE key = 'grams_cut'")
    for engine in _pg_engine():
        with engine.begin() as conn:
            index = open_index(conn)
            index.ensure_schema(conn)
            index.upsert(conn, [*CORPUS, huge])
            assert conn.execute(cut_marked).scalar() == 1
        rebuild(engine, index, iter(CORPUS), lambda ids: [], workers=2)
        with engine.connect() as conn:
            assert conn.execute(cut_marked).scalar() == 0
            assert search(conn, '"电子文件归档"') == ["D01"] and search(conn, f'"{late}"') == []
        rebuild(engine, index, iter([*CORPUS, huge]), lambda ids: [])
        with engine.connect() as conn:
            assert conn.execute(cut_marked).scalar() == 1
            assert search(conn, f'"{late}"') == ["H01"] and search(conn, '"电子文件归档"') == ["D01"]


def test_broken_index_never_blocks_the_write(conn: Connection) -> None:
    conn.execute(text("CREATE TABLE catalogue_probe (id TEXT)"))
    conn.execute(text("INSERT INTO catalogue_probe VALUES ('x')"))
    guarded = GuardedIndex(open_index(conn))
    assert guarded.upsert(conn, [item("N1", "新档案")]) is True and not guarded.is_stale(conn)
    conn.execute(text("DROP TABLE search_docs" + (" CASCADE" if conn.dialect.name == "postgresql" else "")))
    assert guarded.upsert(conn, [item("N2", "新档案")]) is False
    assert guarded.delete(conn, ["N1"]) is False
    conn.execute(text("INSERT INTO catalogue_probe VALUES ('y')"))  # the caller's transaction goes on
    assert conn.execute(text("SELECT count(*) FROM catalogue_probe")).scalar_one() == 2
    assert guarded.is_stale(conn)
    guarded.reindex(conn, CORPUS)
    assert not guarded.is_stale(conn) and "D01" in search(conn, "陈国华")


def test_stale_file_when_the_database_refuses(conn: Connection, tmp_path) -> None:
    marker = tmp_path / "index" / "STALE"
    guarded = GuardedIndex(open_index(conn), stale_file=marker)
    conn.execute(text("DROP TABLE search_state"))
    conn.execute(text("DROP TABLE search_docs" + (" CASCADE" if conn.dialect.name == "postgresql" else "")))
    assert guarded.upsert(conn, [item("N3", "档案")]) is False
    assert marker.exists() and guarded.is_stale(conn)
    guarded.reindex(conn, CORPUS[:3])
    assert not marker.exists() and not guarded.is_stale(conn)


def test_index_built_with_another_dictionary_is_stale(conn: Connection) -> None:
    assert not open_index(conn).is_stale(conn)
    assert open_index(conn, Tokenizer(["兰台新词"])).is_stale(conn)


def test_mark_stale_is_reported_in_results(conn: Connection) -> None:
    index = open_index(conn)
    index.mark_stale(conn, "test")
    assert index.search(conn, SearchQuery(text="档案")).stale


def test_very_broad_queries_rank_and_count_within_windows(conn: Connection) -> None:
    index = open_index(conn)
    index.rank_window, index.count_window = 5, 12  # type: ignore[attr-defined]
    everything = open_index(conn).search(conn, SearchQuery(text="意见", max_clearance=TOP, limit=500))
    assert everything.total == 40 and everything.total_exact
    broad = index.search(conn, SearchQuery(text="意见", max_clearance=TOP, facets=True, limit=2))
    assert (broad.total, broad.total_exact) == (12, False)
    assert sum(c for _, c in broad.facets["document_type"]) == 12
    seen, cursor = [h.record_id for h in broad.hits], broad.next_cursor
    while cursor:
        page = index.search(conn, SearchQuery(text="意见", max_clearance=TOP, limit=2, cursor=cursor))
        seen += [h.record_id for h in page.hits]
        cursor = page.next_cursor
    # the newest 5 ranked, then the rest of the 12 counted, newest first (the fillers were indexed in order)
    assert len(seen) == len(set(seen)) == 12
    assert set(seen[:5]) == {f"F{n}" for n in range(35, 40)} and seen[5:] == [f"F{n}" for n in range(34, 27, -1)]
    exact = index.search(conn, SearchQuery(text="意见", max_clearance=TOP, exact_counts=True, facets=True))
    assert (exact.total, exact.total_exact) == (40, True)
    public = index.search(conn, SearchQuery(text="意见", facets=True))
    assert dict(public.facets["security_classification"]) == {"公开": 12}


def test_broad_sorted_pages_match_the_exact_order(conn: Connection) -> None:
    """A broad query sorted by date or 档号 (SQLite walks the sort index) pages like the exact sort."""
    windowed = open_index(conn, count_window=12)
    for sort in ("date", "-date", "archival_code"):
        exact = search(conn, "意见", sort=sort, exact_counts=True)
        pages, cursor = [], None
        while True:
            result = windowed.search(conn, SearchQuery(text="意见", sort=sort, limit=3, cursor=cursor, max_clearance=TOP))
            assert (result.total, result.total_exact) == (12, False)
            pages += [h.record_id for h in result.hits]
            cursor = result.next_cursor
            if cursor is None:
                break
        assert pages == exact, sort
    public = windowed.search(conn, SearchQuery(text="意见", sort="-date", limit=40))
    assert {h.security_classification for h in public.hits} == {"公开"} and len(public.hits) == 20


def test_text_queries_respect_an_unknown_clearance(conn: Connection) -> None:
    public = set(search(conn, "意见", max_clearance="公开"))
    assert set(search(conn, "意见", max_clearance="管理员")) == public and len(public) == 20
    assert search(conn, "红杉项目", max_clearance="管理员") == [] and search(conn, "红杉项目") == []


def test_index_of_another_layout_is_stale_and_refuses_writes(conn: Connection) -> None:
    index = open_index(conn)
    conn.execute(text("UPDATE search_state SET value = '0' WHERE key = 'layout'"))
    assert "layout" in (index.stale_reason(conn) or "")  # type: ignore[attr-defined]
    guarded = GuardedIndex(index)
    if conn.dialect.name == "sqlite":  # contentless FTS5: old rows' tokens cannot be re-created
        assert guarded.upsert(conn, [item("N4", "新档案")]) is False
    guarded.reindex(conn, CORPUS)
    assert not index.is_stale(conn) and search(conn, "陈国华") == ["D01"]


@pytest.fixture
def postgresql_conn() -> Iterator[Connection]:
    """A PostgreSQL index of the corpus of its own, for what only that backend stores."""
    for engine in _pg_engine():
        with engine.begin() as conn:
            index = open_index(conn)
            index.ensure_schema(conn)
            index.upsert(conn, CORPUS)
        with engine.connect() as conn:
            yield conn


def test_filters_still_find_on_a_postgresql_index_built_before_scoped_tags(postgresql_conn: Connection) -> None:
    """Layout 4 drives a filtered search by epoch-scoped filter tags; an index of layout 3 has
    none, so until it is reindexed the search asks the epoch tags, as layout 3 did."""
    conn = postgresql_conn
    expected = set(search(conn, "保管期限:永久"))
    assert expected
    scoped = r"$$ 'ǂ[a-z][0-9a-f]*E[0-9]+'$$"  # 'ǂr…E0', 'ǂy2025E0', …: letters, then the epoch
    conn.execute(text(f"UPDATE search_docs SET tsv = CAST(regexp_replace(CAST(tsv AS text), {scoped}, '', 'g') "
                      "AS tsvector)"))
    assert search(conn, "保管期限:永久") == []  # layout 4's plan, without the scoped tags, finds nothing
    conn.execute(text("UPDATE search_state SET value = '3' WHERE key = 'layout'"))
    assert set(search(conn, "保管期限:永久")) == expected
    assert open_index(conn).search(conn, SearchQuery(text="保管期限:永久", max_clearance=TOP)).stale


def test_phrases_still_find_on_a_postgresql_index_built_before_gram_tags(postgresql_conn: Connection) -> None:
    """Layout 5 asks the index for a phrase's character pairs; an index of layout 4 has no gram
    tags, so until it is reindexed a phrase is asked by its words and the stored text, as before."""
    conn = postgresql_conn
    assert search(conn, '"电子文件归档"') == ["D01"]
    conn.execute(text("UPDATE search_docs SET tsv = CAST(regexp_replace(CAST(tsv AS text), $$ 'ǂg[^']*'$$, '', 'g') "
                      "AS tsvector)"))
    assert search(conn, '"电子文件归档"') == []  # layout 5's plan, without the gram tags, finds nothing
    conn.execute(text("UPDATE search_state SET value = '4' WHERE key = 'layout'"))
    assert search(conn, '"电子文件归档"') == ["D01"]
    assert search(conn, "电子文件") == ["D01", "D07"] or set(search(conn, "电子文件")) == {"D01", "D07"}


@pytest.mark.parametrize("write", ["upsert", "reindex"])
def test_postgresql_tsvectors_hold_each_entrys_lexemes_and_epoch_tags_once(postgresql_conn: Connection,
                                                                           write: str) -> None:
    """Both writes send tsvectors in PostgreSQL's binary form, which the server takes as sent
    (it sorts but does not merge): each stored tsvector must equal what parsing its text gives,
    holding the entry's tokens and tags once each, plus its epoch's tags (ids < 4,096: epoch 0)."""
    from lantai.search.postgres_fts import tsvector_lexemes
    from lantai.search.prepare import prepare

    conn = postgresql_conn
    index = open_index(conn)
    if write == "reindex":
        index.reindex(conn, iter(CORPUS), workers=2)
    rows = conn.execute(text("SELECT record_id, tsvector_to_array(tsv), tsv = CAST(CAST(tsv AS text) AS tsvector) "
                             "FROM search_docs")).all()
    assert len(rows) == len(CORPUS)
    entries = {e.record_id: e for e in CORPUS}
    for record_id, lexemes, canonical in rows:
        assert canonical, record_id
        assert len(lexemes) == len(set(lexemes))
        epoch_tags = {x for x in lexemes if re.fullmatch(r"ǂ[a-z0-9]*E0", x)}
        doc = prepare(entries[record_id], index.tokenizer)
        own = tsvector_lexemes(doc) + doc.gram_tags()
        assert set(lexemes) - epoch_tags == set(own) and len(lexemes) == len(own) + len(epoch_tags)
        assert {"ǂE0", f"ǂy{entries[record_id].year}E0"} <= epoch_tags
    assert search(conn, '"电子文件归档"') == ["D01"] and search(conn, "年度:2023 供暖") != []


def test_postgresql_search_table_keeps_tsvectors_out_of_line_and_compresses_with_lz4(
        postgresql_conn: Connection) -> None:
    """The body and tsvector are lz4-compressed (a reindex compresses every body; pglz was the
    slower default), the tsvector stored out of line; a table an older release made is set so
    on opening, and its rows, whatever their compression, read back the same."""
    conn = postgresql_conn
    storage = ("SELECT attname, CAST(attstorage AS text) || CAST(attcompression AS text) FROM pg_attribute "
               "WHERE attrelid = CAST('search_docs' AS regclass) AND attname IN ('body', 'tsv')")
    assert dict(conn.execute(text(storage)).all()) == {"body": "xl", "tsv": "xl"}
    before = set(search(conn, '"电子文件归档"')), set(search(conn, "档案 NOT 移交"))
    conn.execute(text("ALTER TABLE search_docs ALTER COLUMN body SET COMPRESSION pglz, "
                      "ALTER COLUMN tsv SET STORAGE MAIN"))
    index = open_index(conn)
    index.upsert(conn, [e for e in CORPUS if e.record_id == "D01"])  # a row written the old way
    assert dict(conn.execute(text(storage)).all()) == {"body": "xp", "tsv": "ml"}
    index.ensure_schema(conn)
    assert dict(conn.execute(text(storage)).all()) == {"body": "xl", "tsv": "xl"}
    assert (set(search(conn, '"电子文件归档"')), set(search(conn, "档案 NOT 移交"))) == before  # D01 re-added


def test_switching_an_older_postgresql_table_takes_no_table_lock_before_its_alter() -> None:
    """Processes opening an archive at once each switch an older table's storage (ALTER TABLE).
    One that took the SHARE lock of CREATE INDEX IF NOT EXISTS first would deadlock with another
    doing the same; so while its ALTER waits, a process holds no lock on the table yet."""
    import threading

    for engine in _pg_engine():
        with engine.begin() as conn:
            open_index(conn).ensure_schema(conn)
            conn.execute(text("ALTER TABLE search_docs ALTER COLUMN body SET COMPRESSION pglz"))
        with engine.connect() as holder, engine.connect() as opener:
            holder.begin()
            holder.execute(text("LOCK TABLE search_docs IN SHARE MODE"))  # another opener, mid-way
            pid = opener.execute(text("SELECT pg_backend_pid()")).scalar()
            opener.commit()
            errors: list[BaseException] = []

            def open_archive_index(errors: list[BaseException] = errors) -> None:
                try:
                    with opener.begin():
                        open_index(opener).ensure_schema(opener)
                except BaseException as exc:  # reported by the assertion below
                    errors.append(exc)

            thread = threading.Thread(target=open_archive_index, daemon=True)
            thread.start()
            try:
                for _ in range(200):
                    waiting = holder.execute(text("SELECT count(*) FROM pg_locks WHERE pid = :p AND NOT granted"),
                                             {"p": pid}).scalar()
                    if waiting:
                        break
                    thread.join(0.02)
                held = holder.execute(text("SELECT mode FROM pg_locks WHERE pid = :p AND granted AND relation = "
                                           "CAST('search_docs' AS regclass)"), {"p": pid}).scalars().all()
            finally:
                holder.rollback()  # lets the opener go on, whatever was seen
                thread.join(10)
            assert waiting and held == []
            assert not thread.is_alive() and errors == []
        with engine.connect() as conn:
            assert conn.execute(text("SELECT CAST(attcompression AS text) FROM pg_attribute WHERE attrelid = "
                                     "CAST('search_docs' AS regclass) AND attname = 'body'")).scalar() == "l"


def test_reindex_groups_each_epochs_rows_by_filter_values(postgresql_conn: Connection,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    """A bulk reindex writes each epoch's rows grouped by 年度, 保管期限, 机构, 文种 (so a filtered
    search reads few pages), never moving a row to another epoch or changing its id; results
    are those of the incremental index. Epochs of 8 rows, so the corpus spans seven."""
    from lantai.search import postgres_fts

    monkeypatch.setattr(postgres_fts, "EPOCH_BITS", 3)
    monkeypatch.setattr(postgres_fts, "EPOCH_ROWS", 8)
    conn = postgresql_conn
    index = open_index(conn)
    index.reindex(conn, iter(CORPUS))  # the same ids and tags as the incremental index, epochs of 8
    before = snapshot(conn, index)
    rows = conn.execute(text("SELECT id, record_id, year, retention, organisation, document_type "
                             "FROM search_docs ORDER BY ctid")).all()
    assert sorted(r.id for r in rows) == list(range(1, len(CORPUS) + 1))
    assert {r.id: r.record_id for r in rows} == {n + 1: e.record_id for n, e in enumerate(CORPUS)}
    assert [r.id >> 3 for r in rows] == sorted(r.id >> 3 for r in rows)  # no row leaves its epoch
    for epoch in {r.id >> 3 for r in rows}:
        keys = [(r.year, r.retention, r.organisation, r.document_type) for r in rows if r.id >> 3 == epoch]
        assert keys == sorted(keys), epoch
    assert [r.id for r in rows] != sorted(r.id for r in rows)  # the corpus's epochs mix years and periods
    index.reindex(conn, iter(()))
    for entry in CORPUS:  # incremental: rows in id order
        index.upsert(conn, [entry])
    assert snapshot(conn, index) == before
    # long texts: an epoch is written in parts once its texts pass a bound, nothing lost or moved
    monkeypatch.setattr(postgres_fts, "EPOCH_HELD_CHARS", 1_000)
    assert index.reindex(conn, iter(CORPUS)) == len(CORPUS)
    parts = conn.execute(text("SELECT id FROM search_docs ORDER BY ctid")).scalars().all()
    assert sorted(parts) == list(range(1, len(CORPUS) + 1))
    assert [i >> 3 for i in parts] == sorted(i >> 3 for i in parts)
    assert parts != [r.id for r in rows]  # written in more, smaller groups than above
    assert snapshot(conn, index) == before


def test_text_checked_queries_count_the_newest_matches(conn: Connection) -> None:
    """A phrase found in more items than the window (PostgreSQL walks the newest rows first)."""
    everything = search(conn, '"明确责任分工"', exact_counts=True, sort="-date")
    assert len(everything) == 40
    windowed = open_index(conn, count_window=3)
    for facets in (False, True):
        result = windowed.search(conn, SearchQuery(text='"明确责任分工"', max_clearance=TOP, facets=facets))
        assert (result.total, result.total_exact) == (3, False)
        assert {h.record_id for h in result.hits} == {"F39", "F38", "F37"}  # the newest three indexed
        assert not facets or sum(c for _, c in result.facets["year"]) == 3


# --- numbered pages --------------------------------------------------------------------------------
MANY = 610  # past the 500 hits one query could return before numbered pages had an offset


def many_entries() -> list[IndexEntry]:
    """MANY items matching 分页样本, indexed M000 first; dates and 档号 repeat (ties in every sort)."""
    return [item(f"M{n:03d}", f"关于第{n}批分页样本的通知", "分页样本正文。", year=2022, date=f"2022-{n % 12 + 1:02d}-01",
                 archival_code=f"Q001-WS·2022-D30-M{n % 300:03d}") for n in range(MANY)]


def numbered(index: SearchIndex, conn: Connection, page: int, size: int = 20, sort: str = "relevance") -> list[str]:
    query = SearchQuery(text="分页样本", max_clearance=TOP, limit=size, offset=(page - 1) * size, sort=sort)
    return [h.record_id for h in index.search(conn, query).hits]


def cursor_walk(index: SearchIndex, conn: Connection, size: int, sort: str = "relevance") -> list[str]:
    seen, cursor = [], None
    while True:
        query = SearchQuery(text="分页样本", max_clearance=TOP, limit=size, cursor=cursor, sort=sort)
        result = index.search(conn, query)
        seen += [h.record_id for h in result.hits]
        cursor = result.next_cursor
        if cursor is None:
            return seen


def test_numbered_pages_reach_every_hit_past_500(conn: Connection) -> None:
    index = open_index(conn)
    index.upsert(conn, many_entries())
    for sort in SORTS:
        everything = cursor_walk(index, conn, 500, sort=sort)
        assert len(everything) == len(set(everything)) == MANY, sort
        assert numbered(index, conn, 26, sort=sort) == everything[500:520], sort
        assert numbered(index, conn, 30, sort=sort) == everything[580:600], sort
        last = numbered(index, conn, 31, sort=sort)
        assert last == everything[600:] and len(last) == 10, sort
        assert numbered(index, conn, 32, sort=sort) == [], sort
        pages = [hit for n in range(1, 14) for hit in numbered(index, conn, n, size=50, sort=sort)]
        assert pages == everything, sort


def test_relevance_pages_go_on_past_the_ranked_window(conn: Connection) -> None:
    """Matches past the ranked (newest) ones follow them newest first, by cursor and by offset alike."""
    index = open_index(conn)
    index.upsert(conn, many_entries())
    index.rank_window = 50  # type: ignore[attr-defined]
    everything = cursor_walk(index, conn, 20)
    assert set(everything[:50]) == {f"M{n:03d}" for n in range(560, MANY)}
    assert everything[50:] == [f"M{n:03d}" for n in range(559, -1, -1)]
    assert numbered(index, conn, 3) == everything[40:60] and numbered(index, conn, 31) == everything[600:]
    index.count_window = 100  # type: ignore[attr-defined]
    counted = index.search(conn, SearchQuery(text="分页样本", max_clearance=TOP, limit=20, offset=80))
    assert (counted.total, counted.total_exact) == (100, False) and counted.next_cursor is None
    assert [h.record_id for h in counted.hits] == everything[80:100] == cursor_walk(index, conn, 30)[80:]
    assert numbered(index, conn, 6) == []


def test_offset_past_the_result_window_is_bad_input(conn: Connection) -> None:
    index = open_index(conn)
    deepest = index.search(conn, SearchQuery(text="意见", max_clearance=TOP, limit=20, offset=MAX_RESULT_WINDOW - 20))
    assert deepest.hits == [] and deepest.total == 40
    first = index.search(conn, SearchQuery(text="意见", max_clearance=TOP, limit=20))
    for bad in ({"offset": MAX_RESULT_WINDOW - 19}, {"offset": MAX_RESULT_WINDOW, "limit": 1}, {"offset": -1},
                {"offset": 20, "cursor": first.next_cursor}):
        with pytest.raises(BadInput) as refused:
            index.search(conn, SearchQuery(text="意见", max_clearance=TOP, **bad))  # type: ignore[arg-type]
        assert refused.value.message_zh and refused.value.message_en != refused.value.message_zh
    with pytest.raises(BadInput, match=f"前 {MAX_RESULT_WINDOW} 条"):
        index.search(conn, SearchQuery(text="意见", limit=500, offset=MAX_RESULT_WINDOW - 499))



def test_the_fallback_estimate_holds_at_a_million_rows(built: Engine) -> None:
    """The one-statement fallback test of a newest-first walk multiplies match counts by row
    counts; at a million rows (want 5,001, 283,201 rows scanned, 716,800 left) the products pass
    2^31 and PostgreSQL's integer arithmetic failed the search with "integer out of range"
    (found by bench_search.py at 1,000,000 entries). The rows need not exist to ask it."""
    if built.dialect.name != "postgresql":  # SQLite: the same walk decides in Python (no SQL arithmetic)
        with built.connect() as conn:
            assert search(conn, "通知")
        return
    from lantai.search.postgres_fts import PostgresIndex

    ids: list[int] = []
    with built.connect() as conn:
        alone = PostgresIndex._newest(conn, ["'通知'"], ["d.clearance_rank <= :p0"], {"p0": 9}, 5001, ids, [], False,
                                      fallback=("'通知'", 716_800, 283_201))
    assert alone is True  # few matches above: the words alone were asked below the epochs
    assert ids  # (the fake matches carry no epoch tags, so both halves found the same rows)
