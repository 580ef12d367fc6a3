"""Integration tests ingest on the production path: the default DA/T 70 profile and a real clamd."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _production_ingest(production_ingest: str) -> str:
    return production_ingest
