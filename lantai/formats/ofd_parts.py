"""Where things are in an OFD package (GB/T 33190-2016 §7): one reading for validation and rendering.

An OFD is a ZIP whose ``OFD.xml`` names, per ``DocBody``, a document (``DocRoot``) and its signature
list (``Signatures``); a document names its pages, resources and template pages by location, a
signature list its signatures, and a signature its ``SignedValue.dat`` and seal file. Locations are
relative to the part that names them unless absolute (a leading ``/``).

These functions only read locations out of parsed parts. What to do with a missing or unreadable
part is the caller's policy: :mod:`lantai.formats.ofd` records a finding, :mod:`lantai.formats.ofd_render`
skips or refuses.
"""

from __future__ import annotations

import posixpath
from dataclasses import dataclass

from lxml import etree

from lantai.formats.safexml import child, children
from lantai.packages import zipsafe as safezip

OFD_XML = "OFD.xml"
COMMON_RESOURCES = ("PublicRes", "DocumentRes")


def resolve(base_dir: str, loc: str) -> str:
    """OFD location → member name: absolute (leading '/') from the package root, else from ``base_dir``."""
    loc = (loc or "").strip().replace("\\", "/")
    if not loc:
        return ""
    joined = loc.lstrip("/") if loc.startswith("/") else posixpath.join(base_dir, loc)
    return safezip.normalise(joined)


def text(element: etree._Element | None) -> str:
    """An element's stripped text; "" for a missing element."""
    return (element.text or "").strip() if element is not None else ""


def relative(part: str, element: etree._Element | None) -> str:
    """The member an element's text names, relative to the part that holds it; "" when it names none."""
    return resolve(posixpath.dirname(part), text(element))


@dataclass(frozen=True)
class DocumentRef:
    """One ``DocBody``: its document (``path`` "" when DocRoot is absent) and signature list, if any."""

    path: str
    signatures: str


def document_refs(ofd: etree._Element) -> list[DocumentRef]:
    return [DocumentRef(resolve("", text(child(body, "DocRoot"))), resolve("", text(child(body, "Signatures"))))
            for body in children(ofd, "DocBody")]


@dataclass(frozen=True)
class PageRef:
    """A page or template page: its ID and content part (``path`` "" when BaseLoc is absent)."""

    id: str
    path: str


def page_refs(document: etree._Element, doc_path: str) -> list[PageRef]:
    pages = child(document, "Pages")
    doc_dir = posixpath.dirname(doc_path)
    return [PageRef(page.get("ID") or "", resolve(doc_dir, page.get("BaseLoc") or ""))
            for page in (children(pages, "Page") if pages is not None else [])]


def common_data(document: etree._Element) -> etree._Element | None:
    return child(document, "CommonData")


def resource_paths(document: etree._Element, doc_path: str) -> list[str]:
    """The document-wide resource files (PublicRes, DocumentRes), in that order."""
    common = common_data(document)
    if common is None:
        return []
    return [relative(doc_path, res) for name in COMMON_RESOURCES for res in children(common, name)]


def template_refs(document: etree._Element, doc_path: str) -> list[PageRef]:
    """The document's template pages (ID and content part), in document order."""
    common = common_data(document)
    doc_dir = posixpath.dirname(doc_path)
    return [PageRef(tpl.get("ID") or "", resolve(doc_dir, tpl.get("BaseLoc") or ""))
            for tpl in (children(common, "TemplatePage") if common is not None else [])]


def page_resource_paths(page: etree._Element, page_path: str) -> list[str]:
    """The ``PageRes`` files of a page or template page."""
    return [relative(page_path, res) for res in children(page, "PageRes")]


def resource_base(resources: etree._Element, res_path: str) -> str:
    """The directory a resource file's MediaFile/FontFile locations are relative to (its BaseLoc)."""
    here = posixpath.dirname(res_path)
    return resolve(here, resources.get("BaseLoc") or "") or here


@dataclass(frozen=True)
class SignatureRef:
    """An entry of the signature list: its ID, Type (Seal or Sign) and ``Signature.xml`` part."""

    id: str
    type: str
    path: str


def signature_refs(listing: etree._Element, listing_path: str) -> list[SignatureRef]:
    here = posixpath.dirname(listing_path)
    return [SignatureRef(entry.get("ID") or "", entry.get("Type") or "Seal", resolve(here, entry.get("BaseLoc") or ""))
            for entry in children(listing, "Signature")]


def signed_value_path(signature: etree._Element, signature_path: str) -> str:
    """The ``SignedValue.dat`` of a signature; "" when it names none."""
    return relative(signature_path, child(signature, "SignedValue"))


def seal_path(signature: etree._Element, signature_path: str) -> str:
    """The seal file (``Seal.esl``) named in SignedInfo; "" when there is none."""
    info = child(signature, "SignedInfo")
    seal = child(info, "Seal") if info is not None else None
    return relative(signature_path, child(seal, "BaseLoc")) if seal is not None else ""
