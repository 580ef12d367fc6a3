"""Tokenisation: what a document is cut into must contain what people type to find it."""

from __future__ import annotations

import pytest

from lantai.search.docnumber import as_document_number, document_number_tokens, is_document_number_token
from lantai.search.tokenize import Tokenizer, default_tokenizer, dictionary_words, fold_width, normalize


@pytest.fixture(scope="module")
def tok() -> Tokenizer:
    return default_tokenizer()


def finds(tok: Tokenizer, query: str, text: str) -> bool:
    """What the search does: index tokens, plus a substring check when the tokenizer asks for one."""
    tokens, check = tok.query_terms(query)
    return set(tokens) <= set(tok.index_tokens(text)) and (not check or normalize(query) in normalize(text))


@pytest.mark.parametrize(("query", "text"), [
    ("档案", "青禾区档案馆关于移交的通知"),  # two-character word inside a longer word
    ("通知", "关于做好档案移交进馆工作的通知"),
    ("人民政府", "青禾区人民政府办公室关于加强管理的意见"),  # inside a dictionary organ name
    ("青禾区人民政府办公室", "青禾区人民政府办公室关于加强管理的意见"),
    ("电子档案", "进一步加强电子档案管理"),
    ("档案法", "中华人民共和国档案法"),
    ("2025", "2025年度工作总结"),
    ("OFD", "以ＯＦＤ格式保存"),
    ("ofd", "以OFD格式保存"),
    ("陈国华", "区长陈国华主持会议"),
    ("〔2025〕12号", "根据青政办发〔2025〕12号文件"),
    ("青政办发〔2025〕12号", "根据青政办发〔2025〕12号文件"),
])
def test_queries_find_their_text(tok: Tokenizer, query: str, text: str) -> None:
    assert finds(tok, query, text)


def test_organ_name_query_is_one_precise_token(tok: Tokenizer) -> None:
    assert tok.query_tokens("青禾区人民政府办公室") == ["青禾区人民政府办公室"]


def test_document_number_query_finds_only_that_number(tok: Tokenizer) -> None:
    assert tok.query_tokens("青政办发〔2025〕12号") == ["青政办发2025年12号"]
    assert not finds(tok, "青政办发〔2025〕12号", "青政办发〔2025〕120号")
    assert not finds(tok, "青政办发〔2025〕12号", "青财发〔2025〕12号")
    assert not finds(tok, "青政办发〔2025〕12号", "青政办发〔2024〕12号")


@pytest.mark.parametrize("written", ["青政办发〔2025〕12号", "青政办发[2025]12号", "青政办发（2025）012号",
                                     "青政办发 〔 2025 〕 12 号", "青政办发［2025］第12号", "青政办发(2025)12号"])
def test_document_number_variants_normalise_alike(written: str) -> None:
    assert as_document_number(written) == "青政办发2025年12号"
    assert document_number_tokens(written, exact=True) == ["青政办发2025年12号", "2025年12号"]


def test_document_number_in_running_text_keeps_every_possible_code() -> None:
    tokens = document_number_tokens("根据青政办发〔2025〕12号文件")
    assert "青政办发2025年12号" in tokens and "政办发2025年12号" in tokens and "2025年12号" in tokens
    assert as_document_number("关于青政办发〔2025〕12号的说明") is None


def test_width_and_case_fold_but_chinese_punctuation_stays() -> None:
    assert normalize("ＯＦＤ　２０２５") == "ofd 2025"
    assert fold_width("关于（草案）的通知，ＰＤＦ") == "关于（草案）的通知，PDF"


def test_punctuation_stopwords_and_long_runs_are_not_tokens(tok: Tokenizer) -> None:
    tokens = tok.index_tokens("的，。、《》“” 了 和 " + "9" * 200)
    assert not set(tokens) & {"的", "了", "和", "，", "。"}
    assert all(len(t) <= 64 for t in tokens) and all(t.isalnum() for t in tokens)


def test_dictionary_ships_organs_and_archive_terms() -> None:
    words = {w for w, _, _ in dictionary_words()}
    assert {"档案馆", "人民政府办公室", "保管期限", "四性检测", "电子档案"} <= words


def test_fingerprint_follows_the_dictionary() -> None:
    assert Tokenizer().fingerprint == default_tokenizer().fingerprint
    assert Tokenizer(["兰台新词"]).fingerprint != default_tokenizer().fingerprint
    assert Tokenizer(mode="bigram").fingerprint != default_tokenizer().fingerprint


def test_extra_words_keep_unit_names_whole() -> None:
    tok = Tokenizer(["青禾区融媒体中心"])
    assert tok.query_tokens("青禾区融媒体中心") == ["青禾区融媒体中心"]


def test_words_cut_into_single_characters_are_checked_as_substrings() -> None:
    tok = Tokenizer(["青禾区融媒体中心"])
    tokens, check = tok.query_terms("融媒体")
    assert check and "融" not in tokens
    assert finds(tok, "融媒体", "青禾区融媒体中心报送")
    assert not finds(tok, "融媒体", "融合媒体报送")
    assert tok.query_terms("档案") == (["档案"], False)


def test_normalised_document_number_tokens_are_told_from_words() -> None:
    """PostgreSQL scores these from the index, the others from the stored text they come from."""
    made = document_number_tokens("根据青政办发〔2025〕12号文件", exact=False)
    assert made and all(is_document_number_token(t) for t in made)
    for word in ("档案", "2025", "12号", "青政办发", "ofd", "2025年"):
        assert not is_document_number_token(word)


def test_grams_are_adjacent_chinese_pairs_without_function_words(tok: Tokenizer) -> None:
    # 期的 / 的安 hold a function word; pairs with punctuation, Latin or digits are no grams;
    # a pair seen twice is listed once, in order of first appearance
    assert tok.grams("做好汛期的安全，ＯＦＤ工作工作") == ["做好", "好汛", "汛期", "安全", "工作", "作工"]
    assert tok.grams("OFD 2025") == [] and tok.grams("档") == []


def test_distinct_tokens_are_the_tokens_of_search_mode_each_once(tok: Tokenizer) -> None:
    """PostgreSQL's reindex cuts with ``distinct`` (accurate words plus their cached 2- and
    3-character pieces); it must index exactly what rjieba's search mode makes of the text, for
    any text: dictionary words and organ names, function words, punctuation, full-width and
    Latin letters, digits, runs past the token limit, characters outside the BMP."""
    import random

    rng = random.Random(20261205)
    words = [*[w for w, _, _ in dictionary_words()][:400], "中华人民共和国", "人民政府", "档案", "安全生产", "检查"]
    pieces = [*words, *"的了和与及或在是对为，。、《》“”（）％%.#&+_- \n", "ＯＦＤ", "Pdf", "2025", "〔2025〕12号",
              "9" * 70, "abc" * 30, "\U00020000", "\u4dff\u4e00\u9fff\ua000", "融媒体中心", "以人民为中心"]
    texts = ["".join(rng.choice(pieces) for _ in range(rng.randint(0, 60))) for _ in range(300)]
    texts += ["".join(chr(rng.randint(0x4E00, 0x4E80)) for _ in range(200)), "的，。、《》“” 了 和 " + "9" * 200, ""]
    for text in texts:
        distinct = tok.index_tokens(text, distinct=True)
        assert set(distinct) == set(tok.index_tokens(text)), text
        assert all(t.isalnum() and len(t) <= 64 for t in distinct)
