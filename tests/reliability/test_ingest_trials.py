"""SIGKILL a batch ingest (main process and its workers) at aimed points of its commit and at
random moments, start-up included; recover, check that store, catalogue, index and audit agree,
resubmit the batch, check again: nothing lost, duplicated or half-written (see trials.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow
KINDS = ("ingest",)


def test_sigkill_during_batch_ingest_is_recoverable(tmp_path: Path) -> None:
    seed = trials.seed()
    templates = trials.Templates(tmp_path)
    try:
        took = trials.durations(templates, KINDS)
        interrupted = sum(trials.run_trial(templates, trial, took, seed) for trial in trials.trials_of(KINDS, seed))
    finally:
        templates.close()
    assert interrupted >= len(trials.AIMED["ingest"]), f"the aimed kills did not all land (seed {seed})"
