"""PDF/A lexical rules over the raw bytes: stream framing and lengths, hex strings, object headers.

qpdf repairs these silently, so they are read from the memory-mapped file (never loaded whole):

* streams (ISO 19005-1 6.1.7, -2 6.1.7.1): ``stream`` is followed by CRLF or LF, ``endstream``
  is preceded by an EOL, and ``Length`` equals the bytes in between;
* hexadecimal strings (6.1.6): an even number of hexadecimal digits and nothing but them and
  white space — looked for only outside stream data;
* object headers (-1 6.1.8, -2 6.1.9): object number, generation and ``obj`` separated by single
  spaces, ``endobj`` preceded by an EOL;
* cross-reference sections (6.1.4): ``xref`` followed by a single EOL and a subsection header of
  two integers separated by one space.
"""

from __future__ import annotations

import mmap
import re
from collections.abc import Callable, Iterator

Violation = tuple[str, str]
Resolver = Callable[[int, int], int | None]
Liveness = Callable[[int, int], bool]

STREAM = re.compile(rb">>[ \t\r\n\f\x00]*stream(?!\w)")
LENGTH = re.compile(rb"/Length[ \t\r\n\f\x00]+(\d+)(?:[ \t\r\n\f\x00]+(\d+)[ \t\r\n\f\x00]+R)?")
HEADER_BEFORE = re.compile(rb"(\d+)[ \t\r\n\f\x00]+(\d+)[ \t\r\n\f\x00]+obj(?!\w)")
OBJ = re.compile(rb"(?:^|(?<=[\r\n]))(\d+)([ \t\f\x00]+)(\d+)([ \t\f\x00]+)obj(?!\w)")
INDENTED_OBJ = re.compile(rb"[\r\n][ \t\f\x00]+\d+ \d+ obj(?!\w)")
HEX = re.compile(rb"(?<![<])<(?![<])([^<>()]{0,65536})>")
HEX_OK = re.compile(rb"[0-9A-Fa-f \t\r\n\f\x00]*")
XREF_OK = re.compile(rb"xref(?:\r\n|\r|\n)\d+ \d+[ ]?(?:\r\n|\r|\n)")
MAX_STREAMS = 500_000
WHITE = {b"\r", b"\n", b" ", b"\t", b"\f", b"\x00"}


def check_lexical(data: mmap.mmap, part: int, resolve_length: Resolver, live: Liveness) -> list[Violation]:
    """Every lexical violation, one message per rule kind.

    Stream lengths and hex strings are judged only inside objects ``live`` says the document
    uses: bytes left behind by incremental updates or unreferenced objects are never read by a
    conforming reader, and the standard's rules apply to the objects of the document.
    """
    stream_clause = "6.1.7" if part == 1 else "6.1.7.1"
    found: dict[str, Violation] = {}
    gaps: list[tuple[int, int]] = []
    position = 0
    for problem, start, end in _streams(data, resolve_length):
        if problem and problem.startswith("a stream's Length") and not _in_live_object(data, start or 0, live):
            problem = None
        if problem:
            found.setdefault(problem[:20], (stream_clause, problem))
        if start is not None:
            gaps.append((position, start))
            position = end
    gaps.append((position, len(data)))
    for message in _hex_strings(data, gaps, live):
        found.setdefault("hex", ("6.1.6", message))
    for message in _object_headers(data, gaps, part):
        found.setdefault("obj", ("6.1.8" if part == 1 else "6.1.9", message))
    for message in _xref_headers(data):
        found.setdefault("xref", ("6.1.4", message))
    return list(found.values())


def _streams(data: mmap.mmap, resolve_length: Resolver) -> Iterator[tuple[str | None, int | None, int]]:
    """(problem or None, data start, data end) for each stream, in file order."""
    position, count = 0, 0
    while count < MAX_STREAMS:
        match = STREAM.search(data, position)
        if match is None:
            return
        count += 1
        keyword_end = match.end()
        eol = data[keyword_end:keyword_end + 2]
        problem = None
        if eol == b"\r\n":
            start = keyword_end + 2
        elif eol[:1] == b"\n":
            start = keyword_end + 1
        else:
            problem = "the stream keyword is not followed by CRLF or LF"
            start = keyword_end + (1 if eol[:1] == b"\r" else 0)
        declared = _declared_length(data, match.start(), resolve_length)
        end = _end_by_length(data, start, declared)
        if end is None:  # Length is wrong or indirect and unknown: fall back to the keyword
            end = data.find(b"endstream", start)
        if end < 0:
            yield problem or "a stream has no endstream keyword", None, len(data)
            return
        before = data[end - 2:end]
        eol_len = 2 if before == b"\r\n" else 1 if before[-1:] in (b"\r", b"\n") else 0
        if eol_len == 0 and problem is None:
            problem = "the endstream keyword is not preceded by an EOL marker"
        raw = end - start
        padding = 0
        while padding < raw and data[end - padding - 1:end - padding] in WHITE:
            padding += 1
        if declared is not None and problem is None and not raw - padding <= declared <= raw:
            problem = f"a stream's Length {declared} differs from its {raw - eol_len} bytes of data"
        yield problem, start, end
        position = end + 9


def _end_by_length(data: mmap.mmap, start: int, declared: int | None) -> int | None:
    """Where endstream sits when Length is right (EOL and white space allowed before it); trusting
    Length first means stream data that happens to contain 'endstream' cannot mislead the scan."""
    if declared is None or declared < 0 or start + declared > len(data):
        return None
    position = start + declared
    window = data[position:position + 16]
    offset = len(window) - len(window.lstrip(b"\r\n \t\f\x00"))
    if window[offset:offset + 9] == b"endstream":
        return position + offset
    return None


def _declared_length(data: mmap.mmap, dict_end: int, resolve_length: Resolver) -> int | None:
    """The Length entry of the dictionary that ends at ``dict_end`` (direct or resolved reference)."""
    header = data.rfind(b"obj", max(0, dict_end - 65536), dict_end)
    if header < 0:
        return None
    found = LENGTH.search(data, header, dict_end)
    if found is None:
        return None
    if found.group(2) is None:
        return int(found.group(1))
    return resolve_length(int(found.group(1)), int(found.group(2)))


def _in_live_object(data: mmap.mmap, offset: int, live: Liveness) -> bool:
    """Whether the object whose header precedes ``offset`` is one the document uses."""
    window_start = max(0, offset - 65536)
    header = next(reversed(list(HEADER_BEFORE.finditer(data, window_start, offset))), None)
    if header is None:
        return True  # cannot tell: judge it
    return live(int(header.group(1)), int(header.group(2)))


def _hex_strings(data: mmap.mmap, gaps: list[tuple[int, int]], live: Liveness) -> Iterator[str]:
    for start, end in gaps:
        if end - start > 64 * 1024 * 1024:
            continue
        for match in HEX.finditer(data, start, end):
            body = match.group(1)
            if HEX_OK.fullmatch(body) and not len(re.sub(rb"[ \t\r\n\f\x00]", b"", body)) % 2:
                continue
            if not _in_live_object(data, match.start(), live):
                continue
            if not HEX_OK.fullmatch(body):
                yield f"a hexadecimal string contains characters other than hex digits: {body[:20]!r}"
                return
            digits = len(re.sub(rb"[ \t\r\n\f\x00]", b"", body))
            if digits % 2:
                yield "a hexadecimal string has an odd number of digits"
                return


def _object_headers(data: mmap.mmap, gaps: list[tuple[int, int]], part: int) -> Iterator[str]:
    for start, end in gaps:
        for match in OBJ.finditer(data, start, end):
            if match.group(2) != b" " or match.group(4) != b" ":
                yield f"object header {match.group(0)[:30]!r} is not separated by single spaces"
                return
        indented = INDENTED_OBJ.search(data, start, end)
        if indented is not None:
            yield "an object header does not start at the beginning of a line"
            return
        position = start
        while True:
            found = data.find(b"endobj", position, end)
            if found < 0:
                break
            after = data[found + 6:found + 7]
            if found > 0 and data[found - 1:found] not in (b"\r", b"\n") and after in (b"\r", b"\n", b""):
                yield "an endobj keyword is not preceded by an EOL marker"
                return
            position = found + 6


def _xref_headers(data: mmap.mmap) -> Iterator[str]:
    """Each 'xref' keyword at the start of a line (found with find, which is far faster than a
    look-behind regular expression over the whole file)."""
    position = data.find(b"xref")
    while position >= 0:
        at_line_start = position == 0 or data[position - 1:position] in (b"\r", b"\n")
        keyword = not data[position + 4:position + 5].isalnum()
        if at_line_start and keyword and not XREF_OK.match(data, position):
            yield "the xref keyword is not followed by a single EOL and a subsection header 'n m'"
            return
        position = data.find(b"xref", position + 4)


CONTENT_TOKEN = re.compile(rb"[(<%]|(?<![^\s])ID(?=\s)")
LITERAL_SPECIAL = re.compile(rb"[()\\]")
INLINE_END = re.compile(rb"\sEI(?=[\s]|$)")
MAX_CONTENT_SCAN = 8 * 1024 * 1024
# Content in which every '<' begins a '<<', a '>>' aside, or a well-formed hexadecimal string (an even
# number of hex digits, white space anywhere), matched in one pass by the regex engine. Possessive
# repeats: the match never backtracks, it stops at the first '<' that is none of these.
_WS = rb"[ \t\r\n\f\x00]"
_HEX = rb"[0-9A-Fa-f]"
ALL_HEX_WELL_FORMED = re.compile(rb"(?:[^<]++|<<|<" + _WS + rb"*+(?:" + _HEX + _WS + rb"*+" + _HEX + _WS
                                 + rb"*+)*+>)*+")


def content_hex_problem(data: bytes) -> str | None:
    """The first malformed hexadecimal string in decoded content, skipping literal strings,
    comments and inline-image data (which may contain any bytes).

    When every '<' of the content opens a dictionary or a well-formed hexadecimal string, read as if
    there were no literal strings, comments or inline images at all, the scan that skips them finds
    nothing either: skipping only removes places to look, and cannot split a run of '<' differently
    (a skipped part never ends in '<'). One regular-expression match decides that case, the usual
    one, in C; content with a '<' anywhere else is scanned token by token as before."""
    if len(data) > MAX_CONTENT_SCAN:
        return None
    if ALL_HEX_WELL_FORMED.match(data).end() == len(data):
        return None
    return scan_content_hex(data)


def scan_content_hex(data: bytes) -> str | None:
    """:func:`content_hex_problem` token by token, with no shortcut."""
    position = 0
    while True:
        match = CONTENT_TOKEN.search(data, position)
        if match is None:
            return None
        token, start = match.group(0), match.start()
        if token == b"(":
            position = _skip_literal(data, start + 1)
        elif token == b"%":
            newline = re.compile(rb"[\r\n]").search(data, start)
            position = newline.end() if newline else len(data)
        elif token == b"ID":
            end = INLINE_END.search(data, match.end())
            position = end.end() if end else len(data)
        elif data[start + 1:start + 2] == b"<":
            position = start + 2
        else:
            close = data.find(b">", start + 1)
            if close < 0:
                return "a hexadecimal string is not terminated"
            body = data[start + 1:close]
            if not HEX_OK.fullmatch(body):
                return f"a hexadecimal string contains characters other than hex digits: {body[:20]!r}"
            if len(re.sub(rb"[ \t\r\n\f\x00]", b"", body)) % 2:
                return "a hexadecimal string has an odd number of digits"
            position = close + 1


def _skip_literal(data: bytes, position: int) -> int:
    """Offset just past the literal string whose body starts at ``position``."""
    depth = 1
    while depth:
        match = LITERAL_SPECIAL.search(data, position)
        if match is None:
            return len(data)
        char = match.group(0)
        if char == b"\\":
            position = match.end() + 1
            continue
        depth += 1 if char == b"(" else -1
        position = match.end()
    return position
