"""Image usability: the whole image decodes, under an explicit decompression-bomb limit.

Pillow's default bomb limit is a module global that other code may change; it is set here on
purpose (``MAX_PIXELS``) and Pillow's bomb *warning* is raised as an error, so an oversized image
fails with a reason instead of consuming the worker's memory.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PIL import Image, ImageFile

from lantai.checks.registry import finding
from lantai.domain.findings import Finding

MAX_PIXELS = 178_956_970  # Pillow's historical default, stated explicitly: ~0.5 GiB of RGBA
MAX_FRAMES = 1000
Image.MAX_IMAGE_PIXELS = MAX_PIXELS
ImageFile.LOAD_TRUNCATED_IMAGES = False


@dataclass(slots=True)
class ImageResult:
    ok: bool
    format: str | None = None
    width: int = 0
    height: int = 0
    mode: str | None = None
    frames: int = 0
    findings: list[Finding] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "format": self.format, "width": self.width, "height": self.height,
                "mode": self.mode, "frames": self.frames, "findings": [f.to_dict() for f in self.findings]}


def check_image(path: str | Path, max_pixels: int = MAX_PIXELS) -> ImageResult:
    """Decode every frame of ``path``. Never raises for bad content."""
    path = Path(path)
    result = ImageResult(False)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            _decode(path, result, max_pixels)
        result.ok = True
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        result.findings.append(finding("image-bomb", str(path), limit=max_pixels, error=str(exc)))
    except Exception as exc:  # Pillow raises many types on corrupt input
        result.findings.append(finding("image-decode", str(path), error=f"{type(exc).__name__}: {exc}"))
    return result


def _decode(path: Path, result: ImageResult, max_pixels: int) -> None:
    # WeasyPrint sets Pillow's process-wide LOAD_TRUNCATED_IMAGES to True when it is imported,
    # which would make truncated files "decode"; insist on complete data while we check.
    previous, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, False
    try:
        _decode_frames(path, result, max_pixels)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _decode_frames(path: Path, result: ImageResult, max_pixels: int) -> None:
    with Image.open(path) as image:
        result.format, result.mode = image.format, image.mode
        result.width, result.height = image.size
        if image.width * image.height > max_pixels:
            raise Image.DecompressionBombError(f"{image.width}x{image.height} pixels")
        frames = getattr(image, "n_frames", 1)
        for index in range(min(frames, MAX_FRAMES)):
            image.seek(index)
            image.load()
        result.frames = frames

