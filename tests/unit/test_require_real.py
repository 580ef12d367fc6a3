"""With LANTAI_REQUIRE_REAL=1 (CI) a skipped test that needs PostgreSQL, clamd, Chromium or
../shared fails the run; without it the same skip is only a skip."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import PG_ENV, REPO_ROOT, REQUIRE_REAL_ENV

NODE = "tests/integration/test_search_backends.py::test_boolean_operators"


def run(require: bool) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in (PG_ENV, REQUIRE_REAL_ENV)}
    if require:
        env[REQUIRE_REAL_ENV] = "1"
    return subprocess.run([sys.executable, "-m", "pytest", NODE, "-k", "postgresql", "-q", "-p", "no:cacheprovider",
                           "-p", "no:xdist", "-rs"], cwd=REPO_ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_skipped_postgres_test_fails_only_when_real_components_are_required() -> None:
    relaxed = run(require=False)
    assert relaxed.returncode == 0 and "1 skipped" in relaxed.stdout, relaxed.stdout
    strict = run(require=True)
    assert strict.returncode == 1, strict.stdout
    assert "postgres was skipped" in strict.stdout and "1 error" in strict.stdout, strict.stdout
