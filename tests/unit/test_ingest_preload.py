"""The ingest fork server loads the check stack only when ingest runs a DA/T 70 profile, and the text
extractors always."""

from __future__ import annotations

import subprocess
import sys

from lantai.jobs.pool import DEFAULT_PRELOAD
from lantai.services.ingest_workers import worker_preload
from lantai.settings import Settings


def test_off_profile_preloads_only_the_ingest_modules(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert worker_preload(Settings(home=tmp_path, ingest_profile="off")) == [*DEFAULT_PRELOAD, "lantai.search.warm"]


def test_a_check_profile_preloads_the_check_stack(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert worker_preload(Settings(home=tmp_path, ingest_profile="default"))[-1] == "lantai.checks.warm"


def test_warm_module_loads_checks_and_signatures_in_a_fresh_interpreter() -> None:
    code = ("import sys, lantai.checks.warm; i = sys.modules['lantai.formats.identify']; "
            "print(i._identifier is not None, 'pikepdf' in sys.modules, 'fontTools.ttLib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True"]


def test_search_warm_module_loads_the_text_extractors_in_a_fresh_interpreter() -> None:
    code = "import sys, lantai.search.warm; print(*(m in sys.modules for m in ('pypdf', 'docx', 'openpyxl', 'ofdkit')))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True"] * 4
