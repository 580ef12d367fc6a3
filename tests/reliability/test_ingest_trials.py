"""SIGKILL a batch ingest (main process and its workers) at aimed points of its commit and at
random moments, start-up included; recover, check that store, catalogue, index and audit agree,
resubmit the batch, check again: nothing lost, duplicated or half-written (see trials.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow


def test_sigkill_during_batch_ingest_is_recoverable(tmp_path: Path) -> None:
    trials.run_kinds(tmp_path, ("ingest",))
