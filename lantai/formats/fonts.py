"""Where the CJK fonts are: one lookup for the 归档章, the OFD renderer, watermarks and the demo.

Debian installs them as fonts-wqy-zenhei, fonts-wqy-microhei and fonts-noto-cjk (what ``make``
installs). reportlab embeds only TrueType outlines (WenQuanYi, AR PL), not Noto CJK's CFF; Pillow
reads both. A face of a ``.ttc`` collection is chosen by index (Noto CJK: 2 is SC, 7 is Mono SC).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path
from typing import Any

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/wqy"),
    Path("/usr/share/fonts/opentype/noto"),
    Path("/usr/share/fonts/truetype/arphic"),
    Path("/usr/share/fonts/wqy-zenhei"),
    Path("/usr/local/share/fonts"),
)
Face = tuple[str, int]  # (file name, index in the collection)

# TrueType faces reportlab can embed, best first.
EMBEDDABLE: tuple[Face, ...] = (("wqy-microhei.ttc", 0), ("wqy-zenhei.ttc", 0), ("uming.ttc", 0))


@lru_cache(maxsize=64)
def locate(file: str) -> Path | None:
    """The installed font file of that name, searched in :data:`FONT_DIRS`; None when absent."""
    for directory in FONT_DIRS:
        path = directory / file
        if path.is_file():
            return path
    return None


def installed(faces: Iterable[Face]) -> list[tuple[Path, int]]:
    """Of these faces, the ones installed, in the order given (callers fall back along the list)."""
    return [(path, index) for file, index in faces if (path := locate(file)) is not None]


def pil_font(size: float, faces: Iterable[Face]) -> Any:
    """A Pillow font of the first of ``faces`` that loads, else Pillow's own (Latin-only) default."""
    from PIL import ImageFont  # lazy: callers that only need a path must not pay for Pillow

    for path, index in installed(faces):
        try:
            return ImageFont.truetype(str(path), max(1.0, size), index=index)
        except (OSError, ValueError):
            continue
    return ImageFont.load_default(max(1.0, size))


EMBEDDED_CJK = "LantaiStamp"  # reportlab's name for the embedded face (the 归档章 registered it first)


def reportlab_cjk() -> str:
    """The reportlab font name of an embedded CJK TrueType face (subset into each PDF written), so
    the 归档章 and the watermark keep a PDF/A copy PDF/A; the unembedded STSong-Light only when no
    face of :data:`EMBEDDABLE` is installed."""
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfbase.ttfonts import TTFont

    registered = pdfmetrics.getRegisteredFontNames()
    if EMBEDDED_CJK in registered:
        return EMBEDDED_CJK
    for path, index in installed(EMBEDDABLE):
        pdfmetrics.registerFont(TTFont(EMBEDDED_CJK, str(path), subfontIndex=index))
        return EMBEDDED_CJK
    if "STSong-Light" not in registered:
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))  # not embedded; last resort
    return "STSong-Light"
