"""What each page actually draws: content-stream operators, device colour use, transparency.

PDF/A's colour and transparency rules apply to what is *used* for rendering, not to every object
in the file (ISO 19005-1 6.2.3.3, ISO 19005-2 6.2.4.3 and 6.2.10). This module parses the
content of each page, following form XObjects, Type 3 glyph procedures, patterns and annotation
appearances, and records per page: operators outside ISO 32000-1, device colour spaces used
(through operators, images, inline images, shadings and the alternates/bases they name), whether
the page uses transparency, and the default colour spaces in effect. Streams above
``MAX_STREAM`` decoded bytes are not parsed; the page is then marked ``incomplete`` so the caller
reports a warning instead of passing it silently.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pikepdf

from lantai.formats.pdfa_lexical import content_hex_problem

MAX_STREAM = 32 * 1024 * 1024
DIGIT_RUN = re.compile(rb"\d{5,}")
# What may come just before the integer part of a number token: white-space, a delimiter or a sign.
NUMBER_START = frozenset(b"\x00\t\n\x0c\r ()<>[]{}/%+-")
LONG_STRING = re.compile(rb"[(<][^)>]{32000,}")
MAX_SHOWN_BYTES = 64 * 1024
MAX_INSTRUCTIONS = 3_000_000  # content operators parsed per document  # text bytes kept per font for the font-program rules
MAX_STREAMS_PER_PAGE = 2_000
OPERATORS = set(
    [
        "b", "B", "b*", "B*", "BDC", "BI", "BMC", "BT", "BX", "c", "cm", "CS", "cs", "d", "d0", "d1", "Do",
        "DP", "EI", "EMC", "ET", "EX", "f", "F", "f*", "G", "g", "gs", "h", "i", "ID", "j", "J", "K", "k",
        "l", "m", "M", "MP", "n", "q", "Q", "re", "RG", "rg", "ri", "s", "S", "SC", "sc", "SCN", "scn", "sh",
        "T*", "Tc", "Td", "TD", "Tf", "Tj", "TJ", "TL", "Tm", "Tr", "Ts", "Tw", "Tz", "v", "w", "W", "W*",
        "y", "'", '"',
    ])
DEVICE = {"/DeviceRGB": "RGB", "/RGB": "RGB", "/DeviceCMYK": "CMYK", "/CMYK": "CMYK", "/DeviceGray": "Gray",
          "/G": "Gray"}
INLINE_FILTERS = {"/ASCIIHexDecode", "/ASCII85Decode", "/FlateDecode", "/RunLengthDecode", "/CCITTFaxDecode",
                  "/DCTDecode", "/AHx", "/A85", "/Fl", "/RL", "/CCF", "/DCT"}
NAMED_RESOURCE_OPS = {"Tf", "Do", "gs", "sh"}
DIRECT_SPACES = {"/DeviceRGB", "/DeviceCMYK", "/DeviceGray", "/RGB", "/CMYK", "/G", "/Pattern"}
FILL_COLOUR_OPS = {"g", "rg", "k", "cs", "sc", "scn"}
STROKE_COLOUR_OPS = {"G", "RG", "K", "CS", "SC", "SCN"}
FILL_PAINT = {"f", "F", "f*"}
STROKE_PAINT = {"S", "s"}
BOTH_PAINT = {"B", "B*", "b", "b*"}
TEXT_SHOW = {"Tj", "TJ", "'", '"'}
# Operators that only build paths or set text and line state: no rule here looks at them.
GEOMETRY = {"m", "l", "c", "v", "y", "h", "re", "cm", "w", "J", "j", "M", "d", "i", "W", "W*", "n", "Tc", "Tw",
            "Tz", "TL", "Ts", "Td", "TD", "Tm", "T*", "BT", "ET", "d0", "d1", "EMC", "BMC", "MP", "BX", "EX"}
PAINTING = FILL_PAINT | STROKE_PAINT | BOTH_PAINT | TEXT_SHOW
COLOUR_OPS = FILL_COLOUR_OPS | STROKE_COLOUR_OPS
DEFAULTS = {"RGB": "/DefaultRGB", "CMYK": "/DefaultCMYK", "Gray": "/DefaultGray"}


@dataclass(slots=True)
class PageUse:
    """Facts about one page's rendering."""

    number: int
    unknown_operators: set[str] = field(default_factory=set)
    device: set[str] = field(default_factory=set)  # "RGB"/"CMYK"/"Gray" used without a Default* override
    transparency: bool = False
    incomplete: str | None = None
    undefined_resources: set[str] = field(default_factory=set)
    max_nesting: int = 0  # deepest q/Q nesting within one content stream
    inline_filters: set[str] = field(default_factory=set)  # inline-image filters outside ISO 32000-1 Table 6
    intents: set[str] = field(default_factory=set)  # rendering intents named by 'ri'
    implicit_resources: bool = False  # a form or glyph uses named resources without its own Resources
    icc_cmyk: set[str] = field(default_factory=set)  # "fill"/"stroke" set to an ICCBased CMYK space
    overprint_mode_1: set[str] = field(default_factory=set)  # "fill"/"stroke" overprinting with OPM 1
    actual_text: bool = False  # marked content carries ActualText
    font_strings: dict[tuple[int, int], bytearray] = field(default_factory=dict)  # shown bytes per font
    languages: set[str] = field(default_factory=set)  # Lang values of marked-content property lists
    hex_problem: str | None = None  # a malformed hexadecimal string in content
    longest_string: int = 0  # longest string operand in content
    largest_integer: int = 0
    largest_real: float = 0.0


def scan_pages(pdf: pikepdf.Pdf, parse: Any = pikepdf.parse_content_stream) -> list[PageUse]:
    """One ``PageUse`` per page. Past ``MAX_INSTRUCTIONS`` in the document the remaining pages are
    not parsed but marked incomplete, so a huge document costs bounded time and says so."""
    result = []
    spent = 0
    for number, page in enumerate(pdf.pages, start=1):
        use = PageUse(number)
        if spent > MAX_INSTRUCTIONS:
            use.incomplete = f"the document has more than {MAX_INSTRUCTIONS} content operators; later pages not parsed"
        else:
            scan = _PageScan(use, parse)
            scan.page(page)
            spent += scan.instructions
        result.append(use)
    return result


class _PageScan:
    def __init__(self, use: PageUse, parse: Any = pikepdf.parse_content_stream) -> None:
        self.use = use
        self.parse = parse  # a page's content parsed once for every check that reads it (pdf_open)
        self.seen: set[tuple[int, int]] = set()
        self.streams = 0
        self.instructions = 0

    def page(self, page: pikepdf.Page) -> None:
        obj = page.obj
        resources = obj.get("/Resources")
        group = obj.get("/Group")
        if isinstance(group, pikepdf.Dictionary):
            self.colour_space(group.get("/CS"), resources)
        contents = obj.get("/Contents")
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents] if contents is not None else []
        if all(isinstance(st, pikepdf.Stream) and self._budget(st) for st in streams) and streams:
            self.content(page, resources)
        for annot in obj.get("/Annots", []) or []:
            if isinstance(annot, pikepdf.Dictionary):
                self.annotation(annot)

    def annotation(self, annot: pikepdf.Dictionary) -> None:
        ca = annot.get("/CA")
        if isinstance(ca, (int, Decimal)) and not isinstance(ca, bool) and float(ca) < 1:
            self.use.transparency = True
        ap = annot.get("/AP")
        if not isinstance(ap, pikepdf.Dictionary):
            return
        for state in ap.values():
            forms = [state] if isinstance(state, pikepdf.Stream) else \
                list(state.values()) if isinstance(state, pikepdf.Dictionary) else []
            for form in forms:
                if isinstance(form, pikepdf.Stream):
                    self.form(form, annotation=True)

    def _budget(self, stream: pikepdf.Stream) -> bool:
        self.streams += 1
        if self.streams > MAX_STREAMS_PER_PAGE:
            self.use.incomplete = "too many content streams to follow"
            return False
        length = stream.stream_dict.get("/Length")
        if isinstance(length, int) and length > MAX_STREAM:
            self.use.incomplete = f"a content stream of {length} bytes is too large to parse"
            return False
        return True

    def content(self, target: Any, resources: Any, *, own_resources: bool = True, inherits_colour: bool = False) -> None:
        """Parse a page's content or one content stream in the context of ``resources``.

        ``own_resources`` False means the stream (a form or glyph) has no Resources entry of its
        own; using a named resource from it then breaks the explicit-resources rule.
        """
        check_limits = self.raw_checks(target)
        try:
            instructions = self.parse(target)
        except Exception as exc:
            self.use.incomplete = f"a content stream does not parse: {exc}"
            return
        self.instructions += len(instructions)
        res = resources if isinstance(resources, pikepdf.Dictionary) else pikepdf.Dictionary()
        depth = 0
        font: Any = None
        fonts_saved: list[Any] = []
        # (fill set, stroke set, invisible text): painting before any colour is chosen uses DeviceGray
        state = [inherits_colour, inherits_colour, False]
        saved: list[list[bool]] = []
        for instruction in instructions:
            if isinstance(instruction, pikepdf.ContentStreamInlineImage):
                self.inline_image(instruction.iimage.obj, res)
                continue
            operator = str(instruction.operator)
            if check_limits:
                self.operand_sizes(instruction.operands)
            if operator in GEOMETRY:  # the bulk of any content: nothing else to decide on them
                continue
            operands = list(instruction.operands)
            if operator == "q":
                depth += 1
                self.use.max_nesting = max(self.use.max_nesting, depth)
                saved.append(list(state))
                fonts_saved.append(font)
                continue
            if operator == "Q":
                depth = max(0, depth - 1)
                state = saved.pop() if saved else state
                font = fonts_saved.pop() if fonts_saved else font
                continue
            if operator in PAINTING or operator in COLOUR_OPS or operator == "Tr":
                self.initial_colour(operator, operands, state, res)
                if operator in PAINTING and operator not in TEXT_SHOW:
                    continue
            if operator == "Tf" and operands:
                fonts = res.get("/Font")
                font = fonts.get(operands[0]) if isinstance(fonts, pikepdf.Dictionary) else None
            elif operator in TEXT_SHOW and font is not None and getattr(font, "is_indirect", False):
                self.shown(font, operands)
            elif operator == "ri" and operands:
                self.use.intents.add(str(operands[0]))
            if not own_resources and _names_resource(operator, operands):
                self.use.implicit_resources = True
            self.operator(operator, operands, res)

    def raw_checks(self, target: Any) -> bool:
        """Scan the decoded content for malformed hex strings (qpdf pads them silently) and say
        whether it could hold a value beyond an implementation limit (a long string or a number
        of five or more digits), so the per-operand limit check runs only where it can matter."""
        obj = target.obj if isinstance(target, pikepdf.Page) else target
        contents = obj.get("/Contents") if isinstance(target, pikepdf.Page) else obj
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        limits_possible = False
        for stream in streams:
            if not isinstance(stream, pikepdf.Stream):
                continue
            try:
                data = stream.read_bytes()
            except Exception:
                continue
            limits_possible = limits_possible or _long_number(data) or (
                len(data) > 32000 and LONG_STRING.search(data) is not None)
            if self.use.hex_problem is None:
                self.use.hex_problem = content_hex_problem(data)
        return limits_possible

    def shown(self, font: Any, operands: Any) -> None:
        """Keep (a bounded amount of) the bytes shown with ``font``: the codes the font must render."""
        kept = self.use.font_strings.setdefault(font.objgen, bytearray())
        for value in operands:
            items = value if isinstance(value, pikepdf.Array) else [value]
            for item in items:
                if isinstance(item, pikepdf.String) and len(kept) < MAX_SHOWN_BYTES:
                    kept += bytes(item)[:MAX_SHOWN_BYTES - len(kept)]

    def initial_colour(self, op: str, operands: list[Any], state: list[bool], res: pikepdf.Dictionary) -> None:
        """Painting with the initial colour (DeviceGray black) counts as DeviceGray use."""
        if op in FILL_COLOUR_OPS:
            state[0] = True
        elif op in STROKE_COLOUR_OPS:
            state[1] = True
        elif op == "Tr" and operands:
            state[2] = operands[0] in (3, 7)
        elif (op in FILL_PAINT or (op in TEXT_SHOW and not state[2])) and not state[0]:
            self.device("Gray", res)
        if op in STROKE_PAINT and not state[1]:
            self.device("Gray", res)
        if op in BOTH_PAINT and not (state[0] and state[1]):
            self.device("Gray", res)

    def operand_sizes(self, operands: Any) -> None:
        """Track the largest strings and numbers written in content (implementation limits)."""
        for value in operands:
            if isinstance(value, pikepdf.Array):
                self.operand_sizes(value)
            elif isinstance(value, pikepdf.String):
                self.use.longest_string = max(self.use.longest_string, len(bytes(value)))
            elif isinstance(value, bool):
                continue
            elif isinstance(value, int):
                self.use.largest_integer = max(self.use.largest_integer, abs(value))
            elif isinstance(value, Decimal):
                self.use.largest_real = max(self.use.largest_real, abs(float(value)))

    def operator(self, op: str, operands: list[Any], res: pikepdf.Dictionary) -> None:
        if op not in OPERATORS:
            self.use.unknown_operators.add(op)
            return
        if op in ("rg", "RG"):
            self.device("RGB", res)
        elif op in ("k", "K"):
            self.device("CMYK", res)
        elif op in ("g", "G"):
            self.device("Gray", res)
        elif op in ("cs", "CS") and operands:
            space = self.lookup(res, "/ColorSpace", operands[0], allow_direct=True)
            if _icc_components(space) == 4:
                self.use.icc_cmyk.add("fill" if op == "cs" else "stroke")
            self.colour_space(space, res)
        elif op in ("scn", "SCN") and operands and isinstance(operands[-1], pikepdf.Name):
            pattern = self.lookup(res, "/Pattern", operands[-1])
            if pattern is not None:
                self.pattern(pattern)
        elif op == "sh" and operands:
            shading = self.lookup(res, "/Shading", operands[0])
            if isinstance(shading, (pikepdf.Dictionary, pikepdf.Stream)):
                self.colour_space(_dict(shading).get("/ColorSpace"), res)
        elif op == "gs" and operands:
            gs = self.lookup(res, "/ExtGState", operands[0])
            if isinstance(gs, pikepdf.Dictionary):
                self.extgstate(gs)
        elif op == "Do" and operands:
            xobject = self.lookup(res, "/XObject", operands[0])
            if isinstance(xobject, pikepdf.Stream):
                self.xobject(xobject, res)
        elif op in ("BDC", "DP") and len(operands) >= 2:
            properties = operands[1]
            if isinstance(properties, pikepdf.Name):
                named = res.get("/Properties")
                properties = named.get(properties) if isinstance(named, pikepdf.Dictionary) else None
            if isinstance(properties, pikepdf.Dictionary) and isinstance(properties.get("/Lang"), pikepdf.String):
                self.use.languages.add(str(properties.get("/Lang")))
            if isinstance(properties, pikepdf.Dictionary) and "/ActualText" in properties:
                self.use.actual_text = True
        elif op == "Tf" and operands:
            font = self.lookup(res, "/Font", operands[0])
            if isinstance(font, pikepdf.Dictionary) and str(font.get("/Subtype")) == "/Type3":
                self.type3(font)

    def lookup(self, res: pikepdf.Dictionary, category: str, name: Any, *, allow_direct: bool = False) -> Any:
        if not isinstance(name, pikepdf.Name):
            return None
        if allow_direct and (str(name) in DEVICE or str(name) in ("/Pattern", "/Lab", "/CalRGB", "/CalGray")):
            return name
        group = res.get(category)
        value = group.get(name) if isinstance(group, pikepdf.Dictionary) else None
        if value is None:
            self.use.undefined_resources.add(f"{category[1:]} {name}")
        return value

    def device(self, family: str, res: pikepdf.Dictionary) -> None:
        spaces = res.get("/ColorSpace")
        if isinstance(spaces, pikepdf.Dictionary) and DEFAULTS[family] in spaces:
            return
        self.use.device.add(family)

    def colour_space(self, space: Any, res: Any, depth: int = 0) -> None:
        """Record the device families a colour space resolves to (bases and alternates included)."""
        if space is None or depth > 8:
            return
        res = res if isinstance(res, pikepdf.Dictionary) else pikepdf.Dictionary()
        if isinstance(space, pikepdf.Name):
            name = str(space)
            if name in DEVICE:
                self.device(DEVICE[name], res)
                return
            named = res.get("/ColorSpace")
            resolved = named.get(space) if isinstance(named, pikepdf.Dictionary) else None
            if resolved is not None and not (isinstance(resolved, pikepdf.Name) and str(resolved) == name):
                self.colour_space(resolved, res, depth + 1)
            return
        if not isinstance(space, pikepdf.Array) or len(space) == 0:
            return
        family = str(space[0])
        if family in ("/Indexed", "/I") and len(space) > 1:
            self.colour_space(space[1], res, depth + 1)
        elif family == "/Separation" and len(space) > 2:
            if str(space[1]) != "/None":
                self.colour_space(space[2], res, depth + 1)
        elif family == "/DeviceN" and len(space) > 2:
            self.colour_space(space[2], res, depth + 1)
        elif family == "/Pattern" and len(space) > 1:
            self.colour_space(space[1], res, depth + 1)

    def inline_image(self, d: pikepdf.Dictionary, res: pikepdf.Dictionary) -> None:
        intent = d.get("/Intent")
        if isinstance(intent, pikepdf.Name):
            self.use.intents.add(str(intent))
        filters = d.get("/Filter", d.get("/F"))
        for name in (filters if isinstance(filters, pikepdf.Array) else [filters] if filters is not None else []):
            if str(name) not in INLINE_FILTERS:
                self.use.inline_filters.add(str(name))
        if d.get("/ImageMask") is True or d.get("/IM") is True:
            return
        self.colour_space(d.get("/ColorSpace", d.get("/CS")), res)

    def xobject(self, xobject: pikepdf.Stream, res: pikepdf.Dictionary) -> None:
        d = xobject.stream_dict
        subtype = str(d.get("/Subtype"))
        if subtype == "/Image":
            if d.get("/ImageMask") is not True:
                self.colour_space(d.get("/ColorSpace"), res)
            smask = d.get("/SMask")
            if isinstance(smask, pikepdf.Stream) or _positive(d.get("/SMaskInData")):
                self.use.transparency = True
        elif subtype == "/Form":
            self.form(xobject)

    def form(self, form: pikepdf.Stream, *, annotation: bool = False) -> None:
        if form.is_indirect:
            if form.objgen in self.seen:
                return
            self.seen.add(form.objgen)
        d = form.stream_dict
        group = d.get("/Group")
        if isinstance(group, pikepdf.Dictionary) and str(group.get("/S")) == "/Transparency":
            self.use.transparency = True
            self.colour_space(group.get("/CS"), d.get("/Resources"))
        if self._budget(form):
            self.content(form, d.get("/Resources"), own_resources="/Resources" in d,
                         inherits_colour=not annotation)

    def type3(self, font: pikepdf.Dictionary) -> None:
        if font.is_indirect:
            if font.objgen in self.seen:
                return
            self.seen.add(font.objgen)
        procs = font.get("/CharProcs")
        resources = font.get("/Resources")
        for proc in (procs.values() if isinstance(procs, pikepdf.Dictionary) else []):
            if isinstance(proc, pikepdf.Stream) and self._budget(proc):
                self.content(proc, resources, own_resources="/Resources" in font or "/Resources" in proc.stream_dict,
                             inherits_colour=True)

    def pattern(self, pattern: Any) -> None:
        d = _dict(pattern)
        if d is None:
            return
        if isinstance(pattern, pikepdf.Stream) and int(d.get("/PatternType", 1)) == 1:
            self.form(pattern)
        elif int(d.get("/PatternType", 0)) == 2:
            shading = d.get("/Shading")
            if isinstance(shading, (pikepdf.Dictionary, pikepdf.Stream)):
                self.colour_space(_dict(shading).get("/ColorSpace"), None)
            gs = d.get("/ExtGState")
            if isinstance(gs, pikepdf.Dictionary):
                self.extgstate(gs)

    def extgstate(self, gs: pikepdf.Dictionary) -> None:
        if gs.get("/OPM") == 1:
            stroke = gs.get("/OP") is True
            fill = gs.get("/op") is True if "/op" in gs else stroke  # op defaults to OP
            self.use.overprint_mode_1 |= {name for name, on in (("fill", fill), ("stroke", stroke)) if on}
        smask = gs.get("/SMask")
        if smask is not None and not (isinstance(smask, pikepdf.Name) and str(smask) == "/None"):
            self.use.transparency = True
            if isinstance(smask, pikepdf.Dictionary):
                group = smask.get("/G")
                if isinstance(group, pikepdf.Stream):
                    self.form(group)
        for key in ("/CA", "/ca"):
            value = gs.get(key)
            if isinstance(value, (int, Decimal)) and not isinstance(value, bool) and float(value) < 1:
                self.use.transparency = True
        blend = gs.get("/BM")
        names = [str(b) for b in blend] if isinstance(blend, pikepdf.Array) else [str(blend)] if blend else []
        if any(n not in ("/Normal", "/Compatible") for n in names):
            self.use.transparency = True


def _icc_components(space: Any) -> int | None:
    """N of an ICCBased colour space array, else None."""
    if isinstance(space, pikepdf.Array) and len(space) > 1 and str(space[0]) == "/ICCBased" \
            and isinstance(space[1], pikepdf.Stream):
        n = space[1].stream_dict.get("/N")
        return int(n) if isinstance(n, int) else None
    return None


def _names_resource(operator: str, operands: list[Any]) -> bool:
    """Whether an operator refers to an entry of the Resources dictionary by name."""
    if not operands:
        return False
    if operator in NAMED_RESOURCE_OPS:
        return isinstance(operands[0], pikepdf.Name)
    if operator in ("cs", "CS"):
        return isinstance(operands[0], pikepdf.Name) and str(operands[0]) not in DIRECT_SPACES
    if operator in ("scn", "SCN"):
        return isinstance(operands[-1], pikepdf.Name)
    return False


def _dict(obj: Any) -> Any:
    if isinstance(obj, pikepdf.Stream):
        return obj.stream_dict
    return obj if isinstance(obj, pikepdf.Dictionary) else None


def _positive(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value > 0


def _long_number(data: bytes) -> bool:
    """Whether the content may hold a number token with five or more digits before any decimal point,
    the least a real above 32767 or an integer beyond 32 bits needs. A number token begins after
    white-space, a delimiter or nothing, with an optional sign; a digit run after a point, a letter
    or a backslash (a string's octal escape) is a fraction, part of a name or operator, or string
    content, none of which the per-operand limit check is for. Typical content has many five-digit
    fractions (``.901961``), which no longer send every operand of the page through that check."""
    for run in DIGIT_RUN.finditer(data):
        start = run.start()
        if start == 0 or data[start - 1] in NUMBER_START:
            return True
    return False
