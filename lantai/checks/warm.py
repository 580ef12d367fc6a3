"""Imported by the ingest fork server when ingest runs a DA/T 70 profile: the check stack, loaded once.

Each ingest worker would otherwise import pikepdf, fontTools, the PDF/A and OFD validators and
the check implementations, and load the PRONOM signatures (about 0.7 s of CPU), on its first
item. Importing this module in the fork server does that once; workers forked from it start warm
and share the pages. Importing it has that side effect on purpose and nothing else.

The check registry (``registry.toml``, about 0.1 s to parse) and the ingest profile are parsed
here too: each worker otherwise parsed them again on its first item. The clamd client is
Lantai's own (:mod:`lantai.checks.clamd_client`), so the ``clamd`` package and the
``pkg_resources`` it imports (about 0.15 s) are not loaded at all.
"""

from __future__ import annotations

import contextlib

import fontTools.misc.encodingTools
import fontTools.ttLib
import fontTools.unicode
import pikepdf  # noqa: F401

import lantai.checks.clamav
import lantai.domain.archival_code
import lantai.domain.retention
import lantai.formats.ofd
import lantai.formats.ofd_seal
import lantai.formats.office
import lantai.formats.pdf
import lantai.formats.pdfa  # noqa: F401
from lantai.checks import engine, loaders  # noqa: F401
from lantai.checks.ingest import ingest_profile_name
from lantai.checks.registry import implementations, load_registry
from lantai.checks.report import tool_versions
from lantai.checks.runner import resolve_profile
from lantai.formats.identify import get_identifier
from lantai.settings import load_settings

implementations()
load_registry()
with contextlib.suppress(Exception):  # a profile that does not load is reported by the first item's check
    # The fork server starts with the command's environment, so these are the command's settings;
    # a worker whose settings name another profile parses that one itself, as before.
    settings = load_settings()
    resolve_profile(ingest_profile_name(settings), settings)
for tag in ("cmap", "head", "hhea", "hmtx", "maxp", "post"):  # fontTools loads table modules on first use
    fontTools.ttLib.getTableModule(tag)
tool_versions()  # read once here, not once per worker
with contextlib.suppress(Exception):  # identification reports its own failure on first use
    get_identifier()
