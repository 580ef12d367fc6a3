"""Zero crashes: every file of ../shared/corpus/archivematica-sampledata (broken, hostile, EICAR,
password-protected, bad names) goes through identify and the validator its format calls for."""

from __future__ import annotations

import time
from pathlib import Path

from lantai import formats

SLOW_SECONDS = 10.0


def _validate(path: Path, mime: str | None, puid: str | None) -> object:
    suffix = path.suffix.lower()
    if mime == "application/pdf" or suffix == ".pdf":
        formats.validate_pdfa(path)
        return formats.inspect_pdf(path)
    if puid == "lantai-fmt/ofd" or suffix == ".ofd":
        return formats.validate_ofd(path)
    if (mime or "").startswith("image/"):
        return formats.check_image(path)
    if suffix in (".docx", ".xlsx", ".pptx", ".doc", ".xls") or "officedocument" in (mime or ""):
        return formats.check_office(path)
    return None


def test_archivematica_sampledata_never_crashes(corpus_dir: Path) -> None:
    files = sorted(p for p in (corpus_dir / "archivematica-sampledata").rglob("*") if p.is_file())
    assert files
    validated = 0
    slow = []
    for path in files:
        start = time.perf_counter()
        info = formats.identify(path)
        if _validate(path, info.mime, info.puid) is not None:
            validated += 1
        if time.perf_counter() - start > SLOW_SECONDS:
            slow.append(path.name)
    print(f"\nhostile corpus: {len(files)} files identified, {validated} validated, 0 crashes, slow: {slow}")
    assert not slow
