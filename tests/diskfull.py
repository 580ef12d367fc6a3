"""Filling a small tmpfs for the disk-full tests (integration and reliability trials share it)."""

from __future__ import annotations

import errno
import os
from pathlib import Path


def fill(directory: Path, leave: int = 0) -> Path:
    """Fill the file system; then give back ``leave`` bytes by cutting the filler."""
    filler = directory / "filler.bin"
    with open(filler, "wb", buffering=0) as fh:
        for size in (1 << 20, 1 << 16, 1 << 12, 1):
            block = b"\0" * size
            while True:
                try:
                    fh.write(block)
                except OSError as exc:
                    assert exc.errno == errno.ENOSPC
                    break
    if leave:
        os.truncate(filler, max(0, filler.stat().st_size - leave))
    return filler
