"""Imported by the ingest fork server: the text extractors' libraries, loaded once.

Each ingest worker extracts the search text of the items it stages (:mod:`lantai.search.extract`)
and would otherwise import pypdfium2, openpyxl and ofdkit on its first item, each worker again.
Importing this module in the fork server does that once; importing it has that side effect on
purpose and nothing else. pypdf is not loaded: it reads only the rare PDF that PDFium cannot open,
and a worker that meets one imports it then (about 0.2 s once); DOCX is read with lxml.
"""

from __future__ import annotations

import ofdkit  # noqa: F401
import openpyxl  # noqa: F401
import pypdfium2  # noqa: F401

import lantai.search.extract  # noqa: F401
