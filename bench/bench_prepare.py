"""CPU per entry of a reindex's cutting workers, step by step, on real 公文 and on synthetic entries.

A PostgreSQL reindex is bound by the processes that cut the text (``prepare`` then ``copy_row``,
lantai.search.bulk): with two vCPUs both run full during the COPY. This times, in one process,
each step of that work per entry, best of ``--rounds`` passes over the corpus, and the gram step
both ways, alternating in the same run: ``strings`` (Tokenizer.grams, one string per pair, then a
set of the tokens to leave out; the way before lantai.search.pairs) and ``codes`` (GramPairs);
and a body's distinct tokens both ways: ``search_mode`` (rjieba's search mode over every
occurrence, then deduplicated; the way before) and ``pieces`` (Tokenizer.index_tokens with
``distinct``: accurate words and their cached dictionary pieces); and the time the garbage
collector takes per entry with Python's default thresholds and with a cutting worker's.

Usage::

    python bench/bench_prepare.py [--realistic 600] [--synthetic 2000] [--rounds 7]

``--realistic N``: N generated 公文 ingested with the default check profile and a real clamd
(bench/search_realistic.py, ~40 s); 0 skips them. Writes bench/results/prepare.json.
"""

from __future__ import annotations

import argparse
import gc
import json
import sys
import time
from collections.abc import Callable, Sequence
from itertools import chain
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_search import entries as synthetic_entries

from lantai.search import IndexEntry, Tokenizer
from lantai.search.bulk import WORKER_GC_THRESHOLD
from lantai.search.docnumber import document_number_tokens
from lantai.search.pairs import GramPairs
from lantai.search.postgres_fts import copy_row, packed_grams, tsvector_lexemes
from lantai.search.prepare import GRAM, MAX_INDEXED_CHARS, prepare
from lantai.search.tokenize import _clean, fold_width

RESULTS = Path(__file__).resolve().parent / "results" / "prepare.json"


def best_us(step: Callable[[Any], object], items: Sequence[Any], rounds: int) -> float:
    """Best of ``rounds`` passes, µs per item (the least disturbed pass on a shared machine)."""
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for item in items:
            step(item)
        best = min(best, time.perf_counter() - start)
    return best / len(items) * 1e6


def alternating_best_us(ways: dict[str, Callable[[Any], object]], items: Sequence[Any], rounds: int,
                        turns: int = 3) -> dict[str, float]:
    """:func:`best_us` of each way, the ways taking turns, so machine load touches them alike."""
    best = dict.fromkeys(ways, float("inf"))
    for _ in range(turns):
        for name, step in ways.items():
            best[name] = min(best[name], best_us(step, items, rounds))
    return best


def measure(name: str, corpus: list[IndexEntry], tokenizer: Tokenizer, rounds: int) -> dict:
    docs = [prepare(e, tokenizer, distinct=True) for e in corpus]
    checked = [("\n".join((d.entry.title, d.entry.document_number, d.entry.author, d.body[:MAX_INDEXED_CHARS])),
                [*d.title, *d.docno, *d.author, *d.meta, *d.text]) for d in docs]
    bodies = [fold_width(e.body)[:MAX_INDEXED_CHARS] for e in corpus]

    def strings(item: tuple[str, list[str]]) -> bytes:
        text, tokens = item
        held = set(tokens)
        tags = [GRAM + p for p in tokenizer.grams(text) if p not in held]
        return ("\0\0\0".join(tags) + "\0\0\0").encode()

    def codes(item: tuple[str, list[str]]) -> bytes:
        return GramPairs.of_text(*item).joined(GRAM, "\0\0\0").encode()

    for (text, tokens), doc in zip(checked, docs, strict=True):  # the same tags, both ways
        assert sorted(strings((text, tokens)).split(b"\0\0\0")) == sorted(packed_grams(doc).split(b"\0\0\0"))
    row = {"corpus": name, "entries": len(corpus),
           "body_chars": round(sum(map(len, bodies)) / len(bodies)),
           "gram_tags": round(sum(len(d.grams) for d in docs) / len(docs), 1),
           "worker_us": best_us(lambda e: copy_row(prepare(e, tokenizer, distinct=True)), corpus, rounds),
           "prepare_us": best_us(lambda e: prepare(e, tokenizer, distinct=True), corpus, rounds),
           "body_tokens_us": best_us(lambda b: tokenizer.index_tokens(b, distinct=True, folded=True), bodies, rounds),
           "copy_row_us": best_us(copy_row, docs, rounds),
           "lexemes_us": best_us(tsvector_lexemes, docs, rounds)}
    pairs = alternating_best_us({"strings": strings, "codes": codes}, checked, rounds)
    row["grams_strings_us"], row["grams_codes_us"] = pairs["strings"], pairs["codes"]
    row["grams_ratio"] = pairs["strings"] / pairs["codes"]
    row.update(_body_tokens_both_ways(tokenizer, [b.lower() for b in bodies], rounds))
    row.update(_collector_time(corpus, tokenizer))
    return row


def _collector_time(corpus: list[IndexEntry], tokenizer: Tokenizer, passes: int = 5) -> dict[str, float]:
    """µs per entry the cyclic garbage collector runs while the worker step repeats over the
    corpus: with Python's default thresholds, then as a cutting worker sets them
    (lantai.search.bulk._start_worker: what is loaded frozen, a young generation of
    WORKER_GC_THRESHOLD objects), timed by gc.callbacks."""
    started = [0.0]
    totals: list[float] = []  # seconds in collections, per setting

    def clock(phase: str, _info: dict) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            totals[-1] += time.perf_counter() - started[0]

    default = gc.get_threshold()
    gc.callbacks.append(clock)
    try:
        for worker in (False, True):
            gc.collect()
            if worker:
                gc.freeze()
                gc.set_threshold(WORKER_GC_THRESHOLD, *default[1:])
            totals.append(0.0)
            for _ in range(passes):
                for entry in corpus:
                    copy_row(prepare(entry, tokenizer, distinct=True))
    finally:
        gc.callbacks.remove(clock)
        gc.set_threshold(*default)
        gc.unfreeze()
    per_entry = [t / (passes * len(corpus)) * 1e6 for t in totals]
    return {"gc_default_us": per_entry[0], "gc_worker_us": per_entry[1]}


def _body_tokens_both_ways(tokenizer: Tokenizer, bodies: list[str], rounds: int) -> dict[str, float]:
    """A body's distinct tokens the way before (rjieba's search mode, every occurrence, then
    deduplicated and cleaned) and the way now (accurate words, their cached pieces), alternating."""
    jieba, subwords = tokenizer._jieba, tokenizer._subword_cache

    def search_mode(text: str) -> list[str]:
        tokens = _clean(list(dict.fromkeys(jieba.cut_for_search(text))))
        tokens += chain.from_iterable(map(subwords.__getitem__, [t for t in tokens if len(t) > 3]))
        return tokens + document_number_tokens(text)

    def pieces(text: str) -> list[str]:
        return tokenizer.index_tokens(text, distinct=True, folded=True)

    for text in bodies:  # the same tokens, both ways
        assert set(search_mode(text)) == set(pieces(text))
    best = alternating_best_us({"search_mode": search_mode, "pieces": pieces}, bodies, rounds)
    return {"body_search_mode_us": best["search_mode"], "body_pieces_us": best["pieces"],
            "body_tokens_ratio": best["search_mode"] / best["pieces"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--realistic", type=int, default=600)
    parser.add_argument("--synthetic", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    tokenizer = Tokenizer()
    corpora: list[tuple[str, list[IndexEntry]]] = []
    if args.realistic:
        from search_realistic import ingested_entries

        corpora.append((f"real 公文 ({args.realistic})", ingested_entries(args.realistic)))
    if args.synthetic:
        corpora.append((f"synthetic ({args.synthetic})", list(synthetic_entries(args.synthetic))))
    rows = [measure(name, corpus, tokenizer, args.rounds) for name, corpus in corpora]
    columns = ("corpus", "body_chars", "gram_tags", "worker_us", "prepare_us", "body_tokens_us", "copy_row_us",
               "lexemes_us", "grams_strings_us", "grams_codes_us", "grams_ratio", "body_search_mode_us",
               "body_pieces_us", "body_tokens_ratio", "gc_default_us", "gc_worker_us")
    print("  ".join(f"{c:>16}" for c in columns))
    for row in rows:
        print("  ".join(f"{row[c]:>16.1f}" if isinstance(row[c], float) else f"{row[c]!s:>16}" for c in columns))
    RESULTS.parent.mkdir(exist_ok=True)
    RESULTS.write_text(json.dumps(rows, ensure_ascii=False, indent=2), encoding="utf-8")
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
