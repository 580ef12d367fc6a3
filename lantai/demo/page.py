"""Format-neutral page description: text runs, rules and pictures placed in millimetres.

The GB/T 9704 layout is computed once into these objects; the PDF writer and the OFD writer
only paint them. That is what keeps the two renditions of a 正本 identical in content, line
breaks and page count — the metadata's 页数 is true for both.

Coordinates: millimetres from the top-left corner of an A4 page; ``y`` of a text run is its
baseline. Sizes are the em size in millimetres (1 pt = 0.3528 mm).
"""

from __future__ import annotations

from dataclasses import dataclass, field

PAGE_WIDTH = 210.0
PAGE_HEIGHT = 297.0
PT = 25.4 / 72  # millimetres per point

BLACK = (0, 0, 0)
RED = (230, 0, 18)


@dataclass(frozen=True)
class TextRun:
    x: float
    y: float  # baseline
    text: str
    size: float
    color: tuple[int, int, int] = BLACK
    hscale: float = 1.0  # horizontal compression (the 发文机关标志 of long organ names)


@dataclass(frozen=True)
class Rule:
    x1: float
    x2: float
    y: float
    width: float
    color: tuple[int, int, int] = BLACK


@dataclass(frozen=True)
class Picture:
    """An image whose top-left corner is at (x, y); ``key`` names it inside the document."""

    x: float
    y: float
    width: float
    height: float
    key: str
    data: bytes  # PNG or JPEG
    kind: str = "png"
    color_key: bool = False  # white is see-through (the seal), without PDF transparency


@dataclass
class Page:
    runs: list[TextRun] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    pictures: list[Picture] = field(default_factory=list)
    stamp: Picture | None = None  # the 印章: on the page in PDF, the seal appearance in OFD

    def text(self) -> str:
        return "\n".join(run.text for run in self.runs)


@dataclass
class Layout:
    pages: list[Page]
    title: str
    author: str
    subject: str = ""
    keywords: str = ""
