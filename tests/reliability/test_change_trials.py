"""SIGKILL changes to archived items — here 密级 change and transfer mark; arrangement with its
publish, publish of pending arrangements and correction in test_arrange_trials.py — at aimed points (just after the
intent appears, after a version reached the store, after the audit journal was written, after
the catalogue committed) and at random moments; recover, check that store, catalogue, index and
audit agree, finish the work, check again (see trials.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow
KINDS = ("classify", "transfer")  # arrangement's kinds: test_arrange_trials.py (one file per xdist worker)


def run_kinds(tmp_path: Path, kinds: tuple[str, ...]) -> None:
    """Every trial of the run's plan for ``kinds``; each kind's aimed kills must all land."""
    seed = trials.seed()
    templates = trials.Templates(tmp_path)
    try:
        took = trials.durations(templates, kinds)
        interrupted: Counter[str] = Counter()
        for trial in trials.trials_of(kinds, seed):
            interrupted[trial.kind] += trials.run_trial(templates, trial, took, seed)
    finally:
        templates.close()
    for kind in kinds:
        assert interrupted[kind] >= len(trials.AIMED[kind]), f"{kind}: the aimed kills did not all land (seed {seed})"


def test_sigkill_during_classification_change_and_transfer_mark_is_recoverable(tmp_path: Path) -> None:
    run_kinds(tmp_path, KINDS)
