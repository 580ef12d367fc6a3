"""The unit of work a fixity worker runs: one file's digest. Imports nothing heavy on purpose,
so a pool of these starts fast and each task costs only the read and the hash."""

from __future__ import annotations

import hashlib

CHUNK = 1024 * 1024


def check_file(job: tuple[str, str, str, str, str]) -> tuple[str, str, str, bool, str, int]:
    """(object id, content path, absolute path, algorithm, expected) → (…, ok, actual, size)."""
    object_id, content_path, absolute, algorithm, expected = job
    digest = hashlib.new(algorithm)
    size = 0
    try:
        with open(absolute, "rb", buffering=0) as fh:
            while chunk := fh.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
    except OSError as exc:
        return object_id, content_path, absolute, False, f"unreadable: {exc.strerror}", size
    actual = digest.hexdigest()
    return object_id, content_path, absolute, actual == expected, actual, size
