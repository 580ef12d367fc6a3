"""PDF/A rules that need the embedded font program: glyphs present, widths, .notdef, CharSet/CIDSet.

ISO 19005-2 6.2.11.4.1/6.2.11.4.2/6.2.11.5/6.2.11.8 (-1 6.3.4/6.3.5/6.3.6): every glyph a page
shows must be in the embedded program, the program's advance widths must agree with the font
dictionary's Widths/W (within one unit of glyph space), the .notdef glyph must not be shown
(part 2), and a CharSet or CIDSet must name the glyphs of the (subset) program — checked for the
glyphs shown.

Compact Font Format (FontFile3 Type1C, CIDFontType0C) and TrueType (FontFile2) programs are read
with fontTools; Type 1 (FontFile) programs are not. Programs above ``MAX_PROGRAM`` bytes or that
do not parse give a warning for the clause instead of a verdict. Codes are those the page content shows with the font (collected by
``pdfa_content``), so unused glyphs of a full font never count against it.
"""

from __future__ import annotations

import io
from decimal import Decimal
from typing import Any

import pikepdf

Violation = tuple[str, str]
MAX_PROGRAM = 16 * 1024 * 1024
CLAUSES = {1: {"glyph": "6.3.4", "subset": "6.3.5", "widths": "6.3.6", "notdef": None},
           2: {"glyph": "6.2.11.4.1", "subset": "6.2.11.4.2", "widths": "6.2.11.5", "notdef": "6.2.11.8"}}


def _quiet_fonttools() -> None:
    """fontTools logs every oddity of a font program; the findings here are what matters."""
    import logging

    logging.getLogger("fontTools").setLevel(logging.ERROR)


def check_font_programs(pdf: pikepdf.Pdf, part: int,
                        shown: dict[tuple[int, int], bytes]) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings) for the fonts pages show text with."""
    clause = CLAUSES[1 if part == 1 else 2]
    violations: list[Violation] = []
    warnings: list[Violation] = []
    if shown:
        _quiet_fonttools()
    for key, data in shown.items():
        try:
            font = pdf.get_object(key)
        except Exception:
            continue
        if not isinstance(font, pikepdf.Dictionary) or not data:
            continue
        subtype = str(font.get("/Subtype"))
        if subtype == "/Type1":
            found, warned = _simple_cff(font, data, clause)
        elif subtype == "/TrueType":
            found, warned = _simple_truetype(font, data, clause)
        elif subtype == "/Type0":
            found, warned = _cid_cff(font, data, clause)
            more, more_warned = _cid_truetype(font, data, clause)
            found, warned = found + more, warned + more_warned
        else:
            continue
        violations += found
        warnings += warned
    return violations, warnings


def _program(descriptor: Any, clause: str) -> tuple[Any, list[Violation]]:
    """The parsed CFF top dictionary of a FontFile3, or None (with a warning when unreadable)."""
    stream = descriptor.get("/FontFile3") if isinstance(descriptor, pikepdf.Dictionary) else None
    if not isinstance(stream, pikepdf.Stream) or str(stream.stream_dict.get("/Subtype")) not in (
            "/Type1C", "/CIDFontType0C"):
        return None, []
    length = stream.stream_dict.get("/Length")
    if isinstance(length, int) and length > MAX_PROGRAM:
        return None, [(clause, "an embedded font program is too large to check its glyphs")]
    try:
        from fontTools.cffLib import CFFFontSet

        cff = CFFFontSet()
        cff.decompile(io.BytesIO(stream.read_bytes()), None)
        return cff[cff.fontNames[0]], []
    except Exception as exc:
        return None, [(clause, f"an embedded CFF font program could not be read: {type(exc).__name__}")]


def _truetype(descriptor: Any, clause: str) -> tuple[Any, list[Violation]]:
    """The parsed FontFile2 (TrueType) program, or None (with a warning when unreadable)."""
    stream = descriptor.get("/FontFile2") if isinstance(descriptor, pikepdf.Dictionary) else None
    if not isinstance(stream, pikepdf.Stream):
        return None, []
    length = stream.stream_dict.get("/Length")
    if isinstance(length, int) and length > MAX_PROGRAM:
        return None, [(clause, "an embedded font program is too large to check its glyphs")]
    try:
        from fontTools.ttLib import TTFont

        font = TTFont(io.BytesIO(stream.read_bytes()), lazy=True)
        font["maxp"]
        return font, []
    except Exception as exc:
        return None, [(clause, f"an embedded TrueType font program could not be read: {type(exc).__name__}")]


class _Glyphs:
    """A TrueType program's cmap subtables, glyph order and glyph index, read once per font (the
    lookups below run for every character code a document shows)."""

    def __init__(self, program: Any) -> None:
        self.tables = {(t.platformID, t.platEncID): t.cmap for t in program["cmap"].tables}
        self.order = program.getGlyphOrder()
        self.index = {glyph: gid for gid, glyph in reversed(list(enumerate(self.order)))}  # first wins, as list.index


def _glyphs(program: Any) -> _Glyphs | None:
    try:
        return _Glyphs(program)
    except Exception:
        return None  # no cmap: cannot tell


def _truetype_gid(glyphs: _Glyphs, code: int, name: str | None, symbolic: bool) -> int:
    """The glyph a simple TrueType font shows for ``code`` (ISO 32000-1 9.6.6.4); 0 when none."""
    tables, order = glyphs.tables, glyphs.index
    candidates: list[str | None] = []
    if not symbolic and name and (3, 1) in tables:
        from fontTools.agl import toUnicode

        text = toUnicode(name)
        candidates.append(tables[(3, 1)].get(ord(text[0])) if len(text) == 1 else None)
    if (3, 0) in tables:
        candidates += [tables[(3, 0)].get(base + code) for base in (0, 0xF000, 0xF100, 0xF200)]
    if (1, 0) in tables:
        candidates.append(tables[(1, 0)].get(code))
    if name and name in order:
        candidates.append(name)
    for glyph in candidates:
        if glyph and glyph != ".notdef":
            return order.get(glyph, 0)
    return 0


def _metrics(program: Any) -> Any:
    """The hmtx table, or None when it does not read (then no width can be compared)."""
    try:
        return program["hmtx"]
    except Exception:
        return None


def _simple_truetype(font: pikepdf.Dictionary, data: bytes, clause: dict[str, str | None]) -> tuple[list, list]:
    descriptor = font.get("/FontDescriptor")
    program, warnings = _truetype(descriptor, clause["glyph"] or "")
    if program is None:
        return [], warnings
    flags = _int(descriptor.get("/Flags")) or 0
    symbolic = bool(flags & 4) and not flags & 32
    encoding = _encoding(font, None) if not symbolic else {}
    label = str(font.get("/BaseFont", "?"))[1:40]
    violations: list[Violation] = []
    first, widths = _int(font.get("/FirstChar")), font.get("/Widths")
    scale = 1000 / max(1, int(program["head"].unitsPerEm))
    glyphs = _glyphs(program)
    if glyphs is None:
        return [], warnings
    metrics = _metrics(program)
    for code in sorted(set(data)):
        gid = _truetype_gid(glyphs, code, encoding.get(code), symbolic)
        if gid == 0:  # falls back to .notdef: forbidden from PDF/A-2 on, present (so allowed) in PDF/A-1
            if clause["notdef"]:
                violations.append((clause["glyph"] or "", f"font {label}: code {code} has no glyph in the embedded "
                                                          "font program"))
            continue
        declared = _declared_width(widths, first, code, descriptor)
        try:
            actual = metrics[glyphs.order[gid]][0] * scale  # type: ignore[index]
        except Exception:
            actual = None
        if declared is not None and actual is not None and abs(declared - actual) > 1:
            violations.append((clause["widths"] or "", f"font {label}: width of code {code} is {declared:g} in "
                                                       f"Widths but {actual:g} in the font program"))
    return list(dict.fromkeys(violations))[:20], warnings


def _cid_truetype(font: pikepdf.Dictionary, data: bytes, clause: dict[str, str | None]) -> tuple[list, list]:
    """CIDFontType2 under an Identity CMap: each CID's glyph (through CIDToGIDMap) exists; widths agree."""
    descendants = font.get("/DescendantFonts")
    cid_font = descendants[0] if isinstance(descendants, pikepdf.Array) and len(descendants) else None
    if not isinstance(cid_font, pikepdf.Dictionary) or str(cid_font.get("/Subtype")) != "/CIDFontType2" \
            or str(font.get("/Encoding")) not in ("/Identity-H", "/Identity-V"):
        return [], []
    descriptor = cid_font.get("/FontDescriptor")
    program, warnings = _truetype(descriptor, clause["glyph"] or "")
    if program is None:
        return [], warnings
    label = str(cid_font.get("/BaseFont", "?"))[1:40]
    violations: list[Violation] = []
    if len(data) % 2:
        violations.append((clause["glyph"] or "", f"font {label}: text shown with a two-byte CMap has an odd "
                                                  "number of bytes"))
    mapping = cid_font.get("/CIDToGIDMap")
    table = None
    if isinstance(mapping, pikepdf.Stream):
        try:
            table = mapping.read_bytes()[:131072]
        except Exception:
            return violations, warnings
    glyphs = int(program["maxp"].numGlyphs)
    widths, default = _cid_widths(cid_font), _number(cid_font.get("/DW"))
    scale = 1000 / max(1, int(program["head"].unitsPerEm))
    metrics = _metrics(program)
    try:
        order = program.getGlyphOrder()
    except Exception:
        order = None
    for offset in range(0, len(data) - 1, 2):
        cid = data[offset] << 8 | data[offset + 1]
        gid = cid if table is None else (table[2 * cid] << 8 | table[2 * cid + 1]) if 2 * cid + 1 < len(table) else 0
        if gid >= glyphs or (gid == 0 and cid != 0 and clause["notdef"]):
            violations.append((clause["glyph"] or "", f"font {label}: CID {cid} has no glyph in the embedded font "
                                                      "program"))
            continue
        try:
            actual = metrics[order[gid]][0] * scale  # type: ignore[index]
        except Exception:
            continue
        declared = widths.get(cid, default if default is not None else 1000.0)
        if abs(declared - actual) > 1:
            violations.append((clause["widths"] or "", f"font {label}: width of CID {cid} is {declared:g} in W but "
                                                       f"{actual:g} in the font program"))
    return list(dict.fromkeys(violations))[:20], warnings


def _width(top: Any, name: str) -> float | None:
    """Advance width of glyph ``name`` in thousandths of text space, or None if not determinable."""
    try:
        from fontTools.pens.basePen import NullPen

        charstring = top.CharStrings[name]
        charstring.draw(NullPen())
        matrix = getattr(top, "FontMatrix", [0.001])
        return float(charstring.width) * float(matrix[0]) * 1000
    except Exception:
        return None


def _simple_cff(font: pikepdf.Dictionary, data: bytes, clause: dict[str, str | None]) -> tuple[list, list]:
    descriptor = font.get("/FontDescriptor")
    top, warnings = _program(descriptor, clause["glyph"] or "")
    if top is None:
        return [], warnings
    violations: list[Violation] = []
    names = set(top.charset)
    encoding = _encoding(font, top)
    used = {encoding[code] for code in set(data) if encoding.get(code) in names}
    violations += _charset(descriptor, used, clause["subset"] or "")
    first = _int(font.get("/FirstChar"))
    widths = font.get("/Widths")
    label = str(font.get("/BaseFont", "?"))[1:40]
    for code in sorted(set(data)):
        name = encoding.get(code)
        if name is None or name == ".notdef":
            if clause["notdef"]:
                violations.append((clause["notdef"], f"font {label}: code {code} shows the .notdef glyph"))
            continue
        if name not in names:
            violations.append((clause["glyph"] or "", f"font {label}: glyph {name} (code {code}) is not in the "
                                                      "embedded font program"))
            continue
        declared = _declared_width(widths, first, code, descriptor)
        actual = _width(top, name)
        if declared is not None and actual is not None and abs(declared - actual) > 1:
            violations.append((clause["widths"] or "", f"font {label}: width of {name} is {declared:g} in Widths "
                                                       f"but {actual:g} in the font program"))
    return list(dict.fromkeys(violations)), warnings


def _cid_cff(font: pikepdf.Dictionary, data: bytes, clause: dict[str, str | None]) -> tuple[list, list]:
    descendants = font.get("/DescendantFonts")
    cid_font = descendants[0] if isinstance(descendants, pikepdf.Array) and len(descendants) else None
    if not isinstance(cid_font, pikepdf.Dictionary):
        return [], []
    descriptor = cid_font.get("/FontDescriptor")
    top, warnings = _program(descriptor, clause["glyph"] or "")
    if top is None or not hasattr(top, "ROS"):
        return [], warnings
    # widths are compared only when the top FontMatrix alone gives the glyph scale
    scaled_per_fd = any(hasattr(fd, "FontMatrix") for fd in getattr(top, "FDArray", []) or [])
    violations: list[Violation] = []
    present = {_cid_of(name) for name in top.charset} - {None}
    violations += _cidset(descriptor, present - {0}, clause["subset"] or "")
    if str(font.get("/Encoding")) not in ("/Identity-H", "/Identity-V"):
        return violations, warnings  # codes are CIDs only through the Identity CMaps
    label = str(cid_font.get("/BaseFont", "?"))[1:40]
    widths = _cid_widths(cid_font)
    default = _number(cid_font.get("/DW"))
    for offset in range(0, len(data) - 1, 2):
        cid = data[offset] << 8 | data[offset + 1]
        if cid == 0:
            if clause["notdef"]:
                violations.append((clause["notdef"], f"font {label}: CID 0 (.notdef) is shown"))
            continue
        if cid not in present:
            violations.append((clause["glyph"] or "", f"font {label}: CID {cid} is not in the embedded font program"))
            continue
        declared = widths.get(cid, default if default is not None else 1000.0)
        actual = None if scaled_per_fd else _width(top, f"cid{cid:05d}")
        if actual is not None and abs(declared - actual) > 1:
            violations.append((clause["widths"] or "", f"font {label}: width of CID {cid} is {declared:g} in W but "
                                                       f"{actual:g} in the font program"))
    return list(dict.fromkeys(violations))[:20], warnings


def _encoding(font: pikepdf.Dictionary, top: Any) -> dict[int, str]:
    """code → glyph name: Differences over the base encoding; the program's own encoding if none."""
    encoding = font.get("/Encoding")
    base = encoding.get("/BaseEncoding") if isinstance(encoding, pikepdf.Dictionary) else encoding
    table = _named_encoding(str(base)) if isinstance(base, pikepdf.Name) else None
    if table is None and top is None:
        table = _named_encoding("/StandardEncoding")
    if table is None:
        builtin = getattr(top, "Encoding", None)
        table = _named_encoding("/StandardEncoding") if builtin in (None, "StandardEncoding") else \
            _named_encoding("/ExpertEncoding") if builtin == "ExpertEncoding" else \
            {code: name for code, name in enumerate(builtin) if name and name != ".notdef"}
    result = dict(table or {})
    differences = encoding.get("/Differences") if isinstance(encoding, pikepdf.Dictionary) else None
    code = 0
    for item in differences if isinstance(differences, pikepdf.Array) else []:
        if isinstance(item, int):
            code = item
        elif isinstance(item, pikepdf.Name):
            result[code] = str(item)[1:]
            code += 1
    return result


def _named_encoding(name: str) -> dict[int, str] | None:
    """The glyph names of PDF's standard encodings (WinAnsi and MacRoman through their code pages)."""
    from fontTools.agl import UV2AGL
    from fontTools.encodings.StandardEncoding import StandardEncoding

    if name == "/StandardEncoding":
        return {code: glyph for code, glyph in enumerate(StandardEncoding) if glyph != ".notdef"}
    codec = {"/WinAnsiEncoding": "cp1252", "/MacRomanEncoding": "mac_roman"}.get(name)
    if codec is None:
        return None
    table: dict[int, str] = {}
    for code in range(32, 256):
        try:
            char = bytes([code]).decode(codec)
        except UnicodeDecodeError:
            continue
        glyph = UV2AGL.get(ord(char))
        if glyph:
            table[code] = glyph
    if codec == "cp1252":  # WinAnsiEncoding differs from its code page: A0/AD, and unused codes show a bullet
        table[0xA0], table[0xAD] = "space", "hyphen"
        for code in range(0o41, 256):
            table.setdefault(code, "bullet")
    return table


def _declared_width(widths: Any, first: int | None, code: int, descriptor: Any) -> float | None:
    if isinstance(widths, pikepdf.Array) and first is not None and 0 <= code - first < len(widths):
        return _number(widths[code - first])
    return _number(descriptor.get("/MissingWidth")) if isinstance(descriptor, pikepdf.Dictionary) else None


def _cid_widths(cid_font: pikepdf.Dictionary) -> dict[int, float]:
    """The W array as CID → width (both the list and the range forms)."""
    result: dict[int, float] = {}
    entries = list(cid_font.get("/W", []) or [])
    index = 0
    while index < len(entries) and len(result) < 200_000:
        start = _int(entries[index])
        following = entries[index + 1] if index + 1 < len(entries) else None
        if start is None:
            break
        if isinstance(following, pikepdf.Array):
            for offset, width in enumerate(following):
                value = _number(width)
                if value is not None:
                    result[start + offset] = value
            index += 2
        else:
            end, width = _int(following), _number(entries[index + 2]) if index + 2 < len(entries) else None
            if end is None or width is None:
                break
            for cid in range(start, min(end, start + 65536) + 1):
                result[cid] = width
            index += 3
    return result


def _charset(descriptor: Any, names: set[str], clause: str) -> list[Violation]:
    """A CharSet must name the glyphs of the program; checked for those the pages show (a glyph
    the program holds but nothing shows is left alone, as conforming subsets do)."""
    charset = descriptor.get("/CharSet") if isinstance(descriptor, pikepdf.Dictionary) else None
    if not isinstance(charset, pikepdf.String):
        return []
    listed = {n for n in bytes(charset).decode("latin-1").split("/") if n}
    missing = sorted(names - listed - {".notdef"})
    return [(clause, f"the CharSet does not list glyph {missing[0]} of the font program")] if missing else []


def _cidset(descriptor: Any, present: set[int], clause: str) -> list[Violation]:
    """A CIDSet must flag the CIDs of the program; checked for those the pages show."""
    stream = descriptor.get("/CIDSet") if isinstance(descriptor, pikepdf.Dictionary) else None
    if not isinstance(stream, pikepdf.Stream):
        return []
    try:
        bits = stream.read_bytes()
    except Exception:
        return []
    for cid in sorted(present):
        byte = cid // 8
        if byte >= len(bits) or not bits[byte] & (0x80 >> (cid % 8)):
            return [(clause, f"the CIDSet does not flag CID {cid} of the font program")]
    return []


def _cid_of(name: str) -> int | None:
    if name == ".notdef":
        return 0
    if name.startswith("cid") and name[3:].isdigit():
        return int(name[3:])
    return None


def _int(value: Any) -> int | None:
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    return float(value) if isinstance(value, (int, float, Decimal)) else None
