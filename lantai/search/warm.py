"""Imported by the ingest fork server: the text extractors' libraries, loaded once.

Each ingest worker extracts the search text of the items it stages (:mod:`lantai.search.extract`)
and would otherwise import pypdfium2, pypdf, python-docx, openpyxl and ofdkit on its first item, each worker
again. Importing this module in the fork server does that once; importing it has that side effect
on purpose and nothing else.
"""

from __future__ import annotations

import docx  # noqa: F401
import ofdkit  # noqa: F401
import openpyxl  # noqa: F401
import pypdf  # noqa: F401
import pypdfium2  # noqa: F401

import lantai.search.extract  # noqa: F401
