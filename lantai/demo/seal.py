"""The round red 印章 of an issuing organ, drawn with Pillow: ring, star, name along the arc.

Two renditions of the same drawing: RGBA PNG (the OFD seal picture, SES_ESPictrueInfo) and RGB
PNG on white (the PDF page image, masked by colour key so the PDF needs no transparency).
"""

from __future__ import annotations

import io
import math
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from lantai.demo import fonts

SIZE = 300  # pixels for a 42 mm seal: about 180 dpi, plenty for a red stamp on screen and paper
RED = (230, 0, 18, 255)


@lru_cache(maxsize=32)
def seal_png(name: str, *, opaque: bool = False) -> bytes:
    image = _draw(name)  # one drawing serves both renditions
    if opaque:
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.getchannel("A"))
        image = background
    out = io.BytesIO()
    image.save(out, "PNG", optimize=False)
    return out.getvalue()


@lru_cache(maxsize=32)
def _draw(name: str) -> Image.Image:
    scale = 2  # draw large and shrink: cheap anti-aliasing
    size = SIZE * scale
    image = Image.new("RGBA", (size, size), (255, 255, 255, 0))
    draw = ImageDraw.Draw(image)
    ring = size * 0.035
    draw.ellipse((ring / 2, ring / 2, size - ring / 2, size - ring / 2), outline=RED, width=int(ring))
    _star(draw, size / 2, size / 2, size * 0.16)
    _arc_text(image, name, size)
    return image.resize((SIZE, SIZE), Image.LANCZOS)


def _star(draw: ImageDraw.ImageDraw, cx: float, cy: float, radius: float) -> None:
    points = []
    for i in range(10):
        r = radius if i % 2 == 0 else radius * 0.382
        angle = -math.pi / 2 + i * math.pi / 5
        points.append((cx + r * math.cos(angle), cy + r * math.sin(angle)))
    draw.polygon(points, fill=RED)


def _arc_text(image: Image.Image, text: str, size: int) -> None:
    """Characters on an arc of about 240°, upright towards the centre, left to right."""
    char_size = int(size * (0.13 if len(text) <= 10 else 0.11))
    font = ImageFont.truetype(str(fonts.font_path()), char_size, index=0)
    radius = size / 2 - size * 0.035 - char_size * 0.75
    span = min(250.0, 22.0 * len(text))
    for i, char in enumerate(text):
        angle = -90 - span / 2 + span * (i + 0.5) / len(text)  # degrees, 0 = east, clockwise
        tile = Image.new("RGBA", (char_size * 2, char_size * 2), (255, 255, 255, 0))
        ImageDraw.Draw(tile).text((char_size, char_size), char, font=font, fill=RED, anchor="mm")
        tile = tile.rotate(-(angle + 90), resample=Image.BICUBIC)
        x = size / 2 + radius * math.cos(math.radians(angle)) - char_size
        y = size / 2 + radius * math.sin(math.radians(angle)) - char_size
        image.alpha_composite(tile, (int(x), int(y)))
