"""SIGKILL the rebuilds of derived data — ``lantai search reindex`` and ``lantai rebuild`` — at
aimed points (index: shadow complete, swapped in; catalogue: scratch complete, swapped in) and at
random moments: the live index and catalogue stay whole and in use, and a re-run completes
(see trials.py; test_rebuild_safety.py covers damaged stores)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import trials

pytestmark = pytest.mark.slow


def test_sigkill_during_reindex_and_rebuild_leaves_derived_data_whole(tmp_path: Path) -> None:
    trials.run_kinds(tmp_path, ("reindex", "rebuild"))
