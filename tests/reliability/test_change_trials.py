"""SIGKILL changes to archived items — here 密级 change, transfer mark and 著录更正; arrangement with its
publish, publish of pending arrangements and correction in test_arrange_trials.py — at aimed points (just after the
intent appears, after a version reached the store, after the audit journal was written, after
the catalogue committed) and at random moments; recover, check that store, catalogue, index and
audit agree, finish the work, check again (see trials.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow
KINDS = ("classify", "transfer", "metadata")  # arrangement's kinds: test_arrange_trials.py (one file per xdist worker)


def test_sigkill_during_classification_change_transfer_mark_and_correction_is_recoverable(tmp_path: Path) -> None:
    trials.run_kinds(tmp_path, KINDS)
