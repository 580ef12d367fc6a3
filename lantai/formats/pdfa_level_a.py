"""PDF/A level A and U rules: tagged structure, natural language, Unicode mapping of fonts.

Level A (ISO 19005-1 6.8, ISO 19005-2/-3 6.7) requires a tagged PDF: MarkInfo with Marked true,
a structure tree, structure types that are standard or role-mapped to standard ones, and valid
language identifiers. Levels A and U (-1 6.3.8, -2 6.2.11.7.2) require every font used for
rendering to map its character codes to Unicode, through ToUnicode or an encoding whose glyph
names or predefined CMap already give the Unicode values.
"""

from __future__ import annotations

import re
from typing import Any

import pikepdf

Violation = tuple[str, str]
STANDARD_TYPES = set(
    [
        "Document", "Part", "Art", "Sect", "Div", "BlockQuote", "Caption", "TOC", "TOCI", "Index",
        "NonStruct", "Private", "P", "H", "H1", "H2", "H3", "H4", "H5", "H6", "L", "LI", "Lbl", "LBody",
        "Table", "TR", "TH", "TD", "THead", "TBody", "TFoot", "Span", "Quote", "Note", "Reference",
        "BibEntry", "Code", "Link", "Annot", "Ruby", "RB", "RT", "RP", "Warichu", "WT", "WP", "Figure",
        "Formula", "Form",
    ])
LANGUAGE = re.compile(r"[A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*")
STANDARD_ENCODINGS = {"/MacRomanEncoding", "/MacExpertEncoding", "/WinAnsiEncoding", "/StandardEncoding"}
PREDEFINED_ORDERINGS = {"GB1", "CNS1", "Japan1", "Korea1"}
MAX_ELEMENTS = 200_000
CLAUSES = {1: {"marked": "6.8.2.2", "tree": "6.8.3.3", "types": "6.8.3.4", "lang": "6.8.4", "unicode": "6.3.8"},
           2: {"marked": "6.7.2.2", "tree": "6.7.3.3", "types": "6.7.3.4", "lang": "6.7.4",
               "unicode": "6.2.11.7.2"}}


def check_level_a(pdf: pikepdf.Pdf, part: int, fonts: list[pikepdf.Dictionary] | None = None,
                  actual_text_in_content: bool = False,
                  shown: dict[tuple[int, int], bytes] | None = None) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings) of the tagged-structure rules of level A.

    Private-use Unicode values (-2 6.2.11.7.3) need ActualText; without any ActualText in the
    structure tree or marked content of the document they are a violation.
    """
    clause = CLAUSES[1 if part == 1 else 2]
    root = pdf.Root
    violations: list[Violation] = []
    mark = root.get("/MarkInfo")
    if not isinstance(mark, pikepdf.Dictionary) or mark.get("/Marked") is not True:
        violations.append((clause["marked"], "the catalog has no MarkInfo dictionary with Marked true"))
    lang = root.get("/Lang")
    if lang is not None and not _valid_language(lang):
        violations.append((clause["lang"], f"the catalog Lang {str(lang)[:30]!r} is not a language identifier"))
    tree = root.get("/StructTreeRoot")
    pua = private_use(fonts or [], shown or {}) if part > 1 else []
    if not isinstance(tree, pikepdf.Dictionary):
        violations.append((clause["tree"], "the document has no structure tree (StructTreeRoot)"))
        if pua and not actual_text_in_content:
            violations.append(("6.2.11.7.3", f"font {pua[0]} maps codes to the Private Use Area without ActualText"))
        return violations, []
    role_map = tree.get("/RoleMap")
    roles = {str(k)[1:]: str(v)[1:] for k, v in role_map.items()} if isinstance(role_map, pikepdf.Dictionary) else {}
    bad_types: set[str] = set()
    warnings: list[Violation] = []
    count = 0
    stack: list[Any] = [tree.get("/K")]
    seen: set[tuple[int, int]] = set()
    while stack:
        node = stack.pop()
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
            continue
        if not isinstance(node, pikepdf.Dictionary) or "/S" not in node:
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        count += 1
        if count > MAX_ELEMENTS:
            warnings.append((clause["types"], "structure tree too large to check completely"))
            break
        kind = str(node.get("/S"))[1:]
        actual_text_in_content = actual_text_in_content or "/ActualText" in node
        if not _standard(kind, roles):
            bad_types.add(kind)
        element_lang = node.get("/Lang")
        if element_lang is not None and not _valid_language(element_lang):
            violations.append((clause["lang"], f"a structure element's Lang {str(element_lang)[:30]!r} is not a "
                                               "language identifier"))
        stack.append(node.get("/K"))
    if pua and not actual_text_in_content:
        violations.append(("6.2.11.7.3", f"font {pua[0]} maps codes to the Private Use Area without ActualText"))
    for kind in sorted(bad_types)[:10]:
        violations.append((clause["types"], f"structure type {kind} is neither standard nor role-mapped to a "
                                            "standard type"))
    return violations, warnings


def _standard(kind: str, roles: dict[str, str]) -> bool:
    """A type is acceptable when it, or what the role map leads it to, is a standard type."""
    for _ in range(16):
        if kind in STANDARD_TYPES:
            return True
        if kind not in roles:
            return False
        kind = roles[kind]
    return False


def _valid_language(value: Any) -> bool:
    return isinstance(value, pikepdf.String) and valid_language(str(value))


def valid_language(text: str) -> bool:
    """An RFC 3066 language identifier, or empty (language unknown)."""
    text = text.strip()
    return text == "" or LANGUAGE.fullmatch(text) is not None


def check_unicode(fonts: list[pikepdf.Dictionary], part: int,
                  shown: dict[tuple[int, int], bytes]) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings): fonts used for rendering with no way to map codes to Unicode (levels A, U).

    A symbolic simple font without an Encoding takes its glyph names from the embedded program,
    which is not parsed here: that case is a warning, not a pass and not a failure.
    """
    clause = CLAUSES[1 if part == 1 else 2]["unicode"]
    violations: list[Violation] = []
    warnings: list[Violation] = []
    for font in fonts:
        name = str(font.get("/BaseFont", font.get("/Name", "?")))[1:40]
        if "/ToUnicode" in font:
            codes = shown_codes(font, shown.get(font.objgen) if font.is_indirect else None)
            bad = _bad_unicode_values(font.get("/ToUnicode"), codes)
            if bad:
                violations.append((clause, f"font {name}: ToUnicode maps a code to U+{bad:04X}, which is not a "
                                           "character"))
            continue
        verdict = _implicit_unicode(font, shown_codes(font, shown.get(font.objgen) if font.is_indirect else None))
        if verdict is None:
            warnings.append((clause, f"font {name}: Unicode values depend on the embedded program's built-in "
                                     "encoding, which is not checked"))
        elif not verdict:
            violations.append((clause, f"font {name} has no ToUnicode map and no encoding that implies Unicode "
                                       "values"))
    return violations, warnings


def _implicit_unicode(font: pikepdf.Dictionary, codes: set[int] | None = None) -> bool | None:
    """True when the encoding itself gives Unicode values for the codes shown (all codes when
    unknown); None when only an unreadable font program could tell."""
    subtype = str(font.get("/Subtype"))
    encoding = font.get("/Encoding")
    if subtype == "/Type0":
        return _cmap_ordering(font, encoding) in PREDEFINED_ORDERINGS
    if subtype == "/Type3":
        return isinstance(encoding, pikepdf.Dictionary) and "/Differences" in encoding and \
            _glyph_names_map(encoding, codes)
    if isinstance(encoding, pikepdf.Name):
        return str(encoding) in STANDARD_ENCODINGS
    if isinstance(encoding, pikepdf.Dictionary):
        base = encoding.get("/BaseEncoding")
        return (base is None or str(base) in STANDARD_ENCODINGS) and _glyph_names_map(encoding, codes)
    descriptor = font.get("/FontDescriptor")
    flags = descriptor.get("/Flags") if isinstance(descriptor, pikepdf.Dictionary) else None
    if not (isinstance(flags, int) and flags & 4):
        return True  # a non-symbolic font without Encoding uses StandardEncoding
    builtin = _builtin_encoding(descriptor)
    if builtin is None:
        return None
    names = [builtin[c] for c in (codes if codes is not None else builtin) if c in builtin]
    return _all_agl(names)


def _builtin_encoding(descriptor: Any) -> dict[int, str] | None:
    """code → glyph name of an embedded Type 1 (clear-text part) or CFF program's own encoding;
    None when there is no such program or it cannot be read."""
    if not isinstance(descriptor, pikepdf.Dictionary):
        return None
    program = descriptor.get("/FontFile")
    if isinstance(program, pikepdf.Stream):
        try:
            clear = program.read_bytes()[:int(program.stream_dict.get("/Length1", 65536))]
        except Exception:
            return None
        if re.search(rb"/Encoding\s+StandardEncoding\s+def", clear):
            return _standard_names()
        pairs = re.findall(rb"dup\s+(\d+)\s*/([^\s/\[\]{}()<>]+)\s+put", clear)
        return {int(code): name.decode("latin-1") for code, name in pairs} if pairs else None
    program = descriptor.get("/FontFile3")
    if isinstance(program, pikepdf.Stream) and str(program.stream_dict.get("/Subtype")) == "/Type1C":
        try:
            import io

            from fontTools.cffLib import CFFFontSet

            cff = CFFFontSet()
            cff.decompile(io.BytesIO(program.read_bytes()), None)
            builtin = getattr(cff[cff.fontNames[0]], "Encoding", "StandardEncoding")
        except Exception:
            return None
        if builtin == "StandardEncoding":
            return _standard_names()
        if isinstance(builtin, list):
            return {code: name for code, name in enumerate(builtin) if name and name != ".notdef"}
    return None


def _standard_names() -> dict[int, str]:
    from fontTools.encodings.StandardEncoding import StandardEncoding

    return {code: name for code, name in enumerate(StandardEncoding) if name != ".notdef"}


def _all_agl(names: list[str]) -> bool:
    """Every glyph name has a Unicode value under the Adobe Glyph List rules."""
    from fontTools.agl import toUnicode

    return all(toUnicode(name) for name in names if name != ".notdef")


def _glyph_names_map(encoding: pikepdf.Dictionary, codes: set[int] | None = None) -> bool:
    """Every glyph name Differences gives to a shown code (to any code when unknown) has a
    Unicode value under the Adobe Glyph List rules."""
    differences = encoding.get("/Differences")
    if not isinstance(differences, pikepdf.Array):
        return True
    names: dict[int, str] = {}
    code = 0
    for item in differences:
        if isinstance(item, int) and not isinstance(item, bool):
            code = item
        elif isinstance(item, pikepdf.Name):
            names[code] = str(item)[1:]
            code += 1
    return _all_agl([name for c, name in names.items() if codes is None or c in codes])


BFCHAR = re.compile(rb"beginbfchar(.*?)endbfchar", re.S)
BFRANGE = re.compile(rb"beginbfrange(.*?)endbfrange", re.S)
HEX_TOKEN = re.compile(rb"<([0-9A-Fa-f]*)>")
NOT_CHARACTERS = {0x0000, 0xFEFF, 0xFFFE}


MAX_MAPPINGS = 200_000


def _unicode_map(cmap: Any) -> dict[int, int]:
    """code → first UTF-16 unit of its ToUnicode destination (bfchar and bfrange; bounded)."""
    if not isinstance(cmap, pikepdf.Stream):
        return {}
    try:
        data = cmap.read_bytes()[:2 * 1024 * 1024]
    except Exception:
        return {}
    mapping: dict[int, int] = {}
    for block in BFCHAR.findall(data):
        tokens = HEX_TOKEN.findall(block)
        for source, dest in zip(tokens[0::2], tokens[1::2], strict=False):
            if source:
                mapping[int(source, 16)] = int(dest[:4] or b"0", 16)
    for block in BFRANGE.findall(data):
        for line in block.splitlines():
            tokens = HEX_TOKEN.findall(line)
            if len(tokens) < 3 or not tokens[0] or not tokens[1]:
                continue
            low, high = int(tokens[0], 16), int(tokens[1], 16)
            array_form = b"[" in line
            for offset, code in enumerate(range(low, min(high, low + 65535) + 1)):
                if len(mapping) >= MAX_MAPPINGS:
                    return mapping
                if array_form:
                    if 2 + offset < len(tokens):
                        mapping[code] = int(tokens[2 + offset][:4] or b"0", 16)
                else:
                    mapping[code] = int(tokens[2][:4] or b"0", 16) + offset
    return mapping


def shown_codes(font: pikepdf.Dictionary, shown: bytes | None) -> set[int] | None:
    """The character codes a page shows with ``font``; None when they cannot be split into codes
    (a Type0 font with a CMap other than Identity)."""
    if shown is None:
        return set()
    if str(font.get("/Subtype")) == "/Type0":
        if str(font.get("/Encoding")) not in ("/Identity-H", "/Identity-V"):
            return None
        return {shown[i] << 8 | shown[i + 1] for i in range(0, len(shown) - 1, 2)}
    return set(shown)


def _bad_unicode_values(cmap: Any, codes: set[int] | None) -> int | None:
    """A shown code whose ToUnicode value is not a character (U+0000, U+FEFF, U+FFFE), if any."""
    if codes is None:
        return None
    mapping = _unicode_map(cmap)
    return next((mapping[c] for c in sorted(codes) if mapping.get(c) in NOT_CHARACTERS), None)


def private_use(fonts: list[pikepdf.Dictionary], shown: dict[tuple[int, int], bytes]) -> list[str]:
    """Fonts that show codes whose Unicode value is in the Private Use Area (level A needs ActualText)."""
    found = []
    for font in fonts:
        codes = shown_codes(font, shown.get(font.objgen) if font.is_indirect else None)
        if not codes or "/ToUnicode" not in font:
            continue
        mapping = _unicode_map(font.get("/ToUnicode"))
        if any(0xE000 <= mapping.get(c, 0) <= 0xF8FF for c in codes):
            found.append(str(font.get("/BaseFont", "?"))[1:40])
    return found


def _cmap_ordering(font: pikepdf.Dictionary, encoding: Any) -> str:
    """The character collection of a Type0 font's CMap (predefined name or embedded CMap stream)."""
    if isinstance(encoding, pikepdf.Name) and str(encoding) in ("/Identity-H", "/Identity-V"):
        return ""
    info = encoding.stream_dict.get("/CIDSystemInfo") if isinstance(encoding, pikepdf.Stream) else None
    if not isinstance(info, pikepdf.Dictionary):
        descendants = font.get("/DescendantFonts")
        cid = descendants[0] if isinstance(descendants, pikepdf.Array) and len(descendants) else None
        info = cid.get("/CIDSystemInfo") if isinstance(cid, pikepdf.Dictionary) else None
    if not isinstance(info, pikepdf.Dictionary) or str(info.get("/Registry", "")) != "Adobe":
        return ""
    return str(info.get("/Ordering", ""))
