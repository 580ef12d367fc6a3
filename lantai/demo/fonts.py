"""The one CJK font the generator uses: WenQuanYi Zen Hei (TrueType), embedded in PDF and OFD.

Why ZenHei: reportlab embeds TrueType subsets quickly, but refuses the CFF outlines of Noto CJK;
ZenHei is TrueType and ships with Debian (fonts-wqy-zenhei). Both the PDF and the OFD writer take
glyph advances from here, so a line measured once sits at the same place in both formats.

The OFD needs a *Unicode* subset (a cmap from code points to glyphs), which reportlab does not
write: it emits a byte-code cmap for its 256-glyph PDF subsets. :func:`ofd_font_subset` reuses
reportlab's fast glyph subsetter and replaces that cmap with a Windows Unicode (3,1) format 4
table; fontTools would do the same in ~200 ms per document, far too slow for 20 items/s.
"""

from __future__ import annotations

import os
import struct
from functools import lru_cache
from pathlib import Path

from lantai.errors import LantaiError
from lantai.formats import fonts

FONT_NAME = "WQYZenHei"
FAMILY_NAME = "WenQuanYi Zen Hei"
FONT_FILE = "wqy-zenhei.ttc"
ASCENT = 0.8  # ZenHei hhea ascent, in em
DESCENT = 0.2


class FontMissing(LantaiError):
    code = "font_missing"


def font_path() -> Path:
    """Where ZenHei is; ``LANTAI_DEMO_FONT`` overrides the Debian locations."""
    override = os.environ.get("LANTAI_DEMO_FONT")
    found = Path(override) if override and Path(override).is_file() else fonts.locate(FONT_FILE)
    if found is not None:
        return found
    raise FontMissing(
        "找不到文泉驿正黑字体（fonts-wqy-zenhei），请先安装：apt-get install fonts-wqy-zenhei",
        "WenQuanYi Zen Hei is not installed (apt-get install fonts-wqy-zenhei)",
    )


@lru_cache(maxsize=1)
def pdf_font():  # type: ignore[no-untyped-def]
    """Register ZenHei with reportlab once per process; returns the reportlab TTFont."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.ttfonts import TTFont

    font = TTFont(FONT_NAME, str(font_path()), subfontIndex=0)
    _cache_tables(font.face)
    pdfmetrics.registerFont(font)
    return font


def _cache_tables(face) -> None:  # type: ignore[no-untyped-def]
    """reportlab copies the whole 10 MB glyf table out of the file for every subset it makes;
    keep the copies (read-only bytes) so each document pays for its glyphs only."""
    tables: dict[str, bytes] = {}
    read = face.get_table

    def get_table(tag: str) -> bytes:
        if tag not in tables:
            tables[tag] = read(tag)
        return tables[tag]

    face.get_table = get_table


@lru_cache(maxsize=8192)
def advance(char: str) -> float:
    """Advance width of one character in em (CJK is 1.0, Latin is proportional)."""
    face = pdf_font().face
    return face.charWidths.get(ord(char), face.defaultWidth) / 1000.0


def text_width(text: str, size: float) -> float:
    return sum(advance(c) for c in text) * size


def ofd_font_subset(chars: str) -> bytes:
    """A TrueType subset holding ``chars`` with a Unicode cmap, for embedding in an OFD."""
    codes = sorted({ord(c) for c in chars if ord(c) < 0x10000} | {0x20})
    face = pdf_font().face
    subset = face.makeSubset(codes)
    tables = _read_tables(subset)
    glyph_ids = _format6_glyphs(tables[b"cmap"], len(codes))
    tables[b"cmap"] = _format4_cmap(dict(zip(codes, glyph_ids, strict=True)))
    return _write_tables(tables)


def _read_tables(font: bytes) -> dict[bytes, bytes]:
    count = struct.unpack(">H", font[4:6])[0]
    tables = {}
    for i in range(count):
        tag, _checksum, offset, length = struct.unpack(">4sLLL", font[12 + 16 * i: 28 + 16 * i])
        tables[tag] = font[offset: offset + length]
    return tables


def _format6_glyphs(cmap: bytes, count: int) -> list[int]:
    """reportlab writes one (1,0) format 6 subtable at offset 12: code i → glyph of codes[i]."""
    first, entries = struct.unpack(">HH", cmap[18:22])
    if first != 0 or entries != count:
        raise ValueError("unexpected cmap in reportlab subset")
    return list(struct.unpack(f">{count}H", cmap[22: 22 + 2 * count]))


def _format4_cmap(mapping: dict[int, int]) -> bytes:
    """A (3,1) format 4 cmap with one segment per run of consecutive codes and glyphs."""
    segments: list[tuple[int, int, int]] = []  # start, end, delta
    for code, glyph in sorted(mapping.items()):
        if segments and code == segments[-1][1] + 1 and (glyph - code) % 65536 == segments[-1][2]:
            segments[-1] = (segments[-1][0], code, segments[-1][2])
        else:
            segments.append((code, code, (glyph - code) % 65536))
    segments.append((0xFFFF, 0xFFFF, 1))
    seg_x2 = 2 * len(segments)
    search = 2 * 2 ** (len(segments).bit_length() - 1)
    body = struct.pack(">HHHH", seg_x2, search, (search // 2).bit_length() - 1, seg_x2 - search)
    body += struct.pack(f">{len(segments)}H", *(s[1] for s in segments)) + b"\0\0"
    body += struct.pack(f">{len(segments)}H", *(s[0] for s in segments))
    body += struct.pack(f">{len(segments)}H", *(s[2] for s in segments))
    body += b"\0\0" * len(segments)  # idRangeOffset: all deltas
    subtable = struct.pack(">HHH", 4, 6 + len(body), 0) + body
    return struct.pack(">HHHHL", 0, 1, 3, 1, 12) + subtable


def _checksum(data: bytes) -> int:
    padded = data + b"\0" * (-len(data) % 4)
    return sum(struct.unpack(f">{len(padded) // 4}L", padded)) & 0xFFFFFFFF


def _write_tables(tables: dict[bytes, bytes]) -> bytes:
    tags = sorted(tables)
    count = len(tags)
    power = 2 ** (count.bit_length() - 1)
    header = struct.pack(">LHHHH", 0x00010000, count, power * 16, power.bit_length() - 1, count * 16 - power * 16)
    offset = 12 + 16 * count
    directory, data = b"", b""
    if b"head" in tables:  # checkSumAdjustment is recomputed below
        tables[b"head"] = tables[b"head"][:8] + b"\0\0\0\0" + tables[b"head"][12:]
    for tag in tags:
        table = tables[tag]
        directory += struct.pack(">4sLLL", tag, _checksum(table), offset + len(data), len(table))
        data += table + b"\0" * (-len(table) % 4)
    font = bytearray(header + directory + data)
    if b"head" in tables:
        head_offset = offset + sum(len(tables[t]) + (-len(tables[t]) % 4) for t in tags[: tags.index(b"head")])
        adjustment = (0xB1B0AFBA - _checksum(bytes(font))) & 0xFFFFFFFF
        font[head_offset + 8: head_offset + 12] = struct.pack(">L", adjustment)
    return bytes(font)
