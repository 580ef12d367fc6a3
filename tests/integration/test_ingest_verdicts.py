"""Speed work keeps every verdict: the default gd profile over a generated batch with planted
defects (checks and ingest, real clamd) gives exactly the verdicts recorded before it.

``verdicts_default_gd.json`` was recorded from main (e39442e, one check pipeline) without the
ingest-speed changes (clamd sessions, the warm fork server); a change that is meant to alter verdicts records it again with
``python -m tests.integration.verdicts`` and says so in its commit.
"""

from __future__ import annotations

import json

import pytest

from lantai.checks.clamav import ClamdServer
from tests.integration.verdicts import BATCH, GOLDEN, collect, generate_batch

pytestmark = [pytest.mark.clamd, pytest.mark.skipif(ClamdServer.binary() is None, reason="clamd is not installed")]


def test_default_profile_verdicts_are_unchanged(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert expected["batch"] == BATCH
    monkeypatch.setenv("LANTAI_INGEST_PROFILE", "default")
    with ClamdServer(run_dir=tmp_path / "clamd") as server:
        monkeypatch.setenv("LANTAI_CLAMD_SOCKET", server.socket)
        actual = collect(generate_batch(tmp_path / "batch"), server.socket, tmp_path / "home")
    assert any("|fail|" in c for c in actual["checks"]) and any("|rejected|" in i for i in actual["ingest"])
    assert actual["ingest"] == expected["ingest"]
    assert actual["checks"] == expected["checks"]
