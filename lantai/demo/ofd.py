"""An OFD writer (GB/T 33190-2016) for laid-out 公文: ZIP + XML, text as TextObjects in mm.

No Python package writes conformant OFD (DEPENDENCIES §4), so this writes the parts itself::

    OFD.xml                          DocBody → DocInfo, DocRoot, Signatures
    Doc_0/Document.xml               CommonData (PhysicalBox 210×297 mm), Pages
    Doc_0/PublicRes.xml              the embedded ZenHei subset (Res/font_N.ttf)
    Doc_0/DocumentRes.xml            images (Res/image_N.jpg)
    Doc_0/Pages/Page_N/Content.xml   TextObject / PathObject / ImageObject
    Doc_0/Signs/…                    the electronic seal (see :mod:`ofd_sign`)

Every TextCode carries DeltaX advances taken from the same font metrics the PDF uses, so text
sits where it sits in the PDF. The 印章 is not painted into the page: in a sealed OFD its
appearance comes from the seal (StampAnnot + the SES picture), as readers expect.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from datetime import datetime
from xml.sax.saxutils import escape, quoteattr

from lantai.demo import fonts
from lantai.demo.page import PAGE_HEIGHT, PAGE_WIDTH, Layout, Page, Picture, Rule, TextRun

NS = "http://www.ofdspec.org/2016"
XML_HEAD = '<?xml version="1.0" encoding="UTF-8"?>\n'
DOC = "Doc_0"
STORED = (".jpg", ".png", ".esl", ".dat")  # images, and the seal DER that carries a PNG: deflate gains ~1%


def _n(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".")


class _Ids:
    def __init__(self) -> None:
        self.last = 0

    def __call__(self) -> int:
        self.last += 1
        return self.last


def build_parts(layout: Layout, *, doc_id: str, created: datetime) -> tuple[dict[str, bytes], list[int]]:
    """All package parts except the signatures, and the page IDs (for StampAnnot PageRef)."""
    ids = _Ids()
    font_id = ids()
    parts: dict[str, bytes] = {}
    images: dict[str, tuple[int, Picture]] = {}
    page_ids: list[int] = []
    for index, page in enumerate(layout.pages):
        for picture in page.pictures:
            if picture.key not in images:
                images[picture.key] = (ids(), picture)
        page_id = ids()
        page_ids.append(page_id)
        parts[f"{DOC}/Pages/Page_{index}/Content.xml"] = _content(page, font_id, images, ids)
    chars = "".join(run.text for page in layout.pages for run in page.runs)
    parts[f"{DOC}/Res/font_{font_id}.ttf"] = fonts.ofd_font_subset(chars)
    parts[f"{DOC}/PublicRes.xml"] = _public_res(font_id)
    for res_id, picture in images.values():
        parts[f"{DOC}/Res/image_{res_id}.{_ext(picture)}"] = picture.data
    parts[f"{DOC}/DocumentRes.xml"] = _document_res(images)
    parts[f"{DOC}/Document.xml"] = _document(page_ids, ids.last)
    parts["OFD.xml"] = _ofd_xml(layout, doc_id, created)
    return parts, page_ids


def write_zip(parts: dict[str, bytes], moment: datetime) -> bytes:
    """A reproducible ZIP: fixed entry order and timestamps, OFD.xml first."""
    stamp = (max(moment.year, 1980), moment.month, moment.day, moment.hour, moment.minute, moment.second)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:  # fast: XML and a font
        for name in sorted(parts, key=lambda n: (n != "OFD.xml", n)):
            info = zipfile.ZipInfo(name, stamp)
            info.compress_type = zipfile.ZIP_STORED if name.endswith(STORED) else zipfile.ZIP_DEFLATED
            info.flag_bits |= 0x800  # UTF-8 names
            archive.writestr(info, parts[name])
    return out.getvalue()


def _ext(picture: Picture) -> str:
    return "jpg" if picture.kind == "jpeg" else "png"


def _ofd_xml(layout: Layout, doc_id: str, created: datetime) -> bytes:
    return (
        f'{XML_HEAD}<ofd:OFD xmlns:ofd="{NS}" Version="1.1" DocType="OFD"><ofd:DocBody><ofd:DocInfo>'
        f"<ofd:DocID>{escape(doc_id)}</ofd:DocID><ofd:Title>{escape(layout.title)}</ofd:Title>"
        f"<ofd:Author>{escape(layout.author)}</ofd:Author><ofd:Subject>{escape(layout.subject)}</ofd:Subject>"
        f"<ofd:CreationDate>{created.date().isoformat()}</ofd:CreationDate>"
        f"<ofd:ModDate>{created.date().isoformat()}</ofd:ModDate>"
        f"<ofd:Creator>Lantai demo generator</ofd:Creator><ofd:CreatorVersion>1.0</ofd:CreatorVersion>"
        f"</ofd:DocInfo><ofd:DocRoot>{DOC}/Document.xml</ofd:DocRoot>"
        f"<ofd:Signatures>{DOC}/Signs/Signatures.xml</ofd:Signatures></ofd:DocBody></ofd:OFD>"
    ).encode()


def _document(page_ids: list[int], max_id: int) -> bytes:
    pages = "".join(f'<ofd:Page ID="{pid}" BaseLoc="Pages/Page_{i}/Content.xml"/>' for i, pid in enumerate(page_ids))
    return (
        f'{XML_HEAD}<ofd:Document xmlns:ofd="{NS}"><ofd:CommonData><ofd:MaxUnitID>{max_id + 1000}</ofd:MaxUnitID>'
        f"<ofd:PageArea><ofd:PhysicalBox>0 0 {_n(PAGE_WIDTH)} {_n(PAGE_HEIGHT)}</ofd:PhysicalBox></ofd:PageArea>"
        f"<ofd:PublicRes>PublicRes.xml</ofd:PublicRes><ofd:DocumentRes>DocumentRes.xml</ofd:DocumentRes>"
        f"</ofd:CommonData><ofd:Pages>{pages}</ofd:Pages></ofd:Document>"
    ).encode()


def _public_res(font_id: int) -> bytes:
    return (
        f'{XML_HEAD}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res"><ofd:Fonts>'
        f'<ofd:Font ID="{font_id}" FontName="{fonts.FAMILY_NAME}" FamilyName="{fonts.FAMILY_NAME}">'
        f"<ofd:FontFile>font_{font_id}.ttf</ofd:FontFile></ofd:Font></ofd:Fonts></ofd:Res>"
    ).encode()


def _document_res(images: dict[str, tuple[int, Picture]]) -> bytes:
    media = "".join(
        f'<ofd:MultiMedia ID="{res_id}" Type="Image" Format="{"JPEG" if p.kind == "jpeg" else "PNG"}">'
        f"<ofd:MediaFile>image_{res_id}.{_ext(p)}</ofd:MediaFile></ofd:MultiMedia>"
        for res_id, p in images.values()
    )
    body = f"<ofd:MultiMedias>{media}</ofd:MultiMedias>" if media else ""
    return f'{XML_HEAD}<ofd:Res xmlns:ofd="{NS}" BaseLoc="Res">{body}</ofd:Res>'.encode()


def _content(page: Page, font_id: int, images: dict[str, tuple[int, Picture]], ids: Callable[[], int]) -> bytes:
    layer_id = ids()
    objects = [_image(p, images[p.key][0], ids()) for p in page.pictures]
    objects += [_path(rule, ids()) for rule in page.rules]
    objects += [_text(run, font_id, ids()) for run in page.runs]
    return (
        f'{XML_HEAD}<ofd:Page xmlns:ofd="{NS}"><ofd:Content><ofd:Layer ID="{layer_id}" Type="Body">'
        f'{"".join(objects)}</ofd:Layer></ofd:Content></ofd:Page>'
    ).encode()


def _color(rgb: tuple[int, int, int]) -> str:
    return f"{rgb[0]} {rgb[1]} {rgb[2]}"


def _text(run: TextRun, font_id: int, object_id: int) -> str:
    advances = [fonts.advance(c) * run.size for c in run.text]
    width = sum(advances) * run.hscale
    top = run.y - fonts.ASCENT * run.size
    boundary = f"{_n(run.x)} {_n(top)} {_n(width)} {_n(run.size * 1.2)}"
    ctm = f' CTM="{_n(run.hscale)} 0 0 1 0 0"' if run.hscale != 1.0 else ""
    fill = f'<ofd:FillColor Value="{_color(run.color)}"/>' if run.color != (0, 0, 0) else ""
    return (
        f'<ofd:TextObject ID="{object_id}" Boundary="{boundary}" Font="{font_id}" Size="{_n(run.size)}"{ctm}>'
        f'{fill}<ofd:TextCode X="0" Y="{_n(fonts.ASCENT * run.size)}" DeltaX="{_deltas(advances[:-1])}">'
        f"{escape(run.text)}</ofd:TextCode></ofd:TextObject>"
    )


def _deltas(values: list[float]) -> str:
    """DeltaX with the ``g count value`` shorthand for runs of equal advances."""
    tokens: list[str] = []
    i = 0
    while i < len(values):
        j = i
        while j < len(values) and abs(values[j] - values[i]) < 1e-6:
            j += 1
        tokens.append(f"g {j - i} {_n(values[i])}" if j - i > 1 else _n(values[i]))
        i = j
    return " ".join(tokens)


def _path(rule: Rule, object_id: int) -> str:
    length = rule.x2 - rule.x1
    boundary = f"{_n(rule.x1)} {_n(rule.y - rule.width)} {_n(length)} {_n(rule.width * 2)}"
    return (
        f'<ofd:PathObject ID="{object_id}" Boundary="{boundary}" LineWidth="{_n(rule.width)}">'
        f'<ofd:StrokeColor Value="{_color(rule.color)}"/>'
        f"<ofd:AbbreviatedData>M 0 {_n(rule.width)} L {_n(length)} {_n(rule.width)}</ofd:AbbreviatedData>"
        f"</ofd:PathObject>"
    )


def _image(picture: Picture, resource_id: int, object_id: int) -> str:
    boundary = f"{_n(picture.x)} {_n(picture.y)} {_n(picture.width)} {_n(picture.height)}"
    return (f'<ofd:ImageObject ID="{object_id}" Boundary="{boundary}" '
            f'CTM="{_n(picture.width)} 0 0 {_n(picture.height)} 0 0" ResourceID={quoteattr(str(resource_id))}/>')
