"""Format identification: PRONOM PUIDs offline, MIME types, and the containers PRONOM v109 misses.

Why this combination (measured, DEPENDENCIES.md §2): fido 1.6.1 ships PRONOM v109 and gives PUIDs
offline, but starting it costs ~0.25 s, so its signatures are loaded once per process and matched
against buffers we read ourselves. fido's own ``match_formats`` walks all 2,257 formats per file
through ElementTree lookups and Python's 512-entry regex cache (which ~2,000 patterns thrash), about
35 ms a file; :class:`SignatureIndex` gives the same answer — same candidates, same order, same
priority pruning — from precompiled patterns, skipping signatures whose literal first bytes or
required literals are absent, in well under a millisecond for the common archive formats. Its container step re-parses the container signature file for every ZIP
and reads whole members (a zip-bomb hazard), so container signatures are parsed once here and
matched against bounded reads. libmagic supplies MIME types cheaply. PRONOM v109 has no OFD entry,
so OFD (a ZIP whose ``OFD.xml`` root is in ``http://www.ofdspec.org/2016``) gets the stable local id
``lantai-fmt/ofd`` — not a PUID, and says so in ``basis``.

``identify`` never raises for bad content: hostile, empty or unreadable files give a
``FormatInfo`` with ``puid`` None and the reason in ``warnings``.
"""

from __future__ import annotations

import functools
import os
import re
import threading
import zipfile
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any
from xml.etree import ElementTree as ET

from lantai.formats.safexml import local_name, namespace, parse_xml
from lantai.packages import zipsafe as safezip

OFD_NAMESPACE = "http://www.ofdspec.org/2016"
OFD_LOCAL_ID = "lantai-fmt/ofd"
BUFSIZE = 128 * 1024
CONTAINER_READ_LIMIT = 4 * 1024 * 1024
OLE_PUIDS = frozenset({"fmt/111"})
# Generic super-formats whose dialects legitimately carry their own extensions (.opml, .fb2 are XML).
GENERIC_PUIDS = frozenset({"fmt/101", "x-fmt/111"})
ZIP_ERRORS = (zipfile.BadZipFile, safezip.ZipLimitError, OSError, EOFError, ValueError, RuntimeError)


@dataclass(frozen=True, slots=True)
class FormatInfo:
    """What a file is. ``basis``: signature | container | ofd | extension | none | error."""

    puid: str | None
    mime: str | None
    name: str | None
    version: str | None
    basis: str
    warnings: tuple[str, ...] = field(default_factory=tuple)
    extension_mismatch: bool = False

    @property
    def identified(self) -> bool:
        return self.puid is not None and self.basis not in ("extension", "none", "error")

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["warnings"] = list(self.warnings)
        return data


@dataclass(slots=True)
class _Match:
    puid: str
    name: str | None
    version: str | None
    mime: str | None
    extensions: tuple[str, ...]


class Identifier:
    """One long-lived fido + libmagic pair. Thread-safe by a lock (fido keeps per-call state)."""

    def __init__(self) -> None:
        import fido.fido as fido_module
        from fido.versions import get_local_versions

        versions = get_local_versions()
        self._fido = fido_module.Fido(
            quiet=True, handle_matches=lambda *args: None,
            format_files=[versions.pronom_signature, versions.fido_extension_signature],
        )
        self._index = SignatureIndex(self._fido)
        self.pronom_version = str(versions.pronom_version)
        container_path = os.path.join(self._fido.conf_dir, versions.pronom_container_signature)
        container_doc = ET.parse(container_path)
        self._zip_sigs = _compile(self._fido.extract_signatures(container_doc, signature_type="ZIP"))
        self._ole_sigs = _compile(self._fido.extract_signatures(container_doc, signature_type="OLE2"))
        self._lock = threading.Lock()
        self._magic = _new_magic()
        self._external_name = self._fido.externalsig.findtext("name")
        self._by_extension_table: dict[str, list[Any]] = {}
        for fmt in self._fido.formats:  # fido's order; one entry per format, as its loop breaks
            for text in dict.fromkeys(e.text for e in fmt.findall("extension")):
                if text is not None:
                    self._by_extension_table.setdefault(text, []).append(fmt)

    # -- public --------------------------------------------------------------------------------
    def identify(self, path: str | os.PathLike[str]) -> FormatInfo:
        path = Path(path)
        try:
            return self._identify(path)
        except Exception as exc:  # never let a hostile file crash a batch
            return FormatInfo(None, None, None, None, "error", (f"identification failed: {type(exc).__name__}: {exc}",))

    # -- steps ---------------------------------------------------------------------------------
    def _identify(self, path: Path) -> FormatInfo:
        try:
            size = path.stat().st_size
            if not path.is_file():
                return FormatInfo(None, None, None, None, "error", ("not a regular file",))
            with open(path, "rb") as fh:
                bof, eof = _buffers(fh, size)
        except OSError as exc:
            return FormatInfo(None, None, None, None, "error", (f"cannot read file: {exc.strerror or exc}",))
        if size == 0:
            return FormatInfo(None, "application/x-empty", None, None, "none", ("empty file (0 bytes)",))
        mime = functools.partial(self._mime, bof)  # libmagic only where PRONOM gives no MIME (3 ms on text)
        warnings: list[str] = []
        if bof[:4] == b"PK\x03\x04":
            matches, basis = self._zip_container(path, bof, eof, warnings)
            if not matches:
                return self._by_extension(path, mime, warnings)
            return self._result(path, matches, basis, mime, warnings)
        raw = self._index.match(bof, eof)
        container_type = self._fido.container_type(raw)
        matches = self._matches(raw)
        basis = "signature"
        if container_type == "ole" or {m.puid for m in matches} & OLE_PUIDS:
            container = self._ole_container(path, warnings)
            if container:
                matches, basis = container, "container"
        if not matches:
            return self._by_extension(path, mime, warnings)
        return self._result(path, matches, basis, mime, warnings)

    def _result(self, path: Path, matches: list[_Match], basis: str, mime: Callable[[], str | None],
                warnings: list[str]) -> FormatInfo:
        best = _choose(matches, _extension(path))
        mismatch = _extension_mismatch(path, best)
        if mismatch:
            warnings.append(f"extension .{_extension(path)} does not match the identified format "
                            f"{best.puid} ({best.name}); expected {', '.join('.' + e for e in best.extensions[:4])}")
        if len(matches) > 1:
            others = sorted({m.puid for m in matches} - {best.puid})
            if others:
                warnings.append("other candidate formats: " + ", ".join(others))
        return FormatInfo(best.puid, _pick_mime(mime, best.mime), best.name, best.version, basis,
                          tuple(warnings), mismatch)

    def _by_extension(self, path: Path, mime: Callable[[], str | None], warnings: list[str]) -> FormatInfo:
        with self._lock:
            found = [self._to_match(fmt) for fmt, _ in self._match_extensions(str(path))]
        if len(found) == 1:
            only = found[0]
            warnings.append("no signature matched; identified by file extension only")
            return FormatInfo(only.puid, _pick_mime(mime, only.mime), only.name, only.version, "extension",
                              tuple(warnings))
        if found:
            warnings.append("no signature matched; extension is ambiguous: " + ", ".join(m.puid for m in found))
        else:
            warnings.append("no signature matched")
        return FormatInfo(None, mime(), None, None, "none", tuple(warnings))

    def _match_extensions(self, filename: str) -> list[tuple[Any, str]]:
        """``Fido.match_extensions`` from a table built once: fido walks every format's extension
        elements per call (about 5 ms); same candidates, same order, same priority pruning."""
        myext = os.path.splitext(filename)[1].lower().lstrip(".")
        if not myext:
            return []
        result = [(fmt, self._external_name) for fmt in self._by_extension_table.get(myext, ())]
        return [match for match in result if self._fido.as_good_as_any(match[0], result)]

    def _zip_container(self, path: Path, bof: bytes, eof: bytes, warnings: list[str]) -> tuple[list[_Match], str]:
        """A ZIP's candidates: OFD always wins; PRONOM container signatures only refine a generic ZIP
        match (as fido does); otherwise the byte signatures stand.

        OFD is looked for before the byte signatures are matched: when the container is OFD their
        answer is never used (about 1.5 ms of regular expressions over a ZIP's buffers)."""
        try:
            with safezip.open_zip(path) as zf:
                ofd = _ofd_match(zf)
                if ofd is not None:
                    return [ofd], "ofd"
                raw = self._index.match(bof, eof)
                if raw and self._fido.container_type(raw) != "zip":
                    return self._matches(raw), "signature"
                puids = _container_puids(zf, self._zip_sigs)
        except ZIP_ERRORS as exc:
            warnings.append(f"ZIP container could not be inspected: {exc}")
            return self._matches(self._index.match(bof, eof)), "signature"
        if not puids:
            return self._matches(raw), "signature"
        return [self._to_match(self._fido.puid_format_map[p]) for p in puids if p in self._fido.puid_format_map], \
            "container"

    def _matches(self, raw: list[tuple[Any, str]]) -> list[_Match]:
        return [self._to_match(fmt) for fmt, _sig in raw]

    def _ole_container(self, path: Path, warnings: list[str]) -> list[_Match]:
        import olefile

        try:
            with olefile.OleFileIO(str(path)) as ole:
                puids = _ole_puids(ole, self._ole_sigs)
        except Exception as exc:  # olefile raises a wide variety on corrupt input
            warnings.append(f"OLE2 container could not be inspected: {exc}")
            return []
        return [self._to_match(self._fido.puid_format_map[p]) for p in puids if p in self._fido.puid_format_map]

    def _to_match(self, fmt: Any) -> _Match:
        return _Match(
            puid=fmt.findtext("puid"), name=fmt.findtext("name") or None, version=fmt.findtext("version") or None,
            mime=fmt.findtext("mime") or None,
            extensions=tuple((e.text or "").lower() for e in fmt.findall("extension") if e.text),
        )

    def _mime(self, bof: bytes) -> str | None:
        if self._magic is None:
            return None
        try:
            with self._lock:
                return self._magic.from_buffer(bof[:65536])
        except Exception:
            return None


class SignatureIndex:
    """fido's ``match_formats`` over precompiled patterns, with exact pre-filters.

    A signature matches when all its patterns do, so a literal every match must contain is a
    necessary condition: a BOF pattern's literal prefix must start the buffer, and the longest
    literal run of any pattern must occur in the buffer it is searched in. Formats are visited in
    fido's order and pruned by ``has_priority_over`` as fido does, so the result list is equal.

    Most of the ~420 formats a file's first byte leaves fail on a literal, so those tests are made
    inline: each distinct literal test (buffer, bytes, window) has a number and is answered at most
    once per file. Before the formats are visited, each signature's first necessary condition (its
    prefix, else its first literal) is tested once per distinct condition, and only formats with a
    signature that passes are visited, in fido's order: a format none of whose signatures passes
    could not have matched. The priority pruning keeps the union of the priority sets of the formats
    matched so far (a format is passed over when it is in it, which is fido's "any earlier match has
    priority"); with one format matched or none, the final pruning cannot change the answer and is skipped.
    """

    def __init__(self, fido: Any) -> None:
        self._fido = fido
        self._formats: list[tuple[Any, str, list[_Signature]]] = []
        self._needles: list[_Needle] = []
        self._needle_eof: list[bool] = []
        numbers: dict[tuple[bool, bytes, int | None], int] = {}
        by_byte: dict[int, set[int]] = {}
        always: set[int] = set()
        for position, fmt in enumerate(fido.formats):
            sigs = [_signature(fido, sig) for sig in fido.get_signatures(fmt)]
            for index, sig in enumerate(sigs):
                ids = []
                for pattern in sig.patterns:
                    for needle in pattern.needles:
                        key = (pattern.position == "EOF", needle.literal, needle.within)
                        if key not in numbers:
                            numbers[key] = len(self._needles)
                            self._needles.append(needle)
                            self._needle_eof.append(key[0])
                        ids.append(numbers[key])
                sigs[index] = replace(sig, needle_ids=tuple(ids))
            self._formats.append((fmt, fido.get_puid(fmt), sigs))
            for sig in sigs:
                if sig.prefix:
                    by_byte.setdefault(sig.prefix[0], set()).add(position)
                else:
                    always.add(position)
        self._by_byte = {b: sorted(always | found) for b, found in by_byte.items()}
        self._always = sorted(always)
        self._priority = fido.puid_has_priority_over_map
        self._keyed = {b: self._keys(positions, b) for b, positions in self._by_byte.items()}
        self._keyed_always = self._keys(self._always, None)

    def _keys(self, positions: list[int], first: int | None) -> list[tuple[bytes | int | None, tuple[int, ...]]]:
        """The candidates of one first byte grouped by one necessary condition of each signature
        that can match there: its literal prefix (bytes), else its first needle (its number), else
        none (None). A format none of whose conditions holds cannot match, and is not visited."""
        groups: dict[bytes | int | None, set[int]] = {}
        for position in positions:
            for sig in self._formats[position][2]:
                if sig.prefix:
                    if sig.prefix[0] != first:
                        continue  # cannot start this buffer
                    key: bytes | int | None = sig.prefix
                else:
                    key = sig.needle_ids[0] if sig.needle_ids else None
                groups.setdefault(key, set()).add(position)
        return [(key, tuple(found)) for key, found in groups.items()]

    def match(self, bof: bytes, eof: bytes) -> list[tuple[Any, str]]:
        """``Fido.match_formats(bof, eof)``: (format element, signature name) pairs."""
        seen: dict[Any, bool] = {}
        known: list[bool | None] = [None] * len(self._needles)
        needles, needle_eof = self._needles, self._needle_eof
        survivors: set[int] = set()
        for key, positions in (self._keyed.get(bof[0], self._keyed_always) if bof else self._keyed_always):
            if key is None:
                survivors.update(positions)
            elif type(key) is bytes:
                if bof.startswith(key):
                    survivors.update(positions)
            else:
                found = known[key]
                if found is None:
                    found = known[key] = _present(needles[key], eof if needle_eof[key] else bof, needle_eof[key])
                if found:
                    survivors.update(positions)
        candidates = sorted(survivors)
        result: list[tuple[Any, str, str]] = []
        dominated: set[str] = set()  # PUIDs some format already matched has priority over
        for position in candidates:
            fmt, puid, sigs = self._formats[position]
            if puid in dominated:
                continue
            for sig in sigs:
                if sig.prefix and not bof.startswith(sig.prefix):
                    continue
                for number in sig.needle_ids:
                    found = known[number]
                    if found is None:
                        found = known[number] = _present(needles[number], eof if needle_eof[number] else bof,
                                                         needle_eof[number])
                    if not found:
                        break
                else:
                    outcome = sig.matches_rest(bof, eof, seen)
                    if outcome is None:  # fido stops a format whose pattern raises
                        break
                    if outcome:
                        result.append((fmt, puid, sig.name))
                        dominated.update(self._priority[puid])
        if len({id(fmt) for fmt, _puid, _name in result}) < 2:
            return [(fmt, name) for fmt, _puid, name in result]
        return [(fmt, name) for fmt, puid, name in result if self._as_good_as_any(puid, result, fmt)]

    def _as_good_as_any(self, puid: str, result: list[tuple[Any, str, str]], fmt: Any = None) -> bool:
        return not any(other is not fmt and puid in self._priority[other_puid] for other, other_puid, _ in result)


def _present(needle: _Needle, buffer: bytes, at_end: bool) -> bool:
    """Whether ``needle`` occurs in ``buffer`` (in its window, where it has one)."""
    if needle.within is None:
        return needle.literal in buffer
    if at_end:
        return buffer.find(needle.literal, max(len(buffer) - needle.within, 0)) >= 0
    return buffer.find(needle.literal, 0, needle.within) >= 0


@dataclass(frozen=True, slots=True)
class _Needle:
    """A literal every match contains, within ``buffer[:within]`` (BOF) or ``buffer[-within:]`` (EOF)."""

    literal: bytes
    within: int | None = None


@dataclass(frozen=True, slots=True)
class _Pattern:
    """One pattern of a signature: where it is matched, the compiled regex (None where fido's would
    raise), its source (the key under which one file's buffers remember its answer) and the literals
    every match contains."""

    position: str
    regex: re.Pattern[bytes] | None
    source: bytes
    needles: tuple[_Needle, ...]
    pieces: tuple[tuple[re.Pattern[bytes], bytes], ...] = ()  # (part, its literal prefix): see _pieces


@dataclass(frozen=True, slots=True)
class _Signature:
    name: str
    prefix: bytes
    patterns: tuple[_Pattern, ...]
    needle_ids: tuple[int, ...] = ()  # numbers of its patterns' needles in the SignatureIndex

    def matches_rest(self, bof: bytes, eof: bytes, seen: dict[Any, bool]) -> bool | None:
        """Whether the signature matches, once its prefix and needles are known to be present: True /
        False as fido decides; None where fido's regex would raise (it stops the format).

        ``seen`` remembers, for the one pair of buffers, what each piece and regex answered: many
        formats share patterns (the eight PDF/A PUIDs search the same XMP regex), and a regex gives
        the same answer on the same buffer every time.
        """
        for pattern in self.patterns:
            for piece, prefix in pattern.pieces:
                key = ("piece", pattern.position, piece)
                found = seen.get(key)
                if found is None:
                    found = seen[key] = _piece_found(piece, prefix, eof if pattern.position == "EOF" else bof)
                if not found:
                    return False
        for pattern in self.patterns:
            if pattern.regex is None:
                return None
            key = ("regex", pattern.position, pattern.source)
            found = seen.get(key)
            if found is None:
                buffer = eof if pattern.position == "EOF" else bof
                regex = pattern.regex
                found = seen[key] = (regex.match(buffer) if pattern.position == "BOF" else regex.search(buffer)) is not None
            if not found:
                return False
        return True


def _signature(fido: Any, sig: Any) -> _Signature:
    patterns = []
    prefix = b""
    for pat in fido.get_patterns(sig):
        position, source = fido.get_pos(pat), fido.get_regex(pat)
        try:
            regex: re.Pattern[bytes] | None = re.compile(source)
            parsed = _parse(source)
            head, needle = _literals(source, position, parsed)
            longest = _longest_literal(parsed)
            pieces = _pieces(parsed)
        except (re.error, TypeError, ValueError, OverflowError, RecursionError):
            regex, head, needle, longest, pieces = None, b"", None, None, ()
        needles = tuple(n for n in (needle, longest) if n is not None)
        if len(needles) == 2 and needles[1].literal in needles[0].literal:
            needles = needles[:1]  # the bounded literal already contains the longer search
        if position == "BOF" and len(head) > len(prefix):
            prefix = head
        patterns.append(_Pattern(position, regex, bytes(source), needles, pieces if regex is not None else ()))
    return _Signature(sig.findtext("name"), prefix, tuple(patterns))


WINDOW_LIMIT = 1 << 20


def _parse(source: bytes) -> Any:
    import re._parser as sre_parser

    return sre_parser.parse(source)


def _literals(source: bytes, position: str, parsed: Any = None) -> tuple[bytes, _Needle | None]:
    """The literal prefix of ``source`` and the most selective literal every match contains.

    Only the top-level sequence is read (a literal inside a group or alternation is not required).
    A BOF pattern is matched at offset 0, so a literal run after items of bounded width lies in a
    known window; likewise an EOF pattern ending in ``\\Z`` for the items after the run.
    """
    import re._constants as sre_constants
    import re._parser as sre_parser

    parsed = _parse(source) if parsed is None else parsed
    if parsed.state.flags & re.IGNORECASE:
        return b"", None
    items = list(parsed)
    runs: list[tuple[int, int]] = []  # [start, end) item indices of literal runs
    index = 0
    while index < len(items):
        end = index
        while end < len(items) and items[end][0] is sre_constants.LITERAL:
            end += 1
        if end > index:
            runs.append((index, end))
        index = end + 1
    if not runs:
        return b"", None

    def literal(run: tuple[int, int]) -> bytes:
        return bytes(arg for _op, arg in items[run[0]:run[1]])

    def width(part: list[Any]) -> int:
        return int(sre_parser.SubPattern(parsed.state, part).getwidth()[1])

    starts_at_zero = all(op is sre_constants.AT for op, _ in items[:runs[0][0]])
    head = literal(runs[0]) if starts_at_zero else b""
    ends_at_end = bool(items) and items[-1] == (sre_constants.AT, sre_constants.AT_END_STRING)
    bounded: list[_Needle] = []
    for run in runs:
        if position == "BOF":
            reach = width(items[:run[0]]) + (run[1] - run[0])
        elif position == "EOF" and ends_at_end:
            reach = width(items[run[1]:]) + (run[1] - run[0])
        else:
            continue
        if reach < WINDOW_LIMIT:
            bounded.append(_Needle(literal(run), reach))
    if bounded:
        return head, max(bounded, key=lambda n: (len(n.literal), -(n.within or 0)))
    return head, _Needle(max((literal(r) for r in runs), key=len))


def _longest_literal(parsed: Any) -> _Needle | None:
    """The longest top-level literal run of a parsed pattern, searched anywhere in the buffer: a second
    necessary condition beside :func:`_literals`' choice, which prefers a short literal in a known
    window (``\\APK\\x03\\x04.*PK\\x03\\x04.*xmlns="http://www.b…"`` otherwise runs its backtracking
    regex on every ZIP)."""
    import re._constants as sre_constants

    if parsed.state.flags & re.IGNORECASE:
        return None
    best, run = b"", bytearray()
    for op, arg in [*parsed, (None, None)]:
        if op is sre_constants.LITERAL:
            run.append(arg)
            continue
        if len(run) > len(best):
            best = bytes(run)
        run.clear()
    return _Needle(best) if len(best) >= 4 else None


PIECE_MIN_PREFIX = 3
PIECE_TRIES = 8
_PIECES: dict[tuple[int, str], tuple[re.Pattern[bytes], bytes]] = {}  # one per distinct piece of all patterns


def _piece_found(piece: re.Pattern[bytes], prefix: bytes, buffer: bytes) -> bool:
    """``piece.search(buffer) is not None``: a match starts where the piece's literal prefix does, so
    the piece is tried only there, the prefix found by ``bytes.find`` (several times faster than the
    regex engine's own scan for it); after a few occurrences the engine searches the rest."""
    start = buffer.find(prefix)
    for _ in range(PIECE_TRIES):
        if start < 0:
            return False
        if piece.match(buffer, start) is not None:
            return True
        start = buffer.find(prefix, start + 1)
    return start >= 0 and piece.search(buffer, start) is not None


def _pieces(parsed: Any) -> tuple[tuple[re.Pattern[bytes], bytes], ...]:
    """Parts of a pattern every match contains, as patterns of their own: a third necessary condition.

    The pattern's top-level sequence is cut at each unbounded repeat (``.*``, ``.{n,}``); a match of
    the whole contains a match of each part between the cuts, so a part that occurs nowhere in the
    buffer rules the pattern out. Only parts that begin with a literal of three bytes or more are
    kept (the regex engine finds them by a literal scan, so trying one is cheap) and that have
    something besides literals (those are the needles already). Parts holding an anchor, a
    lookaround, a back-reference or an atomic group are not used: outside the whole pattern they
    could answer differently. PRONOM's PDF/A signatures, ``xmlns:pdfaid=… .* pdfaid:part(…)2(…)
    .{0,120}pdfaid:conformance(…)B(…)``, are the case in point: the backtracking ``.*`` made each of
    the sixteen cost 0.1–0.5 ms on every PDF/A whose XMP writes the values another way.
    """
    import re._constants as sre_constants
    import re._parser as sre_parser

    unbounded = (sre_constants.MAX_REPEAT, sre_constants.MIN_REPEAT, sre_constants.POSSESSIVE_REPEAT)
    forbidden = {sre_constants.AT, sre_constants.ASSERT, sre_constants.ASSERT_NOT, sre_constants.GROUPREF,
                 sre_constants.GROUPREF_EXISTS, sre_constants.ATOMIC_GROUP, sre_constants.POSSESSIVE_REPEAT}
    runs: list[list[Any]] = [[]]
    for item in parsed:
        op, av = item
        if op in unbounded and av[1] == sre_constants.MAXREPEAT:
            runs.append([])
        else:
            runs[-1].append(item)
    found: list[tuple[re.Pattern[bytes], bytes]] = []
    for run in runs:
        prefix = 0
        while prefix < len(run) and run[prefix][0] is sre_constants.LITERAL:
            prefix += 1
        if prefix < PIECE_MIN_PREFIX or prefix == len(run) or forbidden & set(_ops(run)):
            continue
        piece = sre_parser.SubPattern(parsed.state, list(run))
        key = (parsed.state.flags, repr(run))
        if key not in _PIECES:
            import re._compiler as sre_compiler

            _PIECES[key] = sre_compiler.compile(piece), bytes(arg for _op, arg in run[:prefix])
        found.append(_PIECES[key])
    return tuple(found)


def _ops(items: Any) -> Any:
    """Every opcode in a parsed sequence, nested groups, branches and repeats included."""
    import re._parser as sre_parser

    for op, av in items:
        yield op
        for part in av if isinstance(av, (tuple, list)) else (av,):
            if isinstance(part, sre_parser.SubPattern):
                yield from _ops(part)
            elif isinstance(part, list):
                for branch in part:
                    if isinstance(branch, sre_parser.SubPattern):
                        yield from _ops(branch)


# -- helpers ---------------------------------------------------------------------------------------
def _new_magic() -> Any:
    try:
        import magic

        return magic.Magic(mime=True)
    except Exception:  # libmagic missing: MIME comes from PRONOM alone
        return None


def _compile(sigs: dict[str, dict[str, list[dict[str, Any]]]]) -> dict[str, list[tuple[str, re.Pattern[bytes]]]]:
    compiled: dict[str, list[tuple[str, re.Pattern[bytes]]]] = {}
    for member, by_puid in sigs.items():
        for puid, entries in by_puid.items():
            for entry in entries:
                try:
                    compiled.setdefault(member, []).append((puid, re.compile(entry["signature"])))
                except (re.error, TypeError):
                    continue
    return compiled


def _buffers(fh: Any, size: int) -> tuple[bytes, bytes]:
    bof = fh.read(BUFSIZE)
    if size <= BUFSIZE:
        return bof, bof
    fh.seek(max(size - BUFSIZE, 0))
    return bof, fh.read(BUFSIZE)


def _container_puids(zf: zipfile.ZipFile, sigs: dict[str, list[tuple[str, re.Pattern[bytes]]]]) -> list[str]:
    limits = safezip.ZipLimits(max_member_bytes=CONTAINER_READ_LIMIT)
    names = set(zf.namelist())
    found: list[str] = []
    for member, patterns in sigs.items():
        if member not in names:
            continue
        try:
            data = safezip.read_member(zf, zf.getinfo(member), limits)
        except (safezip.ZipLimitError, zipfile.BadZipFile, OSError, EOFError, NotImplementedError):
            continue
        found.extend(puid for puid, pattern in patterns if pattern.search(data) and puid not in found)
    return found


def _ole_puids(ole: Any, sigs: dict[str, list[tuple[str, re.Pattern[bytes]]]]) -> list[str]:
    streams = {"/".join(entry): entry for entry in ole.listdir()}
    found: list[str] = []
    for member, patterns in sigs.items():
        entry = next((s for name, s in streams.items() if name in (member, "\x01" + member, "\x05" + member)), None)
        if entry is None:
            continue
        if ole.get_size(entry) > CONTAINER_READ_LIMIT:
            continue
        with ole.openstream(entry) as stream:
            data = stream.read(CONTAINER_READ_LIMIT)
        found.extend(puid for puid, pattern in patterns if pattern.search(data) and puid not in found)
    return found


def _ofd_match(zf: zipfile.ZipFile) -> _Match | None:
    info = safezip.find_member(zf, "OFD.xml")
    if info is None:
        return None
    try:
        root = parse_xml(safezip.read_member(zf, info, safezip.ZipLimits(max_member_bytes=CONTAINER_READ_LIMIT)),
                         "OFD.xml")
    except Exception:
        return None
    # Suwell and others write the namespace without "/2016"; still OFD (ofd.py warns about it).
    if namespace(root) not in (OFD_NAMESPACE, "http://www.ofdspec.org") or local_name(root) != "OFD":
        return None
    doc_type = root.get("DocType") or "OFD"
    name = "OFD (GB/T 33190-2016)" if doc_type != "OFD-A" else "OFD-A (GB/T 42133-2022)"
    return _Match(OFD_LOCAL_ID, name, root.get("Version"), "application/ofd", ("ofd",))


def _choose(matches: list[_Match], ext: str) -> _Match:
    """Prefer a candidate whose extensions include the file's; otherwise the first (fido's order)."""
    for match in matches:
        if ext and ext in match.extensions:
            return match
    return matches[0]


def _extension(path: Path) -> str:
    return path.suffix.lower().lstrip(".")


def _extension_mismatch(path: Path, match: _Match) -> bool:
    ext = _extension(path)
    if match.puid in GENERIC_PUIDS:
        return False
    return bool(ext and match.extensions and ext not in match.extensions)


def _pick_mime(magic_mime: Callable[[], str | None], pronom_mime: str | None) -> str | None:
    """PRONOM's MIME when it has one (more specific for OOXML/ODF/OFD); libmagic's otherwise."""
    if pronom_mime:
        return pronom_mime.split(",")[0].strip()
    return magic_mime()


_identifier: Identifier | None = None
_identifier_lock = threading.Lock()


def get_identifier() -> Identifier:
    """The process-wide identifier, built on first use (fido's signatures load in ~0.25 s)."""
    global _identifier
    if _identifier is None:
        with _identifier_lock:
            if _identifier is None:
                _identifier = Identifier()
    return _identifier


def identify(path: str | os.PathLike[str]) -> FormatInfo:
    """Identify one file. Never raises for bad content; see ``FormatInfo.basis`` and ``warnings``."""
    return get_identifier().identify(path)
