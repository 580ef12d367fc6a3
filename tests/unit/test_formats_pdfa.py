"""PDF/A rules on files the tests build: a conforming base file, then one broken rule at a time."""

from __future__ import annotations

import io
from pathlib import Path

import pikepdf
import pytest
from PIL import ImageCms

from lantai.formats.pdfa import validate_pdfa


def _xmp(part: str, conformance: str = "B", creator_tool: str | None = None) -> bytes:
    tool = f"<xmp:CreatorTool>{creator_tool}</xmp:CreatorTool>" if creator_tool else ""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
        'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        'xmlns:xmp="http://ns.adobe.com/xap/1.0/">'
        f"<pdfaid:part>{part}</pdfaid:part><pdfaid:conformance>{conformance}</pdfaid:conformance>"
        '<dc:title><rdf:Alt><rdf:li xml:lang="x-default">关于档案的通知</rdf:li></rdf:Alt></dc:title>'
        f"{tool}</rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end=\"w\"?>"
    ).encode()


def build(path: Path, part: str = "2", *, xmp: bytes | None = None, mutate=None, **save: object) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    icc = bytearray(ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes())
    if part == "1":
        icc[8] = 2  # PDF/A-1 wants a version 2 profile; only the header is inspected
    profile = pdf.make_stream(bytes(icc))
    profile.N = 3
    pdf.Root.OutputIntents = pikepdf.Array([pikepdf.Dictionary(
        Type=pikepdf.Name.OutputIntent, S=pikepdf.Name.GTS_PDFA1,
        OutputConditionIdentifier=pikepdf.String("sRGB"), DestOutputProfile=profile)])
    metadata = pdf.make_stream(xmp if xmp is not None else _xmp(part))
    metadata.Type, metadata.Subtype = pikepdf.Name.Metadata, pikepdf.Name.XML
    pdf.Root.Metadata = metadata
    if mutate is not None:
        mutate(pdf)
    pdf.save(path, **save)
    return path


def test_conforming_file_passes(tmp_path: Path) -> None:
    for part in ("1", "2", "3"):
        result = validate_pdfa(build(tmp_path / f"ok{part}.pdf", part))
        assert result.declared == f"{part}b"
        assert result.compliant, result.violations


def test_no_claim_gives_none(tmp_path: Path) -> None:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(tmp_path / "plain.pdf")
    result = validate_pdfa(tmp_path / "plain.pdf")
    assert (result.declared, result.compliant, result.violations) == (None, None, [])


def _clauses(path: Path) -> set[str]:
    result = validate_pdfa(path)
    assert result.compliant is False
    return {v["clause"] for v in result.violations}


def _lzw(pdf: pikepdf.Pdf) -> None:
    stream = pdf.make_stream(b"")
    stream.write(b"\x80\x0b\x60\x50\x22\x0c\x0c\x85\x01", filter=pikepdf.Name.LZWDecode)
    pdf.Root.Extra = stream


def _javascript(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OpenAction = pikepdf.Dictionary(S=pikepdf.Name.JavaScript, JS=pikepdf.String("app.alert(1)"))


def _font(pdf: pikepdf.Pdf) -> None:
    font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1,
                                                BaseFont=pikepdf.Name.Helvetica))
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))


def _transparency(pdf: pikepdf.Pdf) -> None:
    pdf.pages[0].obj.Group = pikepdf.Dictionary(S=pikepdf.Name.Transparency)


def _embedded(pdf: pikepdf.Pdf) -> None:
    data = pdf.make_stream(b"attachment")
    spec = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Filespec, F=pikepdf.String("a.txt"),
                                                EF=pikepdf.Dictionary(F=data)))
    pdf.Root.Names = pikepdf.Dictionary(EmbeddedFiles=pikepdf.Dictionary(Names=[pikepdf.String("a.txt"), spec]))


def _bad_icc(pdf: pikepdf.Pdf) -> None:
    pdf.Root.OutputIntents[0].DestOutputProfile.N = 4


@pytest.mark.parametrize(("part", "mutate", "clause"), [
    ("2", _lzw, "6.1.7.2"), ("1", _lzw, "6.1.10"),
    ("2", _javascript, "6.5.1"), ("1", _javascript, "6.6.1"),
    ("2", _font, "6.2.11.4.1"), ("1", _font, "6.3.4"),
    ("1", _transparency, "6.4"),
    ("1", _embedded, "6.1.11"), ("3", _embedded, "6.8"),
    ("2", _bad_icc, "6.2.3"),
])
def test_each_rule_fails_its_case(tmp_path: Path, part: str, mutate, clause: str) -> None:
    # keep streams as written: qpdf would otherwise decode LZW and re-encode it with Flate
    keep = {"stream_decode_level": pikepdf.StreamDecodeLevel.none, "compress_streams": False}
    assert clause in _clauses(build(tmp_path / "x.pdf", part, mutate=mutate, **keep))


def test_transparency_is_allowed_in_part_2(tmp_path: Path) -> None:
    assert validate_pdfa(build(tmp_path / "t.pdf", "2", mutate=_transparency)).compliant


def test_encrypted_pdfa_fails(tmp_path: Path) -> None:
    path = build(tmp_path / "e.pdf", "2", encryption=pikepdf.Encryption(owner="o", user=""))
    assert "6.1.3" in _clauses(path)
    locked = build(tmp_path / "l.pdf", "2", encryption=pikepdf.Encryption(owner="o", user="u"))
    assert validate_pdfa(locked).compliant is False


def test_identification_and_info_consistency(tmp_path: Path) -> None:
    assert "6.6.4" in _clauses(build(tmp_path / "c.pdf", xmp=_xmp("2", "X")))

    def creator(pdf: pikepdf.Pdf) -> None:
        pdf.docinfo["/Creator"] = "Word"

    path = build(tmp_path / "i.pdf", xmp=_xmp("1", creator_tool="WPS"), mutate=creator)
    assert "6.7.3" in _clauses(path)


def test_raw_syntax_rules(tmp_path: Path) -> None:
    good = build(tmp_path / "g.pdf", "2").read_bytes()
    no_binary = good.replace(good.split(b"\n")[1], b"%plain", 1)
    (tmp_path / "h.pdf").write_bytes(no_binary)
    assert "6.1.2" in _clauses(tmp_path / "h.pdf")
    (tmp_path / "v.pdf").write_bytes(b"%PDF-2.0" + good[8:])
    assert "6.1.2" in _clauses(tmp_path / "v.pdf")


def test_corrupt_files_fail_without_raising(tmp_path: Path) -> None:
    good = build(tmp_path / "g.pdf", "2").read_bytes()
    for name, data in {"empty": b"", "junk": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n" + b"\x00" * 500,
                       "trunc": good[:200]}.items():
        (tmp_path / f"{name}.pdf").write_bytes(data)
        result = validate_pdfa(tmp_path / f"{name}.pdf")
        assert result.compliant in (False, None)


# -- rules by clause: each case breaks one rule and the finding names its clause and registry rule ----
def _xmp_with(part: str, description: str, namespaces: str = "") -> bytes:
    """A PDF/A identification packet plus one extra rdf:Description."""
    return (
        '<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">'
        f"<pdfaid:part>{part}</pdfaid:part><pdfaid:conformance>B</pdfaid:conformance></rdf:Description>"
        f'<rdf:Description rdf:about="" {namespaces}>{description}</rdf:Description>'
        '</rdf:RDF></x:xmpmeta><?xpacket end="w"?>'
    ).encode()


EXT_NS = ('xmlns:pdfaExtension="http://www.aiim.org/pdfa/ns/extension/" '
          'xmlns:pdfaSchema="http://www.aiim.org/pdfa/ns/schema#" '
          'xmlns:pdfaProperty="http://www.aiim.org/pdfa/ns/property#" xmlns:da="urn:lantai:test:"')


def _extension(category: str = "internal") -> str:
    return ('<pdfaExtension:schemas><rdf:Bag><rdf:li rdf:parseType="Resource">'
            "<pdfaSchema:schema>Lantai test</pdfaSchema:schema>"
            "<pdfaSchema:namespaceURI>urn:lantai:test:</pdfaSchema:namespaceURI>"
            "<pdfaSchema:prefix>da</pdfaSchema:prefix>"
            '<pdfaSchema:property><rdf:Seq><rdf:li rdf:parseType="Resource">'
            "<pdfaProperty:name>fondsCode</pdfaProperty:name><pdfaProperty:valueType>Integer</pdfaProperty:valueType>"
            f"<pdfaProperty:category>{category}</pdfaProperty:category>"
            "<pdfaProperty:description>全宗号</pdfaProperty:description>"
            "</rdf:li></rdf:Seq></pdfaSchema:property></rdf:li></rdf:Bag></pdfaExtension:schemas>")


def _violation(path: Path, clause: str) -> dict[str, str]:
    result = validate_pdfa(path)
    assert result.compliant is False, result
    found = [v for v in result.violations if v["clause"] == clause]
    assert found, result.violations
    return found[0]


def test_undeclared_xmp_property_fails_6_6_2_3_1(tmp_path: Path) -> None:
    xmp = _xmp_with("2", "<da:fondsCode>42</da:fondsCode>", 'xmlns:da="urn:lantai:test:"')
    finding = _violation(build(tmp_path / "u.pdf", "2", xmp=xmp), "6.6.2.3.1")
    assert finding["rule"] == "ISO 19005-2 6.6.2.3.1-1"
    assert "fondsCode" in finding["message"]
    assert finding["message_zh"] and not any("\u4e00" <= ch <= "\u9fff" for ch in finding["message_en"])


def test_declared_xmp_property_passes_and_is_type_checked(tmp_path: Path) -> None:
    good = _xmp_with("2", _extension() + "<da:fondsCode>42</da:fondsCode>", EXT_NS)
    assert validate_pdfa(build(tmp_path / "ok.pdf", "2", xmp=good)).compliant
    wrong_type = _xmp_with("2", _extension() + "<da:fondsCode>J001</da:fondsCode>", EXT_NS)
    assert "Integer" in _violation(build(tmp_path / "t.pdf", "2", xmp=wrong_type), "6.6.2.3.1")["message"]
    bad_category = _xmp_with("2", _extension("private") + "<da:fondsCode>42</da:fondsCode>", EXT_NS)
    _violation(build(tmp_path / "c.pdf", "2", xmp=bad_category), "6.6.2.3.3")
    in_part1 = _xmp_with("1", _extension("private") + "<da:fondsCode>42</da:fondsCode>", EXT_NS)
    _violation(build(tmp_path / "c1.pdf", "1", xmp=in_part1), "6.7.8")


def test_predefined_property_with_wrong_container_fails(tmp_path: Path) -> None:
    xmp = _xmp_with("1", "<dc:creator>张三</dc:creator>", 'xmlns:dc="http://purl.org/dc/elements/1.1/"')
    assert "rdf:Seq" in _violation(build(tmp_path / "d.pdf", "1", xmp=xmp), "6.7.2")["message"]
    rating = _xmp_with("2", "<xmp:Rating>high</xmp:Rating>", 'xmlns:xmp="http://ns.adobe.com/xap/1.0/"')
    _violation(build(tmp_path / "r.pdf", "2", xmp=rating), "6.6.2.3.1")
    # xmp:Rating is XMP 2005: in a PDF/A-1 file (XMP 2004) it is not a predefined property at all
    rating1 = _xmp_with("1", "<xmp:Rating>3</xmp:Rating>", 'xmlns:xmp="http://ns.adobe.com/xap/1.0/"')
    _violation(build(tmp_path / "r1.pdf", "1", xmp=rating1), "6.7.2")


def test_utf16_packet_is_read(tmp_path: Path) -> None:
    packet = _xmp("2").decode("utf-8").encode("utf-16-le")
    result = validate_pdfa(build(tmp_path / "w.pdf", "2", xmp=packet))
    assert (result.declared, result.compliant) == ("2b", True), result


def _draw(content: bytes, resources: pikepdf.Dictionary | None = None):
    def mutate(pdf: pikepdf.Pdf) -> None:
        pdf.pages[0].obj.Contents = pdf.make_stream(content)
        if resources is not None:
            pdf.pages[0].obj.Resources = resources
    return mutate


def _no_output_intent(then):
    def mutate(pdf: pikepdf.Pdf) -> None:
        del pdf.Root["/OutputIntents"]
        then(pdf)
    return mutate


def test_device_colour_needs_a_matching_output_intent(tmp_path: Path) -> None:
    cmyk = _draw(b"0 0 0 1 k 0 0 10 10 re f")
    finding = _violation(build(tmp_path / "k.pdf", "2", mutate=cmyk), "6.2.4.3")  # sRGB intent, CMYK used
    assert "DeviceCMYK" in finding["message"]
    rgb = _draw(b"1 0 0 rg 0 0 10 10 re f")
    assert validate_pdfa(build(tmp_path / "rgb.pdf", "2", mutate=rgb)).compliant
    _violation(build(tmp_path / "none.pdf", "2", mutate=_no_output_intent(rgb)), "6.2.4.3")
    _violation(build(tmp_path / "none1.pdf", "1", mutate=_no_output_intent(rgb)), "6.2.3.3")


def test_pdf_without_output_intent_but_no_device_colour_passes(tmp_path: Path) -> None:
    """The OutputIntent is required by use, not by presence: a blank page needs none."""
    assert validate_pdfa(build(tmp_path / "blank.pdf", "2", mutate=_no_output_intent(lambda pdf: None))).compliant


def test_unknown_operator_fails_6_2_2(tmp_path: Path) -> None:
    _violation(build(tmp_path / "op.pdf", "2", mutate=_draw(b"q 1 0 0 1 0 0 cm foo Q")), "6.2.2")


def test_transparency_without_output_intent_needs_group_colour_space(tmp_path: Path) -> None:
    gs = pikepdf.Dictionary(ExtGState=pikepdf.Dictionary(GS0=pikepdf.Dictionary(ca=0.5)))
    draw = _draw(b"/GS0 gs 0 0 10 10 re f", gs)
    finding = _violation(build(tmp_path / "t.pdf", "2", mutate=_no_output_intent(draw)), "6.2.10")
    assert finding["rule"] == "ISO 19005-2 6.2.10-2"

    def with_group(pdf: pikepdf.Pdf) -> None:
        draw(pdf)
        pdf.pages[0].obj.Group = pikepdf.Dictionary(S=pikepdf.Name.Transparency, CS=pikepdf.Name.DeviceGray)
    result = validate_pdfa(build(tmp_path / "g.pdf", "2", mutate=_no_output_intent(with_group)))
    assert not [v for v in result.violations if v["clause"] == "6.2.10"], result.violations


def test_non_standard_blend_mode_fails_6_2_10(tmp_path: Path) -> None:
    gs = pikepdf.Dictionary(ExtGState=pikepdf.Dictionary(GS0=pikepdf.Dictionary(BM=pikepdf.Name("/Dodgy"))))
    finding = _violation(build(tmp_path / "b.pdf", "2", mutate=_draw(b"/GS0 gs", gs)), "6.2.10")
    assert finding["rule"] == "ISO 19005-2 6.2.10-1"


def _used_font(font_keys: dict):
    def mutate(pdf: pikepdf.Pdf) -> None:
        font = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Font, **font_keys))
        pdf.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        pdf.pages[0].obj.Contents = pdf.make_stream(b"BT /F1 12 Tf (a) Tj ET")
    return mutate


def test_font_not_embedded_names_its_clause(tmp_path: Path) -> None:
    mutate = _used_font({"Subtype": pikepdf.Name.TrueType, "BaseFont": pikepdf.Name("/SimSun"),
                         "FontDescriptor": pikepdf.Dictionary(Type=pikepdf.Name.FontDescriptor, Flags=32,
                                                              FontName=pikepdf.Name("/SimSun"))})
    finding = _violation(build(tmp_path / "f.pdf", "2", mutate=mutate), "6.2.11.4.1")
    assert finding["rule"] == "ISO 19005-2 6.2.11.4.1-1" and "SimSun" in finding["message"]


def test_level_u_needs_unicode_mapping(tmp_path: Path) -> None:
    identity = _used_font({"Subtype": pikepdf.Name.Type0, "BaseFont": pikepdf.Name("/SimSun"),
                           "Encoding": pikepdf.Name("/Identity-H"), "DescendantFonts": pikepdf.Array([
                               pikepdf.Dictionary(Type=pikepdf.Name.Font, Subtype=pikepdf.Name.CIDFontType2,
                                                  BaseFont=pikepdf.Name("/SimSun"), CIDToGIDMap=pikepdf.Name.Identity,
                                                  CIDSystemInfo=pikepdf.Dictionary(
                                                      Registry=pikepdf.String("Adobe"),
                                                      Ordering=pikepdf.String("Identity"), Supplement=0))])})
    path = build(tmp_path / "u.pdf", "2", xmp=_xmp("2", "U"), mutate=identity)
    assert "6.2.11.7.2" in {v["clause"] for v in validate_pdfa(path).violations}
    path_b = build(tmp_path / "b.pdf", "2", mutate=identity)  # level B does not ask for Unicode
    assert "6.2.11.7.2" not in {v["clause"] for v in validate_pdfa(path_b).violations}


def test_level_a_needs_tagged_structure(tmp_path: Path) -> None:
    path = build(tmp_path / "a.pdf", "2", xmp=_xmp("2", "A"))
    clauses = {v["clause"] for v in validate_pdfa(path).violations}
    assert {"6.7.2.2", "6.7.3.3"} <= clauses

    def tagged(pdf: pikepdf.Pdf) -> None:
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        pdf.Root.Lang = pikepdf.String("zh-CN")
        element = pikepdf.Dictionary(Type=pikepdf.Name.StructElem, S=pikepdf.Name("/公文正文"))
        pdf.Root.StructTreeRoot = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([element]),
            RoleMap=pikepdf.Dictionary({"/公文正文": pikepdf.Name.P})))
    assert validate_pdfa(build(tmp_path / "t.pdf", "2", xmp=_xmp("2", "A"), mutate=tagged)).compliant

    def unmapped(pdf: pikepdf.Pdf) -> None:
        tagged(pdf)
        del pdf.Root.StructTreeRoot["/RoleMap"]
    _violation(build(tmp_path / "m.pdf", "2", xmp=_xmp("2", "A"), mutate=unmapped), "6.7.3.4")


def test_every_emitted_clause_is_registered() -> None:
    """Each clause the checkers can emit resolves to a registry rule with zh and CJK-free en text."""
    from lantai.formats import pdfa_objects
    from lantai.formats.pdfa_level_a import CLAUSES as LEVEL_A
    from lantai.formats.pdfa_rules import RULES, resolve
    from lantai.formats.pdfa_xmp_props import clauses as xmp_clauses

    emitted = {(1, c1) for c1, _ in pdfa_objects.CLAUSES.values()} | {(2, c2) for _, c2 in pdfa_objects.CLAUSES.values()}
    emitted |= {(p, c) for p in (1, 2) for c in xmp_clauses(p).values()}
    emitted |= {(1, c) for c in LEVEL_A[1].values()} | {(2, c) for c in LEVEL_A[2].values()}
    emitted |= {(1, c) for c in ("6.1", "6.1.2", "6.1.3", "6.1.4", "6.1.8", "6.2.3.3", "6.2.10", "6.7.3", "6.7.11")}
    emitted |= {(2, c) for c in ("6.1", "6.1.2", "6.1.3", "6.1.4", "6.1.9", "6.2.2", "6.2.4.3", "6.2.10", "6.6.4")}
    missing = sorted((p, c) for p, c in emitted if resolve(p, c, "") is None)
    assert not missing
    for rule in RULES.values():
        assert rule.zh and rule.en
        assert not any("\u3000" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef" for ch in rule.en), rule


def test_demo_documents_are_pdfa_2b(tmp_path: Path) -> None:
    """The generated demo 公文 must pass as PDF/A-2b (ingest and the demo depend on it)."""
    from lantai.demo.generate import generate

    generate(tmp_path / "batch", year=2025, items=3, seed=7)
    pdfs = sorted((tmp_path / "batch").rglob("*.pdf"))
    assert pdfs
    for path in pdfs:
        result = validate_pdfa(path)
        assert (result.declared, result.compliant, result.warnings) == ("2b", True, []), (path.name, result)


def test_content_hex_strings_are_checked_but_literal_strings_are_not(tmp_path: Path) -> None:
    keep = {"compress_streams": False}
    odd = build(tmp_path / "odd.pdf", "2", mutate=_draw(b"BT <48455> Tj ET"), **keep)
    assert "odd number" in _violation(odd, "6.1.6")["message"]
    # literal strings (CID codes written as bytes) may hold '<' and '>' bytes: never a hex string
    literal = build(tmp_path / "lit.pdf", "2", mutate=_draw(b"BT (\x00<zz>\x00) Tj ET"), **keep)
    assert "6.1.6" not in {v["clause"] for v in validate_pdfa(literal).violations}


def test_stream_length_must_match_its_data(tmp_path: Path) -> None:
    path = build(tmp_path / "s.pdf", "2", mutate=_draw(b"q Q"), compress_streams=False,
                 stream_decode_level=pikepdf.StreamDecodeLevel.none)
    data = path.read_bytes().replace(b"/Length 3 >>", b"/Length 9 >>")
    assert b"/Length 9 >>" in data
    path.write_bytes(data)
    assert "Length" in _violation(path, "6.1.7.1")["message"]


def test_graphics_state_nesting_and_rendering_intent(tmp_path: Path) -> None:
    deep = build(tmp_path / "q.pdf", "2", mutate=_draw(b"q " * 29 + b"Q " * 29))
    assert "29 levels" in _violation(deep, "6.1.13")["message"]
    assert validate_pdfa(build(tmp_path / "q28.pdf", "2", mutate=_draw(b"q " * 28 + b"Q " * 28))).compliant
    _violation(build(tmp_path / "ri.pdf", "2", mutate=_draw(b"/Custom ri")), "6.2.6")


def test_widget_rules(tmp_path: Path) -> None:
    def widget(with_action: bool, appearance_as_stream: bool):
        def mutate(pdf: pikepdf.Pdf) -> None:
            stream = pdf.make_stream(b"")
            stream.Type, stream.Subtype, stream.BBox = pikepdf.Name.XObject, pikepdf.Name.Form, [0, 0, 10, 10]
            normal = stream if appearance_as_stream else pikepdf.Dictionary(Off=stream)
            annot = pikepdf.Dictionary(Type=pikepdf.Name.Annot, Subtype=pikepdf.Name.Widget, FT=pikepdf.Name.Btn,
                                       Rect=[0, 0, 10, 10], F=4, AP=pikepdf.Dictionary(N=normal))
            if with_action:
                annot.A = pikepdf.Dictionary(S=pikepdf.Name.GoTo, D=[pdf.pages[0].obj, pikepdf.Name.Fit])
            field = pdf.make_indirect(annot)
            pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([field]))
            pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field])
        return mutate
    assert validate_pdfa(build(tmp_path / "ok.pdf", "2", mutate=widget(False, False))).compliant
    _violation(build(tmp_path / "a.pdf", "2", mutate=widget(True, False)), "6.4.1")
    _violation(build(tmp_path / "n.pdf", "2", mutate=widget(False, True)), "6.3.3")


def test_xpacket_header_attributes(tmp_path: Path) -> None:
    packet = _xmp("2").replace(b"<?xpacket begin=", b"<?xpacket encoding=\"UTF-8\" begin=")
    # fix_metadata_version would make pikepdf rewrite (and so normalise) the packet on save
    finding = _violation(build(tmp_path / "x.pdf", "2", xmp=packet, fix_metadata_version=False), "6.6.2.1")
    assert finding["rule"] == "ISO 19005-2 6.6.2.1-2"


def test_extension_container_prefixes(tmp_path: Path) -> None:
    renamed = _extension().replace("pdfaProperty:", "myProperty:")
    namespaces = EXT_NS.replace("xmlns:pdfaProperty=", "xmlns:myProperty=")
    xmp = _xmp_with("2", renamed + "<da:fondsCode>42</da:fondsCode>", namespaces)
    assert "prefix" in _violation(build(tmp_path / "p.pdf", "2", xmp=xmp), "6.6.2.3.3")["message"]


def test_undecidable_rule_is_a_warning_not_a_pass(tmp_path: Path) -> None:
    """A symbolic font without Encoding takes glyph names from its program, which is not parsed:
    level U cannot be decided, so the result carries a warning with the clause."""
    symbolic = _used_font({"Subtype": pikepdf.Name.Type1, "BaseFont": pikepdf.Name("/Wingdings"),
                           "FirstChar": 97, "LastChar": 97, "Widths": [500],
                           "FontDescriptor": pikepdf.Dictionary(Type=pikepdf.Name.FontDescriptor, Flags=4,
                                                                FontName=pikepdf.Name("/Wingdings"))})

    def embed(pdf: pikepdf.Pdf) -> None:
        symbolic(pdf)
        font = pdf.pages[0].obj.Resources.Font.F1
        font.FontDescriptor.FontFile3 = pdf.make_stream(b"\x01\x00\x04\x02")
    result = validate_pdfa(build(tmp_path / "w.pdf", "2", xmp=_xmp("2", "U"), mutate=embed))
    assert result.compliant is True, result.violations
    assert [w["clause"] for w in result.warnings] == ["6.2.11.7.2"]
    assert result.to_dict()["warnings"][0]["rule"] == "ISO 19005-2 6.2.11.7.2-1"


def _cff_program() -> bytes:
    """A two-glyph CFF font program (.notdef and 'a', advance 500) built with fontTools."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.t2CharStringPen import T2CharStringPen

    def glyph(width: int):
        pen = T2CharStringPen(width, None)
        pen.moveTo((0, 0))
        pen.lineTo((width, 0))
        pen.lineTo((width, 700))
        pen.closePath()
        return pen.getCharString()

    builder = FontBuilder(1000, isTTF=False)
    builder.setupGlyphOrder([".notdef", "a"])
    builder.setupCharacterMap({ord("a"): "a"})
    builder.setupCFF("LantaiTest", {"FullName": "LantaiTest"}, {".notdef": glyph(500), "a": glyph(500)}, {})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "a": (500, 0)})
    builder.setupHorizontalHeader()
    builder.setupOS2()
    builder.setupNameTable({"familyName": "LantaiTest", "styleName": "Regular"})
    builder.setupPost()
    buffer = io.BytesIO()
    builder.font["CFF "].cff.compile(buffer, builder.font)
    return buffer.getvalue()


def _cff_font(text: bytes, width: int):
    def mutate(pdf: pikepdf.Pdf) -> None:
        program = pdf.make_stream(_cff_program())
        program.Subtype = pikepdf.Name("/Type1C")
        descriptor = pikepdf.Dictionary(Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/LantaiTest"),
                                        Flags=32, FontBBox=[0, 0, 500, 700], ItalicAngle=0, Ascent=700,
                                        Descent=0, CapHeight=700, StemV=80, FontFile3=program)
        font = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name("/LantaiTest"),
            FirstChar=97, LastChar=98, Widths=[width, 500], Encoding=pikepdf.Name.WinAnsiEncoding,
            FontDescriptor=descriptor))
        pdf.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        pdf.pages[0].obj.Contents = pdf.make_stream(b"BT 0 g /F1 12 Tf (" + text + b") Tj ET")
    return mutate


def test_font_program_rules(tmp_path: Path) -> None:
    assert validate_pdfa(build(tmp_path / "ok.pdf", "2", mutate=_cff_font(b"a", 500))).compliant
    _violation(build(tmp_path / "w.pdf", "2", mutate=_cff_font(b"a", 600)), "6.2.11.5")
    _violation(build(tmp_path / "w1.pdf", "1", mutate=_cff_font(b"a", 600)), "6.3.6")
    missing = _violation(build(tmp_path / "g.pdf", "2", mutate=_cff_font(b"ab", 500)), "6.2.11.4.1")
    assert missing["rule"] == "ISO 19005-2 6.2.11.4.1-2" and "glyph b" in missing["message"]


def test_xfa_forms_are_refused(tmp_path: Path) -> None:
    def xfa(pdf: pikepdf.Pdf) -> None:
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[], XFA=pdf.make_stream(b"<xdp:xdp/>"))
    _violation(build(tmp_path / "x.pdf", "2", mutate=xfa), "6.4.2")


def test_signature_byte_range_and_unreadable_value(tmp_path: Path) -> None:
    def signed(pdf: pikepdf.Pdf) -> None:
        value = pikepdf.Dictionary(Type=pikepdf.Name.Sig, Filter=pikepdf.Name("/Adobe.PPKLite"),
                                   SubFilter=pikepdf.Name("/adbe.pkcs7.detached"),
                                   ByteRange=[0, 10, 20, 10], Contents=pikepdf.String(b"\x00" * 8))
        field = pdf.make_indirect(pikepdf.Dictionary(FT=pikepdf.Name.Sig, T=pikepdf.String("sig"), V=value))
        pdf.Root.AcroForm = pikepdf.Dictionary(Fields=[field], SigFlags=3)
    result = validate_pdfa(build(tmp_path / "s.pdf", "2", mutate=signed))
    assert "6.4.3" in {v["clause"] for v in result.violations}  # ByteRange covers 30 bytes of the file
    assert "6.4.3" in {w["clause"] for w in result.warnings}  # zero bytes are not a PKCS#7 object


def _ttf_program() -> bytes:
    """A TrueType program with .notdef and 'a' (advance 500 of 1000 units), built with fontTools."""
    from fontTools.fontBuilder import FontBuilder
    from fontTools.pens.ttGlyphPen import TTGlyphPen

    def glyph():
        pen = TTGlyphPen(None)
        pen.moveTo((0, 0))
        pen.lineTo((500, 0))
        pen.lineTo((500, 700))
        pen.closePath()
        return pen.glyph()

    builder = FontBuilder(1000, isTTF=True)
    builder.setupGlyphOrder([".notdef", "a"])
    builder.setupCharacterMap({ord("a"): "a"})
    builder.setupGlyf({".notdef": glyph(), "a": glyph()})
    builder.setupHorizontalMetrics({".notdef": (500, 0), "a": (500, 0)})
    builder.setupHorizontalHeader()
    builder.setupOS2()
    builder.setupNameTable({"familyName": "LantaiTT", "styleName": "Regular"})
    builder.setupPost()
    buffer = io.BytesIO()
    builder.save(buffer)
    return buffer.getvalue()


def _ttf_font(text: bytes, width: int):
    def mutate(pdf: pikepdf.Pdf) -> None:
        descriptor = pikepdf.Dictionary(Type=pikepdf.Name.FontDescriptor, FontName=pikepdf.Name("/LantaiTT"),
                                        Flags=32, FontBBox=[0, 0, 500, 700], ItalicAngle=0, Ascent=700,
                                        Descent=0, CapHeight=700, StemV=80, FontFile2=pdf.make_stream(_ttf_program()))
        font = pdf.make_indirect(pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.TrueType, BaseFont=pikepdf.Name("/LantaiTT"),
            FirstChar=97, LastChar=98, Widths=[width, 500], Encoding=pikepdf.Name.WinAnsiEncoding,
            FontDescriptor=descriptor))
        pdf.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
        pdf.pages[0].obj.Contents = pdf.make_stream(b"BT 0 g /F1 12 Tf (" + text + b") Tj ET")
    return mutate


def test_truetype_program_rules(tmp_path: Path) -> None:
    assert validate_pdfa(build(tmp_path / "ok.pdf", "2", mutate=_ttf_font(b"a", 500))).compliant
    _violation(build(tmp_path / "w.pdf", "2", mutate=_ttf_font(b"a", 450)), "6.2.11.5")
    missing = _violation(build(tmp_path / "g.pdf", "2", mutate=_ttf_font(b"ab", 500)), "6.2.11.4.1")
    assert "code 98" in missing["message"]
    # PDF/A-1 does not forbid falling back to .notdef, so the same text passes there
    assert validate_pdfa(build(tmp_path / "g1.pdf", "1", mutate=_ttf_font(b"ab", 500))).compliant


def test_obj_keyword_scan_finds_the_first_header_without_eol() -> None:
    """The keyword-first search for ``N G obj`` without an EOL gives OBJ_NO_EOL's own first match."""
    import random

    from lantai.formats.pdfa_syntax import OBJ_NO_EOL, _first_obj_without_eol

    rng = random.Random(3)
    alphabet = [b"\n", b"\r", b" ", b"1", b"0", b"12", b"obj", b" obj", b"x", b"\r\n", b"99999", b"endobj", b"<<"]
    for _ in range(20000):
        data = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 16)))
        expected, got = OBJ_NO_EOL.search(data), _first_obj_without_eol(data)
        assert (expected and expected.span()) == (got and got.span()), data
    assert _first_obj_without_eol(b"%PDF-1.7\n1 0 obj\n<<>>\nendobj\n2 0 obj<<>>").start() == 28


def test_long_number_prefilter_is_a_necessary_condition() -> None:
    """The per-operand limit check runs wherever a number token could exceed a limit; fractions,
    names and string escapes with long digit runs do not call for it."""
    from lantai.formats.pdfa_content import _long_number

    for data in (b"32768 0 Td", b"1 0 0 1 -2147483649 0 cm", b"[32768.5] TJ", b"q\n99999.0 w", b"(x)12345 Tz"):
        assert _long_number(data), data
    for data in (b".901961 0 .070588 rg", b"1.700787 w", b"(\\0122025) Tj", b"/F12345 12 Tf", b"<17fe8e676201c8> Tj"):
        assert not _long_number(data), data
