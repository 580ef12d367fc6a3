"""PDF/A rules over the object graph (ISO 19005-1/-2/-3, level B), one walk over every object.

Each indirect object is visited once, with its direct sub-objects; what an object *is* (font,
image, annotation, action, file specification, graphics state) is decided from its keys, so the
rules apply wherever the object sits (pages, forms, annotations' appearances, unused resources).
Clause numbers follow the part being checked; ``_c`` maps a rule to its clause in each part.
"""

from __future__ import annotations

import hashlib
import re
import struct
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pikepdf

Violation = tuple[str, str]

# rule → clause in (PDF/A-1, PDF/A-2/3)
CLAUSES = {
    "filters": ("6.1.10", "6.1.7.2"), "limits": ("6.1.12", "6.1.13"), "stream_keys": ("6.1.7", "6.1.7.1"),
    "embedded": ("6.1.11", "6.8"), "optional_content": ("6.1.13", "6.9"), "encrypt": ("6.1.3", "6.1.3"),
    "output_intent": ("6.2.2", "6.2.3"), "image": ("6.2.4", "6.2.8"), "xobject": ("6.2.5", "6.2.9"),
    "extgstate": ("6.2.8", "6.2.5"), "fonts_embedded": ("6.3.4", "6.2.11.4.1"), "cidfont": ("6.3.3.1", "6.2.11.3.1"),
    "transparency": ("6.4", "6.2.10"), "annotation": ("6.5.3", "6.3.2"), "annotation_type": ("6.5.2", "6.3.1"),
    "appearance": ("6.9", "6.3.3"), "actions": ("6.6.1", "6.5.1"), "aa": ("6.6.2", "6.5.2"),
    "forms": ("6.9", "6.4.1"), "cidtogid": ("6.3.3.2", "6.2.11.3.2"), "separation": ("6.2.3.4", "6.2.4.4"), "intent": ("6.2.9", "6.2.6"), "permissions": ("6.1.12", "6.1.12"), "ref_xobject": ("6.2.6", "6.2.9"), "cmap": ("6.3.3.3", "6.2.11.3.3"), "truetype": ("6.3.7", "6.2.11.6"), "xfa": ("6.9", "6.4.2"), "devicen": ("6.2.3.4", "6.2.4.4"), "jpx": ("6.2.4", "6.2.8.3"), "blend": ("6.4", "6.2.10"),
}
FORBIDDEN_ACTIONS = {"/Launch", "/Sound", "/Movie", "/ResetForm", "/ImportData", "/JavaScript", "/Hide",
                     "/SetOCGState", "/Rendition", "/Trans", "/GoTo3DView", "/NOP", "/SetState"}
ALLOWED_NAMED = {"/NextPage", "/PrevPage", "/FirstPage", "/LastPage"}
ANNOT_FORBIDDEN = {1: {"/Movie", "/Sound", "/FileAttachment", "/3D", "/Screen", "/RichMedia"},
                   2: {"/Movie", "/Sound", "/3D", "/Screen", "/RichMedia"}}
ANNOT_SUBTYPES = {"/Text", "/Link", "/FreeText", "/Line", "/Square", "/Circle", "/Polygon", "/PolyLine",
                  "/Highlight", "/Underline", "/Squiggly", "/StrikeOut", "/Stamp", "/Caret", "/Ink", "/Popup",
                  "/FileAttachment", "/Sound", "/Movie", "/Widget", "/Screen", "/PrinterMark", "/TrapNet",
                  "/Watermark", "/3D", "/Redact", "/RichMedia", "/Projection"}
STANDARD_BLEND = {"/Normal", "/Compatible", "/Multiply", "/Screen", "/Overlay", "/Darken", "/Lighten",
                  "/ColorDodge", "/ColorBurn", "/HardLight", "/SoftLight", "/Difference", "/Exclusion", "/Hue",
                  "/Saturation", "/Color", "/Luminosity"}
FONT_SUBTYPES = {"/Type1", "/MMType1", "/TrueType", "/Type0", "/CIDFontType0", "/CIDFontType2", "/Type3"}
CMAP_ORDERING = {"GB": "GB1", "CNS": "CNS1", "B5": "CNS1", "ETen": "CNS1", "HK": "CNS1", "90": "Japan1",
                 "83pv": "Japan1", "Ext": "Japan1", "Add": "Japan1", "EUC": "Japan1", "RKSJ": "Japan1",
                 "KSC": "Korea1", "UniKS": "Korea1", "UniJIS": "Japan1", "UniGB": "GB1", "UniCNS": "CNS1",
                 "H": None, "V": None}
PREDEFINED_CMAPS = set(
    [
        "GB-EUC-H", "GB-EUC-V", "GBpc-EUC-H", "GBpc-EUC-V", "GBK-EUC-H", "GBK-EUC-V", "GBKp-EUC-H",
        "GBKp-EUC-V", "GBK2K-H", "GBK2K-V", "UniGB-UCS2-H", "UniGB-UCS2-V", "UniGB-UTF16-H", "UniGB-UTF16-V",
        "B5pc-H", "B5pc-V", "HKscs-B5-H", "HKscs-B5-V", "ETen-B5-H", "ETen-B5-V", "ETenms-B5-H",
        "ETenms-B5-V", "CNS-EUC-H", "CNS-EUC-V", "UniCNS-UCS2-H", "UniCNS-UCS2-V", "UniCNS-UTF16-H",
        "UniCNS-UTF16-V", "83pv-RKSJ-H", "90ms-RKSJ-H", "90ms-RKSJ-V", "90msp-RKSJ-H", "90msp-RKSJ-V",
        "90pv-RKSJ-H", "Add-RKSJ-H", "Add-RKSJ-V", "EUC-H", "EUC-V", "Ext-RKSJ-H", "Ext-RKSJ-V", "H", "V",
        "UniJIS-UCS2-H", "UniJIS-UCS2-V", "UniJIS-UCS2-HW-H", "UniJIS-UCS2-HW-V", "UniJIS-UTF16-H",
        "UniJIS-UTF16-V", "KSC-EUC-H", "KSC-EUC-V", "KSCms-UHC-H", "KSCms-UHC-V", "KSCms-UHC-HW-H",
        "KSCms-UHC-HW-V", "KSCpc-EUC-H", "UniKS-UCS2-H", "UniKS-UCS2-V", "UniKS-UTF16-H", "UniKS-UTF16-V",
        "Identity-H", "Identity-V",
    ])
PROCESS_COLORANTS = {"/Cyan", "/Magenta", "/Yellow", "/Black", "/None", "/All"}
RENDERING_INTENTS = {"/RelativeColorimetric", "/AbsoluteColorimetric", "/Perceptual", "/Saturation"}
MAX_VISITS = 2_000_000
MAX_EMBEDDED = 64 * 1024 * 1024  # embedded files read whole to check their PDF/A claim
MAX_DEPTH = 48


class ObjectRules:
    """Collects violations for PDF/A-``part`` while walking ``pdf``."""

    def __init__(self, pdf: pikepdf.Pdf, part: int) -> None:
        self.pdf = pdf
        self.part = part
        self.violations: list[Violation] = []
        self.warnings: list[Violation] = []  # rules that could not be decided
        self._seen_messages: set[tuple[str, str]] = set()
        self.af_targets: set[tuple[int, int]] = set()
        self.filespecs: list[pikepdf.Dictionary] = []
        self.fonts: list[tuple[pikepdf.Dictionary, str | None]] = []
        self.used_fonts = _rendering_fonts(pdf)
        self.visits = 0
        self.separations: dict[str, tuple[Any, Any]] = {}

    def add(self, rule: str, message: str) -> None:
        clause = "6.8" if rule == "embedded" and self.part == 3 else CLAUSES[rule][0 if self.part == 1 else 1]
        key = (clause, message)
        if key not in self._seen_messages:
            self._seen_messages.add(key)
            self.violations.append(key)

    # -- walk --------------------------------------------------------------------------------------
    def run(self) -> list[Violation]:
        self.catalog(self.pdf.Root)
        for obj in self.pdf.objects:
            self.visit(obj, 0)
            if self.visits > MAX_VISITS:  # undecided, not a violation: report it as a warning
                self.warnings.append((CLAUSES["limits"][0 if self.part == 1 else 1],
                                      "too many objects to check within the resource limit"))
                break
        self.embedded_files()
        for font, subtype in self.fonts:
            if font.is_indirect and font.objgen not in self.used_fonts:
                continue  # not used for rendering (e.g. only in the form's default resources)
            self.font(font, subtype)
        return self.violations

    def separation(self, space: pikepdf.Array) -> None:
        """Separation spaces naming the same colorant must share alternate space and tint transform."""
        colorant = _name(space[1])
        if colorant in (None, "/All", "/None"):
            return
        signature = (_identity(space[2]), _identity(space[3]))
        previous = self.separations.setdefault(colorant, signature)
        if previous != signature:
            self.add("separation", f"Separation colorant {colorant} appears with different alternate spaces or "
                                   "tint transforms")

    def devicen_colorants(self, space: pikepdf.Array) -> None:
        """PDF/A-2 6.2.4.4: every spot colorant of a DeviceN space is described in its Colorants dictionary."""
        spots = {str(n) for n in space[1] if isinstance(n, pikepdf.Name)} - PROCESS_COLORANTS
        if not spots:
            return
        attributes = space[4] if len(space) > 4 else None
        colorants = attributes.get("/Colorants") if isinstance(attributes, pikepdf.Dictionary) else None
        present = set(colorants.keys()) if isinstance(colorants, pikepdf.Dictionary) else set()
        missing = sorted(spots - present)
        if missing:
            self.add("devicen", f"DeviceN spot colorant {missing[0]} has no entry in the Colorants dictionary")

    def rendering_fonts(self) -> list[pikepdf.Dictionary]:
        """Fonts met during ``run`` that pages, forms or appearances actually use."""
        return [font for font, _ in self.fonts if not font.is_indirect or font.objgen in self.used_fonts]

    def visit(self, obj: Any, depth: int) -> None:
        self.visits += 1
        if depth > MAX_DEPTH:
            return
        if isinstance(obj, pikepdf.Stream):
            self.stream(obj)
            self.dictionary(obj.stream_dict, depth, is_stream=True, stream=obj)
        elif isinstance(obj, pikepdf.Dictionary):
            self.dictionary(obj, depth)
        elif isinstance(obj, pikepdf.Array):
            if len(obj) >= 4 and _name(obj[0]) == "/Separation":
                self.separation(obj)
            if len(obj) >= 4 and _name(obj[0]) == "/DeviceN" and isinstance(obj[1], pikepdf.Array):
                limit = 8 if self.part == 1 else 32
                if len(obj[1]) > limit:
                    self.add("limits", f"a DeviceN colour space has {len(obj[1])} colourants (at most {limit})")
                if self.part > 1:
                    self.devicen_colorants(obj)
            if self.part == 1 and len(obj) > 8191:
                self.add("limits", f"array with {len(obj)} elements exceeds 8191")
            for item in obj:
                self.scalar_or_child(item, depth)
        else:
            self.scalar_or_child(obj, depth)

    def scalar_or_child(self, value: Any, depth: int) -> None:
        if isinstance(value, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)):
            if not value.is_indirect:
                self.visit(value, depth + 1)
        elif isinstance(value, pikepdf.String):
            limit = 65535 if self.part == 1 else 32767
            if len(bytes(value)) > limit:
                self.add("limits", f"string longer than {limit} bytes")
        elif isinstance(value, pikepdf.Name):
            self.name(str(value))
        elif isinstance(value, bool):
            return
        elif isinstance(value, int):
            if not -(2**31) <= value <= 2**31 - 1:
                self.add("limits", f"integer {value} outside the 32-bit range")
        elif isinstance(value, Decimal):
            limit = 32767 if self.part == 1 else 3.403e38
            if abs(value) > Decimal(limit):
                self.add("limits", f"real number {value} exceeds {limit}")

    def name(self, name: str) -> None:
        if len(name[1:].encode("utf-8", "surrogateescape")) > 127:
            self.add("limits", f"name longer than 127 bytes: {name[:40]}…")

    def dictionary(self, d: pikepdf.Dictionary, depth: int, *, is_stream: bool = False,
                   stream: pikepdf.Stream | None = None) -> None:
        keys = list(d.keys())
        if self.part == 1 and len(keys) > 4095:
            self.add("limits", f"dictionary with {len(keys)} entries exceeds 4095")
        for key in keys:
            self.name(key)
            self.scalar_or_child(d.get(key), depth)
        self.classify(d, set(keys), stream)

    # -- classification ----------------------------------------------------------------------------
    def classify(self, d: pikepdf.Dictionary, keys: set[str], stream: pikepdf.Stream | None) -> None:
        type_ = _name(d.get("/Type"))
        subtype = _name(d.get("/Subtype"))
        if "/AF" in keys:
            self.collect_af(d.get("/AF"))
        if stream is not None and subtype == "/Image":
            self.image(d, stream)
        elif stream is not None and subtype == "/Form":
            self.form(d)
        elif stream is not None and subtype == "/PS":
            self.add("xobject", "PostScript XObjects are forbidden")
        if type_ == "/Font" or (subtype in FONT_SUBTYPES and "/BaseFont" in keys):
            self.fonts.append((d, subtype))

        if type_ == "/Annot" or (subtype in ANNOT_SUBTYPES and "/Rect" in keys):
            self.annotation(d, subtype)
        elif type_ == "/ExtGState" or ({"/TR", "/TR2", "/SMask", "/BM", "/CA", "/ca", "/HTP", "/HT", "/RI"} & keys
                                       and stream is None and type_ is None and subtype is None):
            self.extgstate(d, keys)
        if "/S" in keys and (type_ == "/Action" or "/Next" in keys or _name(d.get("/S")) in FORBIDDEN_ACTIONS
                             or _name(d.get("/S")) == "/Named"):
            self.action(d)
        if "/EF" in keys:
            self.filespecs.append(d)
        if type_ == "/Page":
            self.page(d, keys)
        if self.part > 1 and (type_ == "/SigRef" or "/TransformMethod" in keys) and \
                {"/DigestLocation", "/DigestMethod", "/DigestValue"} & keys:
            self.add("permissions", "a signature reference contains DigestLocation, DigestMethod or DigestValue")
        if "/NeedAppearances" in keys and d.get("/NeedAppearances") is True:
            self.add("forms", "the interactive form sets NeedAppearances to true")
        if type_ == "/OutputIntent":
            self.output_intent(d)

    # -- rules ------------------------------------------------------------------------------------
    def catalog(self, root: pikepdf.Dictionary) -> None:
        if self.part > 1:
            form = root.get("/AcroForm")
            if isinstance(form, pikepdf.Dictionary) and "/XFA" in form:
                self.add("xfa", "the interactive form contains XFA")
            if root.get("/NeedsRendering") is True:
                self.add("xfa", "the catalog sets NeedsRendering to true")
        if "/AA" in root:
            self.add("aa", "the document catalog contains an additional-actions (AA) entry")
        names = root.get("/Names")
        if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
            self.add("actions", "the name dictionary contains JavaScript")
        if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names and self.part == 1:
            self.add("embedded", "embedded files (EmbeddedFiles name tree) are forbidden in PDF/A-1")
        oc = root.get("/OCProperties")
        if oc is not None and self.part == 1:
            self.add("optional_content", "optional content (OCProperties) is forbidden in PDF/A-1")
        elif isinstance(oc, pikepdf.Dictionary):
            configs = [oc.get("/D"), *list(oc.get("/Configs", []))]
            for config in configs:
                if isinstance(config, pikepdf.Dictionary) and "/AS" in config:
                    self.add("optional_content", "an optional content configuration contains AS")
        if self.pdf.is_encrypted or "/Encrypt" in self.pdf.trailer:
            self.add("encrypt", "the file is encrypted (Encrypt in the trailer)")
        intents = root.get("/OutputIntents")
        if isinstance(intents, pikepdf.Array):
            profiles = {_objgen(i.get("/DestOutputProfile")) for i in intents
                        if isinstance(i, pikepdf.Dictionary) and "/DestOutputProfile" in i}
            if len(profiles) > 1:
                self.add("output_intent", "output intents reference different destination profiles")
        perms = root.get("/Perms")
        if isinstance(perms, pikepdf.Dictionary) and set(perms.keys()) - {"/UR3", "/DocMDP"}:
            self.add("limits" if self.part == 1 else "permissions", "permissions other than UR3/DocMDP")

    def stream(self, stream: pikepdf.Stream) -> None:
        d = stream.stream_dict
        if {"/F", "/FFilter", "/FDecodeParms"} & set(d.keys()):
            self.add("stream_keys", "a stream dictionary contains F, FFilter or FDecodeParms")
        filters = d.get("/Filter")
        names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
        if "/LZWDecode" in names:
            self.add("filters", "the LZWDecode filter is forbidden")
        if self.part > 1 and "/Crypt" in names:
            self.add("filters", "the Crypt filter is forbidden")

    def image(self, d: pikepdf.Dictionary, stream: pikepdf.Stream) -> None:
        if "/Alternates" in d:
            self.add("image", "an image contains Alternates")
        if "/OPI" in d:
            self.add("image", "an image contains OPI")
        if d.get("/Interpolate") is True:
            self.add("image", "an image has Interpolate true")
        if _name(d.get("/Intent")) is not None and _name(d.get("/Intent")) not in RENDERING_INTENTS:
            self.add("intent", f"an image uses rendering intent {_name(d.get('/Intent'))}")
        if self.part == 1 and "/SMask" in d:
            self.add("transparency", "an image has a soft mask (SMask) — transparency is forbidden in PDF/A-1")
        filters = d.get("/Filter")
        names = [str(f) for f in filters] if isinstance(filters, pikepdf.Array) else [str(filters)] if filters else []
        if "/JPXDecode" in names:
            if self.part == 1:
                self.add("image", "JPEG 2000 (JPXDecode) images are forbidden in PDF/A-1")
            else:
                self.jpx(stream)

    def jpx(self, stream: pikepdf.Stream) -> None:
        try:
            data = stream.read_raw_bytes()[:65536]
        except Exception:
            return
        for message in _jpx_problems(data):
            self.add("jpx", message)
        if "/ColorSpace" not in stream.stream_dict:  # the colour then comes from the JPEG 2000 colr boxes
            for message in _jpx_colour_problems(data):
                self.add("jpx", message)

    def form(self, d: pikepdf.Dictionary) -> None:
        if _name(d.get("/Subtype2")) == "/PS" or "/PS" in d:
            self.add("xobject", "a form XObject has Subtype2 PS or a PS entry")
        if "/OPI" in d:
            self.add("xobject", "a form XObject contains OPI")
        if "/Ref" in d:
            self.add("ref_xobject", "a reference XObject (form with Ref) is used")
        group = d.get("/Group")
        if self.part == 1 and isinstance(group, pikepdf.Dictionary) and _name(group.get("/S")) == "/Transparency":
            self.add("transparency", "a form XObject has a transparency group")

    def extgstate(self, d: pikepdf.Dictionary, keys: set[str]) -> None:
        if "/TR" in keys:
            self.add("extgstate", "a graphics state contains a transfer function (TR)")
        if "/TR2" in keys and _name(d.get("/TR2")) != "/Default":
            self.add("extgstate", "a graphics state contains TR2 other than Default")
        if "/HTP" in keys:
            self.add("extgstate", "a graphics state contains HTP")
        if _name(d.get("/RI")) is not None and _name(d.get("/RI")) not in RENDERING_INTENTS:
            self.add("intent", f"a graphics state uses rendering intent {_name(d.get('/RI'))}")
        halftone = d.get("/HT")
        if isinstance(halftone, (pikepdf.Dictionary, pikepdf.Stream)) and self.part > 1:
            self.halftone(halftone.stream_dict if isinstance(halftone, pikepdf.Stream) else halftone)
        blend = d.get("/BM")
        blends = [str(b) for b in blend] if isinstance(blend, pikepdf.Array) else [str(blend)] if blend else []
        if self.part == 1:
            smask = d.get("/SMask")
            if smask is not None and _name(smask) != "/None":
                self.add("transparency", "a graphics state has a soft mask (SMask)")
            for key in ("/CA", "/ca"):
                if key in keys and _number(d.get(key)) not in (None, 1.0):
                    self.add("transparency", f"a graphics state has {key[1:]} below 1.0")
            if any(b not in ("/Normal", "/Compatible") for b in blends):
                self.add("transparency", f"a blend mode other than Normal/Compatible: {', '.join(blends)}")
        elif any(b not in STANDARD_BLEND for b in blends):
            self.add("blend", f"non-standard blend mode {', '.join(blends)}")

    def halftone(self, d: pikepdf.Dictionary) -> None:
        """PDF/A-2 6.2.5: halftones of type 1 or 5 only, without HalftoneName."""
        kind = _number(d.get("/HalftoneType"))
        if kind is not None and int(kind) not in (1, 5):
            self.add("extgstate", f"a halftone has HalftoneType {int(kind)} (1 or 5 allowed)")
        if "/HalftoneName" in d:
            self.add("extgstate", "a halftone contains HalftoneName")

    def font(self, d: pikepdf.Dictionary, subtype: str | None) -> None:
        if subtype == "/Type3":
            return
        if subtype == "/Type0":
            self.type0(d)
            return
        descriptor = d.get("/FontDescriptor")
        if not isinstance(descriptor, pikepdf.Dictionary):
            self.add("fonts_embedded", f"font {_name(d.get('/BaseFont'))} has no font descriptor (not embedded)")
            return
        if not any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            self.add("fonts_embedded", f"font {_name(d.get('/BaseFont'))} is not embedded")
        if subtype == "/TrueType":
            self.truetype_encoding(d, descriptor)
        if subtype in ("/Type1", "/TrueType", "/MMType1") and "/FirstChar" in d and "/Widths" in d:
            widths = d.get("/Widths")
            first, last = _number(d.get("/FirstChar")), _number(d.get("/LastChar"))
            if isinstance(widths, pikepdf.Array) and first is not None and last is not None \
                    and len(widths) != int(last) - int(first) + 1:
                self.add("fonts_embedded", f"font {_name(d.get('/BaseFont'))}: Widths length disagrees with "
                                           "FirstChar/LastChar")

    def cmap_wmode(self, cmap: pikepdf.Stream) -> None:
        """The WMode of an embedded CMap's dictionary must equal the one in the CMap program."""
        try:
            program = cmap.read_bytes()[:1024 * 1024]
        except Exception:
            return
        found = re.search(rb"/WMode\s+(\d)\s+def", program)
        declared = _number(cmap.stream_dict.get("/WMode"))
        if found is not None and int(found.group(1)) != int(declared or 0):
            self.add("cmap", f"the CMap dictionary's WMode {int(declared or 0)} differs from the embedded CMap's "
                             f"{found.group(1).decode()}")

    def truetype_encoding(self, d: pikepdf.Dictionary, descriptor: pikepdf.Dictionary) -> None:
        """-1 6.3.7, -2 6.2.11.6: symbolic TrueType fonts have no Encoding; non-symbolic ones use
        MacRomanEncoding or WinAnsiEncoding (directly or as the BaseEncoding)."""
        flags = _number(descriptor.get("/Flags"))
        bits = int(flags) if flags is not None else 0
        symbolic = bool(bits & 4) and not bits & 32
        encoding = d.get("/Encoding")
        name = _name(d.get("/BaseFont"))
        if symbolic:
            if encoding is not None:
                self.add("truetype", f"symbolic TrueType font {name} has an Encoding entry")
            return
        base = encoding.get("/BaseEncoding") if isinstance(encoding, pikepdf.Dictionary) else encoding
        if _name(base) not in ("/MacRomanEncoding", "/WinAnsiEncoding"):
            self.add("truetype", f"non-symbolic TrueType font {name} does not use MacRomanEncoding or "
                                 "WinAnsiEncoding")

    def type0(self, d: pikepdf.Dictionary) -> None:
        descendants = d.get("/DescendantFonts")
        if not isinstance(descendants, pikepdf.Array) or len(descendants) != 1:
            self.add("fonts_embedded", "a Type0 font does not have exactly one descendant font")
            return
        cid = descendants[0]
        if not isinstance(cid, pikepdf.Dictionary):
            return
        self.font_descriptor_of_cid(cid)
        info = cid.get("/CIDSystemInfo")
        encoding = d.get("/Encoding")
        if isinstance(encoding, pikepdf.Stream):
            self.cmap_wmode(encoding)
            largest = _largest_cid(encoding)
            if largest > 65535:
                self.add("limits", f"an embedded CMap maps to CID {largest} (at most 65535)")
            cmap_info = encoding.stream_dict.get("/CIDSystemInfo")
            if isinstance(info, pikepdf.Dictionary) and isinstance(cmap_info, pikepdf.Dictionary):
                for key in ("/Registry", "/Ordering"):
                    if str(info.get(key, "")) != str(cmap_info.get(key, "")):
                        self.add("cidfont", f"CIDSystemInfo {key[1:]} of the CIDFont and the CMap are not compatible")
                font_supplement, cmap_supplement = _number(info.get("/Supplement")), _number(cmap_info.get("/Supplement"))
                if self.part > 1 and font_supplement is not None and cmap_supplement is not None \
                        and font_supplement > cmap_supplement:
                    self.add("cidfont", "the CIDFont's CIDSystemInfo Supplement exceeds the CMap's")
        elif isinstance(encoding, pikepdf.Name) and str(encoding)[1:] not in PREDEFINED_CMAPS:
            self.add("cmap", f"CMap {encoding} is neither predefined nor embedded")
        elif isinstance(encoding, pikepdf.Name) and str(encoding) not in ("/Identity-H", "/Identity-V"):
            expected = _cmap_ordering(str(encoding))
            if expected and isinstance(info, pikepdf.Dictionary) and str(info.get("/Ordering", "")) != expected:
                self.add("cidfont", f"CMap {encoding} is not compatible with ordering {info.get('/Ordering')}")

    def font_descriptor_of_cid(self, cid: pikepdf.Dictionary) -> None:
        descriptor = cid.get("/FontDescriptor")
        if not isinstance(descriptor, pikepdf.Dictionary) or not any(
                k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
            self.add("fonts_embedded", f"{_name(cid.get('/Subtype'))} font {_name(cid.get('/BaseFont'))} is not embedded")
        if _name(cid.get("/Subtype")) == "/CIDFontType2":
            mapping = cid.get("/CIDToGIDMap")
            if mapping is None and self.part > 1:  # PDF/A-1 Cor 2 lets it default to Identity
                self.add("cidtogid", "a CIDFontType2 font has no CIDToGIDMap")
            elif mapping is not None and not isinstance(mapping, pikepdf.Stream) and _name(mapping) != "/Identity":
                self.add("cidtogid", f"a CIDFontType2 font's CIDToGIDMap is {mapping}, not a stream or Identity")

    def annotation(self, d: pikepdf.Dictionary, subtype: str | None) -> None:
        if subtype in ANNOT_FORBIDDEN[1 if self.part == 1 else 2]:
            self.add("annotation_type", f"annotation type {subtype} is forbidden")
        if subtype != "/Popup":
            flags = _number(d.get("/F"))
            if flags is None:
                self.add("annotation", f"a {subtype} annotation has no F key")
            else:
                bits = int(flags)
                if not bits & 4 or bits & (1 | 2 | 32 | 256):
                    self.add("annotation", f"a {subtype} annotation is hidden, invisible or not printable")
        if self.part == 1 and _number(d.get("/CA")) not in (None, 1.0):
            self.add("transparency", "an annotation has CA below 1.0")
        if "/AA" in d and (self.part > 1 or subtype == "/Widget"):
            self.add("aa", f"a {subtype} annotation contains additional actions (AA)")
        if _zero_rect(d.get("/Rect")):
            return  # zero-size annotations (invisible signature fields) need no appearance
        if subtype == "/Widget" and "/AP" not in d:
            self.add("appearance", "a form field widget has no appearance dictionary")
        elif self.part > 1 and subtype not in ("/Popup", "/Link"):
            ap = d.get("/AP")
            if not isinstance(ap, pikepdf.Dictionary) or "/N" not in ap:
                self.add("appearance", f"a {subtype} annotation has no normal appearance")
        if self.part > 1:
            self.widget_rules(d, subtype)

    def widget_rules(self, d: pikepdf.Dictionary, subtype: str | None) -> None:
        """PDF/A-2 6.3.3 and 6.4.1: button widgets carry appearance states; widgets carry no A action."""
        ap = d.get("/AP")
        normal = ap.get("/N") if isinstance(ap, pikepdf.Dictionary) else None
        if normal is not None:
            button = subtype == "/Widget" and _field_type(d) == "/Btn"
            if button and isinstance(normal, pikepdf.Stream):
                self.add("appearance", "a button widget's normal appearance is a stream, not a state dictionary")
            elif not button and not isinstance(normal, pikepdf.Stream):
                self.add("appearance", f"a {subtype} annotation's normal appearance is not a stream")
        if subtype == "/Widget" and "/A" in d:
            self.add("forms", "a widget annotation contains an action (A)")

    def action(self, d: pikepdf.Dictionary) -> None:
        kind = _name(d.get("/S"))
        if kind in FORBIDDEN_ACTIONS:
            self.add("actions", f"action type {kind} is forbidden")
        elif kind == "/Named" and _name(d.get("/N")) not in ALLOWED_NAMED:
            self.add("actions", f"named action {_name(d.get('/N'))} is forbidden")

    def page_boxes(self, d: pikepdf.Dictionary) -> None:
        """PDF/A-2 6.1.13: page boundaries between 3 and 14 400 units."""
        for key in ("/MediaBox", "/CropBox", "/BleedBox", "/TrimBox", "/ArtBox"):
            box = d.get(key)
            try:
                x1, y1, x2, y2 = (float(v) for v in box) if isinstance(box, pikepdf.Array) else (0, 0, 3, 3)
            except (TypeError, ValueError):
                continue
            if not (3 <= abs(x2 - x1) <= 14400 and 3 <= abs(y2 - y1) <= 14400):
                self.add("limits", f"page {key[1:]} of {abs(x2 - x1):g} x {abs(y2 - y1):g} units is outside 3..14400")

    def page(self, d: pikepdf.Dictionary, keys: set[str]) -> None:
        if self.part > 1:
            self.page_boxes(d)
        group = d.get("/Group")
        if self.part == 1 and isinstance(group, pikepdf.Dictionary) and _name(group.get("/S")) == "/Transparency":
            self.add("transparency", "a page has a transparency group")
        if "/AA" in keys and self.part > 1:
            self.add("aa", "a page contains additional actions (AA)")

    def output_intent(self, d: pikepdf.Dictionary) -> None:
        if _name(d.get("/S")) not in ("/GTS_PDFA1",):
            return
        profile = d.get("/DestOutputProfile")
        if not isinstance(profile, pikepdf.Stream):
            self.add("output_intent", "the PDF/A output intent has no DestOutputProfile")
            return
        try:
            header = profile.read_bytes()[:128]
        except Exception as exc:
            self.add("output_intent", f"the ICC profile cannot be read: {exc}")
            return
        for message in _icc_problems(header, profile.stream_dict.get("/N"), self.part):
            self.add("output_intent", message)

    def collect_af(self, af: Any) -> None:
        if isinstance(af, pikepdf.Array):
            for item in af:
                if isinstance(item, pikepdf.Dictionary) and item.is_indirect:
                    self.af_targets.add(item.objgen)

    def embedded_files(self) -> None:
        for spec in self.filespecs:
            if self.part == 1:
                self.add("embedded", "embedded files are forbidden in PDF/A-1")
            elif self.part == 2:
                self.embedded_pdfa(spec)
            else:
                if "/AFRelationship" not in spec:
                    self.add("embedded", "a file specification with an embedded file has no AFRelationship")
                elif spec.is_indirect and spec.objgen not in self.af_targets:
                    self.add("embedded", "an embedded file is not associated through an AF array")
                ef = spec.get("/EF")
                stream = ef.get("/F") if isinstance(ef, pikepdf.Dictionary) else None
                if isinstance(stream, pikepdf.Stream) and "/Subtype" not in stream.stream_dict:
                    self.add("embedded", "an embedded file stream has no Subtype (MIME type)")

    def embedded_pdfa(self, spec: pikepdf.Dictionary) -> None:
        """PDF/A-2 allows only embedded PDF/A files: check the claim of each embedded file."""
        ef = spec.get("/EF")
        stream = ef.get("/F") if isinstance(ef, pikepdf.Dictionary) else None
        if not isinstance(stream, pikepdf.Stream):
            return
        length = stream.stream_dict.get("/Length")
        if isinstance(length, int) and length > MAX_EMBEDDED:
            self.warnings.append((CLAUSES["embedded"][1], f"an embedded file of {length} bytes is too large to check "
                                                          "for a PDF/A claim"))
            return
        try:
            data = stream.read_bytes()
            with pikepdf.open(__import__("io").BytesIO(data)) as inner:
                claimed = inner.open_metadata().pdfa_status
        except Exception:
            claimed = ""
        if not claimed:
            self.add("embedded", "an embedded file is not a PDF/A file (PDF/A-2 allows only PDF/A)")


# -- helpers ---------------------------------------------------------------------------------------
def _rendering_fonts(pdf: pikepdf.Pdf) -> set[tuple[int, int]]:
    """Fonts reachable for rendering: page resources, annotation appearances, forms, patterns, Type3."""
    queue: list[Any] = []
    for page in pdf.pages:
        queue.append(page.obj.get("/Resources") or page.resources)
        for annot in page.obj.get("/Annots", []) or []:
            ap = annot.get("/AP") if isinstance(annot, pikepdf.Dictionary) else None
            for state in (ap.values() if isinstance(ap, pikepdf.Dictionary) else []):
                streams = state.values() if isinstance(state, pikepdf.Dictionary) and \
                    not isinstance(state, pikepdf.Stream) else [state]
                queue.extend(s.stream_dict.get("/Resources") for s in streams if isinstance(s, pikepdf.Stream))
    fonts: set[tuple[int, int]] = set()
    seen: set[Any] = set()
    while queue and len(seen) < 100_000:
        resources = queue.pop()
        if not isinstance(resources, pikepdf.Dictionary):
            continue
        key = resources.objgen if resources.is_indirect else id(resources)
        if key in seen:
            continue
        seen.add(key)
        for group in ("/Font", "/XObject", "/Pattern"):
            entries = resources.get(group)
            for item in (entries.values() if isinstance(entries, pikepdf.Dictionary) else []):
                if group == "/Font" and isinstance(item, pikepdf.Dictionary) and item.is_indirect:
                    fonts.add(item.objgen)
                inner = item.stream_dict if isinstance(item, pikepdf.Stream) else item
                if isinstance(inner, pikepdf.Dictionary):
                    queue.append(inner.get("/Resources"))
    return fonts


def _name(value: Any) -> str | None:
    return str(value) if isinstance(value, pikepdf.Name) else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, Decimal, float)):
        return float(value)
    return None


def _objgen(value: Any) -> Any:
    return value.objgen if hasattr(value, "objgen") and value.is_indirect else id(value)


CID_RANGE = re.compile(rb"<([0-9A-Fa-f]{1,8})>\s*<([0-9A-Fa-f]{1,8})>\s*(\d{1,10})")
CID_CHAR = re.compile(rb"<([0-9A-Fa-f]{1,8})>\s*(\d{1,10})")


def _largest_cid(cmap: pikepdf.Stream) -> int:
    """The largest CID an embedded CMap maps to (ranges and single codes); 0 when unreadable."""
    try:
        data = cmap.read_bytes()[:4 * 1024 * 1024]
    except Exception:
        return 0
    largest = 0
    for block in re.findall(rb"begincidrange(.*?)endcidrange", data, re.S):
        for lo, hi, cid in CID_RANGE.findall(block):
            largest = max(largest, int(cid) + max(0, int(hi, 16) - int(lo, 16)))
    for block in re.findall(rb"begincidchar(.*?)endcidchar", data, re.S):
        for _code, cid in CID_CHAR.findall(block):
            largest = max(largest, int(cid))
    return largest


def _identity(value: Any, depth: int = 0) -> Any:
    """A content signature: equal objects (even when stored twice) compare equal."""
    if depth > 6:
        return "…"
    if isinstance(value, pikepdf.Stream):
        try:
            data = hashlib.sha256(value.read_bytes()).hexdigest()
        except Exception:
            data = repr(value.objgen)
        return ("stream", _identity(value.stream_dict, depth + 1), data)
    if isinstance(value, pikepdf.Dictionary):
        return tuple(sorted((k, _identity(value.get(k), depth + 1)) for k in value.keys() if k != "/Length"))
    if isinstance(value, pikepdf.Array):
        return tuple(_identity(v, depth + 1) for v in value)
    return repr(value)


def _field_type(d: pikepdf.Dictionary) -> str | None:
    """FT of a widget's field, inherited from parent fields."""
    node: Any = d
    for _ in range(32):
        if not isinstance(node, pikepdf.Dictionary):
            return None
        if "/FT" in node:
            return _name(node.get("/FT"))
        node = node.get("/Parent")
    return None


def _zero_rect(rect: Any) -> bool:
    try:
        x1, y1, x2, y2 = (float(v) for v in rect)
    except Exception:
        return False
    return x1 == x2 and y1 == y2


def _cmap_ordering(name: str) -> str | None:
    for token, ordering in CMAP_ORDERING.items():
        if ordering and token in name[1:].split("-"):
            return ordering
    return None


def _icc_problems(header: bytes, n: Any, part: int) -> Iterator[str]:
    if len(header) < 128:
        yield "the ICC profile is truncated"
        return
    device_class = header[12:16]
    colour_space = header[16:20]
    major = header[8]
    channels = {b"RGB ": 3, b"GRAY": 1, b"CMYK": 4}.get(colour_space)
    if channels is None:
        yield f"the ICC profile colour space {colour_space!r} is not RGB, GRAY or CMYK"
    elif n is not None and _number(n) is not None and int(_number(n) or 0) != channels:
        yield f"the ICC profile colour space {colour_space.decode('latin-1').strip()} disagrees with N={n}"
    if device_class not in (b"prtr", b"mntr"):
        yield f"the ICC profile device class {device_class!r} is not prtr or mntr"
    if part == 1 and major >= 4:
        yield "PDF/A-1 requires an ICC profile of version 2.x or earlier"


def _jpx_colour_problems(data: bytes) -> Iterator[str]:
    """ISO 19005-2 6.2.8.3: with several colr boxes exactly one has APPROX 1; never enumerated space 19 (CIEJab)."""
    boxes = []
    position = data.find(b"colr")
    while position >= 4 and len(boxes) < 64:
        fields = data[position + 4:position + 7]
        if len(fields) == 3:
            method, _precedence, approx = fields
            enum = struct.unpack(">I", data[position + 7:position + 11])[0] if method == 1 and \
                len(data) >= position + 11 else None
            boxes.append((approx, enum))
        position = data.find(b"colr", position + 4)
    if len(boxes) > 1 and sum(1 for approx, _ in boxes if approx == 1) != 1:
        yield "JPEG 2000 image has several colour specifications but not exactly one with APPROX 1"
    if any(enum == 19 for _, enum in boxes):
        yield "JPEG 2000 image uses the enumerated colour space 19 (CIEJab)"


def _jpx_problems(data: bytes) -> Iterator[str]:
    """JPEG 2000 header rules of ISO 19005-2 6.2.8.3: channels 1/3/4, bit depth 1..38, bpcc when varying."""
    ihdr = data.find(b"ihdr")
    if ihdr < 0:
        return
    fields = data[ihdr + 4:ihdr + 4 + 14]
    if len(fields) < 14:
        yield "JPEG 2000 ihdr box is truncated"
        return
    _height, _width, channels, bpc = struct.unpack(">IIHB", fields[:11])
    if channels not in (1, 3, 4):
        yield f"JPEG 2000 image has {channels} colour channels (1, 3 or 4 allowed)"
    if bpc == 255:
        if b"bpcc" not in data:
            yield "JPEG 2000 bit depth varies but the bpcc box is missing"
    elif not 1 <= (bpc & 0x7F) + 1 <= 38:
        yield f"JPEG 2000 bit depth {(bpc & 0x7F) + 1} is outside 1..38"
