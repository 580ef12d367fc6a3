"""SIGKILL the rebuilds of derived data — ``lantai search reindex`` and ``lantai rebuild`` — at
aimed points (index: shadow complete, swapped in; catalogue: scratch complete, swapped in) and at
random moments: the live index and catalogue stay whole and in use, and a re-run completes
(see trials.py; test_rebuild_safety.py covers damaged stores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow
KINDS = ("reindex", "rebuild")


def test_sigkill_during_reindex_and_rebuild_leaves_derived_data_whole(tmp_path: Path) -> None:
    seed = trials.seed()
    templates = trials.Templates(tmp_path)
    try:
        took = trials.durations(templates, KINDS)
        interrupted = sum(trials.run_trial(templates, trial, took, seed) for trial in trials.trials_of(KINDS, seed))
    finally:
        templates.close()
    assert interrupted >= len(trials.AIMED["reindex"]) + len(trials.AIMED["rebuild"]), f"aimed kills missed (seed {seed})"
