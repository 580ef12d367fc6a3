"""Format identification on files the tests build themselves: PUIDs, containers, OFD, hostile input."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pikepdf
import pytest
from PIL import Image
from typer.testing import CliRunner

from lantai.formats.identify import OFD_LOCAL_ID, identify

OFD_XML = (b'<?xml version="1.0" encoding="UTF-8"?>\n<ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016" '
           b'Version="1.2" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>x</ofd:DocID></ofd:DocInfo>'
           b'<ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>')


def _pdf(path: Path) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    pdf.save(path)
    return path


def _png(path: Path) -> Path:
    Image.new("RGB", (8, 8), "red").save(path, format="PNG")
    return path


def _zip(path: Path, members: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    return path


def test_pdf_by_signature(tmp_path: Path) -> None:
    info = identify(_pdf(tmp_path / "a.pdf"))
    assert info.puid in {"fmt/14", "fmt/15", "fmt/16", "fmt/17", "fmt/18", "fmt/19", "fmt/20", "fmt/276"}
    assert info.mime == "application/pdf"
    assert info.basis == "signature"
    assert not info.extension_mismatch


def test_png_and_lying_extension(tmp_path: Path) -> None:
    good = identify(_png(tmp_path / "a.png"))
    assert good.puid in {"fmt/11", "fmt/12", "fmt/13"}
    assert not good.extension_mismatch
    liar = identify(_png(tmp_path / "report.pdf"))
    assert liar.puid == good.puid
    assert liar.extension_mismatch
    assert any("extension .pdf" in w for w in liar.warnings)


def test_docx_and_xlsx_by_container(tmp_path: Path) -> None:
    import docx
    import openpyxl

    document = docx.Document()
    document.add_paragraph("关于加强电子公文归档管理工作的通知")
    document.save(tmp_path / "a.docx")
    workbook = openpyxl.Workbook()
    workbook.active["A1"] = "档号"
    workbook.save(tmp_path / "a.xlsx")
    assert identify(tmp_path / "a.docx").puid == "fmt/412"
    xlsx = identify(tmp_path / "a.xlsx")
    assert xlsx.puid == "fmt/214"
    assert xlsx.basis == "container"


def test_ofd_gets_local_id_and_version(tmp_path: Path) -> None:
    info = identify(_zip(tmp_path / "a.ofd", {"OFD.xml": OFD_XML, "Doc_0/Document.xml": b"<x/>"}))
    assert info.puid == OFD_LOCAL_ID
    assert info.basis == "ofd"
    assert info.version == "1.2"
    assert info.mime == "application/ofd"


def test_zip_with_wrong_ofd_namespace_is_plain_zip(tmp_path: Path) -> None:
    bad = OFD_XML.replace(b"http://www.ofdspec.org/2016", b"http://example.org/not-ofd")
    info = identify(_zip(tmp_path / "a.ofd", {"OFD.xml": bad}))
    assert info.puid == "x-fmt/263"
    assert info.extension_mismatch


def test_empty_and_unknown_and_missing(tmp_path: Path) -> None:
    (tmp_path / "empty.pdf").write_bytes(b"")
    empty = identify(tmp_path / "empty.pdf")
    assert empty.puid is None and empty.basis == "none"
    (tmp_path / "noise.bin").write_bytes(bytes(range(7, 200)) * 3)
    assert identify(tmp_path / "noise.bin").puid is None
    missing = identify(tmp_path / "nope")
    assert missing.basis == "error" and missing.warnings


def test_hostile_zips_never_crash(tmp_path: Path) -> None:
    bomb = _zip(tmp_path / "bomb.ofd", {"OFD.xml": b"\0" * (20 * 1024 * 1024)})
    info = identify(bomb)
    assert info.puid != OFD_LOCAL_ID
    truncated = tmp_path / "trunc.docx"
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("[Content_Types].xml", "x" * 5000)
    truncated.write_bytes(buf.getvalue()[:300])
    assert identify(truncated).basis in {"signature", "none", "extension", "error"}
    dtd = _zip(tmp_path / "dtd.ofd", {"OFD.xml": b'<!DOCTYPE x [<!ENTITY a "b">]>' + OFD_XML})
    assert identify(dtd).puid != OFD_LOCAL_ID


def test_cli_identify_json(tmp_path: Path) -> None:
    from lantai.cli.formats import formats_app

    runner = CliRunner()
    ok = runner.invoke(formats_app, ["identify", str(_pdf(tmp_path / "a.pdf")), "--json"])
    assert ok.exit_code == 0, ok.output
    data = json.loads(ok.stdout)
    assert data["files"][0]["mime"] == "application/pdf"
    liar = runner.invoke(formats_app, ["identify", str(_png(tmp_path / "x.pdf")), "--json"])
    assert liar.exit_code == 1
    missing = runner.invoke(formats_app, ["identify", str(tmp_path / "missing.pdf"), "--json"])
    assert missing.exit_code == 2
    assert json.loads(missing.stdout)["code"] == "bad_input"


@pytest.mark.parametrize("name", ["a.txt", "a.xml"])
def test_text_formats_do_not_claim_lying_extension(tmp_path: Path, name: str) -> None:
    path = tmp_path / name
    path.write_text('<?xml version="1.0"?><root>档案</root>' if name.endswith(".xml") else "档案\n", "utf-8")
    assert not identify(path).extension_mismatch


def test_facade_exports_functions() -> None:
    import importlib
    import sys

    import lantai.formats as formats

    importlib.import_module("lantai.formats.identify")  # importing the submodule must not shadow the function

    for name in formats.__all__:
        assert callable(getattr(formats, name)), name
    assert formats.identify is sys.modules["lantai.formats.identify"].identify


# --- the signature index answers exactly as fido's match_formats -------------------------------------
PDFA_XMP = ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="" '
            'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/"><pdfaid:part>{part}</pdfaid:part>'
            '<pdfaid:conformance>{level}</pdfaid:conformance></rdf:Description></rdf:RDF></x:xmpmeta>'
            '<?xpacket end="w"?>')


def _pdf_version(path: Path, version: str, pdfa: tuple[str, str] | None = None) -> Path:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    if pdfa is not None:
        xmp = PDFA_XMP.format(part=pdfa[0], level=pdfa[1]).encode()
        pdf.Root.Metadata = pikepdf.Stream(pdf, xmp, Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
    pdf.save(path, min_version=version, force_version=version, compress_streams=False,
             object_stream_mode=pikepdf.ObjectStreamMode.disable)
    return path


def _fast_path_files(tmp_path: Path) -> dict[str, Path]:
    import docx

    files = {f"pdf-{v}": _pdf_version(tmp_path / f"v{v}.pdf", v) for v in ("1.3", "1.4", "1.5", "1.6", "1.7", "2.0")}
    files.update({f"pdfa-{p}{c}": _pdf_version(tmp_path / f"a{p}{c}.pdf", "1.4" if p == "1" else "1.7", (p, c))
                  for p, c in (("1", "A"), ("1", "B"), ("2", "A"), ("2", "B"), ("2", "U"), ("3", "A"), ("3", "B"),
                               ("3", "U"))})
    for fmt, ext in (("JPEG", "jpg"), ("PNG", "png"), ("TIFF", "tif"), ("GIF", "gif"), ("BMP", "bmp")):
        files[ext] = tmp_path / f"image.{ext}"
        Image.new("RGB", (16, 16), "red").save(files[ext], format=fmt)
    document = docx.Document()
    document.add_paragraph("兰台")
    document.save(tmp_path / "a.docx")
    files["docx"] = tmp_path / "a.docx"
    files["odt"] = _zip(tmp_path / "a.odt", {"mimetype": b"application/vnd.oasis.opendocument.text",
                                             "content.xml": b"<office:document-content/>"})
    files["ofd"] = _zip(tmp_path / "a.ofd", {"OFD.xml": OFD_XML})
    files["xml"] = tmp_path / "a.xml"
    files["xml"].write_bytes('<?xml version="1.0" encoding="UTF-8"?>\n<电子文件/>'.encode())
    files["txt"] = tmp_path / "a.txt"
    files["txt"].write_bytes("兰台 plain text\n".encode() * 50)
    return files


def test_signature_index_equals_fido_on_archive_formats(tmp_path: Path) -> None:
    from lantai.formats.identify import _buffers, get_identifier

    identifier = get_identifier()
    fido = identifier._fido
    for label, path in _fast_path_files(tmp_path).items():
        with open(path, "rb") as fh:
            bof, eof = _buffers(fh, path.stat().st_size)
        expected = [(fido.get_puid(f), name) for f, name in fido.match_formats(bof, eof)]
        got = [(fido.get_puid(f), name) for f, name in identifier._index.match(bof, eof)]
        assert got == expected, label


@pytest.mark.parametrize(("part", "level", "puid"), [("1", "A", "fmt/95"), ("1", "B", "fmt/354"),
                                                     ("2", "A", "fmt/476"), ("2", "B", "fmt/477"),
                                                     ("2", "U", "fmt/478"), ("3", "A", "fmt/479"),
                                                     ("3", "B", "fmt/480"), ("3", "U", "fmt/481")])
def test_pdfa_puid_from_xmp(tmp_path: Path, part: str, level: str, puid: str) -> None:
    info = identify(_pdf_version(tmp_path / "a.pdf", "1.4" if part == "1" else "1.7", (part, level)))
    assert info.puid == puid


def test_literal_filters_are_necessary_conditions() -> None:
    from lantai.formats.identify import _literals

    assert _literals(rb"(?s)\A%PDF-1\.4.{0,10}x", "BOF")[0] == b"%PDF-1.4"
    head, needle = _literals(rb"(?s)\A.{0,144}%PDF-1\.[0-7]", "BOF")
    assert head == b"" and needle is not None and needle.literal == b"%PDF-1." and needle.within == 151
    _head, needle = _literals(rb"(?s)%%EOF.{0,4}\Z", "EOF")
    assert needle is not None and needle.literal == b"%%EOF" and needle.within == 9
    assert _literals(rb"(?i)\Aabc", "BOF") == (b"", None)
    assert _literals(rb"(?s)\A(?:ab|cd)", "BOF") == (b"", None)


def test_extension_table_equals_fido_for_every_known_extension() -> None:
    from lantai.formats.identify import get_identifier

    identifier = get_identifier()
    fido = identifier._fido
    extensions = {e.text for f in fido.formats for e in f.findall("extension") if e.text}
    for ext in sorted(extensions | {"TXT", "", "no-such-ext"}):
        name = f"file.{ext}" if ext else "file"
        expected = [(fido.get_puid(f), n) for f, n in fido.match_extensions(name)]
        assert [(fido.get_puid(f), n) for f, n in identifier._match_extensions(name)] == expected, ext


def test_shared_patterns_and_long_literals_keep_fidos_answer_on_the_corpus(corpus_dir: Path) -> None:
    """The per-buffer regex memo and the long-literal filter answer as fido does on real files."""
    from lantai.formats.identify import _buffers, get_identifier

    corpus = corpus_dir
    identifier = get_identifier()
    fido = identifier._fido
    files = sorted(p for p in corpus.rglob("*") if p.is_file() and p.suffix.lower() in
                   (".pdf", ".ofd", ".zip", ".docx", ".xlsx", ".odt", ".xml", ".txt", ".tif", ".jpg", ".png"))
    assert len(files) > 100
    for path in files[::3]:
        with open(path, "rb") as fh:
            bof, eof = _buffers(fh, path.stat().st_size)
        expected = [(fido.get_puid(f), name) for f, name in fido.match_formats(bof, eof)]
        assert [(fido.get_puid(f), name) for f, name in identifier._index.match(bof, eof)] == expected, path


def test_pattern_pieces_are_necessary_conditions() -> None:
    """A piece (the part of a pattern between unbounded repeats) occurs wherever the whole pattern
    matches, so ruling a pattern out by a missing piece never changes fido's answer."""
    import random
    import re

    from lantai.formats.identify import _parse, _piece_found, _pieces

    pdfa = (rb"(?s)xmlns:pdfaid=(?:\"|')http://www\.aiim\.org/pdfa/ns/id.*pdfaid:part(?:=\"|='|\x3e)2"
            rb"(?:\"|'|\x3c/pdfaid:part\x3e).{0,120}pdfaid:conformance(?:\x3e|=\"|=')B")
    pieces = _pieces(_parse(pdfa))
    attributes = b'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2" pdfaid:conformance="B"'
    elements = (b'<pdfaid:part xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">2</pdfaid:part><pdfaid:conformance '
                b'xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">B</pdfaid:conformance>')
    assert len(pieces) == 2 and re.search(pdfa, attributes) and all(p.search(attributes) for p, _ in pieces)
    assert not re.search(pdfa, elements) and not all(p.search(elements) for p, _ in pieces)
    assert [prefix for _, prefix in pieces] == [b"xmlns:pdfaid=", b"pdfaid:part"]
    assert _pieces(_parse(rb"\Aabc.*def(?=x)")) == ()  # lookahead: the piece could answer differently
    assert _pieces(_parse(rb"ab.*cd.*ef")) == ()  # pure literals are the needles' business
    assert len(_pieces(_parse(rb"abc[0-9]{2}.*xyz(?:1|2)"))) == 2
    rng = random.Random(5)
    alphabet = [b"abc", b"1", b"22", b"xyz", b"xyz1", b"q", b"\n", b"abc9"]
    for source in (rb"abc[0-9]{2}.*xyz(?:1|2)", rb"(?s)abc\d.{0,3}xyz.+abc[19]"):
        regex, found = re.compile(source), _pieces(_parse(source))
        assert found
        for _ in range(3000):
            buffer = b"".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
            if regex.search(buffer):
                assert all(piece.search(buffer) for piece, _ in found), (source, buffer)
            for piece, prefix in found:  # the prefix-first search answers as the engine's own
                assert _piece_found(piece, prefix, buffer) == (piece.search(buffer) is not None), (source, buffer)


@pytest.mark.parametrize("xmp", [
    '<rdf:Description rdf:about="" xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/" pdfaid:part="2" '
    'pdfaid:conformance="B"/>',
    '<rdf:Description rdf:about=""><pdfaid:part xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">2</pdfaid:part>'
    '<pdfaid:conformance xmlns:pdfaid="http://www.aiim.org/pdfa/ns/id/">B</pdfaid:conformance></rdf:Description>'])
def test_pdfa_xmp_forms_answer_as_fido(tmp_path: Path, xmp: str) -> None:
    """Both ways of writing the PDF/A identification (attributes, or elements each declaring the
    namespace, as the demo generator does) give fido's own candidates."""
    from lantai.formats.identify import _buffers, get_identifier

    pdf = pikepdf.new()
    pdf.add_blank_page()
    packet = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">' \
             f'{xmp}</rdf:RDF></x:xmpmeta>'
    pdf.Root.Metadata = pikepdf.Stream(pdf, packet.encode(), Type=pikepdf.Name.Metadata, Subtype=pikepdf.Name.XML)
    path = tmp_path / "a.pdf"
    pdf.save(path, compress_streams=False, object_stream_mode=pikepdf.ObjectStreamMode.disable)
    identifier = get_identifier()
    fido = identifier._fido
    with open(path, "rb") as fh:
        bof, eof = _buffers(fh, path.stat().st_size)
    expected = [(fido.get_puid(f), name) for f, name in fido.match_formats(bof, eof)]
    assert [(fido.get_puid(f), name) for f, name in identifier._index.match(bof, eof)] == expected
