"""Prepare entries for a bulk reindex in worker processes while the caller's process writes.

Cutting Chinese is most of a reindex's CPU time (rjieba plus the Python around it, about
0.35 ms per 2 KB entry); the database write is the rest. With ``workers > 1`` chunks are cut
in a process pool — each worker builds the same tokenizer, so the fingerprint matches — and
at most ``2 × workers`` chunks are in flight, so a million entries never sit in memory.
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future
from itertools import islice
from typing import Any

from lantai.jobs.pool import worker_pool
from lantai.search.model import IndexEntry
from lantai.search.prepare import PreparedDoc, prepare
from lantai.search.tokenize import Tokenizer

_worker_tokenizer: Tokenizer | None = None
Finish = Callable[[PreparedDoc], Any]


# A worker's cyclic garbage collector: its young-generation threshold, in container objects
# allocated and not yet freed. Cutting an entry allocates thousands of lists and tuples that die
# within it, and at the default 700 a collection ran every few entries and, from time to time,
# walked the tokenizer's caches (12 µs of an entry's ~600). Nothing a worker makes is cyclic;
# the collector still runs if something is.
WORKER_GC_THRESHOLD = 20_000


def _start_worker(extra_words: tuple[str, ...], mode: str) -> None:
    global _worker_tokenizer
    _worker_tokenizer = Tokenizer(extra_words, mode=mode)
    gc.freeze()  # the tokenizer and the modules: never garbage, never walked again
    gc.set_threshold(WORKER_GC_THRESHOLD, *gc.get_threshold()[1:])


def _prepare_chunk(chunk: list[IndexEntry], finish: Finish | None, distinct: bool) -> list[Any]:
    assert _worker_tokenizer is not None
    return _prepared(chunk, _worker_tokenizer, finish, distinct)


def _prepared(chunk: list[IndexEntry], tokenizer: Tokenizer, finish: Finish | None, distinct: bool) -> list[Any]:
    docs = [prepare(e, tokenizer, distinct=distinct) for e in chunk]
    return docs if finish is None else [finish(doc) for doc in docs]


def chunks(items: Iterable, size: int) -> Iterator[list]:
    iterator = iter(items)
    while chunk := list(islice(iterator, size)):
        yield chunk


def prepared_chunks(entries: Iterable[IndexEntry], tokenizer: Tokenizer, size: int,
                    workers: int = 1, finish: Finish | None = None, distinct: bool = False) -> Iterator[list[Any]]:
    """Chunks of prepared documents, in the order of ``entries``.

    ``finish`` (a module-level function, so workers can be sent it) turns each prepared document
    into what the backend writes, in the worker: a PostgreSQL COPY row with its tsvector text is
    built there, and crosses the process boundary as a few strings instead of token lists.
    ``distinct``: see :func:`~lantai.search.prepare.prepare`.
    """
    if workers <= 1:
        for chunk in chunks(entries, size):
            yield _prepared(chunk, tokenizer, finish, distinct)
        return
    # Fork-server workers: a fork of this process would inherit its open catalogue connection and
    # the archive's activity lock (see lantai.jobs.pool).
    with worker_pool(workers, initializer=_start_worker, initargs=(tokenizer.extra_words, tokenizer.mode)) as pool:
        pending: deque[Future[list[Any]]] = deque()
        for chunk in chunks(entries, size):
            pending.append(pool.submit(_prepare_chunk, chunk, finish, distinct))
            if len(pending) >= 2 * workers:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
