"""Imported by the ingest fork server when ingest runs a DA/T 70 profile: the check stack, loaded once.

Each ingest worker would otherwise import pikepdf, fontTools, the PDF/A and OFD validators and
the check implementations, and load the PRONOM signatures (about 0.7 s of CPU), on its first
item. Importing this module in the fork server does that once; workers forked from it start warm
and share the pages. Importing it has that side effect on purpose and nothing else.
"""

from __future__ import annotations

import contextlib

import clamd  # noqa: F401
import fontTools.ttLib  # noqa: F401
import pikepdf  # noqa: F401

import lantai.domain.archival_code
import lantai.domain.retention
import lantai.formats.ofd
import lantai.formats.ofd_seal
import lantai.formats.office
import lantai.formats.pdf
import lantai.formats.pdfa  # noqa: F401
from lantai.checks import engine, loaders  # noqa: F401
from lantai.checks.registry import implementations
from lantai.checks.report import tool_versions
from lantai.formats.identify import get_identifier

implementations()
tool_versions()  # read once here, not once per worker
with contextlib.suppress(Exception):  # identification reports its own failure on first use
    get_identifier()
