"""PDF/A graphics rules decided from what pages draw: device colour, operators, transparency.

* device colour (ISO 19005-1 6.2.3.3, -2 6.2.4.3): DeviceRGB needs an RGB PDF/A OutputIntent,
  DeviceCMYK a CMYK one, DeviceGray any, unless a Default colour space overrides it;
* content-stream operators (-1 6.2.10, -2 6.2.2): only those of ISO 32000-1;
* transparency (-2 6.2.10): without an OutputIntent a page that uses transparency must declare
  its blending colour space in a page group ``CS``.

Pages whose content could not be followed give a ``warn`` finding for the clause rather than a pass.
"""

from __future__ import annotations

from typing import Any

import pikepdf

from lantai.formats.pdfa_content import scan_pages
from lantai.formats.pdfa_level_a import CLAUSES, valid_language

Violation = tuple[str, str]


def output_intent_space(pdf: pikepdf.Pdf) -> str | None:
    """'RGB', 'CMYK', 'Gray' (or 'other') for the PDF/A OutputIntent's profile; None when there is none."""
    intents = pdf.Root.get("/OutputIntents")
    if not isinstance(intents, pikepdf.Array):
        return None
    for intent in intents:
        if isinstance(intent, pikepdf.Dictionary) and str(intent.get("/S")) == "/GTS_PDFA1":
            profile = intent.get("/DestOutputProfile")
            if not isinstance(profile, pikepdf.Stream):
                return "other"
            try:
                header = profile.read_bytes()[:20]
            except Exception:
                return "other"
            return {b"RGB ": "RGB", b"CMYK": "CMYK", b"GRAY": "Gray"}.get(bytes(header[16:20]), "other")
    return None


def check_graphics(pdf: pikepdf.Pdf, part: int, level: str = "B",
                   uses: list[Any] | None = None) -> tuple[list[Violation], list[Violation]]:
    """(violations, warnings) of the page-use rules; level A adds the language of marked content.

    ``uses`` are the pages' ``PageUse`` records when the caller has scanned them already.
    """
    violations: list[Violation] = []
    warnings: list[Violation] = []
    oi = output_intent_space(pdf)
    incomplete: list[Any] = []
    colour_clause = "6.2.3.3" if part == 1 else "6.2.4.3"
    operator_clause = "6.2.10" if part == 1 else "6.2.2"
    for use in uses if uses is not None else scan_pages(pdf):
        if use.unknown_operators:
            ops = ", ".join(sorted(use.unknown_operators))[:80]
            violations.append((operator_clause, f"page {use.number} uses operators not defined in ISO 32000-1: {ops}"))
        for family in sorted(use.device):
            if not _allowed(family, oi):
                need = "a PDF/A OutputIntent" if family == "Gray" else f"a PDF/A OutputIntent with a {family} profile"
                violations.append((colour_clause, f"page {use.number} uses Device{family} without {need} "
                                                  f"or a Default{family} colour space"))
        if part > 1 and use.transparency and oi is None and not _group_cs(pdf.pages[use.number - 1].obj):
            violations.append(("6.2.10", f"page {use.number} uses transparency but has neither a PDF/A "
                                         "OutputIntent nor a page group colour space (Group CS)"))
        violations += _page_limits(use, part)
        if level == "A":
            bad = sorted(lang for lang in use.languages if not valid_language(lang))
            if bad:
                violations.append((CLAUSES[1 if part == 1 else 2]["lang"],
                                   f"page {use.number} marks content with language {bad[0][:30]!r}, not a language "
                                   "identifier"))
        if use.incomplete:
            incomplete.append(use)
    if incomplete:
        first = incomplete[0]
        pages = f"page {first.number}" if len(incomplete) == 1 else \
            f"{len(incomplete)} pages from page {first.number}"
        warnings.append((colour_clause, f"{pages} not fully checked: {first.incomplete}"))
    return violations, warnings


RENDERING_INTENTS = {"/RelativeColorimetric", "/AbsoluteColorimetric", "/Perceptual", "/Saturation"}


def _page_limits(use: Any, part: int) -> list[Violation]:
    """Nesting depth, inline-image filters, rendering intents and explicit resources of one page."""
    found: list[Violation] = []
    limit_clause = "6.1.12" if part == 1 else "6.1.13"
    string_limit = 65535 if part == 1 else 32767
    if use.longest_string > string_limit:
        found.append((limit_clause, f"page {use.number} content has a string of {use.longest_string} bytes "
                                    f"(at most {string_limit})"))
    if use.largest_integer > 2**31 - 1:
        found.append((limit_clause, f"page {use.number} content has an integer beyond the 32-bit range"))
    if part == 1 and use.largest_real > 32767:
        found.append((limit_clause, f"page {use.number} content has a real number beyond 32767"))
    if use.hex_problem:
        found.append(("6.1.6", f"page {use.number} content: {use.hex_problem}"))
    if part > 1 and use.icc_cmyk & use.overprint_mode_1:
        found.append(("6.2.4.2", f"page {use.number} uses an ICCBased CMYK colour space with overprint mode 1"))
    if use.max_nesting > 28:
        found.append(("6.1.12" if part == 1 else "6.1.13",
                      f"page {use.number} nests q/Q {use.max_nesting} levels deep (at most 28)"))
    bad_filters = {f for f in use.inline_filters if part > 1 or f in ("/LZWDecode", "/LZW")}
    if bad_filters:
        found.append(("6.1.10", f"page {use.number} has an inline image with filter "
                                f"{', '.join(sorted(bad_filters))[:60]}"))
    bad_intents = use.intents - RENDERING_INTENTS
    if bad_intents:
        found.append(("6.2.9" if part == 1 else "6.2.6", f"page {use.number} uses rendering intent "
                                                          f"{', '.join(sorted(bad_intents))[:60]}"))
    if part > 1 and use.implicit_resources:
        found.append(("6.2.2", f"page {use.number}: a form XObject or glyph uses named resources without its own "
                               "Resources dictionary"))
    return found


def _allowed(family: str, oi: str | None) -> bool:
    if oi is None:
        return False
    return family == "Gray" or oi == family


def _group_cs(page: Any) -> bool:
    group = page.get("/Group")
    return isinstance(group, pikepdf.Dictionary) and "/CS" in group
