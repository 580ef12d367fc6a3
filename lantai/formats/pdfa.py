"""PDF/A validation without veraPDF: ISO 19005-1/-2/-3 rules by clause for levels A, B and U.

veraPDF (Java) cannot be obtained here (DEPENDENCIES.md §3), so Lantai checks the standard's
rules itself, with pikepdf for object access and memory-mapped reads for the raw syntax. Each
finding names its clause and the registry rule (``pdfa_rules``: part, clause, test number, zh
and en text). One module per job:

* ``pdfa_xmp`` / ``pdfa_xmp_props`` / ``pdfa_xmp_types`` / ``pdfa_xmp_ext`` / ``pdfa_xmp_schemas`` —
  identification, Info ↔ XMP, every XMP property against the predefined schemas (XMP 2004 for
  part 1, 2005 for parts 2/3) or the file's PDF/A extension schemas, and the container's shape;
* ``pdfa_syntax`` / ``pdfa_lexical`` — header, trailer ID, xref, stream framing and Length, hex
  strings, object headers (judged in the objects the document uses);
* ``pdfa_objects`` — one walk over every object: filters, limits, images, XObjects, graphics
  states, fonts (embedding, widths, CMaps, CIDs), annotations, forms, actions, embedded files,
  optional content, permissions;
* ``pdfa_content`` / ``pdfa_graphics`` — what pages draw: operators, device colour against the
  OutputIntent, transparency and page groups, overprint, nesting, rendering intents;
* ``pdfa_fonts`` — embedded CFF and TrueType programs: glyphs shown exist, widths agree, no
  ``.notdef``, CharSet/CIDSet complete;
* ``pdfa_signatures`` — signature ByteRange coverage and a single PKCS#7 signer;
* ``pdfa_level_a`` — tagged structure and language (level A), Unicode mapping (levels A and U).

A rule the validator cannot decide (an unsupported construct, a content stream or font program
too large or unreadable, a signature that is not PKCS#7) is returned in ``warnings`` with its
clause — never a silent pass. Not checked: Type 1 (FontFile) programs' glyphs and widths, Type 3
glyph widths. ``validate_pdfa`` never raises for bad content.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pikepdf

from lantai.formats.pdf_open import SharedPdf, parser
from lantai.formats.pdfa_content import scan_pages
from lantai.formats.pdfa_fonts import check_font_programs
from lantai.formats.pdfa_graphics import check_graphics
from lantai.formats.pdfa_level_a import check_level_a, check_unicode
from lantai.formats.pdfa_objects import ObjectRules
from lantai.formats.pdfa_rules import resolve
from lantai.formats.pdfa_signatures import check_signatures
from lantai.formats.pdfa_syntax import check_syntax
from lantai.formats.pdfa_xmp import Xmp, check_xmp, read_xmp


@dataclass(slots=True)
class PdfaResult:
    """``declared`` like "2b"; None (and ``compliant`` None) when the file claims no PDF/A.

    ``violations`` and ``warnings`` are dicts with ``clause``, ``test``, ``rule`` (like
    "ISO 19005-2 6.2.4.3-1"), ``message`` (the English detail), ``message_zh`` and ``message_en``.
    A warning is a rule the validator could not decide (an unsupported or too large construct):
    it does not make the file non-compliant, but it is never dropped.
    """

    declared: str | None
    compliant: bool | None
    violations: list[dict[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    warnings: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"declared": self.declared, "compliant": self.compliant, "violations": list(self.violations),
                "warnings": list(self.warnings), "notes": list(self.notes)}


def validate_pdfa(path: str | Path, shared: SharedPdf | None = None) -> PdfaResult:
    """Check the PDF/A claim of one file. Corrupt files give compliant False with the parse error.

    ``shared``: the file already opened (:func:`lantai.formats.pdf_open.open_shared`), left open."""
    path = Path(path)
    try:
        return _validate(path, shared)
    except Exception as exc:  # a hostile file must never stop a batch
        return PdfaResult(None, False, [_v(1, "6.1", f"PDF/A check failed: {type(exc).__name__}: {exc}")])


def _validate(path: Path, shared: SharedPdf | None = None) -> PdfaResult:
    try:
        pdf = shared.pdf if shared is not None else pikepdf.open(path)
    except pikepdf.PasswordError:
        return PdfaResult(None, False, [_v(1, "6.1.3", "the file is encrypted with a password; PDF/A forbids "
                                                       "encryption")])
    except (pikepdf.PdfError, OSError, ValueError) as exc:
        return PdfaResult(None, False, [_v(1, "6.1", f"the file does not parse as PDF: {exc}")])
    with pdf if shared is None else contextlib.nullcontext():
        xmp, problems = read_xmp(pdf)
        if not xmp.claims:
            if problems:
                return PdfaResult(None, None, [], [f"XMP unreadable: {problems[0][1]}"])
            return PdfaResult(None, None)
        part = _part(xmp, pdf)
        level = (xmp.conformance or "").strip().upper()
        declared = f"{(xmp.part or '?').strip()}{(xmp.conformance or '?').strip().lower()}"
        violations = problems + check_xmp(pdf, xmp, part)
        live = _Reachable(pdf)
        violations += check_syntax(path, part, lambda num, gen: _int_object(pdf, num, gen), live)
        violations += _trailer_id(pdf, path)
        objects = ObjectRules(pdf, part)
        violations += objects.run()
        uses = scan_pages(pdf, parser(shared))
        graphics, warnings = check_graphics(pdf, part, level, uses)
        warnings += objects.warnings
        violations += graphics
        signed, signature_warnings = check_signatures(pdf, path, part)
        violations += signed
        warnings += signature_warnings
        shown = _shown(uses)
        programs, program_warnings = check_font_programs(pdf, part, shown)
        violations += programs
        warnings += program_warnings
        if level in ("A", "U"):
            unicode, unicode_warnings = check_unicode(objects.rendering_fonts(), part, shown)
            violations += unicode
            warnings += unicode_warnings
        if level == "A":
            structure, structure_warnings = check_level_a(pdf, part, objects.rendering_fonts(),
                                                          any(use.actual_text for use in uses), shown)
            violations += structure
            warnings += structure_warnings
    unique = list(dict.fromkeys(violations))
    return PdfaResult(declared, not unique, [_v(part, c, m) for c, m in unique], [],
                      [_v(part, c, m, undecided=True) for c, m in dict.fromkeys(warnings)])


def _shown(uses: list[Any]) -> dict[tuple[int, int], bytes]:
    """Bytes shown per font over all pages."""
    shown: dict[tuple[int, int], bytearray] = {}
    for use in uses:
        for key, data in use.font_strings.items():
            shown.setdefault(key, bytearray()).extend(data)
    return {key: bytes(data) for key, data in shown.items()}


def _v(part: int, clause: str, message: str, *, undecided: bool = False) -> dict[str, str]:
    """A finding with its registry rule; a clause missing from the registry still reports (test 0).

    ``undecided`` findings are warnings: the rule named could not be checked, which the zh and en
    texts say instead of asserting the rule was broken.
    """
    rule = resolve(part, clause, message)
    if rule is None:
        zh, en, code, test = f"ISO 19005-{part} 第 {clause} 条", f"ISO 19005-{part} {clause}", \
            f"ISO 19005-{part} {clause}", "0"
    else:
        zh, en, code, test = f"{rule.zh}（ISO 19005-{rule.part} 第 {clause} 条）", \
            f"{rule.en} (ISO 19005-{rule.part} {clause})", rule.code, str(rule.test)
    if undecided:
        zh, en = f"无法自动判定，需人工确认：{zh}", f"could not be decided automatically: {en}"
    elif rule is None:
        zh = f"不符合 {zh}"
    return {"clause": clause, "test": test, "rule": code, "message": message, "message_zh": zh,
            "message_en": f"{en}: {message}"}


def _part(xmp: Xmp, pdf: pikepdf.Pdf) -> int:
    """The part whose rules apply: the declared one, else guessed from the PDF version."""
    value = (xmp.part or "").strip()
    if value in ("1", "2", "3"):
        return int(value)
    return 1 if pdf.pdf_version <= "1.4" else 2


class _Reachable:
    """Which indirect objects the document uses: reachable from the trailer (computed on first ask)."""

    LIMIT = 2_000_000

    def __init__(self, pdf: pikepdf.Pdf) -> None:
        self.pdf = pdf
        self.seen: set[tuple[int, int]] | None = None

    def __call__(self, num: int, gen: int) -> bool:
        if self.seen is None:
            self.seen = self._walk()
        return (num, gen) in self.seen

    def _walk(self) -> set[tuple[int, int]]:
        seen: set[tuple[int, int]] = set()
        stack: list[Any] = [self.pdf.trailer]
        steps = 0
        while stack and steps < self.LIMIT:
            steps += 1
            obj = stack.pop()
            if isinstance(obj, (pikepdf.Dictionary, pikepdf.Array, pikepdf.Stream)) and obj.is_indirect:
                if obj.objgen in seen:
                    continue
                seen.add(obj.objgen)
            if isinstance(obj, pikepdf.Stream):
                stack.extend(obj.stream_dict.values())
            elif isinstance(obj, pikepdf.Dictionary):
                stack.extend(obj.values())
            elif isinstance(obj, pikepdf.Array):
                stack.extend(obj)
        return seen


def _int_object(pdf: pikepdf.Pdf, num: int, gen: int) -> int | None:
    """The integer value of an indirect object (a stream's indirect Length), or None."""
    try:
        value = pdf.get_object((num, gen))
    except Exception:
        return None
    return int(value) if isinstance(value, int) and not isinstance(value, bool) else None


def _trailer_id(pdf: pikepdf.Pdf, path: Path) -> list[tuple[str, str]]:
    """Cross-reference-stream files have no 'trailer' keyword for the raw check: ask qpdf instead."""
    ids = pdf.trailer.get("/ID")
    if ids is not None:
        if isinstance(ids, pikepdf.Array) and len(ids) == 2 and all(
                isinstance(i, pikepdf.String) and len(bytes(i)) > 0 for i in ids):
            return []
        return [("6.1.3", "the trailer ID is not an array of two non-empty file identifiers")]
    with open(path, "rb") as fh:
        fh.seek(max(0, path.stat().st_size - 4096))
        has_keyword = b"trailer" in fh.read()
    return [] if has_keyword else [("6.1.3", "the file trailer has no ID")]
