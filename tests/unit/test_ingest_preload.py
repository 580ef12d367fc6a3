"""The ingest fork server loads the check stack only when ingest runs a DA/T 70 profile, and the text
extractors always."""

from __future__ import annotations

import os
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
    """PDFium, openpyxl and ofdkit are loaded; pypdf (read only for a PDF PDFium cannot open) and
    python-docx (DOCX is read with lxml) are not."""
    code = ("import sys, lantai.search.warm; "
            "print(*(m in sys.modules for m in ('pypdfium2', 'openpyxl', 'ofdkit', 'pypdf', 'docx')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["True", "True", "True", "False", "False"]


def test_fork_server_preload_is_warm_without_unused_libraries(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """What the ingest fork server imports before forking: the check registry and the profile are
    parsed there (once, not in every worker); the clamd package (with pkg_resources), pypdf and
    python-docx, which workers do not need, are not loaded."""
    code = ("import sys; from lantai.services.ingest_workers import worker_preload; "
            "from lantai.settings import Settings; import importlib; "
            "[importlib.import_module(m) for m in worker_preload(Settings())]; "
            "from lantai.checks.registry import load_registry; from lantai.checks.profiles import _parsed; "
            "print(sorted(m for m in ('clamd', 'pkg_resources', 'pypdf', 'docx') if m in sys.modules), "
            "load_registry.cache_info().currsize, _parsed.cache_info().currsize)")
    env = {**os.environ, "LANTAI_HOME": str(tmp_path), "LANTAI_INGEST_PROFILE": "default"}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env)
    assert out.stdout.strip() == "[] 1 1"
