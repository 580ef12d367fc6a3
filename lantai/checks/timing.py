"""Opt-in CPU accounting per check and per shared file fact, for finding where check time goes.

Checks share lazily computed facts (format identification, PDF/A validation, OFD parsing …):
whichever check touches a fact first would otherwise be charged for it. Here a fact's CPU time
is booked to the fact and subtracted from the check that triggered it, so the table adds up to
the process's CPU time without double counting. Off unless ``LANTAI_CHECK_TIMINGS`` is set or
:func:`enable` is called (``bench/bench_ingest.py --realistic`` does); when off, :func:`measure`
costs one boolean test.
"""

from __future__ import annotations

import contextlib
import os
import time
from collections.abc import Iterator

ENV = "LANTAI_CHECK_TIMINGS"

_enabled = bool(os.environ.get(ENV))
_totals: dict[str, list[float]] = {}  # key → [own CPU seconds, calls]
_nested: list[float] = []  # CPU already booked to inner measurements, per open measurement


def enable(on: bool = True) -> None:
    """Start (or stop) accounting in this process; totals are kept until :func:`reset`."""
    global _enabled
    _enabled = on


def enabled() -> bool:
    return _enabled


def reset() -> None:
    _totals.clear()
    _nested.clear()


@contextlib.contextmanager
def measure(key: str) -> Iterator[None]:
    """Book the CPU time of the block to ``key``, minus what nested measurements booked."""
    if not _enabled:
        yield
        return
    started = time.process_time()
    _nested.append(0.0)
    try:
        yield
    finally:
        elapsed = time.process_time() - started
        inner = _nested.pop()
        entry = _totals.setdefault(key, [0.0, 0.0])
        entry[0] += elapsed - inner
        entry[1] += 1
        if _nested:
            _nested[-1] += elapsed


def totals() -> dict[str, tuple[float, int]]:
    """key → (own CPU seconds, calls) since the last :func:`reset`."""
    return {key: (value[0], int(value[1])) for key, value in _totals.items()}
