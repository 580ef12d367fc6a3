"""Rewrite an OOXML (ZIP) file with fixed timestamps, so the same seed gives the same bytes.

openpyxl and python-docx stamp every ZIP entry with the current time; archives compare digests,
so the demo normalises them to the document's own date.
"""

from __future__ import annotations

import io
import zipfile
from datetime import datetime


def normalize_zip(data: bytes, moment: datetime) -> bytes:
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            fixed = zipfile.ZipInfo(info.filename, stamp)
            fixed.compress_type = zipfile.ZIP_DEFLATED
            fixed.external_attr = 0o644 << 16
            target.writestr(fixed, source.read(info))
    return out.getvalue()
