"""The OFD page renderer: the generator's own 正本, the ofdrw corpus, and hostile packages."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pytest
from lxml import etree
from PIL import Image

from lantai.demo.generate import generate
from lantai.errors import LantaiError
from lantai.formats.ofd_render import (
    OfdPageNotFound,
    OfdRenderError,
    page_count,
    render_page,
    render_page_png,
    render_report,
)

NS = "http://www.ofdspec.org/2016"
MM = 96 / 25.4


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    out = tmp_path_factory.mktemp("ofd-render") / "batch"
    generate(out, year=2025, items=3, seed=4, workers=1)
    return sorted(out.glob("*/正本.ofd"))


def _red(pixel: tuple[int, int, int]) -> bool:
    return pixel[0] > 180 and pixel[1] < 100 and pixel[2] < 100


def _ofd(content: str, *, box: str = "0 0 210 297", extra: dict[str, bytes] | None = None,
         res: str = "") -> bytes:
    """A minimal one-page OFD around ``content`` (the inside of a Layer)."""
    parts = {
        "OFD.xml": f'<ofd:OFD xmlns:ofd="{NS}" Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
                   f"<ofd:DocID>t</ofd:DocID></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot>"
                   f"</ofd:DocBody></ofd:OFD>",
        "Doc_0/Document.xml": f'<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData><ofd:MaxUnitID>99</ofd:MaxUnitID>'
                              f"<ofd:PageArea><ofd:PhysicalBox>{box}</ofd:PhysicalBox></ofd:PageArea>"
                              f"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes></ofd:CommonData><ofd:Pages>"
                              f'<ofd:Page ID="1" BaseLoc="Pages/Page_0/Content.xml"/></ofd:Pages></ofd:Document>',
        "Doc_0/PublicRes.xml": f'<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
                               f'<ofd:Font ID="2" FontName="宋体"/></ofd:Fonts>{res}</ofd:Res>',
        "Doc_0/Pages/Page_0/Content.xml": f'<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="3">{content}'
                                          f"</ofd:Layer></ofd:Content></ofd:Page>",
    }
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in {**parts, **(extra or {})}.items():
            archive.writestr(name, data)
    return out.getvalue()


# --- the generator's 正本 ---------------------------------------------------------------------------
def test_every_page_of_a_generated_ofd_renders_with_text_and_red(generated: list[Path]) -> None:
    for path in generated:
        pages = page_count(path)
        assert pages >= 1
        for index in range(pages):
            image = render_page(path, index)
            assert image.size == (round(210 * MM), round(297 * MM))
            colours = image.getcolors(maxcolors=1 << 20)
            assert colours is not None and len(colours) > 10  # text was painted, not a blank page
        first = render_page(path, 0)
        assert any(_red(p) for p in first.getdata())  # 发文机关标志 and the separator line


def test_the_seal_appearance_is_painted_inside_its_stamp_annot(generated: list[Path]) -> None:
    path = generated[0]
    with zipfile.ZipFile(path) as archive:
        signature = etree.fromstring(archive.read("Doc_0/Signs/Sign_0/Signature.xml"))
        document = etree.fromstring(archive.read("Doc_0/Document.xml"))
    annot = signature.find(f".//{{{NS}}}StampAnnot")
    page_ids = [p.get("ID") for p in document.iter(f"{{{NS}}}Page")]
    index = page_ids.index(annot.get("PageRef"))
    x, y, w, h = (float(v) for v in annot.get("Boundary").split())
    image, skipped = render_report(path, index)
    assert skipped == []
    inside = image.crop((round(x * MM), round(y * MM), round((x + w) * MM), round((y + h) * MM)))
    red = sum(1 for p in inside.getdata() if _red(p))
    assert red > 0.05 * inside.width * inside.height  # ring, star and name of the organ


def test_png_entry_point_is_one_based(generated: list[Path]) -> None:
    with open(generated[0], "rb") as fh:
        png = render_page_png(fh, 1)
    assert png.startswith(b"\x89PNG") and Image.open(io.BytesIO(png)).size == (794, 1123)
    with pytest.raises(OfdPageNotFound):
        render_page(generated[0], page_count(generated[0]))


def test_dpi_scales_the_page(generated: list[Path]) -> None:
    assert render_page(generated[0], 0, dpi=50).size == (round(210 * 50 / 25.4), round(297 * 50 / 25.4))
    with pytest.raises(OfdRenderError):
        render_page(generated[0], 0, dpi=5000)


# --- real files -----------------------------------------------------------------------------------
def _corpus(corpus_dir: Path) -> list[Path]:
    files = sorted((corpus_dir / "ofd-ofdrw").rglob("*.ofd"))
    if not files:
        pytest.skip("no OFD files in the corpus")
    return files


def test_every_corpus_page_renders_without_crashing(corpus_dir: Path) -> None:
    rendered = 0
    for path in _corpus(corpus_dir):
        for index in range(page_count(path)):
            image = render_page(path, index, dpi=48)
            assert image.mode == "RGB" and image.width > 10
            rendered += 1
    assert rendered >= 15


def test_corpus_invoice_shows_template_text_and_annotation_seal(corpus_dir: Path) -> None:
    invoice = next((p for p in _corpus(corpus_dir) if p.name == "发票示例.ofd"), None)
    if invoice is None:
        pytest.skip("发票示例.ofd is absent")
    image = render_page(invoice, 0)
    seal = image.crop((round(90 * MM), round(8 * MM), round(120 * MM), round(28 * MM)))  # annotation appearance
    assert sum(1 for p in seal.getdata() if p[0] > 150 and p[1] < 90) > 100
    frame = image.crop((round(4.5 * MM), round(29 * MM), round(205 * MM), round(31 * MM)))  # template's 201 mm line
    assert sum(1 for p in frame.getdata() if sum(p) < 500) > 150 * MM


# --- drawing --------------------------------------------------------------------------------------
def test_text_path_and_colours(tmp_path: Path) -> None:
    content = (
        '<ofd:PathObject ID="4" Boundary="10 10 50 50" Fill="true" Stroke="false" Rule="Even-Odd">'
        '<ofd:FillColor Value="0 0 255"/>'
        "<ofd:AbbreviatedData>M 0 0 L 50 0 L 50 50 L 0 50 C M 10 10 L 40 10 L 40 40 L 10 40 C</ofd:AbbreviatedData>"
        "</ofd:PathObject>"
        '<ofd:PathObject ID="5" Boundary="100 10 40 40" LineWidth="1"><ofd:StrokeColor Value="255 0 0"/>'
        "<ofd:AbbreviatedData>M 0 20 B 0 0 40 0 40 20 A 20 20 0 0 1 0 20 Z</ofd:AbbreviatedData></ofd:PathObject>"
        '<ofd:TextObject ID="6" Boundary="10 100 100 20" Font="2" Size="10" CTM="0.5 0 0 1 0 0">'
        '<ofd:FillColor Value="#00 #80 #00"/><ofd:TextCode X="0" Y="10" DeltaX="g 2 10">档案馆</ofd:TextCode>'
        "</ofd:TextObject>"
    )
    path = tmp_path / "t.ofd"
    path.write_bytes(_ofd(content))
    image, skipped = render_report(path, 0)
    assert skipped == []
    px = image.load()
    assert px[round(12 * MM), round(12 * MM)] == (0, 0, 255)  # inside the outer square
    assert px[round(35 * MM), round(35 * MM)] == (255, 255, 255)  # the even-odd hole
    assert sum(1 for x in range(round(100 * MM), round(140 * MM)) if _red(px[x, round(20 * MM)])) >= 1  # arc top
    green = [x for x in range(image.width) for y in range(round(100 * MM), round(112 * MM))
             if px[x, y][1] > 100 and px[x, y][0] < 80]
    assert green and max(green) / MM < 10 + 16  # three 10 mm glyphs compressed to half width


def test_image_objects_from_multimedia_resources(tmp_path: Path) -> None:
    picture = io.BytesIO()
    Image.new("RGB", (8, 4), (255, 0, 0)).save(picture, "PNG")
    res = ('<ofd:MultiMedias><ofd:MultiMedia ID="7" Type="Image" Format="PNG"><ofd:MediaFile>a.png</ofd:MediaFile>'
           "</ofd:MultiMedia></ofd:MultiMedias>")
    content = '<ofd:ImageObject ID="8" Boundary="20 20 40 20" CTM="40 0 0 20 0 0" ResourceID="7"/>'
    path = tmp_path / "i.ofd"
    path.write_bytes(_ofd(content, res=res, extra={"Doc_0/Res/a.png": picture.getvalue()}))
    image = render_page(path, 0)
    assert image.getpixel((round(40 * MM), round(30 * MM))) == (255, 0, 0)
    assert image.getpixel((round(70 * MM), round(30 * MM))) == (255, 255, 255)


# --- hostile input --------------------------------------------------------------------------------
@pytest.mark.parametrize("data", [b"not a zip", b"PK\x03\x04broken", b""])
def test_non_zip_input_raises_a_clear_error(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "bad.ofd"
    path.write_bytes(data)
    with pytest.raises(OfdRenderError):
        page_count(path)


def test_missing_parts_and_dtds_are_refused(tmp_path: Path) -> None:
    empty = io.BytesIO()
    with zipfile.ZipFile(empty, "w") as archive:
        archive.writestr("readme.txt", "x")
    (tmp_path / "empty.ofd").write_bytes(empty.getvalue())
    with pytest.raises(OfdRenderError, match=r"OFD\.xml"):
        render_page(tmp_path / "empty.ofd")
    laughs = '<!DOCTYPE x [<!ENTITY a "aaaa">]><ofd:OFD xmlns:ofd="http://www.ofdspec.org/2016"/>'
    (tmp_path / "dtd.ofd").write_bytes(_ofd("", extra={"OFD.xml": laughs}))
    with pytest.raises(LantaiError):
        render_page(tmp_path / "dtd.ofd")


def test_garbage_objects_are_skipped_not_fatal(tmp_path: Path) -> None:
    content = (
        '<ofd:TextObject ID="1" Boundary="a b c d" Font="2" Size="nan"><ofd:TextCode>x</ofd:TextCode></ofd:TextObject>'
        '<ofd:TextObject ID="2" Boundary="0 0 10 10" Font="404" Size="5"><ofd:TextCode X="1e300" Y="1">y'
        "</ofd:TextCode></ofd:TextObject>"
        '<ofd:PathObject ID="3" Boundary="0 0 10 10" LineWidth="-5"><ofd:AbbreviatedData>M 0 0 L x y Q'
        "</ofd:AbbreviatedData></ofd:PathObject>"
        '<ofd:ImageObject ID="4" Boundary="0 0 10 10" CTM="1 0 0" ResourceID="404"/>'
        '<ofd:TextObject ID="5" Boundary="0 0 10 10" Font="2" Size="3"><ofd:TextCode X="1" Y="3" '
        'DeltaX="g 999999999 1">ab</ofd:TextCode></ofd:TextObject>'
    )
    path = tmp_path / "g.ofd"
    path.write_bytes(_ofd(content))
    image, skipped = render_report(path, 0)
    assert image.size == (794, 1123) and len(skipped) >= 3


def test_limits_on_page_size_and_nesting(tmp_path: Path) -> None:
    (tmp_path / "huge.ofd").write_bytes(_ofd("", box="0 0 5000 5000"))
    with pytest.raises(OfdRenderError, match="too large"):
        render_page(tmp_path / "huge.ofd", 0, dpi=300)
    nested = "<ofd:PageBlock>" * 40 + "</ofd:PageBlock>" * 40
    (tmp_path / "deep.ofd").write_bytes(_ofd(nested))
    with pytest.raises(OfdRenderError, match="nest"):
        render_page(tmp_path / "deep.ofd")


def test_decompression_bomb_images_are_skipped(tmp_path: Path) -> None:
    picture = io.BytesIO()
    Image.new("1", (9_000, 5_000)).save(picture, "PNG")  # 45 MP, a few KB compressed
    res = ('<ofd:MultiMedias><ofd:MultiMedia ID="7" Type="Image"><ofd:MediaFile>b.png</ofd:MediaFile>'
           "</ofd:MultiMedia></ofd:MultiMedias>")
    content = '<ofd:ImageObject ID="8" Boundary="0 0 10 10" CTM="10 0 0 10 0 0" ResourceID="7"/>'
    path = tmp_path / "bomb.ofd"
    path.write_bytes(_ofd(content, res=res, extra={"Doc_0/Res/b.png": picture.getvalue()}))
    image, skipped = render_report(path, 0)
    assert image.getpixel((5, 5)) == (255, 255, 255) and skipped
