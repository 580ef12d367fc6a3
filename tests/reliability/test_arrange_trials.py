"""SIGKILL arrangement — ``arrange`` with its publish, publish of pending arrangements, correction
of a filed item — at aimed points and at random moments; recover, check that store, catalogue
(档号 included), index and audit agree, publish what is pending, check again (see trials.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow


def test_sigkill_during_arrangement_publish_and_correction_is_recoverable(tmp_path: Path) -> None:
    trials.run_kinds(tmp_path, ("arrange", "publish", "correct"))
