"""Image decoding under an explicit pixel limit, on images the tests make (good, truncated, bomb)."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

from PIL import Image

from lantai.formats.images import check_image


def test_good_images_decode(tmp_path: Path) -> None:
    Image.new("RGB", (40, 30), "red").save(tmp_path / "a.png")
    Image.new("L", (10, 10)).save(tmp_path / "a.jpg")
    frames = [Image.new("RGB", (8, 8), c) for c in ("red", "blue", "green")]
    frames[0].save(tmp_path / "a.tif", save_all=True, append_images=frames[1:])
    png = check_image(tmp_path / "a.png")
    assert png.ok and (png.format, png.width, png.height) == ("PNG", 40, 30)
    assert check_image(tmp_path / "a.jpg").ok
    tiff = check_image(tmp_path / "a.tif")
    assert tiff.ok and tiff.frames == 3


def test_truncated_fails_even_after_weasyprint_is_imported(tmp_path: Path) -> None:
    import weasyprint  # noqa: F401  (flips Pillow's LOAD_TRUNCATED_IMAGES to True on import)

    Image.effect_noise((256, 256), 50).convert("RGB").save(tmp_path / "n.jpg", quality=95)
    data = (tmp_path / "n.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    assert not check_image(tmp_path / "t.jpg").ok


def test_truncated_and_garbage_fail(tmp_path: Path) -> None:
    Image.effect_noise((256, 256), 50).convert("RGB").save(tmp_path / "n.jpg", quality=95)
    data = (tmp_path / "n.jpg").read_bytes()
    (tmp_path / "t.jpg").write_bytes(data[: len(data) // 2])
    truncated = check_image(tmp_path / "t.jpg")
    assert not truncated.ok and truncated.findings[0].code == "image-decode"
    (tmp_path / "g.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 10)
    assert not check_image(tmp_path / "g.png").ok
    (tmp_path / "e.png").write_bytes(b"")
    assert not check_image(tmp_path / "e.png").ok


def _png_header_only(width: int, height: int) -> bytes:
    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + \
        chunk(b"IEND", b"")


def test_decompression_bomb_is_refused(tmp_path: Path) -> None:
    (tmp_path / "bomb.png").write_bytes(_png_header_only(50_000, 50_000))
    result = check_image(tmp_path / "bomb.png")
    assert not result.ok and result.findings[0].code == "image-bomb"
    Image.new("L", (100, 100)).save(tmp_path / "small.png")
    assert check_image(tmp_path / "small.png", max_pixels=5000).findings[0].code == "image-bomb"
