"""OFD (GB/T 33190-2016) pages rendered to raster images with Pillow, for previews and checks.

No Python package renders OFD (DEPENDENCIES §4), so this paints what 公文, invoices and
certificates actually use, in page order::

    template pages (ZOrder Background) → page layers (Background, Body, Foreground)
    → template pages (ZOrder Foreground) → annotations (Appearance) → seal appearances

* page size: the page's ``Area/PhysicalBox``, else the document's ``PageArea``, in millimetres;
* ``TextObject``: ``TextCode`` X/Y/DeltaX/DeltaY (with the ``g n v`` shorthand), Font, Size, Fill and
  Stroke colours, CTM and Boundary (non-trivial CTMs, e.g. the compressed 发文机关标志, are
  drawn in object space and warped); fonts come from the package when they carry a Unicode cmap,
  otherwise by name from the installed CJK fonts (Noto Serif/Sans CJK SC, WenQuanYi);
* ``PathObject``: ``AbbreviatedData`` S/M/L/Q/B/A/C (and Z), LineWidth, Fill/Stroke, even-odd or
  non-zero fill (approximated as union), DrawParam inheritance (``Relative``);
* ``ImageObject``: ``MultiMedia`` resources Pillow decodes (PNG, JPEG, BMP, GIF, TIFF; JBIG2 is
  skipped), through the CTM from the unit square;
* ``PageBlock`` groups; ``Annotations`` appearances; ``StampAnnot`` of each signature with the
  seal picture from ``Seal.esl`` or, failing that, from the SES structure in ``SignedValue.dat``.

Not painted: shadings (their first colour is used), clipping, transparency (``Alpha``), pattern
fills, ``CompositeObject``, character rotation (``CharDirection``), ``CGTransform`` glyph maps.

The input is untrusted: parts are read through :mod:`safezip` with size limits, XML through
:mod:`safexml` (no DTDs), numbers are bounded, object/glyph/point counts are capped, and any
failure becomes :class:`OfdRenderError` (a whole page) or a skipped object (one bad object).
"""

from __future__ import annotations

import contextlib
import io
import math
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import IO, Any

from lxml import etree
from PIL import Image, ImageChops, ImageDraw, ImageFont

from lantai.errors import BadInput, LantaiError, NotFound
from lantai.formats import fonts
from lantai.formats import ofd_parts as parts
from lantai.formats.safexml import child, children, local_name, parse_xml
from lantai.packages import zipsafe as safezip

MM_PER_INCH = 25.4
DEFAULT_BOX = (0.0, 0.0, 210.0, 297.0)
MIN_DPI, MAX_DPI = 10, 600
MAX_PAGE_PIXELS = 60_000_000
MAX_PAGE_MM = 5000.0
MAX_OBJECTS = 100_000  # per page, templates and annotations included
MAX_GLYPHS = 200_000
MAX_POINTS = 1_000_000
MAX_IMAGE_PIXELS = 40_000_000
MAX_NUMBER = 1e7
MAX_DEPTH = 32  # nested PageBlocks
PART_LIMITS = safezip.ZipLimits(max_member_bytes=32 * 1024 * 1024)
SERIF = (("NotoSerifCJK-Regular.ttc", 2), ("wqy-zenhei.ttc", 0), ("wqy-microhei.ttc", 0))
SERIF_BOLD = (("NotoSerifCJK-Bold.ttc", 2), *SERIF)
SANS = (("NotoSansCJK-Regular.ttc", 2), ("wqy-microhei.ttc", 0), ("wqy-zenhei.ttc", 0))
SANS_BOLD = (("NotoSansCJK-Bold.ttc", 2), *SANS)
ZENHEI = (("wqy-zenhei.ttc", 0), *SANS)
MICROHEI = (("wqy-microhei.ttc", 0), *SANS)
MONO = (("NotoSansCJK-Regular.ttc", 7), *SANS)  # Noto Sans Mono CJK SC
SANS_HINTS = ("黑", "hei", "sans", "雅黑", "yahei", "arial", "helvetica", "gothic", "verdana", "tahoma")
MONO_HINTS = ("courier", "mono", "consolas")


class OfdRenderError(BadInput):
    """The OFD cannot be rendered: not a usable package, or it breaks a safety limit."""

    code = "ofd_render"


class OfdPageNotFound(NotFound):
    """The page index is outside the document."""

    code = "ofd_page_not_found"


Matrix = tuple[float, float, float, float, float, float]  # x' = a x + c y + e, y' = b x + d y + f
IDENTITY: Matrix = (1.0, 0.0, 0.0, 1.0, 0.0, 0.0)
Color = tuple[int, int, int]


def _mul(outer: Matrix, inner: Matrix) -> Matrix:
    """The matrix of ``p → outer(inner(p))``."""
    a1, b1, c1, d1, e1, f1 = outer
    a2, b2, c2, d2, e2, f2 = inner
    return (a1 * a2 + c1 * b2, b1 * a2 + d1 * b2, a1 * c2 + c1 * d2, b1 * c2 + d1 * d2,
            a1 * e2 + c1 * f2 + e1, b1 * e2 + d1 * f2 + f1)


def _apply(m: Matrix, x: float, y: float) -> tuple[float, float]:
    return m[0] * x + m[2] * y + m[4], m[1] * x + m[3] * y + m[5]


def _translate(x: float, y: float) -> Matrix:
    return (1.0, 0.0, 0.0, 1.0, x, y)


# --- numbers and colours --------------------------------------------------------------------------
def _number(token: str) -> float:
    value = float(token)
    if not math.isfinite(value) or abs(value) > MAX_NUMBER:
        raise ValueError(f"number out of range: {token!r}")
    return value


def _numbers(text: str | None, count: int | None = None) -> list[float]:
    values = [_number(t) for t in (text or "").replace(",", " ").split()]
    if count is not None and len(values) < count:
        raise ValueError(f"expected {count} numbers, found {len(values)}")
    return values[:count] if count is not None else values


def _box(text: str | None) -> tuple[float, float, float, float] | None:
    try:
        x, y, w, h = _numbers(text, 4)
    except ValueError:
        return None
    return (x, y, w, h)


def _ctm(text: str | None) -> Matrix:
    if not text:
        return IDENTITY
    a, b, c, d, e, f = _numbers(text, 6)
    return (a, b, c, d, e, f)


def _deltas(text: str | None) -> list[float]:
    """DeltaX/DeltaY: numbers, with ``g count value`` for ``count`` equal advances."""
    tokens = (text or "").split()
    values: list[float] = []
    i = 0
    while i < len(tokens) and len(values) <= MAX_GLYPHS:
        if tokens[i] == "g" and i + 2 < len(tokens):
            count = min(int(_number(tokens[i + 1])), MAX_GLYPHS)
            values.extend([_number(tokens[i + 2])] * max(count, 0))
            i += 3
        else:
            values.append(_number(tokens[i]))
            i += 1
    return values


def _component(token: str, bits: int) -> float:
    value = int(token[1:], 16) if token.startswith("#") else _number(token)
    top = (1 << bits) - 1 if 1 <= bits <= 16 else 255
    return max(0.0, min(1.0, value / top))


def _color(element: etree._Element | None, spaces: dict[str, tuple[str, int]]) -> Color | None:
    """A FillColor/StrokeColor element → RGB; shadings give their first segment's colour."""
    if element is None:
        return None
    value = element.get("Value")
    if value is None:
        for segment in element.iter():
            if local_name(segment) == "Color" and segment is not element and segment.get("Value"):
                return _color(segment, spaces)
        return None
    kind, bits = spaces.get(element.get("ColorSpace") or "", ("", 8))
    try:
        parts = [_component(t, bits) for t in value.split()]
    except ValueError:
        return None
    kind = kind or {1: "GRAY", 3: "RGB", 4: "CMYK"}.get(len(parts), "")
    if kind == "GRAY" and parts:
        return (round(parts[0] * 255),) * 3  # type: ignore[return-value]
    if kind == "CMYK" and len(parts) >= 4:
        c, m, y, k = parts[:4]
        return (round(255 * (1 - c) * (1 - k)), round(255 * (1 - m) * (1 - k)), round(255 * (1 - y) * (1 - k)))
    if len(parts) >= 3:
        return (round(parts[0] * 255), round(parts[1] * 255), round(parts[2] * 255))
    return None


# --- the package ----------------------------------------------------------------------------------
@dataclass
class _Style:
    """Drawing parameters inherited from DrawParam resources and layers."""

    line_width: float | None = None
    fill: Color | None = None
    stroke: Color | None = None


@dataclass
class _Resources:
    fonts: dict[str, tuple[etree._Element, str]] = field(default_factory=dict)  # id → (Font, file path)
    media: dict[str, tuple[str, str]] = field(default_factory=dict)  # id → (format, file path)
    draw_params: dict[str, etree._Element] = field(default_factory=dict)
    spaces: dict[str, tuple[str, int]] = field(default_factory=dict)  # id → (type, bits)


class _Package:
    """An opened OFD: its first document's pages, templates, resources, annotations and seals."""

    def __init__(self, zf: zipfile.ZipFile) -> None:
        self.zf = zf
        self.budget = 256 * 1024 * 1024  # bytes of parts read for one page
        ofd = self.xml(parts.OFD_XML)
        if local_name(ofd) != "OFD":
            raise OfdRenderError("OFD.xml 根元素不是 ofd:OFD", "OFD.xml root is not ofd:OFD")
        first = next(iter(parts.document_refs(ofd)), None)
        if first is None or not first.path:
            raise OfdRenderError("OFD.xml 缺少 DocRoot", "OFD.xml has no DocBody/DocRoot")
        self.doc_path = first.path
        self.signatures_path = first.signatures
        self.document = self.xml(self.doc_path)
        self.pages = parts.page_refs(self.document, self.doc_path)
        self.common = parts.common_data(self.document)
        self.resources = _Resources()
        self.templates = {ref.id: ref.path for ref in parts.template_refs(self.document, self.doc_path)}
        for path in parts.resource_paths(self.document, self.doc_path):
            self.load_res(path)

    # parts
    def read(self, name: str) -> bytes:
        info = safezip.find_member(self.zf, name) if name else None
        if info is None:
            raise KeyError(name)
        data = safezip.read_member(self.zf, info, PART_LIMITS)
        self.budget -= len(data)
        if self.budget < 0:
            raise OfdRenderError("OFD 页面引用的数据过多", "the page reads too much data from the package")
        return data

    def xml(self, name: str) -> etree._Element:
        try:
            return parse_xml(self.read(name), name)
        except KeyError as exc:
            raise OfdRenderError(f"OFD 缺少部件 {name}", f"part {name} is missing") from exc

    def load_res(self, path: str) -> None:
        """Merge one resource file (PublicRes, DocumentRes, PageRes); a missing one is skipped."""
        try:
            res = self.xml(path)
        except (OfdRenderError, ValueError):
            return
        base = parts.resource_base(res, path)
        for element in res.iter():
            name, rid = local_name(element), element.get("ID") or ""
            if name == "Font":
                self.resources.fonts[rid] = (element, parts.resolve(base, parts.text(child(element, "FontFile"))))
            elif name == "MultiMedia":
                file = parts.text(child(element, "MediaFile"))
                self.resources.media[rid] = ((element.get("Format") or "").upper(), parts.resolve(base, file))
            elif name == "DrawParam":
                self.resources.draw_params[rid] = element
            elif name == "ColorSpace":
                bits = element.get("BitsPerComponent") or "8"
                self.resources.spaces[rid] = ((element.get("Type") or "").upper(), int(bits) if bits.isdigit() else 8)

    def page_box(self, page: etree._Element) -> tuple[float, float, float, float]:
        for area in (child(page, "Area"), child(self.common, "PageArea") if self.common is not None else None):
            box = _box(parts.text(child(area, "PhysicalBox"))) if area is not None else None
            if box is not None and 1 <= box[2] <= MAX_PAGE_MM and 1 <= box[3] <= MAX_PAGE_MM:
                return box
        return DEFAULT_BOX


# --- fonts ----------------------------------------------------------------------------------------
class _Fonts:
    """Pillow fonts for OFD Font resources at given pixel sizes; embedded fonts when usable."""

    def __init__(self, package: _Package) -> None:
        self.package = package
        self.faces: dict[tuple[str, float], tuple[Any, set[int], Any]] = {}
        self.embedded: dict[str, tuple[bytes, set[int]] | None] = {}

    def get(self, font_id: str, px: float) -> tuple[Any, set[int], Any]:
        """(embedded font or None, its code points, system font) for ``font_id`` at ``px``."""
        key = (font_id, round(px, 2))
        if key not in self.faces:
            entry = self.package.resources.fonts.get(font_id)
            element = entry[0] if entry is not None else None
            embedded = self._embedded(font_id, entry[1] if entry else "")
            own = _truetype(io.BytesIO(embedded[0]), 0, px) if embedded else None
            self.faces[key] = (own, embedded[1] if embedded and own else set(), _system_font(element, px))
        return self.faces[key]

    def _embedded(self, font_id: str, path: str) -> tuple[bytes, set[int]] | None:
        if font_id not in self.embedded:
            self.embedded[font_id] = _load_embedded(self.package, path) if path else None
        return self.embedded[font_id]


def _load_embedded(package: _Package, path: str) -> tuple[bytes, set[int]] | None:
    """An embedded TrueType/OpenType font with a Unicode cmap, or None (then fonts by name)."""
    try:
        data = package.read(path)
        from fontTools.ttLib import TTFont

        cmap = TTFont(io.BytesIO(data), lazy=True, fontNumber=0).getBestCmap() or {}
        return (data, set(cmap)) if cmap else None
    except LantaiError:
        raise
    except Exception:  # fontTools raises many kinds of errors on broken fonts: fall back to names
        return None


def _truetype(source: Any, index: int, px: float) -> Any:
    try:
        return ImageFont.truetype(source, max(1.0, px), index=index)
    except (OSError, ValueError):
        return None


def _system_font(element: etree._Element | None, px: float) -> Any:
    names = " ".join(filter(None, (element.get("FontName"), element.get("FamilyName")))) if element is not None else ""
    bold = element is not None and ((element.get("Bold") or "").lower() == "true")
    return fonts.pil_font(px, _candidates(names.lower(), bold))


def _candidates(name: str, bold: bool) -> tuple[tuple[str, int], ...]:
    if "zen hei" in name or "正黑" in name:
        return ZENHEI
    if "micro hei" in name or "微米黑" in name:
        return MICROHEI
    if any(hint in name for hint in MONO_HINTS):
        return MONO
    if any(hint in name for hint in SANS_HINTS):
        return SANS_BOLD if bold else SANS
    return SERIF_BOLD if bold else SERIF  # 宋体, 仿宋, 楷体, 小标宋 and anything unknown


# --- painting -------------------------------------------------------------------------------------
@dataclass
class _Counters:
    objects: int = 0
    glyphs: int = 0
    points: int = 0
    skipped: list[str] = field(default_factory=list)


class _Painter:
    """Paints OFD graphic objects onto an RGB canvas; ``base`` maps page millimetres to pixels."""

    def __init__(self, package: _Package, canvas: Image.Image, base: Matrix) -> None:
        self.package = package
        self.canvas = canvas
        self.draw = ImageDraw.Draw(canvas)
        self.base = base
        self.fonts = _Fonts(package)
        self.count = _Counters()

    # structure
    def layers(self, content: etree._Element | None, matrix: Matrix) -> None:
        if content is None:
            return
        order = {"Background": 0, "Body": 1, "Custom": 1, "Foreground": 2}
        layers = sorted(children(content, "Layer"), key=lambda el: order.get(el.get("Type") or "Body", 1))
        for layer in layers:
            self.block(layer, matrix, self.style_of(layer, _Style()), 0)

    def block(self, block: etree._Element, matrix: Matrix, style: _Style, depth: int) -> None:
        if depth > MAX_DEPTH:
            raise OfdRenderError("OFD 页面块嵌套过深", "PageBlocks nest too deeply")
        for element in block:
            name = local_name(element)
            if name == "PageBlock":
                self.block(element, matrix, style, depth + 1)
            elif name in ("TextObject", "PathObject", "ImageObject"):
                self.count.objects += 1
                if self.count.objects > MAX_OBJECTS:
                    raise OfdRenderError("OFD 页面对象过多", f"more than {MAX_OBJECTS} objects on the page")
                self.object(name, element, matrix, style)

    def object(self, name: str, element: etree._Element, matrix: Matrix, style: _Style) -> None:
        if (element.get("Visible") or "true").lower() == "false":
            return
        try:
            box = _box(element.get("Boundary")) or (0.0, 0.0, 0.0, 0.0)
            local = _mul(matrix, _mul(_translate(box[0], box[1]), _ctm(element.get("CTM"))))
            own = self.style_of(element, style)
            {"TextObject": self.text, "PathObject": self.path, "ImageObject": self.image}[name](element, local, own)
        except (ValueError, KeyError, OSError, ZeroDivisionError, OverflowError, SyntaxError,
                Image.DecompressionBombError) as exc:
            self.count.skipped.append(f"{name} {element.get('ID')}: {type(exc).__name__}: {exc}"[:200])

    def style_of(self, element: etree._Element, inherited: _Style) -> _Style:
        style = replace(inherited)
        params = self.package.resources.draw_params
        chain: list[etree._Element] = []
        ref = element.get("DrawParam")
        while ref and ref in params and len(chain) < 16:
            chain.append(params[ref])
            ref = params[ref].get("Relative")
        for source in [*reversed(chain), element]:
            self._merge(source, style)
        return style

    def _merge(self, source: etree._Element, style: _Style) -> None:
        spaces = self.package.resources.spaces
        if source.get("LineWidth"):
            with contextlib.suppress(ValueError):
                style.line_width = _number(source.get("LineWidth") or "")
        style.fill = _color(child(source, "FillColor"), spaces) or style.fill
        style.stroke = _color(child(source, "StrokeColor"), spaces) or style.stroke

    # text
    def text(self, element: etree._Element, matrix: Matrix, style: _Style) -> None:
        size = _number(element.get("Size") or "0")
        fill = (element.get("Fill") or "true").lower() != "false"
        color = (style.fill if fill else style.stroke) or (0, 0, 0)
        if size <= 0:
            return
        glyphs = list(self._glyphs(element, size))
        self.count.glyphs += len(glyphs)
        if self.count.glyphs > MAX_GLYPHS:
            raise OfdRenderError("OFD 页面文字过多", f"more than {MAX_GLYPHS} glyphs on the page")
        font_id = element.get("Font") or ""
        a, b, c, d = matrix[:4]
        if abs(b) < 1e-9 and abs(c) < 1e-9 and a > 0 and abs(a - d) < 1e-6 * a:
            self._glyphs_direct(glyphs, font_id, matrix, size, color)
        else:
            self._glyphs_warped(glyphs, font_id, matrix, size, color)

    def _glyphs(self, element: etree._Element, size: float) -> Iterator[tuple[float, float, str]]:
        x = y = 0.0
        for code in children(element, "TextCode"):
            x = _number(code.get("X")) if code.get("X") else x
            y = _number(code.get("Y")) if code.get("Y") else y
            dx, dy = _deltas(code.get("DeltaX")), _deltas(code.get("DeltaY"))
            for i, char in enumerate(code.text or ""):
                if not char.isspace():
                    yield x, y, char
                x += dx[i] if i < len(dx) else (size if ord(char) > 0x2E80 else size / 2)
                y += dy[i] if i < len(dy) else 0.0

    def _font_for(self, font_id: str, px: float, char: str) -> Any:
        own, codes, system = self.fonts.get(font_id, px)
        return own if own is not None and ord(char) in codes else system

    def _glyphs_direct(self, glyphs: list[tuple[float, float, str]], font_id: str, matrix: Matrix, size: float,
                       color: Color) -> None:
        px = size * matrix[0]
        if px < 0.5 or px > 4 * max(self.canvas.size):
            return
        for x, y, char in glyphs:
            dx, dy = _apply(matrix, x, y)
            self.draw.text((dx, dy), char, font=self._font_for(font_id, px, char), fill=color, anchor="ls")

    def _glyphs_warped(self, glyphs: list[tuple[float, float, str]], font_id: str, matrix: Matrix, size: float,
                       color: Color) -> None:
        """Draw in object space at the matrix's mean scale, then warp the tile onto the page."""
        if not glyphs:
            return
        scale = math.sqrt(abs(matrix[0] * matrix[3] - matrix[1] * matrix[2]))
        px = size * scale
        if px < 0.5 or px > 4 * max(self.canvas.size):
            return
        x0 = min(g[0] for g in glyphs) - size
        y0 = min(g[1] for g in glyphs) - 1.5 * size
        x1 = max(g[0] for g in glyphs) + 2 * size
        y1 = max(g[1] for g in glyphs) + size
        width, height = math.ceil((x1 - x0) * scale), math.ceil((y1 - y0) * scale)
        if width * height > MAX_PAGE_PIXELS:
            return
        tile = Image.new("L", (width, height), 0)
        draw = ImageDraw.Draw(tile)
        for x, y, char in glyphs:
            draw.text(((x - x0) * scale, (y - y0) * scale), char, font=self._font_for(font_id, px, char),
                      fill=255, anchor="ls")
        to_page = _mul(matrix, (1 / scale, 0.0, 0.0, 1 / scale, x0, y0))
        self._paste_warped(tile, to_page, color)

    def _paste_warped(self, source: Image.Image, to_page: Matrix, color: Color | None) -> None:
        """Map ``source`` (an L mask when ``color`` is given, else RGBA) through ``to_page``."""
        w, h = source.size
        corners = [_apply(to_page, x, y) for x, y in ((0, 0), (w, 0), (0, h), (w, h))]
        left = max(0, math.floor(min(p[0] for p in corners)))
        top = max(0, math.floor(min(p[1] for p in corners)))
        right = min(self.canvas.width, math.ceil(max(p[0] for p in corners)))
        bottom = min(self.canvas.height, math.ceil(max(p[1] for p in corners)))
        if right <= left or bottom <= top:
            return
        inverse = _invert(_mul(_translate(-left, -top), to_page))
        if inverse is None:
            return
        a, b, c, d, e, f = inverse
        warped = source.transform((right - left, bottom - top), Image.Transform.AFFINE, (a, c, e, b, d, f),
                                  resample=Image.Resampling.BILINEAR)
        if color is not None:
            self.canvas.paste(color, (left, top, right, bottom), warped)
        else:
            self.canvas.paste(warped.convert("RGB"), (left, top), warped.getchannel("A"))

    # paths
    def path(self, element: etree._Element, matrix: Matrix, style: _Style) -> None:
        data = child(element, "AbbreviatedData")
        if data is None:
            data = child(element, "AbstractData")
        subpaths = self._flatten(parts.text(data), matrix)
        if not subpaths:
            return
        if (element.get("Fill") or "false").lower() == "true":
            self._fill(subpaths, style.fill or (0, 0, 0), (element.get("Rule") or "").lower().startswith("even"))
        if (element.get("Stroke") or "true").lower() != "false":
            scale = math.sqrt(abs(matrix[0] * matrix[3] - matrix[1] * matrix[2]))
            width = max(1, round((style.line_width if style.line_width is not None else 0.353) * scale))
            width = min(width, 4 * max(self.canvas.size))
            for points, closed in subpaths:
                line = [*points, points[0]] if closed and len(points) > 2 else points
                if len(line) >= 2:
                    self.draw.line(line, fill=style.stroke or (0, 0, 0), width=width, joint="curve")

    def _fill(self, subpaths: list[tuple[list[tuple[float, float]], bool]], color: Color, even_odd: bool) -> None:
        polygons = [points for points, _ in subpaths if len(points) >= 3]
        if len(polygons) == 1:
            self.draw.polygon(polygons[0], fill=color)
            return
        if not polygons:
            return
        mask = Image.new("1", self.canvas.size, 0)
        for points in polygons:
            layer = Image.new("1", self.canvas.size, 0)
            ImageDraw.Draw(layer).polygon(points, fill=1)
            mask = ImageChops.logical_xor(mask, layer) if even_odd else ImageChops.logical_or(mask, layer)
        self.canvas.paste(color, (0, 0), mask)

    def _flatten(self, data: str, matrix: Matrix) -> list[tuple[list[tuple[float, float]], bool]]:
        """AbbreviatedData → device polylines, each with its closed flag."""
        subpaths: list[tuple[list[tuple[float, float]], bool]] = []
        current: list[tuple[float, float]] = []
        tokens = data.split()
        pos = (0.0, 0.0)
        start = pos
        i = 0
        arity = {"S": 2, "M": 2, "L": 2, "Q": 4, "B": 6, "A": 7, "C": 0, "Z": 0}
        while i < len(tokens):
            op = tokens[i].upper()
            count = arity.get(op)
            if count is None or i + count >= len(tokens):
                break  # an unknown command or missing operands: keep what was drawn so far
            args = [_number(t) for t in tokens[i + 1: i + 1 + count]]
            i += 1 + count
            if op in ("S", "M"):
                if len(current) > 1:
                    subpaths.append((current, False))
                pos = start = (args[0], args[1])
                current = [pos]
                continue
            if op in ("C", "Z"):
                if len(current) > 1:
                    subpaths.append((current, True))
                current, pos = [start], start
                continue
            if not current:
                current = [pos]
            new = _segment(op, pos, args)
            current.extend(new)
            pos = (args[-2], args[-1])
            self.count.points += len(new)
            if self.count.points > MAX_POINTS:
                raise OfdRenderError("OFD 路径过于复杂", f"more than {MAX_POINTS} path points on the page")
        if len(current) > 1:
            subpaths.append((current, False))
        return [([_apply(matrix, x, y) for x, y in points], closed) for points, closed in subpaths]

    # images
    def image(self, element: etree._Element, matrix: Matrix, _style: _Style) -> None:
        resource = self.package.resources.media.get(element.get("ResourceID") or "")
        if resource is None:
            return
        picture = _decode_image(self.package.read(resource[1]))
        if picture is None:
            self.count.skipped.append(f"ImageObject {element.get('ID')}: format {resource[0] or '?'} not decodable")
            return
        self.picture(picture, matrix)

    def picture(self, picture: Image.Image, device: Matrix) -> None:
        """Paint ``picture`` into the unit square mapped by ``device`` (object space → pixels)."""
        a, b, c, d, e, f = device
        if abs(a * d - b * c) > 16 * MAX_PAGE_PIXELS:
            return
        rgba = picture.convert("RGBA")
        if abs(b) < 1e-9 and abs(c) < 1e-9:
            width, height = round(abs(a)), round(abs(d))
            if width < 1 or height < 1 or width * height > 4 * self.canvas.width * self.canvas.height:
                return
            scaled = rgba.resize((width, height), Image.Resampling.BILINEAR)
            if a < 0:
                scaled = scaled.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
            if d < 0:
                scaled = scaled.transpose(Image.Transpose.FLIP_TOP_BOTTOM)
            x, y = round(min(e, e + a)), round(min(f, f + d))
            self.canvas.paste(scaled.convert("RGB"), (x, y), scaled.getchannel("A"))
            return
        pixels = (1.0 / rgba.width, 0.0, 0.0, 1.0 / rgba.height, 0.0, 0.0)
        self._paste_warped(rgba, _mul(device, pixels), None)


def _segment(op: str, pos: tuple[float, float], args: list[float]) -> list[tuple[float, float]]:
    if op == "L":
        return [(args[0], args[1])]
    if op == "Q":
        (x0, y0), (x1, y1, x2, y2) = pos, args
        return [((1 - t) ** 2 * x0 + 2 * (1 - t) * t * x1 + t * t * x2,
                 (1 - t) ** 2 * y0 + 2 * (1 - t) * t * y1 + t * t * y2) for t in (k / 12 for k in range(1, 13))]
    if op == "B":
        (x0, y0), (x1, y1, x2, y2, x3, y3) = pos, args
        return [((1 - t) ** 3 * x0 + 3 * (1 - t) ** 2 * t * x1 + 3 * (1 - t) * t * t * x2 + t ** 3 * x3,
                 (1 - t) ** 3 * y0 + 3 * (1 - t) ** 2 * t * y1 + 3 * (1 - t) * t * t * y2 + t ** 3 * y3)
                for t in (k / 16 for k in range(1, 17))]
    return _arc(pos, *args)


def _arc(pos: tuple[float, float], rx: float, ry: float, angle: float, large: float, sweep: float, x: float,
         y: float) -> list[tuple[float, float]]:
    """SVG-style elliptical arc (endpoint parameterisation, F.6.5 of SVG 1.1) as a polyline."""
    x0, y0 = pos
    rx, ry = abs(rx), abs(ry)
    if rx < 1e-9 or ry < 1e-9 or (x0, y0) == (x, y):
        return [(x, y)]
    phi = math.radians(angle)
    cos, sin = math.cos(phi), math.sin(phi)
    dx, dy = (x0 - x) / 2, (y0 - y) / 2
    x1p, y1p = cos * dx + sin * dy, -sin * dx + cos * dy
    scale = x1p ** 2 / rx ** 2 + y1p ** 2 / ry ** 2
    if scale > 1:
        rx, ry = rx * math.sqrt(scale), ry * math.sqrt(scale)
    num = rx ** 2 * ry ** 2 - rx ** 2 * y1p ** 2 - ry ** 2 * x1p ** 2
    den = rx ** 2 * y1p ** 2 + ry ** 2 * x1p ** 2
    coef = math.sqrt(max(0.0, num / den)) if den else 0.0
    if bool(large) == bool(sweep):
        coef = -coef
    cxp, cyp = coef * rx * y1p / ry, -coef * ry * x1p / rx
    cx, cy = cos * cxp - sin * cyp + (x0 + x) / 2, sin * cxp + cos * cyp + (y0 + y) / 2
    start = math.atan2((y1p - cyp) / ry, (x1p - cxp) / rx)
    delta = math.atan2((-y1p - cyp) / ry, (-x1p - cxp) / rx) - start
    if sweep and delta < 0:
        delta += 2 * math.pi
    elif not sweep and delta > 0:
        delta -= 2 * math.pi
    steps = max(4, min(64, int(abs(delta) / (math.pi / 24)) + 1))
    points = []
    for k in range(1, steps + 1):
        t = start + delta * k / steps
        ex, ey = rx * math.cos(t), ry * math.sin(t)
        points.append((cos * ex - sin * ey + cx, sin * ex + cos * ey + cy))
    return points


def _invert(m: Matrix) -> Matrix | None:
    a, b, c, d, e, f = m
    det = a * d - b * c
    if abs(det) < 1e-12:
        return None
    ia, ib, ic, id_ = d / det, -b / det, -c / det, a / det
    return (ia, ib, ic, id_, -(ia * e + ic * f), -(ib * e + id_ * f))


def _decode_image(data: bytes) -> Image.Image | None:
    """A raster image Pillow knows (PNG, JPEG, BMP, GIF, TIFF), refused above MAX_IMAGE_PIXELS."""
    try:
        image = Image.open(io.BytesIO(data))
        if image.width * image.height > MAX_IMAGE_PIXELS:
            return None
        image.load()
        return image
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError, EOFError):
        return None


# --- seals ----------------------------------------------------------------------------------------
def _seal_picture(der: bytes, in_signature: bool) -> Image.Image | None:
    """The picture of an SESeal (``Seal.esl``) or of the seal inside an SES_Signature, as validation reads it."""
    # Lazy: asn1crypto and the SM2 code load only for a page that has a seal to paint.
    from lantai.formats import ofd_seal

    try:
        seal = ofd_seal.seal_of_signature(der) if in_signature else der
    except Exception:  # asn1crypto raises many kinds of errors on foreign structures
        return None
    data = ofd_seal.seal_picture(seal)
    return _decode_image(data) if data is not None else None


def _stamps(package: _Package, page_id: str) -> Iterator[tuple[tuple[float, float, float, float], Image.Image]]:
    """(Boundary, picture) of each StampAnnot on the page, from every signature of the document."""
    if not package.signatures_path:
        return
    try:
        listing = package.xml(package.signatures_path)
    except (OfdRenderError, ValueError):
        return
    for ref in parts.signature_refs(listing, package.signatures_path):
        try:
            yield from _signature_stamps(package, ref.path, page_id)
        except (OfdRenderError, ValueError, KeyError):
            continue


def _signature_stamps(package: _Package, path: str, page_id: str) -> Iterator[tuple[Any, Image.Image]]:
    signature = package.xml(path)
    info = child(signature, "SignedInfo")
    annots = [a for a in children(info, "StampAnnot") if a.get("PageRef") == page_id] if info is not None else []
    if not annots:
        return
    picture = None
    seal_file, value_file = parts.seal_path(signature, path), parts.signed_value_path(signature, path)
    if seal_file:
        picture = _seal_picture(package.read(seal_file), False)
    if picture is None and value_file:
        picture = _seal_picture(package.read(value_file), True)
    if picture is None:
        return  # e.g. an OFD-format seal picture or a plain CMS signature: nothing to paint
    for annot in annots:
        box = _box(annot.get("Boundary"))
        if box is not None:
            yield box, picture


# --- annotations ----------------------------------------------------------------------------------
def _annotations(package: _Package, page_id: str) -> Iterator[etree._Element]:
    """The visible ``Annot`` elements of one page."""
    listing_path = parts.relative(package.doc_path, child(package.document, "Annotations"))
    if not listing_path:
        return
    try:
        listing = package.xml(listing_path)
    except (OfdRenderError, ValueError):
        return
    for page in children(listing, "Page"):
        if page.get("PageID") != page_id:
            continue
        try:
            annots = package.xml(parts.relative(listing_path, child(page, "FileLoc")))
        except (OfdRenderError, ValueError):
            continue
        for annot in children(annots, "Annot"):
            if (annot.get("Visible") or "true").lower() != "false":
                yield annot


# --- the public API -------------------------------------------------------------------------------
Source = str | Path | IO[bytes]


def _open(source: Source) -> zipfile.ZipFile:
    try:
        return safezip.open_zip(source if not isinstance(source, str) else Path(source))  # type: ignore[arg-type]
    except safezip.ZipLimitError as exc:
        raise OfdRenderError(f"OFD 容器不安全: {exc}", f"unsafe OFD container: {exc}") from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as exc:
        raise OfdRenderError("文件不是可读的 OFD（ZIP）容器", f"not a readable OFD (ZIP) container: {exc}") from exc


def _guarded(action: str, work: Any) -> Any:
    """Run ``work()``; every failure that is not already a LantaiError becomes OfdRenderError."""
    try:
        return work()
    except LantaiError:
        raise
    except safezip.ZipEncryptedError as exc:
        raise OfdRenderError("OFD 部件已加密，无法渲染", f"{action}: encrypted part: {exc}") from exc
    except safezip.ZipLimitError as exc:
        raise OfdRenderError(f"OFD 部件过大或不安全: {exc}", f"{action}: unsafe or oversized part: {exc}") from exc
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, KeyError, RecursionError, MemoryError,
            NotImplementedError, OverflowError, Image.DecompressionBombError) as exc:
        raise OfdRenderError(f"OFD 无法渲染: {type(exc).__name__}", f"{action}: {type(exc).__name__}: {exc}") from exc
    except Exception as exc:  # last line of defence: hostile input must not crash the caller
        raise OfdRenderError(f"OFD 渲染异常: {type(exc).__name__}", f"{action}: {type(exc).__name__}: {exc}") from exc


def page_count(ofd_path: Source) -> int:
    """Number of pages of the first document in the OFD."""
    def work() -> int:
        with _open(ofd_path) as zf:
            return len(_Package(zf).pages)

    return int(_guarded("page_count", work))


def render_page(ofd_path: Source, page_index: int = 0, dpi: float = 96) -> Image.Image:
    """Page ``page_index`` (0-based) of the first document as an RGB image at ``dpi``.

    Raises :class:`OfdPageNotFound` for a page outside the document and :class:`OfdRenderError`
    for a package that cannot be rendered or breaks a safety limit.
    """
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise OfdRenderError(f"分辨率须在 {MIN_DPI}–{MAX_DPI} dpi 之间", f"dpi must be {MIN_DPI}-{MAX_DPI}")

    def work() -> Image.Image:
        with _open(ofd_path) as zf:
            return _render(_Package(zf), page_index, dpi)[0]

    return _guarded("render_page", work)


def render_pages(ofd_path: Source, each: Callable[[int, Image.Image], None], dpi: float = 96,
                 max_pages: int = 2000) -> int:
    """Every page of the first document, in order, handed to ``each(index, image)`` one at a time
    (the package is opened and its resources parsed once; one page image is held at a time).
    Returns the page count; same errors as :func:`render_page`."""
    if not MIN_DPI <= dpi <= MAX_DPI:
        raise OfdRenderError(f"分辨率须在 {MIN_DPI}–{MAX_DPI} dpi 之间", f"dpi must be {MIN_DPI}-{MAX_DPI}")

    def work() -> int:
        with _open(ofd_path) as zf:
            package = _Package(zf)
            count = len(package.pages)
            if count > max_pages:
                raise OfdRenderError(f"OFD 页数过多（{count} 页）", f"too many pages ({count})")
            for index in range(count):
                each(index, _render(package, index, dpi)[0])
            return count

    return int(_guarded("render_pages", work))


def render_page_png(source: Source, page: int = 1, dpi: float = 96) -> bytes:
    """Page ``page`` (1-based, as in URLs) as PNG bytes; the web preview's entry point."""
    out = io.BytesIO()
    render_page(source, page - 1, dpi).save(out, "PNG", optimize=False)
    return out.getvalue()


def render_report(ofd_path: Source, page_index: int = 0, dpi: float = 96) -> tuple[Image.Image, list[str]]:
    """Like :func:`render_page`, plus notes on the objects that were skipped."""
    def work() -> tuple[Image.Image, list[str]]:
        with _open(ofd_path) as zf:
            return _render(_Package(zf), page_index, dpi)

    return _guarded("render_page", work)


def _render(package: _Package, page_index: int, dpi: float) -> tuple[Image.Image, list[str]]:
    if not 0 <= page_index < len(package.pages):
        raise OfdPageNotFound(f"OFD 没有第 {page_index + 1} 页（共 {len(package.pages)} 页）",
                              f"page {page_index + 1} is outside the document ({len(package.pages)} pages)")
    ref = package.pages[page_index]
    page = package.xml(ref.path)
    for res_path in parts.page_resource_paths(page, ref.path):
        package.load_res(res_path)
    ox, oy, width_mm, height_mm = package.page_box(page)
    scale = dpi / MM_PER_INCH
    size = (max(1, round(width_mm * scale)), max(1, round(height_mm * scale)))
    if size[0] * size[1] > MAX_PAGE_PIXELS:
        raise OfdRenderError("OFD 页面过大，无法按此分辨率渲染", f"page of {width_mm}x{height_mm} mm is too large at {dpi} dpi")
    canvas = Image.new("RGB", size, (255, 255, 255))
    base: Matrix = (scale, 0.0, 0.0, scale, -ox * scale, -oy * scale)
    painter = _Painter(package, canvas, base)
    templates = children(page, "Template")
    _templates(painter, package, templates, "Background")
    painter.layers(child(page, "Content"), base)
    _templates(painter, package, templates, "Foreground")
    for annot in _annotations(package, ref.id):
        appearance = child(annot, "Appearance")
        box = _box(appearance.get("Boundary")) if appearance is not None else None
        if appearance is not None and box is not None:
            painter.block(appearance, _mul(base, _translate(box[0], box[1])), _Style(), 0)
    for (x, y, w, h), picture in _stamps(package, ref.id):
        painter.picture(picture, _mul(base, (w, 0.0, 0.0, h, x, y)))
    return canvas, painter.count.skipped


def _templates(painter: _Painter, package: _Package, refs: list[etree._Element], z_order: str) -> None:
    for ref in refs:
        if (ref.get("ZOrder") or "Background") != z_order:
            continue
        path = package.templates.get(ref.get("TemplateID") or "")
        if not path:
            continue
        try:
            template = package.xml(path)
        except (OfdRenderError, ValueError):
            painter.count.skipped.append(f"template {ref.get('TemplateID')}: missing or unreadable")
            continue
        for res_path in parts.page_resource_paths(template, path):
            package.load_res(res_path)
        painter.layers(child(template, "Content"), painter.base)
