"""The index's character pairs (numpy codes) must be the pairs a query's phrase asks for."""

from __future__ import annotations

import pickle
import random

import pytest

from lantai.search import Tokenizer
from lantai.search.pairs import GramPairs
from lantai.search.prepare import GRAM
from lantai.search.tokenize import STOPWORDS

TEXTS = [
    "做好汛期的安全，ＯＦＤ工作工作",
    "青禾区人民政府办公室关于做好汛期安全防范工作的通知\n青政办发〔2025〕12号",
    "OFD 2025 abc",
    "档",
    "",
    "一一一一二二",
    "𠀀𠀁档案𪚥馆\U0001f600通知",  # characters outside the BMP are no pair's half
    "档案\ud800移交",  # a lone surrogate (text decoded with surrogateescape) is no pair's half
    "㐀㐁档案﨎﨏鿿龥",  # extension A and compatibility ideographs are outside U+4E00–U+9FFF
]


@pytest.fixture(scope="module")
def tokenizer() -> Tokenizer:
    return Tokenizer()


def _random_text(rng: random.Random) -> str:
    alphabet = [*"档案移交的了和通知工作，。 aZ09\n", *STOPWORDS, "\u4dff", "\u4e00", "\u9fff", "\ua000", "𠀀"]
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 60)))


def test_the_pairs_are_those_the_tokenizer_makes_of_a_phrase(tokenizer: Tokenizer) -> None:
    rng = random.Random(7)
    for text in [*TEXTS, *(_random_text(rng) for _ in range(500))]:
        assert GramPairs.of_text(text).strings() == sorted(tokenizer.grams(text)), text


def test_pairs_that_are_tokens_are_left_out(tokenizer: Tokenizer) -> None:
    text = "要切实做好汛期安全防范，落实防汛责任制"
    tokens = ["汛期", "安全", "防范工作", "ab", "落实防汛", "𠀀档"]
    pairs = GramPairs.of_text(text, without=tokens).strings()
    assert pairs == sorted(set(tokenizer.grams(text)) - {"汛期", "安全"})
    assert "期安" in pairs and "防汛" in pairs  # inside a longer token: still a pair of its own


def test_a_token_outside_the_bmp_never_takes_a_pair_out() -> None:
    # U+24E00 shifted into 32 bits would read as U+4E00: the pair 一一 must stay
    assert GramPairs.of_text("一一", without=["\U00024e00一"]).strings() == ["一一"]


def test_tags_are_written_with_their_prefix_and_separator() -> None:
    pairs = GramPairs.of_text("移交档案")
    assert pairs.strings(GRAM) == [GRAM + "交档", GRAM + "档案", GRAM + "移交"]
    assert pairs.joined(GRAM, " ") == f"{GRAM}交档 {GRAM}档案 {GRAM}移交 "
    assert pairs.joined(GRAM, "\0\0\0").encode() == b"".join((GRAM + p).encode() + b"\0\0\0" for p in ("交档", "档案", "移交"))
    assert GramPairs().joined(GRAM, " ") == "" and GramPairs().strings() == [] and len(GramPairs()) == 0


def test_pairs_survive_pickling_and_compare_by_value() -> None:
    pairs = GramPairs.of_text("青禾区档案馆关于做好档案移交进馆工作的通知")
    back = pickle.loads(pickle.dumps(pairs))
    assert back == pairs and back.strings() == pairs.strings() and hash(back) == hash(pairs)
    assert back != GramPairs.of_text("档案") and GramPairs.of_pairs(["档案", "移交"]).strings() == ["档案", "移交"]
