"""SIGKILL each kind of change to archived items — 密级 change, arrangement with its publish,
publish of pending arrangements, correction, transfer mark — at aimed points (just after the
intent appears, after a version reached the store, after the audit journal was written, after
the catalogue committed) and at random moments; recover, check that store, catalogue, index and
audit agree, finish the work, check again (see trials.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.reliability import trials
from tests.reliability.driver import CHANGE_KINDS

pytestmark = pytest.mark.slow


def test_sigkill_during_each_kind_of_change_is_recoverable(tmp_path: Path) -> None:
    seed = trials.seed()
    templates = trials.Templates(tmp_path)
    try:
        took = trials.durations(templates, CHANGE_KINDS)
        interrupted: Counter[str] = Counter()
        for trial in trials.trials_of(CHANGE_KINDS, seed):
            interrupted[trial.kind] += trials.run_trial(templates, trial, took, seed)
    finally:
        templates.close()
    for kind in CHANGE_KINDS:
        assert interrupted[kind] >= len(trials.AIMED[kind]), f"{kind}: the aimed kills did not all land (seed {seed})"
