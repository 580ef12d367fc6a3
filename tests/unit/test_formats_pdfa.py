"""PDF/A rules on files the tests build: a conforming base file, then one broken rule at a time."""

from __future__ import annotations

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
