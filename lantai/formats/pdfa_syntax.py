"""PDF/A file-structure rules that live in the raw bytes, where qpdf has already smoothed them over.

ISO 19005-1/-2 clause 6.1: the header and its binary comment, the ``ID`` of the last trailer, the
``xref`` line, the ``obj``/``endobj`` end-of-line markers. The file is memory-mapped and searched
with bounded regular expressions, so large PDFs are never read into memory.
"""

from __future__ import annotations

import mmap
import re
from pathlib import Path

from lantai.formats.pdfa_lexical import Liveness, Resolver, check_lexical

Violation = tuple[str, str]  # (clause, message)

HEADER_ANY = re.compile(rb"%PDF-\d\.\d")
HEADER_PDF1 = re.compile(rb"%PDF-1\.[0-7]")
OBJ_NO_EOL = re.compile(rb"(?:^|[\r\n])\d{1,10}[ ]\d{1,5}[ ]obj(?![\r\n])")
# The literal every OBJ_NO_EOL match ends in. OBJ_NO_EOL starts with an alternation, so searching it
# tries the whole pattern at every byte of the file (about 4 ms per 70 kB PDF); the keyword is found
# by a literal scan, and OBJ_NO_EOL is tried only in the 17 bytes before each keyword it could end.
OBJ_KEYWORD = re.compile(rb"[ ]obj(?![\r\n])")
OBJ_HEADER_REACH = 1 + 10 + 1 + 5  # [\r\n], object number, space, generation
TRAILER = re.compile(rb"trailer\s*<<")
STARTXREF = re.compile(rb"startxref\s+(\d+)")


def check_syntax(path: Path, part: int, resolve_length: Resolver | None = None,
                 live: Liveness | None = None) -> list[Violation]:
    """Raw-byte rules for PDF/A-``part``; an empty list means none broken.

    ``resolve_length`` gives the value of an indirect stream Length (object number, generation);
    ``live`` says whether an object is used by the document (default: every object is).
    """
    with open(path, "rb") as fh:
        try:
            data = mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ)
        except ValueError:  # empty file
            return [("6.1.2", "file is empty")]
        with data:
            lexical = check_lexical(data, part, resolve_length or (lambda _n, _g: None),
                                    live or (lambda _n, _g: True))
            return _header(data, part) + _trailer(data) + _objects(data, part) + lexical


def _header(data: mmap.mmap, part: int) -> list[Violation]:
    clause = "6.1.2"
    pattern = HEADER_ANY if part == 1 else HEADER_PDF1
    if not pattern.match(data, 0):
        return [(clause, f"file header is not %PDF-{'m.n' if part == 1 else '1.n (n 0..7)'} at offset 0")]
    line_end = _eol(data, 0)
    if line_end is None:
        return [(clause, "file header is not followed by an end-of-line marker")]
    comment = data[line_end:line_end + 6]
    if len(comment) < 5 or comment[:1] != b"%" or any(b <= 127 for b in comment[1:5]):
        return [(clause, "the header is not followed by a comment of at least four bytes above 127")]
    return []


def _eol(data: mmap.mmap, start: int) -> int | None:
    """Offset just past the first end-of-line marker after ``start``."""
    for offset in range(start, min(start + 64, len(data))):
        byte = data[offset:offset + 1]
        if byte == b"\n":
            return offset + 1
        if byte == b"\r":
            return offset + 2 if data[offset + 1:offset + 2] == b"\n" else offset + 1
    return None


def _trailer(data: mmap.mmap) -> list[Violation]:
    """The trailer that readers start from must carry ID: the first-page trailer of a linearised
    file, otherwise the last trailer of the file."""
    head = data[:2048]
    if b"/Linearized" in head:
        first = TRAILER.search(data, 0, min(len(data), 65536))
        if first is not None:
            if b"/ID" in data[first.start():first.start() + 2048].split(b"startxref")[0]:
                return []
            return [("6.1.3", "the first-page trailer of the linearised file has no ID")]
    tail_start = max(0, len(data) - 4096)
    tail = data[tail_start:]
    last = None
    for match in TRAILER.finditer(tail):
        last = match
    if last is None:
        return []  # cross-reference stream: qpdf's trailer check in pdfa.py covers it
    trailer = tail[last.start():]
    end = trailer.find(b"startxref")
    trailer = trailer[:end] if end > 0 else trailer
    if b"/ID" in trailer:
        return []
    return [("6.1.3", "the last file trailer dictionary has no ID")]


def _objects(data: mmap.mmap, part: int) -> list[Violation]:
    clause = "6.1.8" if part == 1 else "6.1.9"
    match = _first_obj_without_eol(data)
    if match is not None:
        return [(clause, f"the obj keyword at offset {match.start()} is not followed by an EOL marker")]
    return []


def _first_obj_without_eol(data: mmap.mmap | bytes) -> re.Match[bytes] | None:
    """``OBJ_NO_EOL.search(data)``, the same match, without trying the pattern at every byte.

    A match ends in `` obj`` not followed by an EOL, and the digits before that keyword fix where
    the match starts, so the first keyword that completes a match gives the first match. ``^``
    keeps meaning the start of the file when the search starts later, and the window ends one byte
    past the keyword so the lookahead sees the byte it tests.
    """
    for keyword in OBJ_KEYWORD.finditer(data):
        end = keyword.end()
        match = OBJ_NO_EOL.search(data, max(0, keyword.start() - OBJ_HEADER_REACH), end + 1)
        if match is not None:
            return match
    return None
